#include "common/timer_queue.hpp"

#include <pthread.h>

namespace twinlink::detail {

TimerQueue::TimerQueue() : state_(std::make_shared<State>()) {
    std::lock_guard<std::mutex> lock(state_->mu);
    thread_ = std::thread(&TimerQueue::run, state_);
    state_->thread_id = thread_.get_id();
    pthread_setname_np(thread_.native_handle(), "tl-timer");
}

TimerQueue::~TimerQueue() {
    std::map<Id, std::pair<Clock::time_point, std::function<void()>>> dropped;
    {
        std::lock_guard<std::mutex> lock(state_->mu);
        state_->stopping = true;
        dropped.swap(state_->timers);
        state_->order.clear();
        state_->cv.notify_all();
    }
    dropped.clear();
    if (thread_.get_id() == std::this_thread::get_id())
        thread_.detach();
    else
        thread_.join();
}

TimerQueue::Id TimerQueue::schedule(Clock::time_point when, std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(state_->mu);
    const Id id = ++state_->next_id;
    const bool earliest = state_->order.empty() || when < state_->order.begin()->first;
    state_->timers.emplace(id, std::make_pair(when, std::move(fn)));
    state_->order.emplace(when, id);
    if (earliest) state_->cv.notify_one();
    return id;
}

void TimerQueue::cancel(Id id) {
    std::function<void()> dropped;  // destroyed after the lock: it may hold anything
    std::unique_lock<std::mutex> lock(state_->mu);
    const auto it = state_->timers.find(id);
    if (it != state_->timers.end()) {
        state_->order.erase({it->second.first, id});
        dropped = std::move(it->second.second);
        state_->timers.erase(it);
    }
    lock.unlock();
}

std::size_t TimerQueue::pending() const {
    std::lock_guard<std::mutex> lock(state_->mu);
    return state_->timers.size();
}

void TimerQueue::run(const std::shared_ptr<State>& state) {
    std::unique_lock<std::mutex> lock(state->mu);
    while (!state->stopping) {
        if (state->order.empty()) {
            state->cv.wait(lock);
            continue;
        }
        const auto [when, id] = *state->order.begin();
        if (Clock::now() < when) {
            state->cv.wait_until(lock, when);
            continue;
        }
        state->order.erase(state->order.begin());
        auto node = state->timers.extract(id);
        lock.unlock();
        try {
            node.mapped().second();
        } catch (...) {
            // Timer functions report their own errors.
        }
        node = {};
        lock.lock();
    }
}

}  // namespace twinlink::detail
