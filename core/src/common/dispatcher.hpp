// Dispatcher: the one SDK-owned thread on which every user callback of a client runs.
//
// Tasks run one at a time in the order they were posted. The network threads only post; they never
// wait for a task, so a slow or blocking callback delays later callbacks but not the traffic.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace twinlink::detail {

class Dispatcher {
public:
    Dispatcher();
    /// stop(), see there.
    ~Dispatcher();

    Dispatcher(const Dispatcher&) = delete;
    Dispatcher& operator=(const Dispatcher&) = delete;

    /// Queues a task. After the thread has exited, runs it on the caller's thread instead, so a
    /// posted task always runs exactly once.
    void post(std::function<void()> task);

    /// Lets the queued tasks run, then ends the thread: joins it, or detaches it when called from
    /// a task (the thread finishes the queue after that task returns). Idempotent.
    void stop();

    bool on_dispatcher_thread() const noexcept;

    /// Returns once no task is running, unless called from a task (then at once).
    void barrier();

    std::size_t pending() const;

private:
    struct State {
        mutable std::mutex mu;
        std::condition_variable cv;
        std::deque<std::function<void()>> queue;
        bool stopping = false;
        bool exited = false;
        std::mutex running;  // held while a task runs
        std::thread::id thread_id;
    };
    static void run(const std::shared_ptr<State>& state);

    std::shared_ptr<State> state_;
    std::thread thread_;
};

}  // namespace twinlink::detail
