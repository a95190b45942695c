// Delivery receipts on the device side: with DeliveryMode::Receipt a batch stays in the backlog
// after the broker's PUBACK until a receipt names it, is sent again when none comes in time, and
// receipts that are malformed or meant for another device change nothing. The receipts are
// published by hand here; tests/datapoints_e2e covers them coming from a real DatapointSink.
#include <limits>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "pipeline_support.hpp"
#include "twinlink/delivery_receipt.hpp"

namespace {

using namespace std::chrono_literals;
using dptest::Receiver;
using twinlink::Client;
using twinlink::DatapointOptions;
using twinlink::Datapoints;
using twinlink::DeliveryMode;
using twinlink::Error;
using twinlink::Status;
using tltest::capture_error;
using tltest::kLong;
using tltest::Recorder;

DatapointOptions receipt_options(std::chrono::milliseconds receipt_timeout) {
    DatapointOptions o = dptest::pipeline_options();
    o.delivery = DeliveryMode::Receipt;
    o.receipt_timeout = receipt_timeout;
    return o;
}

class PipelineReceipts : public ::testing::Test {
protected:
    void SetUp() override {
        device_ = std::make_unique<Client>(dptest::device_client_options(broker_.uri(), &log_));
        device_->connect(kLong);
    }
    void TearDown() override { device_->disconnect(1s); }

    /// Publishes a receipt for `seqs` of `device` from the receiver's client, as a sink would.
    void send_receipt(const std::vector<std::uint64_t>& seqs, const std::string& device = "dev-1") {
        for (auto& payload : twinlink::encode_receipts(device, seqs))
            receiver_.client().publish_wait("tl/" + device + "/receipts", payload, 1, false, kLong);
    }
    void send_raw(const std::string& payload) {
        receiver_.client().publish_wait("tl/dev-1/receipts", payload, 1, false, kLong);
    }

    twinlink::testing::Broker broker_{twinlink::testing::Broker::Options{false}};
    Receiver receiver_{broker_.uri()};
    Recorder<std::string> log_;
    std::unique_ptr<Client> device_;
};

TEST_F(PipelineReceipts, ABatchAcknowledgedByTheBrokerStaysUntilItsReceiptArrives) {
    Datapoints dp(*device_, receipt_options(60s));
    for (int i = 0; i < 10; ++i) dp.record("s", i);
    ASSERT_TRUE(receiver_.wait_batches(1));
    ASSERT_TRUE(tltest::wait_until([&] { return dp.stats().acked_batches == 1; }));

    // The broker has it, the sink has not confirmed it: not delivered.
    EXPECT_EQ(capture_error([&] { dp.flush(300ms); }).status(), Status::Timeout);
    auto s = dp.stats();
    EXPECT_EQ(s.acked_points, 10u);
    EXPECT_EQ(s.confirmed_points, 0u);
    EXPECT_EQ(s.backlog_batches, 1u);
    EXPECT_EQ(s.backlog_points, 10u);

    send_receipt({receiver_.batches().front().batch.seq});
    dp.flush(kLong);
    s = dp.stats();
    EXPECT_EQ(s.acked_batches, 1u);
    EXPECT_EQ(s.confirmed_batches, 1u);
    EXPECT_EQ(s.confirmed_points, 10u);
    EXPECT_EQ(s.backlog_batches, 0u);
    EXPECT_EQ(s.receipt_timeouts, 0u);
}

TEST_F(PipelineReceipts, ABatchWithoutAReceiptIsSentAgainAfterTheReceiptTimeoutAndCountedOnce) {
    Datapoints dp(*device_, receipt_options(300ms));
    for (int i = 0; i < 5; ++i) dp.record("s", i);
    // The same batch arrives again and again until a receipt names it.
    ASSERT_TRUE(receiver_.wait_batches(3));
    std::set<std::uint64_t> seqs;
    for (const auto& r : receiver_.batches()) seqs.insert(r.batch.seq);
    ASSERT_EQ(seqs.size(), 1u);
    // stats() is the batcher's summary, published after the resend it counts: the receiver can
    // have the third copy before the summary shows the second timeout.
    EXPECT_TRUE(tltest::wait_until([&] { return dp.stats().receipt_timeouts >= 2u; }))
        << dp.stats().receipt_timeouts << " receipt timeouts";

    send_receipt({*seqs.begin()});
    dp.flush(kLong);
    const auto s = dp.stats();
    EXPECT_EQ(s.acked_batches, 1u) << "a batch is acknowledged once, however often it was sent";
    EXPECT_EQ(s.acked_points, 5u);
    EXPECT_EQ(s.confirmed_points, 5u);
    EXPECT_GE(s.sent, 3u);
}

TEST_F(PipelineReceipts, ReceiptsThatAreMalformedOrForAnotherDeviceChangeNothing) {
    Datapoints dp(*device_, receipt_options(60s));
    for (int i = 0; i < 10; ++i) dp.record("s", i);
    ASSERT_TRUE(tltest::wait_until([&] { return dp.stats().acked_batches == 1; }));
    // The broker's PUBACK to the device may come before its delivery to the receiver.
    ASSERT_TRUE(receiver_.wait_batches(1));
    const std::uint64_t seq = receiver_.batches().front().batch.seq;
    const std::string n = std::to_string(seq);
    for (const std::string& bad : std::vector<std::string>{"not json", "[1,2]", "{}",
                                   R"({"device":"dev-1"})", R"({"device":"dev-1","stored":"x"})",
                                   R"({"device":"dev-1","stored":[[)" + n + "]]}",
                                   R"({"device":"dev-1","stored":[[)" + n + "," + n + ",1]]}",
                                   R"({"device":"dev-1","stored":[[-1,)" + n + "]]}",
                                   R"({"device":"dev-1","stored":[[)" + n + ".5," + n + "]]}",
                                   R"({"device":"dev-1","stored":[[)" + std::to_string(seq + 1) + "," + n + "]]}",
                                   R"({"device":"dev-2","stored":[[)" + n + "," + n + "]]}",
                                   R"({"device":7,"stored":[]})"})
        send_raw(bad);
    EXPECT_EQ(capture_error([&] { dp.flush(500ms); }).status(), Status::Timeout);
    EXPECT_EQ(dp.stats().confirmed_batches, 0u);
    // Every one of them is counted once read; the valid ranges that match no batch are not.
    EXPECT_TRUE(tltest::wait_until([&] { return dp.stats().receipts_ignored == 12u; }))
        << dp.stats().receipts_ignored << " receipts ignored";

    // One range over every possible seq confirms what is there, without walking the range.
    send_receipt({0});  // a seq that is not here: nothing happens
    send_raw(R"({"device":"dev-1","stored":[[0,18446744073709551615]]})");
    dp.flush(kLong);
    EXPECT_EQ(dp.stats().confirmed_points, 10u);
    EXPECT_EQ(dp.stats().receipts_ignored, 12u);
    std::size_t warned = 0;
    for (const auto& line : log_.items()) warned += line.find("receipt") != std::string::npos;
    EXPECT_GE(warned, 10u);
}

TEST_F(PipelineReceipts, DeliveryOptionsAreChecked) {
    const auto refused = [&](auto change) {
        DatapointOptions o = receipt_options(1s);
        change(o);
        return capture_error([&] { Datapoints dp(*device_, o); }).status() == Status::InvalidArgument;
    };
    EXPECT_TRUE(refused([](DatapointOptions& o) { o.receipt_timeout = 0ms; }));
    EXPECT_TRUE(refused([](DatapointOptions& o) { o.max_unconfirmed_batches = 0; }));
    EXPECT_TRUE(refused([](DatapointOptions& o) { o.receipt_topic = ""; }));
    EXPECT_TRUE(refused([](DatapointOptions& o) { o.receipt_topic = "tl/+/receipts"; }));
    EXPECT_TRUE(refused([](DatapointOptions& o) { o.delivery = static_cast<DeliveryMode>(7); }));
    // A broker-judged pipeline does not look at the receipt options.
    EXPECT_FALSE(refused([](DatapointOptions& o) {
        o.delivery = DeliveryMode::Broker;
        o.receipt_topic = "";
    }));
}

TEST_F(PipelineReceipts, NoMoreThanMaxUnconfirmedBatchesAreOutstanding) {
    DatapointOptions o = receipt_options(60s);
    o.batch_max_points = 10;
    o.max_unconfirmed_batches = 3;
    Datapoints dp(*device_, o);
    for (int i = 0; i < 100; ++i) dp.record("s", i);  // 10 batches
    ASSERT_TRUE(receiver_.wait_batches(3));
    // A marker on the receiver's own connection: once it is back, the device had its chance to
    // send a fourth batch.
    ASSERT_TRUE(tltest::wait_until([&] { return dp.stats().acked_batches == 3; }));
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(receiver_.size(), 3u);
    std::vector<std::uint64_t> seqs;
    for (const auto& r : receiver_.batches()) seqs.push_back(r.batch.seq);
    send_receipt(seqs);
    ASSERT_TRUE(receiver_.wait_batches(6));
}

}  // namespace
