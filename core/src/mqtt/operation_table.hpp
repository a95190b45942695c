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
// Deadlines cost one thread per client, started with the first operation, not one per operation.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "twinlink/client.hpp"

namespace twinlink::detail {

class OperationTable {
public:
    using Clock = std::chrono::steady_clock;
    /// Hands a completion to the dispatcher thread.
    using Post = std::function<void(std::function<void()>)>;

    explicit OperationTable(Post post) : post_(std::move(post)) {}
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
        ops_.emplace(id, Entry{deadline, std::move(timeout_message), std::move(done), std::move(abandon)});
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
    };

    bool take(std::uint64_t id, Entry& out) {
        std::lock_guard<std::mutex> lock(mu_);
        const auto it = ops_.find(id);
        if (it == ops_.end()) return false;
        out = std::move(it->second);
        deadlines_.erase({out.deadline, id});
        ops_.erase(it);
        return true;
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

    Post post_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::map<std::uint64_t, Entry> ops_;
    std::set<std::pair<Clock::time_point, std::uint64_t>> deadlines_;
    std::uint64_t next_id_ = 0;
    bool closed_ = false;
    std::thread timer_;
};

}  // namespace twinlink::detail
