// Publish and subscribe through the C API against a real broker.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "broker.hpp"
#include "support.hpp"

namespace {

using namespace tltest;

class PubSub : public ::testing::Test {
protected:
    void SetUp() override {
        client_ = connect_client(broker_.uri());
        ASSERT_TRUE(client_);
    }
    tl_client* client() { return client_.get(); }
    uint64_t subscribe(const char* filter, int qos, Inbox& inbox) {
        uint64_t id = 0;
        EXPECT_EQ(tl_client_subscribe(client(), filter, qos, Inbox::on_message, &inbox, Inbox::on_destroy, &id),
                  TL_OK)
            << tl_last_error();
        return id;
    }
    void publish(const char* topic, const std::string& payload, int qos = 1) {
        EXPECT_EQ(tl_client_publish_wait(client(), topic, payload.data(), payload.size(), qos, 0, 5000), TL_OK)
            << tl_last_error();
    }

    twinlink::testing::Broker broker_{twinlink::testing::Broker::Options{false}};
    Inbox inbox_a_, inbox_b_;  // outlive the client, whose subscriptions point at them
    Client client_;
};

class PubSubQos : public PubSub, public ::testing::WithParamInterface<int> {};

TEST_P(PubSubQos, RoundTrip) {
    const int qos = GetParam();
    subscribe("rt/#", qos, inbox_a_);
    const std::string binary("a\0b\xff", 4);
    publish("rt/one", "hello", qos);
    publish("rt/two", binary, qos);
    publish("rt/three", "", qos);
    ASSERT_TRUE(inbox_a_.wait_for(3));
    const auto messages = inbox_a_.messages();
    ASSERT_EQ(messages.size(), 3u);
    EXPECT_EQ(messages[0].topic, "rt/one");
    EXPECT_EQ(messages[0].payload, "hello");
    EXPECT_EQ(messages[1].payload, binary);
    EXPECT_EQ(messages[2].payload, "");
    for (const auto& m : messages) {
        EXPECT_EQ(m.qos, qos);
        EXPECT_FALSE(m.retained);
    }

    tl_client_stats stats{};
    stats.struct_size = sizeof stats;
    ASSERT_EQ(tl_client_get_stats(client(), &stats), TL_OK);
    EXPECT_EQ(stats.messages_out, 3u);
    EXPECT_EQ(stats.messages_in, 3u);
    EXPECT_EQ(stats.bytes_out, 9u);
    EXPECT_EQ(stats.connects, 1u);
}

INSTANTIATE_TEST_SUITE_P(Qos, PubSubQos, ::testing::Values(0, 1, 2));

TEST_F(PubSub, RetainedFlagReachesALateSubscriber) {
    const std::string payload = "kept";
    ASSERT_EQ(tl_client_publish_wait(client(), "ret/x", payload.data(), payload.size(), 1, 1, 5000), TL_OK)
        << tl_last_error();
    subscribe("ret/x", 1, inbox_a_);
    ASSERT_TRUE(inbox_a_.wait_for(1));
    EXPECT_TRUE(inbox_a_.messages()[0].retained);
}

TEST_F(PubSub, WildcardRouting) {
    subscribe("home/+/temp", 1, inbox_a_);
    subscribe("home/#", 1, inbox_b_);
    publish("home/kitchen/temp", "21");
    publish("home/kitchen/humidity", "40");
    publish("home/hall/temp/raw", "x");
    publish("garden/temp", "15");
    publish("home/hall/temp", "19");
    ASSERT_TRUE(inbox_b_.wait_for(4));
    ASSERT_TRUE(inbox_a_.wait_for(2));
    // A marker after the rest: once it is in, nothing else is on its way.
    publish("home/end/temp", "end");
    ASSERT_TRUE(inbox_a_.wait_for(3));
    ASSERT_TRUE(inbox_b_.wait_for(5));
    EXPECT_EQ(inbox_a_.payloads(), (Strings{"21", "19", "end"}));
    EXPECT_EQ(inbox_b_.payloads(), (Strings{"21", "40", "x", "19", "end"}));
}

TEST_F(PubSub, TwoSubscriptionsOfOneFilterBothReceive) {
    subscribe("same/topic", 1, inbox_a_);
    subscribe("same/topic", 0, inbox_b_);
    publish("same/topic", "both");
    ASSERT_TRUE(inbox_a_.wait_for(1));
    ASSERT_TRUE(inbox_b_.wait_for(1));
    EXPECT_EQ(inbox_a_.payloads(), (Strings{"both"}));
    EXPECT_EQ(inbox_b_.payloads(), (Strings{"both"}));
}

TEST_F(PubSub, UnsubscribeStopsDeliveryAndDestroysOnce) {
    const uint64_t gone = subscribe("unsub/#", 1, inbox_a_);
    subscribe("unsub/#", 1, inbox_b_);
    publish("unsub/1", "before");
    ASSERT_TRUE(inbox_a_.wait_for(1));
    ASSERT_TRUE(inbox_b_.wait_for(1));

    ASSERT_EQ(tl_client_unsubscribe(client(), gone), TL_OK) << tl_last_error();
    EXPECT_EQ(inbox_a_.destroys, 1);
    EXPECT_EQ(inbox_b_.destroys, 0);
    publish("unsub/2", "after");
    ASSERT_TRUE(inbox_b_.wait_for(2));
    EXPECT_EQ(inbox_a_.payloads(), (Strings{"before"}));
    EXPECT_EQ(inbox_b_.payloads(), (Strings{"before", "after"}));
    EXPECT_EQ(inbox_a_.destroys, 1);
}

TEST_F(PubSub, FreeDestroysSubscriptionUserData) {
    subscribe("free/#", 1, inbox_a_);
    subscribe("free/other", 1, inbox_b_);
    subscribe("free/#", 0, inbox_b_);
    client_.reset();
    EXPECT_EQ(inbox_a_.destroys, 1);
    EXPECT_EQ(inbox_b_.destroys, 2);
}

}  // namespace
