// PointBuffer: the points waiting for the batcher. What clear() keeps for reuse is bounded in
// bytes, whatever the burst that came before: a pipeline keeps two buffers for its whole life.
#include <gtest/gtest.h>

#include <vector>

#include "datapoints/point_buffer.hpp"

using twinlink::detail::PointBuffer;

namespace {

TEST(PointBuffer, ClearKeepsBoundedSpareMemoryAfterABurstOfRuns) {
    PointBuffer b;
    const std::vector<double> values(10000, 1.5);
    // 3,000,000 points in runs of 10,000 (as record_many() of 10,000 values makes them): 48 MB.
    for (int k = 0; k < 300; ++k) b.push_run<double>(std::uint32_t(k % 4), values.data(), nullptr, 1, values.size());
    EXPECT_EQ(b.size(), 3000000u);
    b.clear();
    EXPECT_TRUE(b.empty());
    EXPECT_LE(b.spare_bytes(), PointBuffer::kKeptRunBytes + PointBuffer::kKeptChunks * PointBuffer::kChunkPoints *
                                                                 sizeof(twinlink::detail::PendingPoint));
    EXPECT_GT(b.spare_bytes(), 0u);  // some are kept: the next burst reuses them
}

TEST(PointBuffer, ClearKeepsBoundedSpareMemoryAfterABurstOfSinglePoints) {
    PointBuffer b;
    // As record() makes them: one open run per series, a new one every 8,192 points.
    for (std::int64_t i = 0; i < 2000000; ++i) b.push_point<double>(std::uint32_t(i % 4), 20.0, i);
    twinlink::detail::PendingPoint p{};
    p.kind = twinlink::detail::ValueKind::Bool;
    for (int i = 0; i < 100000; ++i) b.push_back(p);  // entries of their own: 13 chunks
    b.clear();
    EXPECT_LE(b.spare_bytes(), PointBuffer::kKeptRunBytes + PointBuffer::kKeptChunks * PointBuffer::kChunkPoints *
                                                                 sizeof(twinlink::detail::PendingPoint));
}

TEST(PointBuffer, SpareRunsAreReusedAndPointsStayInOrder) {
    PointBuffer b;
    for (int round = 0; round < 3; ++round) {
        for (std::int64_t i = 0; i < 20000; ++i) b.push_point<double>(0, double(i), i);
        std::int64_t expected = 0;
        b.for_each([&](const twinlink::detail::PendingPoint& p) {
            const auto& run = b.runs[p.ref];
            for (std::size_t k = 0; k < run.count(); ++k) {
                EXPECT_EQ(run.stamps[k], expected);
                EXPECT_EQ(run.doubles[k], double(expected));
                ++expected;
            }
        });
        EXPECT_EQ(expected, 20000);
        b.clear();
        EXPECT_LE(b.spare_bytes(), PointBuffer::kKeptRunBytes + PointBuffer::kKeptChunks * PointBuffer::kChunkPoints *
                                                                     sizeof(twinlink::detail::PendingPoint));
    }
}

}  // namespace
