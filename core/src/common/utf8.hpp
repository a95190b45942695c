// is_utf8: the well-formedness check that MQTT topics and JSON strings both require.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace twinlink::detail {

/// True when `s` is well-formed UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_utf8(std::string_view s) noexcept;

/// Length of the well-formed UTF-8 sequence starting at s[i], with its code point in `cp`; 0 when
/// the bytes there are not well-formed.
std::size_t utf8_sequence(std::string_view s, std::size_t i, std::uint32_t& cp) noexcept;

}  // namespace twinlink::detail
