// CompletionLatch: a one-shot status that one thread sets and another waits for.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>

#include "twinlink/status.hpp"

namespace twinlink::detail {

class CompletionLatch {
public:
    void set(Status status) {
        std::lock_guard<std::mutex> lock(mu_);
        if (!status_) status_ = status;
        cv_.notify_all();
    }
    /// The status, or nothing when `timeout` passed first.
    std::optional<Status> wait_for(std::chrono::milliseconds timeout) {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, timeout, [&] { return status_.has_value(); });
        return status_;
    }

private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::optional<Status> status_;
};

}  // namespace twinlink::detail
