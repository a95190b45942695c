// The datapoint functions of the C ABI: NULL handles, values outside the enums, bad options and
// input, and a record/flush/stats round trip through a real broker; the drop callback and the
// destructor of its user_data.
#include <cmath>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "broker.hpp"
#include "process.hpp"
#include "raw_enums.h"
#include "support.hpp"

namespace {

using namespace tltest;

#define EXPECT_FAILS(expected, function, call, ...)                         \
    do {                                                                    \
        const tl_status status_ = (call);                                   \
        EXPECT_EQ(status_, (expected)) << #call << ": " << tl_last_error(); \
        const std::string message_ = tl_last_error();                       \
        EXPECT_TRUE(contains(message_, #function ": ")) << #call;          \
        for (const char* needle_ : std::vector<const char*>{__VA_ARGS__}) { \
            EXPECT_TRUE(contains(message_, needle_)) << #call;            \
        }                                                                   \
    } while (0)

#define EXPECT_INVALID(function, call, ...) EXPECT_FAILS(TL_EINVAL, function, call, __VA_ARGS__)

struct DatapointOptionsDeleter {
    void operator()(tl_datapoint_options* o) const { tl_datapoint_options_free(o); }
};
struct DatapointsDeleter {
    void operator()(tl_datapoints* d) const { tl_datapoints_free(d); }
};
using DatapointOptions = std::unique_ptr<tl_datapoint_options, DatapointOptionsDeleter>;
using Datapoints = std::unique_ptr<tl_datapoints, DatapointsDeleter>;

DatapointOptions make_datapoint_options() {
    tl_datapoint_options* raw = nullptr;
    EXPECT_EQ(tl_datapoint_options_new(&raw), TL_OK) << tl_last_error();
    return DatapointOptions(raw);
}

Datapoints make_datapoints(tl_client* client, const char* device, const tl_datapoint_options* options) {
    tl_datapoints* raw = nullptr;
    EXPECT_EQ(tl_datapoints_new(&raw, client, device, options), TL_OK) << tl_last_error();
    return Datapoints(raw);
}

tl_datapoint_stats stats_of(const tl_datapoints* dp) {
    tl_datapoint_stats s{};
    s.struct_size = sizeof s;
    EXPECT_EQ(tl_datapoints_get_stats(dp, &s), TL_OK) << tl_last_error();
    return s;
}

/// A client whose broker never answers: a port a broker listened on and no longer does.
class OfflineDatapoints : public ::testing::Test {
protected:
    void SetUp() override {
        dead_.kill();
        options_ = make_options(dead_.uri());
        client_ = make_client(options_.get());
        ASSERT_TRUE(client_);
        ASSERT_EQ(tl_client_start(client_.get()), TL_OK) << tl_last_error();
    }
    tl_client* client() { return client_.get(); }

    twinlink::testing::Broker dead_{twinlink::testing::Broker::Options{false}};
    Options options_;
    Client client_;
};

TEST_F(OfflineDatapoints, NullHandlesAndArguments) {
    tl_datapoint_options_free(nullptr);
    tl_datapoints_free(nullptr);
    EXPECT_INVALID(tl_datapoint_options_new, tl_datapoint_options_new(nullptr), "out is NULL");
    EXPECT_INVALID(tl_datapoint_options_set_topic, tl_datapoint_options_set_topic(nullptr, "t"), "options is NULL");
    EXPECT_INVALID(tl_datapoint_options_set_encoding, tl_datapoint_options_set_encoding(nullptr, TL_ENCODING_JSON),
                   "options is NULL");
    EXPECT_INVALID(tl_datapoint_options_set_batch_limits, tl_datapoint_options_set_batch_limits(nullptr, 1, 1024, 1),
                   "options is NULL");
    EXPECT_INVALID(tl_datapoint_options_set_spool,
                   tl_datapoint_options_set_spool(nullptr, "spool", 1 << 20, TL_FSYNC_EVERY_BATCH, 0),
                   "options is NULL");
    EXPECT_INVALID(tl_datapoint_options_set_backlog, tl_datapoint_options_set_backlog(nullptr, 1 << 20, 10),
                   "options is NULL");
    EXPECT_INVALID(tl_datapoint_options_set_backpressure,
                   tl_datapoint_options_set_backpressure(nullptr, TL_BACKPRESSURE_BLOCK, 10), "options is NULL");
    EXPECT_INVALID(tl_datapoint_options_set_sending, tl_datapoint_options_set_sending(nullptr, 1, 0),
                   "options is NULL");
    DestroyCounter destroyed;
    EXPECT_INVALID(tl_datapoint_options_set_drop_callback,
                   tl_datapoint_options_set_drop_callback(nullptr, nullptr, &destroyed, DestroyCounter::destroy),
                   "options is NULL");
    EXPECT_EQ(destroyed.count, 1);  // the user_data is released even when the call fails

    const DatapointOptions options = make_datapoint_options();
    EXPECT_INVALID(tl_datapoint_options_set_topic, tl_datapoint_options_set_topic(options.get(), nullptr),
                   "topic is NULL");
    EXPECT_INVALID(tl_datapoint_options_set_spool,
                   tl_datapoint_options_set_spool(options.get(), nullptr, 1 << 20, TL_FSYNC_EVERY_BATCH, 0),
                   "dir is NULL");

    tl_datapoints* out = reinterpret_cast<tl_datapoints*>(&destroyed);  // must be overwritten
    EXPECT_INVALID(tl_datapoints_new, tl_datapoints_new(nullptr, client(), "dev", nullptr), "out is NULL");
    EXPECT_INVALID(tl_datapoints_new, tl_datapoints_new(&out, nullptr, "dev", nullptr), "client is NULL");
    EXPECT_EQ(out, nullptr);
    EXPECT_INVALID(tl_datapoints_new, tl_datapoints_new(&out, client(), nullptr, nullptr), "device is NULL");
    EXPECT_INVALID(tl_datapoints_new, tl_datapoints_new(&out, client(), "", nullptr), "device is empty");

    const char* name = "s";
    EXPECT_INVALID(tl_datapoints_record_double, tl_datapoints_record_double(nullptr, name, 1.0, TL_NOW),
                   "datapoints is NULL");
    EXPECT_INVALID(tl_datapoints_record_int64, tl_datapoints_record_int64(nullptr, name, 1, TL_NOW),
                   "datapoints is NULL");
    EXPECT_INVALID(tl_datapoints_record_bool, tl_datapoints_record_bool(nullptr, name, 1, TL_NOW),
                   "datapoints is NULL");
    EXPECT_INVALID(tl_datapoints_record_string, tl_datapoints_record_string(nullptr, name, "v", TL_NOW),
                   "datapoints is NULL");
    EXPECT_INVALID(tl_datapoints_record_json, tl_datapoints_record_json(nullptr, name, "{}", TL_NOW),
                   "datapoints is NULL");
    const double d[] = {1.0};
    const int64_t i[] = {1};
    EXPECT_INVALID(tl_datapoints_record_many_double, tl_datapoints_record_many_double(nullptr, name, d, nullptr, 1),
                   "datapoints is NULL");
    EXPECT_INVALID(tl_datapoints_record_many_int64, tl_datapoints_record_many_int64(nullptr, name, i, nullptr, 1),
                   "datapoints is NULL");
    EXPECT_INVALID(tl_datapoints_flush, tl_datapoints_flush(nullptr, 10), "datapoints is NULL");
    tl_datapoint_stats stats{};
    stats.struct_size = sizeof stats;
    EXPECT_INVALID(tl_datapoints_get_stats, tl_datapoints_get_stats(nullptr, &stats), "datapoints is NULL");

    const Datapoints dp = make_datapoints(client(), "dev", nullptr);
    ASSERT_TRUE(dp);
    EXPECT_INVALID(tl_datapoints_record_double, tl_datapoints_record_double(dp.get(), nullptr, 1.0, TL_NOW),
                   "name is NULL");
    EXPECT_INVALID(tl_datapoints_record_string, tl_datapoints_record_string(dp.get(), name, nullptr, TL_NOW),
                   "value is NULL");
    EXPECT_INVALID(tl_datapoints_record_json, tl_datapoints_record_json(dp.get(), name, nullptr, TL_NOW),
                   "object_json is NULL");
    EXPECT_INVALID(tl_datapoints_record_many_double,
                   tl_datapoints_record_many_double(dp.get(), name, nullptr, nullptr, 1), "values is null");
    EXPECT_INVALID(tl_datapoints_get_stats, tl_datapoints_get_stats(dp.get(), nullptr), "out is NULL");
    stats.struct_size = sizeof stats - 1;
    EXPECT_INVALID(tl_datapoints_get_stats, tl_datapoints_get_stats(dp.get(), &stats), "struct_size");
    EXPECT_EQ(stats_of(dp.get()).recorded, 0u);
}

TEST_F(OfflineDatapoints, ValuesOutsideTheEnumsAndBadOptions) {
    const DatapointOptions o = make_datapoint_options();
    EXPECT_INVALID(tl_datapoint_options_set_encoding, raw_set_encoding(o.get(), 3), "encoding 3");
    EXPECT_INVALID(tl_datapoint_options_set_encoding, raw_set_encoding(o.get(), -1), "encoding -1");
    EXPECT_INVALID(tl_datapoint_options_set_backpressure, raw_set_backpressure(o.get(), 3, 10), "policy 3");
    EXPECT_INVALID(tl_datapoint_options_set_backpressure, raw_set_backpressure(o.get(), -7, 10), "policy -7");
    EXPECT_INVALID(tl_datapoint_options_set_spool, raw_set_spool(o.get(), "spool", 1 << 20, 3, 10), "fsync 3");
    EXPECT_INVALID(tl_datapoint_options_set_spool, raw_set_spool(o.get(), "spool", 1 << 20, 1000, 10), "fsync 1000");
    EXPECT_EQ(raw_set_encoding(o.get(), TL_ENCODING_CBOR), TL_OK);
    EXPECT_EQ(raw_set_encoding(o.get(), TL_ENCODING_COMPACT), TL_OK);

    EXPECT_INVALID(tl_datapoint_options_set_batch_limits, tl_datapoint_options_set_batch_limits(o.get(), 0, 1024, 10),
                   "max_points");
    EXPECT_INVALID(tl_datapoint_options_set_batch_limits, tl_datapoint_options_set_batch_limits(o.get(), 10, 1023, 10),
                   "max_bytes");
    EXPECT_INVALID(tl_datapoint_options_set_batch_limits, tl_datapoint_options_set_batch_limits(o.get(), 10, 1024, 0),
                   "linger_ms");
    EXPECT_INVALID(tl_datapoint_options_set_spool,
                   tl_datapoint_options_set_spool(o.get(), "", 1 << 20, TL_FSYNC_INTERVAL, 10), "dir is empty");
    EXPECT_INVALID(tl_datapoint_options_set_spool,
                   tl_datapoint_options_set_spool(o.get(), "spool", 0, TL_FSYNC_INTERVAL, 10), "max_bytes");
    EXPECT_INVALID(tl_datapoint_options_set_spool,
                   tl_datapoint_options_set_spool(o.get(), "spool", 1 << 20, TL_FSYNC_INTERVAL, 0),
                   "fsync_interval_ms");
    EXPECT_INVALID(tl_datapoint_options_set_backlog, tl_datapoint_options_set_backlog(o.get(), 0, 10), "backlog");
    EXPECT_INVALID(tl_datapoint_options_set_sending, tl_datapoint_options_set_sending(o.get(), 0, 0),
                   "max_inflight_batches");
    EXPECT_INVALID(tl_datapoint_options_set_sending, tl_datapoint_options_set_sending(o.get(), 1, -1),
                   "max_batches_per_second");
    EXPECT_INVALID(tl_datapoint_options_set_sending, tl_datapoint_options_set_sending(o.get(), 1, std::nan("")),
                   "max_batches_per_second");
    EXPECT_INVALID(tl_datapoint_options_set_sending, tl_datapoint_options_set_sending(o.get(), 1, INFINITY),
                   "max_batches_per_second");

    // Options that are fine one by one but not together, or a topic or device the pipeline
    // refuses, fail at tl_datapoints_new().
    tl_datapoints* out = nullptr;
    const DatapointOptions wildcard = make_datapoint_options();
    ASSERT_EQ(tl_datapoint_options_set_topic(wildcard.get(), "tl/+/dp"), TL_OK);
    EXPECT_INVALID(tl_datapoints_new, tl_datapoints_new(&out, client(), "dev", wildcard.get()), "topic");
    const DatapointOptions small = make_datapoint_options();
    ASSERT_EQ(tl_datapoint_options_set_batch_limits(small.get(), 10, 65536, 100), TL_OK);
    ASSERT_EQ(tl_datapoint_options_set_backlog(small.get(), 65536, 10), TL_OK);
    EXPECT_INVALID(tl_datapoints_new, tl_datapoints_new(&out, client(), "dev", small.get()), "backlog");
    EXPECT_INVALID(tl_datapoints_new, tl_datapoints_new(&out, client(), "bad/device", nullptr), "bad/device");
    EXPECT_EQ(out, nullptr);
}

TEST_F(OfflineDatapoints, BadInputIsRefusedAndNotCounted) {
    const Datapoints dp = make_datapoints(client(), "dev", nullptr);
    ASSERT_TRUE(dp);
    EXPECT_INVALID(tl_datapoints_record_double, tl_datapoints_record_double(dp.get(), "s", std::nan(""), TL_NOW),
                   "finite");
    EXPECT_INVALID(tl_datapoints_record_double, tl_datapoints_record_double(dp.get(), "s", INFINITY, TL_NOW),
                   "finite");
    EXPECT_INVALID(tl_datapoints_record_double, tl_datapoints_record_double(dp.get(), "a/b", 1.0, TL_NOW), "a/b");
    EXPECT_INVALID(tl_datapoints_record_int64, tl_datapoints_record_int64(dp.get(), "", 1, TL_NOW), "name is empty");
    EXPECT_INVALID(tl_datapoints_record_string, tl_datapoints_record_string(dp.get(), "s", "\xc3\x28", TL_NOW),
                   "UTF-8");
    EXPECT_INVALID(tl_datapoints_record_json, tl_datapoints_record_json(dp.get(), "s", "[1, 2]", TL_NOW),
                   "JSON object");
    EXPECT_INVALID(tl_datapoints_record_json, tl_datapoints_record_json(dp.get(), "s", "{\"a\":", TL_NOW),
                   "JSON object");
    const double values[] = {1.0, std::nan("")};
    EXPECT_INVALID(tl_datapoints_record_many_double,
                   tl_datapoints_record_many_double(dp.get(), "s", values, nullptr, 2), "finite");
    EXPECT_EQ(stats_of(dp.get()).recorded, 0u);
}

TEST_F(OfflineDatapoints, FlushTimesOutWhileNothingIsAcknowledged) {
    const Datapoints dp = make_datapoints(client(), "dev", nullptr);
    ASSERT_TRUE(dp);
    ASSERT_EQ(tl_datapoints_record_int64(dp.get(), "s", 1, TL_NOW), TL_OK);
    const auto start = Clock::now();
    EXPECT_FAILS(TL_ETIMEOUT, tl_datapoints_flush, tl_datapoints_flush(dp.get(), 200), "not acknowledged");
    EXPECT_GE(elapsed_ms(start), 200);
    EXPECT_LT(elapsed_ms(start), 5000);
    EXPECT_EQ(stats_of(dp.get()).backlog_points, 1u);
}

struct DropLog {
    std::mutex mutex;
    std::vector<tl_backpressure> policies;
    uint64_t points = 0, batches = 0;
    static void on_drop(tl_backpressure policy, uint64_t points, uint64_t batches, const char* reason, void* log) {
        auto* self = static_cast<DropLog*>(log);
        std::lock_guard<std::mutex> lock(self->mutex);
        EXPECT_NE(reason, nullptr);
        self->policies.push_back(policy);
        self->points += points;
        self->batches += batches;
    }
    std::size_t size() {
        std::lock_guard<std::mutex> lock(mutex);
        return policies.size();
    }
    std::atomic<int> destroyed{0};
    static void destroy(void* log) { static_cast<DropLog*>(log)->destroyed++; }
};

TEST_F(OfflineDatapoints, DropCallbackReportsAndItsUserDataIsDestroyedOnceAtTheEnd) {
    DropLog drops;
    DatapointOptions o = make_datapoint_options();
    ASSERT_EQ(tl_datapoint_options_set_batch_limits(o.get(), 20, 1024, 10), TL_OK);
    ASSERT_EQ(tl_datapoint_options_set_backlog(o.get(), 4096, 1000000), TL_OK);
    ASSERT_EQ(tl_datapoint_options_set_drop_callback(o.get(), DropLog::on_drop, &drops, DropLog::destroy), TL_OK);
    Datapoints dp = make_datapoints(client(), "dev", o.get());
    ASSERT_TRUE(dp);
    o.reset();
    EXPECT_EQ(drops.destroyed, 0);  // the pipeline still holds the callback

    ASSERT_TRUE(eventually(
        [&] {
            for (int i = 0; i < 20; ++i) EXPECT_EQ(tl_datapoints_record_int64(dp.get(), "s", i, TL_NOW), TL_OK);
            return stats_of(dp.get()).dropped_batches >= 3;
        },
        20000ms));
    const tl_datapoint_stats s = stats_of(dp.get());
    // Reports are sums, at most one a second: they add up to the counters.
    ASSERT_TRUE(eventually([&] {
        std::lock_guard<std::mutex> lock(drops.mutex);
        return drops.batches >= s.dropped_batches;
    }));
    {
        std::lock_guard<std::mutex> lock(drops.mutex);
        for (auto policy : drops.policies) EXPECT_EQ(policy, TL_BACKPRESSURE_DROP_OLDEST);
        EXPECT_GE(drops.batches, 3u);
        EXPECT_GE(drops.points, drops.batches);
    }
    dp.reset();
    // Drop reports still queued for the dispatcher thread hold the callback until they have run;
    // the destructor runs once, after the last of them.
    EXPECT_TRUE(eventually([&] { return drops.destroyed == 1; }));
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(drops.destroyed, 1);
}

TEST_F(OfflineDatapoints, DropNewestAndBlockRefuseWithTheirStatus) {
    for (const tl_backpressure policy : {TL_BACKPRESSURE_DROP_NEWEST, TL_BACKPRESSURE_BLOCK}) {
        DatapointOptions o = make_datapoint_options();
        ASSERT_EQ(tl_datapoint_options_set_batch_limits(o.get(), 20, 1024, 10), TL_OK);
        ASSERT_EQ(tl_datapoint_options_set_backlog(o.get(), 4096, 1000000), TL_OK);
        ASSERT_EQ(tl_datapoint_options_set_backpressure(o.get(), policy, 100), TL_OK);
        const Datapoints dp = make_datapoints(client(), "dev", o.get());
        ASSERT_TRUE(dp);
        tl_status refused = TL_OK;
        const auto deadline = Clock::now() + 20000ms;
        for (int i = 0; refused == TL_OK && Clock::now() < deadline; ++i) {
            refused = tl_datapoints_record_int64(dp.get(), "s", i, TL_NOW);
            if (i % 20 == 0) std::this_thread::sleep_for(2ms);
        }
        EXPECT_EQ(refused, policy == TL_BACKPRESSURE_BLOCK ? TL_ETIMEOUT : TL_EQUEUE_FULL) << tl_last_error();
        EXPECT_TRUE(contains(tl_last_error(), "tl_datapoints_record_int64: "));
        EXPECT_EQ(stats_of(dp.get()).rejected_points, 1u);
    }
}

TEST_F(OfflineDatapoints, ASpoolInUseOrUnusableIsRefused) {
    const std::string dir = twinlink::testing::detail::make_temp_dir("tl-capi-spool-");
    const DatapointOptions o = make_datapoint_options();
    ASSERT_EQ(tl_datapoint_options_set_spool(o.get(), (dir + "/spool").c_str(), 1 << 20, TL_FSYNC_EVERY_BATCH, 0),
              TL_OK);
    {
        const Datapoints first = make_datapoints(client(), "dev", o.get());
        ASSERT_TRUE(first);
        tl_datapoints* second = nullptr;
        EXPECT_FAILS(TL_ESTATE, tl_datapoints_new, tl_datapoints_new(&second, client(), "dev", o.get()),
                     "spool");
        EXPECT_EQ(second, nullptr);
    }
    twinlink::testing::detail::write_file(dir + "/file", "not a directory");
    const DatapointOptions on_file = make_datapoint_options();
    ASSERT_EQ(tl_datapoint_options_set_spool(on_file.get(), (dir + "/file/spool").c_str(), 1 << 20,
                                             TL_FSYNC_EVERY_BATCH, 0),
              TL_OK);
    tl_datapoints* out = nullptr;
    EXPECT_FAILS(TL_EIO, tl_datapoints_new, tl_datapoints_new(&out, client(), "dev", on_file.get()), "file");
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
}

TEST(CapiDatapoints, RecordFlushAndStatsThroughABroker) {
    twinlink::testing::Broker broker{twinlink::testing::Broker::Options{false}};
    const Client client = connect_client(broker.uri());
    ASSERT_TRUE(client);
    Inbox inbox;
    uint64_t sub = 0;
    ASSERT_EQ(tl_client_subscribe(client.get(), "tl/dev-c/dp", 1, Inbox::on_message, &inbox, nullptr, &sub), TL_OK)
        << tl_last_error();

    const DatapointOptions o = make_datapoint_options();
    ASSERT_EQ(tl_datapoint_options_set_batch_limits(o.get(), 5000, 65536, 20), TL_OK);
    // No sink answers here: delivery is judged by the broker's acknowledgement.
    ASSERT_EQ(tl_datapoint_options_set_delivery(o.get(), TL_DELIVERY_BROKER, 1000, 64, nullptr), TL_OK);
    const Datapoints dp = make_datapoints(client.get(), "dev-c", o.get());
    ASSERT_TRUE(dp);
    const int64_t t = 1700000000000;
    EXPECT_EQ(tl_datapoints_record_double(dp.get(), "temp", 21.5, t), TL_OK) << tl_last_error();
    EXPECT_EQ(tl_datapoints_record_int64(dp.get(), "count", -42, t + 1), TL_OK) << tl_last_error();
    EXPECT_EQ(tl_datapoints_record_bool(dp.get(), "door", 7, t + 2), TL_OK) << tl_last_error();  // any non-zero
    EXPECT_EQ(tl_datapoints_record_string(dp.get(), "label", "caf\xc3\xa9", t + 3), TL_OK) << tl_last_error();
    EXPECT_EQ(tl_datapoints_record_json(dp.get(), "cfg", "{\"mode\":\"eco\"}", t + 4), TL_OK) << tl_last_error();
    const double doubles[] = {1.25, 2.5};
    const int64_t ints[] = {7, 8};
    const int64_t stamps[] = {t + 5, t + 6};
    EXPECT_EQ(tl_datapoints_record_many_double(dp.get(), "many-d", doubles, stamps, 2), TL_OK) << tl_last_error();
    EXPECT_EQ(tl_datapoints_record_many_int64(dp.get(), "many-i", ints, nullptr, 2), TL_OK) << tl_last_error();
    EXPECT_EQ(tl_datapoints_record_double(dp.get(), "now", 0.5, TL_NOW), TL_OK) << tl_last_error();
    ASSERT_EQ(tl_datapoints_flush(dp.get(), 20000), TL_OK) << tl_last_error();

    const tl_datapoint_stats s = stats_of(dp.get());
    EXPECT_EQ(s.recorded, 10u);
    EXPECT_EQ(s.batched, 10u);
    EXPECT_EQ(s.acked_points, 10u);
    EXPECT_EQ(s.acked_batches, s.batches);
    EXPECT_GE(s.sent, s.batches);
    EXPECT_EQ(s.pending_points, 0u);
    EXPECT_EQ(s.backlog_batches, 0u);
    EXPECT_EQ(s.dropped_points, 0u);
    EXPECT_EQ(s.rejected_points, 0u);

    ASSERT_TRUE(inbox.wait_for(1));
    std::string all;
    for (const auto& p : inbox.payloads()) all += p;
    for (const char* part : {"\"device\":\"dev-c\"", "\"temp\":{\"t\":[0],\"v\":[21.5]}", "\"v\":[-42]", "\"v\":[true]",
                             "\"v\":[\"caf\xc3\xa9\"]", "\"v\":[{\"mode\":\"eco\"}]", "\"v\":[1.25,2.5]",
                             "\"v\":[7,8]", "\"now\""}) {
        EXPECT_TRUE(contains(all, part)) << part;
    }
    EXPECT_EQ(tl_client_unsubscribe(client.get(), sub), TL_OK);
}

TEST(CapiDatapoints, SeriesIdsAndInterleavedPoints) {
    twinlink::testing::Broker broker{twinlink::testing::Broker::Options{false}};
    const Client client = connect_client(broker.uri());
    ASSERT_TRUE(client);
    Inbox inbox;
    uint64_t sub = 0;
    ASSERT_EQ(tl_client_subscribe(client.get(), "tl/dev-i/dp", 1, Inbox::on_message, &inbox, nullptr, &sub), TL_OK)
        << tl_last_error();
    const DatapointOptions o = make_datapoint_options();
    ASSERT_EQ(tl_datapoint_options_set_delivery(o.get(), TL_DELIVERY_BROKER, 1000, 64, nullptr), TL_OK);
    const Datapoints dp = make_datapoints(client.get(), "dev-i", o.get());
    ASSERT_TRUE(dp);

    uint32_t temp = 99, count = 99, again = 99;
    ASSERT_EQ(tl_datapoints_series_id(dp.get(), "temp", &temp), TL_OK) << tl_last_error();
    ASSERT_EQ(tl_datapoints_series_id(dp.get(), "count", &count), TL_OK) << tl_last_error();
    ASSERT_EQ(tl_datapoints_series_id(dp.get(), "temp", &again), TL_OK) << tl_last_error();
    EXPECT_EQ(again, temp);
    EXPECT_NE(temp, count);
    // Bad arguments: NULL handle, name or out pointer, a bad name, an unknown id, NaN.
    uint32_t unused = 0;
    EXPECT_EQ(tl_datapoints_series_id(nullptr, "x", &unused), TL_EINVAL);
    EXPECT_EQ(tl_datapoints_series_id(dp.get(), nullptr, &unused), TL_EINVAL);
    EXPECT_EQ(tl_datapoints_series_id(dp.get(), "x", nullptr), TL_EINVAL);
    EXPECT_EQ(tl_datapoints_series_id(dp.get(), "a/b", &unused), TL_EINVAL);
    EXPECT_TRUE(contains(tl_last_error(), "a/b")) << tl_last_error();
    EXPECT_EQ(tl_datapoints_record_id_double(dp.get(), 1000, 1.0, TL_NOW), TL_EINVAL);
    EXPECT_TRUE(contains(tl_last_error(), "series id")) << tl_last_error();
    EXPECT_EQ(tl_datapoints_record_id_double(nullptr, temp, 1.0, TL_NOW), TL_EINVAL);
    EXPECT_EQ(tl_datapoints_record_id_double(dp.get(), temp, std::nan(""), TL_NOW), TL_EINVAL);
    const uint32_t ids[] = {temp, count, temp, count};
    const double values[] = {21.5, 7, 21.75, 8};
    const int64_t t = 1700000000000;
    const int64_t stamps[] = {t, t + 1, t + 2, t + 3};
    const uint32_t bad_ids[] = {temp, 77};
    EXPECT_EQ(tl_datapoints_record_points_double(dp.get(), bad_ids, values, nullptr, 2), TL_EINVAL);
    EXPECT_EQ(tl_datapoints_record_points_double(dp.get(), nullptr, values, nullptr, 2), TL_EINVAL);
    EXPECT_EQ(tl_datapoints_record_points_double(dp.get(), ids, nullptr, nullptr, 2), TL_EINVAL);
    EXPECT_EQ(tl_datapoints_record_points_double(dp.get(), nullptr, nullptr, nullptr, 0), TL_OK);
    EXPECT_EQ(stats_of(dp.get()).recorded, 0u);

    EXPECT_EQ(tl_datapoints_record_points_double(dp.get(), ids, values, stamps, 4), TL_OK) << tl_last_error();
    EXPECT_EQ(tl_datapoints_record_id_double(dp.get(), temp, 22.0, t + 4), TL_OK) << tl_last_error();
    EXPECT_EQ(tl_datapoints_record_id_int64(dp.get(), count, 9, t + 5), TL_OK) << tl_last_error();
    ASSERT_EQ(tl_datapoints_flush(dp.get(), 20000), TL_OK) << tl_last_error();
    EXPECT_EQ(stats_of(dp.get()).acked_points, 6u);
    ASSERT_TRUE(inbox.wait_for(1));
    std::string all;
    for (const auto& p : inbox.payloads()) all += p;
    EXPECT_TRUE(contains(all, "\"temp\":{\"t\":[0,2,4],\"v\":[21.5,21.75,22.0]}")) << all;
    EXPECT_TRUE(contains(all, "\"count\":{\"t\":[1,3,5],\"v\":[7.0,8.0,9]}")) << all;
    EXPECT_EQ(tl_client_unsubscribe(client.get(), sub), TL_OK);
}

TEST(CapiDatapoints, WithReceiptsABatchIsDeliveredWhenTheSinksReceiptArrives) {
    twinlink::testing::Broker broker{twinlink::testing::Broker::Options{false}};
    const Client client = connect_client(broker.uri());
    ASSERT_TRUE(client);
    const DatapointOptions o = make_datapoint_options();
    ASSERT_EQ(tl_datapoint_options_set_batch_limits(o.get(), 5000, 65536, 20), TL_OK);
    ASSERT_EQ(tl_datapoint_options_set_delivery(o.get(), TL_DELIVERY_RECEIPT, 60000, 8, "tl/{device}/receipts"), TL_OK)
        << tl_last_error();
    const Datapoints dp = make_datapoints(client.get(), "dev-r", o.get());
    ASSERT_TRUE(dp);
    for (int i = 0; i < 7; ++i) ASSERT_EQ(tl_datapoints_record_int64(dp.get(), "s", i, TL_NOW), TL_OK);
    ASSERT_TRUE(eventually([&] { return stats_of(dp.get()).acked_points == 7; }));
    EXPECT_EQ(tl_datapoints_flush(dp.get(), 300), TL_ETIMEOUT);  // the broker has it, no sink confirmed it
    EXPECT_EQ(stats_of(dp.get()).confirmed_points, 0u);

    // What a sink would send after storing it (docs/protocol.md, "Delivery receipts").
    const char* receipt = R"({"device":"dev-r","stored":[[0,18446744073709551615]]})";
    ASSERT_EQ(tl_client_publish_wait(client.get(), "tl/dev-r/receipts", receipt, strlen(receipt), 1, 0, 10000), TL_OK)
        << tl_last_error();
    ASSERT_EQ(tl_datapoints_flush(dp.get(), 20000), TL_OK) << tl_last_error();
    const tl_datapoint_stats s = stats_of(dp.get());
    EXPECT_EQ(s.confirmed_points, 7u);
    EXPECT_EQ(s.confirmed_batches, s.batches);
    EXPECT_EQ(s.backlog_points, 0u);
    EXPECT_EQ(s.receipt_timeouts, 0u);
    EXPECT_EQ(s.receipts_ignored, 0u);
}

TEST_F(OfflineDatapoints, DeliveryOptionsAreCheckedAndOldStatsStructsStillWork) {
    const DatapointOptions o = make_datapoint_options();
    EXPECT_INVALID(tl_datapoint_options_set_delivery,
                   tl_datapoint_options_set_delivery(nullptr, TL_DELIVERY_BROKER, 1, 1, nullptr), "options is NULL");
    EXPECT_INVALID(tl_datapoint_options_set_delivery,
                   tl_datapoint_options_set_delivery(o.get(), static_cast<tl_delivery_mode>(9), 1, 1, nullptr), "mode");
    EXPECT_INVALID(tl_datapoint_options_set_delivery,
                   tl_datapoint_options_set_delivery(o.get(), TL_DELIVERY_RECEIPT, 0, 1, nullptr), "receipt_timeout_ms");
    EXPECT_INVALID(tl_datapoint_options_set_delivery,
                   tl_datapoint_options_set_delivery(o.get(), TL_DELIVERY_RECEIPT, 1, 0, nullptr),
                   "max_unconfirmed_batches");
    EXPECT_INVALID(tl_datapoint_options_set_delivery,
                   tl_datapoint_options_set_delivery(o.get(), TL_DELIVERY_RECEIPT, 1, 1, ""), "receipt_topic");
    ASSERT_EQ(tl_datapoint_options_set_delivery(o.get(), TL_DELIVERY_RECEIPT, 1000, 4, "tl/{device}/#"), TL_OK);
    tl_datapoints* out = nullptr;
    EXPECT_INVALID(tl_datapoints_new, tl_datapoints_new(&out, client(), "dev", o.get()), "topic");

    // A caller built against the first header knows the struct up to spooled_bytes.
    const Datapoints dp = make_datapoints(client(), "dev", nullptr);
    ASSERT_TRUE(dp);
    tl_datapoint_stats s{};
    std::memset(&s, 0xab, sizeof s);
    s.struct_size = offsetof(tl_datapoint_stats, confirmed_batches);
    EXPECT_EQ(tl_datapoints_get_stats(dp.get(), &s), TL_OK) << tl_last_error();
    EXPECT_EQ(s.recorded, 0u);
    EXPECT_EQ(s.confirmed_batches, 0xababababababababu) << "a field the caller does not know was written";
    // ... and one built against the header before receipts_ignored, up to receipt_timeouts.
    std::memset(&s, 0xab, sizeof s);
    s.struct_size = offsetof(tl_datapoint_stats, receipts_ignored);
    EXPECT_EQ(tl_datapoints_get_stats(dp.get(), &s), TL_OK) << tl_last_error();
    EXPECT_EQ(s.receipt_timeouts, 0u);
    EXPECT_EQ(s.receipts_ignored, 0xababababababababu) << "a field the caller does not know was written";
    s.struct_size = offsetof(tl_datapoint_stats, spooled_bytes);
    EXPECT_INVALID(tl_datapoints_get_stats, tl_datapoints_get_stats(dp.get(), &s), "struct_size");
}

}  // namespace
