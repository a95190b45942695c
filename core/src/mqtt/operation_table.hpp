// OperationTable: the asynchronous operations of one client (connect, disconnect, publish,
// subscribe, unsubscribe, shadow requests, datapoint flush) that complete through a callback
// instead of a waiting thread.
//
// Why a table in the client. Every such operation ends in one of four ways: the event that finishes
// it (a CONNACK, a shadow response, an acknowledged batch), its deadline, a cancel, or the client
// going away. Whichever comes first wins and the others find nothing left to do, so the winner is
// decided here, under one lock, by removing the entry. The completion itself always runs on the
// client's dispatcher thread (posted, never called in place), so it may be triggered from Paho's
// network thread, where nothing else may run.
//
// Deadlines cost one thread per client, started with the first operation, not one per operation;
// with a Runtime, none: each deadline is a timer of the runtime's TimerQueue, shared by its clients.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/timer_queue.hpp"
#include "twinlink/client.hpp"

namespace twinlink::detail {

class OperationTable {
public:
    using Clock = std::chrono::steady_clock;
    /// Hands a completion to the dispatcher thread.
    using Post = std::function<void(std::function<void()>)>;

    /// With `timers` (a Runtime's), deadlines wait there instead of on a thread of the table.
    explicit OperationTable(Post post, std::shared_ptr<TimerQueue> timers = nullptr)
        : post_(std::move(post)), timers_(std::move(timers)) {}
    ~OperationTable() { close(); }

    OperationTable(const OperationTable&) = delete;
    OperationTable& operator=(const OperationTable&) = delete;

    /// Registers an operation; it times out after `timeout` with Status::Timeout and
    /// `timeout_message`. `abandon(id)` runs when it ends by timeout or cancel (not by finish()),
    /// with no lock of the table held, so the module can drop what it keeps for it.
    std::uint64_t begin(std::chrono::milliseconds timeout, std::string timeout_message, OperationCallback done,
                        std::function<void(std::uint64_t)> abandon) {
        std::lock_guard<std::mutex> lock(mu_);
        if (closed_) throw Error(Status::Canceled, "the client is shutting down");
        const std::uint64_t id = ++next_id_;
        const auto deadline = Clock::now() + (timeout.count() < 0 ? std::chrono::milliseconds(0) : timeout);
        auto& e = ops_.emplace(id, Entry{deadline, std::move(timeout_message), std::move(done), std::move(abandon)})
                      .first->second;
        if (timers_) {
            // Through life_: close() clears it, waiting for an expiry in progress, so no timer
            // reaches the table after that.
            e.timer = timers_->schedule(deadline, [life = life_, id] {
                std::lock_guard<std::mutex> alive(life->mu);
                if (life->table) life->table->expire(id);
            });
            return id;
        }
        deadlines_.emplace(deadline, id);
        if (!timer_.joinable()) timer_ = std::thread(&OperationTable::run_timer, this);
        cv_.notify_one();
        return id;
    }

    /// Completes an operation with `result`; false when it had already ended. Any thread,
    /// Paho's included (the completion is posted).
    bool finish(std::uint64_t id, OperationResult result) {
        Entry e;
        if (!take(id, e)) return false;
        deliver(id, std::move(e.done), std::move(result));
        return true;
    }

    /// Completes an operation with Status::Canceled; false when it had already ended.
    bool cancel(std::uint64_t id) {
        Entry e;
        if (!take(id, e)) return false;
        if (e.abandon) e.abandon(id);
        deliver(id, std::move(e.done), OperationResult{Status::Canceled, "the operation was canceled", {}});
        return true;
    }

    /// Removes an operation without completing it (its callback is destroyed, never called): for
    /// a start call that fails after registering. False when it had already ended.
    bool discard(std::uint64_t id) {
        Entry e;
        return take(id, e);
    }

    /// Cancels everything still pending, stops the timer and refuses new operations. Called before
    /// the dispatcher stops, so the completions still run there.
    void close() {
        std::map<std::uint64_t, Entry> left;
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (closed_ && !timer_.joinable()) return;
            closed_ = true;
            left.swap(ops_);
            deadlines_.clear();
            cv_.notify_all();
        }
        if (timer_.joinable()) timer_.join();
        if (timers_) {
            {
                std::lock_guard<std::mutex> alive(life_->mu);
                life_->table = nullptr;
            }
            for (auto& [id, e] : left) timers_->cancel(e.timer);
        }
        for (auto& [id, e] : left) {
            if (e.abandon) e.abandon(id);
            deliver(id, std::move(e.done), OperationResult{Status::Canceled, "the client was closed", {}});
        }
    }

    /// Whether operation `id` has not ended yet.
    bool pending(std::uint64_t id) const {
        std::lock_guard<std::mutex> lock(mu_);
        return ops_.count(id) != 0;
    }

    std::size_t pending() const {
        std::lock_guard<std::mutex> lock(mu_);
        return ops_.size();
    }

private:
    struct Entry {
        Clock::time_point deadline;
        std::string timeout_message;
        OperationCallback done;
        std::function<void(std::uint64_t)> abandon;
        TimerQueue::Id timer = 0;  // with a shared TimerQueue
    };

    bool take(std::uint64_t id, Entry& out) {
        {
            std::lock_guard<std::mutex> lock(mu_);
            const auto it = ops_.find(id);
            if (it == ops_.end()) return false;
            out = std::move(it->second);
            deadlines_.erase({out.deadline, id});
            ops_.erase(it);
        }
        if (timers_) timers_->cancel(out.timer);  // frees it early; an expiry in progress finds nothing
        return true;
    }

    // A deadline of the shared TimerQueue passed (its thread).
    void expire(std::uint64_t id) {
        Entry e;
        {
            std::lock_guard<std::mutex> lock(mu_);
            const auto it = ops_.find(id);
            if (it == ops_.end()) return;
            e = std::move(it->second);
            ops_.erase(it);
        }
        if (e.abandon) e.abandon(id);
        deliver(id, std::move(e.done), OperationResult{Status::Timeout, std::move(e.timeout_message), {}});
    }

    void deliver(std::uint64_t id, OperationCallback done, OperationResult result) {
        if (!done) return;
        post_([id, done = std::move(done), result = std::move(result)] { done(id, result); });
    }

    void run_timer() {
        std::unique_lock<std::mutex> lock(mu_);
        while (!closed_) {
            if (deadlines_.empty()) {
                cv_.wait(lock);
                continue;
            }
            const auto next = deadlines_.begin()->first;
            if (Clock::now() < next) {
                cv_.wait_until(lock, next);
                continue;
            }
            std::vector<std::pair<std::uint64_t, Entry>> expired;
            const auto now = Clock::now();
            while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
                const std::uint64_t id = deadlines_.begin()->second;
                deadlines_.erase(deadlines_.begin());
                const auto it = ops_.find(id);
                if (it == ops_.end()) continue;
                expired.emplace_back(id, std::move(it->second));
                ops_.erase(it);
            }
            lock.unlock();
            for (auto& [id, e] : expired) {
                if (e.abandon) e.abandon(id);
                deliver(id, std::move(e.done), OperationResult{Status::Timeout, std::move(e.timeout_message), {}});
            }
            lock.lock();
        }
    }

    // What a timer of the shared TimerQueue reaches the table through.
    struct Life {
        explicit Life(OperationTable* t) : table(t) {}
        std::mutex mu;  // held while a timer expires an operation
        OperationTable* table;
    };

    Post post_;
    std::shared_ptr<TimerQueue> timers_;
    std::shared_ptr<Life> life_ = std::make_shared<Life>(this);
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::map<std::uint64_t, Entry> ops_;
    std::set<std::pair<Clock::time_point, std::uint64_t>> deadlines_;
    std::uint64_t next_id_ = 0;
    bool closed_ = false;
    std::thread timer_;
};

}  // namespace twinlink::detail
