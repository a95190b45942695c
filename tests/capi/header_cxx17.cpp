// Compiles the public header as strict C++17 (built, not run).
#include "twinlink.h"

int twinlink_header_cxx17_compiles() { return TL_VERSION_NUMBER; }
