#include "common/timed_loop.hpp"

#include "common/dispatch_pool.hpp"

namespace twinlink::detail {

TimedLoop::TimedLoop(std::shared_ptr<DispatchPool> pool, std::shared_ptr<TimerQueue> timers, Pass pass)
    : state_(std::make_shared<State>()) {
    state_->pass = std::move(pass);
    if (pool && timers) {
        state_->queue = std::make_shared<Dispatcher>(std::move(pool));
        state_->timers = std::move(timers);
    }
}

TimedLoop::~TimedLoop() { stop(); }

void TimedLoop::start() {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->started || state_->stopping) return;
    state_->started = true;
    state_->poked = true;
    if (state_->queue) {
        queue_locked(state_);
    } else {
        thread_ = std::thread(&TimedLoop::run_thread, state_);
    }
}

void TimedLoop::poke() {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->stopping) return;
    state_->poked = true;
    if (!state_->started) return;  // start() runs the first pass
    if (state_->queue)
        queue_locked(state_);
    else
        state_->cv.notify_all();
}

void TimedLoop::stop() {
    std::shared_ptr<Dispatcher> queue;
    {
        std::lock_guard<std::mutex> lock(state_->mu);
        if (!state_->stopping) {
            state_->stopping = true;
            state_->cv.notify_all();
            if (state_->timers && state_->timer) state_->timers->cancel(state_->timer);
            state_->timer = 0;
        }
        queue = state_->queue;
    }
    if (queue) {
        // Waits for a pass in progress (returns at once from one); later tasks see `stopping`.
        queue->stop();
    } else if (thread_.joinable()) {
        if (thread_.get_id() == std::this_thread::get_id())
            thread_.detach();  // stopped from a pass: the thread ends when it returns
        else
            thread_.join();
    }
}

void TimedLoop::run_thread(const std::shared_ptr<State>& state) {
    std::unique_lock<std::mutex> lock(state->mu);
    for (;;) {
        const auto woken = [&] { return state->poked || state->stopping; };
        if (state->due == Clock::time_point::max())
            state->cv.wait(lock, woken);
        else
            state->cv.wait_until(lock, state->due, woken);
        if (state->stopping) return;
        state->poked = false;
        lock.unlock();
        const Clock::time_point due = state->pass();
        lock.lock();
        state->due = due;
    }
}

void TimedLoop::queue_locked(const std::shared_ptr<State>& state) {
    if (state->queued) return;  // the pass there sees `poked` and queues the next one
    state->queued = true;
    state->queue->post([state] { run_pass(state); });
}

void TimedLoop::run_pass(const std::shared_ptr<State>& state) {
    {
        std::lock_guard<std::mutex> lock(state->mu);
        if (state->stopping) return;
        state->poked = false;
        if (state->timer) state->timers->cancel(state->timer);
        state->timer = 0;
    }
    const Clock::time_point due = state->pass();
    std::lock_guard<std::mutex> lock(state->mu);
    state->queued = false;
    if (state->stopping) return;
    if (state->poked) {
        queue_locked(state);
        return;
    }
    if (due == Clock::time_point::max()) return;
    // The timer thread only pokes: the pass itself runs on the queue.
    std::weak_ptr<State> weak = state;
    state->timer = state->timers->schedule(due, [weak] {
        const auto s = weak.lock();
        if (!s) return;
        std::lock_guard<std::mutex> guard(s->mu);
        if (s->stopping) return;
        s->poked = true;
        queue_locked(s);
    });
}

}  // namespace twinlink::detail
