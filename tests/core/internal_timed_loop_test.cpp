// TimedLoop on a thread of its own and on a runtime's pool and timer queue: passes run at start,
// when poked and when the returned deadline comes, one at a time; a poke during a pass gives one
// more pass; nothing runs after stop(), from outside or from a pass; on a runtime, the loop adds
// no thread and leaves no timer behind.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "common/dispatch_pool.hpp"
#include "common/timed_loop.hpp"
#include "common/timer_queue.hpp"
#include "process.hpp"
#include "test_util.hpp"

namespace {

using twinlink::testing::detail::process_threads;
using namespace std::chrono_literals;
using twinlink::detail::DispatchPool;
using twinlink::detail::TimedLoop;
using twinlink::detail::TimerQueue;
using Clock = std::chrono::steady_clock;

class TimedLoopTest : public ::testing::TestWithParam<bool> {
protected:
    // The loop under test: on the pool and timers when the parameter is true.
    std::unique_ptr<TimedLoop> make(TimedLoop::Pass pass) {
        return GetParam() ? std::make_unique<TimedLoop>(pool_, timers_, std::move(pass))
                          : std::make_unique<TimedLoop>(nullptr, nullptr, std::move(pass));
    }

    std::shared_ptr<DispatchPool> pool_ = std::make_shared<DispatchPool>(2);
    std::shared_ptr<TimerQueue> timers_ = std::make_shared<TimerQueue>();
};

TEST_P(TimedLoopTest, RunsAtStartWhenPokedAndAtItsDeadline) {
    std::atomic<int> passes{0};
    std::atomic<bool> periodic{false};
    auto loop = make([&] {
        ++passes;
        return periodic ? Clock::now() + 20ms : Clock::time_point::max();
    });
    loop->poke();  // before start: nothing runs yet
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(passes.load(), 0);
    loop->start();
    ASSERT_TRUE(tltest::wait_until([&] { return passes.load() == 1; }, 5000ms));
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(passes.load(), 1) << "no deadline, no poke: no pass";
    periodic = true;
    loop->poke();
    // By deadlines alone, every 20 ms.
    EXPECT_TRUE(tltest::wait_until([&] { return passes.load() >= 10; }, 5000ms)) << passes.load();
    loop->stop();
    const int at_stop = passes.load();
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(passes.load(), at_stop) << "a pass after stop()";
    if (GetParam()) {
        EXPECT_EQ(timers_->pending(), 0u) << "stop() left a timer behind";
    }
}

TEST_P(TimedLoopTest, PassesNeverOverlapAndAPokeDuringAPassGivesOneMore) {
    std::atomic<int> running{0}, overlaps{0}, passes{0};
    std::atomic<bool> release{false};
    auto loop = make([&] {
        if (running.fetch_add(1) != 0) ++overlaps;
        // The first pass holds on until the test has poked.
        for (int i = 0; i < 1000 && passes.load() == 0 && !release.load(); ++i) std::this_thread::sleep_for(5ms);
        ++passes;
        running.fetch_sub(1);
        return Clock::time_point::max();
    });
    loop->start();
    ASSERT_TRUE(tltest::wait_until([&] { return running.load() == 1; }, 5000ms));
    // Ten pokes from two threads while the first pass runs: coalesced into one more pass.
    std::thread other([&] {
        for (int i = 0; i < 5; ++i) loop->poke();
    });
    for (int i = 0; i < 5; ++i) loop->poke();
    other.join();
    release = true;
    ASSERT_TRUE(tltest::wait_until([&] { return passes.load() == 2; }, 5000ms));
    std::this_thread::sleep_for(150ms);
    EXPECT_EQ(passes.load(), 2);
    EXPECT_EQ(overlaps.load(), 0);
}

TEST_P(TimedLoopTest, StopWaitsForAPassInProgress) {
    std::atomic<bool> in_pass{false}, finished{false};
    auto loop = make([&] {
        in_pass = true;
        std::this_thread::sleep_for(200ms);
        finished = true;
        return Clock::time_point::max();
    });
    loop->start();
    ASSERT_TRUE(tltest::wait_until([&] { return in_pass.load(); }, 5000ms));
    loop->stop();
    EXPECT_TRUE(finished.load()) << "stop() returned while a pass ran";
}

TEST_P(TimedLoopTest, StopFromAPassEndsTheLoop) {
    std::atomic<int> passes{0};
    TimedLoop* self = nullptr;  // set before start(), which orders it before the first pass
    auto loop = make([&] {
        ++passes;
        self->stop();  // returns at once; this pass is the last
        self->poke();
        return Clock::now();
    });
    self = loop.get();
    loop->start();
    ASSERT_TRUE(tltest::wait_until([&] { return passes.load() == 1; }, 5000ms));
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(passes.load(), 1);
    loop.reset();
}

std::string mode_name(const ::testing::TestParamInfo<bool>& mode) {
    return mode.param ? "OnARuntime" : "OnItsOwnThread";
}

INSTANTIATE_TEST_SUITE_P(Modes, TimedLoopTest, ::testing::Bool(), mode_name);

// On a runtime, a hundred loops with deadlines add no thread; on their own, a thread each.
TEST(TimedLoop, OnARuntimeAHundredLoopsAddNoThread) {
    auto pool = std::make_shared<DispatchPool>(2);
    auto timers = std::make_shared<TimerQueue>();
    std::atomic<int> passes{0};
    const auto pass = [&] {
        ++passes;
        return Clock::now() + 10ms;
    };
    const long before = process_threads();
    std::vector<std::unique_ptr<TimedLoop>> shared;
    for (int i = 0; i < 100; ++i) {
        shared.push_back(std::make_unique<TimedLoop>(pool, timers, pass));
        shared.back()->start();
    }
    EXPECT_EQ(process_threads(), before);
    EXPECT_TRUE(tltest::wait_until([&] { return passes.load() >= 1000; }, 10000ms)) << passes.load();
    shared.clear();
    EXPECT_EQ(timers->pending(), 0u);

    std::vector<std::unique_ptr<TimedLoop>> own;
    for (int i = 0; i < 10; ++i) {
        own.push_back(std::make_unique<TimedLoop>(nullptr, nullptr, pass));
        own.back()->start();
    }
    EXPECT_EQ(process_threads(), before + 10);
}

}  // namespace
