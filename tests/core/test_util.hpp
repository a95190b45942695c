// Helpers shared by the core tests: bounded waits, thread-safe recorders of messages, publish
// completions and connection events, and option presets.
#pragma once

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "twinlink/client.hpp"
#include "twinlink/runtime.hpp"
#include "twinlink/status.hpp"

namespace tltest {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// Generous deadline for anything that normally takes milliseconds.
inline constexpr milliseconds kLong{20000};

inline milliseconds elapsed_since(Clock::time_point start) {
    return std::chrono::duration_cast<milliseconds>(Clock::now() - start);
}

/// Polls `pred` every few milliseconds until it holds or `timeout` passes. Returns the last value
/// of `pred`. For state that has no notification (stats(), state()).
template <class Pred>
bool wait_until(Pred&& pred, milliseconds timeout = kLong) {
    const auto deadline = Clock::now() + timeout;
    while (!pred()) {
        if (Clock::now() >= deadline) return pred();
        std::this_thread::sleep_for(2ms);
    }
    return true;
}

/// A one-shot flag that one thread raises and another waits for, with a deadline.
class Latch {
public:
    void open() {
        // Notified under the lock: a waiter that sees open_ may destroy the Latch as soon as it
        // can take the mutex, so the notification must be over by then (ThreadSanitizer).
        std::lock_guard<std::mutex> lock(mutex_);
        open_ = true;
        cv_.notify_all();
    }
    bool wait(milliseconds timeout = kLong) {
        std::unique_lock<std::mutex> lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return open_; });
    }
    bool is_open() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return open_;
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    bool open_ = false;
};

/// A vector filled from other threads, with waits on its contents. Copies share the same storage,
/// so a recorder can be captured by value in a callback that outlives the test's local variable.
template <class T>
class Recorder {
public:
    Recorder() : state_(std::make_shared<State>()) {}

    void push(T value) const {
        {
            std::lock_guard<std::mutex> lock(state_->mutex);
            state_->items.push_back(std::move(value));
        }
        state_->cv.notify_all();
    }

    std::vector<T> items() const {
        std::lock_guard<std::mutex> lock(state_->mutex);
        return state_->items;
    }

    std::size_t size() const {
        std::lock_guard<std::mutex> lock(state_->mutex);
        return state_->items.size();
    }

    /// Waits until `pred(items)` holds; returns whether it did before the deadline.
    template <class Pred>
    bool wait_for(Pred pred, milliseconds timeout = kLong) const {
        std::unique_lock<std::mutex> lock(state_->mutex);
        return state_->cv.wait_for(lock, timeout, [&] { return pred(state_->items); });
    }

    bool wait_count(std::size_t n, milliseconds timeout = kLong) const {
        return wait_for([n](const std::vector<T>& v) { return v.size() >= n; }, timeout);
    }

private:
    struct State {
        std::mutex mutex;
        std::condition_variable cv;
        std::vector<T> items;
    };
    std::shared_ptr<State> state_;
};

/// A received message, copied out of the borrowed MessageView.
struct Received {
    std::string topic;
    std::string payload;
    int qos = -1;
    bool retained = false;
    std::thread::id thread;
};

/// Records every message its handler() receives.
class Inbox : public Recorder<Received> {
public:
    twinlink::MessageHandler handler() const {
        Inbox self = *this;
        return [self](const twinlink::MessageView& m) {
            self.push(Received{std::string(m.topic), std::string(m.payload), m.qos, m.retained,
                               std::this_thread::get_id()});
        };
    }

    std::vector<std::string> payloads() const {
        std::vector<std::string> out;
        for (const auto& m : items()) out.push_back(m.payload);
        return out;
    }

    bool wait_payload(const std::string& payload, milliseconds timeout = kLong) const {
        return wait_for(
            [&](const std::vector<Received>& v) {
                return std::any_of(v.begin(), v.end(),
                                   [&](const Received& m) { return m.payload == payload; });
            },
            timeout);
    }
};

/// One call of a PublishCallback.
struct Completion {
    std::uint64_t id = 0;
    twinlink::Status status = twinlink::Status::Internal;
    std::thread::id thread;
};

/// Records every call of its callback().
class Completions : public Recorder<Completion> {
public:
    twinlink::PublishCallback callback() const {
        Completions self = *this;
        return [self](std::uint64_t id, twinlink::Status status) {
            self.push(Completion{id, status, std::this_thread::get_id()});
        };
    }

    std::size_t count(twinlink::Status status) const {
        std::size_t n = 0;
        for (const auto& c : items()) n += c.status == status ? 1 : 0;
        return n;
    }

    /// Number of calls per message id.
    std::map<std::uint64_t, int> calls_per_id() const {
        std::map<std::uint64_t, int> out;
        for (const auto& c : items()) ++out[c.id];
        return out;
    }

    /// "ok: 20, connect_failed: 10": how many calls reported each status, for failure messages.
    std::string summary() const {
        std::map<std::string, int> by_name;
        for (const auto& c : items()) ++by_name[twinlink::status_name(c.status)];
        std::string out;
        for (const auto& [name, n] : by_name)
            out += (out.empty() ? "" : ", ") + name + ": " + std::to_string(n);
        return out.empty() ? "no calls" : out;
    }

    /// Statuses reported for one id, in call order.
    std::vector<twinlink::Status> statuses(std::uint64_t id) const {
        std::vector<twinlink::Status> out;
        for (const auto& c : items())
            if (c.id == id) out.push_back(c.status);
        return out;
    }
};

struct RecordedEvent {
    twinlink::ConnectionEvent event;
    std::thread::id thread;
    Clock::time_point at;
};

/// Records every connection event of its handler().
class Events : public Recorder<RecordedEvent> {
public:
    std::function<void(const twinlink::ConnectionEvent&)> handler() const {
        Events self = *this;
        return [self](const twinlink::ConnectionEvent& e) {
            self.push(RecordedEvent{e, std::this_thread::get_id(), Clock::now()});
        };
    }

    std::size_t count(twinlink::ConnectionState state) const {
        std::size_t n = 0;
        for (const auto& e : items()) n += e.event.state == state ? 1 : 0;
        return n;
    }

    bool wait_state_count(twinlink::ConnectionState state, std::size_t n,
                          milliseconds timeout = kLong) const {
        return wait_for(
            [&](const std::vector<RecordedEvent>& v) {
                return static_cast<std::size_t>(std::count_if(
                           v.begin(), v.end(),
                           [&](const RecordedEvent& e) { return e.event.state == state; })) >= n;
            },
            timeout);
    }
};

/// Options most tests start from: one broker, short backoff, generous deadlines.
inline twinlink::ClientOptions options_for(const std::string& uri) {
    twinlink::ClientOptions o;
    o.brokers = {uri};
    o.connect_timeout = 5000ms;
    o.reconnect_min = 100ms;
    o.reconnect_max = 1000ms;
    o.operation_timeout = 10000ms;
    o.ack_timeout = 20000ms;
    return o;
}

/// One client per entry of `options`, their connects started at once; returns once all are
/// connected (or fails the test after a bounded wait).
inline std::vector<std::unique_ptr<twinlink::Client>> connect_clients(
    const std::vector<twinlink::ClientOptions>& options) {
    std::vector<std::unique_ptr<twinlink::Client>> clients;
    for (const auto& o : options) clients.push_back(std::make_unique<twinlink::Client>(o));
    auto ok = std::make_shared<std::atomic<std::size_t>>(0);
    for (auto& c : clients)
        c->connect_async(kLong, [ok](std::uint64_t, const twinlink::OperationResult& r) {
            if (r.status == twinlink::Status::Ok) ++*ok;
        });
    EXPECT_TRUE(wait_until([&] { return ok->load() == clients.size(); }, std::chrono::seconds(60)))
        << ok->load() << " of " << clients.size() << " connected";
    return clients;
}

/// Destroys `modules` (the shadows or pipelines of `clients`), then `clients`, and checks what
/// each left on `runtime`: every module's pending deadline goes with it, so at most one timer per
/// client is left (its connection loop's next wake), and nothing once the clients are gone.
template <class Modules>
void expect_runtime_released(const twinlink::Runtime& runtime, Modules& modules,
                             std::vector<std::unique_ptr<twinlink::Client>>& clients) {
    modules.clear();
    EXPECT_LE(runtime.stats().timers, clients.size());
    clients.clear();
    EXPECT_EQ(runtime.stats().timers, 0u);
    EXPECT_EQ(runtime.stats().clients, 0u);
}

/// A topic prefix unique to the running test ("t/<Suite>/<Test>"), so retained messages and
/// subscriptions of one test never reach another.
inline std::string test_topic(const std::string& leaf = "") {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string base = std::string("t/") + info->test_suite_name() + "/" + info->name();
    for (auto& c : base)
        if (c == '#' || c == '+') c = '_';
    return leaf.empty() ? base : base + "/" + leaf;
}

/// Runs `fn`, expecting it to throw twinlink::Error; returns the error (status Ok and an
/// explanatory message when it did not throw or threw something else).
template <class Fn>
twinlink::Error capture_error(Fn&& fn) {
    try {
        fn();
    } catch (const twinlink::Error& e) {
        return e;
    } catch (const std::exception& e) {
        return twinlink::Error(twinlink::Status::Ok,
                               std::string("threw a non-twinlink exception: ") + e.what());
    } catch (...) {
        return twinlink::Error(twinlink::Status::Ok, "threw a non-std exception");
    }
    return twinlink::Error(twinlink::Status::Ok, "did not throw");
}

inline std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

inline bool contains_ci(const std::string& haystack, const std::string& needle) {
    return lower(haystack).find(lower(needle)) != std::string::npos;
}

/// Ensures that everything `publisher` sent before this call has reached the subscriber side:
/// publishes a marker on a topic `subscriber` listens to and waits for it. MQTT keeps the order
/// of one publisher's messages to one subscriber, so once the marker is in, earlier messages are
/// in too (or will never come).
class Barrier {
public:
    Barrier(twinlink::Client& subscriber, const std::string& topic, int qos)
        : topic_(topic), qos_(qos) {
        subscriber.subscribe(topic_, qos_, inbox_.handler());
    }

    /// Returns whether the marker arrived in time.
    bool pass(twinlink::Client& publisher) {
        const std::string marker = "barrier-" + std::to_string(++count_);
        publisher.publish(topic_, marker, qos_, false);
        return inbox_.wait_payload(marker);
    }

private:
    std::string topic_;
    int qos_;
    Inbox inbox_;
    int count_ = 0;
};

/// Resident set size of this process in KiB, from /proc/self/status (VmRSS).
inline long rss_kib() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) {
            std::istringstream fields(line.substr(6));
            long kib = -1;
            fields >> kib;
            return kib;
        }
    }
    return -1;
}

}  // namespace tltest
