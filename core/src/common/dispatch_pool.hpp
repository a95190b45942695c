// DispatchPool: a fixed set of threads that run steps handed to them, in the order handed.
//
// A Runtime's callback threads. The pool knows nothing of clients: a Dispatcher in pool mode hands
// it one step at a time (run the next task of my queue), which keeps each client's callbacks
// serial and in order while different clients' callbacks run in parallel.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace twinlink::detail {

class DispatchPool {
public:
    /// `name`: the threads' name (at most 15 characters), as tools like top show it.
    explicit DispatchPool(unsigned threads, const char* name = "tl-dispatch");
    /// Lets the queued steps run, then ends the threads: joins them, or detaches the caller's own
    /// thread when called from a step (it ends once that step returns).
    ~DispatchPool();

    DispatchPool(const DispatchPool&) = delete;
    DispatchPool& operator=(const DispatchPool&) = delete;

    /// Queues a step. Never blocks for longer than a lock.
    void schedule(std::function<void()> step);

    unsigned threads() const noexcept { return static_cast<unsigned>(threads_.size()); }
    std::size_t queued() const;

private:
    struct Shared {
        mutable std::mutex mu;
        std::condition_variable cv;
        std::deque<std::function<void()>> steps;
        bool stopping = false;
    };
    static void run(const std::shared_ptr<Shared>& shared);

    std::shared_ptr<Shared> shared_;
    std::vector<std::thread> threads_;
};

}  // namespace twinlink::detail
