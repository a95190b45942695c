#include "datapoints/batch_assembler.hpp"

#include <algorithm>

#include "twinlink/uuid7.hpp"

#include "datapoints/compact_codec.hpp"

namespace twinlink::detail {
namespace {

// Worst-case bytes a point adds beside its value: the timestamp delta and separators.
constexpr std::size_t kPointOverhead = 24;
// Room for the batch envelope (version, device, batch id, seq, t0, series headers).
constexpr std::size_t kEnvelope = 512;

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (std::size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
        s.replace(pos, from.size(), to);
    return s;
}

}  // namespace

BatchAssembler::BatchAssembler(Encoding encoding, std::string device, std::string topic_template, BatchLimits limits)
    : encoding_(encoding),
      device_(std::move(device)),
      topic_template_(std::move(topic_template)),
      per_series_(topic_template_.find("{series}") != std::string::npos),
      limits_(limits) {
    // A compact batch carries at most kMaxCompactPoints (its decoder's bound).
    if (encoding_ == Encoding::Compact) limits_.max_points = std::min(limits_.max_points, kMaxCompactPoints);
}

BatchAssembler::OpenBatch& BatchAssembler::batch_for(const std::string& topic) {
    auto it = open_.find(topic);
    if (it == open_.end()) it = open_.emplace(std::piecewise_construct, std::forward_as_tuple(topic),
                                              std::forward_as_tuple(encoding_, device_)).first;
    return it->second;
}

std::size_t BatchAssembler::cost_estimate(const PendingPoint& p, const PointBuffer& buffer) const {
    switch (p.kind) {
        case ValueKind::Bool: return kPointOverhead + 6;
        case ValueKind::String: return kPointOverhead + 6 * buffer.strings[p.ref].size() + 2;  // \u00XX escapes
        case ValueKind::Doubles:
        case ValueKind::Ints: return kPointOverhead;  // runs are costed point by point in add_run()
        case ValueKind::Object: {
            // JSON writes the object as dump() does; CBOR may take up to 9 bytes for a number that
            // JSON writes in 4 ("0.1,").
            const std::size_t text = buffer.objects[p.ref].dump().size();
            return kPointOverhead + (encoding_ == Encoding::Cbor ? 3 : 2) * text;
        }
    }
    return kPointOverhead;
}

// Offsets count from the smallest timestamp, so a point earlier than every other in the batch
// moves them all: each may grow from its narrowest form to the width of the new range.
std::size_t BatchAssembler::shift_cost(const OpenBatch& batch, std::int64_t ts) const {
    if (batch.encoder.points() == 0 || ts >= batch.min_ts) return 0;
    const std::uint64_t range = static_cast<std::uint64_t>(batch.max_ts) - static_cast<std::uint64_t>(ts);
    std::size_t width = 1;  // the narrowest offset takes 1 byte (CBOR) or 1 digit (JSON)
    if (encoding_ == Encoding::Cbor) {
        width = range < 24 ? 1 : range < 256 ? 2 : range < 65536 ? 3 : range <= 0xffffffffu ? 5 : 9;
    } else {
        for (std::uint64_t r = range; r >= 10; r /= 10) ++width;
    }
    return batch.encoder.points() * (width - 1);
}

void BatchAssembler::add(const PointBuffer& buffer, const std::vector<std::string>& names, std::uint64_t& next_seq,
                         std::vector<ClosedBatch>& out) {
    // Without per-series routing there is one topic: look its batch up once, not per point.
    OpenBatch* single = per_series_ ? nullptr : &batch_for(topic_template_);
    std::string topic;
    buffer.for_each([&](const PendingPoint& p) {
        const std::string& series = names[p.series];
        if (!single) topic = replace_all(topic_template_, "{series}", series);
        OpenBatch& batch = single ? *single : batch_for(topic);
        const std::string& key = single ? topic_template_ : topic;
        if (p.kind == ValueKind::Doubles || p.kind == ValueKind::Ints) {
            add_run(p, buffer, series, key, batch, next_seq, out);
            return;
        }
        auto& enc = batch.encoder;
        if (enc.points() > 0) {
            const std::size_t cost = cost_estimate(p, buffer) + shift_cost(batch, p.timestamp_ms);
            if (enc.points() >= limits_.max_points) {
                close(key, batch, next_seq, out);
            } else if (cost > batch.slack) {
                // The same test as ever (size + this point's worst case must stay within
                // max_bytes), with the size measured now.
                const std::size_t used = enc.size_estimate() + kEnvelope;
                batch.slack = used < limits_.max_bytes ? limits_.max_bytes - used : 0;
                if (cost > batch.slack) close(key, batch, next_seq, out);
                else batch.slack -= cost;
            } else {
                batch.slack -= cost;
            }
        }
        if (enc.points() == 0) {
            batch.opened_at = buffer.first_at;
            batch.min_ts = batch.max_ts = p.timestamp_ms;
            batch.slack = 0;  // measured at the next point
        } else {
            batch.min_ts = std::min(batch.min_ts, p.timestamp_ms);
            batch.max_ts = std::max(batch.max_ts, p.timestamp_ms);
        }
        switch (p.kind) {
            case ValueKind::Bool: enc.add(series, p.timestamp_ms, p.b); break;
            case ValueKind::String: enc.add(series, p.timestamp_ms, DatapointValue(buffer.strings[p.ref])); break;
            case ValueKind::Object: enc.add(series, p.timestamp_ms, DatapointValue(buffer.objects[p.ref])); break;
            case ValueKind::Doubles:
            case ValueKind::Ints: break;  // add_run()
        }
    });
}

// A run goes into the batch in slices: as many points as the slack allows at their worst-case
// cost, each slice added with one BatchEncoder::add_many(). The limits are the same as point by
// point: a slice never takes the batch past max_points, nor past max_bytes at the worst case.
void BatchAssembler::add_run(const PendingPoint& p, const PointBuffer& buffer, const std::string& series,
                             const std::string& key, OpenBatch& batch, std::uint64_t& next_seq,
                             std::vector<ClosedBatch>& out) {
    const PointRun& run = buffer.runs[p.ref];
    const bool doubles = p.kind == ValueKind::Doubles;
    const std::int64_t* ts = run.stamps.data();
    const double* dv = run.doubles.data();
    const std::int64_t* iv = run.ints.data();
    const std::size_t count = run.count();
    const std::size_t cost = kPointOverhead + (doubles ? 26 : 21);
    std::int64_t run_min = ts[0];
    for (std::size_t i = 1; i < count; ++i) run_min = std::min(run_min, ts[i]);
    auto& enc = batch.encoder;
    std::size_t i = 0;
    while (i < count) {
        std::size_t take;
        if (enc.points() == 0) {
            batch.opened_at = buffer.first_at;
            batch.min_ts = batch.max_ts = ts[i];
            batch.slack = 0;
            take = 1;  // the first point of a batch always goes in (record() checked that it fits alone)
        } else {
            if (enc.points() >= limits_.max_points) {
                close(key, batch, next_seq, out);
                continue;
            }
            // Moving t0 back to the run's earliest timestamp bounds what any slice can shift.
            const std::size_t shift = shift_cost(batch, run_min);
            auto fitting = [&] { return batch.slack > shift ? (batch.slack - shift) / cost : 0; };
            take = fitting();
            if (take == 0) {
                const std::size_t used = enc.size_estimate() + kEnvelope;
                batch.slack = used < limits_.max_bytes ? limits_.max_bytes - used : 0;
                take = fitting();
                if (take == 0) {
                    close(key, batch, next_seq, out);
                    continue;
                }
            }
            take = std::min({take, count - i, limits_.max_points - enc.points()});
            batch.slack -= take * cost + shift;
        }
        for (std::size_t k = i; k < i + take; ++k) {
            batch.min_ts = std::min(batch.min_ts, ts[k]);
            batch.max_ts = std::max(batch.max_ts, ts[k]);
        }
        if (doubles) enc.add_many(series, ts + i, dv + i, take);
        else enc.add_many(series, ts + i, iv + i, take);
        i += take;
    }
}

void BatchAssembler::close(const std::string& topic, OpenBatch& batch, std::uint64_t& next_seq,
                           std::vector<ClosedBatch>& out) {
    ClosedBatch closed;
    closed.seq = next_seq++;
    closed.batch_id = uuid7();
    closed.topic = topic;
    closed.points = batch.encoder.points();
    closed.payload = batch.encoder.finish(closed.batch_id, closed.seq);
    out.push_back(std::move(closed));
}

void BatchAssembler::close_expired(Clock::time_point now, std::uint64_t& next_seq, std::vector<ClosedBatch>& out) {
    for (auto& [topic, batch] : open_)
        if (batch.encoder.points() > 0 && now >= batch.opened_at + limits_.linger) close(topic, batch, next_seq, out);
}

void BatchAssembler::close_all(std::uint64_t& next_seq, std::vector<ClosedBatch>& out) {
    for (auto& [topic, batch] : open_)
        if (batch.encoder.points() > 0) close(topic, batch, next_seq, out);
}

std::optional<BatchAssembler::Clock::time_point> BatchAssembler::next_deadline() const {
    std::optional<Clock::time_point> earliest;
    for (const auto& [topic, batch] : open_)
        if (batch.encoder.points() > 0 && (!earliest || batch.opened_at + limits_.linger < *earliest))
            earliest = batch.opened_at + limits_.linger;
    return earliest;
}

std::uint64_t BatchAssembler::open_points() const {
    std::uint64_t n = 0;
    for (const auto& [topic, batch] : open_) n += batch.encoder.points();
    return n;
}

}  // namespace twinlink::detail
