// Dispatcher on a pool (a runtime's): stop() runs every task that was queued before it, also when
// a step of the queue that the pool had not yet run comes in while stop() finishes the queue on
// its own thread. A task left behind would never run and never be released: a client's tasks hold
// the client, so the client would outlive its close for good.
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "common/dispatch_pool.hpp"
#include "common/dispatcher.hpp"
#include "test_util.hpp"

namespace {

using namespace std::chrono_literals;
using twinlink::detail::DispatchPool;
using twinlink::detail::Dispatcher;
using tltest::Latch;

TEST(DispatcherOnPool, StopRunsEveryQueuedTaskWhenTheQueuesStepArrivesMeanwhile) {
    auto pool = std::make_shared<DispatchPool>(1, "tl-test");
    // The pool's only thread is held, so the queue's first step waits behind it.
    Latch release_pool, pool_caught_up;
    pool->schedule([&] { release_pool.wait(10s); });
    Dispatcher dispatcher(pool);
    std::atomic<bool> first_ran{false}, second_ran{false};
    bool pool_step_ran_during_first = false;
    dispatcher.post([&] {
        first_ran = true;
        // Now running on stop()'s thread: let the pool run the queue's step, which finds stop()
        // finishing the queue, and wait until it has (the pool runs steps in order).
        release_pool.open();
        pool_step_ran_during_first = pool_caught_up.wait(10s);
    });
    dispatcher.post([&] { second_ran = true; });
    pool->schedule([&] { pool_caught_up.open(); });

    dispatcher.stop();

    EXPECT_TRUE(first_ran);
    EXPECT_TRUE(pool_step_ran_during_first);
    EXPECT_TRUE(second_ran) << "stop() returned with a task left in the queue";
    EXPECT_EQ(dispatcher.pending(), 0u);
    // After stop(), a post runs on the caller's thread: it still runs exactly once.
    bool late_ran = false;
    dispatcher.post([&] { late_ran = true; });
    EXPECT_TRUE(late_ran);
}

TEST(DispatcherOnPool, StopFromATaskLetsTheRestOfTheQueueRun) {
    auto pool = std::make_shared<DispatchPool>(1, "tl-test");
    Dispatcher dispatcher(pool);
    Latch done;
    std::atomic<int> ran{0};
    dispatcher.post([&] {
        dispatcher.stop();  // returns at once: its own step finishes the queue
        ++ran;
    });
    dispatcher.post([&] { ++ran; });
    dispatcher.post([&] {
        ++ran;
        done.open();
    });
    ASSERT_TRUE(done.wait(10s));
    dispatcher.stop();
    EXPECT_EQ(ran.load(), 3);
    EXPECT_EQ(dispatcher.pending(), 0u);
}

TEST(DispatcherOnPool, StopWaitsForATaskRunningOnThePool) {
    auto pool = std::make_shared<DispatchPool>(1, "tl-test");
    Dispatcher dispatcher(pool);
    Latch started, release;
    std::atomic<bool> finished{false}, after_ran{false};
    dispatcher.post([&] {
        started.open();
        release.wait(10s);
        finished = true;
    });
    dispatcher.post([&] { after_ran = true; });
    ASSERT_TRUE(started.wait(10s));
    std::thread releaser([&] {
        std::this_thread::sleep_for(50ms);
        release.open();
    });
    dispatcher.stop();
    releaser.join();
    EXPECT_TRUE(finished);
    EXPECT_TRUE(after_ran);
    EXPECT_EQ(dispatcher.pending(), 0u);
}

}  // namespace
