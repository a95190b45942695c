// No user code on Paho's threads: the log sink included.
//
// Paho holds its own lock while it calls the client (message arrival, acknowledgements, connection
// loss), so a sink that runs there and waits for a lock of the application (a binding's interpreter
// lock, say) deadlocks against an application thread that holds that lock and publishes. Paho names
// its threads "MQTTAsync_send" and "MQTTAsync_rcv", which is how these tests recognise them.
#include <pthread.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "broker.hpp"
#include "test_util.hpp"
#include "twinlink/client.hpp"
#include "twinlink/shadow.hpp"

namespace {

using namespace tltest;
using twinlink::Client;
using twinlink::ClientOptions;
using twinlink::Delivery;
using twinlink::LogLevel;
using twinlink::MessageView;
using twinlink::testing::Broker;

Broker::Options plain() {
    Broker::Options o;
    o.tls = false;
    return o;
}

std::string current_thread_name() {
    char name[32] = {};
    pthread_getname_np(pthread_self(), name, sizeof name);
    return name;
}

bool is_paho_thread_name(const std::string& name) { return name.rfind("MQTTAsync", 0) == 0; }

struct LogLine {
    LogLevel level;
    std::string message;
    std::string thread_name;
    std::thread::id thread;
};

class LogRecorder : public Recorder<LogLine> {
public:
    twinlink::LogHandler sink() const {
        LogRecorder self = *this;
        return [self](LogLevel level, const std::string& message) {
            self.push(LogLine{level, message, current_thread_name(), std::this_thread::get_id()});
        };
    }

    bool wait_line(const std::string& part, milliseconds timeout = kLong) const {
        return wait_for(
            [&](const std::vector<LogLine>& v) {
                for (const auto& l : v)
                    if (l.message.find(part) != std::string::npos) return true;
                return false;
            },
            timeout);
    }

    std::string dump() const {
        std::string out;
        for (const auto& l : items()) out += "  [" + l.thread_name + "] " + l.message + "\n";
        return out;
    }
};

/// Thread ids seen inside Delivery::Direct callbacks, which Paho's threads run.
class ThreadSet {
public:
    void add() {
        std::lock_guard<std::mutex> lock(mu_);
        ids_.insert(std::this_thread::get_id());
        names_.insert(current_thread_name());
    }
    std::set<std::thread::id> ids() const {
        std::lock_guard<std::mutex> lock(mu_);
        return ids_;
    }
    std::set<std::string> names() const {
        std::lock_guard<std::mutex> lock(mu_);
        return names_;
    }

private:
    mutable std::mutex mu_;
    std::set<std::thread::id> ids_;
    std::set<std::string> names_;
};

class PahoThreads : public ::testing::Test {
protected:
    Broker broker_{plain()};
};

TEST_F(PahoThreads, TheLogSinkNeverRunsOnAPahoThread) {
    LogRecorder lines;
    auto paho_threads = std::make_shared<ThreadSet>();
    ClientOptions o = options_for(broker_.uri());
    o.client_id = "threads-device";
    o.log = lines.sink();
    o.log_level = LogLevel::Debug;
    Client client(o);
    client.connect(kLong);

    // A module's Direct handler that throws: the client logs it on the thread that delivered.
    client.subscribe(test_topic("direct"), 1, [paho_threads](const MessageView&) {
        paho_threads->add();
        throw std::runtime_error("direct handler failure");
    }, Delivery::Direct);
    // A Direct publish completion that throws: logged on the thread that got the PUBACK.
    client.publish(test_topic("acked"), "x", 1, false, [paho_threads](std::uint64_t, twinlink::Status) {
        paho_threads->add();
        throw std::runtime_error("direct completion failure");
    }, Delivery::Direct);
    // A shadow gets a response that is not JSON: its Direct handler logs a warning.
    twinlink::ShadowOptions so;
    so.device = "threads-device";
    twinlink::Shadow shadow(client, so);

    Client other(options_for(broker_.uri()));
    other.connect(kLong);
    other.publish(test_topic("direct"), "boom", 1, false);
    other.publish(shadow.topics().accepted(twinlink::ShadowOperation::Get), "not json", 1, false);

    EXPECT_TRUE(lines.wait_line("direct handler failure")) << lines.dump();
    EXPECT_TRUE(lines.wait_line("direct completion failure")) << lines.dump();
    EXPECT_TRUE(lines.wait_line("not a JSON object")) << lines.dump();

    // A lost connection and a reconnect.
    broker_.restart();
    EXPECT_TRUE(lines.wait_line("lost the connection")) << lines.dump();
    ASSERT_TRUE(wait_until([&] { return client.connected(); }));

    ASSERT_FALSE(paho_threads->ids().empty());
    for (const auto& name : paho_threads->names())
        EXPECT_TRUE(is_paho_thread_name(name)) << "Direct callbacks ran on '" << name << "', not a Paho thread";
    const auto paho_ids = paho_threads->ids();
    for (const auto& l : lines.items()) {
        EXPECT_FALSE(is_paho_thread_name(l.thread_name)) << "logged on Paho's thread '" << l.thread_name
                                                         << "': " << l.message;
        EXPECT_EQ(paho_ids.count(l.thread), 0u) << "logged on a thread that runs Paho callbacks: " << l.message;
    }
}

// The lock inversion of a binding: the sink needs a lock (the interpreter's) that an application
// thread holds while it publishes. Before the fix the sink ran on Paho's thread, which holds Paho's
// lock while it waits for the application's; the publisher holds the application's lock and waits
// for Paho's.
TEST_F(PahoThreads, ASinkThatTakesTheApplicationLockDoesNotDeadlockPublish) {
    auto app_lock = std::make_shared<std::mutex>();
    std::atomic<int> lines{0};
    // Room for every message: the point is the locks, not the queue.
    const auto roomy = [&] {
        ClientOptions o = options_for(broker_.uri());
        o.queue_max_messages = 100000;
        o.queue_max_bytes = 64u * 1024u * 1024u;
        return o;
    };
    ClientOptions o = roomy();
    o.log = [app_lock, &lines](LogLevel, const std::string&) {
        std::lock_guard<std::mutex> lock(*app_lock);
        ++lines;
    };
    Client client(o);
    client.connect(kLong);
    client.subscribe(test_topic("noisy"), 0, [](const MessageView&) { throw std::runtime_error("noisy"); },
                     Delivery::Direct);
    Client other(roomy());
    other.connect(kLong);

    std::atomic<bool> done{false};
    std::thread publisher([&] {
        // Bounded: 5000 publishes, each with the application lock held. Each completion (a
        // module's Direct one, run where the PUBACK is handled) throws, which the client logs.
        for (int i = 0; i < 5000; ++i) {
            std::lock_guard<std::mutex> lock(*app_lock);
            client.publish(test_topic("out"), "x", 1, false, [](std::uint64_t, twinlink::Status) {
                throw std::runtime_error("completion failure");
            }, Delivery::Direct);
        }
        done = true;
    });
    std::thread noise([&] {
        for (int i = 0; i < 20000 && !done; ++i) other.publish(test_topic("noisy"), "n", 0, false);
    });
    const bool finished = wait_until([&] { return done.load(); }, 60000ms);
    if (!finished) {
        // The threads are stuck for good; nothing can be cleaned up.
        std::fprintf(stderr, "deadlock: the publisher did not finish (sink lines so far: %d)\n", lines.load());
        std::fflush(stderr);
        std::_Exit(1);
    }
    publisher.join();
    noise.join();
    EXPECT_TRUE(wait_until([&] { return lines.load() > 0; })) << "no line was logged at all";
}

}  // namespace
