#include "common/dispatch_pool.hpp"

#include <pthread.h>

namespace twinlink::detail {

DispatchPool::DispatchPool(unsigned threads, const char* name) : shared_(std::make_shared<Shared>()) {
    for (unsigned i = 0; i < threads; ++i) {
        threads_.emplace_back(&DispatchPool::run, shared_);
        pthread_setname_np(threads_.back().native_handle(), name);
    }
}

DispatchPool::~DispatchPool() {
    {
        std::lock_guard<std::mutex> lock(shared_->mu);
        shared_->stopping = true;
        shared_->cv.notify_all();
    }
    for (auto& t : threads_) {
        if (t.get_id() == std::this_thread::get_id())
            t.detach();
        else
            t.join();
    }
}

void DispatchPool::run(const std::shared_ptr<Shared>& shared) {
    for (;;) {
        std::function<void()> step;
        {
            std::unique_lock<std::mutex> lock(shared->mu);
            shared->cv.wait(lock, [&] { return !shared->steps.empty() || shared->stopping; });
            if (shared->steps.empty()) return;
            step = std::move(shared->steps.front());
            shared->steps.pop_front();
        }
        try {
            step();
        } catch (...) {
            // Steps report their own errors; nothing may unwind out of a pool thread.
        }
    }
}

void DispatchPool::schedule(std::function<void()> step) {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->steps.push_back(std::move(step));
    shared_->cv.notify_one();
}

std::size_t DispatchPool::queued() const {
    std::lock_guard<std::mutex> lock(shared_->mu);
    return shared_->steps.size();
}

}  // namespace twinlink::detail
