// Repeated connect/disconnect and create/destroy cycles must not leak: resident memory after
// the warm-up cycles stays flat. Built as its own executable so it can run alone under valgrind
// or AddressSanitizer.
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "broker.hpp"
#include "test_util.hpp"
#include "twinlink/client.hpp"

namespace {

using namespace tltest;
using twinlink::Client;
using twinlink::ClientOptions;
using twinlink::testing::Broker;

constexpr long kMaxGrowthKib = 4 * 1024;

// TWINLINK_TEST_CYCLES=N runs N connect/disconnect cycles (N/5 create/destroy cycles) instead of
// 1000 (200), for a quicker look or a run under valgrind. The warm-up is a tenth of the cycles.
int cycles(int default_count, int divisor) {
    if (const char* env = std::getenv("TWINLINK_TEST_CYCLES")) {
        const int n = std::atoi(env) / divisor;
        if (n >= 10) return n;
    }
    return default_count;
}

Broker::Options plain() {
    Broker::Options o;
    o.tls = false;
    return o;
}

void report(const char* what, int warm, long rss_warm, int total, long rss_total) {
    std::cout << "[ rss      ] " << what << ": VmRSS " << rss_warm << " KiB after " << warm
              << " cycles, " << rss_total << " KiB after " << total << " (growth "
              << rss_total - rss_warm << " KiB)" << std::endl;
    ::testing::Test::RecordProperty("rss_kib_warm", std::to_string(rss_warm));
    ::testing::Test::RecordProperty("rss_kib_end", std::to_string(rss_total));
}

TEST(Cycles, ConnectDisconnectOnOneClient) {
    Broker broker(plain());
    ClientOptions o = options_for(broker.uri());
    Client client(o);
    const int total = cycles(1000, 1), warm = total / 10;
    long rss_warm = -1;
    const auto start = Clock::now();
    for (int i = 1; i <= total; ++i) {
        client.connect(kLong);
        ASSERT_TRUE(client.connected()) << "cycle " << i;
        client.disconnect(kLong);
        ASSERT_FALSE(client.connected()) << "cycle " << i;
        if (i == warm) rss_warm = rss_kib();
    }
    const long rss_total = rss_kib();
    std::cout << "[ time     ] " << total << " connect/disconnect cycles in "
              << elapsed_since(start).count() << " ms" << std::endl;
    report("connect/disconnect", warm, rss_warm, total, rss_total);
    ASSERT_GT(rss_warm, 0);
    EXPECT_LT(rss_total - rss_warm, kMaxGrowthKib);
    EXPECT_EQ(client.stats().connects, static_cast<std::uint64_t>(total));
}

TEST(Cycles, CreateConnectDestroy) {
    Broker broker(plain());
    const int total = cycles(200, 5), warm = total / 10;
    long rss_warm = -1;
    const auto start = Clock::now();
    for (int i = 1; i <= total; ++i) {
        ClientOptions o = options_for(broker.uri());
        Inbox inbox;
        auto client = std::make_unique<Client>(o);
        client->connect(kLong);
        client->subscribe(test_topic(), 1, inbox.handler());
        client->publish_wait(test_topic(), "cycle " + std::to_string(i), 1, false, kLong);
        ASSERT_TRUE(inbox.wait_count(1)) << "cycle " << i;
        client.reset();
        if (i == warm) rss_warm = rss_kib();
    }
    const long rss_total = rss_kib();
    std::cout << "[ time     ] " << total << " create/connect/destroy cycles in "
              << elapsed_since(start).count() << " ms" << std::endl;
    report("create/destroy", warm, rss_warm, total, rss_total);
    ASSERT_GT(rss_warm, 0);
    EXPECT_LT(rss_total - rss_warm, kMaxGrowthKib);
}

}  // namespace
