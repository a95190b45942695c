// User callbacks: re-entrancy, blocking, destruction from inside, cancellation, and the thread
// they run on.
#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "broker.hpp"
#include "test_util.hpp"
#include "twinlink/client.hpp"

namespace {

using namespace tltest;
using twinlink::Client;
using twinlink::ClientOptions;
using twinlink::ConnectionState;
using twinlink::MessageView;
using twinlink::Status;
using twinlink::testing::Broker;

Broker::Options plain() {
    Broker::Options o;
    o.tls = false;
    return o;
}

class Callbacks : public ::testing::Test {
protected:
    ClientOptions opts() const { return options_for(broker_.uri()); }

    std::unique_ptr<Client> connected(ClientOptions o) {
        auto c = std::make_unique<Client>(std::move(o));
        c->connect(kLong);
        return c;
    }
    std::unique_ptr<Client> connected() { return connected(opts()); }

    Broker broker_{plain()};
};

// Collects what a callback could not report with gtest macros (they are not for other threads).
class Problems {
public:
    void add(const std::string& p) {
        std::lock_guard<std::mutex> lock(mutex_);
        list_.push_back(p);
    }
    std::vector<std::string> list() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return list_;
    }

private:
    mutable std::mutex mutex_;
    std::vector<std::string> list_;
};

TEST_F(Callbacks, HandlerMayPublishSubscribeAndUnsubscribe) {
    auto client = connected();
    auto other = connected();
    Inbox out, fresh, dropped;
    other->subscribe(test_topic("out"), 1, out.handler());
    const auto dropped_id = client->subscribe(test_topic("dropped"), 1, dropped.handler());

    std::atomic<std::uint64_t> self_id{0};
    std::atomic<int> calls{0};
    Problems problems;
    Latch done;
    Client* c = client.get();
    self_id = client->subscribe(test_topic("in"), 1, [&](const MessageView&) {
        ++calls;
        try {
            c->publish(test_topic("out"), "queued from handler", 1, false);
            c->publish_wait(test_topic("out"), "waited from handler", 1, false, 10000ms);
            c->subscribe(test_topic("fresh"), 1, fresh.handler());
            c->unsubscribe(dropped_id);
            c->unsubscribe(self_id.load());
        } catch (const std::exception& e) {
            problems.add(e.what());
        }
        done.open();
    });

    other->publish(test_topic("in"), "go", 1, false);
    ASSERT_TRUE(done.wait()) << "the handler did not finish: deadlock?";
    EXPECT_TRUE(problems.list().empty()) << problems.list().front();

    ASSERT_TRUE(out.wait_count(2));
    EXPECT_EQ(out.payloads(),
              (std::vector<std::string>{"queued from handler", "waited from handler"}));

    other->publish_wait(test_topic("fresh"), "to the new subscription", 1, false, kLong);
    ASSERT_TRUE(fresh.wait_count(1)) << "subscribe() from a handler did not take effect";

    Barrier barrier(*client, test_topic("barrier"), 1);
    other->publish(test_topic("dropped"), "x", 1, false);
    other->publish(test_topic("in"), "again", 1, false);
    ASSERT_TRUE(barrier.pass(*other));
    EXPECT_EQ(dropped.size(), 0u) << "unsubscribe() from a handler did not take effect";
    EXPECT_EQ(calls.load(), 1) << "a handler that unsubscribed itself was called again";
}

TEST_F(Callbacks, BlockedHandlerDoesNotBlockTheNetwork) {
    auto client = connected();
    auto other = connected();
    Latch entered, release;
    std::atomic<int> calls{0};
    client->subscribe(test_topic("slow"), 1, [&](const MessageView&) {
        if (++calls == 1) {
            entered.open();
            release.wait();  // bounded; the test opens it
        }
    });

    other->publish(test_topic("slow"), "first", 1, false);
    ASSERT_TRUE(entered.wait());

    // While the dispatcher is stuck in the handler, the connection keeps working.
    const auto start = Clock::now();
    const auto e = capture_error(
        [&] { client->publish_wait(test_topic("other"), "through", 1, false, 10000ms); });
    const auto took = elapsed_since(start);
    EXPECT_EQ(e.status(), Status::Ok) << "publish_wait failed while a handler blocked: " << e.what();
    EXPECT_LT(took, 5000ms);

    other->publish(test_topic("slow"), "second", 1, false);
    EXPECT_TRUE(wait_until([&] { return client->stats().messages_in >= 2; }))
        << "messages stopped arriving while a handler blocked";
    EXPECT_TRUE(wait_until([&] { return client->stats().callback_queue >= 1; }))
        << "the waiting call should show in callback_queue";
    EXPECT_EQ(calls.load(), 1);

    release.open();
    EXPECT_TRUE(wait_until([&] { return calls.load() == 2; }));
    EXPECT_TRUE(wait_until([&] { return client->stats().callback_queue == 0; }));
}

TEST_F(Callbacks, UnsubscribeWaitsForACallInProgress) {
    auto client = connected();
    auto other = connected();
    Latch entered, release;
    std::atomic<bool> unsubscribed{false};
    std::atomic<bool> returned_while_running{false};
    const auto id = client->subscribe(test_topic(), 1, [&](const MessageView&) {
        entered.open();
        release.wait();
        if (unsubscribed.load()) returned_while_running = true;
    });
    other->publish(test_topic(), "x", 1, false);
    ASSERT_TRUE(entered.wait());

    auto pending = std::async(std::launch::async, [&] {
        client->unsubscribe(id);
        unsubscribed = true;
    });
    // Deliberately expected to time out: unsubscribe() must still be waiting for the handler.
    EXPECT_FALSE(wait_until([&] { return unsubscribed.load(); }, 300ms))
        << "unsubscribe() returned while its handler was still running";
    release.open();
    ASSERT_EQ(pending.wait_for(kLong), std::future_status::ready);
    pending.get();
    EXPECT_TRUE(unsubscribed.load());
    EXPECT_FALSE(returned_while_running.load());
}

TEST_F(Callbacks, DisconnectFromInsideAHandlerReturns) {
    auto client = connected();
    auto other = connected();
    Latch returned;
    std::atomic<long long> took_ms{-1};
    Client* c = client.get();
    client->subscribe(test_topic(), 1, [&](const MessageView&) {
        const auto start = Clock::now();
        try {
            c->disconnect(2000ms);
        } catch (...) {
        }
        took_ms = elapsed_since(start).count();
        returned.open();
    });
    other->publish(test_topic(), "stop", 1, false);
    ASSERT_TRUE(returned.wait()) << "disconnect() inside a handler did not return";
    EXPECT_LT(took_ms.load(), 3500) << "disconnect(2 s) took longer than timeout + ~1 s";
    RecordProperty("disconnect_in_handler_ms", std::to_string(took_ms.load()));
    EXPECT_TRUE(wait_until([&] { return client->state() == ConnectionState::Disconnected; }));
    // And the client can be started again from the test thread.
    client->connect(kLong);
    EXPECT_TRUE(client->connected());
}

TEST_F(Callbacks, DestroyingTheClientFromItsOwnHandlerIsSafe) {
    auto holder = connected();
    auto other = connected();
    Latch destroyed;
    std::atomic<long long> took_ms{-1};
    holder->subscribe(test_topic(), 1, [&](const MessageView& m) {
        const std::string copy(m.payload);  // the view is valid until the handler returns
        const auto start = Clock::now();
        holder.reset();
        took_ms = elapsed_since(start).count();
        destroyed.open();
    });
    other->publish(test_topic(), "die", 1, false);
    ASSERT_TRUE(destroyed.wait()) << "destroying the client from its handler did not return";
    EXPECT_LT(took_ms.load(), 3000);
    EXPECT_EQ(holder, nullptr);
    // The process and the other client still work.
    Inbox inbox;
    other->subscribe(test_topic("after"), 1, inbox.handler());
    other->publish_wait(test_topic("after"), "alive", 1, false, kLong);
    EXPECT_TRUE(inbox.wait_count(1));
}

TEST_F(Callbacks, DestroyingFromAConnectionEventIsSafe) {
    std::unique_ptr<Client> holder;
    std::mutex holder_mutex;  // the test thread assigns holder while the event may already run
    Latch destroyed;
    ClientOptions o = opts();
    o.on_connection = [&](const twinlink::ConnectionEvent& e) {
        if (e.state != ConnectionState::Connected) return;
        std::unique_ptr<Client> victim;
        {
            std::lock_guard<std::mutex> lock(holder_mutex);
            victim = std::move(holder);
        }
        victim.reset();
        destroyed.open();
    };
    {
        std::lock_guard<std::mutex> lock(holder_mutex);
        holder = std::make_unique<Client>(o);
        holder->start();
    }
    ASSERT_TRUE(destroyed.wait());
    std::lock_guard<std::mutex> lock(holder_mutex);
    EXPECT_EQ(holder, nullptr);
}

TEST_F(Callbacks, QueuedMessagesAreCanceledWhenTheClientIsDestroyed) {
    broker_.kill();  // nothing listens on the port any more
    Completions done;
    std::vector<std::uint64_t> ids;

    auto client = std::make_unique<Client>(opts());
    client->start();
    for (int i = 0; i < 5; ++i)
        ids.push_back(client->publish(test_topic(), std::to_string(i), i % 3, false,
                                      done.callback()));
    EXPECT_EQ(client->stats().queued_messages, 5u);
    auto start = Clock::now();
    client.reset();
    EXPECT_LT(elapsed_since(start), 3000ms) << "destruction exceeded ~2 s";
    // Every callback has run by the time the destructor returned.
    ASSERT_EQ(done.size(), 5u);
    for (const auto id : ids) EXPECT_EQ(done.statuses(id), std::vector<Status>{Status::Canceled});

    // A client that was never started cancels its queue as well.
    Completions idle_done;
    auto idle = std::make_unique<Client>(opts());
    const auto idle_id = idle->publish(test_topic(), "never", 1, false, idle_done.callback());
    start = Clock::now();
    idle.reset();
    EXPECT_LT(elapsed_since(start), 3000ms);
    ASSERT_EQ(idle_done.size(), 1u);
    EXPECT_EQ(idle_done.statuses(idle_id), std::vector<Status>{Status::Canceled});
}

TEST_F(Callbacks, AllCallbacksRunOnTheDispatcherThread) {
    Events events;
    ClientOptions o = opts();
    o.on_connection = events.handler();
    auto client = connected(o);
    Inbox inbox;
    Completions done;
    client->subscribe(test_topic(), 1, inbox.handler());
    client->publish(test_topic(), "x", 1, false, done.callback());
    ASSERT_TRUE(inbox.wait_count(1));
    ASSERT_TRUE(done.wait_count(1));
    ASSERT_TRUE(events.wait_state_count(ConnectionState::Connected, 1));

    const auto dispatcher = inbox.items()[0].thread;
    EXPECT_NE(dispatcher, std::this_thread::get_id());
    EXPECT_EQ(done.items()[0].thread, dispatcher);
    for (const auto& e : events.items())
        EXPECT_EQ(e.thread, dispatcher)
            << "connection event " << twinlink::connection_state_name(e.event.state)
            << " ran on another thread than the message handlers";

    // Also after a reconnect, which involves the connection thread.
    broker_.restart();
    ASSERT_TRUE(events.wait_state_count(ConnectionState::Connected, 2));
    for (const auto& e : events.items()) EXPECT_EQ(e.thread, dispatcher);
}

}  // namespace
