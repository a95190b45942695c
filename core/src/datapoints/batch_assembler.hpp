// BatchAssembler: turns pending points into closed batches, one open batch per topic, closing a
// batch on whichever limit comes first: points, encoded bytes, or linger time.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "datapoints/point_buffer.hpp"
#include "twinlink/batch_codec.hpp"
#include "twinlink/datapoint.hpp"

namespace twinlink::detail {

struct ClosedBatch {
    std::uint64_t seq = 0;
    std::string batch_id;
    std::string topic;
    std::string payload;
    std::uint64_t points = 0;
};

struct BatchLimits {
    std::size_t max_points;
    std::size_t max_bytes;
    std::chrono::milliseconds linger;
};

class BatchAssembler {
public:
    using Clock = std::chrono::steady_clock;

    /// `topic_template` has "{device}" already replaced; "{series}" in it routes per series.
    BatchAssembler(Encoding encoding, std::string device, std::string topic_template, BatchLimits limits);

    /// Adds every point of `buffer` (whose series names are `names`), appending the batches this
    /// closes to `out`. Sequence numbers are taken from `next_seq`.
    void add(const PointBuffer& buffer, const std::vector<std::string>& names, std::uint64_t& next_seq,
             std::vector<ClosedBatch>& out);
    /// Closes the batches whose linger time has passed at `now`.
    void close_expired(Clock::time_point now, std::uint64_t& next_seq, std::vector<ClosedBatch>& out);
    void close_all(std::uint64_t& next_seq, std::vector<ClosedBatch>& out);

    /// When the next open batch must close, if one is open.
    std::optional<Clock::time_point> next_deadline() const;
    std::uint64_t open_points() const;

private:
    struct OpenBatch {
        explicit OpenBatch(Encoding e, const std::string& device) : encoder(e, device) {}
        BatchEncoder encoder;
        Clock::time_point opened_at;
        std::int64_t min_ts = 0, max_ts = 0;  // of the points in the batch
        // Bytes that points may still add (by their cost_estimate()) before the batch must be
        // measured again: the exact size_estimate() is taken only when a point's cost exceeds it,
        // a few dozen times per batch instead of once per point.
        std::size_t slack = 0;
    };
    OpenBatch& batch_for(const std::string& topic);
    void close(const std::string& topic, OpenBatch& batch, std::uint64_t& next_seq, std::vector<ClosedBatch>& out);
    void add_run(const PendingPoint& p, const PointBuffer& buffer, const std::string& series, const std::string& key,
                 OpenBatch& batch, std::uint64_t& next_seq, std::vector<ClosedBatch>& out);
    std::size_t cost_estimate(const PendingPoint& p, const PointBuffer& buffer) const;
    std::size_t shift_cost(const OpenBatch& batch, std::int64_t ts) const;

    Encoding encoding_;
    std::string device_;
    std::string topic_template_;
    bool per_series_;
    BatchLimits limits_;
    std::map<std::string, OpenBatch> open_;  // by topic
};

}  // namespace twinlink::detail
