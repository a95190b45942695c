// FUZZ_CHECK: an invariant of a fuzz target. A broken one aborts, which libFuzzer reports as a
// crash (and saves the input) and which fails the corpus test of the normal build.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                                              \
    do {                                                                                   \
        if (!(condition)) {                                                                \
            std::fprintf(stderr, "invariant broken at %s:%d: %s\n", __FILE__, __LINE__,   \
                         #condition);                                                      \
            std::abort();                                                                  \
        }                                                                                  \
    } while (0)
