// DatapointSink on a private mosquitto, fed with batches published by hand: both encodings, both
// topic layouts, redeliveries and reused sequence numbers, and every kind of bad message.
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cloud/backend.hpp"
#include "cloud_side.hpp"
#include "fixtures/broker.hpp"
#include "twinlink/batch_codec.hpp"
#include "twinlink/delivery_receipt.hpp"
#include "twinlink/uuid7.hpp"

namespace {

using namespace std::chrono_literals;
using dptest::CloudSide;
using dptest::TempDir;
using nlohmann::json;
using twinlink::BatchEncoder;
using twinlink::Client;
using twinlink::DatapointSink;
using twinlink::DatapointSinkOptions;
using twinlink::Encoding;
using twinlink::Error;
using twinlink::Status;
using tltest::kLong;

// On SQLite and on PostgreSQL (one server per test program, fixtures/postgres.hpp).
class Sink : public ::testing::TestWithParam<tlcloud::Backend> {
protected:
    void SetUp() override {
        db_location_ = location("cloud.db");
        cloud_ = std::make_unique<CloudSide>(broker_.uri(), db_location_);
        device_ = std::make_unique<Client>(dptest::client_options(broker_.uri()));
        device_->connect(kLong);
    }
    void TearDown() override {
        device_->disconnect(1s);
        cloud_.reset();
    }

    void publish(const std::string& topic, std::string payload) {
        device_->publish_wait(topic, std::move(payload), 1, false, kLong);
    }

    // A batch of `n` int points of series "s" with values from `first`.
    static std::string batch(Encoding encoding, const std::string& device, std::uint64_t seq, std::int64_t first,
                             int n, const std::string& id = twinlink::uuid7()) {
        BatchEncoder enc(encoding, device);
        for (int i = 0; i < n; ++i) enc.add("s", 1'700'000'000'000 + first + i, first + i);
        return enc.finish(id, seq);
    }

    // A new database: a file `name` in the temp dir, or a new PostgreSQL database.
    std::string location(const std::string& name) {
        return GetParam() == tlcloud::Backend::Sqlite ? dir_.file(name)
                                                      : twinlink::testing::shared_postgres().create_database();
    }

    twinlink::testing::Broker broker_{twinlink::testing::Broker::Options{false}};
    TempDir dir_;
    std::string db_location_;
    std::unique_ptr<CloudSide> cloud_;
    std::unique_ptr<Client> device_;
};

TEST_P(Sink, StoresBatchesOfBothEncodingsFromBothTopicLayouts) {
    publish("tl/dev-1/dp", batch(Encoding::Json, "dev-1", 1, 0, 3));
    publish("tl/dev-1/dp", batch(Encoding::Cbor, "dev-1", 2, 3, 3));
    BatchEncoder per_series(Encoding::Cbor, "dev-1");
    per_series.add("temp", 1'700'000'000'000, 21.5);
    per_series.add("temp", 1'700'000'000'001, json{{"unit", "C"}});
    publish("tl/dev-1/dp/temp", per_series.finish(twinlink::uuid7(), 3));

    ASSERT_TRUE(cloud_->wait_handled(3));
    const auto stats = cloud_->sink().stats();
    EXPECT_EQ(stats.batches, 3u);
    EXPECT_EQ(stats.points, 8u);
    EXPECT_EQ(stats.rejected, 0u);
    EXPECT_EQ(cloud_->store().count("dev-1"), 8u);
    EXPECT_EQ(cloud_->store().series("dev-1"), (std::vector<std::string>{"s", "temp"}));
    const auto temp = cloud_->store().query("dev-1", "temp");
    ASSERT_EQ(temp.size(), 2u);
    EXPECT_EQ(temp[0].point.value, twinlink::DatapointValue(21.5));
    EXPECT_EQ(temp[1].point.value, twinlink::DatapointValue(json{{"unit", "C"}}));
}

TEST_P(Sink, StoresCompactBatchesAndDropsTheirRedeliveries) {
    BatchEncoder enc(Encoding::Compact, "dev-1");
    for (int i = 0; i < 50; ++i) {
        enc.add("temp", 1'700'000'000'000 + i * 1000, 21.0 + i * 0.01);
        enc.add("count", 1'700'000'000'000 + i * 1000, std::int64_t{1000} + i);
    }
    enc.add("door", 1'700'000'000'500, true);
    enc.add("label", 1'700'000'000'600, "ok");
    enc.add("cfg", 1'700'000'000'700, json{{"unit", "C"}});
    const std::string compact = enc.finish(twinlink::uuid7(), 1);
    publish("tl/dev-1/dp", compact);
    publish("tl/dev-1/dp", compact);
    publish("tl/dev-1/dp", batch(Encoding::Json, "dev-1", 2, 0, 2));

    ASSERT_TRUE(cloud_->wait_handled(3));
    const auto stats = cloud_->sink().stats();
    EXPECT_EQ(stats.batches, 2u);
    EXPECT_EQ(stats.points, 105u);
    EXPECT_EQ(stats.duplicates, 1u);
    EXPECT_EQ(stats.rejected, 0u);
    EXPECT_EQ(cloud_->store().count("dev-1"), 105u);
    const auto temp = cloud_->store().query("dev-1", "temp");
    ASSERT_EQ(temp.size(), 50u);
    EXPECT_EQ(temp[49].point.value, twinlink::DatapointValue(21.0 + 49 * 0.01));
    EXPECT_EQ(temp[49].point.timestamp_ms, 1'700'000'049'000);
    EXPECT_EQ(cloud_->store().query("dev-1", "cfg").at(0).point.value, twinlink::DatapointValue(json{{"unit", "C"}}));
    EXPECT_EQ(cloud_->store().query("dev-1", "door").at(0).point.value, twinlink::DatapointValue(true));
}

TEST_P(Sink, DropsRedeliveriesAndKeepsBatchesThatReuseASeq) {
    const std::string first = batch(Encoding::Json, "dev-1", 10, 0, 5);
    publish("tl/dev-1/dp", first);
    publish("tl/dev-1/dp", first);
    // The same seq after the device lost its spool: new data.
    const std::string reused = batch(Encoding::Cbor, "dev-1", 10, 100, 2);
    publish("tl/dev-1/dp", reused);
    publish("tl/dev-1/dp", first);
    publish("tl/dev-1/dp", reused);

    ASSERT_TRUE(cloud_->wait_handled(5));
    const auto stats = cloud_->sink().stats();
    EXPECT_EQ(stats.batches, 2u);
    EXPECT_EQ(stats.points, 7u);
    EXPECT_EQ(stats.duplicates, 3u);
    EXPECT_EQ(stats.seq_reused, 1u);
    EXPECT_EQ(cloud_->store().count("dev-1"), 7u);
}

TEST_P(Sink, RejectsEveryMalformedMessageAndGoesOn) {
    const std::string good = batch(Encoding::Json, "dev-1", 1, 0, 2);
    std::string bad_version = good;
    bad_version.replace(bad_version.find("\"v\":1"), 5, "\"v\":9");
    std::string mismatched_lengths = good;
    mismatched_lengths.replace(mismatched_lengths.find("\"v\":["), 5, "\"v\":[7,");
    const std::string cbor = batch(Encoding::Cbor, "dev-1", 2, 0, 2);
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"not a batch", "garbage"},
        {"empty", ""},
        {"JSON, not an object", "[1,2,3]"},
        {"an object without the members", "{\"hello\":\"world\"}"},
        {"truncated JSON", good.substr(0, good.size() / 2)},
        {"truncated CBOR", cbor.substr(0, cbor.size() - 3)},
        {"trailing bytes", good + "x"},
        {"unknown version", bad_version},
        {"t and v of different lengths", mismatched_lengths},
        {"another device than the topic's", batch(Encoding::Json, "dev-2", 3, 0, 2)},
        {"a batch id that is not a UUID", batch(Encoding::Json, "dev-1", 4, 0, 1).replace(
                                               good.find("\"batch\":\"") + 9, 8, "zzzzzzzz")},
    };
    for (const auto& [what, payload] : bad) publish("tl/dev-1/dp", payload);
    publish("tl/dev-1/dp", good);

    ASSERT_TRUE(cloud_->wait_handled(bad.size() + 1));
    const auto stats = cloud_->sink().stats();
    EXPECT_EQ(stats.rejected, bad.size());
    EXPECT_EQ(stats.batches, 1u);
    EXPECT_EQ(cloud_->store().count("dev-1"), 2u);
    EXPECT_EQ(cloud_->store().count("dev-2"), 0u);
    // Each rejection is logged with its reason.
    std::size_t rejections = 0;
    bool names_device = false;
    for (const auto& line : cloud_->log()) {
        if (line.find("datapoint sink: rejected") == std::string::npos) continue;
        ++rejections;
        if (line.find("device 'dev-2'") != std::string::npos) names_device = true;
    }
    EXPECT_EQ(rejections, bad.size());
    EXPECT_TRUE(names_device);
}

TEST_P(Sink, RejectsMessagesOverItsSizeBound) {
    cloud_.reset();
    DatapointSinkOptions options;
    options.max_batch_bytes = 200;
    cloud_ = std::make_unique<CloudSide>(broker_.uri(), location("small.db"), options);
    publish("tl/dev-1/dp", batch(Encoding::Json, "dev-1", 1, 0, 100));
    publish("tl/dev-1/dp", batch(Encoding::Json, "dev-1", 2, 0, 1));
    ASSERT_TRUE(cloud_->wait_handled(2));
    EXPECT_EQ(cloud_->sink().stats().rejected, 1u);
    EXPECT_EQ(cloud_->store().count("dev-1"), 1u);
}

TEST_P(Sink, CustomFiltersAndTheDeviceLevel) {
    cloud_.reset();
    DatapointSinkOptions options;
    options.filters = {"acme/prod/+/telemetry", "acme/fixed/telemetry"};
    cloud_ = std::make_unique<CloudSide>(broker_.uri(), location("custom.db"), options);
    publish("acme/prod/dev-1/telemetry", batch(Encoding::Json, "dev-1", 1, 0, 1));
    publish("acme/prod/dev-1/telemetry", batch(Encoding::Json, "dev-9", 1, 0, 1));  // not dev-1's
    publish("acme/fixed/telemetry", batch(Encoding::Json, "dev-9", 2, 0, 1));       // no device level
    publish("tl/dev-1/dp", batch(Encoding::Json, "dev-1", 3, 0, 1));                // not subscribed
    ASSERT_TRUE(cloud_->wait_handled(3));
    std::this_thread::sleep_for(100ms);
    const auto stats = cloud_->sink().stats();
    EXPECT_EQ(stats.batches, 2u);
    EXPECT_EQ(stats.rejected, 1u);
    EXPECT_EQ(cloud_->store().count("dev-1"), 1u);
    EXPECT_EQ(cloud_->store().count("dev-9"), 1u);
}

TEST_P(Sink, BadOptionsAreRefused) {
    DatapointSinkOptions none;
    none.filters.clear();
    EXPECT_EQ(tltest::capture_error([&] { DatapointSink s(cloud_->client(), cloud_->store(), none); }).status(),
              Status::InvalidArgument);
    DatapointSinkOptions bad_filter;
    bad_filter.filters = {"tl/#/dp"};
    EXPECT_EQ(tltest::capture_error([&] { DatapointSink s(cloud_->client(), cloud_->store(), bad_filter); }).status(),
              Status::InvalidArgument);
    DatapointSinkOptions zero;
    zero.max_batch_bytes = 0;
    EXPECT_EQ(tltest::capture_error([&] { DatapointSink s(cloud_->client(), cloud_->store(), zero); }).status(),
              Status::InvalidArgument);
}

TEST_P(Sink, BadReceiptTopicsAreRefused) {
    for (const std::string topic : {"tl/dev/receipts", "tl/{device}/#", "tl/+/{device}"}) {
        DatapointSinkOptions o;
        o.receipt_topic = topic;
        EXPECT_EQ(tltest::capture_error([&] { DatapointSink s(cloud_->client(), cloud_->store(), o); }).status(),
                  Status::InvalidArgument)
            << topic;
    }
}

TEST_P(Sink, SendsEachDeviceAReceiptForWhatItStoredAndForRedeliveries) {
    tltest::Recorder<std::string> receipts_1, receipts_2;
    device_->subscribe("tl/dev-1/receipts", 1, [receipts_1](const twinlink::MessageView& m) {
        receipts_1.push(std::string(m.payload));
    });
    device_->subscribe("tl/dev-2/receipts", 1, [receipts_2](const twinlink::MessageView& m) {
        receipts_2.push(std::string(m.payload));
    });
    const auto confirmed = [](const std::vector<std::string>& payloads) {
        std::set<std::uint64_t> seqs;
        for (const auto& payload : payloads) {
            const auto receipt = twinlink::decode_receipt(payload);
            for (const auto& [first, last] : receipt.stored)
                for (std::uint64_t seq = first; seq <= last; ++seq) seqs.insert(seq);
        }
        return seqs;
    };
    for (std::uint64_t seq = 1; seq <= 5; ++seq) publish("tl/dev-1/dp", batch(Encoding::Cbor, "dev-1", seq, 0, 2));
    publish("tl/dev-2/dp", batch(Encoding::Json, "dev-2", 40, 0, 2));
    publish("tl/dev-1/dp", "not a batch");  // no receipt for what was not stored
    ASSERT_TRUE(cloud_->wait_handled(7));
    ASSERT_TRUE(receipts_1.wait_for([&](const auto& v) { return confirmed(v).size() == 5; }));
    ASSERT_TRUE(receipts_2.wait_for([&](const auto& v) { return confirmed(v).size() == 1; }));
    EXPECT_EQ(confirmed(receipts_1.items()), (std::set<std::uint64_t>{1, 2, 3, 4, 5}));
    EXPECT_EQ(confirmed(receipts_2.items()), (std::set<std::uint64_t>{40}));
    EXPECT_EQ(twinlink::decode_receipt(receipts_2.items().front()).device, "dev-2");
    // Batches that arrive together share receipts: fewer receipts than batches.
    EXPECT_LE(cloud_->sink().stats().receipts, 6u);

    // A redelivery is confirmed again (its first receipt may have been lost).
    const std::string again = batch(Encoding::Cbor, "dev-1", 2, 0, 2);
    const std::size_t first_burst = receipts_1.size();
    publish("tl/dev-1/dp", again);
    ASSERT_TRUE(receipts_1.wait_count(first_burst + 1));
    const std::size_t before = receipts_1.size();
    publish("tl/dev-1/dp", again);
    ASSERT_TRUE(receipts_1.wait_count(before + 1));
    EXPECT_EQ(twinlink::decode_receipt(receipts_1.items().back()).stored,
              (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{2, 2}}));
    EXPECT_EQ(cloud_->sink().stats().duplicates, 1u);
}

TEST(DeliveryReceipt, EncodesRangesAndDecodesOnlyWhatIsWellFormed) {
    const auto encoded = twinlink::encode_receipts("dev-1", {9, 3, 4, 5, 5, 12, 10});
    ASSERT_EQ(encoded.size(), 1u);
    EXPECT_EQ(encoded[0], R"({"device":"dev-1","stored":[[3,5],[9,10],[12,12]]})");
    const auto r = twinlink::decode_receipt(encoded[0]);
    EXPECT_EQ(r.device, "dev-1");
    EXPECT_EQ(r.stored, (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{3, 5}, {9, 10}, {12, 12}}));
    EXPECT_TRUE(twinlink::encode_receipts("d", {}).empty());
    EXPECT_EQ(twinlink::decode_receipt(R"({"device":"d","stored":[[0,18446744073709551615]]})").stored.front().second,
              18446744073709551615u);
    for (const std::string bad : {"", "x", "[]", "{}", R"({"device":"d"})", R"({"stored":[]})",
                                  R"({"device":1,"stored":[]})", R"({"device":"d","stored":{}})",
                                  R"({"device":"d","stored":[[1]]})", R"({"device":"d","stored":[[2,1]]})",
                                  R"({"device":"d","stored":[[-1,1]]})", R"({"device":"d","stored":[[1.5,2]]})",
                                  R"({"device":"d","stored":[["1",2]]})", R"({"device":"d","stored":[[1,2,3]]})",
                                  R"({"device":"d","stored":[[1,18446744073709551616]]})"})
        EXPECT_EQ(tltest::capture_error([&] { twinlink::decode_receipt(bad); }).status(), Status::ProtocolError) << bad;
    EXPECT_EQ(tltest::capture_error([&] { twinlink::decode_receipt(std::string(twinlink::kMaxReceiptBytes + 1, ' ')); })
                  .status(),
              Status::ProtocolError);
}

// Found by fuzz_receipt: ranges out of order or overlapping came back as written, although
// DeliveryReceipt promises them sorted and merged.
TEST(DeliveryReceipt, DecodeSortsAndMergesRanges) {
    using Ranges = std::vector<std::pair<std::uint64_t, std::uint64_t>>;
    EXPECT_EQ(twinlink::decode_receipt(R"({"device":"d","stored":[[10,12],[1,2]]})").stored, (Ranges{{1, 2}, {10, 12}}));
    EXPECT_EQ(twinlink::decode_receipt(R"({"device":"d","stored":[[1,5],[2,3],[4,8],[9,9],[11,11]]})").stored,
              (Ranges{{1, 9}, {11, 11}}));
    EXPECT_EQ(twinlink::decode_receipt(R"({"device":"d","stored":[[5,18446744073709551615],[0,6]]})").stored,
              (Ranges{{0, 18446744073709551615u}}));
}

TEST_P(Sink, TwoSinksOnOneDatabaseStoreABatchOnce) {
    // A second sink on the same client, with its own connection to the same database.
    std::unique_ptr<twinlink::Database> sqlite;
    std::unique_ptr<twinlink::PostgresDatabase> pg;
    if (GetParam() == tlcloud::Backend::Postgres)
        pg = std::make_unique<twinlink::PostgresDatabase>(db_location_);
    else
        sqlite = std::make_unique<twinlink::Database>(db_location_);
    auto store = pg ? std::make_unique<twinlink::DatapointStore>(*pg) : std::make_unique<twinlink::DatapointStore>(*sqlite);
    auto other = std::make_unique<DatapointSink>(cloud_->client(), *store);
    publish("tl/dev-1/dp", batch(Encoding::Json, "dev-1", 1, 0, 3));
    ASSERT_TRUE(cloud_->wait_handled(1));
    ASSERT_TRUE(tltest::wait_until([&] { return other->stats().batches + other->stats().duplicates == 1; }));
    EXPECT_EQ(cloud_->sink().stats().batches + other->stats().batches, 1u);
    EXPECT_EQ(cloud_->sink().stats().duplicates + other->stats().duplicates, 1u);

    // Destroying one leaves the other's subscription alone.
    other.reset();
    publish("tl/dev-1/dp", batch(Encoding::Json, "dev-1", 2, 3, 3));
    ASSERT_TRUE(cloud_->wait_handled(2));
    EXPECT_EQ(cloud_->store().count("dev-1"), 6u);
}

INSTANTIATE_TEST_SUITE_P(Backends, Sink, tlcloud::backends(), tlcloud::backend_name);

}  // namespace
