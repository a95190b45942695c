// Backlog: closed batches that the broker has not acknowledged yet, in sequence order, kept in
// memory and, with a spool, on disk. Owned by the batcher thread; not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "datapoints/batch_assembler.hpp"
#include "twinlink/spool_options.hpp"

namespace twinlink::detail {

class Spool;

class Backlog {
public:
    /// Opens the spool when there is one (Error(Io), Error(WrongState)) and takes in what it holds.
    Backlog(const std::optional<SpoolOptions>& spool, std::uint64_t max_memory_bytes);
    ~Backlog();

    /// The sequence number of the next batch: continues the spool's, or, without a spool, starts
    /// from the wall clock in microseconds, so a restarted device does not reuse one (unless its
    /// clock went back, or it closed more than one batch per microsecond).
    std::uint64_t next_seq() const noexcept { return next_seq_; }
    std::uint64_t recovered_batches() const noexcept { return recovered_; }

    /// Whether `batch` fits within the bounds now.
    bool fits(const ClosedBatch& batch) const;
    /// Adds a batch (to the spool first). Error(QueueFull) when it does not fit, Error(Io).
    void add(ClosedBatch batch);
    /// Removes an acknowledged batch and returns its point count; nothing when it is not here
    /// (dropped meanwhile, or acknowledged twice).
    std::optional<std::uint64_t> ack(std::uint64_t seq);
    /// Removes the oldest batch, returning its point count; 0 when empty.
    std::uint64_t drop_oldest();

    /// The oldest batch not currently handed to the client, or null.
    ClosedBatch* next_unsent();
    void mark_sent(std::uint64_t seq, bool sent);

    /// fsync the spool when its policy asks for it by now (Interval), and when it next will.
    void sync_if_due();
    std::chrono::steady_clock::time_point sync_due() const;
    /// Everything that is left, for discarding at shutdown without a spool.
    std::uint64_t points() const noexcept { return points_; }
    std::uint64_t bytes() const noexcept { return bytes_; }
    std::size_t size() const noexcept { return batches_.size(); }
    std::size_t sent() const noexcept { return sent_count_; }
    bool durable() const noexcept { return spool_ != nullptr; }
    std::uint64_t spooled_bytes() const;
    /// The lowest sequence number still here; nothing when empty.
    std::optional<std::uint64_t> oldest_seq() const;

private:
    struct Entry {
        ClosedBatch batch;
        bool sent = false;
    };
    std::unique_ptr<Spool> spool_;
    std::map<std::uint64_t, Entry> batches_;
    std::uint64_t max_memory_bytes_;
    std::uint64_t bytes_ = 0;
    std::uint64_t points_ = 0;
    std::size_t sent_count_ = 0;
    std::uint64_t next_seq_ = 1;
    std::uint64_t recovered_ = 0;
};

}  // namespace twinlink::detail
