// Batch ids: UUIDv7 layout (RFC 9562), monotonicity in one process, uniqueness across threads.
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "twinlink/uuid7.hpp"

namespace {

std::uint64_t unix_ms_of(const std::string& id) {
    const std::string hex = id.substr(0, 8) + id.substr(9, 4);
    return std::stoull(hex, nullptr, 16);
}

std::uint64_t now_ms() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

TEST(Uuid7, CanonicalLowerCaseForm) {
    for (int i = 0; i < 1000; ++i) {
        const std::string id = twinlink::uuid7();
        ASSERT_EQ(id.size(), 36u) << id;
        for (std::size_t k = 0; k < id.size(); ++k) {
            if (k == 8 || k == 13 || k == 18 || k == 23) {
                ASSERT_EQ(id[k], '-') << id;
            } else {
                ASSERT_TRUE((id[k] >= '0' && id[k] <= '9') || (id[k] >= 'a' && id[k] <= 'f')) << id;
            }
        }
        ASSERT_EQ(id[14], '7') << "version nibble: " << id;
        ASSERT_NE(std::string("89ab").find(id[19]), std::string::npos) << "variant bits: " << id;
        ASSERT_TRUE(twinlink::is_uuid(id));
    }
}

TEST(Uuid7, CarriesTheCurrentTime) {
    const std::uint64_t before = now_ms();
    const std::string id = twinlink::uuid7();
    const std::uint64_t after = now_ms();
    // Earlier ids in this process may have pushed the timestamp a little ahead (never behind).
    EXPECT_GE(unix_ms_of(id), before);
    EXPECT_LE(unix_ms_of(id), after + 1000);
}

TEST(Uuid7, StrictlyIncreasingWithinAProcess) {
    std::string previous = twinlink::uuid7();
    for (int i = 0; i < 200000; ++i) {  // many per millisecond
        std::string id = twinlink::uuid7();
        ASSERT_LT(previous, id) << "after " << i;
        previous = std::move(id);
    }
}

TEST(Uuid7, UniqueAndIncreasingPerThreadAcrossThreads) {
    constexpr int kThreads = 4;
    constexpr int kEach = 25000;
    std::vector<std::vector<std::string>> ids(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&ids, t] {
            ids[t].reserve(kEach);
            for (int i = 0; i < kEach; ++i) ids[t].push_back(twinlink::uuid7());
        });
    for (auto& th : threads) th.join();
    std::set<std::string> all;
    for (const auto& v : ids) {
        for (std::size_t i = 1; i < v.size(); ++i) ASSERT_LT(v[i - 1], v[i]);
        all.insert(v.begin(), v.end());
    }
    EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kEach));
}

TEST(Uuid7, RandomBitsDiffer) {
    // The last 32 bits are random in every id, not only in a new millisecond.
    std::set<std::string> tails;
    for (int i = 0; i < 1000; ++i) tails.insert(twinlink::uuid7().substr(28));
    EXPECT_GT(tails.size(), 990u);
}

TEST(IsUuid, AcceptsTheCanonicalFormInEitherCase) {
    EXPECT_TRUE(twinlink::is_uuid("01936f1e-8a4b-7c3d-9e2f-0123456789ab"));
    EXPECT_TRUE(twinlink::is_uuid("01936F1E-8A4B-7C3D-9E2F-0123456789AB"));
    EXPECT_TRUE(twinlink::is_uuid("00000000-0000-0000-0000-000000000000"));
    EXPECT_TRUE(twinlink::is_uuid("123e4567-e89b-12d3-a456-426614174000"));  // version 1
}

TEST(IsUuid, RejectsEverythingElse) {
    for (const char* text : {"", "01936f1e8a4b7c3d9e2f0123456789ab", "01936f1e-8a4b-7c3d-9e2f-0123456789a",
                             "01936f1e-8a4b-7c3d-9e2f-0123456789abc", "01936f1e-8a4b-7c3d-9e2f_0123456789ab",
                             "01936f1g-8a4b-7c3d-9e2f-0123456789ab", "{01936f1e-8a4b-7c3d-9e2f-0123456789ab}",
                             " 1936f1e-8a4b-7c3d-9e2f-0123456789ab", "01936f1e-8a4b-7c3d-9e2f-0123456789a\n"})
        EXPECT_FALSE(twinlink::is_uuid(text)) << text;
}

}  // namespace
