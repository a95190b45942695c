#include "datapoints/backlog.hpp"

#include <chrono>

#include "datapoints/spool.hpp"
#include "twinlink/batch_codec.hpp"
#include "twinlink/status.hpp"

namespace twinlink::detail {

Backlog::Backlog(const std::optional<SpoolOptions>& spool, std::uint64_t max_memory_bytes)
    : max_memory_bytes_(max_memory_bytes) {
    if (!spool) {
        // Microseconds: a pipeline restarted within the same millisecond (a quick re-create in one
        // process) would otherwise start where the previous one did.
        const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::system_clock::now().time_since_epoch()).count();
        next_seq_ = static_cast<std::uint64_t>(now_us);
        return;
    }
    spool_ = std::make_unique<Spool>(*spool);
    next_seq_ = spool_->next_seq();
    for (auto& r : spool_->take_pending()) {
        ClosedBatch b;
        b.seq = r.seq;
        b.topic = std::move(r.topic);
        b.payload = std::move(r.payload);
        try {
            const DecodedBatch decoded = decode_batch(b.payload);
            b.batch_id = decoded.batch_id;
            b.points = decoded.points.size();
        } catch (const Error&) {
            // A record that passed its checksum but does not decode was written by something else;
            // it is still sent, so the receiver can count it as rejected rather than it vanishing.
        }
        bytes_ += b.payload.size();
        points_ += b.points;
        const std::uint64_t seq = b.seq;
        batches_[seq].batch = std::move(b);
        unsent_.insert(seq);
        ++recovered_;
    }
}

Backlog::~Backlog() = default;

bool Backlog::fits(const ClosedBatch& batch) const {
    if (spool_) return spool_->fits(batch.topic.size(), batch.payload.size());
    return bytes_ + batch.payload.size() <= max_memory_bytes_;
}

void Backlog::add(ClosedBatch&& batch) {
    if (!fits(batch))
        throw Error(Status::QueueFull, "the datapoint backlog is full (" + std::to_string(bytes_) + " bytes)");
    if (spool_) spool_->append(batch.seq, batch.topic, batch.payload);
    bytes_ += batch.payload.size();
    points_ += batch.points;
    const std::uint64_t seq = batch.seq;
    batches_[seq].batch = std::move(batch);
    unsent_.insert(seq);
}

std::optional<Backlog::Removed> Backlog::remove(std::uint64_t seq) {
    const auto it = batches_.find(seq);
    if (it == batches_.end()) return std::nullopt;
    if (spool_) spool_->ack(seq);
    Entry& e = it->second;
    const Removed removed{e.batch.points, !e.broker_acked};
    bytes_ -= e.batch.payload.size();
    points_ -= e.batch.points;
    if (e.state == State::InFlight) --sent_count_;
    if (e.state == State::AwaitingReceipt) --awaiting_count_;
    if (e.state == State::Unsent) unsent_.erase(seq);
    batches_.erase(it);
    return removed;
}

void Backlog::remove_range(std::uint64_t first, std::uint64_t last, std::vector<Removed>& out) {
    auto it = batches_.lower_bound(first);
    while (it != batches_.end() && it->first <= last) {
        const std::uint64_t seq = it->first;
        ++it;  // remove() erases the current one
        out.push_back(*remove(seq));
    }
}

std::uint64_t Backlog::drop_oldest() {
    if (batches_.empty()) return 0;
    return remove(batches_.begin()->first).value_or(Removed{}).points;
}

ClosedBatch* Backlog::next_unsent() {
    if (unsent_.empty()) return nullptr;
    return &batches_.at(*unsent_.begin()).batch;
}

void Backlog::set_state(Entry& e, std::uint64_t seq, State state) {
    if (e.state == State::InFlight) --sent_count_;
    if (e.state == State::AwaitingReceipt) --awaiting_count_;
    if (e.state == State::Unsent) unsent_.erase(seq);
    e.state = state;
    if (state == State::InFlight) ++sent_count_;
    if (state == State::AwaitingReceipt) ++awaiting_count_;
    if (state == State::Unsent) unsent_.insert(seq);
}

void Backlog::mark_sent(std::uint64_t seq) {
    const auto it = batches_.find(seq);
    if (it != batches_.end() && it->second.state == State::Unsent) set_state(it->second, seq, State::InFlight);
}

void Backlog::mark_unsent(std::uint64_t seq) {
    const auto it = batches_.find(seq);
    if (it != batches_.end() && it->second.state == State::InFlight) set_state(it->second, seq, State::Unsent);
}

std::optional<std::uint64_t> Backlog::mark_broker_acked(std::uint64_t seq, std::chrono::steady_clock::time_point deadline) {
    const auto it = batches_.find(seq);
    if (it == batches_.end()) return std::nullopt;
    Entry& e = it->second;
    if (e.state == State::InFlight) {
        set_state(e, seq, State::AwaitingReceipt);
        e.receipt_deadline = deadline;
        receipt_deadlines_.emplace_back(deadline, seq);
    }
    if (e.broker_acked) return std::nullopt;
    e.broker_acked = true;
    return e.batch.points;
}

std::size_t Backlog::expire_receipts(std::chrono::steady_clock::time_point now) {
    std::size_t expired = 0;
    while (!receipt_deadlines_.empty() && receipt_deadlines_.front().first <= now) {
        const auto [deadline, seq] = receipt_deadlines_.front();
        receipt_deadlines_.pop_front();
        const auto it = batches_.find(seq);
        if (it == batches_.end() || it->second.state != State::AwaitingReceipt || it->second.receipt_deadline != deadline)
            continue;
        set_state(it->second, seq, State::Unsent);
        ++expired;
    }
    return expired;
}

std::optional<std::chrono::steady_clock::time_point> Backlog::next_receipt_deadline() {
    // Skip what stopped waiting, so an idle backlog has no deadline to wake up for.
    while (!receipt_deadlines_.empty()) {
        const auto [deadline, seq] = receipt_deadlines_.front();
        const auto it = batches_.find(seq);
        if (it != batches_.end() && it->second.state == State::AwaitingReceipt && it->second.receipt_deadline == deadline)
            return deadline;
        receipt_deadlines_.pop_front();
    }
    return std::nullopt;
}

void Backlog::sync_if_due() {
    if (spool_) spool_->sync_if_due();
}

std::chrono::steady_clock::time_point Backlog::sync_due() const {
    return spool_ ? spool_->sync_due() : std::chrono::steady_clock::time_point::max();
}

std::uint64_t Backlog::spooled_bytes() const { return spool_ ? spool_->bytes() : 0; }

std::optional<std::uint64_t> Backlog::oldest_seq() const {
    if (batches_.empty()) return std::nullopt;
    return batches_.begin()->first;
}

}  // namespace twinlink::detail
