// The compact batch encoding (Encoding::Compact): the same batch as JSON and CBOR (version, device,
// batch id, seq, points grouped by series), written as bytes made for numbers that change little
// from one point to the next. docs/protocol.md ("The compact encoding") is the byte-level
// specification; in short:
//
//   batch   = 0xD1 version:uvarint device:string batch-id:16 bytes seq:uvarint t0:svarint
//             series-count:uvarint series*
//   series  = name:string count:uvarint timestamps:int-stream values:block
//
// Integers are LEB128 varints (signed ones zigzagged first). Timestamps (as offsets from t0) are
// an int-stream: the values, their deltas or their deltas of deltas, whichever is shortest, where a
// zero is followed by the number of zeros after it, so a regular series costs almost nothing.
// Doubles that all have at most 15 decimals and read back bit for bit from an integer divided by
// 10^k are written as that int-stream of integers; other doubles as Gorilla XOR bits. Integers are
// an int-stream, booleans runs, strings and objects (as JSON text) length-prefixed.
//
// The first byte, 0xD1, is neither '{' nor whitespace (JSON) nor a CBOR map head (0xA0..0xBF),
// which is how decode_batch() tells the three encodings apart.
//
// The encoder keeps the raw values of each series (one vector per value type) and compresses in
// finish(): adding a point is a push_back. size_estimate() is a worst-case bound (10 bytes for a
// timestamp, 11 for a number, 2 for a boolean, 11 plus the length for a string or object, and a
// fixed overhead per series), not a close estimate: a batch of numbers compresses to a fraction
// of it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "twinlink/batch_codec.hpp"

namespace twinlink::detail {

/// The first byte of a compact batch.
inline constexpr unsigned char kCompactMagic = 0xD1;
/// The most points a compact batch may carry: a few bytes can describe many points (a boolean that
/// never changes at a regular rate), so the decoder bounds its memory by this count rather than by
/// the input's size. The batcher closes compact batches at this count.
inline constexpr std::size_t kMaxCompactPoints = std::size_t(1) << 18;

/// The compact half of a BatchEncoder. Values are checked by BatchEncoder before they get here;
/// series names are checked here on their first use.
class CompactEncoder {
public:
    explicit CompactEncoder(std::string device);
    ~CompactEncoder();

    void add(std::string_view series, std::int64_t ts, double value);
    void add(std::string_view series, std::int64_t ts, std::int64_t value);
    void add(std::string_view series, std::int64_t ts, bool value);
    void add_string(std::string_view series, std::int64_t ts, std::string_view value);
    void add_object(std::string_view series, std::int64_t ts, std::string json_text);
    void add_many(std::string_view series, const std::int64_t* ts, const double* values, std::size_t n);
    void add_many(std::string_view series, const std::int64_t* ts, const std::int64_t* values, std::size_t n);

    std::size_t points() const noexcept { return points_; }
    std::size_t series() const noexcept { return order_.size(); }
    std::size_t size_estimate() const noexcept;
    /// `batch_id` is a UUID (checked by the caller).
    std::string finish(std::string_view batch_id, std::uint64_t seq);
    void clear() noexcept;

    struct Column;

private:
    Column& column(std::string_view name, std::size_t adding);

    std::string device_;
    std::unordered_map<std::string_view, std::unique_ptr<Column>> columns_;
    std::vector<Column*> order_;  // columns with points, in order of their first point
    Column* last_ = nullptr;      // the column of the previous add, while active
    std::size_t points_ = 0;
    std::int64_t t0_ = 0;
    std::size_t bound_ = 0;  // worst-case bytes of the series so far
};

/// Reads a compact batch (its first byte is kCompactMagic). Throws Error(ProtocolError).
DecodedBatch decode_compact(std::string_view bytes);

}  // namespace twinlink::detail
