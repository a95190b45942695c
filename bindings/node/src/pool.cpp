#include "pool.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>

namespace twinlink_node {
namespace {

constexpr unsigned kDefaultMaxThreads = 64;
constexpr auto kIdleExit = std::chrono::seconds(10);

unsigned MaxThreadsFromEnvironment() {
    const char* text = std::getenv("TWINLINK_NODE_THREADS");
    if (text == nullptr || *text == '\0') return kDefaultMaxThreads;
    char* end = nullptr;
    const unsigned long value = std::strtoul(text, &end, 10);
    if (*end != '\0' || value == 0 || value > 1024) return kDefaultMaxThreads;
    return static_cast<unsigned>(value);
}

class Pool {
public:
    void Submit(std::function<void()> job) {
        std::lock_guard<std::mutex> lock(mutex_);
        jobs_.push_back(std::move(job));
        wake_.notify_one();
        // Idle threads that were woken but have not taken their job yet still count as idle, so
        // compare with the queue's length rather than with zero.
        if (jobs_.size() > idle_ && threads_ < max_threads_) {
            ++threads_;
            // Detached: the pool lives as long as the process, and a thread blocked in a C call
            // at exit must not hold the exit up.
            std::thread([this] { Loop(); }).detach();
        }
    }

private:
    void Loop() {
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            ++idle_;
            const bool woken = wake_.wait_for(lock, kIdleExit, [&] { return !jobs_.empty(); });
            --idle_;
            if (!woken) {
                --threads_;
                return;
            }
            auto job = std::move(jobs_.front());
            jobs_.pop_front();
            lock.unlock();
            job();
            job = nullptr;  // what the job captured is released outside the lock
            lock.lock();
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> jobs_;
    unsigned threads_ = 0;
    unsigned idle_ = 0;
    const unsigned max_threads_ = MaxThreadsFromEnvironment();
};

// Leaked on purpose: detached threads may still use it while static destructors run at exit.
Pool& ThePool() {
    static auto* pool = new Pool();
    return *pool;
}

}  // namespace

void RunBlocking(std::function<void()> job) { ThePool().Submit(std::move(job)); }

}  // namespace twinlink_node
