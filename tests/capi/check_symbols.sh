#!/usr/bin/env bash
# Checks that libtwinlink exports exactly the functions the public headers declare with TL_API,
# all in the TWINLINK_0 version node, and that its SONAME is the expected one.
#
#   check_symbols.sh LIBRARY INCLUDE_DIR SONAME
set -euo pipefail
library=$1 include_dir=$2 soname=$3
status=0

lines=$(grep -rhE '^[[:space:]]*TL_API[[:space:]]' --include='*.h' "$include_dir")
declared=$(printf '%s\n' "$lines" | grep -oE '[^A-Za-z0-9_]tl_[A-Za-z0-9_]+[[:space:]]*\(' \
           | grep -oE 'tl_[A-Za-z0-9_]+' | sort)
if [[ $(printf '%s\n' "$lines" | wc -l) != $(printf '%s\n' "$declared" | wc -l) ]]; then
    echo "FAIL: some TL_API lines do not name exactly one function:" >&2
    printf '%s\n' "$lines" >&2
    status=1
fi

defined=$(nm -D --defined-only "$library")
exported=$(awk '$2 == "T" { print $3 }' <<<"$defined" | sed 's/@.*//' | sort)
unversioned=$(awk '$2 == "T" && $3 !~ /@@TWINLINK_0$/ { print $3 }' <<<"$defined")
others=$(awk '$2 != "T" && $2 != "A" { print $2, $3 }' <<<"$defined")

if ! diff <(printf '%s\n' "$declared") <(printf '%s\n' "$exported") >/dev/null; then
    echo "FAIL: exported functions differ from the TL_API declarations (< header only, > library only):" >&2
    diff <(printf '%s\n' "$declared") <(printf '%s\n' "$exported") | grep '^[<>]' >&2 || true
    status=1
fi
if [[ -n $unversioned ]]; then
    echo "FAIL: functions outside the TWINLINK_0 version node: $unversioned" >&2
    status=1
fi
if [[ -n $others ]]; then
    echo "FAIL: other defined dynamic symbols: $others" >&2
    status=1
fi

actual_soname=$(readelf -d "$library" | sed -nE 's/.*\(SONAME\).*\[(.*)\]/\1/p')
if [[ $actual_soname != "$soname" ]]; then
    echo "FAIL: SONAME is '$actual_soname', expected '$soname'" >&2
    status=1
fi

if [[ $status == 0 ]]; then
    echo "OK: $(printf '%s\n' "$declared" | wc -l) functions exported, exactly those declared; SONAME $soname"
fi
exit "$status"
