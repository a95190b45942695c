// TimerQueue: one thread that runs functions at their deadlines, for every client of a Runtime.
//
// The timer of a client without a runtime is a thread of its own (OperationTable); with a runtime,
// the deadlines of all its clients wait here, in one ordered set, so a thousand clients cost one
// thread. The functions must be short: they run one after another on the timer thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

namespace twinlink::detail {

class TimerQueue {
public:
    using Clock = std::chrono::steady_clock;
    using Id = std::uint64_t;

    TimerQueue();
    /// Drops what is pending (never runs it) and joins the thread (detaches it when called on it).
    ~TimerQueue();

    TimerQueue(const TimerQueue&) = delete;
    TimerQueue& operator=(const TimerQueue&) = delete;

    /// Runs `fn` on the timer thread at `when` (at once when it has passed). Returns its id (> 0).
    Id schedule(Clock::time_point when, std::function<void()> fn);

    /// Drops timer `id` if it has not started; a function already running is not waited for (the
    /// owner guards its own lifetime: see OperationTable). Unknown or finished ids are ignored.
    void cancel(Id id);

    std::size_t pending() const;

private:
    // Shared with the thread, which outlives the queue when it is destroyed from a timer function.
    struct State {
        mutable std::mutex mu;
        std::condition_variable cv;       // the timer thread: a new earliest deadline, or stop
        std::map<Id, std::pair<Clock::time_point, std::function<void()>>> timers;
        std::set<std::pair<Clock::time_point, Id>> order;
        Id next_id = 0;
        bool stopping = false;
        std::thread::id thread_id;
    };
    static void run(const std::shared_ptr<State>& state);

    std::shared_ptr<State> state_;
    std::thread thread_;
};

}  // namespace twinlink::detail
