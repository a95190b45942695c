// DatapointStore on both backends: typed values, duplicates and reused sequence numbers, the
// queries, and two connections storing the same batches at once (two `twinlink serve` instances
// receiving redeliveries). tests/datapoints_e2e/store_test.cpp has the SQLite-only details.
#include <atomic>
#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "cloud/backend.hpp"
#include "twinlink/uuid7.hpp"

namespace {

using nlohmann::json;
using tlcloud::CloudDatabase;
using twinlink::Datapoint;
using twinlink::DatapointStore;
using twinlink::DecodedBatch;
using twinlink::InsertOutcome;
using twinlink::StoredPoint;

DecodedBatch make_batch(const std::string& device, std::uint64_t seq, std::vector<Datapoint> points,
                        std::string batch_id = twinlink::uuid7()) {
    DecodedBatch b;
    b.version = 1;
    b.device = device;
    b.batch_id = std::move(batch_id);
    b.seq = seq;
    b.points = std::move(points);
    return b;
}

std::vector<Datapoint> ints(const std::string& series, std::int64_t first, std::size_t n) {
    std::vector<Datapoint> out;
    for (std::size_t i = 0; i < n; ++i) {
        const auto v = first + static_cast<std::int64_t>(i);
        out.push_back(Datapoint{series, 1'700'000'000'000 + v, v});
    }
    return out;
}

std::vector<std::int64_t> int_values(const std::vector<StoredPoint>& stored) {
    std::vector<std::int64_t> out;
    for (const auto& s : stored) out.push_back(std::get<std::int64_t>(s.point.value));
    return out;
}

class DatapointStoreTest : public ::testing::TestWithParam<tlcloud::Backend> {};

TEST_P(DatapointStoreTest, KeepsTheTypeAndValueOfEveryPoint) {
    CloudDatabase db(GetParam());
    auto store = db.datapoint_store();
    const std::vector<Datapoint> points = {
        {"d", 1, 0.1},
        {"d", 2, -1.0e300},
        {"d", 3, std::numeric_limits<double>::infinity()},
        {"i", 4, std::int64_t{std::numeric_limits<std::int64_t>::min()}},
        {"b", 5, true},
        {"b", 6, false},
        {"s", 7, std::string("quote \" backslash \\ comma , brace } unicode \xc3\xa9")},
        {"s", 8, std::string()},
        {"o", 9, json{{"a", 1}, {"b", json::array({1, "x"})}}},
    };
    ASSERT_EQ(store->insert(make_batch("dev", 1, points)), InsertOutcome::Stored);
    const auto stored = store->stored_after("dev", 0);
    ASSERT_EQ(stored.size(), points.size());
    for (std::size_t i = 0; i < points.size(); ++i) {
        EXPECT_EQ(stored[i].point.name, points[i].name) << i;
        EXPECT_EQ(stored[i].point.timestamp_ms, points[i].timestamp_ms) << i;
        EXPECT_EQ(stored[i].point.value, points[i].value) << i;
        if (i > 0) {
            EXPECT_GT(stored[i].id, stored[i - 1].id);
        }
    }
    EXPECT_EQ(store->series("dev"), (std::vector<std::string>{"b", "d", "i", "o", "s"}));
    EXPECT_EQ(store->devices(), std::vector<std::string>{"dev"});
    EXPECT_EQ(store->count("dev"), points.size());
    EXPECT_EQ(store->last_id("dev"), stored.back().id);
    EXPECT_EQ(store->last_id("nobody"), 0);
}

TEST_P(DatapointStoreTest, DropsRedeliveriesAndKeepsReusedSequenceNumbers) {
    CloudDatabase db(GetParam());
    auto store = db.datapoint_store();
    const auto first = make_batch("dev", 7, ints("t", 0, 3));
    EXPECT_EQ(store->insert(first), InsertOutcome::Stored);
    EXPECT_EQ(store->insert(first), InsertOutcome::Duplicate);
    const auto reused = make_batch("dev", 7, ints("t", 100, 2));
    EXPECT_EQ(store->insert(reused), InsertOutcome::SeqReused);
    EXPECT_EQ(store->insert(reused), InsertOutcome::Duplicate);
    EXPECT_EQ(store->insert(make_batch("dev", 8, {})), InsertOutcome::Stored);
    EXPECT_EQ(store->count("dev"), 5u);
    const auto s = store->stats();
    EXPECT_EQ(s.batches, 3u);
    EXPECT_EQ(s.points, 5u);
    EXPECT_EQ(s.duplicates, 2u);
    EXPECT_EQ(s.seq_reused, 1u);
}

TEST_P(DatapointStoreTest, QueriesByTimeSeriesAndCursor) {
    CloudDatabase db(GetParam());
    auto store = db.datapoint_store();
    store->insert(make_batch("dev", 1, ints("a", 0, 10)));
    store->insert(make_batch("dev", 2, ints("b", 0, 5)));
    store->insert(make_batch("other", 1, ints("a", 0, 4)));
    EXPECT_EQ(int_values(store->query("dev", "a", 1'700'000'000'003, 1'700'000'000'006)),
              (std::vector<std::int64_t>{3, 4, 5, 6}));
    EXPECT_EQ(int_values(store->query("dev", "a", std::numeric_limits<std::int64_t>::min(),
                                      std::numeric_limits<std::int64_t>::max(), 2)),
              (std::vector<std::int64_t>{0, 1}));
    const auto tail = store->tail("dev", 3);
    ASSERT_EQ(tail.size(), 3u);
    EXPECT_EQ(tail.back().point.timestamp_ms, 1'700'000'000'009);
    const std::int64_t cursor = store->query("dev", "a").back().id;
    EXPECT_EQ(store->stored_after("dev", cursor).size(), 5u);
    EXPECT_EQ(store->stored_after("dev", cursor, 2).size(), 2u);
    EXPECT_EQ(store->devices(), (std::vector<std::string>{"dev", "other"}));
    EXPECT_EQ(store->count("other"), 4u);
}

// Each batch is offered by two connections at once: it is stored once, and exactly one of the
// two inserts reports it stored.
TEST_P(DatapointStoreTest, TwoConnectionsStoreEachBatchOnce) {
    CloudDatabase first(GetParam());
    CloudDatabase& db = first;
    std::unique_ptr<twinlink::Database> second_sqlite;
    std::unique_ptr<twinlink::PostgresDatabase> second_pg;
    if (db.sqlite())
        second_sqlite = std::make_unique<twinlink::Database>(db.location());
    else
        second_pg = std::make_unique<twinlink::PostgresDatabase>(db.location());
    auto a = db.datapoint_store();
    auto b = second_pg ? std::make_unique<DatapointStore>(*second_pg) : std::make_unique<DatapointStore>(*second_sqlite);

    constexpr int kBatches = 150;
    std::vector<DecodedBatch> batches;
    for (int i = 0; i < kBatches; ++i) batches.push_back(make_batch("dev", static_cast<std::uint64_t>(i), ints("t", i * 10, 10)));
    std::atomic<int> stored{0};
    const auto writer = [&](DatapointStore& store) {
        for (const auto& batch : batches)
            if (store.insert(batch) != InsertOutcome::Duplicate) stored.fetch_add(1);
    };
    std::thread ta(writer, std::ref(*a));
    std::thread tb(writer, std::ref(*b));
    ta.join();
    tb.join();
    EXPECT_EQ(stored.load(), kBatches);
    EXPECT_EQ(a->count("dev"), static_cast<std::uint64_t>(kBatches * 10));
    EXPECT_EQ(a->stats().duplicates + b->stats().duplicates, static_cast<std::uint64_t>(kBatches));
}

INSTANTIATE_TEST_SUITE_P(Backends, DatapointStoreTest, tlcloud::backends(), tlcloud::backend_name);

}  // namespace
