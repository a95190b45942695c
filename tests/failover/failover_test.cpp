// Broker failover: two mosquitto instances joined by a bridge, a device that lists both, and
// `twinlink serve` on the second. The first broker is SIGKILLed while the device streams datapoints
// and shadow reports through it; the device must move to the second one, and every point it
// recorded must be stored exactly once (rows of serve's database), with a receipt for each.
//
// The topology is the one docs/reliability.md ("Broker failover") recommends: every client lists
// both brokers, devices A first and the cloud B first, so the cloud does not move when an edge
// broker dies. Persistent sessions do not move between brokers: what a dead broker held (batches it
// acknowledged and had not forwarded, receipts and shadow answers on their way back) is recovered
// by the devices' own resends (receipt timeout, shadow request timeout), not by MQTT.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fixtures/broker.hpp"
#include "fixtures/process.hpp"
#include "twinlink/database.hpp"
#include "twinlink/datapoint_sink.hpp"
#include "twinlink/device.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace proc = twinlink::testing::detail;

const std::string kTool = TL_TWINLINK_TOOL;
const std::string kMosquitto = TL_MOSQUITTO_PATH;

int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 0;
    if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) ::close(fd);
    return port;
}

bool accepts(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    const bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    if (fd >= 0) ::close(fd);
    return ok;
}

/// A mosquitto on a free loopback port that bridges every topic, both ways, to another broker.
class BridgedBroker {
public:
    BridgedBroker(const std::string& dir, int remote_port) : dir_(dir) {
        for (int attempt = 0; attempt < 5 && pid_ < 0; ++attempt) {
            port_ = free_port();
            std::string conf = "# Written by the failover test.\n";
            if (::geteuid() == 0) conf += "user root\n";
            conf += "per_listener_settings false\nallow_anonymous true\npersistence false\n"
                    "log_dest file " + dir_ + "/bridge.log\nlog_type all\n"
                    "max_inflight_messages 0\nmax_queued_messages 1000000\nset_tcp_nodelay true\n"
                    "listener " + std::to_string(port_) + " 127.0.0.1\n"
                    "\nconnection a-to-b\naddress 127.0.0.1:" + std::to_string(remote_port) + "\n"
                    "topic # both 1\ncleansession true\nrestart_timeout 1\nnotifications false\n";
            proc::write_file(dir_ + "/bridge.conf", conf);
            proc::SpawnOptions o;
            o.argv = {kMosquitto, "-c", dir_ + "/bridge.conf"};
            o.output_path = dir_ + "/bridge.out";
            o.die_with_parent = true;
            const pid_t pid = proc::spawn(o);
            const auto deadline = Clock::now() + 10s;
            while (Clock::now() < deadline && proc::is_alive(pid) && !accepts(port_)) std::this_thread::sleep_for(20ms);
            if (proc::is_alive(pid) && accepts(port_)) pid_ = pid;
            else proc::terminate(pid, SIGKILL, 1s);
        }
        if (pid_ < 0) throw std::runtime_error("the bridged mosquitto did not start:\n" + log());
    }
    ~BridgedBroker() {
        if (pid_ > 0) proc::terminate(pid_, SIGTERM, 2s);
    }
    /// SIGSTOP: it holds what it has (acknowledged batches, receipts on their way) and answers nothing.
    void stall() { ::kill(pid_, SIGSTOP); }
    void kill() {
        proc::terminate(pid_, SIGKILL, 2s);
        pid_ = -1;
    }
    std::string uri() const { return "mqtt://127.0.0.1:" + std::to_string(port_); }
    std::string log() const { return proc::read_file(dir_ + "/bridge.log") + proc::read_file(dir_ + "/bridge.out"); }

private:
    std::string dir_;
    int port_ = 0;
    pid_t pid_ = -1;
};

// How broker A dies: at once, or after it stalled for a second (SIGSTOP), holding the batches it
// had acknowledged and the receipts and shadow answers on their way to the device.
enum class Death { Kill, StallThenKill };

void PrintTo(Death death, std::ostream* out) { *out << (death == Death::Kill ? "Kill" : "StallThenKill"); }

class BrokerFailover : public ::testing::TestWithParam<Death> {
protected:
    void SetUp() override {
        dir_ = proc::make_temp_dir("tl-failover-");
        db_ = dir_ + "/cloud.db";
    }
    void TearDown() override {
        if (serve_pid_ > 0) proc::terminate(serve_pid_, SIGKILL, 1s);
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }

    void start_serve(const std::vector<std::string>& brokers) {
        log_ = dir_ + "/serve.log";
        proc::SpawnOptions o;
        o.argv = {kTool, "serve", "--db", db_, "--log-level", "debug"};
        for (const auto& b : brokers) o.argv.insert(o.argv.end(), {"--broker", b});
        o.output_path = log_;
        o.die_with_parent = true;
        serve_pid_ = proc::spawn(o);
        const auto deadline = Clock::now() + 20s;
        while (proc::read_file(log_).find("twinlink serve: ready") == std::string::npos) {
            ASSERT_TRUE(proc::is_alive(serve_pid_)) << "serve exited:\n" << proc::read_file(log_);
            ASSERT_LT(Clock::now(), deadline) << "serve not ready:\n" << proc::read_file(log_);
            std::this_thread::sleep_for(20ms);
        }
    }

    int stop_serve() {
        ::kill(serve_pid_, SIGTERM);
        const auto status = proc::wait_for_exit(serve_pid_, 10s);
        if (!status) return -1;
        serve_pid_ = -1;
        return WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
    }

    std::string dir_, db_, log_;
    pid_t serve_pid_ = -1;
};

/// Waits (bounded) until a message published on `from` arrives on `to`: the bridge is up.
void wait_for_bridge(const std::string& from, const std::string& to) {
    twinlink::ClientOptions o;
    o.brokers = {to};
    twinlink::Client receiver(o);
    receiver.connect(10s);
    std::atomic<bool> arrived{false};
    receiver.subscribe("failover/probe", 1, [&](const twinlink::MessageView&) { arrived = true; });
    o.brokers = {from};
    twinlink::Client sender(o);
    sender.connect(10s);
    const auto deadline = Clock::now() + 20s;
    while (!arrived && Clock::now() < deadline) {
        sender.publish("failover/probe", "x", 1, false);
        std::this_thread::sleep_for(100ms);
    }
    sender.disconnect(1s);
    receiver.disconnect(1s);
    ASSERT_TRUE(arrived) << "the bridge did not forward within 20 s";
}

TEST_P(BrokerFailover, DeviceMovesToTheSecondBrokerAndLosesNothing) {
    twinlink::testing::Broker b(twinlink::testing::Broker::Options{false});
    BridgedBroker a(dir_, b.port());
    ASSERT_NO_FATAL_FAILURE(wait_for_bridge(a.uri(), b.uri())) << a.log();
    ASSERT_NO_FATAL_FAILURE(start_serve({b.uri(), a.uri()}));

    const std::string id = "failover-dev";
    twinlink::DeviceOptions o;
    o.client.brokers = {a.uri(), b.uri()};
    o.client.reconnect_min = 250ms;
    o.client.reconnect_max = 2000ms;
    o.client.connect_timeout = 3000ms;
    // A receipt or a shadow answer that died with broker A is waited for this long before the
    // batch or the update is sent again.
    o.datapoints.receipt_timeout = 2000ms;
    o.datapoints.linger = 50ms;
    o.shadow.request_timeout = 2000ms;

    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::pair<Clock::time_point, twinlink::ConnectionState>> events;
    o.client.on_connection = [&](const twinlink::ConnectionEvent& e) {
        std::lock_guard<std::mutex> lock(mu);
        events.emplace_back(Clock::now(), e.state);
        cv.notify_all();
    };
    twinlink::Device device(id, std::move(o));
    auto& shadow = device.shadow();
    auto& dp = device.datapoints();
    const auto counter = dp.series("counter");
    device.connect(10s);

    // About 2,000 points/s and 10 shadow reports/s, for 2 s through A, then A dies, then 3 s more.
    std::int64_t next = 0;
    std::int64_t reports = 0;
    const auto stream = [&](std::chrono::milliseconds for_how_long) {
        const auto end = Clock::now() + for_how_long;
        while (Clock::now() < end) {
            for (int i = 0; i < 20; ++i) dp.record(counter, next++);
            if (next % 200 == 0) shadow.report_async({{"n", ++reports}});
            std::this_thread::sleep_for(10ms);
        }
    };
    stream(2s);
    const auto stats_before = dp.stats();
    ASSERT_GT(stats_before.confirmed_points, 0u) << "nothing stored through the bridge before the kill";

    if (GetParam() == Death::StallThenKill) {
        a.stall();
        stream(1s);
    }
    const auto killed_at = Clock::now();
    a.kill();
    stream(3s);

    // The device's reconnect after the kill.
    std::optional<double> recovery_ms;
    {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait_until(lock, killed_at + 30s, [&] {
            for (const auto& [at, state] : events)
                if (at > killed_at && state == twinlink::ConnectionState::Connected) return true;
            return false;
        });
        for (const auto& [at, state] : events)
            if (at > killed_at && state == twinlink::ConnectionState::Connected) {
                recovery_ms = std::chrono::duration<double, std::milli>(at - killed_at).count();
                break;
            }
    }
    ASSERT_TRUE(recovery_ms) << "the device did not reconnect within 30 s of the kill";

    // The last report is accepted through B, and every point is confirmed by a receipt.
    const auto accepted = shadow.report({{"n", ++reports}}, 20s);
    EXPECT_EQ(accepted.at("state").at("reported").at("n"), reports) << accepted.dump();
    dp.flush(30s);
    const auto s = dp.stats();
    EXPECT_EQ(s.recorded, static_cast<std::uint64_t>(next));
    EXPECT_EQ(s.confirmed_points, s.recorded);
    EXPECT_EQ(s.dropped_points, 0u);
    const auto c = device.client().stats();
    EXPECT_GE(c.reconnects, 1u);

    // Counted at the far end: serve's database holds each value of the counter exactly once.
    device.disconnect(2s);
    ASSERT_EQ(stop_serve(), 0) << proc::read_file(log_);
    twinlink::DatabaseOptions ro;
    ro.create = false;
    ro.read_only = true;
    twinlink::Database db(db_, ro);
    twinlink::DatapointStore store(db);
    EXPECT_EQ(store.count(id), static_cast<std::uint64_t>(next));
    std::vector<int> seen(static_cast<std::size_t>(next), 0);
    std::size_t out_of_range = 0;
    for (const auto& p : store.query(id, "counter")) {
        const auto* v = std::get_if<std::int64_t>(&p.point.value);
        if (!v || *v < 0 || *v >= next) {
            ++out_of_range;
            continue;
        }
        ++seen[static_cast<std::size_t>(*v)];
    }
    EXPECT_EQ(out_of_range, 0u);
    std::size_t missing = 0, duplicated = 0;
    for (int n : seen) {
        if (n == 0) ++missing;
        if (n > 1) ++duplicated;
    }
    EXPECT_EQ(missing, 0u);
    EXPECT_EQ(duplicated, 0u);

    // The measured figures, for docs/reliability.md ("Broker failover").
    const nlohmann::json row = {{"death", GetParam() == Death::Kill ? "kill" : "stall-then-kill"},
                                {"recovery_ms", *recovery_ms},
                                {"points", next},
                                {"stored_rows", store.count(id)},
                                {"missing", missing},
                                {"duplicated", duplicated},
                                {"receipt_timeouts", s.receipt_timeouts},
                                {"resent_by_client", c.resent},
                                {"reconnects", c.reconnects},
                                {"connect_failures", c.connect_failures},
                                {"shadow_reports", reports}};
    std::printf("FAILOVER-ROW %s\n", row.dump().c_str());
}

std::string death_name(const ::testing::TestParamInfo<Death>& death) {
    return death.param == Death::Kill ? "Kill" : "StallThenKill";
}

INSTANTIATE_TEST_SUITE_P(Death, BrokerFailover, ::testing::Values(Death::Kill, Death::StallThenKill), death_name);

}  // namespace
