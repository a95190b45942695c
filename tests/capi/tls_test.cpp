// TLS and mutual TLS through the C API, against the fixture broker's certificates.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include "broker.hpp"
#include "support.hpp"

namespace {

using namespace tltest;

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    return text;
}

class Tls : public ::testing::Test {
protected:
    /// Connects to `uri` trusting `ca_file`, with a client certificate when `cert` is given.
    tl_status connect(const std::string& uri, const std::string& ca_file, const std::string& cert = "",
                      const std::string& key = "") {
        options_ = make_options(uri);
        if (!options_) return TL_EINTERNAL;
        EXPECT_EQ(tl_client_options_set_tls_ca(options_.get(), ca_file.c_str(), nullptr), TL_OK) << tl_last_error();
        EXPECT_EQ(tl_client_options_set_connect_timeout(options_.get(), 3000), TL_OK);
        if (!cert.empty()) {
            EXPECT_EQ(tl_client_options_set_tls_client_cert(options_.get(), cert.c_str(), key.c_str(), nullptr), TL_OK)
                << tl_last_error();
        }
        client_ = make_client(options_.get());
        if (!client_) return TL_EINTERNAL;
        const auto start = Clock::now();
        const tl_status status = tl_client_connect(client_.get(), 8000);
        last_error_ = tl_last_error();
        took_ms_ = elapsed_ms(start);
        return status;
    }

    twinlink::testing::Broker broker_;
    Options options_;
    Client client_;
    std::string last_error_;
    long long took_ms_ = 0;
};

TEST_F(Tls, RightCaConnects) {
    ASSERT_EQ(connect(broker_.tls_uri(), broker_.tls().ca_cert), TL_OK) << last_error_;
    Inbox inbox;
    Client subscriber = connect_client(broker_.uri());
    ASSERT_TRUE(subscriber);
    ASSERT_EQ(tl_client_subscribe(subscriber.get(), "tls/#", 1, Inbox::on_message, &inbox, nullptr, nullptr), TL_OK);
    ASSERT_EQ(tl_client_publish_wait(client_.get(), "tls/1", "secret", 6, 1, 0, 5000), TL_OK) << tl_last_error();
    ASSERT_TRUE(inbox.wait_for(1));
    EXPECT_EQ(inbox.payloads()[0], "secret");
    subscriber.reset();  // before the inbox it points at
}

TEST_F(Tls, WrongCaFailsFastWithAVerificationError) {
    const tl_status status = connect(broker_.tls_uri(), broker_.tls().other_ca_cert);
    EXPECT_EQ(status, TL_ETLS) << tl_status_str(status) << ": " << last_error_;
    EXPECT_LT(took_ms_, 4000) << "a certificate that will never verify should be reported at once";
    EXPECT_NE(lower(last_error_).find("certificate"), std::string::npos) << last_error_;
    EXPECT_NE(lower(last_error_).find("verif"), std::string::npos) << last_error_;
    EXPECT_NE(tl_client_state(client_.get()), TL_STATE_CONNECTED);
}

TEST_F(Tls, MutualTlsWithClientCertificateConnects) {
    const auto& files = broker_.tls();
    ASSERT_EQ(connect(broker_.mtls_uri(), files.ca_cert, files.client_cert, files.client_key), TL_OK)
        << last_error_;
    EXPECT_EQ(tl_client_publish_wait(client_.get(), "mtls/1", "m", 1, 1, 0, 5000), TL_OK) << tl_last_error();
}

TEST_F(Tls, MutualTlsWithoutClientCertificateFails) {
    const tl_status status = connect(broker_.mtls_uri(), broker_.tls().ca_cert);
    EXPECT_NE(status, TL_OK);
    EXPECT_FALSE(last_error_.empty());
    EXPECT_NE(tl_client_state(client_.get()), TL_STATE_CONNECTED);
    RecordProperty("result", tl_status_str(status));
    std::printf("mTLS without a client certificate: %s after %lld ms: %s\n", tl_status_str(status), took_ms_,
                last_error_.c_str());
}

TEST_F(Tls, MutualTlsWithACertificateOfAnotherCaFails) {
    const auto& files = broker_.tls();
    const tl_status status = connect(broker_.mtls_uri(), files.ca_cert, files.other_client_cert, files.other_client_key);
    EXPECT_NE(status, TL_OK);
    EXPECT_FALSE(last_error_.empty());
}

}  // namespace
