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
        batches_.emplace(seq, Entry{std::move(b), false});
        ++recovered_;
    }
}

Backlog::~Backlog() = default;

bool Backlog::fits(const ClosedBatch& batch) const {
    if (spool_) return spool_->fits(batch.topic.size(), batch.payload.size());
    return bytes_ + batch.payload.size() <= max_memory_bytes_;
}

void Backlog::add(ClosedBatch batch) {
    if (!fits(batch))
        throw Error(Status::QueueFull, "the datapoint backlog is full (" + std::to_string(bytes_) + " bytes)");
    if (spool_) spool_->append(batch.seq, batch.topic, batch.payload);
    bytes_ += batch.payload.size();
    points_ += batch.points;
    const std::uint64_t seq = batch.seq;
    batches_.emplace(seq, Entry{std::move(batch), false});
}

std::optional<std::uint64_t> Backlog::ack(std::uint64_t seq) {
    const auto it = batches_.find(seq);
    if (it == batches_.end()) return std::nullopt;
    if (spool_) spool_->ack(seq);
    const std::uint64_t points = it->second.batch.points;
    bytes_ -= it->second.batch.payload.size();
    points_ -= points;
    if (it->second.sent) --sent_count_;
    batches_.erase(it);
    return points;
}

std::uint64_t Backlog::drop_oldest() {
    if (batches_.empty()) return 0;
    return ack(batches_.begin()->first).value_or(0);
}

ClosedBatch* Backlog::next_unsent() {
    for (auto& [seq, e] : batches_)
        if (!e.sent) return &e.batch;
    return nullptr;
}

void Backlog::mark_sent(std::uint64_t seq, bool sent) {
    const auto it = batches_.find(seq);
    if (it == batches_.end() || it->second.sent == sent) return;
    it->second.sent = sent;
    sent ? ++sent_count_ : --sent_count_;
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
