#include "datapoints/point_buffer.hpp"

#include "twinlink/datapoint.hpp"

namespace twinlink::detail {

std::uint32_t SeriesRegistry::lookup(std::string_view name, std::size_t slot) {
    auto it = ids_.find(name);
    if (it == ids_.end()) {
        validate_series_name(name);
        const auto id = static_cast<std::uint32_t>(names_.size());
        names_.emplace_back(name);
        it = ids_.emplace(std::string_view(names_.back()), id).first;
    }
    recent_.put(slot, it->second);
    return it->second;
}

}  // namespace twinlink::detail
