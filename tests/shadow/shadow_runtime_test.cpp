// Shadows on a shared Runtime: their timer loops (send what is pending, resend unanswered updates)
// run on the runtime's threads, so fifty shadows add no thread to the process. Against a private
// mosquitto; the answered case with a ShadowService on its own client.
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "broker.hpp"
#include "process.hpp"
#include "test_util.hpp"
#include "twinlink/client.hpp"
#include "twinlink/database.hpp"
#include "twinlink/runtime.hpp"
#include "twinlink/shadow.hpp"
#include "twinlink/shadow_service.hpp"
#include "twinlink/shadow_topics.hpp"

namespace {

using twinlink::testing::detail::process_threads;
using namespace std::chrono_literals;
using namespace tltest;
using nlohmann::json;
using twinlink::Client;
using twinlink::ClientOptions;
using twinlink::MessageView;
using twinlink::OperationResult;
using twinlink::Runtime;
using twinlink::RuntimeOptions;
using twinlink::Shadow;
using twinlink::ShadowOperation;
using twinlink::ShadowOptions;
using twinlink::ShadowTopics;
using twinlink::Status;
using twinlink::TopicProfile;
using twinlink::testing::Broker;

constexpr int kShadows = 50;

Broker::Options plain() {
    Broker::Options o;
    o.tls = false;
    return o;
}

std::string device_name(int i) { return "rt" + std::to_string(::getpid()) + "-dev" + std::to_string(i); }

// `n` clients, on `runtime` when there is one, each with its own client id, connected.
std::vector<std::unique_ptr<Client>> connect_clients(const Broker& broker, const std::shared_ptr<Runtime>& runtime,
                                                     int n) {
    std::vector<ClientOptions> options;
    for (int i = 0; i < n; ++i) {
        options.push_back(options_for(broker.uri()));
        options.back().client_id = device_name(i);
        options.back().runtime = runtime;
    }
    return tltest::connect_clients(options);
}

ShadowOptions shadow_options(int i, std::chrono::milliseconds request_timeout) {
    ShadowOptions o;
    o.device = device_name(i);
    o.request_timeout = request_timeout;
    return o;
}

// Nobody answers: each shadow's update stays in flight and is sent again at every deadline, which
// the shadows' timer loops meet on the runtime's timer thread and dispatch threads.
TEST(ShadowRuntime, UnansweredUpdatesAreResentOnTheRuntimesThreadsWithNoThreadPerShadow) {
    Broker broker(plain());
    auto runtime = std::make_shared<Runtime>(RuntimeOptions{2});

    // A watcher, on threads of its own, counts the update requests of each device.
    Client watcher(options_for(broker.uri()));
    watcher.connect(kLong);
    std::vector<std::atomic<int>> sent(kShadows);
    for (int i = 0; i < kShadows; ++i) {
        const ShadowTopics topics(TopicProfile::Twinlink, device_name(i));
        watcher.subscribe(topics.request(ShadowOperation::Update), 1, [&sent, i](const MessageView&) { ++sent[i]; });
    }

    auto clients = connect_clients(broker, runtime, kShadows);
    const long before = process_threads();
    std::vector<std::unique_ptr<Shadow>> shadows;
    for (int i = 0; i < kShadows; ++i) {
        shadows.push_back(std::make_unique<Shadow>(*clients[i], shadow_options(i, 300ms)));
        shadows.back()->report_async({{"n", i}});
    }
    const long after = process_threads();
    ::testing::Test::RecordProperty("threads_added_by_shadows", static_cast<int>(after - before));
    // Nothing per shadow (a thread each would make 50). The slack is for Paho's threads, which
    // may come and go.
    EXPECT_LE(after - before, 2) << before << " threads before the shadows, " << after << " after";

    // The first send and at least two resends, 300 ms apart.
    const bool resent = wait_until([&] {
        for (const auto& n : sent)
            if (n.load() < 3) return false;
        return true;
    });
    for (int i = 0; i < kShadows; ++i) EXPECT_GE(sent[i].load(), 3) << "shadow " << i;
    EXPECT_TRUE(resent);

    expect_runtime_released(*runtime, shadows, clients);
}

// With a shadow service answering: two updates per shadow, the second queued behind the first and
// sent by the timer loop once the first is accepted; both operations complete.
TEST(ShadowRuntime, QueuedUpdatesAreSentAfterTheAnswerOnTheRuntimesThreads) {
    Broker broker(plain());
    const std::string dir = twinlink::testing::detail::make_temp_dir("tl-shadow-rt-");
    auto runtime = std::make_shared<Runtime>(RuntimeOptions{2});
    {
        twinlink::Database db(dir + "/shadow.db");
        twinlink::ShadowStore store(db);
        Client service_client(options_for(broker.uri()));
        service_client.connect(kLong);
        twinlink::ShadowService service(service_client, store);

        auto clients = connect_clients(broker, runtime, kShadows);
        const long before = process_threads();
        std::vector<std::unique_ptr<Shadow>> shadows;
        for (int i = 0; i < kShadows; ++i)
            shadows.push_back(std::make_unique<Shadow>(*clients[i], shadow_options(i, 3s)));
        EXPECT_LE(process_threads() - before, 2);

        std::atomic<int> ok{0}, failed{0};
        const auto done = [&](std::uint64_t, const OperationResult& r) { ++(r.status == Status::Ok ? ok : failed); };
        for (int i = 0; i < kShadows; ++i) {
            shadows[i]->report_start({{"first", i}}, kLong, done);
            shadows[i]->report_start({{"second", i}}, kLong, done);
        }
        EXPECT_TRUE(wait_until([&] { return ok.load() + failed.load() == 2 * kShadows; }));
        EXPECT_EQ(ok.load(), 2 * kShadows);
        for (int i = 0; i < kShadows; ++i) {
            EXPECT_TRUE(wait_until([&] {
                const auto s = shadows[i]->state();
                return s.reported.value("first", -1) == i && s.reported.value("second", -1) == i;
            })) << "shadow " << i;
        }
        shadows.clear();
        EXPECT_LE(runtime->stats().timers, clients.size());  // the connection loops' wakes at most
        clients.clear();
        EXPECT_EQ(runtime->stats().timers, 0u);
        service_client.disconnect(1s);
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
}

// The same shadows without a runtime keep their own timer threads, one each.
TEST(ShadowRuntime, WithoutARuntimeEachShadowHasItsOwnTimerThread) {
    Broker broker(plain());
    Client watcher(options_for(broker.uri()));
    watcher.connect(kLong);
    std::atomic<int> sent{0};
    watcher.subscribe(ShadowTopics(TopicProfile::Twinlink, device_name(0)).request(ShadowOperation::Update), 1,
                      [&sent](const MessageView&) { ++sent; });
    auto clients = connect_clients(broker, nullptr, 5);
    const long before = process_threads();
    std::vector<std::unique_ptr<Shadow>> shadows;
    for (int i = 0; i < 5; ++i) shadows.push_back(std::make_unique<Shadow>(*clients[i], shadow_options(i, 300ms)));
    EXPECT_GE(process_threads() - before, 5);
    shadows[0]->report_async({{"n", 0}});
    EXPECT_TRUE(wait_until([&] { return sent.load() >= 2; }));
    shadows.clear();
    EXPECT_LE(process_threads(), before + 2);
}

}  // namespace
