// version.cpp — tl_version(), tl_version_number().
#include "twinlink.h"
#include "twinlink/version.hpp"

extern "C" {

const char* tl_version(void) { return twinlink::version(); }

int tl_version_number(void) { return twinlink::version_number(); }

}
