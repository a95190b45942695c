// WallClock (the recorder's timestamps from the CPU's counter) against the system clock, and the
// RecentNames cache in front of series-name lookups.
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/wall_clock.hpp"
#include "datapoints/recent_names.hpp"

namespace {

using twinlink::detail::RecentNames;
using twinlink::detail::WallClock;

std::int64_t system_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Every reading lies between the system clock read just before and just after it (1 ms of slack
// for the rounding of the rate), through calibration, re-anchoring and sleeps, over 300 ms.
void expect_tracks_system_clock(WallClock& clock) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
    std::size_t reads = 0;
    while (std::chrono::steady_clock::now() < end) {
        for (int i = 0; i < 1000; ++i) {
            const std::int64_t before = system_ms();
            const std::int64_t t = clock.now_ms();
            const std::int64_t after = system_ms();
            ASSERT_GE(t, before - 1) << "after " << reads << " reads";
            ASSERT_LE(t, after + 1) << "after " << reads << " reads";
            ++reads;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(reads % 3));
    }
    EXPECT_GT(reads, 1000u);
}

TEST(InternalWallClock, TheCounterFollowsTheSystemClock) {
    if (!WallClock::counter_available()) GTEST_SKIP() << "no usable counter here: the system clock is used";
    WallClock clock;
    expect_tracks_system_clock(clock);
}

TEST(InternalWallClock, WithoutTheCounterItIsTheSystemClock) {
    WallClock clock(false);
    expect_tracks_system_clock(clock);
}

TEST(InternalWallClock, AnIdleClockIsReanchoredOnItsNextReading) {
    WallClock clock;
    (void)clock.now_ms();
    std::this_thread::sleep_for(std::chrono::milliseconds(WallClock::kAnchorIntervalNs / 1'000'000 * 2));
    const std::int64_t before = system_ms();
    const std::int64_t t = clock.now_ms();
    EXPECT_GE(t, before - 1);
    EXPECT_LE(t, system_ms() + 1);
}

struct Named {
    std::string name;
};

std::string_view name_of(const Named* n) { return n->name; }

TEST(InternalRecentNames, FindsWhatWasPutAndNothingElse) {
    using Cache = RecentNames<const Named*, 8>;
    Cache cache;
    std::vector<Named> names;
    for (const char* s : {"", "a", "ab", "abc", "temp", "temp1", "temperature", "humidity.relative.percent",
                          "temperature.outside", "temperature.inside"})
        names.push_back(Named{s});
    for (const Named& n : names) {
        const std::size_t slot = Cache::slot_of(n.name);
        EXPECT_LT(slot, 8u);
        EXPECT_EQ(slot, Cache::slot_of(std::string(n.name)));  // by content
        cache.put(slot, &n);
        EXPECT_EQ(cache.find(n.name, slot, nullptr, name_of), &n);
    }
    // With ten names in eight slots some were evicted; whatever a slot returns is the name asked.
    for (const Named& n : names) {
        const std::size_t slot = Cache::slot_of(n.name);
        const Named* found = cache.find(n.name, slot, nullptr, name_of);
        if (found) {
            EXPECT_EQ(found->name, n.name);
        }
    }
    // Names of the same length that share their first and last 8 bytes share a slot, and are told apart.
    const Named x{"temperat_x_e.inside"}, y{"temperat_y_e.inside"};
    const std::size_t slot = Cache::slot_of(x.name);
    ASSERT_EQ(slot, Cache::slot_of(y.name));
    cache.put(slot, &x);
    EXPECT_EQ(cache.find(y.name, slot, nullptr, name_of), nullptr);
    cache.clear();
    EXPECT_EQ(cache.find(x.name, slot, nullptr, name_of), nullptr);
}

}  // namespace
