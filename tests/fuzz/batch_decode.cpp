// Fuzz target (fuzz_batch_json and fuzz_batch_cbor: the same code, seeded with one encoding each):
// any bytes as a datapoint batch, as the sink receives it. Either decode_batch() throws
// Error(ProtocolError), or every decoded point is one an encoder accepts (series name and value
// rules), and the batch re-encoded in both encodings decodes to the same batch.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "twinlink/batch_codec.hpp"
#include "twinlink/datapoint.hpp"
#include "twinlink/status.hpp"
#include "twinlink/uuid7.hpp"

#include "fuzz_check.hpp"

namespace {

void check_round_trip(const twinlink::DecodedBatch& batch, twinlink::Encoding encoding) {
    twinlink::BatchEncoder encoder(encoding, batch.device);
    for (const auto& point : batch.points) encoder.add(point.name, point.timestamp_ms, point.value);
    FUZZ_CHECK(encoder.points() == batch.points.size());
    const std::string bytes = encoder.finish(batch.batch_id, batch.seq);
    const twinlink::DecodedBatch again = twinlink::decode_batch(bytes);
    FUZZ_CHECK(again.version == batch.version);
    FUZZ_CHECK(again.encoding == encoding);
    FUZZ_CHECK(again.device == batch.device);
    FUZZ_CHECK(again.batch_id == batch.batch_id);
    FUZZ_CHECK(again.seq == batch.seq);
    FUZZ_CHECK(again.points == batch.points);
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
    return 0;
}
