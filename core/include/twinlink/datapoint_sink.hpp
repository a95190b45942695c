// twinlink/datapoint_sink.hpp — the cloud side of datapoints: a store of points and the sink that
// receives the batches devices publish and writes them into it.
//
// This is what `twinlink serve` runs next to the shadow service. The DatapointSink subscribes to
// the datapoint topics of every device, reads each batch with decode_batch() (JSON or CBOR), drops
// the redeliveries that at-least-once delivery brings, and stores the points in a DatapointStore
// (SQLite), one transaction per batch.
//
//     Database db("/var/lib/twinlink/cloud.db");
//     DatapointStore store(db);
//     Client client(options);
//     client.connect(10s);
//     DatapointSink sink(client, store);          // storing from here on
//     ...
//     for (const auto& p : store.tail("sensor-42", 20)) show(p.point);
//
// Duplicates (docs/protocol.md, "Duplicates"). A batch is identified by (device, seq), with the
// batch id as a check: a (device, seq) already stored with the same batch id is a redelivery and is
// dropped; one stored with a different batch id is new data from a device that reused a sequence
// number (it lost its spool, or a power loss took appends that had not reached its disk), and is
// stored too, so that nothing a device sent is ever lost.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "twinlink/batch_codec.hpp"
#include "twinlink/client.hpp"
#include "twinlink/database.hpp"
#include "twinlink/datapoint.hpp"

namespace twinlink {

class PostgresDatabase;

namespace detail {
class DatapointStorage;
}

/// A point as the store gives it back.
struct StoredPoint {
    /// Increases in the order points were stored (SQLite's rowid); a cursor for "what is new".
    std::int64_t id = 0;
    Datapoint point;  ///< the series is point.name
};

/// What insert() did with a batch.
enum class InsertOutcome : int {
    Stored = 0,     ///< (device, seq) not seen before: the points were stored
    Duplicate = 1,  ///< (device, seq) seen with the same batch id: a redelivery, nothing stored
    SeqReused = 2,  ///< (device, seq) seen with another batch id: new data, stored
};

/// Counters of a DatapointStore since it was constructed.
struct DatapointStoreStats {
    std::uint64_t batches = 0;     ///< batches stored (SeqReused ones included)
    std::uint64_t points = 0;      ///< points stored
    std::uint64_t duplicates = 0;  ///< redeliveries dropped
    std::uint64_t seq_reused = 0;  ///< batches stored although their (device, seq) was known
};

/// Datapoints by device and series in a Database (module "datapoints"):
///
///   datapoints_batches  one row per stored batch: device, seq, batch_id, received_at (ms since
///                       the epoch), points; unique on (device, seq, batch_id)
///   datapoints_points   one row per point: id, batch (the batch's row), device, series, ts (ms
///                       since the epoch), kind ('double', 'int', 'bool', 'string', 'object') and
///                       value, typed: REAL for a double, INTEGER for an int or a bool (0/1), TEXT
///                       for a string, the JSON text for an object; indexed by (device, series, ts)
///                       and (device, ts)
///
/// so the data can be read with plain SQL too (`SELECT ts, value FROM datapoints_points WHERE
/// device = 'sensor-42' AND series = 'temp'`). A seq is stored as the int64 with its bits.
///
/// The same tables, with the same migrations, on PostgreSQL (value is TEXT there: a double in
/// its shortest exact form, an int or a bool as digits), where several stores (processes) may
/// write at once: a batch is stored by one of them only.
///
/// Every member is thread-safe (it runs under the database's mutex). The database must outlive
/// the store. Failures of the database throw Error(Io).
class DatapointStore {
public:
    /// Creates or upgrades the module's tables. Throws Error(Io).
    explicit DatapointStore(Database& db);
    explicit DatapointStore(PostgresDatabase& db);
    ~DatapointStore();
    DatapointStore(const DatapointStore&) = delete;
    DatapointStore& operator=(const DatapointStore&) = delete;

    /// Stores a batch and its points in one transaction, unless it is a redelivery (see
    /// InsertOutcome). A batch without points is recorded too, so its redeliveries are recognised.
    InsertOutcome insert(const DecodedBatch& batch);
    /// insert(), true when the points were stored, false for a redelivery.
    bool insert_batch(const DecodedBatch& batch) { return insert(batch) != InsertOutcome::Duplicate; }

    /// The latest `n` points of `device` by timestamp, oldest first (newest last). Points with the
    /// same timestamp come in the order they were stored.
    std::vector<StoredPoint> tail(std::string_view device, std::size_t n);

    /// The points of one series with since_ms <= timestamp <= until_ms, in timestamp order (then
    /// storage order), the first `limit` of them (0: all).
    std::vector<StoredPoint> query(std::string_view device, std::string_view series,
                                   std::int64_t since_ms = std::numeric_limits<std::int64_t>::min(),
                                   std::int64_t until_ms = std::numeric_limits<std::int64_t>::max(),
                                   std::size_t limit = 0);

    /// Points of `device` stored after the one with id `after_id`, in storage order, at most
    /// `limit` (0: all). For following a device as its data arrives.
    std::vector<StoredPoint> stored_after(std::string_view device, std::int64_t after_id, std::size_t limit = 0);

    /// The id of the last point stored for `device`; 0 when it has none. With stored_after(), a
    /// cursor that starts from "now".
    std::int64_t last_id(std::string_view device);
    /// Points stored for `device`.
    std::uint64_t count(std::string_view device);
    /// The series of `device`, sorted.
    std::vector<std::string> series(std::string_view device);
    /// The devices with at least one stored batch, sorted.
    std::vector<std::string> devices();

    DatapointStoreStats stats() const;

private:
    std::unique_ptr<detail::DatapointStorage> storage_;
    mutable std::mutex mu_;
    DatapointStoreStats stats_;  // under mu_
};

struct DatapointSinkOptions {
    /// Filters subscribed to at QoS 1. The first '+' level of a filter is the device id: a batch on
    /// a topic matched there whose `device` is another is rejected (a device may only write its own
    /// data, as far as the broker's topic permissions go). The default is the twinlink profile:
    /// batches of every device, on one topic or on one topic per series.
    std::vector<std::string> filters = {"tl/+/dp", "tl/+/dp/+"};
    /// Larger messages are rejected without being decoded; decoding takes about 100 bytes of
    /// memory per point, so this bounds what one message can cost.
    std::size_t max_batch_bytes = 16u * 1024u * 1024u;
    /// Where a delivery receipt goes once batches are stored (docs/protocol.md, "Delivery
    /// receipts"); "{device}" is replaced by the batch's device. Empty: no receipts, for devices
    /// that use DeliveryMode::Broker only.
    std::string receipt_topic = "tl/{device}/receipts";
    /// MQTT 5 shared subscription group: when set, the filters are subscribed to as
    /// "$share/{share_group}/{filter}", and the broker gives each batch to one sink of the group.
    /// The client must use MQTT 5. Empty: plain subscriptions.
    std::string share_group;
};

struct DatapointSinkStats {
    std::uint64_t batches = 0;     ///< batches stored (seq_reused ones included)
    std::uint64_t points = 0;      ///< points stored
    std::uint64_t duplicates = 0;  ///< redeliveries dropped
    std::uint64_t seq_reused = 0;  ///< batches stored although their (device, seq) was known
    std::uint64_t rejected = 0;    ///< malformed, oversized, or from another device than the topic's
    std::uint64_t failed = 0;      ///< well-formed batches the store could not write (logged)
    std::uint64_t receipts = 0;    ///< receipt messages published (each covers one or more batches)
};

/// Receives the datapoint batches of every device on one Client and stores them.
///
/// Messages are handled one at a time on the client's dispatcher thread. A message that is not a
/// valid batch is rejected as a whole (counted, logged with the reason at Warning level); bad input
/// never stops the sink. A batch the store cannot write (disk full, say) is counted in `failed`
/// and logged at Error level, and gets no receipt: a device that waits for receipts sends it again.
///
/// Receipts: after a batch is committed (or recognised as a redelivery of a stored one), its seq
/// is noted for its device; a task queued behind the messages already waiting sends one receipt
/// per device for all of them, at QoS 1, so a burst of batches costs a few receipts.
///
/// The sink only receives while its client is subscribed: give the client a persistent session so
/// that the broker keeps batches published while it is disconnected (docs/reliability.md).
class DatapointSink {
public:
    /// Subscribes to the filters (waiting for the broker when connected, else they are subscribed at
    /// connect). `client` and `store` must outlive the sink. Throws Error(InvalidArgument) for a bad
    /// filter or no filter, and the errors of Client::subscribe.
    DatapointSink(Client& client, DatapointStore& store, DatapointSinkOptions options = {});
    /// Unsubscribes; after it returns no batch is being handled. Never throws.
    ~DatapointSink();

    DatapointSink(const DatapointSink&) = delete;
    DatapointSink& operator=(const DatapointSink&) = delete;

    /// Counters since construction. Any thread.
    DatapointSinkStats stats() const;
    const DatapointSinkOptions& options() const noexcept;

    class Impl;

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace twinlink
