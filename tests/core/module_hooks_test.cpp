// The members of Client meant for modules built on it: dispatch(), wait_for_callbacks(),
// connection listeners, Delivery::Direct handlers and log().
#include <atomic>
#include <future>
#include <memory>
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
using twinlink::Delivery;
using twinlink::LogLevel;
using twinlink::MessageView;
using twinlink::testing::Broker;

Broker::Options plain() {
    Broker::Options o;
    o.tls = false;
    return o;
}

class ModuleHooks : public ::testing::Test {
protected:
    std::unique_ptr<Client> connected(ClientOptions o) {
        auto c = std::make_unique<Client>(std::move(o));
        c->connect(kLong);
        return c;
    }
    std::unique_ptr<Client> connected() { return connected(options_for(broker_.uri())); }

    // The id of the thread that runs this client's message handlers.
    static std::thread::id handler_thread(Client& client) {
        Inbox inbox;
        const auto id = client.subscribe(test_topic("probe"), 1, inbox.handler());
        client.publish(test_topic("probe"), "probe", 1, false);
        EXPECT_TRUE(inbox.wait_count(1));
        client.unsubscribe(id);
        return inbox.size() ? inbox.items()[0].thread : std::thread::id();
    }

    Broker broker_{plain()};
};

TEST_F(ModuleHooks, DispatchRunsTasksInOrderOnTheDispatcherThread) {
    auto client = connected();
    const auto dispatcher = handler_thread(*client);
    Recorder<std::pair<int, std::thread::id>> ran;
    for (int i = 0; i < 100; ++i)
        client->dispatch([ran, i] { ran.push({i, std::this_thread::get_id()}); });
    ASSERT_TRUE(ran.wait_count(100));
    const auto items = ran.items();
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(items[i].first, i);
        EXPECT_EQ(items[i].second, dispatcher);
    }
}

TEST_F(ModuleHooks, DispatchFromACallbackDoesNotBlock) {
    auto client = connected();
    Latch inner;
    Client* c = client.get();
    client->dispatch([c, &inner] { c->dispatch([&inner] { inner.open(); }); });
    EXPECT_TRUE(inner.wait());
}

TEST_F(ModuleHooks, WaitForCallbacksWaitsForTheRunningCallback) {
    auto client = connected();
    Latch entered, release;
    std::atomic<bool> inside_returned_at_once{false};
    Client* c = client.get();
    client->dispatch([&, c] {
        c->wait_for_callbacks();  // from a callback: must return at once
        inside_returned_at_once = true;
        entered.open();
        release.wait();
    });
    ASSERT_TRUE(entered.wait()) << "wait_for_callbacks() inside a callback did not return";
    EXPECT_TRUE(inside_returned_at_once.load());

    std::atomic<bool> returned{false};
    auto waiter = std::async(std::launch::async, [&] {
        client->wait_for_callbacks();
        returned = true;
    });
    // Deliberately expected to time out: the callback is still running.
    EXPECT_FALSE(wait_until([&] { return returned.load(); }, 300ms))
        << "wait_for_callbacks() returned while a callback was running";
    release.open();
    ASSERT_EQ(waiter.wait_for(kLong), std::future_status::ready);
    EXPECT_TRUE(returned.load());
}

TEST_F(ModuleHooks, ConnectionListenersCanBeAddedAndRemoved) {
    Client client(options_for(broker_.uri()));
    Events first, second;
    const auto id1 = client.add_connection_listener(first.handler());
    const auto id2 = client.add_connection_listener(second.handler());
    EXPECT_NE(id1, id2);
    client.connect(kLong);
    ASSERT_TRUE(first.wait_state_count(ConnectionState::Connected, 1));
    ASSERT_TRUE(second.wait_state_count(ConnectionState::Connected, 1));

    client.remove_connection_listener(id1);
    const auto seen_by_first = first.size();
    broker_.restart();
    ASSERT_TRUE(second.wait_state_count(ConnectionState::Connected, 2));
    EXPECT_GE(second.count(ConnectionState::Reconnecting), 1u);
    EXPECT_EQ(first.size(), seen_by_first) << "a removed listener was called";
    EXPECT_NO_THROW(client.remove_connection_listener(987654)) << "unknown ids are ignored";
    EXPECT_NO_THROW(client.remove_connection_listener(id1)) << "removing twice is harmless";
}

TEST_F(ModuleHooks, DirectHandlersRunWhileTheDispatcherIsBusy) {
    auto client = connected();
    auto other = connected();
    Latch busy, release;
    client->dispatch([&] {
        busy.open();
        release.wait();
    });
    ASSERT_TRUE(busy.wait());

    Inbox direct, queued;
    client->subscribe(test_topic(), 1, direct.handler(), Delivery::Direct);
    client->subscribe(test_topic(), 1, queued.handler());
    other->publish(test_topic(), "x", 1, false);
    EXPECT_TRUE(direct.wait_count(1)) << "a Direct handler waited for the dispatcher";
    EXPECT_EQ(queued.size(), 0u) << "a dispatcher handler ran while the dispatcher was busy";
    release.open();
    ASSERT_TRUE(queued.wait_count(1));
    EXPECT_NE(direct.items()[0].thread, queued.items()[0].thread);
    EXPECT_EQ(direct.size(), 1u);
}

TEST_F(ModuleHooks, LogWritesToTheSinkRespectingTheLevel) {
    Recorder<std::pair<LogLevel, std::string>> lines;
    ClientOptions o = options_for(broker_.uri());
    o.log = [lines](LogLevel level, const std::string& text) { lines.push({level, text}); };
    o.log_level = LogLevel::Info;
    Client client(o);
    client.log(LogLevel::Debug, "too chatty for info");
    client.log(LogLevel::Warning, "module says hello");
    ASSERT_TRUE(lines.wait_for([](const std::vector<std::pair<LogLevel, std::string>>& v) {
        for (const auto& l : v)
            if (l.second.find("module says hello") != std::string::npos) return true;
        return false;
    }));
    for (const auto& l : lines.items()) {
        if (l.second.find("module says hello") != std::string::npos) {
            EXPECT_EQ(l.first, LogLevel::Warning);
        }
        EXPECT_EQ(l.second.find("too chatty"), std::string::npos) << "debug line passed an info filter";
    }
}

}  // namespace
