#!/usr/bin/env bash
# `cmake --install` into a temporary prefix (or twinlink as the Debian packages installed it), then
# the C examples built from a copy outside the source tree the two ways a C program finds
# libtwinlink: pkg-config (twinlink.pc) and CMake (find_package(twinlink CONFIG) with
# CMAKE_PREFIX_PATH). Each sensor build streams points through a private mosquitto into the
# installed `twinlink serve` and must see every point confirmed stored, with the installed
# libtwinlink loaded; then serve must stop with exit status 0 on SIGTERM.
#
#   install_test.sh SOURCE_DIR --build BUILD_DIR     ctest install.c_consumers
#   install_test.sh SOURCE_DIR --installed PREFIX    packaging/deb/check-debs (PREFIX /usr)
set -euo pipefail

usage() { echo "usage: install_test.sh SOURCE_DIR --build BUILD_DIR | --installed PREFIX" >&2; exit 2; }
[[ $# -eq 3 ]] || usage
source_dir=$(cd "$1" && pwd)
points=3000

work=$(mktemp -d "${TMPDIR:-/tmp}/twinlink-install.XXXXXX")
serve_pid=
cleanup() {
    [[ -n $serve_pid ]] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
    "$source_dir/scripts/broker" stop "$work/broker" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "install_test: FAIL: $*" >&2; exit 1; }
say() { echo "install_test: $*"; }

case $2 in
    --build)
        prefix=$work/prefix
        cmake --install "$3" --prefix "$prefix" >"$work/install.log" || { cat "$work/install.log" >&2; fail "cmake --install"; }
        installed=$(find "$prefix" -type f) ;;
    --installed)
        prefix=$3
        installed= ;;
    *) usage ;;
esac

# What a C/C++ consumer needs, and nothing of the source tree.
library=$(find "$prefix/lib" -name 'libtwinlink.so.*.*.*' -type f)
[[ $(wc -l <<<"$library") == 1 ]] || fail "more than one libtwinlink under $prefix/lib: $library"
[[ -n $library ]] || fail "no libtwinlink.so.X.Y.Z installed"
libdir=$(dirname "$library")
soname=$(readlink "$libdir/libtwinlink.so")
[[ $soname == libtwinlink.so.[0-9]* ]] || fail "libtwinlink.so does not point at the SONAME file"
[[ $(readelf -d "$library") == *"(SONAME)"*"[$soname]"* ]] || fail "SONAME of $library is not $soname"
for file in include/twinlink.h include/twinlink/client.h bin/twinlink; do
    [[ -f $prefix/$file ]] || fail "$file is not installed"
done
pc=$(find "$prefix/lib" -name twinlink.pc)
config=$(find "$prefix/lib" -name twinlinkConfig.cmake)
[[ -n $pc && -n $config && -f $(dirname "$config")/twinlinkConfigVersion.cmake ]] || fail "twinlink.pc or the CMake package is missing"
if [[ -n $installed ]]; then
    # Text files only: the binaries' debug information names the sources they were built from.
    named=$(grep -lIF "$source_dir" $installed || true)
    [[ -z $named ]] || fail "installed files name the source tree: $named"
    say "installed into a temporary prefix: $(wc -l <<<"$installed") files, SONAME $soname"
fi

# The examples as a user has them: a copy, away from the source tree.
mkdir -p "$work/src"
cp "$source_dir"/examples/c/{CMakeLists.txt,pubsub.c,sensor.c} "$work/src/"

# 1. pkg-config. The .pc names the prefix it was configured for; a prefix given at install time is
# passed the way pkg-config takes one.
export PKG_CONFIG_PATH=$(dirname "$pc")
pkg() { pkg-config --define-variable=prefix="$prefix" "$@" twinlink; }
[[ $(pkg --modversion) == "$(sed -nE 's/^project\(twinlink VERSION ([0-9.]+).*/\1/p' "$source_dir/CMakeLists.txt")" ]] ||
    fail "pkg-config --modversion twinlink says $(pkg --modversion)"
mkdir -p "$work/pkg-config"
for example in pubsub sensor; do
    # shellcheck disable=SC2046 # one flag a word
    cc -std=c99 -Wall -Wextra -Werror -pedantic $(pkg --cflags) "$work/src/$example.c" -o "$work/pkg-config/$example" \
        $(pkg --libs) -pthread -Wl,-rpath,"$(pkg --variable=libdir)" || fail "$example does not build with pkg-config"
done
say "examples built with pkg-config: $(pkg --cflags --libs)"

# 2. find_package(twinlink CONFIG) through CMAKE_PREFIX_PATH.
cmake -S "$work/src" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_RPATH="$libdir" \
    >"$work/cmake.log" 2>&1 || { cat "$work/cmake.log" >&2; fail "configuring the examples with find_package"; }
cmake --build "$work/cmake" >>"$work/cmake.log" 2>&1 || { cat "$work/cmake.log" >&2; fail "building the examples with find_package"; }
grep -q "twinlink_DIR:PATH=$(dirname "$config")" "$work/cmake/CMakeCache.txt" || fail "find_package found another twinlink"
if grep -rqF "$source_dir" "$work/cmake/CMakeCache.txt" "$work/cmake/build.ninja" "$work/cmake/Makefile" 2>/dev/null; then
    fail "the find_package build refers to the source tree"
fi
say "examples built with find_package(twinlink CONFIG)"

# A broker and the installed `twinlink serve` as the sink.
port=$("$source_dir/scripts/broker" start "$work/broker")
broker=mqtt://127.0.0.1:$port
"$prefix/bin/twinlink" serve --broker "$broker" --db "$work/cloud.db" >"$work/serve.log" 2>&1 &
serve_pid=$!
for ((i = 0; i < 100; i++)); do
    grep -q "ready" "$work/serve.log" && break
    kill -0 "$serve_pid" 2>/dev/null || { cat "$work/serve.log" >&2; fail "twinlink serve exited"; }
    sleep 0.1
done
grep -q "ready" "$work/serve.log" || fail "twinlink serve did not get ready in 10 s"

for way in pkg-config cmake; do
    sensor=$work/$way/sensor
    # ldd's whole output first: grep -q stopping early would fail the pipe (pipefail).
    loads=$(ldd "$sensor")
    grep -q "libtwinlink.so.* => $libdir/" <<<"$loads" || fail "$way: $sensor does not load the installed libtwinlink"
    timeout 120 "$sensor" "$broker" "install-$way" "$points" "$work/spool-$way" >"$work/sensor-$way.log" 2>&1 ||
        { cat "$work/sensor-$way.log" >&2; fail "$way: the sensor example failed"; }
    stored=$("$prefix/bin/twinlink" dp query "install-$way" temp --db "$work/cloud.db" | grep -c .) ||
        fail "$way: twinlink dp query failed"
    [[ $stored == "$points" ]] || fail "$way: the sink stored $stored points, not $points"
    say "$way: the sensor example's $points points are stored"
done

# SIGTERM stops serve cleanly (exit 0), as its systemd unit expects.
kill -TERM "$serve_pid"
wait "$serve_pid" && status=0 || status=$?
serve_pid=
[[ $status == 0 ]] || { cat "$work/serve.log" >&2; fail "twinlink serve exited $status on SIGTERM"; }
say "OK"
