// PointBuffer: points recorded and not yet handed to the batcher, stored flat so record() costs one
// vector append; SeriesRegistry: series names interned to small ids.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace twinlink::detail {

enum class ValueKind : std::uint8_t { Double, Int, Bool, String, Object };

struct PendingPoint {
    std::uint32_t series;
    ValueKind kind;
    std::int64_t timestamp_ms;
    union {
        double d;
        std::int64_t i;
        bool b;
        std::uint32_t ref;  // index into PointBuffer::strings or ::objects
    };
};

struct PointBuffer {
    std::vector<PendingPoint> points;
    std::vector<std::string> strings;
    std::vector<nlohmann::json> objects;
    std::chrono::steady_clock::time_point first_at;  // when the first of `points` was recorded

    bool empty() const noexcept { return points.empty(); }
    std::size_t size() const noexcept { return points.size(); }
    void clear() noexcept {
        points.clear();
        strings.clear();
        objects.clear();
    }
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
