// Fuzz target (fuzz_batch_json, fuzz_batch_cbor and fuzz_batch_compact: the same code, seeded with
// one encoding each): any bytes as a datapoint batch, as the sink receives it. Either
// decode_batch() throws Error(ProtocolError), or every decoded point is one an encoder accepts
// (series name and value rules), and the batch re-encoded in each encoding decodes to the same
// batch.
#include <cstddef>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "twinlink/batch_codec.hpp"
#include "twinlink/datapoint.hpp"
#include "twinlink/status.hpp"
#include "twinlink/uuid7.hpp"

#include "fuzz_check.hpp"

namespace {

// The compact encoding carries the batch id as 16 bytes and reads it back in lower case.
std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// Same points, doubles compared bit for bit (-0.0 is not 0.0).
bool same_points(const std::vector<twinlink::Datapoint>& a, const std::vector<twinlink::Datapoint>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i] != b[i]) return false;
        if (const auto* x = std::get_if<double>(&a[i].value)) {
            const double y = std::get<double>(b[i].value);
            if (std::memcmp(x, &y, sizeof y) != 0) return false;
        }
    }
    return true;
}

void check_round_trip(const twinlink::DecodedBatch& batch, twinlink::Encoding encoding) {
    twinlink::BatchEncoder encoder(encoding, batch.device);
    for (const auto& point : batch.points) encoder.add(point.name, point.timestamp_ms, point.value);
    FUZZ_CHECK(encoder.points() == batch.points.size());
    const std::string bytes = encoder.finish(batch.batch_id, batch.seq);
    const twinlink::DecodedBatch again = twinlink::decode_batch(bytes);
    FUZZ_CHECK(again.version == batch.version);
    FUZZ_CHECK(again.encoding == encoding);
    FUZZ_CHECK(again.device == batch.device);
    FUZZ_CHECK(encoding == twinlink::Encoding::Compact ? again.batch_id == lower(batch.batch_id)
                                                       : again.batch_id == batch.batch_id);
    FUZZ_CHECK(again.seq == batch.seq);
    FUZZ_CHECK(encoding == twinlink::Encoding::Compact ? same_points(again.points, batch.points)
                                                       : again.points == batch.points);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    twinlink::DecodedBatch batch;
    try {
        batch = twinlink::decode_batch(bytes);
    } catch (const twinlink::Error& e) {
        FUZZ_CHECK(e.status() == twinlink::Status::ProtocolError);
        FUZZ_CHECK(*e.what() != '\0');
        return 0;
    }
    FUZZ_CHECK(batch.version == twinlink::kBatchFormatVersion);
    FUZZ_CHECK(twinlink::is_uuid(batch.batch_id));
    // Every point is one that a device could have recorded: the encoders would accept it.
    for (const auto& point : batch.points) {
        twinlink::validate_series_name(point.name);
        twinlink::validate_value(point.value);
    }
    check_round_trip(batch, twinlink::Encoding::Json);
    check_round_trip(batch, twinlink::Encoding::Cbor);
    check_round_trip(batch, twinlink::Encoding::Compact);
    return 0;
}
