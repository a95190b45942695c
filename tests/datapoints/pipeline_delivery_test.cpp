// Delivery of the device-side pipeline: flush() and acknowledgements, a broker that is down,
// destruction with batches outstanding, and the spool across restarts (sequence numbers continue,
// unacknowledged batches are sent again as they were).
#include <algorithm>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/tcp_proxy.hpp"
#include "pipeline_support.hpp"

namespace {

using namespace std::chrono_literals;
using dptest::DeadBroker;
using dptest::Receiver;
using dptest::TempDir;
using twinlink::Client;
using twinlink::DatapointOptions;
using twinlink::Datapoints;
using twinlink::DatapointValue;
using twinlink::Error;
using twinlink::FsyncPolicy;
using twinlink::SpoolOptions;
using twinlink::Status;
using tltest::capture_error;
using tltest::Clock;
using tltest::kLong;

SpoolOptions spool_in(const std::string& dir) {
    SpoolOptions s;
    s.dir = dir;
    s.fsync = FsyncPolicy::EveryBatch;
    return s;
}

std::vector<std::uint64_t> seqs_of(const Receiver& receiver) {
    std::vector<std::uint64_t> out;
    for (const auto& r : receiver.batches()) out.push_back(r.batch.seq);
    std::sort(out.begin(), out.end());
    return out;
}

TEST(PipelineDelivery, FlushWaitsUntilEveryPointIsAcknowledged) {
    twinlink::testing::Broker broker{twinlink::testing::Broker::Options{false}};
    Receiver receiver(broker.uri());
    Client device(dptest::device_client_options(broker.uri()));
    device.connect(kLong);
    DatapointOptions o = dptest::pipeline_options();
    o.linger = 10s;  // flush() itself must close the open batch
    Datapoints dp(device, o);
    for (std::int64_t i = 0; i < 12345; ++i) dp.record(i % 2 ? "a" : "b", i);
    dp.flush(kLong);
    const auto s = dp.stats();
    EXPECT_EQ(s.recorded, 12345u);
    EXPECT_EQ(s.batched, 12345u);
    EXPECT_EQ(s.acked_points, 12345u);
    EXPECT_EQ(s.acked_batches, s.batches);
    EXPECT_EQ(s.pending_points, 0u);
    EXPECT_EQ(s.backlog_batches, 0u);
    EXPECT_EQ(s.backlog_points, 0u);
    EXPECT_EQ(s.dropped_points, 0u);
    EXPECT_TRUE(receiver.wait_points(12345));

    // Nothing outstanding: returns at once.
    const auto start = Clock::now();
    dp.flush(kLong);
    EXPECT_LT(Clock::now() - start, 2s);
    device.disconnect(1s);
}

TEST(PipelineDelivery, FlushTimesOutCleanlyWhileTheBrokerIsDownAndSucceedsOnceItIsBack) {
    DeadBroker dead;
    Client device(dptest::device_client_options(dead.uri()));
    device.start();
    Datapoints dp(device, dptest::pipeline_options());
    for (int i = 0; i < 10; ++i) dp.record("s", i);

    const auto start = Clock::now();
    const Error e = capture_error([&] { dp.flush(300ms); });
    const auto took = Clock::now() - start;
    EXPECT_EQ(e.status(), Status::Timeout) << e.what();
    EXPECT_NE(std::string(e.what()).find("10 point(s) not acknowledged"), std::string::npos) << e.what();
    EXPECT_GE(took, 300ms);
    EXPECT_LT(took, 300ms + 3s);
    EXPECT_EQ(dp.stats().acked_points, 0u);
    EXPECT_EQ(dp.stats().backlog_points, 10u);

    // Recording goes on meanwhile; once the broker is back everything is acknowledged.
    for (int i = 10; i < 20; ++i) dp.record("s", i);
    dead.broker().start();
    dp.flush(kLong);
    EXPECT_EQ(dp.stats().acked_points, 20u);
    EXPECT_EQ(dp.stats().backlog_points, 0u);
    device.disconnect(1s);
}

TEST(PipelineDelivery, DestroyingWithoutASpoolCountsWhatIsLostAndSaysSo) {
    DeadBroker dead;
    tltest::Recorder<std::string> log;
    Client device(dptest::device_client_options(dead.uri(), &log));
    device.start();
    {
        Datapoints dp(device, dptest::pipeline_options());
        for (int i = 0; i < 25; ++i) dp.record("s", i);
        ASSERT_TRUE(tltest::wait_until([&] { return dp.stats().backlog_points == 25; }));
    }
    // The destroyed pipeline's counters are gone with it; the log line is what is left.
    bool reported = false;
    for (const auto& line : log.items())
        if (line.find("25 unacknowledged point(s) discarded at shutdown") != std::string::npos) reported = true;
    EXPECT_TRUE(reported) << "log: " << ::testing::PrintToString(log.items());
}

TEST(PipelineDelivery, DestroyingCountsPointsStillUnbatchedAsDroppedToo) {
    DeadBroker dead;
    tltest::Recorder<std::string> log;
    Client device(dptest::device_client_options(dead.uri(), &log));
    device.start();
    {
        DatapointOptions o = dptest::pipeline_options();
        o.linger = 60s;
        Datapoints dp(device, o);
        for (int i = 0; i < 7; ++i) dp.record("s", i);  // still in the open batch
    }
    bool reported = false;
    for (const auto& line : log.items())
        if (line.find("7 unacknowledged point(s) discarded at shutdown") != std::string::npos) reported = true;
    EXPECT_TRUE(reported) << "log: " << ::testing::PrintToString(log.items());
}

TEST(PipelineDelivery, TheSpoolKeepsUnacknowledgedBatchesAcrossARestartAndSeqsGoOn) {
    TempDir dir;
    DeadBroker dead;
    DatapointOptions o = dptest::pipeline_options();
    o.spool = spool_in(dir.sub("spool"));
    o.batch_max_points = 10;
    {
        Client device(dptest::device_client_options(dead.uri()));
        device.start();
        Datapoints dp(device, o);
        for (std::int64_t i = 0; i < 35; ++i) dp.record("s", i);
        ASSERT_TRUE(tltest::wait_until([&] { return dp.stats().backlog_points == 35; }));
        EXPECT_EQ(dp.stats().batches, 4u);
    }  // nothing acknowledged: it all stays in the spool

    dead.broker().start();
    Receiver receiver(dead.uri());
    Client device(dptest::device_client_options(dead.uri()));
    device.connect(kLong);
    {
        Datapoints dp(device, o);
        EXPECT_EQ(dp.stats().recovered_batches, 4u);
        dp.flush(kLong);
        EXPECT_EQ(dp.stats().acked_points, 35u);
        // New batches continue the numbering of the spool.
        dp.record("s", std::int64_t{35});
        dp.flush(kLong);
    }
    ASSERT_TRUE(receiver.wait_batches(5));
    EXPECT_EQ(seqs_of(receiver), (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
    const auto points = receiver.points();
    ASSERT_EQ(points.size(), 36u);
    for (std::size_t i = 0; i < points.size(); ++i)
        EXPECT_EQ(points[i].value, DatapointValue(static_cast<std::int64_t>(i)));

    // Even with everything acknowledged, a restart never hands out a seq again.
    {
        Datapoints dp(device, o);
        EXPECT_EQ(dp.stats().recovered_batches, 0u);
        dp.record("s", std::int64_t{36});
        dp.flush(kLong);
    }
    ASSERT_TRUE(receiver.wait_batches(6));
    EXPECT_EQ(seqs_of(receiver).back(), 6u);
    device.disconnect(1s);
}

TEST(PipelineDelivery, ARecoveredBatchIsSentAgainWithItsOriginalIdSoTheReceiverCanDropIt) {
    twinlink::testing::Broker broker{twinlink::testing::Broker::Options{false}};
    TempDir dir;
    Receiver receiver(broker.uri());
    DatapointOptions o = dptest::pipeline_options();
    o.spool = spool_in(dir.sub("spool"));
    // The batch reaches the broker, but its acknowledgement never reaches the device.
    {
        tltest::TcpProxy proxy(broker.port());
        Client device(dptest::device_client_options(proxy.uri()));
        device.connect(kLong);
        Datapoints dp(device, o);
        proxy.hold_downstream(true);
        dp.record("s", std::int64_t{1});
        ASSERT_TRUE(receiver.wait_batches(1));
        EXPECT_EQ(dp.stats().acked_batches, 0u);
    }
    {
        Client device(dptest::device_client_options(broker.uri()));
        device.connect(kLong);
        Datapoints dp(device, o);
        EXPECT_EQ(dp.stats().recovered_batches, 1u);
        dp.flush(kLong);
        device.disconnect(1s);
    }
    ASSERT_TRUE(receiver.wait_batches(2));
    const auto batches = receiver.batches();
    EXPECT_EQ(batches[0].batch.seq, batches[1].batch.seq);
    EXPECT_EQ(batches[0].batch.batch_id, batches[1].batch.batch_id);
    EXPECT_EQ(batches[0].batch.points, batches[1].batch.points);
}

}  // namespace
