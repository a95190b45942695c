// Publish completion callbacks, destructors of user_data, and callbacks that call back into the
// client, block, or free it.
#include <atomic>
#include <chrono>
#include <deque>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "broker.hpp"
#include "support.hpp"

namespace {

using namespace tltest;

/// One publish's callback and destructor calls.
struct PublishRecord {
    std::atomic<int> callbacks{0};
    std::atomic<int> destroys{0};
    std::atomic<int> status{1};
    std::atomic<uint64_t> id{0};
    std::atomic<bool> destroyed_after_callback{false};

    static void on_published(uint64_t id, tl_status status, void* record) {
        auto* self = static_cast<PublishRecord*>(record);
        self->id = id;
        self->status = status;
        self->callbacks++;
    }
    static void destroy(void* record) {
        auto* self = static_cast<PublishRecord*>(record);
        self->destroyed_after_callback = self->callbacks.load() == 1;
        self->destroys++;
    }
};

tl_status publish_recorded(tl_client* client, const std::string& topic, int qos, PublishRecord& record,
                           uint64_t* id) {
    return tl_client_publish(client, topic.c_str(), "p", 1, qos, 0, PublishRecord::on_published, &record,
                             PublishRecord::destroy, id);
}

class Callbacks : public ::testing::Test {
protected:
    twinlink::testing::Broker broker_{twinlink::testing::Broker::Options{false}};
};

TEST_F(Callbacks, PublishCallbackOncePerPublishThenDestroy) {
    std::deque<PublishRecord> records(30);  // outlive the client
    std::vector<uint64_t> ids(records.size());
    Client client = connect_client(broker_.uri());
    ASSERT_TRUE(client);
    for (std::size_t i = 0; i < records.size(); ++i) {
        ASSERT_EQ(publish_recorded(client.get(), "cb/" + std::to_string(i), static_cast<int>(i % 3), records[i],
                                   &ids[i]),
                  TL_OK)
            << tl_last_error();
        EXPECT_GT(ids[i], 0u);
    }
    ASSERT_TRUE(eventually([&] {
        for (const auto& r : records)
            if (r.destroys.load() == 0) return false;
        return true;
    }));
    client.reset();
    for (std::size_t i = 0; i < records.size(); ++i) {
        SCOPED_TRACE("publish " + std::to_string(i));
        EXPECT_EQ(records[i].callbacks, 1);
        EXPECT_EQ(records[i].destroys, 1);
        EXPECT_TRUE(records[i].destroyed_after_callback);
        EXPECT_EQ(records[i].status, TL_OK);
        EXPECT_EQ(records[i].id, ids[i]);
    }
}

TEST_F(Callbacks, DestroyWithoutCallbackRunsAfterCompletion) {
    DestroyCounter destroyed;
    Client client = connect_client(broker_.uri());
    ASSERT_TRUE(client);
    ASSERT_EQ(tl_client_publish(client.get(), "cb/plain", "p", 1, 1, 0, nullptr, &destroyed,
                                DestroyCounter::destroy, nullptr),
              TL_OK);
    EXPECT_TRUE(eventually([&] { return destroyed.count.load() == 1; }));
    client.reset();
    EXPECT_EQ(destroyed.count, 1);
}

// Pending publishes of a client that is offline (started or not) are canceled by tl_client_free.
class FreeCancels : public ::testing::TestWithParam<bool> {};

TEST_P(FreeCancels, EveryPendingPublish) {
    const bool started = GetParam();
    std::deque<PublishRecord> records(20);
    Options options = make_options("mqtt://127.0.0.1:1");  // nothing listens there
    Client client = make_client(options.get());
    ASSERT_TRUE(client);
    if (started) {
        ASSERT_EQ(tl_client_start(client.get()), TL_OK);
    }
    for (std::size_t i = 0; i < records.size(); ++i) {
        ASSERT_EQ(publish_recorded(client.get(), "pending/" + std::to_string(i), 1 + static_cast<int>(i % 2),
                                   records[i], nullptr),
                  TL_OK)
            << tl_last_error();
    }
    client.reset();
    for (std::size_t i = 0; i < records.size(); ++i) {
        SCOPED_TRACE("publish " + std::to_string(i));
        EXPECT_EQ(records[i].callbacks, 1);
        EXPECT_EQ(records[i].status, TL_ECANCELED);
        EXPECT_EQ(records[i].destroys, 1);
        EXPECT_TRUE(records[i].destroyed_after_callback);
    }
}

INSTANTIATE_TEST_SUITE_P(StartedOrNot, FreeCancels, ::testing::Bool());

// A message callback that publishes and subscribes through its own client.
struct Reentrant {
    tl_client* client = nullptr;
    Inbox* extra = nullptr;
    std::atomic<int> subscribe_status{1};
    std::atomic<int> publish_status{1};

    static void on_message(const tl_message* message, void* self_) {
        auto* self = static_cast<Reentrant*>(self_);
        const std::string reply = std::string("re:") + message->topic;
        self->publish_status = tl_client_publish(self->client, "reply/1", reply.data(), reply.size(), 1, 0,
                                                 nullptr, nullptr, nullptr, nullptr);
        self->subscribe_status =
            tl_client_subscribe(self->client, "extra/#", 1, Inbox::on_message, self->extra, nullptr, nullptr);
    }
};

TEST_F(Callbacks, MessageCallbackCallsBackIntoTheClient) {
    Inbox replies, extra;
    Reentrant reentrant;
    reentrant.extra = &extra;
    Client client = connect_client(broker_.uri());
    ASSERT_TRUE(client);
    reentrant.client = client.get();
    ASSERT_EQ(tl_client_subscribe(client.get(), "reply/#", 1, Inbox::on_message, &replies, nullptr, nullptr), TL_OK);
    ASSERT_EQ(tl_client_subscribe(client.get(), "in/#", 1, Reentrant::on_message, &reentrant, nullptr, nullptr),
              TL_OK);
    ASSERT_EQ(tl_client_publish_wait(client.get(), "in/x", "go", 2, 1, 0, 5000), TL_OK) << tl_last_error();

    ASSERT_TRUE(replies.wait_for(1));
    EXPECT_EQ(replies.payloads(), (Strings{"re:in/x"}));
    ASSERT_TRUE(eventually([&] { return reentrant.subscribe_status.load() != 1; }));
    EXPECT_EQ(reentrant.subscribe_status, TL_OK);
    EXPECT_EQ(reentrant.publish_status, TL_OK);
    ASSERT_EQ(tl_client_publish_wait(client.get(), "extra/1", "more", 4, 1, 0, 5000), TL_OK) << tl_last_error();
    ASSERT_TRUE(extra.wait_for(1));
    EXPECT_EQ(extra.payloads(), (Strings{"more"}));
}

struct Sleeper {
    std::atomic<bool> entered{false};
    std::atomic<bool> returned{false};
    static void on_message(const tl_message*, void* self_) {
        auto* self = static_cast<Sleeper*>(self_);
        self->entered = true;
        std::this_thread::sleep_for(500ms);
        self->returned = true;
    }
};

TEST_F(Callbacks, SleepingCallbackDoesNotStopTraffic) {
    Sleeper sleeper;
    Client client = connect_client(broker_.uri());
    ASSERT_TRUE(client);
    ASSERT_EQ(tl_client_subscribe(client.get(), "slow/#", 1, Sleeper::on_message, &sleeper, nullptr, nullptr), TL_OK);
    ASSERT_EQ(tl_client_publish(client.get(), "slow/1", "z", 1, 1, 0, nullptr, nullptr, nullptr, nullptr), TL_OK);
    ASSERT_TRUE(eventually([&] { return sleeper.entered.load(); }));

    tl_status status = TL_EINTERNAL;
    long long took_ms = -1;
    std::thread other([&] {
        const auto start = Clock::now();
        status = tl_client_publish_wait(client.get(), "fast/1", "f", 1, 1, 0, 5000);
        took_ms = elapsed_ms(start);
    });
    other.join();
    EXPECT_EQ(status, TL_OK) << tl_last_error();
    EXPECT_FALSE(sleeper.returned) << "publish_wait took " << took_ms << " ms: it waited for the sleeping callback";
    EXPECT_TRUE(eventually([&] { return sleeper.returned.load(); }));
}

// Frees its own client from inside a callback, once the test's tl_client_publish has returned:
// the callback can run before that, and freeing a client that another thread is still calling is
// the caller's bug (ThreadSanitizer saw the free race with publish's last unlock).
struct SelfFree {
    tl_client* client = nullptr;
    std::atomic<bool> published{false};
    std::atomic<bool> freed{false};
    std::atomic<int> destroys{0};
    void free_client() {
        eventually([&] { return published.load(); });
        tl_client_free(client);
        freed = true;
    }
    static void on_message(const tl_message*, void* self) { static_cast<SelfFree*>(self)->free_client(); }
    static void on_published(uint64_t, tl_status, void* self) { static_cast<SelfFree*>(self)->free_client(); }
    static void destroy(void* self) { static_cast<SelfFree*>(self)->destroys++; }
};

TEST_F(Callbacks, FreeFromMessageCallback) {
    SelfFree self_free;
    Client client = connect_client(broker_.uri());
    ASSERT_TRUE(client);
    self_free.client = client.get();
    ASSERT_EQ(tl_client_subscribe(client.get(), "bye/#", 1, SelfFree::on_message, &self_free, SelfFree::destroy,
                                  nullptr),
              TL_OK);
    ASSERT_EQ(tl_client_publish(client.get(), "bye/1", "b", 1, 1, 0, nullptr, nullptr, nullptr, nullptr), TL_OK);
    client.release();  // freed by the callback
    self_free.published = true;
    EXPECT_TRUE(eventually([&] { return self_free.freed.load(); }));
    EXPECT_TRUE(eventually([&] { return self_free.destroys.load() == 1; }));
}

TEST_F(Callbacks, FreeFromPublishCallback) {
    SelfFree self_free;
    Client client = connect_client(broker_.uri());
    ASSERT_TRUE(client);
    self_free.client = client.get();
    ASSERT_EQ(tl_client_publish(client.get(), "bye/2", "b", 1, 1, 0, SelfFree::on_published, &self_free,
                                SelfFree::destroy, nullptr),
              TL_OK);
    client.release();  // freed by the callback
    self_free.published = true;
    EXPECT_TRUE(eventually([&] { return self_free.freed.load(); }));
    EXPECT_TRUE(eventually([&] { return self_free.destroys.load() == 1; }));
}

}  // namespace
