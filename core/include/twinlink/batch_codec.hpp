// twinlink/batch_codec.hpp — the datapoint batch: one MQTT message carrying many points of many
// series. The device side writes batches with BatchEncoder; the cloud side and tools read them with
// decode_batch(). docs/protocol.md ("Datapoints") is the authoritative description of the format;
// in short, a batch is one document, columnar by series so that each name appears once:
//
//   {"v":1,"device":"sensor-42","batch":"01936f1e-8a4b-7c3d-9e2f-0123456789ab","seq":17,
//    "t0":1732460000000,"series":{"temp":{"t":[0,12,24],"v":[21.5,21.6,21.75]},
//                                 "door":{"t":[5],"v":[true]}}}
//
//   v       format version, 1
//   device  the device id
//   batch   the batch id, a UUID (the device uses UUIDv7)
//   seq     the device's sequence number of the batch; receivers drop a batch whose (device, seq)
//           they already have with the same batch id (a redelivery)
//   t0      the smallest timestamp in the batch, in ms since the Unix epoch
//   series  name -> {"t": timestamp - t0 for each point (integers >= 0), "v": the values}, the
//           points of a series in the order they were recorded; t and v have the same length
//
// Values are JSON numbers (an integer is an int64, a number with a fraction or exponent a double),
// booleans, strings and objects. CBOR encodes the same document with nlohmann's CBOR mapping
// (definite lengths, doubles as float32 when that is exact, otherwise float64). The compact
// encoding carries the same batch in bytes made for sensor series (docs/protocol.md, "The compact
// encoding"): it starts with the byte 0xD1.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "twinlink/datapoint.hpp"

namespace twinlink {

/// The batch format version that BatchEncoder writes and decode_batch() accepts.
inline constexpr int kBatchFormatVersion = 1;

/// Builds one batch at a time from points added in any order, then writes it in one go.
///
/// Columns are kept per series, so adding a point costs a hash lookup (skipped while the series is
/// the same as the previous point's) and, for JSON, formatting the value once. The encoder is reused
/// across batches: finish() and clear() keep the memory of the series that were in the batch.
///
/// Every add() checks its input (series name on its first use in a batch, value as in
/// validate_value()) and throws Error(InvalidArgument) without changing the batch when it is invalid,
/// so whatever was added can be encoded and decoded again.
///
/// Not thread-safe: one thread at a time (the batcher's) uses an encoder.
class BatchEncoder {
public:
    /// `device` is the device id written into every batch: non-empty UTF-8, else
    /// Error(InvalidArgument).
    BatchEncoder(Encoding encoding, std::string device);
    ~BatchEncoder();
    BatchEncoder(BatchEncoder&&) noexcept;
    BatchEncoder& operator=(BatchEncoder&&) noexcept;
    BatchEncoder(const BatchEncoder&) = delete;
    BatchEncoder& operator=(const BatchEncoder&) = delete;

    Encoding encoding() const noexcept;
    const std::string& device() const noexcept;

    /// Adds a point to `series` at `ts_ms` (ms since the Unix epoch; any int64, in any order).
    /// The typed overloads are the fast path: no variant is built.
    void add(std::string_view series, std::int64_t ts_ms, double value);
    void add(std::string_view series, std::int64_t ts_ms, std::int64_t value);
    void add(std::string_view series, std::int64_t ts_ms, bool value);
    void add(std::string_view series, std::int64_t ts_ms, std::string_view value);
    void add(std::string_view series, std::int64_t ts_ms, const std::string& value) {
        add(series, ts_ms, std::string_view(value));
    }
    void add(std::string_view series, std::int64_t ts_ms, const char* value) {
        add(series, ts_ms, std::string_view(value));
    }
    /// `object` must be a JSON object.
    void add(std::string_view series, std::int64_t ts_ms, const nlohmann::json& object);
    void add(std::string_view series, std::int64_t ts_ms, const DatapointValue& value);
    /// Other integer types (int, unsigned, uint64_t, ...) are int64 points; an unsigned value above
    /// INT64_MAX throws Error(InvalidArgument).
    template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool> &&
                                            !std::is_same_v<T, std::int64_t>, int> = 0>
    void add(std::string_view series, std::int64_t ts_ms, T value) {
        if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::int64_t)) {
            if (value > static_cast<T>(std::numeric_limits<std::int64_t>::max()))
                reject_unsigned(series, static_cast<std::uint64_t>(value));
        }
        add(series, ts_ms, static_cast<std::int64_t>(value));
    }
    void add(std::string_view series, std::int64_t ts_ms, float value) {
        add(series, ts_ms, static_cast<double>(value));
    }

    /// Adds `count` points of one series: `values[i]` at `timestamps_ms[i]`. The same as `count`
    /// add() calls, with the series looked up once; all values are checked first, so a bad one
    /// throws Error(InvalidArgument) before any point is added.
    void add_many(std::string_view series, const std::int64_t* timestamps_ms, const double* values, std::size_t count);
    void add_many(std::string_view series, const std::int64_t* timestamps_ms, const std::int64_t* values,
                  std::size_t count);

    /// Points added since the last finish() or clear().
    std::size_t points() const noexcept;
    /// Series with at least one point in the batch.
    std::size_t series() const noexcept;
    /// An upper bound of the size finish() would return now, whatever the seq; O(1). Only seq (counted
    /// at its widest) and the time offsets are not exact: while timestamps do not go back before the
    /// earliest one so far, the bound is within about 1% of the real size for batches of 50 points or
    /// more. A point earlier than all before it moves t0 and so every offset; those are then bounded
    /// by the widest offset until a recount (amortised O(1) per point), which in the worst orders
    /// measured leaves the bound up to 13% high. For Encoding::Compact the bound is a worst case
    /// (21 bytes for a number, 12 for a boolean, 21 plus its length for a string or object, about
    /// 100 per series): a batch of regular sensor series compresses to a fraction of it. Close the
    /// batch before adding a point would take it past the transport's limit.
    std::size_t size_estimate() const noexcept;

    /// Encodes the batch with id `batch_id` (a UUID, see is_uuid(); else Error(InvalidArgument)) and
    /// sequence number `seq`, then empties the encoder for the next batch. A batch without points is
    /// valid (t0 is then 0).
    std::string finish(std::string_view batch_id, std::uint64_t seq);
    /// Drops the points added so far.
    void clear() noexcept;

private:
    [[noreturn]] static void reject_unsigned(std::string_view series, std::uint64_t value);

    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// A batch read back from the wire.
struct DecodedBatch {
    int version = 0;
    Encoding encoding = Encoding::Json;  ///< the encoding found
    std::string device;
    std::string batch_id;
    std::uint64_t seq = 0;
    /// Grouped by series, the series in the order the document lists them (the order of their first
    /// point in the batch for documents written by BatchEncoder); within a series, in the order the
    /// points were recorded, which is not necessarily timestamp order.
    std::vector<Datapoint> points;
};

/// Reads a batch in any encoding: JSON when the first byte after optional whitespace is '{',
/// CBOR when the first byte is a CBOR map, compact when it is 0xD1 (a compact batch has no unknown
/// members, bounds every length by the bytes left, and carries at most 262,144 points). Members it does not know are skipped (at the top level
/// and in a series), so a newer writer may add some without breaking older readers.
///
/// Made for input from the network: anything else throws Error(ProtocolError) with a message that
/// says what and where — not JSON or CBOR, trailing bytes, a missing or repeated member, a wrong
/// type, an unsupported version, a batch id that is not a UUID, an invalid series name, t and v of
/// different lengths, a negative or overflowing time offset, a non-finite number, invalid UTF-8,
/// nesting deeper than kMaxValueDepth. It never recurses deeper than that, and never reserves memory
/// for more elements than the input has bytes. Memory use is about 100 bytes per point, so a
/// receiver bounds it by bounding the message size. Thread-safe (no shared state).
DecodedBatch decode_batch(std::string_view bytes);

}  // namespace twinlink
