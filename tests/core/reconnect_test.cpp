// Losing the broker: backoff, the offline queue, resending what was in flight, restoring
// subscriptions, and the queue's overflow policies.
#include <cstdint>
#include <memory>
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
using twinlink::ConnectionState;
using twinlink::OverflowPolicy;
using twinlink::Status;
using twinlink::testing::Broker;

Broker::Options plain() {
    Broker::Options o;
    o.tls = false;
    return o;
}

std::vector<std::string> numbers(int from, int to) {
    std::vector<std::string> out;
    for (int i = from; i < to; ++i) out.push_back(std::to_string(i));
    return out;
}

class Reconnect : public ::testing::Test {
protected:
    ClientOptions opts() const { return options_for(broker_.uri()); }

    std::unique_ptr<Client> connected(ClientOptions o) {
        auto c = std::make_unique<Client>(std::move(o));
        c->connect(kLong);
        return c;
    }

    // Kills the broker and waits until `events` reports that the client is waiting to retry.
    void kill_and_wait_reconnecting(Client& client, const Events& events) {
        const auto before = events.count(ConnectionState::Reconnecting);
        broker_.kill();
        ASSERT_TRUE(events.wait_state_count(ConnectionState::Reconnecting, before + 1))
            << "no Reconnecting event after the broker died";
        ASSERT_FALSE(client.connected());
    }

    Broker broker_{plain()};
};

TEST_F(Reconnect, BackoffStaysWithinBoundsAndReconnectsWhenBrokerReturns) {
    Events events;
    ClientOptions o = opts();
    o.reconnect_min = 200ms;
    o.reconnect_max = 800ms;
    o.on_connection = events.handler();
    auto client = connected(o);
    ASSERT_TRUE(events.wait_state_count(ConnectionState::Connected, 1));

    broker_.kill();
    ASSERT_TRUE(events.wait_state_count(ConnectionState::Reconnecting, 4))
        << "expected repeated Reconnecting events while the broker is down";
    EXPECT_NE(client->state(), ConnectionState::Connected);
    EXPECT_NE(client->state(), ConnectionState::Disconnected)
        << "a lost connection must not look like a stop by disconnect()";

    std::vector<RecordedEvent> waits;
    for (const auto& e : events.items())
        if (e.event.state == ConnectionState::Reconnecting) waits.push_back(e);
    for (std::size_t i = 0; i < waits.size(); ++i) {
        const auto& e = waits[i].event;
        SCOPED_TRACE("Reconnecting event #" + std::to_string(i) + " attempt " +
                     std::to_string(e.attempt) + " message \"" + e.message + "\"");
        EXPECT_GE(e.retry_in, o.reconnect_min);
        EXPECT_LE(e.retry_in, o.reconnect_max);
        EXPECT_NE(e.reason, Status::Ok);
        EXPECT_FALSE(e.message.empty());
        EXPECT_EQ(e.broker, broker_.uri());
        if (i > 0) {
            EXPECT_GE(e.attempt, waits[i - 1].event.attempt) << "attempt count went down";
        }
    }
    // The client waited each retry_in before the attempt that failed and led to the next event.
    // Summed over all events, so that one late dispatch of an event cannot fake a short wait.
    milliseconds announced{0};
    for (std::size_t i = 0; i + 1 < waits.size(); ++i) announced += waits[i].event.retry_in;
    const auto spent = std::chrono::duration_cast<milliseconds>(waits.back().at - waits.front().at);
    EXPECT_GE(spent + 250ms, announced)
        << "retried after " << spent.count() << " ms in all, but announced " << announced.count();
    EXPECT_GT(waits.back().event.attempt, waits.front().event.attempt)
        << "attempt should count consecutive failures";

    broker_.start();
    ASSERT_TRUE(events.wait_state_count(ConnectionState::Connected, 2))
        << "did not reconnect after the broker came back";
    EXPECT_TRUE(wait_until([&] { return client->connected(); }));
    const auto s = client->stats();
    EXPECT_EQ(s.connects, 2u);
    EXPECT_EQ(s.reconnects, 1u);
    EXPECT_GE(s.connect_failures, 3u);
    const auto last = events.items().back().event;
    EXPECT_EQ(last.state, ConnectionState::Connected);
    EXPECT_EQ(last.reason, Status::Ok);
    EXPECT_EQ(last.attempt, 0u) << "attempt should be reset once connected";
}

TEST_F(Reconnect, MessagesQueuedWhileBrokerDownAreDeliveredInOrderAfterRestart) {
    // The client subscribes to its own topic: after the restart it restores the subscription
    // before it sends the queue, so every queued message must come back exactly once, in order.
    Events events;
    ClientOptions o = opts();
    o.on_connection = events.handler();
    auto client = connected(o);
    const std::string topic = test_topic();
    Inbox inbox;
    client->subscribe(topic, 1, inbox.handler());
    kill_and_wait_reconnecting(*client, events);

    const int n = 500;
    Completions done;
    std::uint64_t bytes = 0;
    for (const auto& p : numbers(0, n)) {
        bytes += p.size();
        client->publish(topic, p, 1, false, done.callback());
    }
    auto s = client->stats();
    EXPECT_EQ(s.queued_messages, static_cast<std::uint64_t>(n));
    EXPECT_EQ(s.queued_bytes, bytes);
    EXPECT_EQ(s.inflight, 0u);
    EXPECT_EQ(done.size(), 0u) << "a queued message completed while the broker was down";

    broker_.start();
    ASSERT_TRUE(done.wait_count(n)) << done.size() << " of " << n << " completed";
    EXPECT_EQ(done.count(Status::Ok), static_cast<std::size_t>(n)) << done.summary();
    ASSERT_TRUE(inbox.wait_count(n)) << inbox.size() << " of " << n << " received";
    Barrier barrier(*client, test_topic("barrier"), 1);
    ASSERT_TRUE(barrier.pass(*client));
    EXPECT_EQ(inbox.payloads(), numbers(0, n)) << "lost, duplicated or reordered";
    s = client->stats();
    EXPECT_EQ(s.queued_messages, 0u);
    EXPECT_EQ(s.queued_bytes, 0u);
    EXPECT_EQ(s.reconnects, 1u);
    EXPECT_EQ(s.resent, 0u);
}

TEST_F(Reconnect, QueuedMessagesReachSubscriberThatConnectedAfterRestart) {
    // The publisher queues during the outage and is then stopped by disconnect(), so the fresh
    // subscriber is certainly listening before the queue is sent on the next connect().
    Events events;
    ClientOptions o = opts();
    o.on_connection = events.handler();
    auto pub = connected(o);
    kill_and_wait_reconnecting(*pub, events);

    const int n = 500;
    Completions done;
    for (const auto& p : numbers(0, n)) pub->publish(test_topic(), p, 1, false, done.callback());
    EXPECT_EQ(pub->stats().queued_messages, static_cast<std::uint64_t>(n));

    const auto start = Clock::now();
    pub->disconnect(500ms);
    EXPECT_LT(elapsed_since(start), 3000ms) << "disconnect() exceeded timeout + ~1 s";
    EXPECT_EQ(pub->state(), ConnectionState::Disconnected);
    EXPECT_EQ(pub->stats().queued_messages, static_cast<std::uint64_t>(n))
        << "disconnect() must keep queued messages for the next connect";

    broker_.start();
    auto sub = connected(opts());
    Inbox inbox;
    sub->subscribe(test_topic(), 1, inbox.handler());
    Barrier barrier(*sub, test_topic("barrier"), 1);

    pub->connect(kLong);
    ASSERT_TRUE(done.wait_count(n)) << done.size() << " of " << n << " completed";
    EXPECT_EQ(done.count(Status::Ok), static_cast<std::size_t>(n)) << done.summary();
    ASSERT_TRUE(inbox.wait_count(n)) << inbox.size() << " of " << n << " received";
    ASSERT_TRUE(barrier.pass(*pub));
    EXPECT_EQ(inbox.payloads(), numbers(0, n)) << "lost, duplicated or reordered";
    EXPECT_EQ(pub->stats().queued_messages, 0u);
}

TEST_F(Reconnect, SubscriptionsAreRestoredAfterBrokerRestart) {
    Events events;
    ClientOptions o = opts();
    o.on_connection = events.handler();
    auto client = connected(o);
    Inbox exact, wild;
    client->subscribe(test_topic("a"), 1, exact.handler());
    client->subscribe(test_topic("+/b"), 0, wild.handler());

    broker_.restart();
    ASSERT_TRUE(events.wait_state_count(ConnectionState::Connected, 2));

    // Publish from another client until the restored subscriptions deliver. Whether the
    // SUBSCRIBE is already done when the Connected event is seen is not specified, so retry.
    auto other = connected(opts());
    int sent = 0;
    const bool got = wait_until([&] {
        other->publish_wait(test_topic("a"), "a" + std::to_string(sent), 1, false, kLong);
        other->publish_wait(test_topic("x/b"), "b" + std::to_string(sent), 1, false, kLong);
        ++sent;
        return exact.wait_count(1, 100ms) && wild.wait_count(1, 100ms);
    });
    ASSERT_TRUE(got) << "subscriptions were not restored (" << sent << " tries)";
    EXPECT_EQ(exact.items()[0].topic, test_topic("a"));
    EXPECT_EQ(wild.items()[0].topic, test_topic("x/b"));
    EXPECT_EQ(client->stats().reconnects, 1u);
}

TEST_F(Reconnect, InFlightMessagesAreResentAfterConnectionLoss) {
    // The publisher talks to the broker through a proxy that withholds the acknowledgements, so
    // exactly max_inflight messages are in flight when the connection is cut.
    TcpProxy proxy(broker_.port());
    auto sub = connected(opts());
    Inbox inbox;
    sub->subscribe(test_topic(), 1, inbox.handler());

    Events events;
    ClientOptions o = options_for(proxy.uri());
    o.max_inflight = 10;
    o.on_connection = events.handler();
    const int n = 30;
    Completions done;
    {
        auto pub = connected(o);
        proxy.hold_downstream(true);
        for (const auto& p : numbers(0, n)) pub->publish(test_topic(), p, 1, false, done.callback());
        ASSERT_TRUE(wait_until([&] {
            const auto s = pub->stats();
            return s.inflight == 10 && s.queued_messages == 20;
        })) << "inflight " << pub->stats().inflight << " queued " << pub->stats().queued_messages;
        ASSERT_TRUE(inbox.wait_count(10)) << "the broker did not get the first 10";
        EXPECT_EQ(inbox.size(), 10u) << "more than max_inflight messages were sent";
        EXPECT_EQ(done.size(), 0u) << "completed without an acknowledgement";

        proxy.drop_all();
        proxy.hold_downstream(false);

        ASSERT_TRUE(done.wait_count(n)) << done.size() << " of " << n << " completed";
        EXPECT_EQ(done.count(Status::Ok), static_cast<std::size_t>(n)) << done.summary();
        const auto s = pub->stats();
        EXPECT_EQ(s.resent, 10u);
        EXPECT_EQ(s.reconnects, 1u);
        EXPECT_EQ(s.inflight, 0u);
        EXPECT_EQ(s.queued_messages, 0u);
        pub->disconnect(kLong);
    }
    for (const auto& [id, calls] : done.calls_per_id()) EXPECT_EQ(calls, 1) << "message " << id;

    // At least once: every payload arrived; the 10 that were in flight may have arrived twice.
    ASSERT_TRUE(inbox.wait_for([&](const std::vector<Received>& v) {
        std::set<std::string> distinct;
        for (const auto& m : v) distinct.insert(m.payload);
        return distinct.size() >= static_cast<std::size_t>(n);
    })) << "received " << inbox.size();
    std::set<std::string> distinct;
    for (const auto& p : inbox.payloads()) distinct.insert(p);
    const auto expected = numbers(0, n);
    EXPECT_EQ(distinct, std::set<std::string>(expected.begin(), expected.end()));
    EXPECT_LE(inbox.size(), static_cast<std::size_t>(n + 10));
}

TEST_F(Reconnect, BurstAcrossBrokerCrashCompletesEveryMessageOnce) {
    Events events;
    ClientOptions o = opts();
    o.on_connection = events.handler();
    // Queue the burst first, so the crash comes while it drains rather than while it is made.
    const int n = 20000;
    o.queue_max_messages = n;
    auto client = std::make_unique<Client>(o);
    const std::string payload(200, 'b');
    Completions done;
    for (int i = 0; i < n; ++i) client->publish(test_topic(), payload, 1, false, done.callback());
    client->connect(kLong);
    ASSERT_TRUE(wait_until([&] { return client->stats().messages_out >= 200; }, 60000ms));
    const auto before = client->stats();
    ASSERT_GT(before.queued_messages + before.inflight, 0u)
        << "the burst finished before the crash; the test proved nothing";
    broker_.kill();
    ASSERT_TRUE(events.wait_state_count(ConnectionState::Reconnecting, 1));
    broker_.start();

    ASSERT_TRUE(done.wait_count(n, 60000ms)) << done.size() << " of " << n << " completed";
    EXPECT_EQ(done.count(Status::Ok), static_cast<std::size_t>(n)) << done.summary();
    const auto s = client->stats();
    EXPECT_GT(s.resent, 0u) << "messages in flight at the crash were not resent";
    EXPECT_EQ(s.reconnects, 1u);
    EXPECT_EQ(s.queued_messages, 0u);
    EXPECT_EQ(s.inflight, 0u);
    client.reset();
    for (const auto& [id, calls] : done.calls_per_id()) ASSERT_EQ(calls, 1) << "message " << id;
}

// --- overflow policies ---

TEST_F(Reconnect, RejectNewThrowsQueueFullWhileBrokerDown) {
    Events events;
    ClientOptions o = opts();
    o.queue_max_messages = 10;
    o.overflow = OverflowPolicy::RejectNew;
    o.on_connection = events.handler();
    auto client = connected(o);
    Inbox inbox;
    client->subscribe(test_topic(), 1, inbox.handler());
    kill_and_wait_reconnecting(*client, events);

    Completions done;
    for (const auto& p : numbers(0, 10)) client->publish(test_topic(), p, 1, false, done.callback());
    for (int i = 0; i < 2; ++i) {
        const auto e = capture_error(
            [&] { client->publish(test_topic(), "over", 1, false, done.callback()); });
        EXPECT_EQ(e.status(), Status::QueueFull) << e.what();
    }
    auto s = client->stats();
    EXPECT_EQ(s.rejected, 2u);
    EXPECT_EQ(s.queued_messages, 10u);
    EXPECT_EQ(s.dropped, 0u);

    broker_.start();
    ASSERT_TRUE(done.wait_count(10));
    EXPECT_EQ(done.count(Status::Ok), 10u) << done.summary();
    ASSERT_TRUE(inbox.wait_count(10));
    Barrier barrier(*client, test_topic("barrier"), 1);
    ASSERT_TRUE(barrier.pass(*client));
    EXPECT_EQ(inbox.payloads(), numbers(0, 10));
    client.reset();
    EXPECT_EQ(done.size(), 10u) << "a rejected message got a callback";
}

class Overflow : public Reconnect {
protected:
    // A subscriber on the live broker and a publisher that has not been started: everything it
    // publishes waits in the offline queue until connect().
    void SetUp() override {
        sub_ = connected(opts());
        sub_->subscribe(test_topic(), 1, inbox_.handler());
        barrier_ = std::make_unique<Barrier>(*sub_, test_topic("barrier"), 1);
    }

    void expect_received(const std::vector<std::string>& expected) {
        ASSERT_TRUE(inbox_.wait_count(expected.size()));
        ASSERT_TRUE(barrier_->pass(*pub_));
        EXPECT_EQ(inbox_.payloads(), expected);
    }

    std::unique_ptr<Client> sub_;
    std::unique_ptr<Client> pub_;
    Inbox inbox_;
    std::unique_ptr<Barrier> barrier_;
};

TEST_F(Overflow, DropOldestReportsDroppedAndKeepsTheNewest) {
    ClientOptions o = opts();
    o.queue_max_messages = 10;
    o.overflow = OverflowPolicy::DropOldest;
    pub_ = std::make_unique<Client>(o);
    Completions done;
    std::vector<std::uint64_t> ids;
    for (const auto& p : numbers(0, 25))
        ids.push_back(pub_->publish(test_topic(), p, 1, false, done.callback()));
    auto s = pub_->stats();
    EXPECT_EQ(s.dropped, 15u);
    EXPECT_EQ(s.queued_messages, 10u);
    EXPECT_EQ(s.rejected, 0u);

    pub_->connect(kLong);
    ASSERT_TRUE(done.wait_count(25));
    for (int i = 0; i < 25; ++i) {
        const auto expected = i < 15 ? Status::Dropped : Status::Ok;
        EXPECT_EQ(done.statuses(ids[i]), std::vector<Status>{expected}) << "message " << i;
    }
    expect_received(numbers(15, 25));
}

TEST_F(Overflow, RejectNewOnByteBound) {
    ClientOptions o = opts();
    o.queue_max_bytes = 1000;
    o.overflow = OverflowPolicy::RejectNew;
    pub_ = std::make_unique<Client>(o);
    for (int i = 0; i < 10; ++i)
        pub_->publish(test_topic(), std::to_string(i) + std::string(99, '.'), 1, false);
    const auto e = capture_error([&] { pub_->publish(test_topic(), "x", 1, false); });
    EXPECT_EQ(e.status(), Status::QueueFull) << e.what();
    auto s = pub_->stats();
    EXPECT_EQ(s.queued_bytes, 1000u);
    EXPECT_EQ(s.queued_messages, 10u);
    EXPECT_EQ(s.rejected, 1u);

    pub_->connect(kLong);
    std::vector<std::string> expected;
    for (int i = 0; i < 10; ++i) expected.push_back(std::to_string(i) + std::string(99, '.'));
    expect_received(expected);
}

TEST_F(Overflow, DropOldestOnByteBoundDropsJustEnough) {
    ClientOptions o = opts();
    o.queue_max_bytes = 1000;
    o.overflow = OverflowPolicy::DropOldest;
    pub_ = std::make_unique<Client>(o);
    Completions done;
    std::vector<std::uint64_t> ids;
    std::vector<std::string> payloads;
    for (int i = 0; i < 10; ++i) payloads.push_back(std::to_string(i) + std::string(99, '.'));
    payloads.push_back("big" + std::string(247, '.'));  // 250 bytes: 3 of 100 must go
    for (const auto& p : payloads) ids.push_back(pub_->publish(test_topic(), p, 1, false, done.callback()));
    auto s = pub_->stats();
    EXPECT_EQ(s.dropped, 3u);
    EXPECT_EQ(s.queued_messages, 8u);
    EXPECT_EQ(s.queued_bytes, 950u);

    pub_->connect(kLong);
    ASSERT_TRUE(done.wait_count(payloads.size()));
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        const auto expected = i < 3 ? Status::Dropped : Status::Ok;
        EXPECT_EQ(done.statuses(ids[i]), std::vector<Status>{expected}) << "message " << i;
    }
    expect_received(std::vector<std::string>(payloads.begin() + 3, payloads.end()));
}

TEST_F(Overflow, PayloadLargerThanTheByteBoundIsInvalid) {
    for (auto policy : {OverflowPolicy::RejectNew, OverflowPolicy::DropOldest}) {
        ClientOptions o = opts();
        o.queue_max_bytes = 1000;
        o.overflow = policy;
        Client client(o);
        client.publish(test_topic(), "small", 1, false);
        const auto e =
            capture_error([&] { client.publish(test_topic(), std::string(1001, 'x'), 1, false); });
        EXPECT_EQ(e.status(), Status::InvalidArgument)
            << "policy " << static_cast<int>(policy) << ": " << e.what();
        EXPECT_EQ(client.stats().queued_messages, 1u)
            << "policy " << static_cast<int>(policy) << ": the queue was emptied for nothing";
    }
}

}  // namespace
