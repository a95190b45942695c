// datapoints.cpp — tl_datapoint_options_* and tl_datapoints_*: the C face of twinlink::Datapoints.
#include <chrono>
#include <cmath>
#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "boundary.hpp"
#include "completion.hpp"
#include "handles.hpp"
#include "twinlink/datapoints.hpp"


namespace twinlink::capi {
namespace {

static_assert(TL_ENCODING_JSON == static_cast<int>(Encoding::Json));
static_assert(TL_ENCODING_CBOR == static_cast<int>(Encoding::Cbor));
static_assert(TL_ENCODING_COMPACT == static_cast<int>(Encoding::Compact));
static_assert(TL_BACKPRESSURE_DROP_OLDEST == static_cast<int>(BackpressurePolicy::DropOldest));
static_assert(TL_BACKPRESSURE_DROP_NEWEST == static_cast<int>(BackpressurePolicy::DropNewest));
static_assert(TL_BACKPRESSURE_BLOCK == static_cast<int>(BackpressurePolicy::Block));
static_assert(TL_DELIVERY_BROKER == static_cast<int>(DeliveryMode::Broker));
static_assert(TL_DELIVERY_RECEIPT == static_cast<int>(DeliveryMode::Receipt));
static_assert(TL_FSYNC_EVERY_BATCH == static_cast<int>(FsyncPolicy::EveryBatch));
static_assert(TL_FSYNC_INTERVAL == static_cast<int>(FsyncPolicy::Interval));
static_assert(TL_FSYNC_NEVER == static_cast<int>(FsyncPolicy::Never));
static_assert(TL_NOW == Datapoints::kNow);

}  // namespace
}  // namespace twinlink::capi

using namespace twinlink::capi;
using std::chrono::milliseconds;

extern "C" {

tl_status tl_datapoint_options_new(tl_datapoint_options** out) {
    return guard(__func__, [&] {
        deref(out, "out") = nullptr;
        *out = new tl_datapoint_options();
    });
}

void tl_datapoint_options_free(tl_datapoint_options* options) { delete options; }

tl_status tl_datapoint_options_set_topic(tl_datapoint_options* options, const char* topic) {
    return guard(__func__, [&] { deref(options, "options").core.topic = require_text(topic, "topic"); });
}

tl_status tl_datapoint_options_set_encoding(tl_datapoint_options* options, tl_encoding encoding) {
    return guard(__func__, [&] {
        auto& o = deref(options, "options");
        const int value = raw_enum(encoding);
        if (value != TL_ENCODING_JSON && value != TL_ENCODING_CBOR && value != TL_ENCODING_COMPACT)
            invalid("encoding " + std::to_string(value) + " is not a tl_encoding");
        o.core.encoding = static_cast<twinlink::Encoding>(value);
    });
}

tl_status tl_datapoint_options_set_batch_limits(tl_datapoint_options* options, size_t max_points, size_t max_bytes,
                                                uint32_t linger_ms) {
    return guard(__func__, [&] {
        auto& o = deref(options, "options");
        if (max_points == 0) invalid("max_points must be positive");
        if (max_bytes < 1024 || max_bytes > 256u * 1024u * 1024u) invalid("max_bytes must be 1 KiB to 256 MiB");
        if (linger_ms == 0) invalid("linger_ms must be positive");
        o.core.batch_max_points = max_points;
        o.core.batch_max_bytes = max_bytes;
        o.core.linger = milliseconds(linger_ms);
    });
}

tl_status tl_datapoint_options_set_spool(tl_datapoint_options* options, const char* dir, uint64_t max_bytes,
                                         tl_fsync_policy fsync, uint32_t fsync_interval_ms) {
    return guard(__func__, [&] {
        auto& o = deref(options, "options");
        const int policy = raw_enum(fsync);
        if (policy != TL_FSYNC_EVERY_BATCH && policy != TL_FSYNC_INTERVAL && policy != TL_FSYNC_NEVER)
            invalid("fsync " + std::to_string(policy) + " is not a tl_fsync_policy");
        if (max_bytes == 0) invalid("max_bytes must be positive");
        if (policy == TL_FSYNC_INTERVAL && fsync_interval_ms == 0) invalid("fsync_interval_ms must be positive");
        twinlink::SpoolOptions spool;
        spool.dir = require_text(dir, "dir");
        spool.max_bytes = max_bytes;
        spool.fsync = static_cast<twinlink::FsyncPolicy>(policy);
        spool.fsync_interval = milliseconds(fsync_interval_ms);
        o.core.spool = std::move(spool);
    });
}

tl_status tl_datapoint_options_set_backlog(tl_datapoint_options* options, size_t max_backlog_bytes,
                                           size_t max_pending_points) {
    return guard(__func__, [&] {
        auto& o = deref(options, "options");
        if (max_backlog_bytes == 0 || max_pending_points == 0) invalid("backlog bounds must be positive");
        o.core.max_backlog_bytes = max_backlog_bytes;
        o.core.max_pending_points = max_pending_points;
    });
}

tl_status tl_datapoint_options_set_backpressure(tl_datapoint_options* options, tl_backpressure policy,
                                                uint32_t block_timeout_ms) {
    return guard(__func__, [&] {
        auto& o = deref(options, "options");
        const int value = raw_enum(policy);
        if (value != TL_BACKPRESSURE_DROP_OLDEST && value != TL_BACKPRESSURE_DROP_NEWEST &&
            value != TL_BACKPRESSURE_BLOCK)
            invalid("policy " + std::to_string(value) + " is not a tl_backpressure");
        o.core.backpressure = static_cast<twinlink::BackpressurePolicy>(value);
        o.core.block_timeout = milliseconds(block_timeout_ms);
    });
}

tl_status tl_datapoint_options_set_sending(tl_datapoint_options* options, uint32_t max_inflight_batches,
                                           double max_batches_per_second) {
    return guard(__func__, [&] {
        auto& o = deref(options, "options");
        if (max_inflight_batches == 0) invalid("max_inflight_batches must be positive");
        if (!(max_batches_per_second >= 0) || !std::isfinite(max_batches_per_second))
            invalid("max_batches_per_second must be 0 (no limit) or positive");
        o.core.max_inflight_batches = max_inflight_batches;
        o.core.max_batches_per_second = max_batches_per_second;
    });
}

tl_status tl_datapoint_options_set_delivery(tl_datapoint_options* options, tl_delivery_mode mode,
                                            uint32_t receipt_timeout_ms, uint32_t max_unconfirmed_batches,
                                            const char* receipt_topic) {
    return guard(__func__, [&] {
        auto& o = deref(options, "options");
        const int value = raw_enum(mode);
        if (value != TL_DELIVERY_BROKER && value != TL_DELIVERY_RECEIPT)
            invalid("mode " + std::to_string(value) + " is not a tl_delivery_mode");
        if (receipt_timeout_ms == 0) invalid("receipt_timeout_ms must be positive");
        if (max_unconfirmed_batches == 0) invalid("max_unconfirmed_batches must be positive");
        o.core.max_unconfirmed_batches = max_unconfirmed_batches;
        o.core.delivery = static_cast<twinlink::DeliveryMode>(value);
        o.core.receipt_timeout = milliseconds(receipt_timeout_ms);
        if (receipt_topic) o.core.receipt_topic = require_text(receipt_topic, "receipt_topic");
    });
}

tl_status tl_datapoint_options_set_drop_callback(tl_datapoint_options* options, tl_drop_cb callback,
                                                 void* user_data, tl_destroy_cb destroy) {
    return guard(__func__, [&] {
        auto data = own_user_data(user_data, destroy);
        auto& o = deref(options, "options");
        if (callback == nullptr) {
            o.core.on_drop = {};
            return;
        }
        o.core.on_drop = [callback, data](const twinlink::DropEvent& e) {
            callback(static_cast<tl_backpressure>(e.policy), e.points, e.batches, e.reason.c_str(), data->get());
        };
    });
}

tl_status tl_datapoints_new(tl_datapoints** out, tl_client* client, const char* device,
                            const tl_datapoint_options* options) {
    return guard(__func__, [&] {
        deref(out, "out") = nullptr;
        auto& c = deref(client, "client");
        twinlink::DatapointOptions o = options ? options->core : twinlink::DatapointOptions{};
        o.device = require_text(device, "device");
        *out = new tl_datapoints(c.core, std::move(o));
    });
}

void tl_datapoints_free(tl_datapoints* datapoints) { delete datapoints; }

tl_status tl_datapoints_record_double(tl_datapoints* dp, const char* name, double value, int64_t ts) {
    return guard(__func__, [&] { deref(dp, "datapoints").core.record(require_text(name, "name"), value, ts); });
}

tl_status tl_datapoints_record_int64(tl_datapoints* dp, const char* name, int64_t value, int64_t ts) {
    return guard(__func__, [&] { deref(dp, "datapoints").core.record(require_text(name, "name"), value, ts); });
}

tl_status tl_datapoints_record_bool(tl_datapoints* dp, const char* name, int value, int64_t ts) {
    return guard(__func__, [&] { deref(dp, "datapoints").core.record(require_text(name, "name"), value != 0, ts); });
}

tl_status tl_datapoints_record_string(tl_datapoints* dp, const char* name, const char* value, int64_t ts) {
    return guard(__func__, [&] {
        auto& d = deref(dp, "datapoints");
        deref(value, "value");
        d.core.record(require_text(name, "name"), std::string_view(value), ts);
    });
}

tl_status tl_datapoints_record_json(tl_datapoints* dp, const char* name, const char* object_json, int64_t ts) {
    return guard(__func__, [&] {
        auto& d = deref(dp, "datapoints");
        deref(object_json, "object_json");
        const auto object = nlohmann::json::parse(object_json, nullptr, false);
        if (object.is_discarded() || !object.is_object()) invalid("object_json is not the text of a JSON object");
        d.core.record(require_text(name, "name"), object, ts);
    });
}

tl_status tl_datapoints_record_many_double(tl_datapoints* dp, const char* name, const double* values,
                                           const int64_t* timestamps_ms, size_t count) {
    return guard(__func__, [&] {
        deref(dp, "datapoints").core.record_many(require_text(name, "name"), values, timestamps_ms, count);
    });
}

tl_status tl_datapoints_record_many_int64(tl_datapoints* dp, const char* name, const int64_t* values,
                                          const int64_t* timestamps_ms, size_t count) {
    return guard(__func__, [&] {
        deref(dp, "datapoints").core.record_many(require_text(name, "name"), values, timestamps_ms, count);
    });
}

tl_status tl_datapoints_series_id(tl_datapoints* dp, const char* name, uint32_t* out_id) {
    return guard(__func__, [&] {
        auto& d = deref(dp, "datapoints");
        uint32_t& out = deref(out_id, "out_id");
        out = d.core.series(require_text(name, "name")).value;
    });
}

tl_status tl_datapoints_record_id_double(tl_datapoints* dp, uint32_t series_id, double value, int64_t ts) {
    return guard(__func__, [&] {
        deref(dp, "datapoints").core.record(twinlink::Datapoints::SeriesId{series_id}, value, ts);
    });
}

tl_status tl_datapoints_record_id_int64(tl_datapoints* dp, uint32_t series_id, int64_t value, int64_t ts) {
    return guard(__func__, [&] {
        deref(dp, "datapoints").core.record(twinlink::Datapoints::SeriesId{series_id}, value, ts);
    });
}

tl_status tl_datapoints_record_points_double(tl_datapoints* dp, const uint32_t* series_ids, const double* values,
                                             const int64_t* timestamps_ms, size_t count) {
    static_assert(sizeof(twinlink::Datapoints::SeriesId) == sizeof(uint32_t) &&
                      alignof(twinlink::Datapoints::SeriesId) == alignof(uint32_t),
                  "SeriesId is read in place from a uint32_t array");
    return guard(__func__, [&] {
        deref(dp, "datapoints").core.record_points(reinterpret_cast<const twinlink::Datapoints::SeriesId*>(series_ids),
                                                   values, timestamps_ms, count);
    });
}

tl_status tl_datapoints_flush(tl_datapoints* dp, uint32_t timeout_ms) {
    return guard(__func__, [&] { deref(dp, "datapoints").core.flush(milliseconds(timeout_ms)); });
}

tl_status tl_datapoints_get_stats(const tl_datapoints* dp, tl_datapoint_stats* out) {
    return guard(__func__, [&] {
        const auto& d = deref(dp, "datapoints");
        auto& o = deref(out, "out");
        // The struct of the first release ended with spooled_bytes, a later one with
        // receipt_timeouts; later fields are written only for callers that know them. Any other
        // size is not a tl_datapoint_stats of any release.
        constexpr std::size_t first_size = offsetof(tl_datapoint_stats, confirmed_batches);
        constexpr std::size_t second_size = offsetof(tl_datapoint_stats, receipts_ignored);
        if (o.struct_size < sizeof(tl_datapoint_stats) && o.struct_size != first_size && o.struct_size != second_size)
            invalid("out->struct_size " + std::to_string(o.struct_size) + " is not the size of a "
                    "tl_datapoint_stats; set it to sizeof(tl_datapoint_stats)");
        const auto s = d.core.stats();
        o.recorded = s.recorded;
        o.batched = s.batched;
        o.batches = s.batches;
        o.sent = s.sent;
        o.acked_batches = s.acked_batches;
        o.acked_points = s.acked_points;
        o.dropped_points = s.dropped_points;
        o.dropped_batches = s.dropped_batches;
        o.rejected_points = s.rejected_points;
        o.recovered_batches = s.recovered_batches;
        o.pending_points = s.pending_points;
        o.backlog_batches = s.backlog_batches;
        o.backlog_points = s.backlog_points;
        o.backlog_bytes = s.backlog_bytes;
        o.spooled_bytes = s.spooled_bytes;
        if (o.struct_size == first_size) return;
        o.confirmed_batches = s.confirmed_batches;
        o.confirmed_points = s.confirmed_points;
        o.receipt_timeouts = s.receipt_timeouts;
        if (o.struct_size == second_size) return;
        o.receipts_ignored = s.receipts_ignored;
    });
}

tl_status tl_datapoints_flush_start(tl_datapoints* datapoints, uint32_t timeout_ms, tl_completion_cb callback,
                                    void* user_data, tl_destroy_cb destroy, uint64_t* out_operation) {
    return guard(__func__, [&] {
        start_operation(callback, user_data, destroy, out_operation, [&](const auto& take_done) {
            auto& d = deref(datapoints, "datapoints");
            return d.core.flush_start(milliseconds(timeout_ms), take_done());
        });
    });
}

tl_status tl_datapoints_cancel(tl_datapoints* datapoints, uint64_t operation) {
    return guard(__func__, [&] {
        if (!deref(datapoints, "datapoints").core.cancel_operation(operation))
            throw twinlink::Error(twinlink::Status::WrongState,
                                  "operation " + std::to_string(operation) + " has already ended or is unknown");
    });
}

}  // extern "C"
