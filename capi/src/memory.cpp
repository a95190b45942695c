// memory.cpp — tl_free: the one way to release what twinlink returned through `char **out`.
#include <cstdlib>

#include "twinlink.h"

extern "C" void tl_free(void* pointer) { std::free(pointer); }
