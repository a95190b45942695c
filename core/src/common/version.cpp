#include "twinlink/version.hpp"

namespace twinlink {

const char* version() noexcept { return TWINLINK_VERSION_STRING; }
int version_number() noexcept { return TWINLINK_VERSION_NUMBER; }

}  // namespace twinlink
