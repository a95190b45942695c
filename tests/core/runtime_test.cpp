// The shared Runtime: many devices on a few threads. Connecting a thousand devices, the thread count
// against the number of devices, a blocked callback of one device beside another device's traffic
// and network work, every destruction order, and reconnects (run under ASan by `make
// test-sanitize` for leaks).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "broker.hpp"
#include "process.hpp"
#include "test_util.hpp"
#include "twinlink/client.hpp"
#include "twinlink/device.hpp"
#include "twinlink/runtime.hpp"

namespace {

using twinlink::testing::detail::process_threads;
using namespace tltest;
using twinlink::Client;
using twinlink::ClientOptions;
using twinlink::Device;
using twinlink::DeviceOptions;
using twinlink::MessageView;
using twinlink::OperationResult;
using twinlink::Runtime;
using twinlink::RuntimeOptions;
using twinlink::Status;
using twinlink::testing::Broker;

Broker::Options plain() {
    Broker::Options o;
    o.tls = false;
    return o;
}

std::shared_ptr<Runtime> make_runtime(unsigned threads) {
    RuntimeOptions o;
    o.dispatch_threads = threads;
    return std::make_shared<Runtime>(o);
}

std::string unique_prefix() {
    static std::atomic<int> n{0};
    return "rt" + std::to_string(::getpid()) + "-" + std::to_string(n++) + "-";
}

// `n` devices on `runtime`, all connects started at once; returns once all are connected (or fails
// the test after a bounded wait).
std::vector<std::unique_ptr<Device>> connect_fleet(const Broker& broker, const std::shared_ptr<Runtime>& runtime,
                                                   int n) {
    std::vector<std::unique_ptr<Device>> fleet;
    const std::string prefix = unique_prefix();
    for (int i = 0; i < n; ++i) {
        DeviceOptions o;
        o.client.brokers = {broker.uri()};
        o.client.runtime = runtime;
        fleet.push_back(std::make_unique<Device>(prefix + std::to_string(i), o));
    }
    auto ok = std::make_shared<std::atomic<int>>(0);
    for (auto& d : fleet)
        d->client().connect_async(kLong, [ok](std::uint64_t, const OperationResult& r) {
            if (r.status == Status::Ok) ++*ok;
        });
    EXPECT_TRUE(wait_until([&] { return ok->load() == n; }, milliseconds(60000)))
        << ok->load() << " of " << n << " connected";
    return fleet;
}

TEST(Runtime, RejectsAThreadCountOutOfRange) {
    EXPECT_THROW(make_runtime(0), twinlink::Error);
    EXPECT_THROW(make_runtime(257), twinlink::Error);
    EXPECT_EQ(make_runtime(3)->stats().dispatch_threads, 3u);
}

TEST(Runtime, AThousandDevicesConnectAndTheThreadCountDoesNotGrow) {
    Broker broker(plain());
    auto runtime = make_runtime(2);
    const long base = process_threads();  // the runtime's dispatch, network and timer threads included
    long added_100, added_1000;
    {
        auto fleet = connect_fleet(broker, runtime, 100);
        EXPECT_EQ(runtime->stats().clients, 100u);
        added_100 = process_threads() - base;
    }
    {
        auto fleet = connect_fleet(broker, runtime, 1000);
        EXPECT_EQ(runtime->stats().clients, 1000u);
        for (auto& d : fleet) ASSERT_TRUE(d->client().connected());
        added_1000 = process_threads() - base;
    }
    // No thread per device: the connection loops run on the runtime's network threads, the
    // callbacks on its dispatch threads. What is added is Paho's send and receive threads, which
    // may come and go.
    EXPECT_LE(added_100, 2);
    EXPECT_LE(added_1000, 2);
    EXPECT_EQ(runtime->stats().clients, 0u);
}

TEST(Runtime, CallbacksThatBlockEveryDispatchThreadDelayNoDevicesNetworkWork) {
    Broker broker(plain());
    auto runtime = make_runtime(1);
    auto fleet = connect_fleet(broker, runtime, 3);
    Device& slow = *fleet[0];
    Latch entered, release;
    std::atomic<bool> returned{false};
    slow.client().subscribe(slow.id() + "/in", 1, [&](const MessageView&) {
        entered.open();
        release.wait(kLong);  // holds the runtime's only dispatch thread
        returned = true;
    });
    slow.client().publish(slow.id() + "/in", "1", 1, false);
    ASSERT_TRUE(entered.wait());
    // The other devices' connection loops still hand off, collect acknowledgements, disconnect
    // and reconnect: none of it waits for a dispatch thread.
    for (int i = 0; i < 5; ++i) fleet[1]->client().publish_wait(fleet[1]->id() + "/out", "x", 1, false, kLong);
    fleet[2]->client().disconnect(std::chrono::seconds(2));
    EXPECT_FALSE(fleet[2]->client().connected());
    fleet[2]->client().connect(kLong);
    EXPECT_TRUE(fleet[2]->client().connected());
    EXPECT_FALSE(returned.load());
    release.open();
    EXPECT_TRUE(wait_until([&] { return returned.load(); }));
}

TEST(Runtime, ACallbackDisconnectsAndReconnectsItsOwnDevice) {
    Broker broker(plain());
    auto runtime = make_runtime(1);  // the callback holds the only dispatch thread meanwhile
    auto fleet = connect_fleet(broker, runtime, 1);
    Device& d = *fleet[0];
    Latch done;
    std::atomic<bool> was_disconnected{false}, reconnected{false};
    d.client().dispatch([&] {
        d.client().disconnect(std::chrono::seconds(2));
        was_disconnected = !d.client().connected();
        d.client().connect(kLong);
        reconnected = d.client().connected();
        done.open();
    });
    ASSERT_TRUE(done.wait());
    EXPECT_TRUE(was_disconnected.load());
    EXPECT_TRUE(reconnected.load());
}

TEST(Runtime, ABlockedCallbackOfOneDeviceDoesNotDelayAnotherDevicesCallbacks) {
    Broker broker(plain());
    auto runtime = make_runtime(2);
    auto fleet = connect_fleet(broker, runtime, 2);
    Device& slow = *fleet[0];
    Device& other = *fleet[1];

    Latch entered, release;
    std::atomic<int> slow_calls{0}, slow_returns{0};
    slow.client().subscribe(slow.id() + "/in", 1, [&](const MessageView&) {
        ++slow_calls;
        entered.open();
        release.wait(kLong);  // blocks this device's dispatch queue until the test ends it
        ++slow_returns;  // last: once both calls counted it, the test may end and free the latches
    });
    slow.client().publish_wait(slow.id() + "/in", "1", 1, false, kLong);
    slow.client().publish_wait(slow.id() + "/in", "2", 1, false, kLong);
    ASSERT_TRUE(entered.wait());

    // Meanwhile the other device round-trips messages through the broker, handled on the runtime's
    // other dispatch thread, and its asynchronous operations complete there too.
    for (int i = 0; i < 5; ++i) {
        Latch echoed;
        const std::string topic = other.id() + "/echo/" + std::to_string(i);
        other.client().subscribe(topic, 1, [&](const MessageView&) { echoed.open(); });
        other.client().publish(topic, "x", 1, false);
        EXPECT_TRUE(echoed.wait()) << "round trip " << i;
        Latch published;
        other.client().publish_async(topic + "/async", "y", 1, false, kLong,
                                     [&](std::uint64_t, const OperationResult& r) {
                                         EXPECT_EQ(r.status, Status::Ok);
                                         published.open();
                                     });
        EXPECT_TRUE(published.wait());
    }
    EXPECT_FALSE(release.is_open());
    EXPECT_EQ(slow_calls.load(), 1);  // the slow device's own second message waits, in order
    release.open();
    EXPECT_TRUE(wait_until([&] { return slow_returns.load() == 2; }));
    EXPECT_EQ(slow_calls.load(), 2);
}

TEST(Runtime, KeepsEachDevicesCallbacksInOrder) {
    Broker broker(plain());
    auto runtime = make_runtime(4);
    auto fleet = connect_fleet(broker, runtime, 4);
    struct Seen {
        std::mutex mu;
        std::vector<int> values;
        std::atomic<int> running{0};
        bool overlapped = false;
    };
    std::vector<std::unique_ptr<Seen>> seen;
    for (std::size_t d = 0; d < fleet.size(); ++d) seen.push_back(std::make_unique<Seen>());
    constexpr int kTasks = 500;
    for (int i = 0; i < kTasks; ++i)
        for (std::size_t d = 0; d < fleet.size(); ++d) {
            Seen* s = seen[d].get();
            fleet[d]->client().dispatch([s, i] {
                if (s->running.fetch_add(1) != 0) s->overlapped = true;
                {
                    std::lock_guard<std::mutex> lock(s->mu);
                    s->values.push_back(i);
                }
                s->running.fetch_sub(1);
            });
        }
    for (auto& s : seen)
        ASSERT_TRUE(wait_until([&] {
            std::lock_guard<std::mutex> lock(s->mu);
            return s->values.size() == std::size_t(kTasks);
        }));
    // wait_for_callbacks() waits for the task that is running, not for the queued ones: called
    // now, it waits for each device's last task, which still touches its Seen after storing.
    for (auto& d : fleet) d->client().wait_for_callbacks();
    for (auto& s : seen) {
        std::lock_guard<std::mutex> lock(s->mu);
        for (int i = 0; i < kTasks; ++i) ASSERT_EQ(s->values[std::size_t(i)], i);
        EXPECT_FALSE(s->overlapped);
    }
}

TEST(Runtime, DevicesFreedBeforeTheRuntime) {
    Broker broker(plain());
    auto runtime = make_runtime(2);
    auto fleet = connect_fleet(broker, runtime, 20);
    fleet.clear();
    EXPECT_EQ(runtime->stats().clients, 0u);
    runtime.reset();
}

TEST(Runtime, TheRuntimeDroppedBeforeItsDevices) {
    Broker broker(plain());
    auto runtime = make_runtime(2);
    std::weak_ptr<Runtime> weak = runtime;
    auto fleet = connect_fleet(broker, runtime, 20);
    runtime.reset();  // the devices hold it
    ASSERT_FALSE(weak.expired());
    for (auto& d : fleet) {
        Latch done;
        d->client().dispatch([&] { done.open(); });
        EXPECT_TRUE(done.wait());
    }
    fleet.clear();
    EXPECT_TRUE(weak.expired());
}

TEST(Runtime, ADeviceFreedFromItsOwnCallbackAndAnothersCallback) {
    Broker broker(plain());
    std::weak_ptr<Runtime> weak;
    {
        auto runtime = make_runtime(1);  // one thread: freeing another device must not wait for it
        weak = runtime;
        auto fleet = connect_fleet(broker, runtime, 3);
        runtime.reset();
        std::unique_ptr<Device> self = std::move(fleet[0]);
        std::unique_ptr<Device> other = std::move(fleet[1]);
        Latch freed_self, freed_other;
        other->client().dispatch([] {});  // queued work of the device freed from elsewhere
        Device* raw = self.get();
        raw->client().dispatch([&, owned = std::make_shared<std::unique_ptr<Device>>(std::move(self))] {
            owned->reset();
            freed_self.open();
        });
        EXPECT_TRUE(freed_self.wait());
        fleet[2]->client().dispatch([&] {
            other.reset();
            freed_other.open();
        });
        EXPECT_TRUE(freed_other.wait());
    }
    EXPECT_TRUE(wait_until([&] { return weak.expired(); }));
}

TEST(Runtime, ReconnectsAfterTheBrokerRestartsWithoutLeaking) {
    Broker broker(plain());
    auto runtime = make_runtime(2);
    auto fleet = connect_fleet(broker, runtime, 20);
    for (auto& d : fleet) {
        d->client().subscribe(d->id() + "/cmd", 1, [](const MessageView&) {});
        d->client().publish(d->id() + "/out", "before", 1, false);
    }
    for (int round = 0; round < 2; ++round) {
        broker.restart();
        ASSERT_TRUE(wait_until([&] {
            for (auto& d : fleet)
                if (!d->client().connected()) return false;
            return true;
        })) << "round " << round;
        for (auto& d : fleet) d->client().publish(d->id() + "/out", "after", 1, false);
    }
    for (auto& d : fleet) EXPECT_GE(d->client().stats().reconnects, 2u);
}

TEST(Runtime, ConnectAndDisconnectCyclesOnTheRuntime) {
    Broker broker(plain());
    auto runtime = make_runtime(2);
    for (int cycle = 0; cycle < 5; ++cycle) {
        auto fleet = connect_fleet(broker, runtime, 10);
        for (auto& d : fleet) d->disconnect(std::chrono::seconds(2));
    }
    EXPECT_EQ(runtime->stats().clients, 0u);
    EXPECT_EQ(runtime->stats().timers, 0u);
}

}  // namespace
