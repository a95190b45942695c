// Backpressure of the device-side pipeline while the broker is unreachable (DropOldest,
// DropNewest, Block), the rate limit of sending, and input that record() refuses.
#include <sys/resource.h>

#include <atomic>
#include <cmath>
#include <limits>
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
using nlohmann::json;
using twinlink::BackpressurePolicy;
using twinlink::Client;
using twinlink::DatapointOptions;
using twinlink::Datapoints;
using twinlink::DatapointStats;
using twinlink::DatapointValue;
using twinlink::DropEvent;
using twinlink::Error;
using twinlink::Status;
using tltest::capture_error;
using tltest::Clock;
using tltest::kLong;
using tltest::Recorder;

// A backlog that holds a handful of small batches: 20 points or 1 KiB each, 4 KiB in all.
DatapointOptions small_backlog(BackpressurePolicy policy, Recorder<DropEvent> drops) {
    DatapointOptions o = dptest::pipeline_options();
    o.batch_max_points = 20;
    o.batch_max_bytes = 1024;
    o.max_backlog_bytes = 4096;
    o.backpressure = policy;
    o.on_drop = [drops](const DropEvent& e) { drops.push(e); };
    return o;
}

// A device whose broker is unreachable: nothing it sends is ever acknowledged.
class Offline : public ::testing::Test {
protected:
    void SetUp() override {
        device_ = std::make_unique<Client>(dptest::device_client_options(dead_.uri()));
        device_->start();  // never connects: nothing is ever acknowledged
    }
    DeadBroker dead_;
    std::unique_ptr<Client> device_;
};

class PipelineBackpressure : public Offline {};

TEST_F(PipelineBackpressure, DropOldestDiscardsWholeOldBatchesAndReportsThem) {
    Recorder<DropEvent> drops;
    Datapoints dp(*device_, small_backlog(BackpressurePolicy::DropOldest, drops));
    std::int64_t recorded = 0;
    const auto deadline = Clock::now() + kLong;
    while (dp.stats().dropped_batches < 5 && Clock::now() < deadline) {
        for (int i = 0; i < 20; ++i) dp.record("s", recorded++);  // never refused
        std::this_thread::sleep_for(2ms);
    }
    ASSERT_GE(dp.stats().dropped_batches, 5u);

    // Once the batcher has caught up, every point is accounted for.
    DatapointStats s;
    ASSERT_TRUE(tltest::wait_until([&] {
        s = dp.stats();
        return s.pending_points == 0 &&
               s.recorded == s.acked_points + s.dropped_points + s.backlog_points;
    })) << "recorded " << s.recorded << ", dropped " << s.dropped_points << ", backlog " << s.backlog_points
        << ", pending " << s.pending_points;
    EXPECT_EQ(s.recorded, static_cast<std::uint64_t>(recorded));
    EXPECT_EQ(s.rejected_points, 0u);
    EXPECT_LE(s.backlog_bytes, 4096u);

    // Drops are reported in sums, at most one event a second, on the dispatcher thread; the
    // events add up to the counters.
    const auto sum = [](const std::vector<DropEvent>& v, std::uint64_t DropEvent::*field) {
        std::uint64_t n = 0;
        for (const auto& e : v) n += e.*field;
        return n;
    };
    ASSERT_TRUE(drops.wait_for([&](const std::vector<DropEvent>& v) {
        return sum(v, &DropEvent::batches) >= s.dropped_batches;
    }));
    for (const auto& e : drops.items()) {
        EXPECT_EQ(e.policy, BackpressurePolicy::DropOldest);
        EXPECT_GE(e.batches, 1u);
        EXPECT_GT(e.points, 0u);
        EXPECT_LE(e.points, 20u * e.batches);
        EXPECT_FALSE(e.reason.empty());
    }
    EXPECT_EQ(sum(drops.items(), &DropEvent::points), s.dropped_points);
    EXPECT_EQ(sum(drops.items(), &DropEvent::batches), s.dropped_batches);
}

TEST(PipelineDropOldest, WhatItDiscardsIsNeverSentAndTheNewestPointsArriveAfterReconnecting) {
    twinlink::testing::Broker broker{twinlink::testing::Broker::Options{false}};
    Receiver receiver(broker.uri());
    tltest::TcpProxy proxy(broker.port());
    proxy.set_mode(tltest::TcpProxy::Mode::Refuse);  // the device cannot connect for now
    Client device(dptest::device_client_options(proxy.uri()));
    device.start();
    Recorder<DropEvent> drops;
    Datapoints dp(device, small_backlog(BackpressurePolicy::DropOldest, drops));
    std::int64_t recorded = 0;
    const auto deadline = Clock::now() + kLong;
    while (dp.stats().dropped_batches < 10 && Clock::now() < deadline) {
        for (int i = 0; i < 20; ++i) dp.record("s", recorded++);
        std::this_thread::sleep_for(2ms);
    }
    ASSERT_TRUE(tltest::wait_until([&] { return dp.stats().pending_points == 0; }));

    proxy.set_mode(tltest::TcpProxy::Mode::Forward);
    dp.flush(kLong);
    const auto s = dp.stats();
    ASSERT_GE(s.dropped_batches, 10u);
    EXPECT_EQ(s.acked_points + s.dropped_points, static_cast<std::uint64_t>(recorded));
    // The receiver gets exactly the points that were kept: the newest ones.
    ASSERT_TRUE(receiver.wait_points(s.acked_points));
    std::this_thread::sleep_for(200ms);
    const auto points = receiver.points();
    ASSERT_EQ(points.size(), s.acked_points);
    for (std::size_t i = 0; i < points.size(); ++i)
        EXPECT_EQ(points[i].value, DatapointValue(static_cast<std::int64_t>(s.dropped_points + i)));
    device.disconnect(1s);
}

TEST_F(PipelineBackpressure, DropNewestRefusesNewPointsWithQueueFull) {
    Recorder<DropEvent> drops;
    Datapoints dp(*device_, small_backlog(BackpressurePolicy::DropNewest, drops));
    std::uint64_t accepted = 0, refused = 0;
    const auto deadline = Clock::now() + kLong;
    while (refused < 3 && Clock::now() < deadline) {
        try {
            dp.record("s", static_cast<std::int64_t>(accepted));
            ++accepted;
        } catch (const Error& e) {
            ASSERT_EQ(e.status(), Status::QueueFull) << e.what();
            ++refused;
        }
        if (accepted % 20 == 0) std::this_thread::sleep_for(2ms);
    }
    ASSERT_EQ(refused, 3u);
    const auto s = dp.stats();
    EXPECT_EQ(s.rejected_points, refused);
    EXPECT_EQ(s.recorded, accepted);
    EXPECT_EQ(s.dropped_points, 0u);  // what was accepted is kept
    EXPECT_EQ(s.dropped_batches, 0u);
    // Reported in sums (at most one event a second) that add up to the refused points.
    const auto points = [](const std::vector<DropEvent>& v) {
        std::uint64_t n = 0;
        for (const auto& e : v) n += e.points;
        return n;
    };
    ASSERT_TRUE(drops.wait_for([&](const std::vector<DropEvent>& v) { return points(v) >= 3; }));
    EXPECT_EQ(points(drops.items()), 3u);
    EXPECT_LE(drops.size(), 3u);
    for (const auto& e : drops.items()) {
        EXPECT_EQ(e.policy, BackpressurePolicy::DropNewest);
        EXPECT_EQ(e.batches, 0u);
    }
}

/// CPU time (user + system) of this whole process so far.
std::chrono::microseconds process_cpu_time() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    const auto us = [](const timeval& t) { return std::int64_t(t.tv_sec) * 1'000'000 + t.tv_usec; };
    return std::chrono::microseconds(us(u.ru_utime) + us(u.ru_stime));
}

TEST(PipelineIdle, AFullBacklogThatRefusesPointsLeavesTheProcessIdleAndLogsASumAtMostOnceASecond) {
    DeadBroker dead;
    Recorder<std::string> log;
    Client device(dptest::device_client_options(dead.uri(), &log));
    device.start();  // never connects
    Recorder<DropEvent> drops;
    DatapointOptions o = dptest::pipeline_options();
    o.backpressure = BackpressurePolicy::DropNewest;
    o.max_backlog_bytes = 128 * 1024;
    o.batch_max_bytes = 16 * 1024;
    o.on_drop = [drops](const DropEvent& e) { drops.push(e); };
    Datapoints dp(device, o);

    // Until 100,000 points have been refused: how many the batcher takes before the backlog is full
    // depends on how fast this loop runs against it (slower under AddressSanitizer).
    std::uint64_t refused = 0;
    const auto started = Clock::now();
    for (std::int64_t i = 0; i < 2'000'000 && refused <= 100'000u; ++i) {
        try {
            dp.record("s", i);
        } catch (const Error& e) {
            ASSERT_EQ(e.status(), Status::QueueFull) << e.what();
            ++refused;
        }
    }
    ASSERT_GT(refused, 100'000u) << "the backlog never filled";
    ASSERT_TRUE(tltest::wait_until([&] { return dp.stats().backlog_bytes > 0; }));

    // Idle now: the batcher must sleep, not spin on the points it cannot take.
    std::this_thread::sleep_for(200ms);
    const auto cpu_before = process_cpu_time();
    const auto wall_before = Clock::now();
    std::this_thread::sleep_for(1500ms);
    const auto cpu = process_cpu_time() - cpu_before;
    const auto wall = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - wall_before);
    RecordProperty("idle_cpu_us", static_cast<int>(cpu.count()));
    EXPECT_LT(cpu.count(), wall.count() / 20) << "the idle process used " << cpu.count() << " us of CPU in "
                                              << wall.count() << " us";

    // Every refused point is reported, in sums: at most one log line and one event a second.
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started).count() + 2;
    ASSERT_TRUE(drops.wait_for([&](const std::vector<DropEvent>& v) {
        std::uint64_t n = 0;
        for (const auto& e : v) n += e.points;
        return n >= refused;
    }));
    EXPECT_LE(drops.size(), static_cast<std::size_t>(seconds));
    std::size_t lines = 0;
    for (const auto& line : log.items()) lines += line.find("dropped") != std::string::npos;
    EXPECT_GE(lines, 1u);
    EXPECT_LE(lines, static_cast<std::size_t>(seconds));
    EXPECT_EQ(dp.stats().rejected_points, refused);
}

TEST_F(PipelineBackpressure, BlockWaitsForTheTimeoutThenRefusesWithTimeout) {
    Recorder<DropEvent> drops;
    DatapointOptions o = small_backlog(BackpressurePolicy::Block, drops);
    o.block_timeout = 250ms;
    Datapoints dp(*device_, o);
    std::uint64_t accepted = 0;
    Clock::duration refused_after{};
    const auto deadline = Clock::now() + kLong;
    while (Clock::now() < deadline) {
        const auto start = Clock::now();
        try {
            dp.record("s", static_cast<std::int64_t>(accepted));
            ++accepted;
        } catch (const Error& e) {
            refused_after = Clock::now() - start;
            ASSERT_EQ(e.status(), Status::Timeout) << e.what();
            break;
        }
        if (accepted % 20 == 0) std::this_thread::sleep_for(2ms);
    }
    EXPECT_GE(refused_after, 250ms);
    EXPECT_LT(refused_after, 250ms + 5s);
    EXPECT_EQ(dp.stats().rejected_points, 1u);
    EXPECT_EQ(dp.stats().dropped_points, 0u);
}

TEST(PipelineBlock, ARecordThatWaitsGoesThroughOnceTheBrokerAcknowledgesAndNothingIsLost) {
    DeadBroker dead;
    Client device(dptest::device_client_options(dead.uri()));
    device.start();
    Recorder<DropEvent> drops;
    DatapointOptions o = small_backlog(BackpressurePolicy::Block, drops);
    o.block_timeout = 60s;
    Datapoints dp(device, o);

    // One thread records until a call has been waiting for a while; then the broker comes back.
    std::atomic<std::int64_t> call_started_ms{-1};
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> accepted{0};
    Clock::duration longest{};
    std::thread recorder([&] {
        while (!stop) {
            const auto start = Clock::now();
            call_started_ms = dptest::now_ms();
            try {
                dp.record("s", static_cast<std::int64_t>(accepted.load()));
            } catch (const Error& e) {
                ADD_FAILURE() << "record() failed: " << e.what();
                return;
            }
            call_started_ms = -1;
            ++accepted;
            longest = std::max(longest, Clock::now() - start);
            if (accepted % 20 == 0) std::this_thread::sleep_for(1ms);
        }
    });
    ASSERT_TRUE(tltest::wait_until([&] {
        const std::int64_t started = call_started_ms;
        return started >= 0 && dptest::now_ms() - started >= 300;
    }));
    const std::uint64_t before = accepted;
    dead.broker().start();
    ASSERT_TRUE(tltest::wait_until([&] { return accepted > before + 100; }));
    stop = true;
    recorder.join();
    EXPECT_GE(longest, 300ms);

    dp.flush(kLong);
    const auto s = dp.stats();
    EXPECT_EQ(s.recorded, accepted.load());
    EXPECT_EQ(s.acked_points, accepted.load());
    EXPECT_EQ(s.dropped_points, 0u);
    EXPECT_EQ(s.rejected_points, 0u);
    EXPECT_TRUE(drops.items().empty());
    device.disconnect(1s);
}

TEST(PipelineRate, SendsNoFasterThanMaxBatchesPerSecond) {
    twinlink::testing::Broker broker{twinlink::testing::Broker::Options{false}};
    Receiver receiver(broker.uri());
    Client device(dptest::device_client_options(broker.uri()));
    device.connect(kLong);
    DatapointOptions o = dptest::pipeline_options();
    o.batch_max_points = 1;  // one batch per point
    o.max_batches_per_second = 5;
    Datapoints dp(device, o);
    constexpr int kBatches = 15;
    const auto start = Clock::now();
    for (int i = 0; i < kBatches; ++i) dp.record("s", i);
    dp.flush(kLong);
    const auto took = Clock::now() - start;
    EXPECT_EQ(dp.stats().acked_batches, static_cast<std::uint64_t>(kBatches));

    // A token bucket with a burst of one second's worth (5 batches), then 5 per second: the k-th
    // batch (from 1) is sent no earlier than (k - 5) / 5 s after the first.
    const double rate = o.max_batches_per_second;
    const double burst = std::max(1.0, rate);
    EXPECT_GE(std::chrono::duration<double>(took).count(), (kBatches - burst) / rate - 0.05);
    ASSERT_TRUE(receiver.wait_batches(kBatches));
    auto batches = receiver.batches();
    std::sort(batches.begin(), batches.end(), [](auto& a, auto& b) { return a.at < b.at; });
    for (int k = 1; k <= kBatches; ++k) {
        const double at = std::chrono::duration<double>(batches[k - 1].at - start).count();
        EXPECT_GE(at, (k - burst) / rate - 0.05) << "batch " << k;
    }
    device.disconnect(1s);
}

// ---- input that record() refuses ----------------------------------------------------------

class PipelineInput : public Offline {};

TEST_F(PipelineInput, RefusesNonFiniteNumbers) {
    Datapoints dp(*device_, dptest::pipeline_options());
    for (const double bad : {std::nan(""), std::numeric_limits<double>::infinity(),
                             -std::numeric_limits<double>::infinity()}) {
        const Error e = capture_error([&] { dp.record("s", bad); });
        EXPECT_EQ(e.status(), Status::InvalidArgument) << e.what();
        EXPECT_EQ(capture_error([&] { dp.record("s", DatapointValue(bad)); }).status(), Status::InvalidArgument);
    }
    // All or nothing: one NaN refuses the whole call.
    const double values[] = {1.0, 2.0, std::nan(""), 4.0};
    EXPECT_EQ(capture_error([&] { dp.record_many("s", values, nullptr, 4); }).status(), Status::InvalidArgument);
    EXPECT_EQ(capture_error([&] { dp.record_many("s", static_cast<const double*>(nullptr), nullptr, 2); }).status(),
              Status::InvalidArgument);
    EXPECT_EQ(capture_error([&] { dp.record("s", json{{"x", std::nan("")}}); }).status(), Status::InvalidArgument);
    EXPECT_EQ(dp.stats().recorded, 0u);
    EXPECT_EQ(dp.stats().rejected_points, 0u);  // bad input is not backpressure
}

TEST_F(PipelineInput, RefusesBadSeriesNames) {
    Datapoints dp(*device_, dptest::pipeline_options());
    const std::vector<std::string> bad = {"",       "a/b",        "a+b",         "a#",     std::string("a\0b", 3),
                                          "tab\there", "del\x7f",  "c1\xc2\x85", "\xff\xfe", std::string(129, 'n')};
    for (const auto& name : bad) {
        const Error e = capture_error([&] { dp.record(name, 1.0); });
        EXPECT_EQ(e.status(), Status::InvalidArgument) << ::testing::PrintToString(name) << ": " << e.what();
        EXPECT_EQ(capture_error([&] { dp.record(name, std::int64_t{1}); }).status(), Status::InvalidArgument);
        EXPECT_EQ(capture_error([&] { dp.record(name, true); }).status(), Status::InvalidArgument);
        EXPECT_EQ(capture_error([&] { dp.record(name, "text"); }).status(), Status::InvalidArgument);
        EXPECT_EQ(capture_error([&] { dp.record(name, json::object()); }).status(), Status::InvalidArgument);
        const std::int64_t values[] = {1, 2};
        EXPECT_EQ(capture_error([&] { dp.record_many(name, values, nullptr, 2); }).status(), Status::InvalidArgument);
    }
    EXPECT_EQ(dp.stats().recorded, 0u);
    // The longest name is fine, and so is UTF-8.
    dp.record(std::string(128, 'n'), 1.0);
    dp.record("temp \xc2\xb0" "C", 1.0);
    EXPECT_EQ(dp.stats().recorded, 2u);
}

TEST_F(PipelineInput, RefusesJsonValuesThatAreNotObjects) {
    Datapoints dp(*device_, dptest::pipeline_options());
    for (const json& bad : {json::array({1, 2}), json(1), json(1.5), json("text"), json(true), json(nullptr)}) {
        const Error e = capture_error([&] { dp.record("s", bad); });
        EXPECT_EQ(e.status(), Status::InvalidArgument) << bad.dump() << ": " << e.what();
    }
    json deep = json::object();
    json* at = &deep;
    for (int i = 0; i < 40; ++i) at = &((*at)["d"] = json::object());
    EXPECT_EQ(capture_error([&] { dp.record("s", deep); }).status(), Status::InvalidArgument);
    EXPECT_EQ(capture_error([&] { dp.record("s", json{{"bad", std::string("\xff")}}); }).status(),
              Status::InvalidArgument);
    EXPECT_EQ(capture_error([&] { dp.record("s", std::string_view("\xc3\x28")); }).status(),
              Status::InvalidArgument);
    EXPECT_EQ(dp.stats().recorded, 0u);
}

TEST_F(PipelineInput, RefusesBadOptions) {
    const auto refused = [&](auto change) {
        DatapointOptions o = dptest::pipeline_options();
        change(o);
        return capture_error([&] { Datapoints dp(*device_, o); }).status() == Status::InvalidArgument;
    };
    EXPECT_TRUE(refused([](DatapointOptions& o) { o.device = ""; }));
    EXPECT_TRUE(refused([](DatapointOptions& o) { o.device = "a/b"; }));
    EXPECT_TRUE(refused([](DatapointOptions& o) { o.topic = ""; }));
    EXPECT_TRUE(refused([](DatapointOptions& o) { o.topic = "tl/+/dp"; }));
    EXPECT_TRUE(refused([](DatapointOptions& o) { o.topic = "tl/{device}/#"; }));
    EXPECT_TRUE(refused([](DatapointOptions& o) { o.batch_max_points = 0; }));
    EXPECT_TRUE(refused([](DatapointOptions& o) { o.batch_max_bytes = 1023; }));
    EXPECT_TRUE(refused([](DatapointOptions& o) { o.batch_max_bytes = 256u * 1024u * 1024u + 1; }));
    EXPECT_TRUE(refused([](DatapointOptions& o) { o.linger = 0ms; }));
    EXPECT_TRUE(refused([](DatapointOptions& o) { o.max_backlog_bytes = 2 * o.batch_max_bytes - 1; }));
    EXPECT_TRUE(refused([](DatapointOptions& o) { o.max_pending_points = 0; }));
    EXPECT_TRUE(refused([](DatapointOptions& o) { o.max_inflight_batches = 0; }));
    EXPECT_TRUE(refused([](DatapointOptions& o) { o.max_batches_per_second = -1; }));
    EXPECT_TRUE(refused([](DatapointOptions& o) { o.max_batches_per_second = std::nan(""); }));
    EXPECT_TRUE(refused([](DatapointOptions& o) {
        o.max_batches_per_second = std::numeric_limits<double>::infinity();
    }));
    EXPECT_FALSE(refused([](DatapointOptions&) {}));
}

}  // namespace
