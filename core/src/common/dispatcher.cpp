#include "common/dispatcher.hpp"

namespace twinlink::detail {

Dispatcher::Dispatcher() : state_(std::make_shared<State>()) {
    std::lock_guard<std::mutex> lock(state_->mu);
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

void Dispatcher::post(std::function<void()> task) {
    {
        std::lock_guard<std::mutex> lock(state_->mu);
        if (!state_->exited) {
            state_->queue.push_back(std::move(task));
            state_->cv.notify_one();
            return;
        }
    }
    try {
        task();
    } catch (...) {
    }
}

void Dispatcher::stop() {
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
