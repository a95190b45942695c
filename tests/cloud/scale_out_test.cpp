// Several `twinlink serve` instances share one PostgreSQL database and one MQTT 5 shared
// subscription group. Devices stream datapoints (with delivery receipts) and update their shadows
// from two sides at once while one instance is SIGKILLed; afterwards every point is stored once,
// every shadow version was accepted once, and the devices' receipt counters match the rows.
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/test_util.hpp"
#include "fixtures/broker.hpp"
#include "fixtures/postgres.hpp"
#include "fixtures/process.hpp"
#include "twinlink/datapoints.hpp"
#include "twinlink/shadow.hpp"

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace proc = twinlink::testing::detail;

const std::string kTool = TL_TWINLINK_TOOL;
constexpr std::int64_t kBase = 1'700'000'000'000;

std::size_t count(const std::string& haystack, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
    return n;
}

class PostgresScaleOut : public ::testing::Test {
protected:
    void SetUp() override {
        if (!twinlink::testing::postgres_enabled()) GTEST_SKIP() << "built without PostgreSQL support";
        dir_ = proc::make_temp_dir("tl-scale-");
        uri_ = twinlink::testing::shared_postgres().create_database();
    }

    void TearDown() override {
        for (pid_t pid : serves_)
            if (pid > 0) proc::terminate(pid, SIGKILL, 2s);
        std::error_code ignored;
        if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
    }

    std::string log_of(int i) const { return dir_ + "/serve-" + std::to_string(i) + ".log"; }

    void start_serve(int i) {
        proc::SpawnOptions o;
        o.argv = {kTool,         "serve",         "--broker",    broker_.uri(),         "--db",
                  uri_,          "--share-group", "cloud",       "--client-id",         "serve-" + std::to_string(i),
                  "--log-level", "info"};
        o.output_path = log_of(i);
        o.die_with_parent = true;
        const pid_t pid = proc::spawn(o);
        serves_.push_back(pid);
        const auto deadline = std::chrono::steady_clock::now() + 20s;
        while (count(proc::read_file(log_of(i)), "twinlink serve: ready") == 0) {
            ASSERT_TRUE(proc::is_alive(pid)) << "serve exited:\n" << proc::read_file(log_of(i));
            ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "serve not ready:\n" << proc::read_file(log_of(i));
            std::this_thread::sleep_for(20ms);
        }
    }

    std::string sql(const std::string& query) { return twinlink::testing::shared_postgres().query(uri_, query); }

    twinlink::testing::Broker broker_{twinlink::testing::Broker::Options{false}};
    std::string dir_, uri_;
    std::vector<pid_t> serves_;
};

// What one device did: points recorded and confirmed, shadow versions it and its application saw
// accepted.
struct DeviceRun {
    std::int64_t recorded = 0;
    std::uint64_t confirmed = 0;
    std::uint64_t receipt_timeouts = 0;
    std::vector<std::uint64_t> versions;  // from the device's and the application's accepted updates
    std::string error;
};

TEST_F(PostgresScaleOut, ThreeInstancesOneKilledMidStreamStoreEverythingOnce) {
    for (int i = 0; i < 3; ++i) ASSERT_NO_FATAL_FAILURE(start_serve(i));

    constexpr int kDevices = 4;
    constexpr int kSteps = 30;           // shadow updates from each side, and rounds of points
    constexpr int kPointsPerStep = 40;
    std::atomic<int> steps_done{0};
    std::vector<DeviceRun> runs(kDevices);

    const auto device = [&](int d) {
        DeviceRun& run = runs[static_cast<std::size_t>(d)];
        try {
            const std::string id = "dev-" + std::to_string(d);
            auto copts = tltest::options_for(broker_.uri());
            copts.client_id = id;
            twinlink::Client client(copts);
            client.connect(10s);
            auto app_opts = tltest::options_for(broker_.uri());
            twinlink::Client app_client(app_opts);
            app_client.connect(10s);

            twinlink::DatapointOptions o;
            o.device = id;
            o.batch_max_points = 20;
            o.linger = 20ms;
            o.delivery = twinlink::DeliveryMode::Receipt;
            o.receipt_timeout = 2s;
            twinlink::Datapoints dp(client, o);

            twinlink::ShadowOptions so;
            so.device = id;
            so.request_timeout = 2s;  // a request lost with the killed instance is sent again
            twinlink::Shadow shadow(client, so);
            twinlink::Shadow app(app_client, so);

            std::vector<std::uint64_t> app_versions;
            std::thread app_thread([&] {
                for (int step = 0; step < kSteps; ++step)
                    app_versions.push_back(app.desire({{"m", step}}, 60s).value("version", 0ull));
            });
            for (int step = 0; step < kSteps; ++step) {
                for (int p = 0; p < kPointsPerStep; ++p) {
                    dp.record("s" + std::to_string(run.recorded % 3), run.recorded, kBase + run.recorded);
                    ++run.recorded;
                }
                run.versions.push_back(shadow.report({{"n", step}}, 60s).value("version", 0ull));
                steps_done.fetch_add(1);
            }
            app_thread.join();
            run.versions.insert(run.versions.end(), app_versions.begin(), app_versions.end());
            dp.flush(60s);
            const auto stats = dp.stats();
            run.confirmed = stats.confirmed_points;
            run.receipt_timeouts = stats.receipt_timeouts;
            client.disconnect(1s);
            app_client.disconnect(1s);
        } catch (const std::exception& e) {
            run.error = e.what();
        }
    };

    std::vector<std::thread> devices;
    for (int d = 0; d < kDevices; ++d) devices.emplace_back(device, d);
    // A third of the way through, instance 1 dies without a word to the broker or the database.
    ASSERT_TRUE(tltest::wait_until([&] { return steps_done.load() >= kDevices * kSteps / 3; }, 120s));
    ::kill(serves_[1], SIGKILL);
    proc::wait_for_exit(serves_[1], 5s);
    serves_[1] = -1;
    for (auto& t : devices) t.join();

    for (int d = 0; d < kDevices; ++d) {
        const DeviceRun& run = runs[static_cast<std::size_t>(d)];
        const std::string id = "dev-" + std::to_string(d);
        ASSERT_TRUE(run.error.empty()) << id << ": " << run.error;
        // Every point stored, once, and each confirmed to the device by a receipt.
        const std::string where = " FROM datapoints_points WHERE device = '" + id + "'";
        EXPECT_EQ(sql("SELECT count(*)" + where), std::to_string(run.recorded)) << id;
        EXPECT_EQ(sql("SELECT count(DISTINCT ts)" + where), std::to_string(run.recorded)) << id;
        EXPECT_EQ(sql("SELECT min(ts - " + std::to_string(kBase) + "), max(ts - " + std::to_string(kBase) + ")" + where),
                  "0|" + std::to_string(run.recorded - 1))
            << id;
        EXPECT_EQ(run.confirmed, static_cast<std::uint64_t>(run.recorded)) << id;
        // Every version accepted once: the device and its application never saw the same one,
        // and the stored version is the last. A request whose instance died after its commit and
        // before its answer was sent again and took a version of its own, unseen.
        std::vector<std::uint64_t> versions = run.versions;
        std::sort(versions.begin(), versions.end());
        EXPECT_EQ(std::adjacent_find(versions.begin(), versions.end()), versions.end())
            << id << ": a version was accepted twice";
        ASSERT_EQ(versions.size(), static_cast<std::size_t>(2 * kSteps));
        const auto stored = std::stoull(sql("SELECT version FROM shadow WHERE device = '" + id + "' AND name = ''"));
        EXPECT_EQ(stored, versions.back()) << id;
        EXPECT_GE(stored, versions.size()) << id;
        std::cout << id << ": " << run.recorded << " points, " << run.receipt_timeouts << " receipt timeouts, "
                  << stored - versions.size() << " versions accepted but unanswered\n";
    }
    EXPECT_EQ(sql("SELECT count(*) FROM datapoints_batches GROUP BY device, seq, batch_id HAVING count(*) > 1"), "");

    // The two survivors both did work (the group shared it) and stop cleanly.
    for (int i : {0, 2}) {
        ::kill(serves_[static_cast<std::size_t>(i)], SIGTERM);
        const auto status = proc::wait_for_exit(serves_[static_cast<std::size_t>(i)], 10s);
        ASSERT_TRUE(status.has_value());
        serves_[static_cast<std::size_t>(i)] = -1;
        EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << proc::read_file(log_of(i));
        const std::string log = proc::read_file(log_of(i));
        EXPECT_EQ(count(log, " 0 datapoint batches"), 0u) << log;
        EXPECT_EQ(count(log, " 0 accepted"), 0u) << log;
    }
}

}  // namespace
