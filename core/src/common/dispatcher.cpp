#include "common/dispatcher.hpp"

#include "common/dispatch_pool.hpp"

namespace twinlink::detail {

Dispatcher::Dispatcher() : Dispatcher(nullptr) {}

Dispatcher::Dispatcher(std::shared_ptr<DispatchPool> pool) : state_(std::make_shared<State>()) {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->pool = std::move(pool);
    if (state_->pool) return;
    thread_ = std::thread(&Dispatcher::run, state_);
    state_->thread_id = thread_.get_id();
}

Dispatcher::~Dispatcher() { stop(); }

void Dispatcher::run(const std::shared_ptr<State>& state) {
    for (;;) {
        std::function<void()> task;
        {
            std::unique_lock<std::mutex> lock(state->mu);
            state->cv.wait(lock, [&] { return !state->queue.empty() || state->stopping; });
            if (state->queue.empty()) {
                state->exited = true;
                return;
            }
            task = std::move(state->queue.front());
            state->queue.pop_front();
        }
        std::lock_guard<std::mutex> running(state->running);
        try {
            task();
        } catch (...) {
            // Tasks report their own errors; nothing may unwind out of the dispatcher.
        }
    }
}

namespace {

/// Runs `task` as the dispatcher runs a task: under `running`, swallowing what it throws (tasks
/// report their own errors; nothing may unwind out of the dispatcher), and releasing what it
/// captured while it still counts as running.
void run_task(std::mutex& running, std::function<void()>& task) {
    std::lock_guard<std::mutex> guard(running);
    try {
        task();
    } catch (...) {
    }
    task = nullptr;
}

}  // namespace

void Dispatcher::idle_locked(State& state) {
    state.scheduled = false;
    // Stopped once nothing is left and nobody runs the queue. While stop() finishes the queue on
    // its own thread (thread_id set), a step that comes in meanwhile only steps aside: stop()
    // marks the end itself, after the last task; marking it here would end stop()'s loop with
    // tasks left in the queue, never run and never released.
    if (state.stopping && state.queue.empty() && state.thread_id == std::thread::id()) state.exited = true;
    state.cv.notify_all();
}

void Dispatcher::step(const std::shared_ptr<State>& state) {
    std::function<void()> task;
    {
        std::lock_guard<std::mutex> lock(state->mu);
        // Empty, or stop() is finishing the queue on its own thread.
        if (state->queue.empty() || state->thread_id != std::thread::id()) {
            idle_locked(*state);
            return;
        }
        task = std::move(state->queue.front());
        state->queue.pop_front();
        state->thread_id = std::this_thread::get_id();
    }
    run_task(state->running, task);
    bool again;
    {
        std::lock_guard<std::mutex> lock(state->mu);
        state->thread_id = std::thread::id();
        again = !state->queue.empty();
        if (!again) idle_locked(*state);
    }
    // To the back of the pool's queue: another client's waiting task goes first.
    if (again) state->pool->schedule([state] { step(state); });
}

void Dispatcher::post(std::function<void()> task) {
    bool schedule = false;
    {
        std::lock_guard<std::mutex> lock(state_->mu);
        if (!state_->exited) {
            state_->queue.push_back(std::move(task));
            if (!state_->pool) {
                state_->cv.notify_one();
                return;
            }
            // While stopping, stop() finishes the queue itself.
            if (!state_->scheduled && !state_->stopping) state_->scheduled = schedule = true;
            if (!schedule) return;
        }
    }
    if (schedule) {
        auto state = state_;
        state_->pool->schedule([state] { step(state); });
        return;
    }
    try {
        task();
    } catch (...) {
    }
}

void Dispatcher::stop() {
    if (state_->pool) {
        // The queue is finished here rather than waited for: the caller may be the pool's only
        // free thread (a callback of one client destroying another).
        std::unique_lock<std::mutex> lock(state_->mu);
        state_->stopping = true;
        if (state_->thread_id == std::this_thread::get_id()) return;  // from a task: its step finishes
        while (!state_->exited) {
            if (state_->thread_id != std::thread::id()) {
                state_->cv.wait(lock);  // a task runs on another thread
                continue;
            }
            if (state_->queue.empty()) {
                state_->exited = true;
                state_->cv.notify_all();
                break;
            }
            auto task = std::move(state_->queue.front());
            state_->queue.pop_front();
            state_->thread_id = std::this_thread::get_id();
            lock.unlock();
            run_task(state_->running, task);
            lock.lock();
            state_->thread_id = std::thread::id();
            state_->cv.notify_all();
        }
        return;
    }
    {
        std::lock_guard<std::mutex> lock(state_->mu);
        state_->stopping = true;
        state_->cv.notify_one();
    }
    if (!thread_.joinable()) return;
    if (on_dispatcher_thread())
        thread_.detach();
    else
        thread_.join();
}

bool Dispatcher::on_dispatcher_thread() const noexcept {
    std::lock_guard<std::mutex> lock(state_->mu);
    return std::this_thread::get_id() == state_->thread_id;
}

void Dispatcher::barrier() {
    if (on_dispatcher_thread()) return;
    std::lock_guard<std::mutex> running(state_->running);
}

std::size_t Dispatcher::pending() const {
    std::lock_guard<std::mutex> lock(state_->mu);
    return state_->queue.size();
}

}  // namespace twinlink::detail
