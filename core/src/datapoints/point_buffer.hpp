// PointBuffer: points recorded and not yet handed to the batcher, stored flat so record() costs one
// vector append; SeriesRegistry: series names interned to small ids.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "datapoints/recent_names.hpp"

namespace twinlink::detail {

// Doubles and Ints are runs: points of one series kept as arrays (PointBuffer::runs) rather than one
// PendingPoint each: the points of one record_many() call, or consecutive record() calls of numbers.
enum class ValueKind : std::uint8_t { Bool, String, Object, Doubles, Ints };

struct PendingPoint {
    std::uint32_t series;
    ValueKind kind;
    std::int64_t timestamp_ms;
    union {
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
/// keeps a few chunks and runs for reuse, so a recorder that runs ahead of the batcher neither
/// copies its backlog of points as a vector would when it grows, nor takes fresh pages from the
/// kernel for every burst. What clear() keeps is bounded in bytes: a pipeline has two of these
/// (the points being recorded and those being batched) for its whole life, so a burst must not
/// leave its memory behind.
struct PointBuffer {
    static constexpr std::size_t kChunkPoints = 8192;
    static constexpr std::size_t kKeptChunks = 4;  // 4 x 8192 x 24 bytes = 768 KiB at most

    // Runs are kept for reuse by clear() (their arrays keep their capacity), up to this many,
    // each up to kKeptRunPoints, and up to kKeptRunBytes of arrays in all: room for 65,536
    // numbers and their timestamps, about what a recorder runs ahead of the batcher when the two
    // share one core (docs/performance.md, "The record path").
    static constexpr std::size_t kKeptRuns = 256;
    static constexpr std::size_t kKeptRunPoints = 65536;
    static constexpr std::size_t kKeptRunBytes = 1u << 20;

    std::vector<std::string> strings;
    std::vector<nlohmann::json> objects;
    std::vector<PointRun> runs;
    std::chrono::steady_clock::time_point first_at;  // when the first point was recorded

    bool empty() const noexcept { return count_ == 0; }
    std::size_t size() const noexcept { return count_; }

    void push_back(const PendingPoint& p) {
        close_open_run(p.series);  // later points of the series come after this one
        if (used_ == 0 || chunks_[used_ - 1].size() == kChunkPoints) next_chunk();
        chunks_[used_ - 1].push_back(p);
        ++count_;
    }

    /// Appends one double (or int64) point: to the run that this buffer keeps open for the series
    /// while its points are of that type and nothing else of the series came after it, else to a
    /// new run. So record() of numbers costs two array appends, and the batcher encodes them as
    /// runs, a series at a time; the points of a series stay in the order they were recorded.
    template <class T>
    void push_point(std::uint32_t series, T value, std::int64_t timestamp) {
        static_assert(std::is_same_v<T, double> || std::is_same_v<T, std::int64_t>);
        constexpr ValueKind kind = std::is_same_v<T, double> ? ValueKind::Doubles : ValueKind::Ints;
        if (series >= open_runs_.size()) open_runs_.resize(series + 1);
        OpenRun& open = open_runs_[series];
        if (open.run == kNoRun || open.kind != kind || runs[open.run].count() >= kOpenRunPoints) {
            open.run = add_run_entry(series, kind);
            open.kind = kind;
        }
        PointRun& run = runs[open.run];
        if constexpr (std::is_same_v<T, double>) run.doubles.push_back(value);
        else run.ints.push_back(value);
        run.stamps.push_back(timestamp);
        ++count_;
    }

    /// Appends `count` points of series `series` as one run: copies of `values` and of
    /// `timestamps` (or `now` for each when it is null).
    template <class T>
    void push_run(std::uint32_t series, const T* values, const std::int64_t* timestamps, std::int64_t now,
                  std::size_t count) {
        static_assert(std::is_same_v<T, double> || std::is_same_v<T, std::int64_t>);
        close_open_run(series);
        PointRun& run = runs[add_run_entry(series, std::is_same_v<T, double> ? ValueKind::Doubles : ValueKind::Ints)];
        if constexpr (std::is_same_v<T, double>) run.doubles.assign(values, values + count);
        else run.ints.assign(values, values + count);
        if (timestamps) run.stamps.assign(timestamps, timestamps + count);
        else run.stamps.assign(count, now);
        count_ += count;
    }

    /// Calls f(point) for every point, in the order they were added.
    template <class F>
    void for_each(F&& f) const {
        for (std::size_t c = 0; c < used_; ++c)
            for (const PendingPoint& p : chunks_[c]) f(p);
    }

    void clear() noexcept {
        for (OpenRun& open : open_runs_) open.run = kNoRun;
        for (std::size_t c = 0; c < used_; ++c) chunks_[c].clear();
        if (chunks_.size() > kKeptChunks) chunks_.resize(kKeptChunks);
        used_ = 0;
        count_ = 0;
        strings.clear();
        objects.clear();
        for (PointRun& run : runs) {
            const std::size_t bytes = capacity_bytes(run);
            if (spare_runs_.size() >= kKeptRuns || run.doubles.capacity() > kKeptRunPoints ||
                run.ints.capacity() > kKeptRunPoints || run.stamps.capacity() > kKeptRunPoints ||
                spare_bytes_ + bytes > kKeptRunBytes)
                continue;
            run.doubles.clear();
            run.ints.clear();
            run.stamps.clear();
            spare_bytes_ += bytes;
            spare_runs_.push_back(std::move(run));
        }
        runs.clear();
    }

    /// Bytes of the arrays that clear() kept for reuse (runs' capacity and empty chunks).
    std::size_t spare_bytes() const noexcept {
        return spare_bytes_ + (chunks_.size() - used_) * kChunkPoints * sizeof(PendingPoint);
    }

private:
    static constexpr std::uint32_t kNoRun = UINT32_MAX;
    // push_point() starts a new run after this many points, so that runs stay small enough for
    // clear() to keep them for reuse.
    static constexpr std::size_t kOpenRunPoints = 8192;
    static_assert(kOpenRunPoints <= kKeptRunPoints);

    struct OpenRun {
        std::uint32_t run = kNoRun;  // index into runs
        ValueKind kind = ValueKind::Doubles;
    };

    void close_open_run(std::uint32_t series) noexcept {
        if (series < open_runs_.size()) open_runs_[series].run = kNoRun;
    }

    // Adds an empty run of `series` and its entry among the points; returns its index in runs.
    std::uint32_t add_run_entry(std::uint32_t series, ValueKind kind) {
        runs.emplace_back(take_spare_run());
        PendingPoint p;
        p.series = series;
        p.kind = kind;
        p.timestamp_ms = 0;
        p.ref = static_cast<std::uint32_t>(runs.size() - 1);
        if (used_ == 0 || chunks_[used_ - 1].size() == kChunkPoints) next_chunk();
        chunks_[used_ - 1].push_back(p);
        return p.ref;
    }

    static std::size_t capacity_bytes(const PointRun& run) noexcept {
        return run.doubles.capacity() * sizeof(double) + run.ints.capacity() * sizeof(std::int64_t) +
               run.stamps.capacity() * sizeof(std::int64_t);
    }

    PointRun take_spare_run() {
        if (spare_runs_.empty()) return PointRun{};
        PointRun run = std::move(spare_runs_.back());
        spare_runs_.pop_back();
        spare_bytes_ -= capacity_bytes(run);
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
    std::size_t spare_bytes_ = 0;     // capacity_bytes() of spare_runs_
    std::vector<OpenRun> open_runs_;  // by series id
};

/// Not thread-safe; the recorder's mutex guards it.
class SeriesRegistry {
public:
    /// The id of `name`, registering (and validating) it the first time it is seen.
    std::uint32_t id(std::string_view name) {
        const std::size_t slot = RecentNames<std::uint32_t>::slot_of(name);
        const std::uint32_t cached = recent_.find(name, slot, kNone, [this](std::uint32_t id) {
            return std::string_view(names_[id]);
        });
        return cached != kNone ? cached : lookup(name, slot);
    }
    const std::string& name(std::uint32_t id) const { return names_[id]; }
    std::size_t size() const noexcept { return names_.size(); }

private:
    static constexpr std::uint32_t kNone = UINT32_MAX;
    std::uint32_t lookup(std::string_view name, std::size_t slot);

    std::unordered_map<std::string_view, std::uint32_t> ids_;  // views of names_
    std::deque<std::string> names_;                             // by id; a deque never moves them
    RecentNames<std::uint32_t> recent_;
};

}  // namespace twinlink::detail
