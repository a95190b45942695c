// twinlink/datapoints.hpp — recording telemetry and sending it in batches.
//
// record() appends a point to an in-memory buffer and returns: it never waits for the network
// (only the Block backpressure policy makes it wait, and only for its timeout). A batcher encodes
// the points into batches, closes a batch on whichever limit comes first (points, encoded bytes,
// linger time), gives it a UUIDv7 batch id and the next sequence number, writes it to the spool
// when there is one, and publishes it at QoS 1 through the Client. The batcher is a thread owned by
// the Datapoints object, or, when the client has a Runtime (ClientOptions::runtime), work run on
// the runtime's threads: pipelines on a runtime add no thread. A batch leaves the device (memory
// and spool) only once it is delivered: by default when the sink's receipt says it is stored
// (DeliveryMode::Receipt), or at the broker's PUBACK (DeliveryMode::Broker). A batch whose publish
// fails or times out, or whose receipt does not come in time, is sent again; the sink drops the
// duplicates.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "twinlink/client.hpp"
#include "twinlink/datapoint.hpp"
#include "twinlink/spool_options.hpp"

namespace twinlink {

/// What happens when the backlog (batches not yet acknowledged, plus points not yet batched) is full.
enum class BackpressurePolicy : int {
    DropOldest = 0,  ///< the oldest unacknowledged batch is discarded to make room (counted, reported)
    DropNewest = 1,  ///< record() refuses the new point with Error(QueueFull) (counted, reported)
    Block = 2,       ///< record() waits up to block_timeout for room, then Error(Timeout)
};

/// Reported when points were discarded, on the client's dispatcher thread, at most once a second
/// per reason: one event sums up every drop since the previous one (a flood of refused points is
/// one event and one log line a second, not one per point).
struct DropEvent {
    BackpressurePolicy policy;
    std::uint64_t points = 0;   ///< points discarded since the previous event of this reason
    std::uint64_t batches = 0;  ///< whole batches among them (DropOldest), 0 otherwise
    std::string reason;
};

/// When a batch counts as delivered, and leaves the device (docs/reliability.md).
enum class DeliveryMode : int {
    /// At the broker's PUBACK: for sinks that send no receipts. A broker that loses a batch after
    /// acknowledging it (a crash without persistence, a full queue for an offline subscriber)
    /// loses it for good.
    Broker = 0,
    /// When the sink's receipt says the batch is stored (`twinlink serve` and DatapointSink send
    /// receipts). A batch acknowledged by the broker and not confirmed within receipt_timeout is
    /// sent again. The default: nothing is freed before it is in the sink's database.
    Receipt = 1,
};

struct DatapointOptions {
    /// Device id written into every batch; required ([A-Za-z0-9_:.-], 1..128 bytes).
    std::string device;
    /// Topic of the batches. "{device}" is replaced; "{series}" routes every series to its own
    /// topic (each batch then holds one series). Default "tl/{device}/dp".
    std::string topic = "tl/{device}/dp";
    Encoding encoding = Encoding::Json;
    std::size_t batch_max_points = 5000;
    /// Encoded size limit of a batch. Default 64 KiB: Paho + mosquitto QoS 1 throughput collapses
    /// above ~128 KiB per message. At most 256 MiB.
    std::size_t batch_max_bytes = 64 * 1024;
    std::chrono::milliseconds linger{500};  ///< a batch closes at most this long after its first point
    /// Durable spool; without it unacknowledged batches are kept in memory only.
    std::optional<SpoolOptions> spool;
    /// Bound of the in-memory backlog without a spool (with one, spool->max_bytes bounds it).
    std::size_t max_backlog_bytes = 16u * 1024u * 1024u;
    /// Points recorded but not yet batched, beyond which the policy applies to record().
    std::size_t max_pending_points = 1000000;
    BackpressurePolicy backpressure = BackpressurePolicy::DropOldest;
    std::chrono::milliseconds block_timeout{1000};
    /// Batches published and not yet acknowledged by the broker (those awaiting a receipt are not
    /// counted: the backlog bound limits them).
    std::size_t max_inflight_batches = 16;
    DeliveryMode delivery = DeliveryMode::Receipt;
    /// With DeliveryMode::Receipt: a batch acknowledged by the broker and not confirmed by a
    /// receipt this long after is sent again.
    std::chrono::milliseconds receipt_timeout{10000};
    /// With DeliveryMode::Receipt: batches sent and not yet confirmed by a receipt, at most. This
    /// is the flow control between device and sink: a device draining a large backlog runs at
    /// the sink's pace instead of piling batches up at the broker, where they would outwait
    /// receipt_timeout and be sent twice.
    std::size_t max_unconfirmed_batches = 64;
    /// Where the sink's receipts arrive; "{device}" is replaced. Subscribed to at QoS 1 with
    /// DeliveryMode::Receipt.
    std::string receipt_topic = "tl/{device}/receipts";
    /// Batches published per second at most (0: no limit), so a fleet draining its backlogs after
    /// a broker outage does not hammer the broker.
    double max_batches_per_second = 0;
    std::function<void(const DropEvent&)> on_drop;
};

struct DatapointStats {
    std::uint64_t recorded = 0;         ///< points accepted by record()
    std::uint64_t batched = 0;          ///< points in closed batches
    std::uint64_t batches = 0;          ///< batches closed
    std::uint64_t sent = 0;             ///< batch publishes started (resends included)
    std::uint64_t acked_batches = 0;    ///< batches acknowledged by the broker (each counted once)
    std::uint64_t acked_points = 0;
    std::uint64_t confirmed_batches = 0;///< batches the sink's receipt confirmed stored (DeliveryMode::Receipt)
    std::uint64_t confirmed_points = 0;
    std::uint64_t receipt_timeouts = 0; ///< batches sent again because no receipt came in time
    /// Receipts not applied: malformed, for another device, or beyond the 1,024 waiting to be read
    /// (each is also logged at Warning level).
    std::uint64_t receipts_ignored = 0;
    std::uint64_t dropped_points = 0;   ///< discarded by the backpressure policy or at shutdown
    std::uint64_t dropped_batches = 0;
    std::uint64_t rejected_points = 0;  ///< refused by record() (DropNewest, Block timeout)
    std::uint64_t recovered_batches = 0;///< found unacknowledged in the spool at start
    std::uint64_t pending_points = 0;   ///< recorded, not yet in a closed batch
    std::uint64_t backlog_batches = 0;  ///< closed, not yet delivered (see DeliveryMode)
    std::uint64_t backlog_points = 0;
    std::uint64_t backlog_bytes = 0;
    std::uint64_t spooled_bytes = 0;
};

class Datapoints {
public:
    /// Timestamp meaning "now" (taken inside record()).
    static constexpr std::int64_t kNow = std::numeric_limits<std::int64_t>::min();

    /// Validates the options (Error(InvalidArgument)), opens the spool (Error(Io), Error(WrongState)
    /// when another process holds it) and queues what it holds for sending. `client` must outlive
    /// this object.
    Datapoints(Client& client, DatapointOptions options);
    /// Closes the open batches into the backlog and stops the batcher. With a spool, everything
    /// unacknowledged stays on disk for the next start; without one it is counted as dropped and
    /// logged. Call flush() first to wait for acknowledgements.
    ~Datapoints();

    Datapoints(const Datapoints&) = delete;
    Datapoints& operator=(const Datapoints&) = delete;

    /// Record one point. Throws Error(InvalidArgument) for a bad name or a non-finite number or a
    /// JSON value that is not an object; Error(QueueFull) or Error(Timeout) per the policy;
    /// Error(Io) while the spool cannot be written (held batches fill the room; see datapoints.h).
    void record(std::string_view name, double value, std::int64_t timestamp_ms = kNow);
    void record(std::string_view name, std::int64_t value, std::int64_t timestamp_ms = kNow);
    void record(std::string_view name, int value, std::int64_t timestamp_ms = kNow) {
        record(name, static_cast<std::int64_t>(value), timestamp_ms);
    }
    void record(std::string_view name, bool value, std::int64_t timestamp_ms = kNow);
    void record(std::string_view name, std::string_view value, std::int64_t timestamp_ms = kNow);
    void record(std::string_view name, const char* value, std::int64_t timestamp_ms = kNow) {
        record(name, std::string_view(value), timestamp_ms);
    }
    void record(std::string_view name, const std::string& value, std::int64_t timestamp_ms = kNow) {
        record(name, std::string_view(value), timestamp_ms);
    }
    void record(std::string_view name, const nlohmann::json& object, std::int64_t timestamp_ms = kNow);
    void record(std::string_view name, const DatapointValue& value, std::int64_t timestamp_ms = kNow);

    /// A series name registered once with series(): record() with it skips validating and looking
    /// up the name, which is most of the cost of recording one point. Valid for the life of this
    /// pipeline only.
    struct SeriesId {
        std::uint32_t value;
    };
    /// Registers `name` (validated as record() does; Error(InvalidArgument)) and returns its id.
    /// The same name gives the same id. Cheap to call again, but the point is to call it once.
    SeriesId series(std::string_view name);
    /// As record() with the name; Error(InvalidArgument) for an id that series() did not return.
    void record(SeriesId series, double value, std::int64_t timestamp_ms = kNow);
    void record(SeriesId series, std::int64_t value, std::int64_t timestamp_ms = kNow);
    /// Records `count` points, point i of series `series[i]` with `values[i]` at `timestamps_ms[i]`
    /// (null: all "now"): interleaved series in one call, as a binding that buffers single
    /// record() calls hands them over. All or nothing.
    void record_points(const SeriesId* series, const double* values, const std::int64_t* timestamps_ms,
                       std::size_t count);

    /// Record `count` points of one series at once. `timestamps_ms` may be null (all "now").
    /// All or nothing: a bad value rejects the whole call.
    void record_many(std::string_view name, const double* values, const std::int64_t* timestamps_ms,
                     std::size_t count);
    void record_many(std::string_view name, const std::int64_t* values, const std::int64_t* timestamps_ms,
                     std::size_t count);

    /// Closes the open batches now and waits until every point recorded before the call is
    /// delivered (confirmed by a receipt, or acknowledged by the broker with DeliveryMode::Broker)
    /// or dropped by the policy. Throws Error(Timeout) naming what is still outstanding. Safe to
    /// call from several threads, and from the client's callbacks: deliveries reach the pipeline
    /// without the dispatcher thread (on a client with a Runtime the batcher runs on the
    /// runtime's network threads, not on its dispatch threads).
    void flush(std::chrono::milliseconds timeout);
    /// As flush(), without a waiting thread: returns an operation id at once and completes `done`
    /// on the client's dispatcher thread, exactly once: Ok when every point recorded before the
    /// call is acknowledged, Timeout, or Canceled (Client::cancel_operation(), or the pipeline
    /// destroyed). The batcher triggers it as acknowledgements arrive.
    std::uint64_t flush_start(std::chrono::milliseconds timeout, OperationCallback done);
    /// Client::cancel_operation() of the client this pipeline is on.
    bool cancel_operation(std::uint64_t id);

    DatapointStats stats() const;

    class Impl;

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace twinlink
