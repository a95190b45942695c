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
#include "tcp_proxy.hpp"

namespace {

using namespace tltest;

/// Records the completions whose user_data it is. Its destructor waits (bounded) until every
/// completion it saw has been followed by its destroy call, which runs on the dispatcher thread
/// just after the callback: the test must not end, and free this, in between.
class Completions {
public:
    Completions() = default;
    Completions(const Completions&) = delete;
    Completions& operator=(const Completions&) = delete;
    ~Completions() {
        if (!with_destroy) return;
        eventually([&] { return destroys.load() >= static_cast<int>(done().size()); });
    }

    struct Done {
        uint64_t operation;
        tl_status status;
        std::string message;
        std::string document;
        bool has_document;
        std::thread::id thread;
        int destroys_before;  // destroy calls seen when the callback ran
        int watched_before;   // the value of *watch when the callback ran (-1 without one)
    };

    static void on_done(const tl_completion* c, void* self_) {
        auto* self = static_cast<Completions*>(self_);
        // Notified under the lock: the test may destroy this as soon as wait_for() returns.
        std::lock_guard<std::mutex> lock(self->mutex_);
        self->done_.push_back({c->operation, c->status, c->message, c->document ? c->document : "",
                               c->document != nullptr, std::this_thread::get_id(), self->destroys.load(),
                               self->watch ? self->watch->load() : -1});
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
    /// Registered with Completions::destroy (the default); false for completions without one.
    bool with_destroy = true;
    /// A counter to sample when the callback runs (an Inbox's destroys, say).
    std::atomic<int>* watch = nullptr;

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
        c.with_destroy = false;
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

// ---- shadow update and delete ---------------------------------------------------------------

TEST_F(Operations, UpdateStartCompletesWithTheAcceptedUpdate) {
    const auto dispatcher = dispatcher_thread();
    Completions c;
    uint64_t id = 0;
    ASSERT_EQ(tl_shadow_update_start(shadow_.get(), R"({"state":{"reported":{"on":true}}})", 5000,
                                     Completions::on_done, &c, Completions::destroy, &id),
              TL_OK)
        << tl_last_error();
    ASSERT_TRUE(c.wait_for(1));
    ASSERT_TRUE(eventually([&] { return c.destroys.load() == 1; }));
    const auto d = c.done().at(0);
    EXPECT_EQ(d.status, TL_OK) << d.message;
    EXPECT_EQ(d.operation, id);
    EXPECT_EQ(d.thread, dispatcher);
    EXPECT_EQ(d.destroys_before, 0);
    EXPECT_NE(d.document.find("\"version\""), std::string::npos) << d.document;
}

TEST_F(Operations, DeleteStartCompletesWithTheAcceptedDelete) {
    ASSERT_EQ(tl_client_subscribe(cloud_.get(), "tl/lamp/shadow/delete", 1, FakeCloud::on_update, &fake_, nullptr,
                                  nullptr),
              TL_OK);
    Completions c;
    ASSERT_EQ(tl_shadow_delete_start(shadow_.get(), 5000, Completions::on_done, &c, Completions::destroy, nullptr),
              TL_OK)
        << tl_last_error();
    ASSERT_TRUE(c.wait_for(1));
    const auto d = c.done().at(0);
    EXPECT_EQ(d.status, TL_OK) << d.message;
    EXPECT_TRUE(d.has_document);
    EXPECT_TRUE(eventually([&] { return c.destroys.load() == 1; }));
}

TEST_F(Operations, UnansweredUpdateAndDeleteTimeOutAndCancel) {
    fake_.answer = false;  // and nothing answers deletes at all
    Completions update_timed, delete_timed, update_canceled, delete_canceled;
    ASSERT_EQ(tl_shadow_update_start(shadow_.get(), R"({"state":{"desired":{"a":1}},"version":3})", 200,
                                     Completions::on_done, &update_timed, Completions::destroy, nullptr),
              TL_OK);
    ASSERT_EQ(tl_shadow_delete_start(shadow_.get(), 200, Completions::on_done, &delete_timed, Completions::destroy,
                                     nullptr),
              TL_OK);
    uint64_t update_id = 0, delete_id = 0;
    ASSERT_EQ(tl_shadow_update_start(shadow_.get(), R"({"state":{"desired":{"a":2}}})", 60000, Completions::on_done,
                                     &update_canceled, Completions::destroy, &update_id),
              TL_OK);
    ASSERT_EQ(tl_shadow_delete_start(shadow_.get(), 60000, Completions::on_done, &delete_canceled,
                                     Completions::destroy, &delete_id),
              TL_OK);
    EXPECT_EQ(tl_shadow_cancel(shadow_.get(), update_id), TL_OK);
    EXPECT_EQ(tl_client_cancel(device_.get(), delete_id), TL_OK);  // the same operations, by the client
    for (auto* c : {&update_timed, &delete_timed, &update_canceled, &delete_canceled}) {
        ASSERT_TRUE(c->wait_for(1));
        EXPECT_TRUE(eventually([&] { return c->destroys.load() == 1; }));
    }
    EXPECT_EQ(update_timed.done().at(0).status, TL_ETIMEOUT);
    EXPECT_EQ(delete_timed.done().at(0).status, TL_ETIMEOUT);
    EXPECT_EQ(update_canceled.done().at(0).status, TL_ECANCELED);
    EXPECT_EQ(delete_canceled.done().at(0).status, TL_ECANCELED);
    EXPECT_EQ(tl_shadow_cancel(shadow_.get(), delete_id), TL_ESTATE);
}

TEST_F(Operations, UpdateAndDeleteWithoutAConnectionCompleteWithNotConnected) {
    auto options = make_options(broker_.uri());
    auto offline = make_client(options.get());
    ASSERT_TRUE(offline);
    tl_shadow* raw = nullptr;
    ASSERT_EQ(tl_shadow_new(&raw, offline.get(), "lamp", nullptr), TL_OK) << tl_last_error();
    Shadow shadow(raw);
    Completions update, remove;
    ASSERT_EQ(tl_shadow_update_start(shadow.get(), R"({"state":{"desired":{"a":1}}})", 5000, Completions::on_done,
                                     &update, Completions::destroy, nullptr),
              TL_OK);
    ASSERT_EQ(tl_shadow_delete_start(shadow.get(), 5000, Completions::on_done, &remove, Completions::destroy, nullptr),
              TL_OK);
    ASSERT_TRUE(update.wait_for(1) && remove.wait_for(1));
    EXPECT_EQ(update.done().at(0).status, TL_ENOTCONN);
    EXPECT_EQ(remove.done().at(0).status, TL_ENOTCONN);
    shadow.reset();
    EXPECT_EQ(update.destroys, 1);
    EXPECT_EQ(remove.destroys, 1);
}

// ---- subscribe, unsubscribe, publish, disconnect ----------------------------------------------

TEST_F(Operations, SubscribeStartCompletesWithTheSubackAndUnsubscribeStartAfterTheHandlerIsGone) {
    const auto dispatcher = dispatcher_thread();
    Inbox inbox;
    Completions subscribed;
    uint64_t sub = 0, op = 0;
    ASSERT_EQ(tl_client_subscribe_start(device_.get(), "ops/+", 1, Inbox::on_message, &inbox, Inbox::on_destroy, &sub,
                                        5000, Completions::on_done, &subscribed, Completions::destroy, &op),
              TL_OK)
        << tl_last_error();
    EXPECT_NE(sub, 0u);
    EXPECT_NE(op, 0u);
    ASSERT_TRUE(subscribed.wait_for(1));
    const auto d = subscribed.done().at(0);
    EXPECT_EQ(d.status, TL_OK) << d.message;
    EXPECT_EQ(d.operation, op);
    EXPECT_EQ(d.thread, dispatcher);
    EXPECT_FALSE(d.has_document);
    // Acknowledged: a message published now is delivered.
    ASSERT_EQ(tl_client_publish_wait(cloud_.get(), "ops/a", "1", 1, 1, 0, 5000), TL_OK);
    ASSERT_TRUE(inbox.wait_for(1));
    EXPECT_EQ(inbox.payloads().at(0), "1");

    Completions unsubscribed;
    unsubscribed.watch = &inbox.destroys;
    ASSERT_EQ(tl_client_unsubscribe_start(device_.get(), sub, 5000, Completions::on_done, &unsubscribed,
                                          Completions::destroy, nullptr),
              TL_OK)
        << tl_last_error();
    ASSERT_TRUE(unsubscribed.wait_for(1));
    EXPECT_EQ(unsubscribed.done().at(0).status, TL_OK) << unsubscribed.done().at(0).message;
    EXPECT_EQ(unsubscribed.done().at(0).watched_before, 1);  // the handler's destroy ran first
    EXPECT_EQ(unsubscribed.done().at(0).thread, dispatcher);
    EXPECT_TRUE(eventually([&] { return subscribed.destroys == 1 && unsubscribed.destroys == 1; }));
    // Unknown now.
    Completions again;
    EXPECT_EQ(tl_client_unsubscribe_start(device_.get(), sub, 5000, Completions::on_done, &again,
                                          Completions::destroy, nullptr),
              TL_EINVAL);
    EXPECT_EQ(again.destroys, 1);
    EXPECT_EQ(again.done().size(), 0u);
}

TEST_F(Operations, SubscribeStartWhileOfflineCompletesAtOnceAndSubscribesAtConnect) {
    auto options = make_options(broker_.uri());
    auto client = make_client(options.get());
    ASSERT_TRUE(client);
    Inbox inbox;
    Completions c;
    ASSERT_EQ(tl_client_subscribe_start(client.get(), "late/#", 1, Inbox::on_message, &inbox, Inbox::on_destroy,
                                        nullptr, 5000, Completions::on_done, &c, Completions::destroy, nullptr),
              TL_OK);
    ASSERT_TRUE(c.wait_for(1));
    EXPECT_EQ(c.done().at(0).status, TL_OK);
    ASSERT_EQ(tl_client_connect(client.get(), 5000), TL_OK) << tl_last_error();
    ASSERT_EQ(tl_client_publish_wait(cloud_.get(), "late/x", "hi", 2, 1, 0, 5000), TL_OK);
    ASSERT_TRUE(inbox.wait_for(1));
    client.reset();
    EXPECT_EQ(inbox.destroys, 1);
}

TEST_F(Operations, UnsubscribeStartFromTheSubscriptionsOwnCallback) {
    struct Self {
        tl_client* client;
        uint64_t id = 0;
        Completions unsubscribed;
        std::atomic<int> calls{0};
        std::atomic<int> destroys{0};
    } self;
    self.client = device_.get();
    self.unsubscribed.watch = &self.destroys;
    const auto on_message = [](const tl_message*, void* p) {
        auto* s = static_cast<Self*>(p);
        if (s->calls++ == 0)
            tl_client_unsubscribe_start(s->client, s->id, 5000, Completions::on_done, &s->unsubscribed,
                                        Completions::destroy, nullptr);
    };
    const auto on_destroy = [](void* p) { static_cast<Self*>(p)->destroys++; };
    Completions subscribed;
    subscribed.with_destroy = false;
    ASSERT_EQ(tl_client_subscribe_start(device_.get(), "own/#", 1, on_message, &self, on_destroy, &self.id, 5000,
                                        Completions::on_done, &subscribed, nullptr, nullptr),
              TL_OK);
    ASSERT_TRUE(subscribed.wait_for(1));
    for (int i = 0; i < 3; ++i) ASSERT_EQ(tl_client_publish_wait(cloud_.get(), "own/x", "m", 1, 1, 0, 5000), TL_OK);
    ASSERT_TRUE(self.unsubscribed.wait_for(1));
    EXPECT_EQ(self.unsubscribed.done().at(0).status, TL_OK);
    EXPECT_EQ(self.unsubscribed.done().at(0).watched_before, 1);
    EXPECT_EQ(self.calls, 1);
}

/// A client that talks to the broker through a relay the test can stop (acknowledgements then
/// never arrive).
struct Relayed {
    explicit Relayed(int broker_port) : relay(broker_port) {
        client = connect_client(relay.uri());
    }
    tltest::TcpProxy relay;
    Client client;
};

TEST_F(Operations, SubscribeAndUnsubscribeTimeOutOrCancelWhenTheBrokerIsSilent) {
    Relayed r(broker_.port());
    ASSERT_TRUE(r.client);
    Inbox kept;
    uint64_t kept_id = 0;
    ASSERT_EQ(tl_client_subscribe(r.client.get(), "kept/#", 1, Inbox::on_message, &kept, Inbox::on_destroy, &kept_id),
              TL_OK);
    r.relay.hold_downstream(true);

    Inbox timed_inbox, canceled_inbox;
    Completions timed, canceled;
    timed.watch = &timed_inbox.destroys;
    canceled.watch = &canceled_inbox.destroys;
    ASSERT_EQ(tl_client_subscribe_start(r.client.get(), "silent/a", 1, Inbox::on_message, &timed_inbox,
                                        Inbox::on_destroy, nullptr, 200, Completions::on_done, &timed,
                                        Completions::destroy, nullptr),
              TL_OK);
    uint64_t op = 0;
    ASSERT_EQ(tl_client_subscribe_start(r.client.get(), "silent/b", 1, Inbox::on_message, &canceled_inbox,
                                        Inbox::on_destroy, nullptr, 60000, Completions::on_done, &canceled,
                                        Completions::destroy, &op),
              TL_OK);
    ASSERT_EQ(tl_client_cancel(r.client.get(), op), TL_OK);
    ASSERT_TRUE(timed.wait_for(1) && canceled.wait_for(1));
    EXPECT_EQ(timed.done().at(0).status, TL_ETIMEOUT);
    EXPECT_EQ(canceled.done().at(0).status, TL_ECANCELED);
    // Removed: the handler's destroy ran before the completion.
    EXPECT_EQ(timed.done().at(0).watched_before, 1);
    EXPECT_EQ(canceled.done().at(0).watched_before, 1);

    Completions unsubscribed;
    unsubscribed.watch = &kept.destroys;
    ASSERT_EQ(tl_client_unsubscribe_start(r.client.get(), kept_id, 200, Completions::on_done, &unsubscribed,
                                          Completions::destroy, nullptr),
              TL_OK);
    ASSERT_TRUE(unsubscribed.wait_for(1));
    EXPECT_EQ(unsubscribed.done().at(0).status, TL_ETIMEOUT);  // no UNSUBACK
    EXPECT_EQ(unsubscribed.done().at(0).watched_before, 1);    // removed all the same
    EXPECT_TRUE(eventually([&] { return timed.destroys == 1 && canceled.destroys == 1 && unsubscribed.destroys == 1; }));
}

TEST_F(Operations, FreeingTheClientCancelsAPendingSubscribe) {
    Relayed r(broker_.port());
    ASSERT_TRUE(r.client);
    r.relay.hold_downstream(true);
    Inbox inbox;
    Completions c;
    ASSERT_EQ(tl_client_subscribe_start(r.client.get(), "silent/#", 1, Inbox::on_message, &inbox, Inbox::on_destroy,
                                        nullptr, 60000, Completions::on_done, &c, Completions::destroy, nullptr),
              TL_OK);
    r.client.reset();
    ASSERT_TRUE(c.wait_for(1));
    EXPECT_EQ(c.done().at(0).status, TL_ECANCELED);
    EXPECT_EQ(c.destroys, 1);
    EXPECT_EQ(inbox.destroys, 1);
}

TEST_F(Operations, PublishStartCompletesWithThePubackOrTimesOutOrIsCanceled) {
    Inbox inbox;
    uint64_t subscription = 0;
    ASSERT_EQ(tl_client_subscribe(cloud_.get(), "pub/#", 1, Inbox::on_message, &inbox, nullptr, &subscription),
              TL_OK);
    struct Unsubscribe {
        tl_client* client;
        uint64_t id;
        ~Unsubscribe() { tl_client_unsubscribe(client, id); }  // before `inbox` goes
    } unsubscribe{cloud_.get(), subscription};
    Completions acked;
    uint64_t op = 0;
    ASSERT_EQ(tl_client_publish_start(device_.get(), "pub/a", "x", 1, 1, 0, 5000, Completions::on_done, &acked,
                                      Completions::destroy, &op),
              TL_OK)
        << tl_last_error();
    ASSERT_TRUE(acked.wait_for(1));
    EXPECT_EQ(acked.done().at(0).status, TL_OK) << acked.done().at(0).message;
    EXPECT_EQ(acked.done().at(0).operation, op);
    ASSERT_TRUE(inbox.wait_for(1));
    EXPECT_TRUE(eventually([&] { return acked.destroys == 1; }));

    Relayed r(broker_.port());
    ASSERT_TRUE(r.client);
    r.relay.hold_downstream(true);  // no PUBACK
    Completions timed, canceled;
    ASSERT_EQ(tl_client_publish_start(r.client.get(), "pub/b", "y", 1, 1, 0, 200, Completions::on_done, &timed,
                                      Completions::destroy, nullptr),
              TL_OK);
    ASSERT_EQ(tl_client_publish_start(r.client.get(), "pub/c", "z", 1, 1, 0, 60000, Completions::on_done, &canceled,
                                      Completions::destroy, &op),
              TL_OK);
    ASSERT_EQ(tl_client_cancel(r.client.get(), op), TL_OK);
    ASSERT_TRUE(timed.wait_for(1) && canceled.wait_for(1));
    EXPECT_EQ(timed.done().at(0).status, TL_ETIMEOUT);
    EXPECT_EQ(canceled.done().at(0).status, TL_ECANCELED);
    EXPECT_TRUE(eventually([&] { return timed.destroys == 1 && canceled.destroys == 1; }));
}

TEST_F(Operations, DisconnectStartDrainsTheQueueThenCompletesAndConnectStartsAgain) {
    auto options = make_options(broker_.uri());
    auto client = make_client(options.get());
    ASSERT_TRUE(client);
    Completions never_started;
    ASSERT_EQ(tl_client_disconnect_start(client.get(), 1000, Completions::on_done, &never_started,
                                         Completions::destroy, nullptr),
              TL_OK);
    ASSERT_TRUE(never_started.wait_for(1));
    EXPECT_EQ(never_started.done().at(0).status, TL_OK);

    ASSERT_EQ(tl_client_connect(client.get(), 5000), TL_OK) << tl_last_error();
    for (int i = 0; i < 50; ++i)
        ASSERT_EQ(tl_client_publish(client.get(), "drain/x", "d", 1, 1, 0, nullptr, nullptr, nullptr, nullptr), TL_OK);
    Completions disconnected;
    ASSERT_EQ(tl_client_disconnect_start(client.get(), 5000, Completions::on_done, &disconnected,
                                         Completions::destroy, nullptr),
              TL_OK);
    ASSERT_TRUE(disconnected.wait_for(1));
    EXPECT_EQ(disconnected.done().at(0).status, TL_OK) << disconnected.done().at(0).message;
    EXPECT_EQ(tl_client_state(client.get()), TL_STATE_DISCONNECTED);
    tl_client_stats stats{};
    stats.struct_size = sizeof stats;
    ASSERT_EQ(tl_client_get_stats(client.get(), &stats), TL_OK);
    EXPECT_EQ(stats.messages_out, 50u);
    EXPECT_EQ(stats.queued_messages, 0u);

    Completions reconnected;
    ASSERT_EQ(tl_client_connect_start(client.get(), 5000, Completions::on_done, &reconnected, Completions::destroy,
                                      nullptr),
              TL_OK);
    ASSERT_TRUE(reconnected.wait_for(1));
    EXPECT_EQ(reconnected.done().at(0).status, TL_OK) << reconnected.done().at(0).message;
    EXPECT_EQ(tl_client_disconnect(client.get(), 1000), TL_OK);
}

TEST_F(Operations, DisconnectStartGivesUpTheDrainAtItsTimeoutAndAConnectCallsItOff) {
    Relayed r(broker_.port());
    ASSERT_TRUE(r.client);
    r.relay.hold_downstream(true);  // nothing is ever acknowledged
    ASSERT_EQ(tl_client_publish(r.client.get(), "drain/y", "d", 1, 1, 0, nullptr, nullptr, nullptr, nullptr), TL_OK);

    Completions called_off;
    ASSERT_EQ(tl_client_disconnect_start(r.client.get(), 60000, Completions::on_done, &called_off,
                                         Completions::destroy, nullptr),
              TL_OK);
    EXPECT_EQ(tl_client_start(r.client.get()), TL_OK);
    ASSERT_TRUE(called_off.wait_for(1));
    EXPECT_EQ(called_off.done().at(0).status, TL_ECANCELED);
    EXPECT_EQ(tl_client_state(r.client.get()), TL_STATE_CONNECTED);

    Completions gave_up;
    ASSERT_EQ(tl_client_disconnect_start(r.client.get(), 200, Completions::on_done, &gave_up, Completions::destroy,
                                         nullptr),
              TL_OK);
    ASSERT_TRUE(gave_up.wait_for(1));
    EXPECT_EQ(gave_up.done().at(0).status, TL_OK) << gave_up.done().at(0).message;
    EXPECT_EQ(tl_client_state(r.client.get()), TL_STATE_DISCONNECTED);
    tl_client_stats stats{};
    stats.struct_size = sizeof stats;
    ASSERT_EQ(tl_client_get_stats(r.client.get(), &stats), TL_OK);
    EXPECT_EQ(stats.queued_messages, 1u);  // kept for the next connect
    EXPECT_TRUE(eventually([&] { return called_off.destroys == 1 && gave_up.destroys == 1; }));
}

TEST(OperationArguments, FailedStartsOfTheLaterOperationsReleaseTheUserDataAndCallNothing) {
    Completions c;
    std::atomic<int> message_destroys{0};
    const auto count = [](void* p) { ++*static_cast<std::atomic<int>*>(p); };
    const auto ignore = [](const tl_message*, void*) {};
    int expected = 0;
    EXPECT_EQ(tl_client_disconnect_start(nullptr, 10, Completions::on_done, &c, Completions::destroy, nullptr),
              TL_EINVAL);
    EXPECT_EQ(tl_client_publish_start(nullptr, "t", "x", 1, 1, 0, 10, Completions::on_done, &c, Completions::destroy,
                                      nullptr),
              TL_EINVAL);
    EXPECT_EQ(tl_client_subscribe_start(nullptr, "t", 1, ignore, &message_destroys, count, nullptr, 10,
                                        Completions::on_done, &c, Completions::destroy, nullptr),
              TL_EINVAL);
    EXPECT_EQ(tl_client_unsubscribe_start(nullptr, 1, 10, Completions::on_done, &c, Completions::destroy, nullptr),
              TL_EINVAL);
    EXPECT_EQ(tl_shadow_update_start(nullptr, "{}", 10, Completions::on_done, &c, Completions::destroy, nullptr),
              TL_EINVAL);
    EXPECT_EQ(tl_shadow_delete_start(nullptr, 10, Completions::on_done, &c, Completions::destroy, nullptr), TL_EINVAL);
    expected += 6;
    EXPECT_EQ(c.destroys, expected);
    EXPECT_EQ(message_destroys, 1);

    // Bad arguments on a real client (not connected: nothing waits).
    auto options = make_options("mqtt://127.0.0.1:1");
    auto client = make_client(options.get());
    ASSERT_TRUE(client);
    tl_shadow* raw = nullptr;
    ASSERT_EQ(tl_shadow_new(&raw, client.get(), "lamp", nullptr), TL_OK);
    std::unique_ptr<tl_shadow, void (*)(tl_shadow*)> shadow(raw, tl_shadow_free);
    uint64_t op = 99, sub = 99;
    EXPECT_EQ(tl_client_publish_start(client.get(), "a/#", "x", 1, 1, 0, 10, Completions::on_done, &c,
                                      Completions::destroy, &op),
              TL_EINVAL);  // a wildcard in a topic name
    EXPECT_EQ(op, 0u);
    EXPECT_EQ(tl_client_publish_start(client.get(), "a", nullptr, 3, 1, 0, 10, Completions::on_done, &c,
                                      Completions::destroy, nullptr),
              TL_EINVAL);  // NULL payload with a length
    EXPECT_EQ(tl_client_publish_start(client.get(), "a", "x", 1, 3, 0, 10, Completions::on_done, &c,
                                      Completions::destroy, nullptr),
              TL_EINVAL);  // qos 3
    EXPECT_EQ(tl_client_subscribe_start(client.get(), "a/#/b", 1, ignore, &message_destroys, count, &sub, 10,
                                        Completions::on_done, &c, Completions::destroy, &op),
              TL_EINVAL);  // # not last
    EXPECT_EQ(sub, 0u);
    EXPECT_EQ(tl_client_subscribe_start(client.get(), "a/b", 1, nullptr, &message_destroys, count, nullptr, 10,
                                        Completions::on_done, &c, Completions::destroy, nullptr),
              TL_EINVAL);  // no message callback
    EXPECT_EQ(tl_client_subscribe_start(client.get(), "a/b", 1, ignore, &message_destroys, count, nullptr, 10,
                                        nullptr, &c, Completions::destroy, nullptr),
              TL_EINVAL);  // no completion callback
    EXPECT_EQ(tl_client_unsubscribe_start(client.get(), 12345, 10, Completions::on_done, &c, Completions::destroy,
                                          nullptr),
              TL_EINVAL);  // unknown id
    EXPECT_EQ(tl_client_disconnect_start(client.get(), 10, nullptr, &c, Completions::destroy, nullptr), TL_EINVAL);
    EXPECT_EQ(tl_shadow_update_start(shadow.get(), "{not json", 10, Completions::on_done, &c, Completions::destroy,
                                     nullptr),
              TL_EINVAL);
    EXPECT_EQ(tl_shadow_update_start(shadow.get(), R"({"state":[]})", 10, Completions::on_done, &c,
                                     Completions::destroy, nullptr),
              TL_EINVAL);
    EXPECT_EQ(tl_shadow_delete_start(shadow.get(), 10, nullptr, &c, Completions::destroy, nullptr), TL_EINVAL);
    expected += 11;
    EXPECT_EQ(c.destroys, expected);
    EXPECT_EQ(message_destroys, 4);
    EXPECT_EQ(c.done().size(), 0u);
    EXPECT_NE(std::string(tl_last_error()), "");
}

}  // namespace
