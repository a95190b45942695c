// The `twinlink` tool as a user runs it: `serve` on a private mosquitto, then the shadow commands.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
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

proc::CommandResult twinlink(std::vector<std::string> args, std::chrono::milliseconds timeout = 30s) {
    args.insert(args.begin(), kTool);
    return proc::run_command(args, timeout);
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

std::size_t count(const std::string& haystack, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
    return n;
}

TEST(TwinlinkTool, HelpAndUsageErrors) {
    auto r = twinlink({"--help"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "serve")) << r.output;
    EXPECT_TRUE(contains(r.output, "shadow")) << r.output;

    EXPECT_EQ(twinlink({}).exit_code, 2);
    r = twinlink({"frobnicate"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_TRUE(contains(r.output, "unknown command 'frobnicate'")) << r.output;

    for (const auto& cmd : std::vector<std::vector<std::string>>{
             {"serve", "--help"},
             {"shadow", "--help"},
             {"shadow", "get", "--help"},
             {"shadow", "desire", "--help"},
             {"shadow", "report", "--help"},
             {"shadow", "delete", "--help"},
             {"shadow", "watch", "--help"}}) {
        r = twinlink(cmd);
        EXPECT_EQ(r.exit_code, 0) << cmd[0] << " " << cmd[1] << ": " << r.output;
        EXPECT_TRUE(contains(r.output, "usage: twinlink")) << r.output;
    }

    r = twinlink({"serve"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_TRUE(contains(r.output, "--db")) << r.output;
    r = twinlink({"shadow", "get"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_TRUE(contains(r.output, "DEVICE")) << r.output;
    r = twinlink({"shadow", "desire", "dev", "{not json"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_TRUE(contains(r.output, "not JSON")) << r.output;
    r = twinlink({"shadow", "desire", "dev", "[1]"});
    EXPECT_EQ(r.exit_code, 2);
    r = twinlink({"shadow", "get", "bad/device"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_TRUE(contains(r.output, "device id")) << r.output;
    r = twinlink({"shadow", "get", "dev", "--broker", "http://x"});
    EXPECT_EQ(r.exit_code, 2) << r.output;
    r = twinlink({"shadow", "get", "dev", "--profile", "azure"});
    EXPECT_EQ(r.exit_code, 2) << r.output;
    r = twinlink({"shadow", "get", "dev", "--bogus"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_TRUE(contains(r.output, "unknown option '--bogus'")) << r.output;
    r = twinlink({"shadow", "watch", "dev", "--count", "0"});
    EXPECT_EQ(r.exit_code, 2) << r.output;
}

// A PostgreSQL that cannot be reached is an error at start that names the URI without its
// password (tests/cloud/postgres_database_test.cpp has the other failures).
TEST(TwinlinkTool, ServeOnAnUnreachablePostgresSaysSo) {
    const auto r = twinlink({"serve", "--broker", "mqtt://127.0.0.1:1", "--db",
                             "postgresql://ann:s3cret@127.0.0.1:1/cloud?connect_timeout=2"});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    if (twinlink::testing::postgres_enabled())
        EXPECT_TRUE(contains(r.output, "cannot reach PostgreSQL at 'postgresql://ann@127.0.0.1:1/cloud")) << r.output;
    else
        EXPECT_TRUE(contains(r.output, "no PostgreSQL support")) << r.output;
    EXPECT_FALSE(contains(r.output, "s3cret")) << r.output;
}

class TwinlinkServe : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = proc::make_temp_dir("tl-cli-");
        log_ = dir_ + "/serve.log";
    }

    void TearDown() override {
        if (serve_pid_ > 0) proc::terminate(serve_pid_, SIGKILL, 1s);
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }

    void start_serve(std::vector<std::string> extra = {}) {
        std::vector<std::string> argv = {kTool, "serve", "--broker", broker_.uri(), "--db", dir_ + "/cloud.db",
                                         "--log-level", "debug"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        proc::SpawnOptions o;
        o.argv = argv;
        o.output_path = log_;
        o.die_with_parent = true;
        // The log is appended to by every serve of the test: wait for one more "ready".
        const std::size_t readies = count(proc::read_file(log_), "twinlink serve: ready");
        serve_pid_ = proc::spawn(o);
        const auto deadline = std::chrono::steady_clock::now() + 20s;
        while (count(proc::read_file(log_), "twinlink serve: ready") == readies) {
            ASSERT_TRUE(proc::is_alive(serve_pid_)) << "serve exited:\n" << proc::read_file(log_);
            ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "serve not ready:\n" << proc::read_file(log_);
            std::this_thread::sleep_for(20ms);
        }
    }

    /// SIGTERM, then the exit status (-1 when it did not exit within 10 s).
    int stop_serve() { return stop_serve_timed().first; }

    /// SIGTERM, then the exit status (-1 when it did not exit within `timeout`) and how long the
    /// exit took.
    std::pair<int, std::chrono::milliseconds> stop_serve_timed(std::chrono::milliseconds timeout = 10s) {
        const auto start = std::chrono::steady_clock::now();
        ::kill(serve_pid_, SIGTERM);
        const auto status = proc::wait_for_exit(serve_pid_, timeout);
        const auto took =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
        if (!status) return {-1, took};
        serve_pid_ = -1;
        return {WIFEXITED(*status) ? WEXITSTATUS(*status) : -1, took};
    }

    /// The pid of the fixture's mosquitto: the one child of this process named so.
    static pid_t broker_pid() {
        for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
            const std::string name = entry.path().filename().string();
            if (name.find_first_not_of("0123456789") != std::string::npos) continue;
            std::ifstream in(entry.path() / "stat");
            std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            const auto close = stat.rfind(')');
            if (close == std::string::npos || stat.find("(mosquitto)") == std::string::npos) continue;
            std::istringstream rest(stat.substr(close + 2));
            char state = 0;
            pid_t parent = 0;
            rest >> state >> parent;
            if (parent == ::getpid()) return static_cast<pid_t>(std::stol(name));
        }
        return -1;
    }

    std::vector<std::string> broker_args() const { return {"--broker", broker_.uri()}; }

    proc::CommandResult shadow(std::vector<std::string> args) {
        args.insert(args.begin(), "shadow");
        for (const auto& a : broker_args()) args.push_back(a);
        return twinlink(args);
    }

    twinlink::testing::Broker broker_{twinlink::testing::Broker::Options{false}};
    std::string dir_, log_;
    pid_t serve_pid_ = -1;
};

TEST_F(TwinlinkServe, DesireReportGetDeleteAgainstServe) {
    start_serve();

    auto r = shadow({"desire", "cli-dev", R"({"led":"on"})"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    json accepted = json::parse(r.output, nullptr, false);
    ASSERT_FALSE(accepted.is_discarded()) << r.output;
    EXPECT_EQ(accepted["state"]["desired"]["led"], "on");
    EXPECT_EQ(accepted["version"], 1);

    r = shadow({"report", "cli-dev", R"({"led":"off","temp":20})"});
    ASSERT_EQ(r.exit_code, 0) << r.output;

    r = shadow({"get", "cli-dev"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    json doc = json::parse(r.output, nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << r.output;
    EXPECT_EQ(doc["state"]["desired"], json({{"led", "on"}}));
    EXPECT_EQ(doc["state"]["reported"], json({{"led", "off"}, {"temp", 20}}));
    EXPECT_EQ(doc["state"]["delta"], json({{"led", "on"}}));
    EXPECT_EQ(doc["version"], 2);

    r = shadow({"get", "cli-dev", "--path", "/state/reported/temp"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(r.output, "20\n");
    r = shadow({"get", "cli-dev", "--path", "/state/nothing"});
    EXPECT_EQ(r.exit_code, 1) << r.output;

    // A named shadow is separate.
    r = shadow({"report", "cli-dev", R"({"rate":5})", "--name", "config"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    r = shadow({"get", "cli-dev", "--name", "config", "--path", "/state/reported"});
    EXPECT_EQ(r.output, "{\"rate\":5}\n");

    r = shadow({"delete", "cli-dev"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    r = shadow({"get", "cli-dev"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_TRUE(contains(r.output, "does not exist")) << r.output;

    EXPECT_EQ(stop_serve(), 0) << proc::read_file(log_);
    const std::string log = proc::read_file(log_);
    EXPECT_TRUE(contains(log, "stopping (SIGTERM)")) << log;
    EXPECT_TRUE(contains(log, "accepted")) << log;
}

// However the broker went away, serve stops within a second of SIGTERM (the bound here is generous:
// it guards against the waits for the broker that used to take tens of seconds).
constexpr long kStopBoundMs = 3000;

TEST_F(TwinlinkServe, StopsPromptlyRightAfterTheBrokerDied) {
    start_serve();
    broker_.kill();
    const auto [status, took] = stop_serve_timed();
    EXPECT_EQ(status, 0) << proc::read_file(log_);
    EXPECT_LT(took.count(), kStopBoundMs) << "serve took " << took.count() << " ms to stop:\n" << proc::read_file(log_);
}

TEST_F(TwinlinkServe, StopsPromptlyWhileReconnecting) {
    start_serve();
    broker_.kill();
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (count(proc::read_file(log_), "could not connect") < 2) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << proc::read_file(log_);
        std::this_thread::sleep_for(20ms);
    }
    const auto [status, took] = stop_serve_timed();
    EXPECT_EQ(status, 0) << proc::read_file(log_);
    EXPECT_LT(took.count(), kStopBoundMs) << "serve took " << took.count() << " ms to stop:\n" << proc::read_file(log_);
}

TEST_F(TwinlinkServe, StopsPromptlyWhileTheBrokerIsSilent) {
    start_serve();
    // A frozen broker: the connection stays open and nothing answers, as with a dead link.
    const pid_t broker = broker_pid();
    ASSERT_GT(broker, 0);
    ASSERT_EQ(::kill(broker, SIGSTOP), 0);
    std::this_thread::sleep_for(200ms);
    const auto [status, took] = stop_serve_timed(90s);
    ::kill(broker, SIGCONT);
    EXPECT_EQ(status, 0) << proc::read_file(log_);
    EXPECT_LT(took.count(), kStopBoundMs) << "serve took " << took.count() << " ms to stop:\n" << proc::read_file(log_);
}

TEST_F(TwinlinkServe, DocumentsSurviveARestartOfServe) {
    start_serve();
    const auto first = shadow({"desire", "keeper", R"({"x":1})"});
    ASSERT_EQ(first.exit_code, 0) << first.output;
    const auto second = shadow({"desire", "keeper", R"({"x":2})"});
    ASSERT_EQ(second.exit_code, 0) << second.output;
    ASSERT_EQ(stop_serve(), 0);
    start_serve();
    const auto r = shadow({"get", "keeper", "--path", "/version"});
    // On a failure, everything that explains it: both accepted updates and serve's debug log.
    const auto explain = "\nfirst desire:\n" + first.output + "\nsecond desire:\n" + second.output +
                         "\nserve (both runs):\n" + proc::read_file(log_);
    EXPECT_EQ(r.exit_code, 0) << r.output << explain;
    EXPECT_EQ(r.output, "2\n") << explain;
}

TEST_F(TwinlinkServe, WatchPrintsTheDocumentThenChanges) {
    start_serve();
    ASSERT_EQ(shadow({"report", "watched", R"({"led":"off"})"}).exit_code, 0);

    proc::SpawnOptions o;
    o.argv = {kTool, "shadow", "watch", "watched", "--count", "3", "--timeout", "20", "--broker", broker_.uri()};
    o.output_path = dir_ + "/watch.out";
    o.die_with_parent = true;
    const pid_t watch = proc::spawn(o);
    // The first line is the current document.
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!contains(proc::read_file(o.output_path), "\"event\":\"document\"") &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(20ms);
    ASSERT_EQ(shadow({"desire", "watched", R"({"led":"on"})"}).exit_code, 0);

    const auto status = proc::wait_for_exit(watch, 25s);
    ASSERT_TRUE(status.has_value());
    const std::string out = proc::read_file(o.output_path);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << out;
    std::vector<json> lines;
    std::size_t start = 0;
    for (std::size_t end; (end = out.find('\n', start)) != std::string::npos; start = end + 1)
        lines.push_back(json::parse(out.substr(start, end - start), nullptr, false));
    ASSERT_EQ(lines.size(), 3u) << out;
    EXPECT_EQ(lines[0]["event"], "document");
    EXPECT_EQ(lines[0]["version"], 1);
    bool saw_delta = false, saw_change = false;
    for (std::size_t i = 1; i < lines.size(); ++i) {
        if (lines[i]["event"] == "delta" && lines[i]["state"] == json({{"led", "on"}})) saw_delta = true;
        if (lines[i]["event"] == "document" && lines[i]["version"] == 2) saw_change = true;
    }
    EXPECT_TRUE(saw_delta) << out;
    EXPECT_TRUE(saw_change) << out;
}

TEST_F(TwinlinkServe, AwsProfile) {
    start_serve({"--profile", "aws"});
    auto r = shadow({"desire", "thing", R"({"a":1})", "--profile", "aws"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    r = shadow({"get", "thing", "--profile", "aws", "--path", "/state/desired/a"});
    EXPECT_EQ(r.output, "1\n");
}

TEST(TwinlinkServeTls, ServeAndShadowCommandsOverTls) {
    twinlink::testing::Broker broker;  // with its TLS listeners
    const std::string dir = proc::make_temp_dir("tl-cli-tls-");
    const std::string ca = broker.tls().ca_cert;
    proc::SpawnOptions o;
    o.argv = {kTool, "serve", "--broker", broker.tls_uri(), "--tls-ca", ca, "--db", dir + "/cloud.db"};
    o.output_path = dir + "/serve.log";
    o.die_with_parent = true;
    const pid_t serve = proc::spawn(o);
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!contains(proc::read_file(o.output_path), "twinlink serve: ready") &&
           std::chrono::steady_clock::now() < deadline && proc::is_alive(serve))
        std::this_thread::sleep_for(20ms);
    ASSERT_TRUE(contains(proc::read_file(o.output_path), "twinlink serve: ready")) << proc::read_file(o.output_path);

    auto r = twinlink({"shadow", "desire", "secure", R"({"a":1})", "--broker", broker.tls_uri(), "--tls-ca", ca});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    r = twinlink({"shadow", "get", "secure", "--path", "/state/desired/a", "--broker", broker.tls_uri(), "--tls-ca", ca});
    EXPECT_EQ(r.output, "1\n");
    // The wrong CA: a TLS error, not a hang.
    r = twinlink({"shadow", "get", "secure", "--timeout", "5", "--broker", broker.tls_uri(), "--tls-ca",
                  broker.tls().other_ca_cert});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_TRUE(contains(r.output, "cannot connect")) << r.output;

    proc::terminate(serve, SIGTERM, 10s);
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
}

TEST_F(TwinlinkServe, ClearErrorWithoutAServiceOrABroker) {
    auto r = shadow({"get", "nobody", "--timeout", "1"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_TRUE(contains(r.output, "twinlink serve")) << r.output;

    broker_.kill();
    r = shadow({"get", "nobody", "--timeout", "1"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_TRUE(contains(r.output, "cannot connect to " + broker_.uri())) << r.output;
}

}  // namespace
