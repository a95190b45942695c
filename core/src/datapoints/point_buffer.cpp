#include "datapoints/point_buffer.hpp"

#include "twinlink/datapoint.hpp"

namespace twinlink::detail {

std::uint32_t SeriesRegistry::id(std::string_view name) {
    if (!names_.empty() && name == last_name_) return last_id_;
    std::string key(name);
    auto it = ids_.find(key);
    if (it == ids_.end()) {
        validate_series_name(name);
        it = ids_.emplace(key, static_cast<std::uint32_t>(names_.size())).first;
        names_.push_back(key);
    }
    last_name_ = std::move(key);
    last_id_ = it->second;
    return last_id_;
}

}  // namespace twinlink::detail
