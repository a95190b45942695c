// `twinlink simulate` as a user runs it: a private mosquitto, `twinlink serve` on it, then a fleet
// of simulated devices, judged by its JSON results against serve's database.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fixtures/broker.hpp"
#include "fixtures/postgres.hpp"
#include "fixtures/process.hpp"

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace proc = twinlink::testing::detail;

const std::string kTool = TL_TWINLINK_TOOL;

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

class TwinlinkSimulate : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = proc::make_temp_dir("tl-sim-");
        db_ = dir_ + "/cloud.db";
        json_ = dir_ + "/sim.json";
    }

    void TearDown() override {
        if (serve_pid_ > 0) proc::terminate(serve_pid_, SIGTERM, 5s);
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }

    // serve on `db` (a SQLite path or a PostgreSQL URI; db_ when empty).
    void start_serve(const std::string& db = "") {
        const std::string log = dir_ + "/serve.log";
        proc::SpawnOptions o;
        o.argv = {kTool, "serve", "--broker", broker_.uri(), "--db", db.empty() ? db_ : db, "--clean-session"};
        o.output_path = log;
        o.die_with_parent = true;
        serve_pid_ = proc::spawn(o);
        const auto deadline = std::chrono::steady_clock::now() + 20s;
        while (!contains(proc::read_file(log), "twinlink serve: ready")) {
            ASSERT_TRUE(proc::is_alive(serve_pid_)) << "serve exited:\n" << proc::read_file(log);
            ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "serve not ready:\n" << proc::read_file(log);
            std::this_thread::sleep_for(20ms);
        }
    }

    std::vector<std::string> simulate_args(std::vector<std::string> extra) const {
        std::vector<std::string> argv = {kTool, "simulate", "--broker", broker_.uri(), "--json", json_};
        argv.insert(argv.end(), extra.begin(), extra.end());
        return argv;
    }

    json results() const {
        const std::string text = proc::read_file(json_);
        return text.empty() ? json() : json::parse(text);
    }

    twinlink::testing::Broker broker_{twinlink::testing::Broker::Options{false}};
    std::string dir_, db_, json_;
    pid_t serve_pid_ = -1;
};

TEST(TwinlinkSimulateCli, HelpAndUsageErrors) {
    auto r = proc::run_command({kTool, "simulate", "--help"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    for (const char* option : {"--devices", "--rate", "--duration", "--shadow-every", "--client-prefix", "--encoding",
                               "--json", "--db", "--progress", "--runtime-threads"})
        EXPECT_TRUE(contains(r.output, option)) << option << "\n" << r.output;
    EXPECT_TRUE(contains(proc::run_command({kTool, "--help"}).output, "simulate"));

    for (const auto& bad : std::vector<std::vector<std::string>>{{"--devices", "0"},
                                                                 {"--rate", "0"},
                                                                 {"--duration", "-1"},
                                                                 {"--encoding", "xml"},
                                                                 {"--client-prefix", "a/b"},
                                                                 {"--client-id", "x"},
                                                                 {"--runtime-threads", "many"},
                                                                 {"operand"}}) {
        std::vector<std::string> argv = {kTool, "simulate"};
        argv.insert(argv.end(), bad.begin(), bad.end());
        r = proc::run_command(argv);
        EXPECT_EQ(r.exit_code, 2) << bad[0] << ": " << r.output;
    }
}

// 20 devices for 3 s: every point the devices recorded is confirmed by a receipt and is a row of
// serve's database, and every shadow report got its answer; then again without a shared runtime.
TEST_F(TwinlinkSimulate, TwentyDevicesStoreEveryPoint) {
    start_serve();
    const auto r = proc::run_command(simulate_args({"--devices", "20", "--rate", "20", "--duration", "3",
                                                    "--shadow-every", "0.5", "--db", db_}),
                                     60s);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "points/s stored")) << r.output;
    EXPECT_FALSE(contains(r.output, "simulate: connecting")) << "a progress line without a terminal:\n" << r.output;
    const json j = results();
    ASSERT_TRUE(j.is_object()) << r.output;
    EXPECT_EQ(j.at("devices"), 20);
    EXPECT_EQ(j.at("connected"), 20);
    EXPECT_TRUE(j.at("connect_ms").is_number()) << j.dump(2);
    EXPECT_GT(j.at("points_recorded").get<std::uint64_t>(), 0u) << j.dump(2);
    EXPECT_EQ(j.at("points_confirmed"), j.at("points_recorded")) << j.dump(2);
    EXPECT_EQ(j.at("points_stored_rows"), j.at("points_confirmed")) << j.dump(2);
    EXPECT_EQ(j.at("points_lost"), 0) << j.dump(2);
    EXPECT_EQ(j.at("points_dropped"), 0) << j.dump(2);
    EXPECT_GT(j.at("points_per_s_stored").get<double>(), 0) << j.dump(2);
    EXPECT_GT(j.at("shadow_accepted").get<std::uint64_t>(), 0u) << j.dump(2);
    EXPECT_EQ(j.at("shadow_failed"), 0) << j.dump(2);
    EXPECT_TRUE(j.at("shadow_p50_ms").is_number()) << j.dump(2);
    EXPECT_TRUE(j.at("shadow_p99_ms").is_number()) << j.dump(2);
    // On the shared runtime the 20 devices (shadows and pipelines included) add no thread: the
    // runtime's 5, Paho's 2 and the simulator's own.
    EXPECT_LE(j.at("threads").get<std::uint64_t>(), 12u) << j.dump(2);
    EXPECT_TRUE(j.at("rss_per_device_kib").is_number()) << j.dump(2);
    EXPECT_TRUE(j.at("cpu_ms_per_1000_points").is_number()) << j.dump(2);
    EXPECT_EQ(j.at("interrupted"), false);
    EXPECT_EQ(j.at("runtime_threads"), 2) << "the devices share a runtime by default";

    // A second run with the same device ids counts only its own rows.
    const auto again = proc::run_command(simulate_args({"--devices", "20", "--rate", "10", "--duration", "1",
                                                        "--shadow-every", "0", "--db", db_, "--runtime-threads", "0"}),
                                         60s);
    ASSERT_EQ(again.exit_code, 0) << again.output;
    const json k = results();
    EXPECT_EQ(k.at("points_stored_rows"), k.at("points_recorded")) << k.dump(2);
    EXPECT_TRUE(k.at("shadow_p50_ms").is_null()) << k.dump(2);
    EXPECT_TRUE(k.at("runtime_threads").is_null()) << k.dump(2);
    EXPECT_GT(k.at("threads").get<std::uint64_t>(), 20u) << "threads of each device's own" << k.dump(2);
    EXPECT_EQ(k.at("points_lost"), 0) << k.dump(2);
}

// Without a sink no receipt comes: the points are not confirmed stored, and the run fails.
TEST_F(TwinlinkSimulate, FailsWhenNothingIsStored) {
    const auto r = proc::run_command(simulate_args({"--devices", "3", "--rate", "10", "--duration", "1",
                                                    "--shadow-every", "0", "--flush-timeout", "1"}),
                                     60s);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    const json j = results();
    ASSERT_TRUE(j.is_object()) << r.output;
    EXPECT_GT(j.at("points_lost").get<std::uint64_t>(), 0u) << j.dump(2);
    EXPECT_EQ(j.at("points_confirmed"), 0) << j.dump(2);
}

// SIGINT in the middle of a long run: it stops recording, flushes briefly, writes its results and exits 0.
TEST_F(TwinlinkSimulate, SigintStopsCleanly) {
    start_serve();
    proc::SpawnOptions o;
    o.argv = simulate_args({"--devices", "10", "--duration", "600", "--progress"});
    o.output_path = dir_ + "/simulate.log";
    o.die_with_parent = true;
    const pid_t pid = proc::spawn(o);
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!contains(proc::read_file(o.output_path), "recorded")) {
        ASSERT_TRUE(proc::is_alive(pid)) << proc::read_file(o.output_path);
        if (std::chrono::steady_clock::now() > deadline) {
            proc::terminate(pid, SIGKILL, 1s);
            FAIL() << "no progress line:\n" << proc::read_file(o.output_path);
        }
        std::this_thread::sleep_for(50ms);
    }
    ::kill(pid, SIGINT);
    const auto status = proc::wait_for_exit(pid, 15s);
    if (!status) proc::terminate(pid, SIGKILL, 1s);
    ASSERT_TRUE(status) << "still running 15 s after SIGINT:\n" << proc::read_file(o.output_path);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << proc::read_file(o.output_path);
    const json j = results();
    ASSERT_TRUE(j.is_object()) << proc::read_file(o.output_path);
    EXPECT_EQ(j.at("interrupted"), true);
    EXPECT_LT(j.at("recorded_s").get<double>(), 60.0);
}

// serve on PostgreSQL: --db takes its URI, and the rows counted are that database's.
TEST_F(TwinlinkSimulate, CountsTheRowsOfServesPostgreSQLDatabase) {
    if (!twinlink::testing::postgres_enabled()) GTEST_SKIP() << "built without PostgreSQL";
    const std::string uri = twinlink::testing::shared_postgres().create_database();
    start_serve(uri);
    const auto r = proc::run_command(simulate_args({"--devices", "10", "--rate", "20", "--duration", "2",
                                                    "--shadow-every", "0.5", "--db", uri}),
                                     60s);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const json j = results();
    ASSERT_TRUE(j.is_object()) << r.output;
    EXPECT_GT(j.at("points_recorded").get<std::uint64_t>(), 0u) << j.dump(2);
    EXPECT_EQ(j.at("points_confirmed"), j.at("points_recorded")) << j.dump(2);
    EXPECT_EQ(j.at("points_stored_rows"), j.at("points_confirmed")) << j.dump(2);
    const std::string rows = twinlink::testing::shared_postgres().query(uri, "SELECT count(*) FROM datapoints_points");
    EXPECT_EQ(std::stoull(rows), j.at("points_stored_rows").get<std::uint64_t>()) << rows;
    EXPECT_EQ(j.at("points_lost"), 0) << j.dump(2);
    EXPECT_GT(j.at("shadow_accepted").get<std::uint64_t>(), 0u) << j.dump(2);
}

}  // namespace
