// json_nesting_exceeds: the nesting of JSON text, counted before parsing.
//
// nlohmann's parser is iterative, but copying, comparing and dumping a parsed value recurse once per
// level, as do merge_state and compute_delta: a payload of a few hundred thousand brackets would
// overflow the stack. Every shadow payload from the network or the disk is checked with this first.
#pragma once

#include <cstddef>
#include <string_view>

namespace twinlink::detail {

/// True when the nesting of objects and arrays in `text` exceeds `limit`. Brackets inside strings
/// do not count. Exact for valid JSON; for invalid JSON it still bounds whatever prefix the parser
/// would build before failing.
inline bool json_nesting_exceeds(std::string_view text, std::size_t limit) noexcept {
    std::size_t depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
            continue;
        }
        switch (c) {
            case '"': in_string = true; break;
            case '{':
            case '[':
                if (++depth > limit) return true;
                break;
            case '}':
            case ']':
                if (depth > 0) --depth;
                break;
            default: break;
        }
    }
    return false;
}

/// The deepest shadow message or file the device reads: the state's own limit (ShadowLimits::
/// max_depth, 8 by default) plus the levels of the message around it (documents.current.metadata.
/// desired ... timestamp), with room for services configured with larger limits.
inline constexpr std::size_t kMaxShadowMessageNesting = 64;

}  // namespace twinlink::detail
