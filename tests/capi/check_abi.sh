#!/usr/bin/env bash
# capi.abi: the ABI of the built libtwinlink against the committed baseline (capi/abi/libtwinlink.abi),
# with abidiff from Debian's abigail-tools.
#
#   check_abi.sh LIBRARY [BASELINE]     (LIBRARY may also be its ABI, a .abi file)
#
# Fails when a function is removed or its signature changes, an enum value changes, or a public
# struct loses, moves or changes a field. Passes on additions: new functions, new enum values, and
# fields appended at the end of a struct that begins with struct_size (see below); every addition
# must be named in CHANGELOG.md. Fails, rather than skips, when abidw, abidiff or python3 is missing:
# `make test` installs them (scripts/bootstrap).
#
# Appended fields. docs/c-api.md promises that structs beginning with `size_t struct_size` only ever
# grow at the end: a caller built against an older header passes its smaller struct_size and gets the
# fields it knows of, and a struct the library fills for a callback says in struct_size how much of it
# there is. None is embedded in another struct or used in an array. So for such a struct, fields
# beyond those of the baseline are taken off the current ABI before abidiff compares it: what is left
# must then be the baseline's struct, field for field (names, types, offsets). A field removed,
# inserted in the middle or changed still shows, and so does growth of a struct without struct_size.
# (An abidiff suppression with has_data_member_inserted_at = end does not do this: libabigail 2.2
# also lets it hide a changed field type.)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
library=${1:?usage: check_abi.sh LIBRARY [BASELINE]}
baseline=${2:-$ROOT/capi/abi/libtwinlink.abi}

fail() { echo "capi.abi: FAILED: $*" >&2; exit 1; }

for tool in abidw abidiff; do
  command -v "$tool" >/dev/null 2>&1 ||
    fail "$tool not found; install abigail-tools (scripts/bootstrap, or apt-get install abigail-tools)"
done
command -v python3 >/dev/null 2>&1 || fail "python3 not found"
[[ -f $baseline ]] || fail "no baseline $baseline (scripts/update-abi-baseline writes it)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [[ $library == *.abi ]]; then
  cp "$library" "$work/current.abi"  # an ABI already written by scripts/update-abi-baseline --stdout
else
  "$ROOT/scripts/update-abi-baseline" --stdout "$library" >"$work/current.abi" ||
    fail "could not read the ABI of $library"
fi

# The current ABI without the fields appended to struct_size structs; on stdout, the names of those
# fields and of enumerators the baseline does not have, one a line.
python3 - "$baseline" "$work/current.abi" "$work/compared.abi" >"$work/added" <<'PY' ||
import sys
import xml.etree.ElementTree as ET

baseline_path, current_path, out_path = sys.argv[1:4]

def structs(root):
    found = {}
    for decl in root.iter('class-decl'):
        if decl.get('is-struct') == 'yes' and decl.get('size-in-bits') and decl.get('name', '').startswith('tl_'):
            found[decl.get('name')] = decl
    return found

def fields(decl):
    return [m for m in decl if m.tag == 'data-member']

def field_name(member):
    return member.find('var-decl').get('name')

baseline = ET.parse(baseline_path).getroot()
tree = ET.parse(current_path)
current = tree.getroot()
old_structs = structs(baseline)
for name, decl in structs(current).items():
    old = old_structs.get(name)
    new_fields = fields(decl)
    if old is None or not new_fields or field_name(new_fields[0]) != 'struct_size':
        continue
    kept = len(fields(old))
    for member in new_fields[kept:]:
        print(name + '.' + field_name(member) + ' ' + field_name(member))
        decl.remove(member)
    if len(new_fields) > kept:
        decl.set('size-in-bits', old.get('size-in-bits'))

old_enums = {e.get('name'): {v.get('name') for v in e if v.tag == 'enumerator'} for e in baseline.iter('enum-decl')}
for decl in current.iter('enum-decl'):
    known = old_enums.get(decl.get('name'))
    if known is None:
        continue
    for value in decl:
        if value.tag == 'enumerator' and value.get('name') not in known:
            print(decl.get('name') + '::' + value.get('name') + ' ' + value.get('name'))
tree.write(out_path)
PY
  fail "could not read $baseline or the current ABI"

# abidiff's exit status is a bit field: 1 error, 2 usage error, 4 ABI change, 8 incompatible change
# (a removed symbol); above 127 it crashed. Changes it files as harmless (an enumerator added, a
# field renamed) leave it at 0. A 4 is reviewed here: additions of functions pass, anything else fails.
status=0
abidiff --no-architecture "$baseline" "$work/compared.abi" >"$work/report" 2>&1 || status=$?
cat "$work/report"
(( status > 127 || status & 1 )) && fail "abidiff could not compare (exit status $status)"
(( status & 8 )) && fail "incompatible ABI change: a function was removed (see above)"
if (( status & 4 )); then
  status=0
  abidiff --no-architecture --no-added-syms "$baseline" "$work/compared.abi" >/dev/null 2>&1 || status=$?
  (( status > 127 || status & 1 )) && fail "abidiff could not compare (exit status $status)"
  (( status == 0 )) || fail "the ABI changed (see above). Within a major version only additions are allowed.
If the change is meant, refresh the baseline on purpose: scripts/update-abi-baseline"
fi

# Additions pass, but each is named in the CHANGELOG: functions (from abidiff's report), struct
# fields and enum values (from the comparison above).
sed -nE "s/^ *\[A\] 'function [^']*\b(tl_[a-z0-9_]+)\(.*/\1 \1/p" "$work/report" >>"$work/added"
missing=()
while read -r what name; do
  echo "capi.abi: added: $what"
  grep -q "\b$name\b" "$ROOT/CHANGELOG.md" || missing+=("$what")
done <"$work/added"
[[ ${#missing[@]} -eq 0 ]] || fail "additions not named in CHANGELOG.md: ${missing[*]}"
echo "capi.abi: $(basename "$library") keeps every function, enum value and struct field of the baseline"
