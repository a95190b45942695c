// Many connect/disconnect cycles through the C API: each finishes, and memory does not grow.
// Under valgrind (label `valgrind`) and AddressSanitizer it runs fewer cycles and leaves the leak
// verdict to valgrind or LeakSanitizer, since RSS says nothing there. TWINLINK_TEST_CYCLES
// overrides the count; the RSS check needs at least 1000 cycles.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "broker.hpp"
#include "support.hpp"

namespace {

using namespace tltest;

constexpr int kDefaultCycles = 1000;
constexpr int kValgrindCycles = 200;
constexpr int kWarmupCycles = 100;
constexpr long kMaxGrowthKib = 4 * 1024;

bool under_valgrind() {
    const char* preload = std::getenv("LD_PRELOAD");
    return preload != nullptr && std::strstr(preload, "vgpreload") != nullptr;
}

// AddressSanitizer keeps freed memory in quarantine (256 MiB by default) and every allocation
// larger, so RSS says nothing there either; LeakSanitizer gives the verdict (make test-sanitize).
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kUnderAsan = true;
#else
constexpr bool kUnderAsan = false;
#endif

bool rss_says_nothing() { return under_valgrind() || kUnderAsan; }

int cycles() {
    const int fallback = rss_says_nothing() ? kValgrindCycles : kDefaultCycles;
    const char* text = std::getenv("TWINLINK_TEST_CYCLES");
    const int count = text != nullptr ? std::atoi(text) : fallback;
    return count > 0 ? count : fallback;
}

TEST(Cycles, ConnectDisconnectDoesNotLeak) {
    twinlink::testing::Broker broker{twinlink::testing::Broker::Options{false}};
    Options options = make_options(broker.uri());
    ASSERT_TRUE(options);
    const int count = cycles();
    long rss_after_warmup = 0;
    const auto start = Clock::now();
    for (int i = 1; i <= count; ++i) {
        Client client = make_client(options.get());
        ASSERT_TRUE(client) << "cycle " << i;
        ASSERT_EQ(tl_client_connect(client.get(), 5000), TL_OK) << "cycle " << i << ": " << tl_last_error();
        ASSERT_EQ(tl_client_publish_wait(client.get(), "cycle/x", "c", 1, 1, 0, 5000), TL_OK)
            << "cycle " << i << ": " << tl_last_error();
        ASSERT_EQ(tl_client_disconnect(client.get(), 1000), TL_OK) << "cycle " << i << ": " << tl_last_error();
        if (i == std::min(count, kWarmupCycles)) rss_after_warmup = rss_kib();
    }
    const long rss_end = rss_kib();
    const long long took = elapsed_ms(start);
    std::printf("%d cycles in %lld ms; VmRSS after cycle %d: %ld KiB, after cycle %d: %ld KiB (%+ld KiB)\n", count,
                took, std::min(count, kWarmupCycles), rss_after_warmup, count, rss_end, rss_end - rss_after_warmup);
    RecordProperty("rss_after_warmup_kib", static_cast<int>(rss_after_warmup));
    RecordProperty("rss_end_kib", static_cast<int>(rss_end));
    if (count >= kDefaultCycles && !rss_says_nothing()) {
        ASSERT_GT(rss_after_warmup, 0);
        EXPECT_LT(rss_end - rss_after_warmup, kMaxGrowthKib);
    }
}

}  // namespace
