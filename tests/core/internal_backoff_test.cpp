// detail::ReconnectBackoff: exponential growth with full jitter between floor and ceiling.
#include <algorithm>
#include <chrono>
#include <set>

#include <gtest/gtest.h>

#include "mqtt/reconnect_backoff.hpp"

namespace {

using std::chrono::milliseconds;
using twinlink::detail::ReconnectBackoff;

TEST(InternalBackoff, FirstDelayIsTheFloor) {
    ReconnectBackoff b(milliseconds(250), milliseconds(10000));
    EXPECT_EQ(b.attempt(), 0u);
    EXPECT_EQ(b.next(), milliseconds(250));
    EXPECT_EQ(b.attempt(), 1u);
}

TEST(InternalBackoff, EachDelayStaysWithinItsDoublingWindow) {
    const milliseconds min(100), max(5000);
    ReconnectBackoff b(min, max);
    for (unsigned n = 0; n < 64; ++n) {
        const milliseconds upper =
            n >= 20 ? max : std::min<milliseconds>(max, min * (1LL << n));
        const auto d = b.next();
        EXPECT_GE(d, min) << "delay #" << n;
        EXPECT_LE(d, upper) << "delay #" << n;
    }
    EXPECT_EQ(b.attempt(), 64u);
}

TEST(InternalBackoff, JitterSpreadsDelaysUpToTheCeiling) {
    const milliseconds min(100), max(1000);
    ReconnectBackoff b(min, max);
    for (int i = 0; i < 10; ++i) b.next();  // reach the ceiling window
    std::set<long long> seen;
    milliseconds largest(0);
    for (int i = 0; i < 300; ++i) {
        const auto d = b.next();
        ASSERT_GE(d, min);
        ASSERT_LE(d, max);
        seen.insert(d.count());
        largest = std::max(largest, d);
    }
    EXPECT_GT(seen.size(), 20u) << "delays are not randomised";
    EXPECT_GT(largest, milliseconds(800)) << "delays never approach the ceiling";
}

TEST(InternalBackoff, ResetStartsOverAtTheFloor) {
    ReconnectBackoff b(milliseconds(50), milliseconds(800));
    for (int i = 0; i < 8; ++i) b.next();
    b.reset();
    EXPECT_EQ(b.attempt(), 0u);
    EXPECT_EQ(b.next(), milliseconds(50));
}

TEST(InternalBackoff, EqualFloorAndCeilingGiveAConstantDelay) {
    ReconnectBackoff b(milliseconds(300), milliseconds(300));
    for (int i = 0; i < 50; ++i) EXPECT_EQ(b.next(), milliseconds(300));
}

TEST(InternalBackoff, ManyAttemptsDoNotOverflow) {
    ReconnectBackoff b(milliseconds(1), milliseconds(30000));
    for (int i = 0; i < 10000; ++i) {
        const auto d = b.next();
        ASSERT_GE(d, milliseconds(1)) << "attempt " << i;
        ASSERT_LE(d, milliseconds(30000)) << "attempt " << i;
    }
}

}  // namespace
