// DatapointStore on its own (no broker): typed values, duplicates and reused sequence numbers,
// the queries, reopening, and how fast batches of 5000 points are stored.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/test_util.hpp"
#include "fixtures/process.hpp"
#include "twinlink/batch_codec.hpp"
#include "twinlink/database.hpp"
#include "twinlink/datapoint_sink.hpp"
#include "twinlink/uuid7.hpp"

namespace {

using nlohmann::json;
using twinlink::Database;
using twinlink::DatabaseOptions;
using twinlink::Datapoint;
using twinlink::DatapointStore;
using twinlink::DecodedBatch;
using twinlink::Error;
using twinlink::InsertOutcome;
using twinlink::Statement;
using twinlink::Status;
using twinlink::StoredPoint;

class TempDir {
public:
    TempDir() : path_(twinlink::testing::detail::make_temp_dir("tl-dpstore-")) {}
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

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

// `n` int points of `series`, values and timestamps from `first`.
std::vector<Datapoint> ints(const std::string& series, std::int64_t first, std::size_t n) {
    std::vector<Datapoint> out;
    for (std::size_t i = 0; i < n; ++i) {
        const auto v = first + static_cast<std::int64_t>(i);
        out.push_back(Datapoint{series, 1'700'000'000'000 + v, v});
    }
    return out;
}

std::vector<Datapoint> points_of(const std::vector<StoredPoint>& stored) {
    std::vector<Datapoint> out;
    for (const auto& s : stored) out.push_back(s.point);
    return out;
}

std::vector<std::int64_t> int_values(const std::vector<StoredPoint>& stored) {
    std::vector<std::int64_t> out;
    for (const auto& s : stored) out.push_back(std::get<std::int64_t>(s.point.value));
    return out;
}

TEST(DatapointStore, KeepsTheTypeOfEveryValue) {
    Database db(":memory:");
    DatapointStore store(db);
    const std::vector<Datapoint> points = {
        {"temp", 1000, 21.0},  // an integral double stays a double
        {"temp", 1001, -0.5},
        {"count", 1002, std::int64_t{21}},
        {"count", 1003, std::numeric_limits<std::int64_t>::min()},
        {"door", 1004, true},
        {"door", 1005, false},
        {"label", 1006, std::string("ok \"quoted\" \xc3\xa9")},
        {"label", 1007, std::string()},
        {"cfg", 1008, json{{"a", 1}, {"b", {{"c", json::array({1.5, "x", true})}}}}},
        {"cfg", 1009, json::object()},
    };
    EXPECT_EQ(store.insert(make_batch("dev-1", 1, points)), InsertOutcome::Stored);

    EXPECT_EQ(points_of(store.tail("dev-1", 100)), points);

    // Typed in SQL too.
    Statement st = db.prepare("SELECT kind, typeof(value) FROM datapoints_points ORDER BY id");
    std::vector<std::string> kinds;
    while (st.step()) kinds.push_back(st.column_text(0) + ":" + st.column_text(1));
    EXPECT_EQ(kinds, (std::vector<std::string>{"double:real", "double:real", "int:integer", "int:integer",
                                               "bool:integer", "bool:integer", "string:text", "string:text",
                                               "object:text", "object:text"}));
}

TEST(DatapointStore, DropsARedeliveryAndCountsIt) {
    Database db(":memory:");
    DatapointStore store(db);
    const DecodedBatch batch = make_batch("dev-1", 7, ints("s", 0, 10));
    EXPECT_TRUE(store.insert_batch(batch));
    EXPECT_FALSE(store.insert_batch(batch));
    EXPECT_EQ(store.insert(batch), InsertOutcome::Duplicate);
    EXPECT_EQ(store.count("dev-1"), 10u);
    const auto stats = store.stats();
    EXPECT_EQ(stats.batches, 1u);
    EXPECT_EQ(stats.points, 10u);
    EXPECT_EQ(stats.duplicates, 2u);
    EXPECT_EQ(stats.seq_reused, 0u);

    // The same seq from another device is another batch.
    EXPECT_EQ(store.insert(make_batch("dev-2", 7, ints("s", 0, 3), batch.batch_id)), InsertOutcome::Stored);
    EXPECT_EQ(store.count("dev-2"), 3u);
}

TEST(DatapointStore, StoresANewBatchUnderAReusedSeqAndStillRecognisesBothRedeliveries) {
    Database db(":memory:");
    DatapointStore store(db);
    const DecodedBatch first = make_batch("dev-1", 5, ints("s", 0, 4));
    const DecodedBatch reused = make_batch("dev-1", 5, ints("s", 100, 3));
    ASSERT_NE(first.batch_id, reused.batch_id);

    EXPECT_EQ(store.insert(first), InsertOutcome::Stored);
    EXPECT_EQ(store.insert(reused), InsertOutcome::SeqReused);
    EXPECT_EQ(store.insert(first), InsertOutcome::Duplicate);
    EXPECT_EQ(store.insert(reused), InsertOutcome::Duplicate);
    EXPECT_EQ(store.count("dev-1"), 7u);
    EXPECT_EQ(int_values(store.query("dev-1", "s")), (std::vector<std::int64_t>{0, 1, 2, 3, 100, 101, 102}));
    const auto stats = store.stats();
    EXPECT_EQ(stats.batches, 2u);
    EXPECT_EQ(stats.seq_reused, 1u);
    EXPECT_EQ(stats.duplicates, 2u);
}

TEST(DatapointStore, RecordsABatchWithoutPoints) {
    Database db(":memory:");
    DatapointStore store(db);
    const DecodedBatch empty = make_batch("dev-1", 1, {});
    EXPECT_EQ(store.insert(empty), InsertOutcome::Stored);
    EXPECT_EQ(store.insert(empty), InsertOutcome::Duplicate);
    EXPECT_EQ(store.count("dev-1"), 0u);
    EXPECT_EQ(store.devices(), (std::vector<std::string>{"dev-1"}));
}

TEST(DatapointStore, TellsApartSeqsAboveInt64Max) {
    Database db(":memory:");
    DatapointStore store(db);
    const auto top = std::numeric_limits<std::uint64_t>::max();
    const DecodedBatch a = make_batch("dev-1", top, ints("s", 0, 1));
    const DecodedBatch b = make_batch("dev-1", top - 1, ints("s", 1, 1));
    const DecodedBatch c = make_batch("dev-1", std::uint64_t{1} << 63, ints("s", 2, 1));
    EXPECT_EQ(store.insert(a), InsertOutcome::Stored);
    EXPECT_EQ(store.insert(b), InsertOutcome::Stored);
    EXPECT_EQ(store.insert(c), InsertOutcome::Stored);
    EXPECT_EQ(store.insert(a), InsertOutcome::Duplicate);
    EXPECT_EQ(store.insert(c), InsertOutcome::Duplicate);
    EXPECT_EQ(store.count("dev-1"), 3u);
}

TEST(DatapointStore, TailGivesTheLatestPointsByTimestampNewestLast) {
    Database db(":memory:");
    DatapointStore store(db);
    // Stored out of timestamp order, two points on the same timestamp, and another device.
    store.insert(make_batch("dev-1", 1, {{"a", 30, std::int64_t{3}}, {"a", 10, std::int64_t{1}}}));
    store.insert(make_batch("dev-1", 2,
                            {{"b", 20, std::int64_t{2}}, {"b", 30, std::int64_t{4}}, {"a", 40, std::int64_t{5}}}));
    store.insert(make_batch("dev-2", 1, {{"a", 50, std::int64_t{99}}}));

    EXPECT_EQ(int_values(store.tail("dev-1", 3)), (std::vector<std::int64_t>{3, 4, 5}));
    EXPECT_EQ(int_values(store.tail("dev-1", 100)), (std::vector<std::int64_t>{1, 2, 3, 4, 5}));
    EXPECT_TRUE(store.tail("dev-1", 0).empty());
    EXPECT_TRUE(store.tail("nobody", 10).empty());
}

TEST(DatapointStore, QueryTakesOneSeriesBetweenInclusiveBoundsUpToALimit) {
    Database db(":memory:");
    DatapointStore store(db);
    store.insert(make_batch("dev-1", 1, ints("temp", 0, 10)));  // ts 1.7e12 + 0..9
    store.insert(make_batch("dev-1", 2, ints("other", 0, 10)));
    store.insert(make_batch("dev-2", 1, ints("temp", 0, 10)));
    const std::int64_t t0 = 1'700'000'000'000;

    EXPECT_EQ(int_values(store.query("dev-1", "temp")), (std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
    EXPECT_EQ(int_values(store.query("dev-1", "temp", t0 + 3, t0 + 6)), (std::vector<std::int64_t>{3, 4, 5, 6}));
    EXPECT_EQ(int_values(store.query("dev-1", "temp", t0 + 3, t0 + 6, 2)), (std::vector<std::int64_t>{3, 4}));
    EXPECT_TRUE(store.query("dev-1", "temp", t0 + 20).empty());
    EXPECT_TRUE(store.query("dev-1", "nothing").empty());
    for (const auto& p : store.query("dev-1", "temp")) EXPECT_EQ(p.point.name, "temp");
}

TEST(DatapointStore, StoredAfterFollowsWhatArrives) {
    Database db(":memory:");
    DatapointStore store(db);
    store.insert(make_batch("dev-1", 1, ints("a", 0, 3)));
    store.insert(make_batch("dev-2", 1, ints("a", 50, 3)));
    auto seen = store.stored_after("dev-1", 0);
    ASSERT_EQ(int_values(seen), (std::vector<std::int64_t>{0, 1, 2}));
    const std::int64_t cursor = seen.back().id;
    EXPECT_TRUE(store.stored_after("dev-1", cursor).empty());

    store.insert(make_batch("dev-1", 2, ints("b", 10, 5)));
    EXPECT_EQ(int_values(store.stored_after("dev-1", cursor)), (std::vector<std::int64_t>{10, 11, 12, 13, 14}));
    EXPECT_EQ(int_values(store.stored_after("dev-1", cursor, 2)), (std::vector<std::int64_t>{10, 11}));
}

TEST(DatapointStore, ListsSeriesAndDevicesSorted) {
    Database db(":memory:");
    DatapointStore store(db);
    store.insert(make_batch("dev-b", 1, {{"zeta", 1, 1.0}, {"alpha", 1, 1.0}, {"m\xc3\xa9tre", 1, 1.0}}));
    store.insert(make_batch("dev-a", 1, {{"x", 1, true}}));
    store.insert(make_batch("dev-b", 2, {{"alpha", 2, 2.0}, {"beta", 2, 2.0}}));
    EXPECT_EQ(store.series("dev-b"), (std::vector<std::string>{"alpha", "beta", "m\xc3\xa9tre", "zeta"}));
    EXPECT_EQ(store.series("dev-a"), (std::vector<std::string>{"x"}));
    EXPECT_TRUE(store.series("dev-c").empty());
    EXPECT_EQ(store.devices(), (std::vector<std::string>{"dev-a", "dev-b"}));
    EXPECT_EQ(store.count("dev-b"), 5u);
    EXPECT_EQ(store.count("dev-c"), 0u);
}

TEST(DatapointStore, KeepsDataAndDuplicatesAcrossReopening) {
    TempDir dir;
    const std::string path = dir.file("cloud.db");
    const DecodedBatch batch = make_batch("dev-1", 1, ints("s", 0, 5));
    {
        Database db(path);
        DatapointStore store(db);
        EXPECT_EQ(store.insert(batch), InsertOutcome::Stored);
    }
    {
        Database db(path);
        DatapointStore store(db);
        EXPECT_EQ(db.schema_version("datapoints"), 1);
        EXPECT_EQ(store.insert(batch), InsertOutcome::Duplicate);
        EXPECT_EQ(store.count("dev-1"), 5u);
    }
    {
        DatabaseOptions read_only;
        read_only.read_only = true;
        Database db(path, read_only);
        DatapointStore store(db);
        EXPECT_EQ(int_values(store.tail("dev-1", 2)), (std::vector<std::int64_t>{3, 4}));
        const Error e = tltest::capture_error([&] { store.insert(make_batch("dev-1", 2, ints("s", 5, 1))); });
        EXPECT_EQ(e.status(), Status::Io) << e.what();
        EXPECT_EQ(store.count("dev-1"), 5u);
    }
}

TEST(DatapointStore, BatchesOf5000PointsAreStoredQuickly) {
    TempDir dir;
    Database db(dir.file("cloud.db"));
    DatapointStore store(db);
    constexpr std::size_t kBatches = 40;
    constexpr std::size_t kPoints = 5000;
    // A realistic mix: 10 series of doubles and one of ints.
    std::vector<DecodedBatch> batches;
    for (std::size_t b = 0; b < kBatches; ++b) {
        std::vector<Datapoint> points;
        for (std::size_t i = 0; i < kPoints; ++i) {
            const auto n = static_cast<std::int64_t>(b * kPoints + i);
            const std::size_t s = i * 11 / kPoints;  // grouped by series, as batches are
            const std::int64_t ts = 1'700'000'000'000 + n;
            if (s == 10)
                points.push_back(Datapoint{"count", ts, n});
            else
                points.push_back(Datapoint{"sensor-" + std::to_string(s), ts, 20.0 + 0.01 * (n % 1000)});
        }
        batches.push_back(make_batch("dev-1", b + 1, std::move(points)));
    }
    const auto start = std::chrono::steady_clock::now();
    for (const auto& b : batches) ASSERT_EQ(store.insert(b), InsertOutcome::Stored);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double rate = static_cast<double>(kBatches * kPoints) / seconds;
    std::printf("[ rate     ] %zu batches of %zu points stored in %.3f s: %.0f points/s\n", kBatches, kPoints,
                seconds, rate);
    RecordProperty("points_per_second", static_cast<int>(rate));
    EXPECT_EQ(store.count("dev-1"), kBatches * kPoints);
    // Far below what it does (a few hundred thousand per second): only a pathology fails this.
    // Not judged under ThreadSanitizer, which slows SQLite's inserts below it (15,000/s measured),
    // nor under qemu-user (the cross-built tests' emulator sets TWINLINK_TEST_UNDER_QEMU), where
    // the emulated SQLite stored 7,600 to 10,700 points/s on a shared 2-core machine.
#if !defined(__SANITIZE_THREAD__)
    if (std::getenv("TWINLINK_TEST_UNDER_QEMU") == nullptr) EXPECT_GT(rate, 20000.0);
#endif
}

}  // namespace
