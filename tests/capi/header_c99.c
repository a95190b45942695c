/* Compiles the public header as strict C99 and calls the library: the smallest C program. */
#include <stdio.h>
#include <string.h>

#include "twinlink.h"

int main(void) {
    const char *version = tl_version();
    if (strcmp(version, TL_VERSION_STRING) != 0 || tl_version_number() != TL_VERSION_NUMBER) {
        fprintf(stderr, "library %s (%d), headers %s (%d)\n", version, tl_version_number(), TL_VERSION_STRING,
                TL_VERSION_NUMBER);
        return 1;
    }
    printf("twinlink %s\n", version);
    return 0;
}
