// twinlink/datapoint.hpp — a datapoint (one timestamped value of a named series) and the rules its
// name and value must follow. The batch wire format that carries datapoints is in batch_codec.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

namespace twinlink {

/// How a batch of datapoints is written on the wire (docs/protocol.md, "Datapoints"). The numeric
/// values are those of the C ABI and never change meaning.
enum class Encoding : int {
    Json = 0,  ///< readable, the default
    Cbor = 1,  ///< RFC 8949, the same document structure as JSON, smaller for booleans and integers
    /// Bytes made for sensor series: delta-of-delta timestamps, decimal or XOR-compressed doubles,
    /// varint integers, run-length booleans; a few bytes per point or less for regular series.
    Compact = 2,
};

/// "json", "cbor" or "compact". Never null.
const char* encoding_name(Encoding encoding) noexcept;

/// The value of a datapoint. The alternative held is the type on the wire and survives a round
/// trip: a double stays a double even when integral (JSON writes 21.0), an int64 stays an integer.
/// The nlohmann::json alternative holds JSON objects only (see validate_value()).
using DatapointValue = std::variant<double, std::int64_t, bool, std::string, nlohmann::json>;

struct Datapoint {
    std::string name;               ///< the series; see validate_series_name()
    std::int64_t timestamp_ms = 0;  ///< milliseconds since the Unix epoch (UTC)
    DatapointValue value;
};

inline bool operator==(const Datapoint& a, const Datapoint& b) {
    return a.timestamp_ms == b.timestamp_ms && a.name == b.name && a.value == b.value;
}
inline bool operator!=(const Datapoint& a, const Datapoint& b) { return !(a == b); }

/// Longest series name, in bytes of UTF-8.
inline constexpr std::size_t kMaxSeriesNameBytes = 128;

/// Deepest nesting of a JSON object value: the object itself is level 1, an object or array inside
/// it level 2, and so on. Bounds the work and the stack a receiver spends on one value.
inline constexpr int kMaxValueDepth = 32;

/// Throws Error(InvalidArgument), naming the problem, unless `name` is a valid series name:
/// 1..128 bytes of well-formed UTF-8 without control characters (U+0000..U+001F, U+007F..U+009F)
/// and without '/', '+' or '#' (which a receiver may use to build topic names or paths).
void validate_series_name(std::string_view name);

/// Throws Error(InvalidArgument), naming the problem, unless `value` can be carried in a batch and
/// read back unchanged: doubles must be finite (JSON has no NaN or infinity); strings must be
/// well-formed UTF-8; a JSON value must be an object, nested at most kMaxValueDepth deep, with
/// finite numbers, UTF-8 strings and keys, and no binary values.
void validate_value(const DatapointValue& value);

}  // namespace twinlink
