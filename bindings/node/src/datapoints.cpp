// tl_datapoints: recording (synchronous: it only appends to memory), flush and counters.
#include <twinlink.h>

#include <cmath>
#include <vector>

#include "args.hpp"
#include "bindings.hpp"
#include "completion.hpp"
#include "errors.hpp"
#include "resource.hpp"

namespace twinlink_node {
namespace {

using Info = const Napi::CallbackInfo&;

// Holds the pipeline for one synchronous call without touching its reference count: record() is
// the hot path.
class Entered {
public:
    Entered(Napi::Env env, napi_value handle) : resource_(PeekResource(env, handle, Kind::Datapoints, "datapoints")) {
        if (!resource_->Enter()) throw StatusError(env, TL_ESTATE, "the datapoints are closed");
    }
    ~Entered() { resource_->Leave(); }
    Entered(const Entered&) = delete;
    Entered& operator=(const Entered&) = delete;
    tl_datapoints* get() const { return resource_->handle<tl_datapoints>(); }

private:
    Resource* resource_;
};

// A series name, without a heap allocation for the usual short one.
class Name {
public:
    Name(Napi::Env env, napi_value value) {
        size_t length = 0;
        if (napi_get_value_string_utf8(env, value, small_, sizeof small_, &length) != napi_ok) {
            ThrowTypeError(env, "The \"name\" argument must be of type string. Received " + Describe(Napi::Value(env, value)));
        }
        if (length + 1 < sizeof small_) {
            text_ = small_;
            return;
        }
        // Possibly cut short: a long name, which twinlink refuses with its own message.
        napi_get_value_string_utf8(env, value, nullptr, 0, &length);
        large_.resize(length + 1);
        napi_get_value_string_utf8(env, value, large_.data(), large_.size(), &length);
        text_ = large_.data();
    }
    const char* c_str() const { return text_; }

private:
    char small_[160];
    std::vector<char> large_;
    const char* text_ = nullptr;
};

Napi::Object DatapointStats(Napi::Env env, const tl_datapoint_stats& s) {
    Napi::Object o = Napi::Object::New(env);
    const auto n = [&](const char* name, uint64_t value) { o.Set(name, Napi::Number::New(env, static_cast<double>(value))); };
    n("recorded", s.recorded);
    n("batched", s.batched);
    n("batches", s.batches);
    n("sent", s.sent);
    n("ackedBatches", s.acked_batches);
    n("ackedPoints", s.acked_points);
    n("confirmedBatches", s.confirmed_batches);
    n("confirmedPoints", s.confirmed_points);
    n("receiptTimeouts", s.receipt_timeouts);
    n("receiptsIgnored", s.receipts_ignored);
    n("droppedPoints", s.dropped_points);
    n("droppedBatches", s.dropped_batches);
    n("rejectedPoints", s.rejected_points);
    n("recoveredBatches", s.recovered_batches);
    n("pendingPoints", s.pending_points);
    n("backlogBatches", s.backlog_batches);
    n("backlogPoints", s.backlog_points);
    n("backlogBytes", s.backlog_bytes);
    n("spooledBytes", s.spooled_bytes);
    return o;
}

// record(datapoints, name, value, timestamp): value a number, bigint, boolean or string.
Napi::Value Record(Info info) {
    Napi::Env env = info.Env();
    Entered dp(env, info[0]);
    Name name(env, info[1]);
    const int64_t timestamp = Timestamp(env, info[3], "timestamp");
    napi_value value = info[2];
    napi_valuetype type;
    napi_typeof(env, value, &type);
    tl_status status;
    switch (type) {
    case napi_number: {
        double d;
        napi_get_value_double(env, value, &d);
        status = tl_datapoints_record_double(dp.get(), name.c_str(), d, timestamp);
        break;
    }
    case napi_boolean: {
        bool b;
        napi_get_value_bool(env, value, &b);
        status = tl_datapoints_record_bool(dp.get(), name.c_str(), b ? 1 : 0, timestamp);
        break;
    }
    case napi_bigint: {
        int64_t i;
        bool lossless;
        napi_get_value_bigint_int64(env, value, &i, &lossless);
        if (!lossless) ThrowRangeError(env, "The value of \"value\" is out of range of a 64-bit integer");
        status = tl_datapoints_record_int64(dp.get(), name.c_str(), i, timestamp);
        break;
    }
    case napi_string: {
        std::string text = Napi::Value(env, value).As<Napi::String>().Utf8Value();
        status = tl_datapoints_record_string(dp.get(), name.c_str(), text.c_str(), timestamp);
        break;
    }
    default:
        ThrowTypeError(env, "The \"value\" argument must be a number, bigint, boolean, string or plain object. Received " +
                                Describe(Napi::Value(env, value)));
    }
    if (status != TL_OK) Check(env, status);
    return env.Undefined();
}

// Timestamps for recordMany: a BigInt64Array is used in place, a Float64Array converted.
const int64_t* Timestamps(Info info, size_t index, size_t count, std::vector<int64_t>& converted) {
    Napi::Value v = info[index];
    if (v.IsUndefined() || v.IsNull()) return nullptr;
    if (v.IsTypedArray()) {
        auto array = v.As<Napi::TypedArray>();
        if (array.ElementLength() != count) {
            ThrowRangeError(info.Env(), "The \"timestamps\" argument must have as many elements as \"values\" (" +
                                            std::to_string(count) + "). Received " + std::to_string(array.ElementLength()));
        }
        if (array.TypedArrayType() == napi_bigint64_array) return v.As<Napi::BigInt64Array>().Data();
        if (array.TypedArrayType() == napi_float64_array) {
            const double* ms = v.As<Napi::Float64Array>().Data();
            converted.resize(count);
            for (size_t i = 0; i < count; ++i) {
                if (!std::isfinite(ms[i])) ThrowRangeError(info.Env(), "The \"timestamps\" argument holds a value that is not finite");
                converted[i] = static_cast<int64_t>(std::llround(ms[i]));
            }
            return converted.data();
        }
    }
    ThrowTypeError(info.Env(), "The \"timestamps\" argument must be an instance of BigInt64Array or Float64Array. Received " +
                                   Describe(v));
}

// recordMany(datapoints, name, values, timestamps): values a Float64Array or BigInt64Array.
Napi::Value RecordMany(Info info) {
    Napi::Env env = info.Env();
    Entered dp(env, info[0]);
    Name name(env, info[1]);
    Napi::Value values = info[2];
    if (!values.IsTypedArray()) {
        ThrowTypeError(env, "The \"values\" argument must be an instance of Float64Array or BigInt64Array. Received " +
                                Describe(values));
    }
    auto array = values.As<Napi::TypedArray>();
    const size_t count = array.ElementLength();
    std::vector<int64_t> converted;
    const int64_t* timestamps = Timestamps(info, 3, count, converted);
    tl_status status;
    if (array.TypedArrayType() == napi_float64_array) {
        status = tl_datapoints_record_many_double(dp.get(), name.c_str(), values.As<Napi::Float64Array>().Data(), timestamps, count);
    } else if (array.TypedArrayType() == napi_bigint64_array) {
        status = tl_datapoints_record_many_int64(dp.get(), name.c_str(), values.As<Napi::BigInt64Array>().Data(), timestamps, count);
    } else {
        ThrowTypeError(env, "The \"values\" argument must be an instance of Float64Array or BigInt64Array. Received " +
                                Describe(values));
    }
    Check(env, status);
    return env.Undefined();
}

// seriesId(datapoints, name) -> number: the id of a series for recordPoints.
Napi::Value SeriesId(Info info) {
    Napi::Env env = info.Env();
    Entered dp(env, info[0]);
    Name name(env, info[1]);
    uint32_t id = 0;
    Check(env, tl_datapoints_series_id(dp.get(), name.c_str(), &id));
    return Napi::Number::New(env, id);
}

// recordPoints(datapoints, ids: Uint32Array, values: Float64Array, times: Float64Array, count): the
// points record() buffered in JS, handed over in one call. The JS side fills the arrays (ids from
// seriesId, finite values, integral times), so only their kinds and lengths are checked here.
Napi::Value RecordPoints(Info info) {
    Napi::Env env = info.Env();
    Entered dp(env, info[0]);
    const size_t count = static_cast<size_t>(info[4].As<Napi::Number>().Int64Value());
    if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array ||
        !info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
        !info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
        ThrowTypeError(env, "recordPoints takes a Uint32Array and two Float64Arrays");
    }
    const auto ids = info[1].As<Napi::Uint32Array>();
    const auto values = info[2].As<Napi::Float64Array>();
    const auto times = info[3].As<Napi::Float64Array>();
    if (count > ids.ElementLength() || count > values.ElementLength() || count > times.ElementLength()) {
        ThrowRangeError(env, "recordPoints: count is larger than the arrays");
    }
    thread_local std::vector<int64_t> stamps;
    stamps.resize(count);
    const double* ms = times.Data();
    for (size_t i = 0; i < count; ++i) stamps[i] = static_cast<int64_t>(ms[i]);
    Check(env, tl_datapoints_record_points_double(dp.get(), ids.Data(), values.Data(), stamps.data(), count));
    return env.Undefined();
}

}  // namespace

void InitDatapoints(Napi::Env env, Napi::Object exports) {
    // datapointsNew(client, deviceId, options) -> Promise<datapoints>: a spool is read at start.
    exports.Set("datapointsNew", Napi::Function::New(env, [](Info info) -> Napi::Value {
        auto client = UnwrapResource(info, 0, Kind::Client, "client");
        auto lease = client->Use(info.Env());
        const std::string device = Text(info, 1, "deviceId");
        auto options = SharedOptions<tl_datapoint_options>(info, 2, Kind::DatapointOptions, "options");
        return Blocking(info.Env(), [lease, client, device, options] {
            tl_datapoints* dp = nullptr;
            Outcome outcome =
                Outcome::Of(tl_datapoints_new(&dp, lease.get()->handle<tl_client>(), device.c_str(), options.get()));
            if (outcome.status == TL_OK) {
                outcome.value = [dp, client](Napi::Env env) -> Napi::Value {
                    return NewResource(env, Kind::Datapoints, dp, [dp] { tl_datapoints_free(dp); }, client);
                };
            }
            return outcome;
        });
    }));
    exports.Set("datapointsRecord", Napi::Function::New(env, Record, "datapointsRecord"));
    exports.Set("datapointsRecordJson", Napi::Function::New(env, [](Info info) -> Napi::Value {
        Napi::Env env = info.Env();
        Entered dp(env, info[0]);
        Name name(env, info[1]);
        const std::string json = Text(info, 2, "value");
        const int64_t timestamp = Timestamp(env, info[3], "timestamp");
        Check(env, tl_datapoints_record_json(dp.get(), name.c_str(), json.c_str(), timestamp));
        return env.Undefined();
    }));
    exports.Set("datapointsRecordMany", Napi::Function::New(env, RecordMany, "datapointsRecordMany"));
    exports.Set("datapointsSeriesId", Napi::Function::New(env, SeriesId, "datapointsSeriesId"));
    exports.Set("datapointsRecordPoints", Napi::Function::New(env, RecordPoints, "datapointsRecordPoints"));
    exports.Set("datapointsFlush", Napi::Function::New(env, [](Info info) -> Napi::Value {
        auto lease = UnwrapResource(info, 0, Kind::Datapoints, "datapoints")->Use(info.Env());
        const uint32_t timeout = Uint32(info, 1, "timeout");
        tl_datapoints* dp = lease.get()->handle<tl_datapoints>();
        return Completed(info.Env(), std::move(lease), false, [&](tl_completion_cb done, void* op, tl_destroy_cb destroy) {
            return tl_datapoints_flush_start(dp, timeout, done, op, destroy, nullptr);
        });
    }));
    exports.Set("datapointsGetStats", Napi::Function::New(env, [](Info info) -> Napi::Value {
        Entered dp(info.Env(), info[0]);
        tl_datapoint_stats stats{};
        stats.struct_size = sizeof stats;
        Check(info.Env(), tl_datapoints_get_stats(dp.get(), &stats));
        return DatapointStats(info.Env(), stats);
    }));
}

}  // namespace twinlink_node
