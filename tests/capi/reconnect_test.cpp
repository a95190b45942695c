// Reconnection with an offline queue, and tl_client_free in every connection state.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "broker.hpp"
#include "support.hpp"

namespace {

using namespace tltest;

constexpr long long kFreeBoundMs = 2500;

void report_free_time(const char* what, long long ms) {
    std::printf("tl_client_free %s: %lld ms\n", what, ms);
    ::testing::Test::RecordProperty("free_ms", static_cast<int>(ms));
}

class Reconnect : public ::testing::Test {
protected:
    twinlink::testing::Broker broker_{twinlink::testing::Broker::Options{false}};
};

TEST_F(Reconnect, QueuedWhileDownDeliveredInOrderAfterRestart) {
    constexpr int kMessages = 100;
    Inbox inbox;
    ConnectionLog log;

    Client subscriber = connect_client(broker_.uri());
    ASSERT_TRUE(subscriber);
    ASSERT_EQ(tl_client_subscribe(subscriber.get(), "r/#", 1, Inbox::on_message, &inbox, nullptr, nullptr), TL_OK);

    // The publisher waits 3 s between attempts, so that once the broker is back the subscriber
    // (100..500 ms) is subscribed again before the queued messages go out.
    Options options = make_options(broker_.uri());
    ASSERT_EQ(tl_client_options_set_reconnect_backoff(options.get(), 3000, 3000), TL_OK);
    ASSERT_EQ(tl_client_options_set_connection_callback(options.get(), ConnectionLog::on_event, &log, nullptr), TL_OK);
    Client publisher = make_client(options.get());
    ASSERT_TRUE(publisher);
    ASSERT_EQ(tl_client_connect(publisher.get(), 5000), TL_OK) << tl_last_error();
    const int connected = log.wait_for(TL_STATE_CONNECTED);
    ASSERT_GE(connected, 0);

    broker_.kill();
    const int disconnected = log.wait_for(TL_STATE_DISCONNECTED, connected + 1);
    ASSERT_GE(disconnected, 0) << "no disconnected event after the broker was killed";
    const int lost = log.wait_for(TL_STATE_RECONNECTING, disconnected + 1);
    ASSERT_GE(lost, 0) << "no reconnecting event after the disconnected one";
    EXPECT_NE(tl_client_state(publisher.get()), TL_STATE_CONNECTED);
    for (int i = 0; i < kMessages; ++i) {
        const std::string payload = std::to_string(i);
        ASSERT_EQ(tl_client_publish(publisher.get(), "r/seq", payload.data(), payload.size(), 1, 0, nullptr, nullptr,
                                    nullptr, nullptr),
                  TL_OK)
            << tl_last_error();
    }
    tl_client_stats stats{};
    stats.struct_size = sizeof stats;
    ASSERT_EQ(tl_client_get_stats(publisher.get(), &stats), TL_OK);
    EXPECT_EQ(stats.queued_messages, static_cast<uint64_t>(kMessages));

    broker_.start();
    // The subscriber is back once a probe of its own comes through its renewed subscription.
    std::size_t seen = 0;
    const bool subscriber_back = eventually(
        [&] {
            if (inbox.size() > seen) return true;
            tl_client_publish(subscriber.get(), "r/probe", "probe", 5, 0, 0, nullptr, nullptr, nullptr, nullptr);
            seen = inbox.size();
            return inbox.wait_for(seen + 1, 200ms);
        },
        5000ms);
    ASSERT_TRUE(subscriber_back);
    ASSERT_NE(tl_client_state(publisher.get()), TL_STATE_CONNECTED)
        << "the publisher reconnected before the subscriber; the test cannot tell lost messages";

    ASSERT_TRUE(eventually(
        [&] {
            int count = 0;
            for (const auto& m : inbox.messages()) count += m.topic == "r/seq";
            return count >= kMessages;
        },
        15000ms));
    std::vector<std::string> received;
    for (const auto& m : inbox.messages())
        if (m.topic == "r/seq") received.push_back(m.payload);
    ASSERT_EQ(received.size(), static_cast<std::size_t>(kMessages));
    for (int i = 0; i < kMessages; ++i) EXPECT_EQ(received[i], std::to_string(i)) << "position " << i;

    EXPECT_GE(log.wait_for(TL_STATE_CONNECTED, lost + 1), 0) << "no connected event after reconnecting";
    const auto events = log.events();
    EXPECT_NE(events[disconnected].reason, TL_OK) << "the loss should carry its reason";
    std::string sequence;
    for (tl_connection_state s : log.states()) sequence += std::to_string(s) + " ";
    RecordProperty("states", sequence);
    std::printf("publisher states (0 disconnected, 1 connecting, 2 connected, 3 reconnecting): %s\n",
                sequence.c_str());
    for (const auto& e : log.events()) EXPECT_EQ(e.struct_size, sizeof(tl_connection_event));

    ASSERT_EQ(tl_client_get_stats(publisher.get(), &stats), TL_OK);
    EXPECT_EQ(stats.reconnects, 1u);
    EXPECT_EQ(stats.queued_messages, 0u);
    publisher.reset();
    subscriber.reset();
}

TEST_F(Reconnect, FreeWhileConnectedIsPrompt) {
    Inbox inbox;
    Client client = connect_client(broker_.uri());
    ASSERT_TRUE(client);
    ASSERT_EQ(tl_client_subscribe(client.get(), "busy/#", 1, Inbox::on_message, &inbox, nullptr, nullptr), TL_OK);
    for (int i = 0; i < 50; ++i) {
        tl_client_publish(client.get(), "busy/x", "data", 4, i % 3, 0, nullptr, nullptr, nullptr, nullptr);
    }
    const auto start = Clock::now();
    client.reset();
    const long long took = elapsed_ms(start);
    report_free_time("while connected", took);
    EXPECT_LT(took, kFreeBoundMs);
}

TEST_F(Reconnect, FreeWhileReconnectingIsPrompt) {
    Client client = connect_client(broker_.uri());
    ASSERT_TRUE(client);
    broker_.kill();
    ASSERT_TRUE(eventually([&] { return tl_client_state(client.get()) != TL_STATE_CONNECTED; }));
    for (int i = 0; i < 20; ++i) {
        tl_client_publish(client.get(), "down/x", "data", 4, 1, 0, nullptr, nullptr, nullptr, nullptr);
    }
    const auto start = Clock::now();
    client.reset();
    const long long took = elapsed_ms(start);
    report_free_time("while reconnecting", took);
    EXPECT_LT(took, kFreeBoundMs);
}

// A listener that accepts TCP connections and never answers, so a connect attempt hangs.
class SilentListener {
public:
    SilentListener() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
            ::listen(fd_, 16) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
            ADD_FAILURE() << "cannot listen on loopback";
            return;
        }
        port_ = ntohs(address.sin_port);
    }
    ~SilentListener() {
        if (fd_ >= 0) ::close(fd_);
    }
    std::string uri() const { return "mqtt://127.0.0.1:" + std::to_string(port_); }

private:
    int fd_ = -1;
    int port_ = 0;
};

TEST(FreeWhileConnecting, IsPromptWhenTheAttemptHangs) {
    SilentListener listener;
    Options options = make_options(listener.uri());
    ASSERT_EQ(tl_client_options_set_connect_timeout(options.get(), 30000), TL_OK);
    Client client = make_client(options.get());
    ASSERT_TRUE(client);
    ASSERT_EQ(tl_client_start(client.get()), TL_OK);
    ASSERT_TRUE(eventually([&] { return tl_client_state(client.get()) == TL_STATE_CONNECTING; }));
    std::this_thread::sleep_for(200ms);  // let the attempt reach the silent listener
    EXPECT_EQ(tl_client_state(client.get()), TL_STATE_CONNECTING);
    const auto start = Clock::now();
    client.reset();
    const long long took = elapsed_ms(start);
    report_free_time("during a hanging connect attempt", took);
    EXPECT_LT(took, kFreeBoundMs);
}

}  // namespace
