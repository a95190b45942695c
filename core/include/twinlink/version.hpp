// twinlink/version.hpp — the library version.
#pragma once

namespace twinlink {

/// "MAJOR.MINOR.PATCH" of the library that is running (not of the headers compiled against).
const char* version() noexcept;
/// MAJOR * 10000 + MINOR * 100 + PATCH.
int version_number() noexcept;

}  // namespace twinlink
