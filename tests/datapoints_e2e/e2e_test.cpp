// Datapoints end to end: devices record through a private mosquitto into a DatapointSink that
// stores into an SQLite file, and every point must be stored exactly once — in the plain case,
// across a broker crash in the middle of recording, and across a device process killed with
// SIGKILL while its spool holds batches.
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "cloud_side.hpp"
#include "core/tcp_proxy.hpp"
#include "fixtures/broker.hpp"
#include "twinlink/datapoints.hpp"

namespace {

using namespace std::chrono_literals;
using dptest::CloudSide;
using dptest::TempDir;
using twinlink::Client;
using twinlink::DatapointOptions;
using twinlink::Datapoints;
using twinlink::Encoding;
using twinlink::Statement;
using tltest::Clock;
using tltest::kLong;
namespace proc = twinlink::testing::detail;

constexpr std::int64_t kBase = 1'700'000'000'000;

// Under qemu-user (the cross-built tests' emulator sets TWINLINK_TEST_UNDER_QEMU) the device and
// the sink both run emulated: beside the other datapoint tests on a loaded machine, the flush of
// 100,000 points went past its 20 s bound, and the sink fell so far behind a recording of 3 s that
// the broker crash came after its end.
bool under_qemu() { return std::getenv("TWINLINK_TEST_UNDER_QEMU") != nullptr; }

DatapointOptions device_options(const std::string& device, Encoding encoding) {
    DatapointOptions o;
    o.device = device;
    o.encoding = encoding;
    o.batch_max_points = 1000;
    o.linger = 50ms;
    o.receipt_timeout = 2s;  // a batch the broker crash took is sent again soon
    return o;
}

/// How often each int value of `device` is stored, and the values in the order of their timestamps.
struct StoredValues {
    std::map<std::int64_t, int> copies;
    std::vector<std::int64_t> in_time_order;
};

StoredValues stored_values(twinlink::Database& db, const std::string& device) {
    StoredValues out;
    Statement st = db.prepare("SELECT value FROM datapoints_points WHERE device = ?1 AND kind = 'int' ORDER BY ts, id");
    st.bind(1, device);
    while (st.step()) {
        const std::int64_t v = st.column_int64(0);
        ++out.copies[v];
        out.in_time_order.push_back(v);
    }
    return out;
}

/// Sequences a test with the sink instead of sleeping: a marker point (a bool, series "marker")
/// sent after everything else of this pipeline, and flushed. Its receipt means that the sink has
/// handled every earlier batch of the pipeline, resends included: they travel the same connection
/// and topic, which MQTT keeps in order, and the sink handles them in order.
void settle(Datapoints& dp) {
    dp.record("marker", true);
    dp.flush(kLong);
}

/// Checks that `device` has exactly the int values 0..n-1, each once, and that every series holds
/// its values in order (values and timestamps increase together).
void expect_each_once(CloudSide& cloud, const std::string& device, std::int64_t n) {
    SCOPED_TRACE("device " + device);
    const StoredValues stored = stored_values(cloud.db(), device);
    EXPECT_EQ(stored.in_time_order.size(), static_cast<std::size_t>(n));
    std::int64_t missing = 0, repeated = 0;
    for (std::int64_t v = 0; v < n; ++v) {
        const auto it = stored.copies.find(v);
        if (it == stored.copies.end()) ++missing;
        else if (it->second > 1) ++repeated;
    }
    EXPECT_EQ(missing, 0);
    EXPECT_EQ(repeated, 0);
    for (const auto& series : cloud.store().series(device)) {
        if (series == "marker") continue;
        std::int64_t last = -1;
        for (const auto& p : cloud.store().query(device, series)) {
            const auto v = std::get<std::int64_t>(p.point.value);
            EXPECT_GT(v, last) << series;
            EXPECT_EQ(p.point.timestamp_ms, kBase + v) << series;
            last = v;
        }
    }
}

/// For the spool kill test, whose device records value i in series "s<i % 4>": each series holds a
/// prefix of its own values (k, k + 4, k + 8, ... for "s<k>"), each once, `stored` points in all.
/// Numbers are batched a series at a time (order kept within a series), so the batches synced
/// last may hold more of one series than of another: the values stored across series are not
/// always 0..stored-1.
void expect_series_prefixes(CloudSide& cloud, const std::string& device, std::int64_t stored) {
    SCOPED_TRACE("device " + device);
    std::int64_t total = 0;
    for (int k = 0; k < 4; ++k) {
        const std::string series = "s" + std::to_string(k);
        std::int64_t expected = k;
        for (const auto& p : cloud.store().query(device, series)) {
            const auto v = std::get<std::int64_t>(p.point.value);
            ASSERT_EQ(v, expected) << series << ": a point missing or repeated";
            EXPECT_EQ(p.point.timestamp_ms, kBase + v) << series;
            expected += 4;
            ++total;
        }
    }
    EXPECT_EQ(total, stored);
}

class DatapointsEndToEnd : public ::testing::Test {
protected:
    void SetUp() override { cloud_ = std::make_unique<CloudSide>(broker_.uri(), dir_.file("cloud.db")); }
    void TearDown() override { cloud_.reset(); }

    bool wait_stored(const std::string& device, std::uint64_t n, std::chrono::milliseconds timeout = 40s) {
        return tltest::wait_until([&] { return cloud_->store().count(device) >= n; }, timeout);
    }

    twinlink::testing::Broker broker_{twinlink::testing::Broker::Options{false}};
    TempDir dir_;
    std::unique_ptr<CloudSide> cloud_;
};

TEST_F(DatapointsEndToEnd, AHundredThousandPointsAreEachStoredOnce) {
    constexpr std::int64_t kPerDevice = 50'000;
    Client device(dptest::client_options(broker_.uri()));
    device.connect(kLong);
    {
        Datapoints json(device, device_options("dev-json", Encoding::Json));
        Datapoints cbor(device, device_options("dev-cbor", Encoding::Cbor));
        // Five series per device, points of different series interleaved, values counting up.
        for (std::int64_t i = 0; i < kPerDevice; ++i) {
            const std::string series = "series-" + std::to_string(i % 5);
            json.record(series, i, kBase + i);
            cbor.record(series, i, kBase + i);
        }
        const auto flush_timeout = under_qemu() ? 4 * kLong : kLong;
        json.flush(flush_timeout);
        cbor.flush(flush_timeout);
        for (auto* dp : {&json, &cbor}) {
            EXPECT_EQ(dp->stats().acked_points, static_cast<std::uint64_t>(kPerDevice));
            EXPECT_EQ(dp->stats().confirmed_points, static_cast<std::uint64_t>(kPerDevice));
        }
        settle(json);
        settle(cbor);
    }
    expect_each_once(*cloud_, "dev-json", kPerDevice);
    expect_each_once(*cloud_, "dev-cbor", kPerDevice);
    const auto stats = cloud_->sink().stats();
    EXPECT_EQ(stats.points, static_cast<std::uint64_t>(2 * kPerDevice + 2));  // and the two markers
    EXPECT_EQ(stats.rejected, 0u);
    EXPECT_EQ(stats.failed, 0u);
    device.disconnect(1s);
}

// A flush covers every point recorded before it, also the ones that wait unbatched while the
// backlog is full. It was handled at once, and the batches it waited for did not include those
// points: flush() returned while up to a batch of accepted points was not stored yet (the slow
// sink row of the fault matrix lost 250 points in about one run of five).
TEST(DatapointsFlush, AFlushMadeWhileTheBacklogIsFullCoversThePointsWaitingForRoom) {
    const std::string device = "dev-flush-full";
    twinlink::testing::Broker broker{twinlink::testing::Broker::Options{false}};
    tltest::TcpProxy sink_link(broker.port());
    TempDir dir;
    CloudSide cloud(sink_link.uri(), dir.file("cloud.db"));
    Client client(dptest::client_options(broker.uri()));
    client.connect(kLong);

    DatapointOptions o;
    o.device = device;
    o.batch_max_points = 100;
    o.linger = 30s;  // only the flush closes a batch that is not full
    o.delivery = twinlink::DeliveryMode::Receipt;
    o.receipt_timeout = 60s;  // nothing sent twice meanwhile: the points count once either way
    o.backpressure = twinlink::BackpressurePolicy::DropNewest;
    o.batch_max_bytes = 2 * 1024;
    o.max_backlog_bytes = 8 * 1024;
    Datapoints dp(client, o);

    // No receipts while the sink hears nothing: the backlog fills, record_many() starts refusing,
    // and 60 accepted points wait for room, fewer than a batch: once taken, only the flush or the
    // linger closes their batch.
    sink_link.hold_downstream(true);
    constexpr std::size_t kCall = 60;
    std::int64_t accepted = 0, refused = 0, next = 0;
    std::vector<std::int64_t> values(kCall), stamps(kCall);
    for (int call = 0; call < 1000 && refused == 0; ++call) {
        for (std::size_t k = 0; k < kCall; ++k) {
            values[k] = next + static_cast<std::int64_t>(k);
            stamps[k] = kBase + values[k];
        }
        try {
            dp.record_many("s", values.data(), stamps.data(), kCall);
            accepted += kCall;
            next += kCall;
        } catch (const twinlink::Error& e) {
            ASSERT_EQ(e.status(), twinlink::Status::QueueFull) << e.what();
            refused += kCall;
        }
        std::this_thread::sleep_for(2ms);
    }
    ASSERT_GT(refused, 0) << "the backlog never filled";
    ASSERT_GT(dp.stats().pending_points, 0u) << "no accepted point waits for room: the case is not made";

    // The flush is handled while the points still wait; then the sink hears the batches again.
    std::thread flusher([&] { EXPECT_NO_THROW(dp.flush(kLong)); });
    std::this_thread::sleep_for(300ms);
    sink_link.hold_downstream(false);
    flusher.join();

    // What the flush promised is stored, read right after it returned.
    const auto stored = static_cast<std::int64_t>(cloud.store().count(device));
    EXPECT_EQ(stored, accepted) << "accepted " << accepted << ", refused " << refused;
    EXPECT_EQ(dp.stats().rejected_points, static_cast<std::uint64_t>(refused));
    client.disconnect(1s);
}

TEST_F(DatapointsEndToEnd, EveryPointIsStoredOnceAcrossABrokerCrashInTheMiddleOfRecording) {
    constexpr std::int64_t kPoints = 60'000;
    // The device reaches the broker through a proxy, so the test can keep it away until the sink
    // has subscribed again: with clean sessions, a batch the broker takes while no sink is
    // subscribed goes nowhere.
    tltest::TcpProxy proxy(broker_.port());
    Client device(dptest::client_options(proxy.uri()));
    device.connect(kLong);
    Datapoints dp(device, device_options("dev-crash", Encoding::Json));

    std::atomic<std::int64_t> recorded{0};
    std::thread recorder([&] {
        // About 3 s of recording (12 s under qemu), in steps of 500 points.
        const auto pause = under_qemu() ? 100ms : 25ms;
        for (std::int64_t i = 0; i < kPoints; ++i) {
            dp.record("s" + std::to_string(i % 3), i, kBase + i);
            recorded = i + 1;
            if (i % 500 == 499) std::this_thread::sleep_for(pause);
        }
    });
    ASSERT_TRUE(tltest::wait_until([&] { return cloud_->store().count("dev-crash") > 5'000; }));

    // Acknowledgements stop reaching the device, so the crash finds batches that the sink has
    // stored but the device will send again.
    proxy.hold_downstream(true);
    ASSERT_TRUE(tltest::wait_until([&] { return cloud_->sink().stats().batches > dp.stats().acked_batches + 2; }));
    const auto reconnects = cloud_->client().stats().reconnects;
    broker_.kill();
    proxy.set_mode(tltest::TcpProxy::Mode::Refuse);
    proxy.drop_all();
    proxy.hold_downstream(false);
    const std::int64_t at_crash = recorded;
    std::this_thread::sleep_for(500ms);  // recording goes on into the backlog
    broker_.start();
    ASSERT_TRUE(tltest::wait_until(
        [&] { return cloud_->client().stats().reconnects > reconnects && cloud_->client().connected(); }));
    proxy.set_mode(tltest::TcpProxy::Mode::Forward);

    recorder.join();
    dp.flush(kLong);
    const auto s = dp.stats();
    settle(dp);
    EXPECT_LT(at_crash, kPoints) << "the crash came after the recording";
    expect_each_once(*cloud_, "dev-crash", kPoints);
    EXPECT_EQ(s.acked_points, static_cast<std::uint64_t>(kPoints));
    EXPECT_EQ(s.confirmed_points, static_cast<std::uint64_t>(kPoints));
    EXPECT_EQ(s.dropped_points, 0u);
    // Some batches were sent twice (by the client, after reconnecting) and the sink dropped the
    // second copies.
    EXPECT_GT(device.stats().resent, 0u);
    EXPECT_GT(cloud_->sink().stats().duplicates, 0u);
    RecordProperty("resent_batches", static_cast<int>(device.stats().resent));
    RecordProperty("duplicates_dropped", static_cast<int>(cloud_->sink().stats().duplicates));
    device.disconnect(1s);
}

/// The number on the last "`key` N" line of the helper's output (complete lines only), or -1.
std::int64_t last_count(const std::string& output, const std::string& key) {
    std::int64_t last = -1;
    std::istringstream in(output.substr(0, output.rfind('\n') + 1));
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string word;
        std::int64_t n = 0;
        if (fields >> word >> n && word == key) last = n;
    }
    return last;
}

TEST_F(DatapointsEndToEnd, ADeviceKilledWhileItsSpoolHoldsBatchesDeliversEachSyncedPointOnce) {
    const std::string spool = dir_.file("spool");
    const std::string output = dir_.file("device.out");
    // Recording: the device cannot reach the broker (the proxy refuses it), so everything it
    // records stays in its spool.
    tltest::TcpProxy refusing(broker_.port());
    refusing.set_mode(tltest::TcpProxy::Mode::Refuse);
    proc::SpawnOptions record;
    record.argv = {TL_SPOOL_DEVICE, "record", refusing.uri(), spool, "dev-spool", "1000000"};
    record.output_path = output;
    record.die_with_parent = true;
    const pid_t recorder = proc::spawn(record);
    const bool enough =
        tltest::wait_until([&] { return last_count(proc::read_file(output), "durable") >= 30'000; }, 40s);
    ::kill(recorder, SIGKILL);
    const auto status = proc::wait_for_exit(recorder, 10s);
    ASSERT_TRUE(enough) << proc::read_file(output);
    ASSERT_TRUE(status && WIFSIGNALED(*status)) << "the device was not killed";
    const std::int64_t durable = last_count(proc::read_file(output), "durable");
    ASSERT_LT(durable, 1'000'000) << "killed after it had recorded everything";
    ASSERT_EQ(cloud_->store().count("dev-spool"), 0u) << "the recorder reached the broker through the proxy";

    // Restarted on the same spool with the broker in reach, it sends what the spool holds (5
    // batches a second) — and is killed again, while batches that the sink has stored wait for
    // acknowledgements that the proxy holds back.
    tltest::TcpProxy holding(broker_.port());
    proc::SpawnOptions slow_drain;
    slow_drain.argv = {TL_SPOOL_DEVICE, "drain", holding.uri(), spool, "dev-spool", "5"};
    slow_drain.output_path = dir_.file("drain.out");
    slow_drain.die_with_parent = true;
    const pid_t drainer = proc::spawn(slow_drain);
    const bool flowing = wait_stored("dev-spool", 2'000);
    holding.hold_downstream(true);
    // What the proxy relayed before the hold still reaches the device, late on a loaded machine:
    // its counts of acknowledgements and receipts must stop changing first. After that, a batch
    // the sink stores beyond them stays in the spool until the kill.
    const auto counts = [&] {
        const std::string out = proc::read_file(dir_.file("drain.out"));
        return std::make_pair(last_count(out, "acked"), last_count(out, "confirmed"));
    };
    auto seen = counts();
    auto still_since = Clock::now();
    const bool settled = tltest::wait_until([&] {
        const auto now = counts();
        if (now != seen) {
            seen = now;
            still_since = Clock::now();
        }
        return Clock::now() - still_since >= 600ms;
    });
    const bool unacknowledged = settled && tltest::wait_until([&] {
        return static_cast<std::int64_t>(cloud_->sink().stats().batches) >= counts().first + 3;
    });
    ::kill(drainer, SIGKILL);
    proc::wait_for_exit(drainer, 10s);
    ASSERT_TRUE(flowing && unacknowledged) << proc::read_file(dir_.file("drain.out"));
    ASSERT_LT(cloud_->store().count("dev-spool"), static_cast<std::uint64_t>(durable)) << "the drain had finished";

    // Once more, directly: the batches stored but not acknowledged come again, and are dropped.
    const auto drained = proc::run_command({TL_SPOOL_DEVICE, "drain", broker_.uri(), spool, "dev-spool"}, 45s);
    ASSERT_EQ(drained.exit_code, 0) << drained.output;
    ASSERT_TRUE(wait_stored("dev-spool", static_cast<std::uint64_t>(durable)));
    EXPECT_TRUE(tltest::wait_until([&] { return cloud_->sink().stats().duplicates >= 3; })) << drained.output;
    RecordProperty("duplicates_dropped", static_cast<int>(cloud_->sink().stats().duplicates));

    // Every point synced before the kill is there once; later ones may be there too (synced, but
    // not reported before the kill), as whole batches, each series in recording order.
    const auto stored = static_cast<std::int64_t>(cloud_->store().count("dev-spool"));
    EXPECT_GE(stored, durable);
    expect_series_prefixes(*cloud_, "dev-spool", stored);
    RecordProperty("durable_at_kill", static_cast<int>(durable));
    RecordProperty("stored", static_cast<int>(stored));

    // Draining again finds nothing left, and sends nothing twice.
    const auto again = proc::run_command({TL_SPOOL_DEVICE, "drain", broker_.uri(), spool, "dev-spool"}, 45s);
    ASSERT_EQ(again.exit_code, 0) << again.output;
    EXPECT_NE(again.output.find("drained 0 batches, 0 points"), std::string::npos) << again.output;
    EXPECT_EQ(cloud_->store().count("dev-spool"), static_cast<std::uint64_t>(stored));
}

/// flush() made on the client's dispatcher thread, as a callback would: acknowledgements and
/// receipts must reach the pipeline without that thread, or the flush waits out its timeout.
void expect_flush_from_a_callback_completes(twinlink::DeliveryMode delivery) {
    SCOPED_TRACE(delivery == twinlink::DeliveryMode::Receipt ? "receipts" : "broker");
    twinlink::testing::Broker broker{twinlink::testing::Broker::Options{false}};
    TempDir dir;
    CloudSide cloud(broker.uri(), dir.file("cloud.db"));
    Client device(dptest::client_options(broker.uri()));
    device.connect(kLong);
    DatapointOptions o = device_options("dev-callback", Encoding::Cbor);
    o.delivery = delivery;
    Datapoints dp(device, o);
    for (std::int64_t i = 0; i < 5000; ++i) dp.record("s", i, kBase + i);

    tltest::Recorder<std::string> outcome;
    const auto started = Clock::now();
    device.dispatch([&dp, outcome] {
        try {
            dp.flush(10s);
            outcome.push("ok");
        } catch (const twinlink::Error& e) {
            outcome.push(e.what());
        }
    });
    ASSERT_TRUE(outcome.wait_count(1, 20s));
    EXPECT_EQ(outcome.items().front(), "ok");
    EXPECT_LT(Clock::now() - started, 5s);
    EXPECT_EQ(dp.stats().backlog_points, 0u);
    device.disconnect(1s);
}

TEST(DatapointsFromACallback, FlushCompletesWithReceipts) {
    expect_flush_from_a_callback_completes(twinlink::DeliveryMode::Receipt);
}

TEST(DatapointsFromACallback, FlushCompletesWithBrokerAcknowledgements) {
    expect_flush_from_a_callback_completes(twinlink::DeliveryMode::Broker);
}

}  // namespace
