// twinlink/topic.hpp — MQTT topic names and topic filters.
#pragma once

#include <string_view>

namespace twinlink {

/// Throws Error(InvalidArgument) unless `name` is a valid topic name to publish to:
/// 1..65535 bytes of UTF-8, no NUL, no '+' or '#'.
void validate_topic_name(std::string_view name);

/// Throws Error(InvalidArgument) unless `filter` is a valid subscription filter:
/// 1..65535 bytes of UTF-8, no NUL, '+' only as a whole level, '#' only as the whole last level.
void validate_topic_filter(std::string_view filter);

/// True when `topic` matches `filter` (MQTT 3.1.1 section 4.7): '+' matches one level, '#' the
/// rest; a filter starting with a wildcard does not match a topic starting with '$'.
/// Both arguments are assumed valid.
bool topic_matches(std::string_view filter, std::string_view topic) noexcept;

}  // namespace twinlink
