/* Counts the calls of malloc, calloc and realloc made by the calling thread, when preloaded
 * (LD_PRELOAD) into the process that callcost.py starts for its allocation count: tracemalloc and
 * sys.getallocatedblocks() see only Python's allocator, and a binding's dispatcher may take memory
 * from the C or C++ heap (operator new calls malloc). Each function passes the call on to glibc's
 * own allocator under its exported __libc_ name. */
#include <stddef.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void __libc_free(void *pointer);

/* Per thread, so that the threads of a pipeline or of the interpreter do not count. */
static __thread unsigned long long allocations;

void *malloc(size_t size) {
    ++allocations;
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    ++allocations;
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
    ++allocations;
    return __libc_realloc(pointer, size);
}

void free(void *pointer) { __libc_free(pointer); }

unsigned long long callcost_allocations(void) { return allocations; }
