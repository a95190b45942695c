// The datapoint benchmarks: points recorded and acknowledged end to end (QoS 1 PUBACK from the
// broker) through twinlink's batching, from C++ and through the C ABI, and the baseline of one MQTT
// message per point through Paho C++ directly.
#include "bench.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <deque>
#include <stdexcept>
#include <vector>

#include <mqtt/async_client.h>
#include <nlohmann/json.hpp>

#include "measure.hpp"
#include "twinlink.h"
#include "twinlink/client.hpp"
#include "twinlink/datapoints.hpp"

namespace twinlink::bench {
namespace {

using std::chrono::milliseconds;

constexpr int kSeries = 4;
const char* const kSeriesNames[kSeries] = {"temp", "humidity", "vibration", "current"};

// The values recorded, computed before the timing starts (a device has its reading already; the
// benchmark measures what recording it costs), and the same for every client.
struct ValueTable {
    static constexpr std::size_t kSize = 4096;
    double v[kSize];
    ValueTable() {
        for (std::size_t i = 0; i < kSize; ++i) v[i] = 20.0 + std::sin(double(i) * 0.01) * 5.0 + double(i % 7) * 0.125;
    }
};
const ValueTable kValues;

double value_of(std::size_t i) { return kValues.v[i % ValueTable::kSize]; }

Result finish(const std::string& name, std::size_t points, const Stopwatch& watch, double payload_bytes,
              std::size_t messages, std::size_t topic_bytes) {
    Result r;
    r.scenario = name;
    r.points = points;
    r.seconds = watch.seconds();
    r.cpu_seconds = watch.cpu_seconds();
    r.points_per_second = double(points) / r.seconds;
    r.payload_bytes_per_point = payload_bytes / double(points);
    // MQTT PUBLISH overhead: fixed header (1 + up to 4), topic length (2) + topic, packet id (2).
    r.wire_bytes_per_point = (payload_bytes + double(messages) * double(9 + topic_bytes)) / double(points);
    r.messages = messages;
    r.peak_rss_kb = usage().peak_rss_kb;
    return r;
}

ClientOptions client_options(const std::string& broker, const std::string& id) {
    ClientOptions o;
    o.brokers = {broker};
    o.client_id = id;
    o.queue_max_messages = 100000;
    o.queue_max_bytes = 256u * 1024u * 1024u;
    return o;
}

}  // namespace

Result run_twinlink_cpp(const std::string& broker, Encoding encoding, std::size_t points) {
    Client client(client_options(broker, "bench-cpp"));
    client.connect(milliseconds(10000));
    DatapointOptions o;
    o.device = "bench-device";
    o.encoding = encoding;
    o.max_backlog_bytes = 256u * 1024u * 1024u;
    o.backpressure = BackpressurePolicy::Block;
    o.block_timeout = milliseconds(60000);
    o.max_inflight_batches = 32;
    // Judged at the broker, like the baseline: no sink runs here to send receipts.
    o.delivery = twinlink::DeliveryMode::Broker;
    Datapoints dp(client, o);
    reached("connected");
    Stopwatch watch;
    // How far recording runs ahead of the batcher and of the broker, sampled every 65,536 points
    // (the largest of 30 samples for 2 M points; a stats() call each, too few to change the timing).
    std::uint64_t max_pending = 0, max_backlog_bytes = 0, max_backlog_batches = 0;
    for (std::size_t i = 0; i < points; ++i) {
        dp.record(kSeriesNames[i % kSeries], value_of(i));
        if ((i & 0xffff) == 0xffff) {
            const auto s = dp.stats();
            max_pending = std::max(max_pending, s.pending_points);
            max_backlog_bytes = std::max(max_backlog_bytes, s.backlog_bytes);
            max_backlog_batches = std::max(max_backlog_batches, s.backlog_batches);
        }
    }
    const double record_seconds = watch.seconds();
    dp.flush(milliseconds(300000));
    const auto stats = dp.stats();
    const auto cs = client.stats();
    if (stats.acked_points != points) throw std::runtime_error("not every point was acknowledged");
    Result r = finish(std::string("twinlink C++ ") + (encoding == Encoding::Json ? "json" : "cbor"), points, watch,
                      double(cs.bytes_out), cs.messages_out, std::string("tl/bench-device/dp").size());
    r.extra["record_ns_per_point"] = record_seconds / double(points) * 1e9;
    r.extra["max_pending_points_seen"] = max_pending;
    r.extra["max_backlog_bytes_seen"] = max_backlog_bytes;
    r.extra["max_backlog_batches_seen"] = max_backlog_batches;
    return r;
}

Result run_twinlink_capi(const std::string& broker, Encoding encoding, std::size_t points) {
    tl_client_options* co = nullptr;
    tl_client* client = nullptr;
    tl_datapoint_options* dopts = nullptr;
    tl_datapoints* dp = nullptr;
    const auto check = [](tl_status s) {
        if (s != TL_OK) throw std::runtime_error(tl_last_error());
    };
    check(tl_client_options_new(&co));
    check(tl_client_options_add_broker(co, broker.c_str()));
    check(tl_client_options_set_client_id(co, "bench-capi"));
    check(tl_client_new(&client, co));
    tl_client_options_free(co);
    check(tl_client_connect(client, 10000));
    check(tl_datapoint_options_new(&dopts));
    check(tl_datapoint_options_set_encoding(dopts, static_cast<tl_encoding>(encoding)));
    check(tl_datapoint_options_set_backlog(dopts, 256u * 1024u * 1024u, 1000000));
    check(tl_datapoint_options_set_backpressure(dopts, TL_BACKPRESSURE_BLOCK, 60000));
    check(tl_datapoint_options_set_sending(dopts, 32, 0));
    check(tl_datapoint_options_set_delivery(dopts, TL_DELIVERY_BROKER, 10000, 64, nullptr));
    check(tl_datapoints_new(&dp, client, "bench-device", dopts));
    tl_datapoint_options_free(dopts);
    reached("connected");
    Stopwatch watch;
    for (std::size_t i = 0; i < points; ++i)
        check(tl_datapoints_record_double(dp, kSeriesNames[i % kSeries], value_of(i), TL_NOW));
    const double record_seconds = watch.seconds();
    check(tl_datapoints_flush(dp, 300000));
    tl_datapoint_stats s{};
    s.struct_size = sizeof s;
    check(tl_datapoints_get_stats(dp, &s));
    tl_client_stats cs{};
    cs.struct_size = sizeof cs;
    check(tl_client_get_stats(client, &cs));
    tl_datapoints_free(dp);
    tl_client_disconnect(client, 2000);
    tl_client_free(client);
    if (s.acked_points != points) throw std::runtime_error("not every point was acknowledged");
    Result r = finish(std::string("twinlink C ABI ") + (encoding == Encoding::Json ? "json" : "cbor"), points, watch,
                      double(cs.bytes_out), cs.messages_out, std::string("tl/bench-device/dp").size());
    r.extra["record_ns_per_point"] = record_seconds / double(points) * 1e9;
    return r;
}

Result run_paho_per_message(const std::string& broker, std::size_t points) {
    // What a device does without batching: one QoS 1 message per point, JSON, through Paho C++'s
    // async client, keeping a window of publishes in flight as a well-written client would.
    mqtt::async_client client(broker, "bench-paho", mqtt::create_options(MQTTVERSION_3_1_1, 2000), nullptr);
    mqtt::connect_options co;
    co.set_clean_session(true);
    co.set_max_inflight(1024);
    client.connect(co)->wait();
    reached("connected");
    std::deque<mqtt::delivery_token_ptr> window;
    double payload_bytes = 0;
    Stopwatch watch;
    for (std::size_t i = 0; i < points; ++i) {
        const nlohmann::json point = {{"name", kSeriesNames[i % kSeries]},
                                      {"ts", std::chrono::duration_cast<milliseconds>(
                                                 std::chrono::system_clock::now().time_since_epoch()).count()},
                                      {"value", value_of(i)}};
        std::string payload = point.dump();
        payload_bytes += double(payload.size());
        window.push_back(client.publish("tl/bench-device/points", std::move(payload), 1, false));
        if (window.size() >= 1000) {
            window.front()->wait();
            window.pop_front();
        }
    }
    for (auto& t : window) t->wait();
    const Result r = finish("Paho C++, one message per point (baseline)", points, watch, payload_bytes, points,
                            std::string("tl/bench-device/points").size());
    client.disconnect()->wait();
    return r;
}

}  // namespace twinlink::bench
