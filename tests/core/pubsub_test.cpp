// Publish and subscribe against a private mosquitto, over MQTT 3.1.1 and MQTT 5.
#include <cstdint>
#include <memory>
#include <random>
#include <set>
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
using twinlink::MqttVersion;
using twinlink::Status;
using twinlink::testing::Broker;

Broker::Options plain() {
    Broker::Options o;
    o.tls = false;
    return o;
}

class PubSub : public ::testing::TestWithParam<MqttVersion> {
protected:
    ClientOptions opts() const {
        ClientOptions o = options_for(broker_.uri());
        o.mqtt_version = GetParam();
        return o;
    }

    std::unique_ptr<Client> connected(ClientOptions o) {
        auto c = std::make_unique<Client>(std::move(o));
        c->connect(kLong);
        EXPECT_TRUE(c->connected());
        return c;
    }
    std::unique_ptr<Client> connected() { return connected(opts()); }

    Broker broker_{plain()};
};

std::string version_name(const ::testing::TestParamInfo<MqttVersion>& info) {
    return info.param == MqttVersion::V5 ? "V5" : "V311";
}

INSTANTIATE_TEST_SUITE_P(Mqtt, PubSub, ::testing::Values(MqttVersion::V311, MqttVersion::V5),
                         version_name);

TEST_P(PubSub, RoundTripAtEachQos) {
    auto sub = connected();
    auto pub = connected();
    for (int qos = 0; qos <= 2; ++qos) {
        SCOPED_TRACE("qos " + std::to_string(qos));
        const std::string topic = test_topic("q" + std::to_string(qos));
        Inbox inbox;
        sub->subscribe(topic, qos, inbox.handler());
        const std::string payload = "hello at qos " + std::to_string(qos);
        pub->publish_wait(topic, payload, qos, false, kLong);
        ASSERT_TRUE(inbox.wait_count(1));
        const auto m = inbox.items().at(0);
        EXPECT_EQ(m.topic, topic);
        EXPECT_EQ(m.payload, payload);
        EXPECT_EQ(m.qos, qos);
        EXPECT_FALSE(m.retained);
    }
}

TEST_P(PubSub, DeliveredQosIsTheLowerOfPublishAndSubscribe) {
    auto sub = connected();
    auto pub = connected();
    const std::string topic = test_topic();
    Inbox inbox;
    sub->subscribe(topic, 1, inbox.handler());
    pub->publish_wait(topic, "two", 2, false, kLong);
    pub->publish_wait(topic, "zero", 0, false, kLong);
    ASSERT_TRUE(inbox.wait_count(2));
    const auto items = inbox.items();
    EXPECT_EQ(items[0].payload, "two");
    EXPECT_EQ(items[0].qos, 1);
    EXPECT_EQ(items[1].payload, "zero");
    EXPECT_EQ(items[1].qos, 0);
}

TEST_P(PubSub, BinaryPayloadWithNulBytesIsIntact) {
    auto client = connected();
    const std::string topic = test_topic();
    Inbox inbox;
    client->subscribe(topic, 1, inbox.handler());
    std::string payload;
    for (int i = 0; i < 512; ++i) payload.push_back(static_cast<char>(i & 0xff));
    payload += std::string("\0\0\0", 3);
    ASSERT_EQ(payload.size(), 515u);
    client->publish_wait(topic, payload, 1, false, kLong);
    ASSERT_TRUE(inbox.wait_count(1));
    EXPECT_EQ(inbox.items()[0].payload.size(), payload.size());
    EXPECT_TRUE(inbox.items()[0].payload == payload) << "payload bytes changed";
}

TEST_P(PubSub, LargePayloadIsIntact) {
    auto sub = connected();
    auto pub = connected();
    const std::string topic = test_topic();
    Inbox inbox;
    sub->subscribe(topic, 2, inbox.handler());
    std::mt19937 rng(12345);
    std::string payload(100 * 1024, '\0');
    for (auto& c : payload) c = static_cast<char>(rng() & 0xff);
    for (int qos = 0; qos <= 2; ++qos) pub->publish_wait(topic, payload, qos, false, kLong);
    ASSERT_TRUE(inbox.wait_count(3));
    for (const auto& m : inbox.items()) {
        EXPECT_EQ(m.payload.size(), payload.size());
        EXPECT_TRUE(m.payload == payload) << "payload bytes changed at qos " << m.qos;
    }
}

TEST_P(PubSub, EmptyPayloadIsDelivered) {
    auto client = connected();
    const std::string topic = test_topic();
    Inbox inbox;
    client->subscribe(topic, 1, inbox.handler());
    client->publish_wait(topic, "", 1, false, kLong);
    ASSERT_TRUE(inbox.wait_count(1));
    EXPECT_EQ(inbox.items()[0].payload, "");
}

TEST_P(PubSub, WildcardRoutingCallsEachMatchingHandlerOnce) {
    auto sub = connected();
    auto pub = connected();
    const std::string base = test_topic();
    Inbox plus, hash, exact, sibling, foreign, all;
    sub->subscribe(base + "/+/temp", 1, plus.handler());
    sub->subscribe(base + "/#", 1, hash.handler());
    sub->subscribe(base + "/dev1/temp", 1, exact.handler());
    sub->subscribe(base + "/dev1/humidity", 1, sibling.handler());
    sub->subscribe(base + "-other/#", 1, foreign.handler());
    Barrier barrier(*sub, base + "-barrier", 1);

    pub->publish(base + "/dev1/temp", "t1", 1, false);
    ASSERT_TRUE(barrier.pass(*pub));
    EXPECT_EQ(plus.payloads(), std::vector<std::string>{"t1"});
    EXPECT_EQ(hash.payloads(), std::vector<std::string>{"t1"});
    EXPECT_EQ(exact.payloads(), std::vector<std::string>{"t1"});
    EXPECT_EQ(sibling.size(), 0u);
    EXPECT_EQ(foreign.size(), 0u);

    pub->publish(base + "/dev2/temp", "t2", 1, false);
    pub->publish(base + "/dev1/a/b", "deep", 1, false);
    pub->publish(base, "parent", 1, false);  // "x/#" matches "x" itself
    ASSERT_TRUE(barrier.pass(*pub));
    EXPECT_EQ(plus.payloads(), (std::vector<std::string>{"t1", "t2"}));
    EXPECT_EQ(hash.payloads(), (std::vector<std::string>{"t1", "t2", "deep", "parent"}));
    EXPECT_EQ(exact.payloads(), std::vector<std::string>{"t1"});
    EXPECT_EQ(sibling.size(), 0u);
    EXPECT_EQ(foreign.size(), 0u);
    for (const auto& m : hash.items()) EXPECT_EQ(m.qos, 1) << m.topic;
}

TEST_P(PubSub, OverlappingFiltersAtDifferentQosEachCalledOnce) {
    auto client = connected();
    const std::string base = test_topic();
    Inbox low, high;
    client->subscribe(base + "/+", 0, low.handler());
    client->subscribe(base + "/#", 2, high.handler());
    Barrier barrier(*client, base + "-barrier", 2);
    for (int i = 0; i < 5; ++i) client->publish(base + "/x", std::to_string(i), 2, false);
    ASSERT_TRUE(barrier.pass(*client));
    EXPECT_EQ(low.payloads(), (std::vector<std::string>{"0", "1", "2", "3", "4"}));
    EXPECT_EQ(high.payloads(), (std::vector<std::string>{"0", "1", "2", "3", "4"}));
}

TEST_P(PubSub, SameFilterTwiceThenUnsubscribeOne) {
    auto sub = connected();
    auto pub = connected();
    const std::string topic = test_topic("dup");
    Inbox a, b;
    const auto id_a = sub->subscribe(topic, 1, a.handler());
    const auto id_b = sub->subscribe(topic, 1, b.handler());
    EXPECT_NE(id_a, id_b);
    Barrier barrier(*sub, test_topic("barrier"), 1);

    pub->publish(topic, "1", 1, false);
    ASSERT_TRUE(barrier.pass(*pub));
    EXPECT_EQ(a.payloads(), std::vector<std::string>{"1"});
    EXPECT_EQ(b.payloads(), std::vector<std::string>{"1"});

    sub->unsubscribe(id_a);
    pub->publish(topic, "2", 1, false);
    ASSERT_TRUE(barrier.pass(*pub));
    EXPECT_EQ(a.payloads(), std::vector<std::string>{"1"}) << "unsubscribed handler still called";
    EXPECT_EQ(b.payloads(), (std::vector<std::string>{"1", "2"}))
        << "the other handler of the same filter lost its messages";

    sub->unsubscribe(id_b);
    pub->publish(topic, "3", 1, false);
    ASSERT_TRUE(barrier.pass(*pub));
    EXPECT_EQ(b.payloads(), (std::vector<std::string>{"1", "2"}));
}

// What a handler owns (a binding's reference to a callable) is released by the time unsubscribe()
// returns, also right after the handler ran: the dispatcher task that called it may still exist
// for a moment after the call.
TEST_P(PubSub, UnsubscribeReleasesTheHandlerBeforeItReturns) {
    auto client = connected();
    const std::string topic = test_topic();
    for (int i = 0; i < 500; ++i) {
        Inbox inbox;
        auto owned = std::make_shared<int>(i);
        std::weak_ptr<int> watch = owned;
        const auto id = client->subscribe(topic, 0, [inbox, owned](const twinlink::MessageView& m) {
            inbox.handler()(m);
        });
        owned.reset();
        client->publish(topic, "x", 0, false);
        ASSERT_TRUE(inbox.wait_count(1));
        client->unsubscribe(id);
        ASSERT_TRUE(watch.expired()) << "the handler was still alive after unsubscribe() returned (round " << i << ")";
    }
}

TEST_P(PubSub, RetainedMessageReachesLateSubscriber) {
    auto pub = connected();
    const std::string topic = test_topic();
    pub->publish_wait(topic, "kept", 1, true, kLong);

    auto late = connected();
    Inbox inbox;
    late->subscribe(topic, 1, inbox.handler());
    ASSERT_TRUE(inbox.wait_count(1));
    const auto m = inbox.items()[0];
    EXPECT_EQ(m.payload, "kept");
    EXPECT_TRUE(m.retained);
    EXPECT_EQ(m.topic, topic);
}

TEST_P(PubSub, PublishCallbackCalledExactlyOnceWithOk) {
    Completions done;
    std::set<std::uint64_t> ids;
    const int n = 60;
    {
        auto client = connected();
        for (int i = 0; i < n; ++i) {
            const auto id =
                client->publish(test_topic(), "m" + std::to_string(i), i % 3, false,
                                done.callback());
            EXPECT_GT(id, 0u);
            ids.insert(id);
        }
        EXPECT_EQ(ids.size(), static_cast<std::size_t>(n)) << "message ids repeat";
        ASSERT_TRUE(done.wait_count(n));
        client->disconnect(kLong);
    }  // destroyed: no callback can come after this point
    const auto calls = done.calls_per_id();
    EXPECT_EQ(calls.size(), static_cast<std::size_t>(n));
    for (const auto& [id, count] : calls) {
        EXPECT_EQ(count, 1) << "message " << id;
        EXPECT_EQ(ids.count(id), 1u) << "callback for an id publish() never returned: " << id;
    }
    EXPECT_EQ(done.count(Status::Ok), static_cast<std::size_t>(n)) << done.summary();
    for (const auto& c : done.items()) EXPECT_NE(c.thread, std::this_thread::get_id());
}

TEST_P(PubSub, PublishWaitReturnsAfterDelivery) {
    auto sub = connected();
    auto pub = connected();
    const std::string topic = test_topic();
    Inbox inbox;
    sub->subscribe(topic, 2, inbox.handler());
    for (int qos = 0; qos <= 2; ++qos)
        pub->publish_wait(topic, std::to_string(qos), qos, false, kLong);
    EXPECT_TRUE(wait_until([&] { return pub->stats().messages_out == 3; }, 5000ms))
        << pub->stats().messages_out;
    EXPECT_EQ(pub->stats().inflight, 0u);
    ASSERT_TRUE(inbox.wait_count(3));
    EXPECT_EQ(inbox.payloads(), (std::vector<std::string>{"0", "1", "2"}));
}

TEST_P(PubSub, ManyMessagesArriveInPublishOrder) {
    auto sub = connected();
    auto pub = connected();
    const std::string topic = test_topic();
    Inbox inbox;
    sub->subscribe(topic, 1, inbox.handler());
    const int n = 500;  // below mosquitto's default per-client queue of 1000 QoS 1 messages
    Completions done;
    for (int i = 0; i < n; ++i) pub->publish(topic, std::to_string(i), 1, false, done.callback());
    ASSERT_TRUE(done.wait_count(n));
    EXPECT_EQ(done.count(Status::Ok), static_cast<std::size_t>(n)) << done.summary();
    ASSERT_TRUE(inbox.wait_count(n)) << "received " << inbox.size();
    const auto got = inbox.payloads();
    ASSERT_EQ(got.size(), static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) ASSERT_EQ(got[i], std::to_string(i)) << "at position " << i;
}

TEST_P(PubSub, AcknowledgementsHandOffAQueueLongerThanTheInflightWindow) {
    // Two in flight, 300 queued: only acknowledgements free the slots, so each one must lead to
    // the next hand-off.
    auto sub = connected();
    ClientOptions o = opts();
    o.max_inflight = 2;
    auto pub = connected(o);
    const std::string topic = test_topic();
    Inbox inbox;
    sub->subscribe(topic, 1, inbox.handler());
    const int n = 300;
    Completions done;
    for (int i = 0; i < n; ++i) pub->publish(topic, std::to_string(i), 1, false, done.callback());
    ASSERT_TRUE(done.wait_count(n)) << done.size() << " of " << n << " completed";
    EXPECT_EQ(done.count(Status::Ok), static_cast<std::size_t>(n)) << done.summary();
    EXPECT_EQ(pub->stats().inflight, 0u);
    EXPECT_EQ(pub->stats().queued_messages, 0u);
    ASSERT_TRUE(inbox.wait_count(n)) << "received " << inbox.size();
    const auto got = inbox.payloads();
    for (int i = 0; i < n; ++i) ASSERT_EQ(got[i], std::to_string(i)) << "at position " << i;
}

TEST_P(PubSub, DisconnectReturnsWhenTheLastAcknowledgementArrives) {
    // The acknowledgements come through a proxy that holds each chunk 100 ms, so disconnect()
    // starts with messages in flight and must be woken by the last acknowledgement, not by its
    // timeout.
    TcpProxy proxy(broker_.port());
    proxy.set_delay(std::chrono::milliseconds(100));
    ClientOptions o = options_for(proxy.uri());
    o.mqtt_version = GetParam();
    auto pub = connected(o);
    const int n = 50;
    Completions done;
    for (int i = 0; i < n; ++i) pub->publish(test_topic(), std::to_string(i), 1, false, done.callback());
    ASSERT_GT(pub->stats().inflight + pub->stats().queued_messages, 0u) << "nothing left in flight to wait for";
    const auto started = std::chrono::steady_clock::now();
    pub->disconnect(std::chrono::seconds(60));
    const auto waited = std::chrono::steady_clock::now() - started;
    EXPECT_LT(waited, std::chrono::seconds(30)) << "disconnect waited for its timeout, not for the acknowledgements";
    ASSERT_TRUE(done.wait_count(n)) << done.size() << " of " << n << " completed";
    EXPECT_EQ(done.count(Status::Ok), static_cast<std::size_t>(n)) << done.summary();
}

TEST_P(PubSub, StatsCountMessagesAndBytes) {
    auto client = connected();
    const std::string topic = test_topic();
    Inbox inbox;
    client->subscribe(topic, 1, inbox.handler());
    const int n = 20;
    std::uint64_t bytes = 0;
    for (int i = 0; i < n; ++i) {
        const std::string payload(static_cast<std::size_t>(i + 1), 'p');
        bytes += payload.size();
        client->publish_wait(topic, payload, 1, false, kLong);
    }
    ASSERT_TRUE(inbox.wait_count(n));
    ASSERT_TRUE(wait_until([&] { return client->stats().messages_in >= n; }));
    const auto s = client->stats();
    EXPECT_EQ(s.messages_out, static_cast<std::uint64_t>(n));
    EXPECT_EQ(s.bytes_out, bytes);
    EXPECT_EQ(s.messages_in, static_cast<std::uint64_t>(n));
    EXPECT_EQ(s.bytes_in, bytes);
    EXPECT_EQ(s.connects, 1u);
    EXPECT_EQ(s.reconnects, 0u);
    EXPECT_EQ(s.connect_failures, 0u);
    EXPECT_EQ(s.queued_messages, 0u);
    EXPECT_EQ(s.queued_bytes, 0u);
    EXPECT_EQ(s.inflight, 0u);
    EXPECT_EQ(s.dropped, 0u);
    EXPECT_EQ(s.rejected, 0u);
    EXPECT_EQ(s.resent, 0u);
    EXPECT_EQ(s.ack_timeouts, 0u);
}

TEST_P(PubSub, UnsubscribedFilterStopsReceiving) {
    auto client = connected();
    const std::string topic = test_topic("gone");
    Inbox inbox;
    const auto id = client->subscribe(topic, 1, inbox.handler());
    Barrier barrier(*client, test_topic("barrier"), 1);
    client->publish(topic, "before", 1, false);
    ASSERT_TRUE(barrier.pass(*client));
    client->unsubscribe(id);
    client->publish(topic, "after", 1, false);
    ASSERT_TRUE(barrier.pass(*client));
    EXPECT_EQ(inbox.payloads(), std::vector<std::string>{"before"});
    // Everything counted in messages_in was for a subscription: the broker stopped sending.
    const auto s = client->stats();
    EXPECT_EQ(s.messages_in, 3u) << "\"before\" and two barrier markers";
}

TEST(PublishWait, TimesOutWhenNeverConnectedAndKeepsTheMessage) {
    twinlink::Client client(options_for("mqtt://127.0.0.1:1"));
    const auto start = Clock::now();
    const auto e = capture_error([&] { client.publish_wait("a/b", "x", 1, false, 300ms); });
    const auto took = elapsed_since(start);
    EXPECT_EQ(e.status(), Status::Timeout) << e.what();
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 3000ms);
    EXPECT_EQ(client.stats().queued_messages, 1u) << "the message should stay queued";
}

}  // namespace
