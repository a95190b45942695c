// Asynchronous operations (tl_*_start, tl_*_cancel): each completion is called exactly once, on the
// dispatcher thread, never inside the start call, and its user_data is released after it. Shadow
// answers come from the test acting as the cloud, so the test decides when (and whether) they come.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "broker.hpp"
#include "support.hpp"

namespace {

using namespace tltest;

/// Records the completions whose user_data it is.
class Completions {
public:
    struct Done {
        uint64_t operation;
        tl_status status;
        std::string message;
        std::string document;
        bool has_document;
        std::thread::id thread;
        int destroys_before;  // destroy calls seen when the callback ran
    };

    static void on_done(const tl_completion* c, void* self_) {
        auto* self = static_cast<Completions*>(self_);
        {
            std::lock_guard<std::mutex> lock(self->mutex_);
            self->done_.push_back({c->operation, c->status, c->message, c->document ? c->document : "",
                                   c->document != nullptr, std::this_thread::get_id(), self->destroys.load()});
        }
        self->changed_.notify_all();
    }
    static void destroy(void* self) { static_cast<Completions*>(self)->destroys++; }

    bool wait_for(std::size_t count, milliseconds timeout = 5000ms) const {
        std::unique_lock<std::mutex> lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return done_.size() >= count; });
    }
    std::vector<Done> done() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return done_;
    }

    std::atomic<int> destroys{0};

private:
    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    std::vector<Done> done_;
};

struct ShadowDeleter {
    void operator()(tl_shadow* shadow) const { tl_shadow_free(shadow); }
};
using Shadow = std::unique_ptr<tl_shadow, ShadowDeleter>;
struct DatapointsDeleter {
    void operator()(tl_datapoints* d) const { tl_datapoints_free(d); }
};
using Datapoints = std::unique_ptr<tl_datapoints, DatapointsDeleter>;

/// Acts as the shadow service for "lamp": accepts every update (echoing its token) while `answer`.
struct FakeCloud {
    static void on_update(const tl_message* m, void* self_) {
        auto* self = static_cast<FakeCloud*>(self_);
        if (!self->answer) return;
        const std::string body(static_cast<const char*>(m->payload), m->payload_len);
        const auto at = body.find("\"clientToken\":\"");
        if (at == std::string::npos) return;
        const auto start = at + 15;
        const std::string token = body.substr(start, body.find('"', start) - start);
        const std::string topic = m->topic;
        std::string reply;
        if (topic == "tl/lamp/shadow/update")
            reply = R"({"state":{"reported":{"on":true}},"version":)" + std::to_string(++self->version) +
                    R"(,"clientToken":")" + token + "\"}";
        else
            reply = R"({"state":{"desired":{"on":false},"reported":{"on":true},"delta":{"on":false}},"version":)" +
                    std::to_string(self->version) + R"(,"timestamp":1700000000,"clientToken":")" + token + "\"}";
        tl_client_publish(self->client, (topic + "/accepted").c_str(), reply.data(), reply.size(), 1, 0, nullptr,
                          nullptr, nullptr, nullptr);
    }
    tl_client* client = nullptr;
    std::atomic<bool> answer{true};
    std::atomic<int> version{0};
};

class Operations : public ::testing::Test {
protected:
    void SetUp() override {
        device_ = connect_client(broker_.uri());
        cloud_ = connect_client(broker_.uri());
        ASSERT_TRUE(device_ && cloud_);
        fake_.client = cloud_.get();
        ASSERT_EQ(tl_client_subscribe(cloud_.get(), "tl/lamp/shadow/update", 1, FakeCloud::on_update, &fake_,
                                      nullptr, nullptr),
                  TL_OK);
        ASSERT_EQ(tl_client_subscribe(cloud_.get(), "tl/lamp/shadow/get", 1, FakeCloud::on_update, &fake_, nullptr,
                                      nullptr),
                  TL_OK);
        tl_shadow* shadow = nullptr;
        ASSERT_EQ(tl_shadow_new(&shadow, device_.get(), "lamp", nullptr), TL_OK) << tl_last_error();
        shadow_.reset(shadow);
    }

    std::thread::id dispatcher_thread() {
        // A connect_start on a connected client completes at once, through the dispatcher.
        Completions c;
        EXPECT_EQ(tl_client_connect_start(device_.get(), 1000, Completions::on_done, &c, nullptr, nullptr), TL_OK);
        EXPECT_TRUE(c.wait_for(1));
        return c.done().at(0).thread;
    }

    twinlink::testing::Broker broker_{twinlink::testing::Broker::Options{false}};
    Client device_, cloud_;
    FakeCloud fake_;
    Shadow shadow_;
};

TEST_F(Operations, ManyReportsCompleteOnceEachOnTheDispatcherWithTheirUserDataReleasedAfter) {
    const auto dispatcher = dispatcher_thread();
    constexpr int kReports = 200;
    std::vector<Completions> each(kReports);
    std::vector<uint64_t> ids(kReports);
    for (int i = 0; i < kReports; ++i)
        ASSERT_EQ(tl_shadow_report_start(shadow_.get(), R"({"on":true})", 5000, Completions::on_done, &each[i],
                                         Completions::destroy, &ids[i]),
                  TL_OK)
            << tl_last_error();
    for (int i = 0; i < kReports; ++i) {
        ASSERT_TRUE(each[i].wait_for(1)) << i;
        ASSERT_TRUE(eventually([&] { return each[i].destroys.load() == 1; })) << i;
        const auto d = each[i].done();
        ASSERT_EQ(d.size(), 1u);
        EXPECT_EQ(d[0].status, TL_OK) << d[0].message;
        EXPECT_EQ(d[0].operation, ids[i]);
        EXPECT_EQ(d[0].thread, dispatcher);
        EXPECT_EQ(d[0].destroys_before, 0);
        EXPECT_NE(d[0].document.find("\"version\""), std::string::npos);
    }
}

TEST_F(Operations, GetGivesTheDocumentInTheFormOfTheBlockingGet) {
    Completions c;
    ASSERT_EQ(tl_shadow_get_start(shadow_.get(), 5000, Completions::on_done, &c, Completions::destroy, nullptr),
              TL_OK);
    ASSERT_TRUE(c.wait_for(1));
    const auto d = c.done().at(0);
    EXPECT_EQ(d.status, TL_OK) << d.message;
    EXPECT_NE(d.document.find(R"("delta":{"on":false})"), std::string::npos) << d.document;
    EXPECT_NE(d.document.find(R"("exists":true)"), std::string::npos) << d.document;
}

TEST_F(Operations, UnansweredReportTimesOutWithoutAThreadAndCancelIsPrompt) {
    fake_.answer = false;
    Completions timed, canceled;
    const auto before = Clock::now();
    ASSERT_EQ(tl_shadow_report_start(shadow_.get(), R"({"a":1})", 200, Completions::on_done, &timed,
                                     Completions::destroy, nullptr),
              TL_OK);
    uint64_t id = 0;
    ASSERT_EQ(tl_shadow_report_start(shadow_.get(), R"({"a":2})", 60000, Completions::on_done, &canceled,
                                     Completions::destroy, &id),
              TL_OK);
    ASSERT_EQ(tl_shadow_cancel(shadow_.get(), id), TL_OK) << tl_last_error();
    ASSERT_TRUE(canceled.wait_for(1, 1000ms));
    EXPECT_EQ(canceled.done().at(0).status, TL_ECANCELED);
    EXPECT_EQ(tl_shadow_cancel(shadow_.get(), id), TL_ESTATE);  // already ended
    ASSERT_TRUE(timed.wait_for(1, 2000ms));
    EXPECT_EQ(timed.done().at(0).status, TL_ETIMEOUT);
    EXPECT_GE(elapsed_ms(before), 190);
    EXPECT_TRUE(eventually([&] { return timed.destroys == 1 && canceled.destroys == 1; }));
}

TEST_F(Operations, FreeingTheShadowCancelsItsOperations) {
    fake_.answer = false;
    Completions c;
    ASSERT_EQ(tl_shadow_report_start(shadow_.get(), R"({"a":1})", 60000, Completions::on_done, &c,
                                     Completions::destroy, nullptr),
              TL_OK);
    shadow_.reset();
    ASSERT_TRUE(c.wait_for(1, 2000ms));
    EXPECT_EQ(c.done().at(0).status, TL_ECANCELED);
    EXPECT_TRUE(eventually([&] { return c.destroys == 1; }));
}

TEST_F(Operations, FreeingTheClientCancelsAConnectInProgress) {
    // Nothing listens on this port: the connect cannot finish.
    auto options = make_options("mqtt://127.0.0.1:1");
    auto client = make_client(options.get());
    ASSERT_TRUE(client);
    Completions c;
    ASSERT_EQ(tl_client_connect_start(client.get(), 60000, Completions::on_done, &c, Completions::destroy, nullptr),
              TL_OK);
    EXPECT_EQ(c.done().size(), 0u);
    client.reset();
    ASSERT_TRUE(c.wait_for(1, 3000ms));
    EXPECT_EQ(c.done().at(0).status, TL_ECANCELED);
    EXPECT_EQ(c.destroys, 1);
}

TEST_F(Operations, ConnectStartCompletesWhenTheBrokerAccepts) {
    auto options = make_options(broker_.uri());
    auto client = make_client(options.get());
    ASSERT_TRUE(client);
    Completions c;
    ASSERT_EQ(tl_client_connect_start(client.get(), 5000, Completions::on_done, &c, Completions::destroy, nullptr),
              TL_OK);
    ASSERT_TRUE(c.wait_for(1));
    EXPECT_EQ(c.done().at(0).status, TL_OK) << c.done().at(0).message;
    EXPECT_EQ(tl_client_state(client.get()), TL_STATE_CONNECTED);
}

TEST_F(Operations, FlushStartCompletesWhenTheBrokerHasTheBatches) {
    tl_datapoint_options* options = nullptr;
    ASSERT_EQ(tl_datapoint_options_new(&options), TL_OK);
    ASSERT_EQ(tl_datapoint_options_set_delivery(options, TL_DELIVERY_BROKER, 10000, 64, nullptr), TL_OK) << tl_last_error();
    tl_datapoints* raw = nullptr;
    ASSERT_EQ(tl_datapoints_new(&raw, device_.get(), "lamp", options), TL_OK) << tl_last_error();
    tl_datapoint_options_free(options);
    Datapoints dp(raw);
    for (int i = 0; i < 100; ++i) ASSERT_EQ(tl_datapoints_record_double(dp.get(), "t", i, TL_NOW), TL_OK);
    Completions c;
    ASSERT_EQ(tl_datapoints_flush_start(dp.get(), 5000, Completions::on_done, &c, Completions::destroy, nullptr),
              TL_OK);
    ASSERT_TRUE(c.wait_for(1));
    EXPECT_EQ(c.done().at(0).status, TL_OK) << c.done().at(0).message;
    tl_datapoint_stats stats{};
    stats.struct_size = sizeof stats;
    ASSERT_EQ(tl_datapoints_get_stats(dp.get(), &stats), TL_OK);
    EXPECT_EQ(stats.acked_points, 100u);
}

TEST(OperationArguments, FailedStartsReleaseTheUserDataAndCallNothing) {
    Completions c;
    EXPECT_EQ(tl_client_connect_start(nullptr, 10, Completions::on_done, &c, Completions::destroy, nullptr),
              TL_EINVAL);
    EXPECT_EQ(tl_shadow_report_start(nullptr, "{}", 10, Completions::on_done, &c, Completions::destroy, nullptr),
              TL_EINVAL);
    EXPECT_EQ(tl_shadow_get_start(nullptr, 10, Completions::on_done, &c, Completions::destroy, nullptr), TL_EINVAL);
    EXPECT_EQ(tl_datapoints_flush_start(nullptr, 10, Completions::on_done, &c, Completions::destroy, nullptr),
              TL_EINVAL);
    EXPECT_EQ(c.destroys, 4);
    EXPECT_EQ(c.done().size(), 0u);
    EXPECT_EQ(tl_client_cancel(nullptr, 1), TL_EINVAL);
}

}  // namespace
