// Linked into the bundled tool and libtwinlink of the manylinux wheels (TWINLINK_WHEEL_MIN_SIZE in
// ../../CMakeLists.txt) to leave out the C++ demangler, about 90 KB in each: zig links libc++abi
// statically, and its default terminate handler demangles the type of an uncaught exception for
// its message. With this definition linked before libc++abi, the linker takes no cxa_demangle.o
// from it, and that message names the type mangled (N8twinlink5ErrorE) instead. The extension
// keeps the demangler: pybind11 names C++ types with it in its error messages.
#include <cstddef>

extern "C" char* __cxa_demangle(const char*, char*, std::size_t*, int* status) {
    if (status != nullptr) *status = -2;  // the C++ ABI's "not a valid mangled name"
    return nullptr;
}
