# Cross-compiling for 64-bit Arm Linux (arm64/aarch64: Raspberry Pi 3/4/5, most gateways) on a
# Debian machine: Debian's cross compiler (g++-aarch64-linux-gnu) and the arm64 development
# packages installed beside the machine's own through multiarch (dpkg --add-architecture arm64;
# `scripts/bootstrap cross-arm64` installs both). Libraries and headers come from the arm64
# multiarch directories, programs (mosquitto for the tests, python3, pkg-config's data) from this
# machine. Test programs run under qemu-user (CMAKE_CROSSCOMPILING_EMULATOR), so ctest and
# gtest_discover_tests work in the build tree.
#
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(TWINLINK_CROSS_TRIPLET aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${TWINLINK_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${TWINLINK_CROSS_TRIPLET}-g++)
# The arm64 multiarch packages install into the machine's own /usr (lib/aarch64-linux-gnu,
# include/aarch64-linux-gnu), and the cross toolchain's libc into /usr/aarch64-linux-gnu.
set(CMAKE_FIND_ROOT_PATH /usr/${TWINLINK_CROSS_TRIPLET} /usr)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config (used by find_package(PkgConfig) users) sees the arm64 .pc files only.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${TWINLINK_CROSS_TRIPLET}/pkgconfig:/usr/share/pkgconfig)

# Test programs and gtest_discover_tests run under qemu-user, with the arm64 loader and libc of the
# multiarch package libc6:arm64 (/lib/ld-linux-aarch64.so.1, /usr/lib/aarch64-linux-gnu), which
# the arm64 dev packages bring: the same libc that the arm64 Paho, OpenSSL and libstdc++ there were
# built against. (Not `-L /usr/aarch64-linux-gnu`: that loader is the cross toolchain's, of another
# glibc build than the multiarch libc it would load, and programs hung or crashed with it.)
# -E TWINLINK_TEST_UNDER_QEMU=1 (in the test program's environment only): the resident size that a
# program reads in /proc/self/status under qemu-user is the emulator's, which grows by about
# 280 KiB for every guest thread created and never shrinks back (qemu-aarch64 7.2; a C program
# that starts and joins threads four at a time and frees everything: 73 MB after 200 threads, 297 MB
# after 1,000; natively 1.8 MB throughout), so the core cycle tests report their growth unjudged.
# -E TWINLINK_TEST_EMULATOR=...: the test fixtures start the arm64 programs that a test runs as a
# child (the `twinlink` tool, the tests' device programs) through qemu-aarch64 as well, so the tests
# do not need binfmt_misc registered for arm64 on the build machine (tests/fixtures/process.cpp).
# qemu's -E splits its argument at commas: the path of qemu-aarch64 must not contain one.
find_program(TWINLINK_QEMU_AARCH64 qemu-aarch64)
if(TWINLINK_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${TWINLINK_QEMU_AARCH64} -E TWINLINK_TEST_UNDER_QEMU=1
    -E TWINLINK_TEST_EMULATOR=${TWINLINK_QEMU_AARCH64})
endif()

# dpkg-shlibdeps and CPack: the packages are for arm64.
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE arm64)
