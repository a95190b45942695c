// PointBuffer: points recorded and not yet handed to the batcher, stored flat so record() costs one
// vector append; SeriesRegistry: series names interned to small ids.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace twinlink::detail {

// Doubles and Ints are runs: the points of one record_many() call, kept as arrays (PointBuffer::runs)
// rather than one PendingPoint each.
enum class ValueKind : std::uint8_t { Double, Int, Bool, String, Object, Doubles, Ints };

struct PendingPoint {
    std::uint32_t series;
    ValueKind kind;
    std::int64_t timestamp_ms;
    union {
        double d;
        std::int64_t i;
        bool b;
        std::uint32_t ref;  // index into PointBuffer::strings, ::objects or ::runs
    };
};

/// The points of one record_many() call: copies of its values (doubles or ints) and timestamps.
struct PointRun {
    std::vector<double> doubles;
    std::vector<std::int64_t> ints;
    std::vector<std::int64_t> stamps;
    std::size_t count() const noexcept { return stamps.size(); }
};

/// Points in chunks of kChunkPoints: appending never moves the points already there, and clear()
/// keeps up to kKeptChunks chunks for reuse, so a recorder that runs ahead of the batcher neither
/// copies its backlog of points as a vector would when it grows, nor takes fresh pages from the
/// kernel for every burst.
struct PointBuffer {
    static constexpr std::size_t kChunkPoints = 8192;
    static constexpr std::size_t kKeptChunks = 64;  // 64 x 8192 x 24 bytes = 12 MiB at most

    // Runs are kept for reuse by clear() (their arrays keep their capacity), up to this many,
    // each up to kKeptRunPoints.
    static constexpr std::size_t kKeptRuns = 256;
    static constexpr std::size_t kKeptRunPoints = 65536;

    std::vector<std::string> strings;
    std::vector<nlohmann::json> objects;
    std::vector<PointRun> runs;
    std::chrono::steady_clock::time_point first_at;  // when the first point was recorded

    bool empty() const noexcept { return count_ == 0; }
    std::size_t size() const noexcept { return count_; }

    void push_back(const PendingPoint& p) {
        if (used_ == 0 || chunks_[used_ - 1].size() == kChunkPoints) next_chunk();
        chunks_[used_ - 1].push_back(p);
        ++count_;
    }

    /// Appends `count` points of series `series` as one run: copies of `values` and of
    /// `timestamps` (or `now` for each when it is null).
    template <class T>
    void push_run(std::uint32_t series, const T* values, const std::int64_t* timestamps, std::int64_t now,
                  std::size_t count) {
        static_assert(std::is_same_v<T, double> || std::is_same_v<T, std::int64_t>);
        PointRun& run = runs.emplace_back(take_spare_run());
        if constexpr (std::is_same_v<T, double>) run.doubles.assign(values, values + count);
        else run.ints.assign(values, values + count);
        if (timestamps) run.stamps.assign(timestamps, timestamps + count);
        else run.stamps.assign(count, now);
        PendingPoint p;
        p.series = series;
        p.kind = std::is_same_v<T, double> ? ValueKind::Doubles : ValueKind::Ints;
        p.timestamp_ms = 0;
        p.ref = static_cast<std::uint32_t>(runs.size() - 1);
        if (used_ == 0 || chunks_[used_ - 1].size() == kChunkPoints) next_chunk();
        chunks_[used_ - 1].push_back(p);
        count_ += count;
    }

    /// Calls f(point) for every point, in the order they were added.
    template <class F>
    void for_each(F&& f) const {
        for (std::size_t c = 0; c < used_; ++c)
            for (const PendingPoint& p : chunks_[c]) f(p);
    }

    void clear() noexcept {
        for (std::size_t c = 0; c < used_; ++c) chunks_[c].clear();
        if (chunks_.size() > kKeptChunks) chunks_.resize(kKeptChunks);
        used_ = 0;
        count_ = 0;
        strings.clear();
        objects.clear();
        for (PointRun& run : runs) {
            if (spare_runs_.size() >= kKeptRuns || run.doubles.capacity() > kKeptRunPoints ||
                run.ints.capacity() > kKeptRunPoints || run.stamps.capacity() > kKeptRunPoints)
                continue;
            run.doubles.clear();
            run.ints.clear();
            run.stamps.clear();
            spare_runs_.push_back(std::move(run));
        }
        runs.clear();
    }

private:
    PointRun take_spare_run() {
        if (spare_runs_.empty()) return PointRun{};
        PointRun run = std::move(spare_runs_.back());
        spare_runs_.pop_back();
        return run;
    }

    void next_chunk() {
        if (used_ == chunks_.size()) chunks_.emplace_back().reserve(kChunkPoints);
        ++used_;
    }

    std::vector<std::vector<PendingPoint>> chunks_;  // [0, used_) in use, the rest empty spares
    std::size_t used_ = 0;
    std::size_t count_ = 0;
    std::vector<PointRun> spare_runs_;
};

/// Not thread-safe; the recorder's mutex guards it.
class SeriesRegistry {
public:
    /// The id of `name`, registering (and validating) it the first time it is seen.
    std::uint32_t id(std::string_view name);
    const std::string& name(std::uint32_t id) const { return names_[id]; }
    std::size_t size() const noexcept { return names_.size(); }

private:
    std::unordered_map<std::string, std::uint32_t> ids_;
    std::vector<std::string> names_;
    std::string last_name_;  // most recording loops repeat one series: skip the hash then
    std::uint32_t last_id_ = 0;
};

}  // namespace twinlink::detail
