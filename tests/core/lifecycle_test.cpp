// Client lifecycle: start, connect, disconnect, destruction in every state, presence and will.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "broker.hpp"
#include "tcp_proxy.hpp"
#include "test_util.hpp"
#include "twinlink/client.hpp"

namespace {

using namespace tltest;
using twinlink::Client;
using twinlink::ClientOptions;
using twinlink::ConnectionState;
using twinlink::MqttVersion;
using twinlink::Status;
using twinlink::testing::Broker;

Broker::Options plain() {
    Broker::Options o;
    o.tls = false;
    return o;
}

class Lifecycle : public ::testing::Test {
protected:
    ClientOptions opts() const { return options_for(broker_.uri()); }

    std::unique_ptr<Client> connected(ClientOptions o) {
        auto c = std::make_unique<Client>(std::move(o));
        c->connect(kLong);
        return c;
    }

    static milliseconds time_destruction(std::unique_ptr<Client>& client) {
        const auto start = Clock::now();
        client.reset();
        return elapsed_since(start);
    }

    Broker broker_{plain()};
};

TEST_F(Lifecycle, DestroyWhileConnectedIsQuick) {
    auto client = connected(opts());
    Inbox inbox;
    client->subscribe(test_topic(), 1, inbox.handler());
    for (int i = 0; i < 100; ++i) client->publish(test_topic(), "x", 1, false);
    EXPECT_LT(time_destruction(client), 3000ms);
}

TEST_F(Lifecycle, DestroyWhileReconnectingIsQuick) {
    Events events;
    ClientOptions o = opts();
    o.on_connection = events.handler();
    auto client = connected(o);
    broker_.kill();
    ASSERT_TRUE(events.wait_state_count(ConnectionState::Reconnecting, 1));
    EXPECT_LT(time_destruction(client), 3000ms);
}

TEST_F(Lifecycle, DestroyDuringAHangingConnectAttemptIsQuick) {
    // The relay accepts the TCP connection and never answers, so the attempt waits for CONNACK.
    TcpProxy silent(broker_.port());
    silent.set_mode(TcpProxy::Mode::Blackhole);
    ClientOptions o = options_for(silent.uri());
    o.connect_timeout = 10000ms;
    auto client = std::make_unique<Client>(o);
    client->start();
    ASSERT_TRUE(wait_until([&] { return silent.accepted() >= 1; }));
    EXPECT_EQ(client->state(), ConnectionState::Connecting);
    EXPECT_LT(time_destruction(client), 3000ms);
}

TEST_F(Lifecycle, DisconnectFromAHangingConnectAttemptIsQuick) {
    TcpProxy silent(broker_.port());
    silent.set_mode(TcpProxy::Mode::Blackhole);
    ClientOptions o = options_for(silent.uri());
    o.connect_timeout = 10000ms;
    Client client(o);
    client.start();
    ASSERT_TRUE(wait_until([&] { return silent.accepted() >= 1; }));
    const auto start = Clock::now();
    client.disconnect(500ms);
    EXPECT_LT(elapsed_since(start), 3000ms) << "disconnect(500 ms) exceeded timeout + ~1 s";
    EXPECT_EQ(client.state(), ConnectionState::Disconnected);
}

// The broker goes silent while connected (a frozen broker, a dead link): nothing tells the client
// that the connection is gone until the keep-alive runs out. Stopping must not wait for it.
TEST_F(Lifecycle, UnsubscribeAndDestroyAreQuickWhileTheBrokerIsSilent) {
    TcpProxy relay(broker_.port());
    ClientOptions o = options_for(relay.uri());
    o.presence.topic = test_topic("status");
    auto client = connected(o);
    std::vector<std::uint64_t> ids;
    for (int i = 0; i < 3; ++i) ids.push_back(client->subscribe(test_topic(std::to_string(i)), 1, [](auto&) {}));
    relay.hold_downstream(true);

    auto start = Clock::now();
    for (auto id : ids) client->unsubscribe(id);  // each waited for operation_timeout (10 s) before
    const auto unsubscribed = elapsed_since(start);
    EXPECT_LT(unsubscribed, 3000ms) << "3 unsubscribes took " << unsubscribed.count() << " ms";
    EXPECT_EQ(client->state(), ConnectionState::Connected);  // nothing noticed the silence yet

    const auto destroyed = time_destruction(client);
    EXPECT_LT(destroyed, 3000ms) << "destruction took " << destroyed.count() << " ms";
    relay.hold_downstream(false);
}

TEST_F(Lifecycle, DisconnectIsQuickWhileTheBrokerIsSilent) {
    TcpProxy relay(broker_.port());
    ClientOptions o = options_for(relay.uri());
    o.presence.topic = test_topic("status");
    Client client(o);
    client.connect(kLong);
    relay.hold_downstream(true);
    const auto start = Clock::now();
    client.disconnect(100ms);
    const auto took = elapsed_since(start);
    EXPECT_LT(took, 3000ms) << "disconnect(100 ms) took " << took.count() << " ms";
    EXPECT_EQ(client.state(), ConnectionState::Disconnected);
    relay.hold_downstream(false);
}

TEST_F(Lifecycle, DisconnectAndDestroyAreQuickWhileTheBrokerIsDown) {
    Events events;
    ClientOptions o = opts();
    o.on_connection = events.handler();
    o.presence.topic = test_topic("status");
    auto client = connected(o);
    const auto id = client->subscribe(test_topic(), 1, [](auto&) {});
    broker_.kill();
    ASSERT_TRUE(events.wait_state_count(ConnectionState::Reconnecting, 1));
    auto start = Clock::now();
    client->unsubscribe(id);
    client->disconnect(2000ms);
    const auto stopped = elapsed_since(start);
    EXPECT_LT(stopped, 3000ms) << "unsubscribe + disconnect took " << stopped.count() << " ms";
    EXPECT_LT(time_destruction(client), 3000ms);
}

TEST_F(Lifecycle, DisconnectThenConnectAgain) {
    Events events;
    ClientOptions o = opts();
    o.on_connection = events.handler();
    auto client = connected(o);
    Inbox inbox;
    client->subscribe(test_topic(), 1, inbox.handler());
    client->publish_wait(test_topic(), "first", 1, false, kLong);
    ASSERT_TRUE(inbox.wait_count(1));

    client->disconnect(kLong);
    EXPECT_EQ(client->state(), ConnectionState::Disconnected);
    EXPECT_FALSE(client->connected());
    ASSERT_TRUE(events.wait_state_count(ConnectionState::Disconnected, 1))
        << "no Disconnected event after disconnect()";
    client->disconnect(kLong);  // idempotent

    client->connect(kLong);
    EXPECT_TRUE(client->connected());
    ASSERT_TRUE(events.wait_state_count(ConnectionState::Connected, 2));
    EXPECT_EQ(client->stats().connects, 2u);

    // The subscription registered before survives the stop: retry until it is active again.
    auto other = connected(opts());
    int n = 0;
    ASSERT_TRUE(wait_until([&] {
        other->publish_wait(test_topic(), "again" + std::to_string(n++), 1, false, kLong);
        return inbox.wait_count(2, 100ms);
    })) << "the subscription did not come back after connect()";
    client->publish_wait(test_topic(), "own", 1, false, kLong);
    EXPECT_TRUE(inbox.wait_payload("own"));
}

TEST_F(Lifecycle, StartIsIdempotent) {
    Events events;
    ClientOptions o = opts();
    o.on_connection = events.handler();
    Client client(o);
    client.start();
    client.start();
    ASSERT_TRUE(wait_until([&] { return client.connected(); }));
    client.start();
    client.connect(kLong);  // already connected: returns at once
    EXPECT_EQ(client.stats().connects, 1u);
    // Events are delivered on the dispatcher: flush it before counting.
    ASSERT_TRUE(events.wait_state_count(ConnectionState::Connected, 1));
    Latch flushed;
    client.dispatch([&flushed] { flushed.open(); });
    ASSERT_TRUE(flushed.wait());
    EXPECT_EQ(events.count(ConnectionState::Connected), 1u);
}

TEST_F(Lifecycle, ConnectTimesOutWhileBrokerIsDownThenConnectsByItself) {
    broker_.kill();
    Events events;
    ClientOptions o = opts();
    o.reconnect_min = 100ms;
    o.reconnect_max = 300ms;
    o.on_connection = events.handler();
    Client client(o);
    const auto start = Clock::now();
    const auto e = capture_error([&] { client.connect(1000ms); });
    const auto took = elapsed_since(start);
    EXPECT_EQ(e.status(), Status::Timeout) << e.what();
    EXPECT_GE(took, 900ms) << "gave up before the timeout";
    EXPECT_LT(took, 4000ms) << "connect(1 s) took far longer than its timeout";
    EXPECT_NE(client.state(), ConnectionState::Disconnected)
        << "the client must keep trying after connect() timed out";
    EXPECT_GE(client.stats().connect_failures, 1u);

    broker_.start();
    EXPECT_TRUE(wait_until([&] { return client.connected(); }))
        << "did not connect in the background once the broker was up";
    EXPECT_TRUE(events.wait_state_count(ConnectionState::Connected, 1));
    EXPECT_EQ(client.stats().connects, 1u);
}

// --- presence ---

class Presence : public ::testing::TestWithParam<MqttVersion> {
protected:
    ClientOptions opts(const std::string& uri) const {
        ClientOptions o = options_for(uri);
        o.mqtt_version = GetParam();
        return o;
    }

    std::unique_ptr<Client> connected(ClientOptions o) {
        auto c = std::make_unique<Client>(std::move(o));
        c->connect(kLong);
        return c;
    }

    // A fresh subscriber: what it receives first is the retained message, if any. Observers
    // speak MQTT 3.1.1 whatever the device uses, so only the device's side is under test.
    Received retained_now(const std::string& topic) {
        auto late = connected(options_for(broker_.uri()));
        Inbox inbox;
        late->subscribe(topic, 1, inbox.handler());
        if (!inbox.wait_count(1)) return Received{};
        return inbox.items()[0];
    }

    Broker broker_{plain()};
};

std::string version_name(const ::testing::TestParamInfo<MqttVersion>& info) {
    return info.param == MqttVersion::V5 ? "V5" : "V311";
}

INSTANTIATE_TEST_SUITE_P(Mqtt, Presence, ::testing::Values(MqttVersion::V311, MqttVersion::V5),
                         version_name);

TEST_P(Presence, OnlineAfterConnectOfflineAfterDisconnect) {
    const std::string topic = test_topic("status");
    ClientOptions o = opts(broker_.uri());
    o.presence.topic = topic;
    auto device = connected(o);

    auto watcher = connected(options_for(broker_.uri()));
    Inbox seen;
    watcher->subscribe(topic, 1, seen.handler());
    ASSERT_TRUE(seen.wait_payload("online")) << "no online message after connect";

    // Now that it has certainly reached the broker, a newcomer gets it as a retained message.
    auto first = retained_now(topic);
    EXPECT_EQ(first.payload, "online");
    EXPECT_TRUE(first.retained);

    device->disconnect(kLong);
    ASSERT_TRUE(seen.wait_payload("offline")) << "no offline message on disconnect()";
    auto after = retained_now(topic);
    EXPECT_EQ(after.payload, "offline");
    EXPECT_TRUE(after.retained);
}

TEST_P(Presence, WillIsPublishedWhenTheConnectionIsLost) {
    // The device reaches the broker through a relay; cutting the relay drops its TCP connection
    // without DISCONNECT, so the broker publishes the will.
    TcpProxy relay(broker_.port());
    const std::string topic = test_topic("status");
    ClientOptions o = opts(relay.uri());
    o.presence.topic = topic;
    o.presence.online = "up";
    o.presence.offline = "down";
    o.reconnect_min = 100ms;
    o.reconnect_max = 300ms;
    auto device = connected(o);

    auto watcher = connected(options_for(broker_.uri()));
    Inbox seen;
    watcher->subscribe(topic, 1, seen.handler());
    ASSERT_TRUE(seen.wait_payload("up"));

    relay.set_mode(TcpProxy::Mode::Refuse);  // keep the device away while we look
    relay.drop_all();
    ASSERT_TRUE(seen.wait_count(2)) << "the broker published no will";
    EXPECT_EQ(seen.items()[1].payload, "down");
    auto retained = retained_now(topic);
    EXPECT_EQ(retained.payload, "down");
    EXPECT_TRUE(retained.retained) << "the will must be retained";

    relay.set_mode(TcpProxy::Mode::Forward);
    ASSERT_TRUE(seen.wait_count(3)) << "no presence after the reconnect";
    EXPECT_EQ(seen.items()[2].payload, "up");
    EXPECT_TRUE(wait_until([&] { return device->connected(); }));
    EXPECT_EQ(retained_now(topic).payload, "up");
}

}  // namespace
