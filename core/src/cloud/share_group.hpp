// MQTT 5 shared subscriptions ("$share/{group}/{filter}"): the broker gives each message of the
// filter to one subscriber of the group, which is how several `twinlink serve` instances split the
// requests and batches of a fleet.
#pragma once

#include <string>
#include <string_view>

#include "twinlink/status.hpp"

namespace twinlink::detail {

/// MQTT 5 (4.8.2): a share name is at least one character and holds no '/', '+' or '#'.
inline void validate_share_group(std::string_view group) {
    if (group.empty() || group.find_first_of("/+#") != std::string_view::npos)
        throw Error(Status::InvalidArgument, "share group '" + std::string(group) +
                                                 "' is not valid: it must be one or more characters without "
                                                 "'/', '+' or '#'");
}

/// `filter` as the group's shared subscription, or unchanged for no group.
inline std::string shared_filter(std::string_view group, std::string_view filter) {
    if (group.empty()) return std::string(filter);
    validate_share_group(group);
    return "$share/" + std::string(group) + "/" + std::string(filter);
}

}  // namespace twinlink::detail
