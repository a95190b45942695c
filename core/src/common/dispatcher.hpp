// Dispatcher: the serial queue on which every user callback of a client runs.
//
// Tasks run one at a time in the order they were posted. The network threads only post; they never
// wait for a task, so a slow or blocking callback delays later callbacks but not the traffic.
//
// Without a pool the dispatcher owns one thread. With a DispatchPool (a Runtime's) it owns none:
// each post that finds the queue idle hands the pool one step, which runs the next task and hands
// the pool another step while tasks remain. So a client's tasks never run in parallel nor out of
// order, and the tasks of different clients share the pool's threads fairly.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace twinlink::detail {

class DispatchPool;

class Dispatcher {
public:
    /// With its own thread.
    Dispatcher();
    /// On `pool`'s threads; without a pool (nullptr), with its own thread.
    explicit Dispatcher(std::shared_ptr<DispatchPool> pool);
    /// stop(), see there.
    ~Dispatcher();

    Dispatcher(const Dispatcher&) = delete;
    Dispatcher& operator=(const Dispatcher&) = delete;

    /// Queues a task. After the dispatcher has stopped, runs it on the caller's thread instead,
    /// so a posted task always runs exactly once.
    void post(std::function<void()> task);

    /// Lets the queued tasks run, then stops: waits for them, or, when called from a task, returns
    /// at once (the queue is finished after that task returns). Idempotent.
    void stop();

    /// Whether the caller is running one of this dispatcher's tasks.
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
        std::thread::id thread_id;  // own thread: the thread; pool: the thread running a task
        std::shared_ptr<DispatchPool> pool;
        bool scheduled = false;  // pool: a step of this queue is with the pool or running
    };
    static void run(const std::shared_ptr<State>& state);
    /// Pool mode: runs the next task, then hands the pool the next step or goes idle.
    static void step(const std::shared_ptr<State>& state);
    /// Pool mode, under state.mu: nothing of this queue is with the pool any more.
    static void idle_locked(State& state);

    std::shared_ptr<State> state_;
    std::thread thread_;
};

}  // namespace twinlink::detail
