// Datapoint pipelines on a shared Runtime: their batchers run on the runtime's threads, so fifty
// pipelines add no thread, and every point still arrives, by linger and by flush. Without a runtime
// each pipeline keeps its batcher thread.
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pipeline_support.hpp"
#include "twinlink/runtime.hpp"

namespace {

using twinlink::testing::detail::process_threads;
using namespace dptest;
using tltest::wait_until;
using twinlink::Client;
using twinlink::ClientOptions;
using twinlink::Datapoints;
using twinlink::OperationResult;
using twinlink::Runtime;
using twinlink::RuntimeOptions;
using twinlink::Status;

constexpr int kPipelines = 50;

std::string device_name(int i) { return "rtdp" + std::to_string(::getpid()) + "-" + std::to_string(i); }

// `n` clients, on `runtime` when there is one, each with its own client id, connected.
std::vector<std::unique_ptr<Client>> connect_clients(const std::string& uri, const std::shared_ptr<Runtime>& runtime,
                                                     int n) {
    std::vector<ClientOptions> options;
    for (int i = 0; i < n; ++i) {
        options.push_back(device_client_options(uri));
        options.back().client_id = device_name(i);
        options.back().runtime = runtime;
    }
    return tltest::connect_clients(options);
}

// Points received per device, a batch received twice (resent) counted once.
std::map<std::string, std::size_t> points_by_device(const Receiver& receiver) {
    std::map<std::pair<std::string, std::uint64_t>, std::size_t> batches;
    for (const auto& r : receiver.batches()) batches[{r.batch.device, r.batch.seq}] = r.batch.points.size();
    std::map<std::string, std::size_t> out;
    for (const auto& [key, points] : batches) out[key.first] += points;
    return out;
}

TEST(PipelineRuntime, FiftyPipelinesOnARuntimeAddNoThreadAndEveryPointIsAcknowledged) {
    twinlink::testing::Broker broker{twinlink::testing::Broker::Options{false}};
    Receiver receiver(broker.uri());
    auto runtime = std::make_shared<Runtime>(RuntimeOptions{2});
    auto clients = connect_clients(broker.uri(), runtime, kPipelines);

    const long before = process_threads();
    std::vector<std::unique_ptr<Datapoints>> pipelines;
    for (int i = 0; i < kPipelines; ++i)
        pipelines.push_back(std::make_unique<Datapoints>(*clients[i], pipeline_options(device_name(i))));
    const long after = process_threads();
    ::testing::Test::RecordProperty("threads_added_by_pipelines", static_cast<int>(after - before));
    // Nothing per pipeline (a batcher thread each would make 50); the slack is for Paho's threads.
    EXPECT_LE(after - before, 2) << before << " threads before the pipelines, " << after << " after";

    // One point each, no flush: the batchers take them at linger, woken through the runtime.
    for (int i = 0; i < kPipelines; ++i) pipelines[i]->record("first", double(i));
    EXPECT_TRUE(receiver.wait_points(kPipelines));

    // Then many, and a flush of every pipeline at once.
    constexpr int kMore = 500;
    std::vector<double> values(kMore);
    for (int k = 0; k < kMore; ++k) values[k] = k;
    for (int i = 0; i < kPipelines; ++i) {
        for (int k = 0; k < kMore; ++k) pipelines[i]->record("one", std::int64_t{k});
        pipelines[i]->record_many("many", values.data(), nullptr, values.size());
    }
    std::atomic<int> ok{0}, failed{0};
    for (auto& p : pipelines)
        p->flush_start(kLong, [&](std::uint64_t, const OperationResult& r) { ++(r.status == Status::Ok ? ok : failed); });
    EXPECT_TRUE(wait_until([&] { return ok.load() + failed.load() == kPipelines; }));
    EXPECT_EQ(ok.load(), kPipelines);
    // And a blocking flush, which has nothing left to wait for.
    for (auto& p : pipelines) p->flush(kLong);

    const std::uint64_t per_pipeline = 1 + 2 * kMore;
    for (int i = 0; i < kPipelines; ++i) {
        const auto s = pipelines[i]->stats();
        EXPECT_EQ(s.recorded, per_pipeline) << "pipeline " << i;
        EXPECT_EQ(s.acked_points, per_pipeline) << "pipeline " << i;
        EXPECT_EQ(s.backlog_points + s.pending_points, 0u) << "pipeline " << i;
    }
    EXPECT_TRUE(receiver.wait_points(kPipelines * per_pipeline));
    const auto received = points_by_device(receiver);
    for (int i = 0; i < kPipelines; ++i) {
        const auto it = received.find(device_name(i));
        EXPECT_EQ(it == received.end() ? 0 : it->second, per_pipeline) << "device " << i;
    }

    tltest::expect_runtime_released(*runtime, pipelines, clients);
}

// Closing a pipeline on a runtime with points still open: the last pass runs, and the points are
// counted as discarded (no spool), as with a batcher thread.
TEST(PipelineRuntime, ClosingWithOpenPointsRunsTheLastPass) {
    twinlink::testing::Broker broker{twinlink::testing::Broker::Options{false}};
    auto runtime = std::make_shared<Runtime>(RuntimeOptions{1});
    auto clients = connect_clients(broker.uri(), runtime, 1);
    auto options = pipeline_options(device_name(0));
    options.linger = 10s;  // nothing is sent before the pipeline is destroyed
    std::atomic<int> canceled{0};
    {
        Datapoints dp(*clients[0], options);
        for (int k = 0; k < 10; ++k) dp.record("s", std::int64_t{k});
        // A flush that cannot finish: the batch is sent, but the broker is gone.
        broker.kill();
        ASSERT_TRUE(wait_until([&] { return !clients[0]->connected(); }));
        dp.flush_start(kLong, [&](std::uint64_t, const OperationResult& r) {
            if (r.status == Status::Canceled) ++canceled;
        });
    }
    EXPECT_TRUE(wait_until([&] { return canceled.load() == 1; }));
    EXPECT_LE(runtime->stats().timers, 1u);  // the client's connection loop's wake at most
    clients.clear();
    EXPECT_EQ(runtime->stats().timers, 0u);
}

// The batcher runs on the runtime's network threads, never on its dispatch threads: a blocking
// flush() in a callback that holds the only dispatch thread completes.
TEST(PipelineRuntime, ABlockingFlushInACallbackOnAOneThreadRuntimeCompletes) {
    twinlink::testing::Broker broker{twinlink::testing::Broker::Options{false}};
    Receiver receiver(broker.uri());
    auto runtime = std::make_shared<Runtime>(RuntimeOptions{1});
    auto clients = connect_clients(broker.uri(), runtime, 1);
    Datapoints dp(*clients[0], pipeline_options(device_name(0)));
    std::atomic<bool> flushed{false};
    std::atomic<int> done{0};
    clients[0]->dispatch([&] {
        for (int k = 0; k < 100; ++k) dp.record("in_callback", std::int64_t{k});
        try {
            dp.flush(kLong);
            flushed = true;
        } catch (const twinlink::Error&) {
        }
        ++done;
    });
    ASSERT_TRUE(wait_until([&] { return done.load() == 1; }));
    EXPECT_TRUE(flushed.load());
    EXPECT_EQ(dp.stats().acked_points, 100u);
    EXPECT_TRUE(receiver.wait_points(100));
}

TEST(PipelineRuntime, WithoutARuntimeEachPipelineHasItsBatcherThread) {
    twinlink::testing::Broker broker{twinlink::testing::Broker::Options{false}};
    Receiver receiver(broker.uri());
    auto clients = connect_clients(broker.uri(), nullptr, 5);
    const long before = process_threads();
    std::vector<std::unique_ptr<Datapoints>> pipelines;
    for (int i = 0; i < 5; ++i)
        pipelines.push_back(std::make_unique<Datapoints>(*clients[i], pipeline_options(device_name(i))));
    EXPECT_GE(process_threads() - before, 5);
    for (auto& p : pipelines) {
        for (int k = 0; k < 100; ++k) p->record("s", std::int64_t{k});
        p->flush(kLong);
        EXPECT_EQ(p->stats().acked_points, 100u);
    }
    EXPECT_TRUE(receiver.wait_points(500));
    pipelines.clear();
    EXPECT_LE(process_threads(), before + 2);
}

// flush() from a callback: the callback holds one of the runtime's dispatch threads while it waits,
// and the batcher's passes run on another. (With a single dispatch thread they could not: the flush
// would wait for its timeout. twinlink/runtime.hpp says so.)
TEST(PipelineRuntime, FlushFromACallbackCompletesOnARuntimeWithTwoDispatchThreads) {
    twinlink::testing::Broker broker{twinlink::testing::Broker::Options{false}};
    auto runtime = std::make_shared<Runtime>(RuntimeOptions{2});
    auto clients = connect_clients(broker.uri(), runtime, 1);
    Datapoints dp(*clients[0], pipeline_options(device_name(0)));
    tltest::Latch done;
    std::string result = "not run";
    clients[0]->dispatch([&] {
        dp.record("s", 1.0);
        try {
            dp.flush(kLong);
            result = "ok";
        } catch (const twinlink::Error& e) {
            result = e.what();
        }
        done.open();
    });
    ASSERT_TRUE(done.wait());
    EXPECT_EQ(result, "ok");
    EXPECT_EQ(dp.stats().acked_points, 1u);
}

}  // namespace
