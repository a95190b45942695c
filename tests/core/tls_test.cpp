// TLS and mutual TLS against the fixture broker's listeners and test certificates.
#include <iostream>
#include <memory>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "broker.hpp"
#include "tcp_proxy.hpp"
#include "test_util.hpp"
#include "twinlink/client.hpp"

namespace {

using namespace tltest;
using twinlink::Client;
using twinlink::ClientOptions;
using twinlink::LogLevel;
using twinlink::Status;
using twinlink::testing::Broker;

struct LogLine {
    LogLevel level;
    std::string text;
};

class Tls : public ::testing::Test {
protected:
    ClientOptions tls_opts(const std::string& uri, const std::string& ca) const {
        ClientOptions o = options_for(uri);
        o.tls.ca_file = ca;
        o.connect_timeout = 10000ms;
        return o;
    }

    // Publishes to its own subscription and waits for the message.
    static void expect_round_trip(Client& client) {
        Inbox inbox;
        client.subscribe(test_topic(), 1, inbox.handler());
        client.publish_wait(test_topic(), "over tls", 1, false, kLong);
        ASSERT_TRUE(inbox.wait_count(1));
        EXPECT_EQ(inbox.items()[0].payload, "over tls");
    }

    // Expects connect() to fail quickly with a definite error; returns it.
    twinlink::Error expect_fast_failure(ClientOptions o, milliseconds connect_wait) {
        Client client(std::move(o));
        const auto start = Clock::now();
        const auto e = capture_error([&] { client.connect(connect_wait); });
        const auto took = elapsed_since(start);
        EXPECT_NE(e.status(), Status::Ok) << e.what();
        EXPECT_FALSE(client.connected());
        std::cout << "[ observed ] status " << twinlink::status_name(e.status()) << " after "
                  << took.count() << " ms: " << e.what() << std::endl;
        ::testing::Test::RecordProperty("observed_status", twinlink::status_name(e.status()));
        ::testing::Test::RecordProperty("observed_message", e.what());
        return e;
    }

    Broker broker_;
};

TEST_F(Tls, RightCaConnectsAndPubSubWorks) {
    Client client(tls_opts(broker_.tls_uri(), broker_.tls().ca_cert));
    client.connect(kLong);
    ASSERT_TRUE(client.connected());
    expect_round_trip(client);
}

TEST_F(Tls, WrongCaFailsWithTlsErrorWellBeforeTheTimeout) {
    ClientOptions o = tls_opts(broker_.tls_uri(), broker_.tls().other_ca_cert);
    o.connect_timeout = 10000ms;
    const auto start = Clock::now();
    const auto e = expect_fast_failure(o, 15000ms);
    EXPECT_EQ(e.status(), Status::TlsError) << e.what();
    EXPECT_TRUE(contains_ci(e.what(), "certificate")) << e.what();
    EXPECT_LT(elapsed_since(start), 5000ms)
        << "a certificate failure should not wait for the connect timeout";
}

TEST_F(Tls, HostnameVerificationAcceptsTheIpSan) {
    const std::string uri = "mqtts://127.0.0.1:" + std::to_string(broker_.tls_port());
    ClientOptions o = tls_opts(uri, broker_.tls().ca_cert);
    o.tls.verify_hostname = true;
    Client client(o);
    client.connect(kLong);
    ASSERT_TRUE(client.connected());
    expect_round_trip(client);
}

TEST_F(Tls, HostnameMismatchFailsUnlessVerificationIsOff) {
    // 127.0.0.2 reaches the same broker through a relay, but the certificate names only
    // localhost and 127.0.0.1.
    TcpProxy relay(broker_.tls_port(), "127.0.0.2");
    {
        ClientOptions o = tls_opts(relay.uri("mqtts"), broker_.tls().ca_cert);
        o.tls.verify_hostname = true;
        const auto e = expect_fast_failure(o, 15000ms);
        EXPECT_EQ(e.status(), Status::TlsError) << e.what();
    }
    {
        ClientOptions o = tls_opts(relay.uri("mqtts"), broker_.tls().ca_cert);
        o.tls.verify_hostname = false;
        Client client(o);
        client.connect(kLong);
        ASSERT_TRUE(client.connected());
        expect_round_trip(client);
    }
}

TEST_F(Tls, InsecureAcceptsAnUntrustedCertificateAndWarns) {
    Recorder<LogLine> log;
    ClientOptions o = tls_opts(broker_.tls_uri(), broker_.tls().other_ca_cert);
    o.tls.insecure = true;
    o.log = [log](LogLevel level, const std::string& text) { log.push(LogLine{level, text}); };
    o.log_level = LogLevel::Info;
    Client client(o);
    client.connect(kLong);
    ASSERT_TRUE(client.connected());
    expect_round_trip(client);
    EXPECT_TRUE(log.wait_for([](const std::vector<LogLine>& lines) {
        for (const auto& l : lines)
            if (l.level == LogLevel::Warning) return true;
        return false;
    })) << "insecure=true must log a warning at connect";
}

TEST_F(Tls, MutualTlsWithClientCertificateConnects) {
    ClientOptions o = tls_opts(broker_.mtls_uri(), broker_.tls().ca_cert);
    o.tls.cert_file = broker_.tls().client_cert;
    o.tls.key_file = broker_.tls().client_key;
    Client client(o);
    client.connect(kLong);
    ASSERT_TRUE(client.connected());
    expect_round_trip(client);
}

// A refused client certificate is a definite failure (TlsError or NotAuthorized: both describe
// it), reported by connect() at once rather than after retrying until the timeout.
void expect_certificate_refusal(const twinlink::Error& e, milliseconds took) {
    EXPECT_TRUE(e.status() == Status::TlsError || e.status() == Status::NotAuthorized)
        << twinlink::status_name(e.status()) << ": " << e.what();
    EXPECT_LT(took, 4000ms);
}

TEST_F(Tls, MutualTlsWithoutClientCertificateFails) {
    ClientOptions o = tls_opts(broker_.mtls_uri(), broker_.tls().ca_cert);
    o.connect_timeout = 5000ms;
    const auto start = Clock::now();
    const auto e = expect_fast_failure(o, 8000ms);
    expect_certificate_refusal(e, elapsed_since(start));
}

TEST_F(Tls, MutualTlsWithCertificateFromAnotherCaFails) {
    ClientOptions o = tls_opts(broker_.mtls_uri(), broker_.tls().ca_cert);
    o.connect_timeout = 5000ms;
    o.tls.cert_file = broker_.tls().other_client_cert;
    o.tls.key_file = broker_.tls().other_client_key;
    const auto start = Clock::now();
    const auto e = expect_fast_failure(o, 8000ms);
    expect_certificate_refusal(e, elapsed_since(start));
}

TEST_F(Tls, PlainClientAgainstTlsListenerDoesNotConnect) {
    ClientOptions o = options_for("mqtt://127.0.0.1:" + std::to_string(broker_.tls_port()));
    o.connect_timeout = 2000ms;
    Client client(o);
    const auto e = capture_error([&] { client.connect(3000ms); });
    EXPECT_NE(e.status(), Status::Ok) << e.what();
    EXPECT_FALSE(client.connected());
}

}  // namespace
