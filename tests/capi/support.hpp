// support.hpp — small helpers of the C API tests: owning wrappers of the C handles, bounded
// waits, and recorders that C callbacks write into.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "twinlink.h"

namespace tltest {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct OptionsDeleter {
    void operator()(tl_client_options* options) const { tl_client_options_free(options); }
};
struct ClientDeleter {
    void operator()(tl_client* client) const { tl_client_free(client); }
};
using Options = std::unique_ptr<tl_client_options, OptionsDeleter>;
using Client = std::unique_ptr<tl_client, ClientDeleter>;

/// Options for one broker with a quick reconnect (100..500 ms); records a test failure on error.
Options make_options(const std::string& uri);
/// A client from `options`, not started; records a test failure on error (and returns null).
Client make_client(const tl_client_options* options);
/// make_client(make_options(uri)) connected within 5 s, or null after recording a failure.
Client connect_client(const std::string& uri);

/// Polls `done` until it is true or `timeout` passes; returns its last value.
template <class Predicate>
bool eventually(Predicate done, milliseconds timeout = 5000ms) {
    const auto deadline = Clock::now() + timeout;
    while (!done()) {
        if (Clock::now() >= deadline) return done();
        std::this_thread::sleep_for(2ms);
    }
    return true;
}

inline long long elapsed_ms(Clock::time_point since) {
    return std::chrono::duration_cast<milliseconds>(Clock::now() - since).count();
}

/// Messages received by subscriptions whose user_data is this Inbox.
class Inbox {
public:
    struct Message {
        std::string topic;
        std::string payload;
        int qos;
        bool retained;
    };

    static void on_message(const tl_message* message, void* inbox);
    /// A tl_destroy_cb for subscriptions into this inbox: counts its calls in `destroys`.
    static void on_destroy(void* inbox) { static_cast<Inbox*>(inbox)->destroys++; }
    std::atomic<int> destroys{0};

    /// Waits until at least `count` messages arrived; false when `timeout` passes first.
    bool wait_for(std::size_t count, milliseconds timeout = 5000ms) const;
    std::vector<Message> messages() const;
    std::vector<std::string> payloads() const;
    std::size_t size() const;

private:
    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    std::vector<Message> messages_;
};

/// The connection states reported to a connection callback whose user_data is this log.
class ConnectionLog {
public:
    static void on_event(const tl_connection_event* event, void* log);

    /// Waits until `state` is reported at or after position `from`; returns its position or -1.
    int wait_for(tl_connection_state state, std::size_t from = 0, milliseconds timeout = 5000ms) const;
    std::vector<tl_connection_state> states() const;
    std::vector<tl_connection_event> events() const;  ///< message and broker are cleared

private:
    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    std::vector<tl_connection_event> events_;
};

/// Counts calls of a tl_destroy_cb whose user_data is this counter.
struct DestroyCounter {
    std::atomic<int> count{0};
    static void destroy(void* counter) { static_cast<DestroyCounter*>(counter)->count++; }
};

/// Success when `text` contains `part`; the failure message shows both.
inline ::testing::AssertionResult contains(const std::string& text, const std::string& part) {
    if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

using Strings = std::vector<std::string>;

/// Resident set size of this process in KiB, from /proc/self/status.
long rss_kib();

}  // namespace tltest
