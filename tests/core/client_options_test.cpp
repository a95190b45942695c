// Client construction: option validation, generated client ids, and argument checks that need
// no broker.
#include <functional>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "test_util.hpp"
#include "twinlink/client.hpp"

namespace {

using namespace tltest;
using twinlink::Client;
using twinlink::ClientOptions;
using twinlink::Error;
using twinlink::Status;

// An address nothing needs to listen on: these clients are never started.
ClientOptions valid_options() { return options_for("mqtt://127.0.0.1:1883"); }

struct BadOption {
    const char* name;
    const char* hint;  // a word the error message should contain (case-insensitive)
    std::function<void(ClientOptions&)> spoil;
};

TEST(ClientOptions, ValidOptionsConstructWithoutConnecting) {
    Client client(valid_options());
    EXPECT_EQ(client.state(), twinlink::ConnectionState::Disconnected);
    EXPECT_FALSE(client.connected());
    const auto s = client.stats();
    EXPECT_EQ(s.connects, 0u);
    EXPECT_EQ(s.messages_out, 0u);
    EXPECT_EQ(s.queued_messages, 0u);
}

TEST(ClientOptions, RejectsInvalidOptions) {
    const BadOption cases[] = {
        {"no brokers", "broker", [](ClientOptions& o) { o.brokers.clear(); }},
        {"malformed broker URI", "http://nowhere",
         [](ClientOptions& o) { o.brokers.push_back("http://nowhere"); }},
        {"reconnect_min > reconnect_max", "reconnect",
         [](ClientOptions& o) {
             o.reconnect_min = 5000ms;
             o.reconnect_max = 1000ms;
         }},
        {"max_inflight 0", "inflight", [](ClientOptions& o) { o.max_inflight = 0; }},
        {"queue_max_messages 0", "queue", [](ClientOptions& o) { o.queue_max_messages = 0; }},
        {"queue_max_bytes 0", "queue", [](ClientOptions& o) { o.queue_max_bytes = 0; }},
        {"persistent session without client id", "client",
         [](ClientOptions& o) {
             o.clean_session = false;
             o.client_id.clear();
         }},
        {"client certificate without key", "key",
         [](ClientOptions& o) {
             o.brokers = {"mqtts://127.0.0.1:8883"};
             o.tls.cert_file = "client.crt";
             o.tls.key_file.clear();
         }},
    };
    for (const auto& c : cases) {
        ClientOptions o = valid_options();
        c.spoil(o);
        const Error e = capture_error([&] { Client client(o); });
        EXPECT_EQ(e.status(), Status::InvalidArgument) << c.name << ": " << e.what();
        EXPECT_TRUE(contains_ci(e.what(), c.hint))
            << c.name << ": message should name the option (\"" << c.hint << "\"): " << e.what();
    }
}

TEST(ClientOptions, PersistentSessionWithClientIdIsAccepted) {
    ClientOptions o = valid_options();
    o.clean_session = false;
    o.client_id = "device-42";
    Client client(o);
    EXPECT_EQ(client.client_id(), "device-42");
}

TEST(ClientOptions, GeneratedClientIdsStartWithTlAndDiffer) {
    std::set<std::string> ids;
    for (int i = 0; i < 20; ++i) {
        Client client(valid_options());
        const std::string id = client.client_id();
        EXPECT_EQ(id.rfind("tl-", 0), 0u) << id;
        EXPECT_GT(id.size(), 3u) << id;
        EXPECT_LE(id.size(), 23u) << "longer than the 23 bytes every MQTT 3.1.1 broker accepts: "
                                  << id;
        ids.insert(id);
    }
    EXPECT_EQ(ids.size(), 20u) << "generated client ids repeat";
}

TEST(ClientOptions, PublishRejectsBadArgumentsBeforeQueueing) {
    Client client(valid_options());
    const std::string topic = "a/b";
    EXPECT_EQ(capture_error([&] { client.publish("a/+", "x", 0, false); }).status(),
              Status::InvalidArgument);
    EXPECT_EQ(capture_error([&] { client.publish("a/#", "x", 1, false); }).status(),
              Status::InvalidArgument);
    EXPECT_EQ(capture_error([&] { client.publish("", "x", 1, false); }).status(),
              Status::InvalidArgument);
    EXPECT_EQ(capture_error([&] { client.publish(topic, "x", 3, false); }).status(),
              Status::InvalidArgument);
    EXPECT_EQ(capture_error([&] { client.publish(topic, "x", -1, false); }).status(),
              Status::InvalidArgument);
    EXPECT_EQ(client.stats().queued_messages, 0u) << "a rejected publish was queued";
}

TEST(ClientOptions, PublishBeforeStartQueuesAndReturnsIncreasingIds) {
    Client client(valid_options());
    const auto a = client.publish("a/b", "1", 1, false);
    const auto b = client.publish("a/b", "22", 0, false);
    EXPECT_GT(a, 0u);
    EXPECT_GT(b, a);
    const auto s = client.stats();
    EXPECT_EQ(s.queued_messages, 2u);
    EXPECT_EQ(s.queued_bytes, 3u);
}

TEST(ClientOptions, SubscribeRejectsBadArguments) {
    Client client(valid_options());
    auto noop = [](const twinlink::MessageView&) {};
    EXPECT_EQ(capture_error([&] { client.subscribe("a/#/b", 0, noop); }).status(),
              Status::InvalidArgument);
    EXPECT_EQ(capture_error([&] { client.subscribe("", 0, noop); }).status(),
              Status::InvalidArgument);
    EXPECT_EQ(capture_error([&] { client.subscribe("a/b", 3, noop); }).status(),
              Status::InvalidArgument);
    EXPECT_EQ(capture_error([&] { client.subscribe("a/b", -1, noop); }).status(),
              Status::InvalidArgument);
}

TEST(ClientOptions, UnsubscribeUnknownIdIsInvalidArgument) {
    Client client(valid_options());
    EXPECT_EQ(capture_error([&] { client.unsubscribe(12345); }).status(),
              Status::InvalidArgument);
}

TEST(ClientOptions, SubscribeWhileNotStartedRegistersWithoutWaiting) {
    Client client(valid_options());
    const auto start = Clock::now();
    const auto id1 = client.subscribe("a/+", 1, [](const twinlink::MessageView&) {});
    const auto id2 = client.subscribe("a/+", 1, [](const twinlink::MessageView&) {});
    EXPECT_LT(elapsed_since(start), 1000ms) << "subscribe() waited for a broker while stopped";
    EXPECT_NE(id1, id2);
    EXPECT_NO_THROW(client.unsubscribe(id1));
    EXPECT_EQ(capture_error([&] { client.unsubscribe(id1); }).status(), Status::InvalidArgument)
        << "second unsubscribe of the same id";
    EXPECT_NO_THROW(client.unsubscribe(id2));
}

TEST(ClientOptions, DisconnectWithoutStartIsHarmless) {
    Client client(valid_options());
    const auto start = Clock::now();
    client.disconnect(1000ms);
    client.disconnect(1000ms);
    EXPECT_LT(elapsed_since(start), 3000ms);
    EXPECT_EQ(client.state(), twinlink::ConnectionState::Disconnected);
}

}  // namespace
