// TimedLoop: a module's background work (a shadow's timer), run one pass at a time when poked or
// when the deadline the last pass returned comes.
//
// Without a runtime the loop owns a thread. With one (a Runtime's pool and timer queue) it owns
// none: a pass runs as a task of a serial queue on the pool's threads, and a deadline waits on the
// runtime's timer thread, so a thousand shadows on one runtime add no thread. Passes never run in
// parallel; a poke during a pass makes one more pass after it (pokes are coalesced).
//
// A pass may block briefly (a publish, a file write): on a runtime it holds one of the pool's
// threads meanwhile, as a callback does.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "common/dispatcher.hpp"
#include "common/timer_queue.hpp"

namespace twinlink::detail {

class DispatchPool;

class TimedLoop {
public:
    using Clock = std::chrono::steady_clock;
    /// One pass: does what is due; returns when the next pass is due at the latest.
    using Pass = std::function<Clock::time_point()>;

    /// With `pool` and `timers` (a runtime's), on their threads; with either null, on a thread of
    /// its own. Nothing runs before start().
    TimedLoop(std::shared_ptr<DispatchPool> pool, std::shared_ptr<TimerQueue> timers, Pass pass);
    /// stop().
    ~TimedLoop();

    TimedLoop(const TimedLoop&) = delete;
    TimedLoop& operator=(const TimedLoop&) = delete;

    /// Runs the first pass at once.
    void start();
    /// A pass soon: at once when none runs, else right after the one running. Never blocks
    /// beyond a lock; may be called with the owner's locks held, and from a pass.
    void poke();
    /// No pass starts after it returns, and a pass in progress has finished, unless called from
    /// a pass (then that pass is the last). Idempotent.
    void stop();

private:
    struct State {
        std::mutex mu;
        std::condition_variable cv;  // own thread: a poke or stop
        Pass pass;
        bool started = false;
        bool poked = false;
        bool stopping = false;
        Clock::time_point due = Clock::time_point::max();
        // Runtime only: the serial queue on the pool, the runtime's timers, and the pending timer.
        std::shared_ptr<Dispatcher> queue;
        std::shared_ptr<TimerQueue> timers;
        TimerQueue::Id timer = 0;
        bool queued = false;  // a pass is with the queue or running
    };
    static void run_thread(const std::shared_ptr<State>& state);
    /// Runtime, under state.mu: a pass for the serial queue, unless one is there already.
    static void queue_locked(const std::shared_ptr<State>& state);
    /// Runtime: one pass, as a task of the serial queue; then the next one is queued or timed.
    static void run_pass(const std::shared_ptr<State>& state);

    std::shared_ptr<State> state_;
    std::thread thread_;  // own thread only
};

}  // namespace twinlink::detail
