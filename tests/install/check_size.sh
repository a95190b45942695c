#!/usr/bin/env bash
# Checks that a library, stripped as the packages strip it (strip --strip-all), is at most BYTES.
#
#   check_size.sh LIBRARY BYTES
set -euo pipefail
library=${1:?usage: check_size.sh LIBRARY BYTES}
budget=${2:?usage: check_size.sh LIBRARY BYTES}
stripped=$(mktemp "${TMPDIR:-/tmp}/twinlink-size.XXXXXX")
trap 'rm -f "$stripped"' EXIT
strip --strip-all -o "$stripped" "$library"
size=$(stat -c %s "$stripped")
echo "$(basename "$library"): $size bytes stripped ($((size / 1024)) KiB), budget $budget bytes ($((budget / 1024)) KiB)"
[[ $size -le $budget ]] || { echo "FAIL: over the budget by $((size - budget)) bytes" >&2; exit 1; }
