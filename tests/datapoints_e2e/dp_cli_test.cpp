// `twinlink dp tail` and `twinlink dp query` as a user runs them, on a database filled through
// DatapointStore (and, for --follow, filled while the command runs): a SQLite file, and a
// PostgreSQL database given by its URI.
#include <signal.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "cloud/backend.hpp"
#include "cloud_side.hpp"
#include "fixtures/postgres.hpp"
#include "twinlink/uuid7.hpp"

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using twinlink::Datapoint;
using twinlink::DecodedBatch;
namespace proc = twinlink::testing::detail;

const std::string kTool = TL_TWINLINK_TOOL;

// 2024-11-24T17:33:20.000Z
constexpr std::int64_t kT0 = 1'732'469'600'000;

proc::CommandResult twinlink(std::vector<std::string> args) {
    args.insert(args.begin(), kTool);
    return proc::run_command(args, 30s);
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (auto end = text.find('\n'); end != std::string::npos; end = text.find('\n', start)) {
        out.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    if (start < text.size()) out.push_back(text.substr(start));
    return out;
}

DecodedBatch batch(const std::string& device, std::uint64_t seq, std::vector<Datapoint> points) {
    DecodedBatch b;
    b.version = 1;
    b.device = device;
    b.batch_id = twinlink::uuid7();
    b.seq = seq;
    b.points = std::move(points);
    return b;
}

class DpCommand : public ::testing::TestWithParam<tlcloud::Backend> {
protected:
    void SetUp() override {
        if (GetParam() == tlcloud::Backend::Sqlite) {
            db_ = dir_.file("cloud.db");
            sqlite_ = std::make_unique<twinlink::Database>(db_);
            store_ = std::make_unique<twinlink::DatapointStore>(*sqlite_);
        } else {
            db_ = twinlink::testing::shared_postgres().create_database();
            pg_ = std::make_unique<twinlink::PostgresDatabase>(db_);
            store_ = std::make_unique<twinlink::DatapointStore>(*pg_);
        }
        store_->insert(batch("sensor-42", 1,
                             {{"temp", kT0, 21.0},
                              {"temp", kT0 + 60'000, 21.5},
                              {"temp", kT0 + 120'000, 22.25},
                              {"door", kT0 + 30'000, true},
                              {"label", kT0 + 90'000, std::string("ok \"now\"")},
                              {"count", kT0 + 150'000, std::int64_t{7}},
                              {"cfg", kT0 + 180'000, json{{"a", 1}}}}));
        store_->insert(batch("other", 1, {{"temp", kT0, 5.0}}));
    }

    dptest::TempDir dir_;
    std::string db_;  // the --db argument: the SQLite file's path or the PostgreSQL URI
    std::unique_ptr<twinlink::Database> sqlite_;
    std::unique_ptr<twinlink::PostgresDatabase> pg_;
    std::unique_ptr<twinlink::DatapointStore> store_;
};

TEST_P(DpCommand, TailPrintsTheLatestPointsOldestFirst) {
    auto r = twinlink({"dp", "tail", "sensor-42", "--db", db_, "-n", "3"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(lines(r.output), (std::vector<std::string>{
                                   "2024-11-24T17:35:20.000Z temp 22.25",
                                   "2024-11-24T17:35:50.000Z count 7",
                                   "2024-11-24T17:36:20.000Z cfg {\"a\":1}",
                               }));
    r = twinlink({"dp", "tail", "sensor-42", "--db=" + db_});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(lines(r.output), (std::vector<std::string>{
                                   "2024-11-24T17:33:20.000Z temp 21.0",
                                   "2024-11-24T17:33:50.000Z door true",
                                   "2024-11-24T17:34:20.000Z temp 21.5",
                                   "2024-11-24T17:34:50.000Z label \"ok \\\"now\\\"\"",
                                   "2024-11-24T17:35:20.000Z temp 22.25",
                                   "2024-11-24T17:35:50.000Z count 7",
                                   "2024-11-24T17:36:20.000Z cfg {\"a\":1}",
                               }));
}

TEST_P(DpCommand, QueryTakesOneSeriesInATimeRange) {
    auto r = twinlink({"dp", "query", "sensor-42", "temp", "--db", db_});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(lines(r.output).size(), 3u) << r.output;

    // Epoch milliseconds, ISO 8601 with and without an offset, both bounds inclusive.
    r = twinlink({"dp", "query", "sensor-42", "temp", "--db", db_, "--since", std::to_string(kT0 + 60'000)});
    EXPECT_EQ(lines(r.output), (std::vector<std::string>{"2024-11-24T17:34:20.000Z temp 21.5",
                                                         "2024-11-24T17:35:20.000Z temp 22.25"}));
    r = twinlink({"dp", "query", "sensor-42", "temp", "--db", db_, "--since", "2024-11-24T18:34:20+01:00",
                  "--until", "2024-11-24T17:35:20Z"});
    EXPECT_EQ(lines(r.output), (std::vector<std::string>{"2024-11-24T17:34:20.000Z temp 21.5",
                                                         "2024-11-24T17:35:20.000Z temp 22.25"}));
    r = twinlink({"dp", "query", "sensor-42", "temp", "--db", db_, "--until", "2024-11-24 17:34:19.999", "--limit",
                  "5"});
    EXPECT_EQ(lines(r.output), (std::vector<std::string>{"2024-11-24T17:33:20.000Z temp 21.0"}));
    r = twinlink({"dp", "query", "sensor-42", "temp", "--db", db_, "--limit", "2"});
    EXPECT_EQ(lines(r.output).size(), 2u) << r.output;

    // Durations before now: these points are from 2024, so none is in the last hour.
    r = twinlink({"dp", "query", "sensor-42", "temp", "--db", db_, "--since", "1h"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(r.output, "");
    r = twinlink({"dp", "query", "sensor-42", "temp", "--db", db_, "--since", "5200w"});
    EXPECT_EQ(lines(r.output).size(), 3u) << r.output;
}

TEST_P(DpCommand, ClearErrorsAndExitStatuses) {
    auto r = twinlink({"dp", "tail", "nobody", "--db", db_});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_TRUE(contains(r.output, "no datapoints of device 'nobody'")) << r.output;
    EXPECT_TRUE(contains(r.output, "other, sensor-42")) << r.output;

    r = twinlink({"dp", "query", "sensor-42", "humidity", "--db", db_});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_TRUE(contains(r.output, "no series 'humidity'")) << r.output;
    EXPECT_TRUE(contains(r.output, "cfg, count, door, label, temp")) << r.output;

    if (GetParam() == tlcloud::Backend::Sqlite) {
        r = twinlink({"dp", "tail", "sensor-42", "--db", dir_.file("missing.db")});
        EXPECT_EQ(r.exit_code, 1);
        EXPECT_TRUE(contains(r.output, "missing.db")) << r.output;

        {
            twinlink::Database empty(dir_.file("empty.db"));
            empty.execute("CREATE TABLE unrelated(x)");
        }
        r = twinlink({"dp", "tail", "sensor-42", "--db", dir_.file("empty.db")});
        EXPECT_EQ(r.exit_code, 1);
        EXPECT_TRUE(contains(r.output, "holds no datapoints")) << r.output;
    } else {
        // Nothing reachable on port 1; the password is not printed.
        r = twinlink({"dp", "tail", "sensor-42", "--db", "postgresql://ann:s3cret@127.0.0.1:1/cloud?connect_timeout=2"});
        EXPECT_EQ(r.exit_code, 1);
        EXPECT_TRUE(contains(r.output, "cannot reach PostgreSQL at 'postgresql://ann@127.0.0.1:1/cloud")) << r.output;
        EXPECT_FALSE(contains(r.output, "s3cret")) << r.output;

        // A database that serve never wrote to: the command reports it and creates nothing there.
        const std::string empty = twinlink::testing::shared_postgres().create_database();
        r = twinlink({"dp", "query", "sensor-42", "temp", "--db", empty});
        EXPECT_EQ(r.exit_code, 1);
        EXPECT_TRUE(contains(r.output, "holds no datapoints")) << r.output;
        EXPECT_EQ(twinlink::testing::shared_postgres().query(
                      empty, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
                  "0");
    }

    const std::vector<std::vector<std::string>> usage = {
        {"dp"},
        {"dp", "frobnicate"},
        {"dp", "tail", "sensor-42"},                                // no --db
        {"dp", "tail", "--db", db_},                              // no device
        {"dp", "tail", "sensor-42", "--db", db_, "-n", "0"},
        {"dp", "tail", "sensor-42", "--db", db_, "--lines", "x"},
        {"dp", "query", "sensor-42", "--db", db_},                // no series
        {"dp", "query", "sensor-42", "temp", "--db", db_, "--since", "yesterday"},
        {"dp", "query", "sensor-42", "temp", "--db", db_, "--since", "2024-02-30"},
        {"dp", "query", "sensor-42", "temp", "--db", db_, "--since", "10y"},
        {"dp", "query", "sensor-42", "temp", "--db", db_, "--since", "1h", "--until", "2h"},
        {"dp", "query", "sensor-42", "temp", "--db", db_, "--limit", "-1"},
    };
    for (const auto& args : usage) {
        r = twinlink(args);
        EXPECT_EQ(r.exit_code, 2) << args.back() << ": " << r.output;
    }
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"dp", "--help"}, {"dp", "tail", "--help"}, {"dp", "query", "--help"}}) {
        r = twinlink(args);
        EXPECT_EQ(r.exit_code, 0) << r.output;
        EXPECT_TRUE(contains(r.output, "usage: twinlink dp")) << r.output;
    }
}

TEST_P(DpCommand, TailFollowPrintsPointsAsTheyAreStored) {
    const std::string out = dir_.file("follow.out");
    proc::SpawnOptions options;
    options.argv = {kTool, "dp", "tail", "sensor-42", "--db", db_, "-n", "1", "--follow"};
    options.output_path = out;
    options.die_with_parent = true;
    const pid_t pid = proc::spawn(options);
    ASSERT_TRUE(tltest::wait_until([&] { return contains(proc::read_file(out), "cfg"); }));

    // Stored after it started, out of time order: printed in the order they were stored.
    store_->insert(batch("sensor-42", 2, {{"temp", kT0 + 300'000, 23.0}, {"temp", kT0 - 1000, 20.0}}));
    store_->insert(batch("other", 2, {{"temp", kT0 + 300'000, 6.0}}));
    store_->insert(batch("sensor-42", 3, {{"door", kT0 + 301'000, false}}));
    ASSERT_TRUE(tltest::wait_until([&] { return contains(proc::read_file(out), "door false"); }));
    proc::terminate(pid, SIGTERM, 5s);
    EXPECT_EQ(lines(proc::read_file(out)), (std::vector<std::string>{
                                               "2024-11-24T17:36:20.000Z cfg {\"a\":1}",
                                               "2024-11-24T17:38:20.000Z temp 23.0",
                                               "2024-11-24T17:33:19.000Z temp 20.0",
                                               "2024-11-24T17:38:21.000Z door false",
                                           }));
}

INSTANTIATE_TEST_SUITE_P(Backends, DpCommand, tlcloud::backends(), tlcloud::backend_name);

}  // namespace
