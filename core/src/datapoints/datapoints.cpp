// Datapoints: the recording front (any thread) and the batcher behind it. The batcher is a
// detail::TimedLoop: a thread of its own, or, when the client has a Runtime, passes on the
// runtime's network threads and deadlines on its timer thread, so pipelines on a runtime add no
// thread. "The batcher thread" below means whichever runs its passes (one at a time).
#include "twinlink/datapoints.hpp"

#include <cmath>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "common/runtime_impl.hpp"
#include "common/timed_loop.hpp"
#include "common/wall_clock.hpp"
#include "datapoints/backlog.hpp"
#include "datapoints/batch_assembler.hpp"
#include "datapoints/point_buffer.hpp"
#include "datapoints/rate_limiter.hpp"
#include "twinlink/batch_codec.hpp"
#include "twinlink/delivery_receipt.hpp"
#include "twinlink/shadow_topics.hpp"
#include "twinlink/topic.hpp"

namespace twinlink {

using detail::ClosedBatch;
using detail::PendingPoint;
using detail::ValueKind;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

// The batcher is woken once this many points wait, rather than for every point.
constexpr std::size_t kWakeThreshold = 4096;
// How soon to try again when the client refused a publish (its own queue full).
constexpr auto kPublishRetry = milliseconds(100);
// Drops are reported (log line and DropEvent) at most this often per reason.
constexpr auto kDropReportInterval = std::chrono::seconds(1);
// Receipts waiting for the batcher beyond this many are dropped: the batches they confirm are
// sent again after receipt_timeout, and the sink confirms them again.
constexpr std::size_t kMaxQueuedReceipts = 4096;

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (std::size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
        s.replace(pos, from.size(), to);
    return s;
}

[[noreturn]] void bad(const std::string& why) { throw Error(Status::InvalidArgument, why); }

void validate(const DatapointOptions& o) {
    validate_device_id(o.device);
    if (o.topic.empty()) bad("the datapoint topic is empty");
    const std::string probe = replace_all(replace_all(o.topic, "{device}", o.device), "{series}", "s");
    validate_topic_name(probe);
    if (o.batch_max_points == 0) bad("batch_max_points must be positive");
    if (o.batch_max_bytes < 1024 || o.batch_max_bytes > 256u * 1024u * 1024u)
        bad("batch_max_bytes must be 1 KiB to 256 MiB");
    if (o.linger.count() <= 0) bad("linger must be positive");
    const std::uint64_t bound = o.spool ? o.spool->max_bytes : o.max_backlog_bytes;
    if (bound < 2 * o.batch_max_bytes) bad("the backlog bound must hold at least two batches (2 * batch_max_bytes)");
    if (o.max_pending_points == 0) bad("max_pending_points must be positive");
    if (o.max_inflight_batches == 0) bad("max_inflight_batches must be positive");
    if (o.max_batches_per_second < 0 || !std::isfinite(o.max_batches_per_second))
        bad("max_batches_per_second must be 0 (no limit) or positive");
    if (o.delivery != DeliveryMode::Broker && o.delivery != DeliveryMode::Receipt) bad("unknown delivery mode");
    if (o.delivery == DeliveryMode::Receipt) {
        if (o.receipt_timeout.count() <= 0) bad("receipt_timeout must be positive");
        if (o.max_unconfirmed_batches == 0) bad("max_unconfirmed_batches must be positive");
        if (o.receipt_topic.empty()) bad("the receipt topic is empty");
        validate_topic_name(replace_all(o.receipt_topic, "{device}", o.device));
    }
}

}  // namespace

class Datapoints::Impl : public std::enable_shared_from_this<Impl> {
public:
    Impl(Client& client, DatapointOptions options)
        : client_(client),
          opts_((validate(options), std::move(options))),
          backlog_(std::make_unique<detail::Backlog>(opts_.spool, opts_.max_backlog_bytes)),
          assembler_(opts_.encoding, opts_.device, replace_all(opts_.topic, "{device}", opts_.device),
                     {opts_.batch_max_points, opts_.batch_max_bytes, opts_.linger}),
          next_seq_(backlog_->next_seq()),
          rate_(opts_.max_batches_per_second),
          timer_(client.runtime() ? client.runtime()->impl()->network : nullptr,
                 client.runtime() ? client.runtime()->impl()->timers : nullptr, [this] { return batcher_pass(); }) {
        stats_.recovered_batches = backlog_->recovered_batches();
        publish_summary();
    }

    void start() {
        // Batches wait in the backlog while the client is offline (see send_ready()); a reconnect
        // wakes the batcher to send them.
        listener_ = client_.add_connection_listener([weak = weak_from_this()](const ConnectionEvent& e) {
            if (e.state != ConnectionState::Connected) return;
            if (auto self = weak.lock()) {
                std::lock_guard<std::mutex> lock(self->mu_);
                self->poke_ = true;
                self->timer_.poke();
            }
        });
        if (opts_.delivery == DeliveryMode::Receipt) {
            // Directly on the network thread: the hand-off needs no dispatcher, so a flush() made
            // from a callback sees its receipts.
            receipt_sub_ = client_.subscribe(
                replace_all(opts_.receipt_topic, "{device}", opts_.device), 1,
                [weak = weak_from_this()](const MessageView& m) {
                    if (auto self = weak.lock()) self->queue_receipt(m.payload);
                },
                Delivery::Direct);
        }
        timer_.start();
    }

    void shutdown() {
        client_.remove_connection_listener(listener_);
        if (receipt_sub_) {
            try {
                client_.unsubscribe(receipt_sub_);
            } catch (const Error&) {
            }
        }
        {
            std::lock_guard<std::mutex> lock(mu_);
            stop_ = true;
            room_.notify_all();
            progress_.notify_all();
        }
        // Not under mu_: stop() waits for a pass in progress, which takes mu_. No pass starts
        // after it, so the last one (close the open batches into the backlog and the spool, cancel
        // the flushes) runs here, unless the pass in progress saw stop_ and was that one.
        timer_.stop();
        if (!finished_) batcher_pass();
    }

    /// Appends `count` points of one series; `fill(point, buffer, i)` sets the value of point i.
    template <class Fill>
    void append(std::string_view name, std::size_t count, const std::int64_t* timestamps, Fill fill) {
        if (count == 0) return;
        std::unique_lock<std::mutex> lock(mu_);
        const std::int64_t now = timestamps ? 0 : clock_.now_ms();  // when called, even if it waits for room
        wait_for_room(lock, count);
        const std::uint32_t series = series_.id(name);
        append_locked(count, timestamps, now, [series](std::size_t) { return series; }, fill);
    }

    /// Appends one double or int64 point (see PointBuffer::push_point).
    template <class T>
    void append_point(std::string_view name, T value, const std::int64_t* timestamp) {
        std::unique_lock<std::mutex> lock(mu_);
        const std::int64_t ts = timestamp ? *timestamp : clock_.now_ms();  // when called, even if it waits
        wait_for_room(lock, 1);
        const std::uint32_t series = series_.id(name);
        note_appending();
        pending_.push_point(series, value, ts);
        note_appended(1);
    }

    /// As append_point(), for `count` points of series registered before: series_of(i) and
    /// value_of(i) give point i's.
    template <class SeriesOf, class ValueOf>
    void append_points(std::size_t count, const std::int64_t* timestamps, SeriesOf series_of, ValueOf value_of) {
        if (count == 0) return;
        std::unique_lock<std::mutex> lock(mu_);
        check_ids(count, series_of);
        const std::int64_t now = timestamps ? 0 : clock_.now_ms();
        wait_for_room(lock, count);
        note_appending();
        for (std::size_t i = 0; i < count; ++i) pending_.push_point(series_of(i), value_of(i), timestamps ? timestamps[i] : now);
        note_appended(count);
    }

    /// Appends the points of one record_many() call as a run (copied arrays, see PointRun).
    template <class T>
    void append_run(std::string_view name, const T* values, const std::int64_t* timestamps, std::size_t count) {
        if (count == 0) return;
        std::unique_lock<std::mutex> lock(mu_);
        const std::int64_t now = timestamps ? 0 : clock_.now_ms();  // when called, even if it waits for room
        wait_for_room(lock, count);
        const std::uint32_t series = series_.id(name);
        note_appending();
        pending_.push_run(series, values, timestamps, now, count);
        note_appended(count);
    }


    std::uint32_t series_id(std::string_view name) {
        std::lock_guard<std::mutex> lock(mu_);
        return series_.id(name);
    }

private:
    template <class SeriesOf>
    void check_ids(std::size_t count, SeriesOf series_of) const {
        const std::size_t known = series_.size();
        for (std::size_t i = 0; i < count; ++i)
            if (series_of(i) >= known)
                throw Error(Status::InvalidArgument, "record: series id " + std::to_string(series_of(i)) +
                                                         " was not returned by series() of this pipeline");
    }

    template <class SeriesOf, class Fill>
    void append_locked(std::size_t count, const std::int64_t* timestamps, std::int64_t now, SeriesOf series_of,
                       Fill fill) {
        note_appending();
        for (std::size_t i = 0; i < count; ++i) {
            PendingPoint p;
            p.series = series_of(i);
            p.timestamp_ms = timestamps ? timestamps[i] : now;
            fill(p, pending_, i);
            pending_.push_back(p);
        }
        note_appended(count);
    }

    // Before points are appended to pending_ (under mu_): the time of the first one.
    void note_appending() {
        if (!pending_.empty()) return;
        pending_.first_at = Clock::now();
        // The batcher must take these points within linger. It is woken only when it sleeps past
        // that deadline: a batcher that is running, or that wakes sooner anyway (for an open
        // batch's linger), picks them up by itself. Waking it for every first point made the
        // recorder and the batcher trade the lock for a handful of points each time.
        wake_for_linger_ = pending_.first_at + opts_.linger < batcher_sleeps_until_;
    }

    // After `count` points were appended (under mu_): counts them and wakes the batcher if needed.
    void note_appended(std::size_t count) {
        stats_.recorded += count;
        const std::size_t size = pending_.size();
        if (std::exchange(wake_for_linger_, false) || (size >= kWakeThreshold && size - count < kWakeThreshold)) {
            poke_ = true;
            timer_.poke();
        }
    }

public:
    void flush(milliseconds timeout) {
        std::unique_lock<std::mutex> lock(mu_);
        const std::uint64_t generation = ++flush_requested_;
        poke_ = true;
        timer_.poke();
        const bool done = progress_.wait_for(lock, timeout, [&] {
            return stop_ || (flush_handled_ >= generation && (!oldest_unacked_ || *oldest_unacked_ >= flush_target_));
        });
        if (stop_) throw Error(Status::Canceled, "flush: the datapoint pipeline is shutting down");
        if (!done)
            throw Error(Status::Timeout, "flush: " + std::to_string(stats_.backlog_batches) + " batch(es) with " +
                                             std::to_string(stats_.backlog_points + stats_.pending_points) +
                                             " point(s) not acknowledged within " + std::to_string(timeout.count()) +
                                             " ms");
    }

    Client& client() { return client_; }

    // As flush(), completed by the batcher thread when the batches are acknowledged.
    std::uint64_t flush_start(milliseconds timeout, OperationCallback done) {
        std::weak_ptr<Impl> weak = weak_from_this();
        const std::uint64_t op = client_.begin_operation(
            timeout, "flush: points not acknowledged within " + std::to_string(timeout.count()) + " ms",
            std::move(done), [weak](std::uint64_t id) {
                if (auto self = weak.lock()) {
                    std::lock_guard<std::mutex> lock(self->mu_);
                    for (auto it = self->flush_ops_.begin(); it != self->flush_ops_.end(); ++it)
                        if (it->second == id) {
                            self->flush_ops_.erase(it);
                            break;
                        }
                }
            });
        bool stopped;
        {
            std::lock_guard<std::mutex> lock(mu_);
            stopped = stop_;
            if (!stopped) {
                flush_ops_.emplace(++flush_requested_, op);
                poke_ = true;
                timer_.poke();
            }
        }
        if (stopped)
            client_.finish_operation(op, OperationResult{Status::Canceled, "flush: the datapoint pipeline is shutting down", ""});
        return op;
    }

    DatapointStats stats() const {
        std::lock_guard<std::mutex> lock(mu_);
        DatapointStats s = stats_;
        s.pending_points = pending_.size() + open_points_;
        return s;
    }

    /// Throws Error(InvalidArgument) when a batch holding nothing but this point would exceed
    /// batch_max_bytes: the batcher could only send it over the limit. `worst_bytes` bounds the
    /// encoded size of the value, so the exact check runs only for values near the limit.
    void check_fits(std::string_view name, const DatapointValue& value, std::size_t worst_bytes) const {
        // The rest of a one-point batch: member names, device, batch id, seq, t0, the series name
        // (escaped, at most twice its bytes) and a time offset.
        const std::size_t envelope = 160 + opts_.device.size() + 2 * name.size();
        if (worst_bytes + envelope <= opts_.batch_max_bytes) return;
        BatchEncoder alone(opts_.encoding, opts_.device);
        alone.add(name, 0, value);
        const std::size_t size = alone.size_estimate();
        if (size > opts_.batch_max_bytes)
            throw Error(Status::InvalidArgument, "record: a point of '" + std::string(name) + "' would take " +
                                                     std::to_string(size) + " bytes in a batch of its own; "
                                                     "batch_max_bytes is " + std::to_string(opts_.batch_max_bytes));
    }

private:
    // ---- recording side (caller threads, under mu_) ----

    void wait_for_room(std::unique_lock<std::mutex>& lock, std::size_t count) {
        // While the backlog is full, only about one batch worth of points may wait unbatched.
        const auto cap = [&] { return backlog_full_ ? opts_.batch_max_points : opts_.max_pending_points; };
        const auto room = [&] { return stop_ || pending_.empty() || pending_.size() + count <= cap(); };
        if (room()) {
            if (stop_) throw Error(Status::Canceled, "record: the datapoint pipeline is shutting down");
            return;
        }
        Status status = Status::QueueFull;
        if (opts_.backpressure == BackpressurePolicy::Block) {
            if (room_.wait_for(lock, opts_.block_timeout, room)) {
                if (stop_) throw Error(Status::Canceled, "record: the datapoint pipeline is shutting down");
                return;
            }
            status = Status::Timeout;
        }
        stats_.rejected_points += count;
        // A spool that cannot be written holds batches back as a full backlog does: say which.
        if (!spool_error_.empty()) status = Status::Io;
        const std::string why = !spool_error_.empty() ? "the spool cannot be written (" + spool_error_ + ")"
                                : backlog_full_       ? "the datapoint backlog is full"
                                                      : "points are recorded faster than they can be batched";
        note_drop(why, count, 0);
        throw Error(status, "record: " + why + " (" + std::to_string(count) + " point(s) refused)");
    }

    // ---- drop reports (under mu_ to note, batcher thread to report) ----

    /// Adds to the drops of `reason` not reported yet. The first one since the last report wakes
    /// the batcher, which reports at most once per kDropReportInterval.
    void note_drop(const std::string& reason, std::uint64_t points, std::uint64_t batches) {
        DropEvent& ev = unreported_drops_[reason];
        const bool first = ev.points == 0;
        ev.policy = opts_.backpressure;
        ev.reason = reason;
        ev.points += points;
        ev.batches += batches;
        if (first) {
            poke_ = true;
            timer_.poke();
        }
    }

    std::optional<Clock::time_point> next_drop_report() const {  // under mu_
        if (unreported_drops_.empty()) return std::nullopt;
        return last_drop_report_ + kDropReportInterval;
    }

    void report_drops(Clock::time_point now, bool final) {
        std::vector<DropEvent> due;
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (unreported_drops_.empty() || (!final && now < last_drop_report_ + kDropReportInterval)) return;
            for (auto& [reason, ev] : unreported_drops_) due.push_back(std::move(ev));
            unreported_drops_.clear();
            last_drop_report_ = now;
        }
        for (auto& ev : due) {
            client_.log(LogLevel::Warning, "datapoints: " + std::to_string(ev.points) + " point(s) dropped" +
                                               (ev.batches ? " (" + std::to_string(ev.batches) + " batch(es))" : "") +
                                               ": " + ev.reason);
            if (opts_.on_drop) client_.dispatch([cb = opts_.on_drop, ev = std::move(ev)] { cb(ev); });
        }
    }

    // ---- receipts ----

    void queue_receipt(std::string_view payload) {  // network thread: hand off only
        std::lock_guard<std::mutex> lock(mu_);
        if (receipts_.size() >= kMaxQueuedReceipts) {
            ++receipts_overflowed_;
            return;
        }
        receipts_.emplace_back(payload);
        poke_ = true;
        timer_.poke();
    }

    void on_receipt(const std::string& payload) {
        DeliveryReceipt receipt;
        try {
            receipt = decode_receipt(payload);
        } catch (const Error& e) {
            ++receipts_ignored_;
            client_.log(LogLevel::Warning, std::string("datapoints: ignored a receipt: ") + e.what());
            return;
        }
        if (receipt.device != opts_.device) {
            ++receipts_ignored_;
            client_.log(LogLevel::Warning, "datapoints: ignored a receipt for another device");
            return;
        }
        std::vector<detail::Backlog::Removed> removed;
        for (const auto& [first, last] : receipt.stored) backlog_->remove_range(first, last, removed);
        for (const auto& r : removed) {
            if (r.first_broker_ack) {
                ++acked_batches_;
                acked_points_ += r.points;
            }
            ++confirmed_batches_;
            confirmed_points_ += r.points;
        }
    }

    // ---- batcher thread ----

    /// One pass of the batcher (timer_): takes the pending points, acknowledgements and receipts,
    /// closes batches, sends what may be sent. Returns when the next pass is due (next_wake(), or
    /// at once when there is work already); after the last pass (stop_), never.
    Clock::time_point batcher_pass() {
        bool stopping, flushing;
        std::uint64_t flush_generation;
        std::uint64_t receipts_overflowed = 0;
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (finished_) return Clock::time_point::max();
            batcher_sleeps_until_ = Clock::time_point::min();
            poke_ = false;
            stopping = stop_;
            flush_generation = flush_requested_;
            flushing = flush_generation != flush_handled_;
            taken_acks_.swap(acks_);
            taken_receipts_.swap(receipts_);
            if (receipts_overflowed_) {
                receipts_overflowed = receipts_overflowed_;
                receipts_overflowed_ = 0;
            }
            if (!pending_.empty() && (held_.empty() || stopping)) {
                std::swap(work_, pending_);
                pending_.clear();
                for (std::size_t i = names_.size(); i < series_.size(); ++i) names_.push_back(series_.name(i));
                room_.notify_all();
            }
            // A flush covers every point recorded before it. Points left pending (batches wait
            // for room) are not in a batch yet: the flush is handled once they are taken.
            if (!pending_.empty()) flushing = false;
        }
        for (const auto& [seq, status] : taken_acks_) on_ack(seq, status);
        taken_acks_.clear();
        for (const auto& receipt : taken_receipts_) on_receipt(receipt);
        taken_receipts_.clear();
        if (receipts_overflowed) {
            receipts_ignored_ += receipts_overflowed;
            client_.log(LogLevel::Warning, "datapoints: " + std::to_string(receipts_overflowed) +
                                               " receipt(s) arrived faster than they could be read and were "
                                               "ignored; their batches are sent again");
        }

        std::vector<ClosedBatch> closed;
        if (!work_.empty()) {
            assembler_.add(work_, names_, next_seq_, closed);
            work_.clear();
        }
        const auto now = Clock::now();
        if (flushing || stopping)
            assembler_.close_all(next_seq_, closed);
        else
            assembler_.close_expired(now, next_seq_, closed);
        for (auto& b : closed) {
            stats_batches_ += 1;
            stats_batched_ += b.points;
            held_.push_back(std::move(b));
        }
        admit_held();
        expire_receipts(now);
        if (!stopping) send_ready(now);
        backlog_->sync_if_due();
        report_drops(now, stopping);

        {
            std::lock_guard<std::mutex> lock(mu_);
            if (flushing) {
                flush_target_ = next_seq_;
                flush_handled_ = flush_generation;
            }
            publish_summary();
            progress_.notify_all();
            finish_flush_ops_locked(stopping);
            if (!stopping) {
                // Pending points wake the batcher only when it can take them: while batches wait
                // for room in the backlog (held_), they stay where they are.
                if (stop_ || poke_ ||
                    (held_.empty() && (pending_.size() >= kWakeThreshold ||
                                       (!pending_.empty() && flush_requested_ != flush_handled_))))
                    return Clock::now();  // stays min(): the next pass runs at once
                // From here a recorder pokes timer_ when its first point must be taken sooner
                // (note_appending); a poke after this pass returned makes the next one at once.
                batcher_sleeps_until_ = next_wake();
                return batcher_sleeps_until_;
            }
        }
        finish_at_stop();
        finished_ = true;
        return Clock::time_point::max();
    }

    Clock::time_point next_wake() {
        auto wake = std::min(Clock::now() + std::chrono::seconds(1), backlog_->sync_due());
        if (const auto d = assembler_.next_deadline()) wake = std::min(wake, *d);
        // While batches wait for room in the backlog, pending points are not taken: no deadline.
        if (!pending_.empty() && held_.empty()) wake = std::min(wake, pending_.first_at + opts_.linger);
        if (send_retry_at_) wake = std::min(wake, *send_retry_at_);
        if (const auto d = backlog_->next_receipt_deadline()) wake = std::min(wake, *d);
        if (const auto d = next_drop_report()) wake = std::min(wake, *d);
        return wake;
    }

    /// Moves closed batches into the backlog, applying the backpressure policy when it is full.
    void admit_held() {
        while (!held_.empty()) {
            ClosedBatch& b = held_.front();
            while (!backlog_->fits(b) && backlog_->size() > 0 &&
                   opts_.backpressure == BackpressurePolicy::DropOldest) {
                const std::uint64_t points = backlog_->drop_oldest();
                dropped_points_ += points;
                ++dropped_batches_;
                std::lock_guard<std::mutex> lock(mu_);
                note_drop("the datapoint backlog is full", points, 1);
            }
            if (!backlog_->fits(b)) break;  // DropNewest/Block: wait for acknowledgements
            try {
                backlog_->add(std::move(b));
            } catch (const Error& e) {
                // The spool could not write it (disk full, I/O error): keep it and try again later.
                client_.log(LogLevel::Error, std::string("datapoints: ") + e.what());
                send_retry_at_ = Clock::now() + std::chrono::seconds(1);
                spool_failing_ = true;
                std::lock_guard<std::mutex> lock(mu_);
                spool_error_ = e.what();
                break;
            }
            held_.pop_front();
            if (spool_failing_) {
                spool_failing_ = false;
                std::lock_guard<std::mutex> lock(mu_);
                spool_error_.clear();
            }
        }
    }

    void send_ready(Clock::time_point now) {
        send_retry_at_.reset();
        // A batch handed to an offline client would sit in the client's queue, out of reach of
        // the backpressure policy: DropOldest would count it as discarded while the client still
        // sends it after reconnecting, and its memory would not count against the backlog bound.
        if (!client_.connected()) return;
        while (backlog_->sent() < opts_.max_inflight_batches &&
               (opts_.delivery == DeliveryMode::Broker ||
                backlog_->sent() + backlog_->awaiting_receipt() < opts_.max_unconfirmed_batches)) {
            ClosedBatch* b = backlog_->next_unsent();
            if (!b) return;
            if (!rate_.try_take(now)) {
                send_retry_at_ = rate_.next_available(now);
                return;
            }
            const std::uint64_t seq = b->seq;
            try {
                // Direct: the acknowledgement reaches the batcher without the dispatcher thread,
                // so a flush() made from a callback is not waiting for itself.
                client_.publish(
                    b->topic, b->payload, 1, false,
                    [weak = weak_from_this(), seq](std::uint64_t, Status status) {
                        if (auto self = weak.lock()) self->queue_ack(seq, status);
                    },
                    Delivery::Direct);
            } catch (const Error& e) {
                client_.log(LogLevel::Debug, std::string("datapoints: publish deferred: ") + e.what());
                send_retry_at_ = now + kPublishRetry;
                return;
            }
            backlog_->mark_sent(seq);
            ++stats_sent_;
        }
    }

    void queue_ack(std::uint64_t seq, Status status) {
        std::lock_guard<std::mutex> lock(mu_);
        acks_.emplace_back(seq, status);
        poke_ = true;
        timer_.poke();
    }

    void on_ack(std::uint64_t seq, Status status) {
        if (status == Status::Ok) {
            if (opts_.delivery == DeliveryMode::Broker) {
                if (const auto removed = backlog_->remove(seq)) {
                    ++acked_batches_;
                    acked_points_ += removed->points;
                }
            } else if (const auto points = backlog_->mark_broker_acked(seq, Clock::now() + opts_.receipt_timeout)) {
                ++acked_batches_;
                acked_points_ += *points;
            }
            return;
        }
        // Not acknowledged (timeout, dropped or canceled by the client): send it again.
        backlog_->mark_unsent(seq);
        client_.log(LogLevel::Debug, "datapoints: batch " + std::to_string(seq) + " will be sent again (" +
                                         status_name(status) + ")");
    }

    void expire_receipts(Clock::time_point now) {
        const std::size_t expired = backlog_->expire_receipts(now);
        if (expired == 0) return;
        receipt_timeouts_ += expired;
        client_.log(LogLevel::Warning, "datapoints: " + std::to_string(expired) + " batch(es) acknowledged by the "
                                           "broker got no receipt within " + std::to_string(opts_.receipt_timeout.count()) +
                                           " ms and will be sent again (is the sink running? a sink that sends no "
                                           "receipts needs delivery mode 'broker')");
    }

    void publish_summary() {  // under mu_
        stats_.batches = stats_batches_;
        stats_.batched = stats_batched_;
        stats_.sent = stats_sent_;
        stats_.acked_batches = acked_batches_;
        stats_.acked_points = acked_points_;
        stats_.confirmed_batches = confirmed_batches_;
        stats_.confirmed_points = confirmed_points_;
        stats_.receipt_timeouts = receipt_timeouts_;
        stats_.receipts_ignored = receipts_ignored_;
        stats_.dropped_points = dropped_points_;
        stats_.dropped_batches = dropped_batches_;
        std::uint64_t held_points = 0, held_bytes = 0;
        for (const auto& b : held_) {
            held_points += b.points;
            held_bytes += b.payload.size();
        }
        stats_.backlog_batches = backlog_->size() + held_.size();
        stats_.backlog_points = backlog_->points() + held_points;
        stats_.backlog_bytes = backlog_->bytes() + held_bytes;
        stats_.spooled_bytes = backlog_->spooled_bytes();
        open_points_ = assembler_.open_points();
        oldest_unacked_ = backlog_->oldest_seq();
        if (!held_.empty() && (!oldest_unacked_ || held_.front().seq < *oldest_unacked_))
            oldest_unacked_ = held_.front().seq;
        backlog_full_ = !held_.empty();
    }

    // Completes the flush_start() operations whose batches are all acknowledged. Under mu_;
    // finish_operation() only posts to the dispatcher.
    void finish_flush_ops_locked(bool stopping) {
        const bool acked = !oldest_unacked_ || *oldest_unacked_ >= flush_target_;
        for (auto it = flush_ops_.begin(); it != flush_ops_.end();) {
            if (stopping) {
                client_.finish_operation(it->second, OperationResult{Status::Canceled, "flush: the datapoint pipeline is shutting down", ""});
            } else if (flush_handled_ >= it->first && acked) {
                client_.finish_operation(it->second, OperationResult{});
            } else {
                ++it;
                continue;
            }
            it = flush_ops_.erase(it);
        }
    }

    void finish_at_stop() {
        std::uint64_t lost = 0;
        for (const auto& b : held_) lost += b.points;  // never admitted: not on disk either
        if (!backlog_->durable()) lost += backlog_->points();
        backlog_->sync_if_due();
        if (lost == 0) return;
        {
            std::lock_guard<std::mutex> lock(mu_);
            dropped_points_ += lost;
            stats_.dropped_points = dropped_points_;
        }
        client_.log(LogLevel::Warning, "datapoints: " + std::to_string(lost) +
                                           " unacknowledged point(s) discarded at shutdown (no spool); "
                                           "call flush() before destroying to wait for them");
    }

    Client& client_;
    const DatapointOptions opts_;

    mutable std::mutex mu_;
    std::condition_variable room_;      // record() under the Block policy
    std::condition_variable progress_;  // flush()
    detail::SeriesRegistry series_;
    detail::WallClock clock_;  // the timestamps of points recorded without one
    detail::PointBuffer pending_;
    bool poke_ = false;
    // When the batcher wakes by itself next; time_point::min() while it runs (under mu_).
    Clock::time_point batcher_sleeps_until_ = Clock::time_point::min();
    bool wake_for_linger_ = false;  // between note_appending() and note_appended()
    bool stop_ = false;
    bool backlog_full_ = false;
    std::string spool_error_;     // under mu_: the last spool write error, until a write succeeds
    bool spool_failing_ = false;  // batcher thread only: spool_error_ is set
    std::uint64_t flush_requested_ = 0;
    std::uint64_t flush_handled_ = 0;
    std::uint64_t flush_target_ = 0;  // batches below this seq were closed when a flush was handled
    std::multimap<std::uint64_t, std::uint64_t> flush_ops_;  // flush_start() operations by generation
    std::optional<std::uint64_t> oldest_unacked_;
    std::uint64_t open_points_ = 0;
    std::vector<std::pair<std::uint64_t, Status>> acks_;
    std::vector<std::string> receipts_;  // payloads handed over by the network thread
    std::uint64_t receipts_overflowed_ = 0;
    std::map<std::string, DropEvent> unreported_drops_;  // by reason
    Clock::time_point last_drop_report_{};
    DatapointStats stats_;

    // Batcher thread only.
    std::unique_ptr<detail::Backlog> backlog_;
    detail::BatchAssembler assembler_;
    std::uint64_t next_seq_;
    std::vector<std::string> names_;
    std::deque<ClosedBatch> held_;  // closed, waiting for room in the backlog
    detail::RateLimiter rate_;
    std::optional<Clock::time_point> send_retry_at_;
    std::uint64_t stats_batches_ = 0, stats_batched_ = 0, stats_sent_ = 0;
    std::uint64_t acked_batches_ = 0, acked_points_ = 0, dropped_points_ = 0, dropped_batches_ = 0;
    std::uint64_t confirmed_batches_ = 0, confirmed_points_ = 0, receipt_timeouts_ = 0, receipts_ignored_ = 0;
    // What a pass takes from under mu_; members so that their buffers are reused from pass to pass.
    detail::PointBuffer work_;
    std::vector<std::pair<std::uint64_t, Status>> taken_acks_;
    std::vector<std::string> taken_receipts_;
    bool finished_ = false;  // the last pass (with stop_) has run

    std::uint64_t listener_ = 0;
    std::uint64_t receipt_sub_ = 0;
    // Last: destroyed first, so no pass runs on a member already destroyed.
    detail::TimedLoop timer_;
};

// ---- Datapoints ------------------------------------------------------------------------------

namespace {

[[noreturn]] __attribute__((noinline, cold)) void reject_non_finite() {
    throw Error(Status::InvalidArgument, "record: the value is not a finite number");
}

inline void check_finite(double v) {
    if (!std::isfinite(v)) reject_non_finite();
}

}  // namespace

Datapoints::Datapoints(Client& client, DatapointOptions options)
    : impl_(std::make_shared<Impl>(client, std::move(options))) {
    impl_->start();
}

Datapoints::~Datapoints() { impl_->shutdown(); }

void Datapoints::record(std::string_view name, double value, std::int64_t ts) {
    check_finite(value);
    impl_->append_point(name, value, ts == kNow ? nullptr : &ts);
}

void Datapoints::record(std::string_view name, std::int64_t value, std::int64_t ts) {
    impl_->append_point(name, value, ts == kNow ? nullptr : &ts);
}

void Datapoints::record(std::string_view name, bool value, std::int64_t ts) {
    impl_->append(name, 1, ts == kNow ? nullptr : &ts, [value](PendingPoint& p, detail::PointBuffer&, std::size_t) {
        p.kind = ValueKind::Bool;
        p.b = value;
    });
}

void Datapoints::record(std::string_view name, std::string_view value, std::int64_t ts) {
    const DatapointValue checked{std::string(value)};
    validate_value(checked);
    impl_->check_fits(name, checked, 6 * value.size() + 2);  // JSON escapes a byte in at most 6
    impl_->append(name, 1, ts == kNow ? nullptr : &ts, [value](PendingPoint& p, detail::PointBuffer& b, std::size_t) {
        p.kind = ValueKind::String;
        p.ref = static_cast<std::uint32_t>(b.strings.size());
        b.strings.emplace_back(value);
    });
}

void Datapoints::record(std::string_view name, const nlohmann::json& object, std::int64_t ts) {
    const DatapointValue checked{object};
    validate_value(checked);
    // CBOR may take up to 9 bytes for a number that JSON writes in 4 ("0.1,").
    impl_->check_fits(name, checked, 3 * object.dump().size());
    impl_->append(name, 1, ts == kNow ? nullptr : &ts, [&object](PendingPoint& p, detail::PointBuffer& b, std::size_t) {
        p.kind = ValueKind::Object;
        p.ref = static_cast<std::uint32_t>(b.objects.size());
        b.objects.push_back(object);
    });
}

void Datapoints::record(std::string_view name, const DatapointValue& value, std::int64_t ts) {
    std::visit([&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>)
            record(name, std::string_view(v), ts);
        else
            record(name, v, ts);
    }, value);
}

Datapoints::SeriesId Datapoints::series(std::string_view name) { return SeriesId{impl_->series_id(name)}; }

void Datapoints::record(SeriesId series, double value, std::int64_t ts) {
    check_finite(value);
    impl_->append_points(
        1, ts == kNow ? nullptr : &ts, [series](std::size_t) { return series.value; },
        [value](std::size_t) { return value; });
}

void Datapoints::record(SeriesId series, std::int64_t value, std::int64_t ts) {
    impl_->append_points(
        1, ts == kNow ? nullptr : &ts, [series](std::size_t) { return series.value; },
        [value](std::size_t) { return value; });
}

void Datapoints::record_points(const SeriesId* series, const double* values, const std::int64_t* ts, std::size_t n) {
    if (n > 0 && (!series || !values)) throw Error(Status::InvalidArgument, "record_points: series or values is null");
    for (std::size_t i = 0; i < n; ++i) check_finite(values[i]);
    impl_->append_points(
        n, ts, [series](std::size_t i) { return series[i].value; }, [values](std::size_t i) { return values[i]; });
}

void Datapoints::record_many(std::string_view name, const double* values, const std::int64_t* ts, std::size_t n) {
    if (n > 0 && !values) throw Error(Status::InvalidArgument, "record_many: values is null");
    for (std::size_t i = 0; i < n; ++i) check_finite(values[i]);
    impl_->append_run(name, values, ts, n);
}

void Datapoints::record_many(std::string_view name, const std::int64_t* values, const std::int64_t* ts, std::size_t n) {
    if (n > 0 && !values) throw Error(Status::InvalidArgument, "record_many: values is null");
    impl_->append_run(name, values, ts, n);
}

void Datapoints::flush(milliseconds timeout) { impl_->flush(timeout); }
bool Datapoints::cancel_operation(std::uint64_t id) { return impl_->client().cancel_operation(id); }
std::uint64_t Datapoints::flush_start(milliseconds timeout, OperationCallback done) {
    return impl_->flush_start(timeout, std::move(done));
}
DatapointStats Datapoints::stats() const { return impl_->stats(); }

}  // namespace twinlink
