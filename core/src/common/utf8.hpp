// is_utf8: the well-formedness check that MQTT topics and JSON strings both require.
#pragma once

#include <string_view>

namespace twinlink::detail {

/// True when `s` is well-formed UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_utf8(std::string_view s) noexcept;

}  // namespace twinlink::detail
