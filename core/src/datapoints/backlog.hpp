// Backlog: closed batches that are not delivered yet, in sequence order, kept in memory and, with
// a spool, on disk. Owned by the batcher thread; not thread-safe.
//
// A batch is unsent, then in flight (handed to the client, no PUBACK yet), then, when delivery is
// judged by receipts, awaiting its receipt until a deadline; when that passes it is unsent again.
// It leaves the backlog when it is delivered: at the PUBACK (DeliveryMode::Broker) or at the
// receipt (DeliveryMode::Receipt).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
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
    /// Adds a batch (to the spool first). Error(QueueFull) when it does not fit, Error(Io). Taken
    /// from `batch` only once it is in: after an error the caller still has it, whole, to retry
    /// (a by-value parameter emptied it, and the retry spooled an empty record).
    void add(ClosedBatch&& batch);
    /// What leaving the backlog did to a batch: its points, and whether the broker had not
    /// acknowledged it before (a receipt that overtook the PUBACK, or DeliveryMode::Broker).
    struct Removed {
        std::uint64_t points = 0;
        bool first_broker_ack = false;
    };
    /// Removes a delivered batch; nothing when it is not here (dropped meanwhile, or delivered
    /// twice).
    std::optional<Removed> remove(std::uint64_t seq);
    /// remove() of every batch with first <= seq <= last, appended to `out`.
    void remove_range(std::uint64_t first, std::uint64_t last, std::vector<Removed>& out);
    /// Removes the oldest batch, returning its point count; 0 when empty.
    std::uint64_t drop_oldest();

    /// The oldest unsent batch, or null.
    ClosedBatch* next_unsent();
    /// Unsent -> in flight.
    void mark_sent(std::uint64_t seq);
    /// In flight -> unsent (the client gave up on it).
    void mark_unsent(std::uint64_t seq);
    /// In flight -> awaiting its receipt until `deadline`. Returns the batch's points the first
    /// time the broker acknowledges it (for counting), nothing after that or when it is not here.
    std::optional<std::uint64_t> mark_broker_acked(std::uint64_t seq, std::chrono::steady_clock::time_point deadline);
    /// Awaiting a receipt past the deadline at `now` -> unsent; returns how many.
    std::size_t expire_receipts(std::chrono::steady_clock::time_point now);
    /// The earliest receipt deadline, if a batch awaits one.
    std::optional<std::chrono::steady_clock::time_point> next_receipt_deadline();

    /// fsync the spool when its policy asks for it by now (Interval), and when it next will.
    void sync_if_due();
    std::chrono::steady_clock::time_point sync_due() const;
    /// Everything that is left, for discarding at shutdown without a spool.
    std::uint64_t points() const noexcept { return points_; }
    std::uint64_t bytes() const noexcept { return bytes_; }
    std::size_t size() const noexcept { return batches_.size(); }
    /// Batches in flight (handed to the client, not acknowledged by the broker).
    std::size_t sent() const noexcept { return sent_count_; }
    /// Batches acknowledged by the broker and awaiting their receipt.
    std::size_t awaiting_receipt() const noexcept { return awaiting_count_; }
    bool durable() const noexcept { return spool_ != nullptr; }
    std::uint64_t spooled_bytes() const;
    /// The lowest sequence number still here; nothing when empty.
    std::optional<std::uint64_t> oldest_seq() const;

private:
    enum class State { Unsent, InFlight, AwaitingReceipt };
    struct Entry {
        ClosedBatch batch;
        State state = State::Unsent;
        bool broker_acked = false;  // once, even if sent again later
        std::chrono::steady_clock::time_point receipt_deadline;
    };
    void set_state(Entry& e, std::uint64_t seq, State state);

    std::unique_ptr<Spool> spool_;
    std::map<std::uint64_t, Entry> batches_;
    std::set<std::uint64_t> unsent_;  // seqs in State::Unsent, so finding the next is cheap
    // (deadline, seq) in the order batches started waiting; entries that stopped waiting, or
    // wait again with a later deadline, are skipped when they come up.
    std::deque<std::pair<std::chrono::steady_clock::time_point, std::uint64_t>> receipt_deadlines_;
    std::uint64_t max_memory_bytes_;
    std::uint64_t bytes_ = 0;
    std::uint64_t points_ = 0;
    std::size_t sent_count_ = 0;
    std::size_t awaiting_count_ = 0;
    std::uint64_t next_seq_ = 1;
    std::uint64_t recovered_ = 0;
};

}  // namespace twinlink::detail
