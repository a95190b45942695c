// output.hpp — strings handed to C through `char **out`: allocated with malloc so that tl_free()
// (free) releases them whatever allocator the C++ side uses.
#pragma once

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

namespace twinlink::capi {

/// Writes a malloc'd, NUL-terminated copy of `text` to `*out` (when `out` is not NULL).
inline void write_out(char** out, const std::string& text) {
    if (out == nullptr) return;
    char* copy = static_cast<char*>(std::malloc(text.size() + 1));
    if (copy == nullptr) throw std::bad_alloc();
    std::memcpy(copy, text.c_str(), text.size() + 1);
    *out = copy;
}

}  // namespace twinlink::capi
