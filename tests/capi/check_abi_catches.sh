#!/usr/bin/env bash
# capi.abi_catches: proof that capi.abi (check_abi.sh) fails on the changes it is there to catch and
# passes on the additions it allows. Each case edits a copy of the built library's own ABI, used as
# the baseline, so that the library compared with it shows the change (the committed baseline would
# do as well only until the library grows past it: a field appended since would fill the place of
# the one "removed" below):
#
#   the baseline has a function the library lacks      -> a function was removed       -> must fail
#   the baseline has another value for an enumerator   -> an enum value changed        -> must fail
#   the baseline has one field more at the end         -> a struct field was removed   -> must fail
#   the baseline has one field fewer in the middle     -> a field was inserted, moving
#                                                         the ones after it            -> must fail
#   the baseline's field has another type              -> a struct field changed       -> must fail
#   the baseline lacks a function (named in CHANGELOG) -> a function was added         -> must pass
#   the baseline lacks the last field of a struct      -> a field was appended to a
#                                                         struct with struct_size      -> must pass
#   the baseline lacks the last value of an enum       -> an enum value was added      -> must pass
#   ... one that CHANGELOG.md does not name            -> an addition not listed       -> must fail
#
#   check_abi_catches.sh LIBRARY
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
library=${1:?usage: check_abi_catches.sh LIBRARY}
command -v python3 >/dev/null 2>&1 || { echo "capi.abi_catches: FAILED: python3 not found" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The library's ABI once, compared with every edited baseline.
"$ROOT/scripts/update-abi-baseline" --stdout "$library" >"$work/library.abi" ||
  { echo "capi.abi_catches: FAILED: could not read the ABI of $library" >&2; exit 1; }

# mutate CASE OUT: a copy of the library's ABI with the edit of CASE.
mutate() {
  python3 - "$work/library.abi" "$2" "$1" <<'PY'
import copy, sys
import xml.etree.ElementTree as ET

src, dst, case = sys.argv[1:4]
tree = ET.parse(src)
root = tree.getroot()

def remove_function(name):
    for parent in root.iter():
        for child in list(parent):
            if child.get('name') == name and (child.tag == 'elf-symbol' or
                                              (child.tag == 'function-decl' and child.get('elf-symbol-id'))):
                parent.remove(child)

def duplicate_function(name, new_name):
    for parent in list(root.iter()):
        for child in list(parent):
            if child.get('name') != name:
                continue
            if child.tag == 'elf-symbol':
                clone = copy.deepcopy(child)
                clone.set('name', new_name)
                parent.append(clone)
            elif child.tag == 'function-decl' and child.get('elf-symbol-id'):
                clone = copy.deepcopy(child)
                clone.set('name', new_name)
                clone.set('mangled-name', new_name)
                clone.set('elf-symbol-id', child.get('elf-symbol-id').replace(name, new_name))
                parent.append(clone)

def struct(name):
    for decl in root.iter('class-decl'):
        if decl.get('name') == name and decl.get('size-in-bits'):
            return decl, [m for m in decl if m.tag == 'data-member']
    sys.exit('no struct ' + name + ' in the ABI')

def enum(name):
    for decl in root.iter('enum-decl'):
        if decl.get('name') == name:
            return decl, [e for e in decl if e.tag == 'enumerator']
    sys.exit('no enum ' + name + ' in the ABI')

if case == 'function-removed':
    duplicate_function('tl_client_id', 'tl_client_gone')
elif case == 'enum-value-changed':
    _, values = enum('tl_mqtt_version')
    values[-1].set('value', str(int(values[-1].get('value')) + 1))
elif case == 'field-removed':
    decl, fields = struct('tl_datapoint_stats')
    extra = copy.deepcopy(fields[-1])
    extra.set('layout-offset-in-bits', str(int(fields[-1].get('layout-offset-in-bits')) + 64))
    extra.find('var-decl').set('name', 'removed_counter')
    decl.append(extra)
    decl.set('size-in-bits', str(int(decl.get('size-in-bits')) + 64))
elif case == 'field-inserted-in-the-middle':
    decl, fields = struct('tl_datapoint_stats')
    decl.remove(fields[2])
    for field in fields[3:]:
        field.set('layout-offset-in-bits', str(int(field.get('layout-offset-in-bits')) - 64))
    decl.set('size-in-bits', str(int(decl.get('size-in-bits')) - 64))
elif case == 'field-type-changed':
    # A uint64_t counter of tl_datapoint_stats gets the type of tl_connection_event's enum field.
    _, fields = struct('tl_datapoint_stats')
    _, event_fields = struct('tl_connection_event')
    fields[1].find('var-decl').set('type-id', event_fields[1].find('var-decl').get('type-id'))
elif case == 'function-added':
    remove_function('tl_client_id')
elif case == 'field-appended':
    decl, fields = struct('tl_datapoint_stats')
    decl.remove(fields[-1])
    decl.set('size-in-bits', str(int(decl.get('size-in-bits')) - 64))
elif case == 'enum-value-added':
    decl, values = enum('tl_status')
    decl.remove(values[-1])
elif case == 'enum-value-added-unlisted':
    decl, values = enum('tl_mqtt_version')  # TL_MQTT_V5 is not named in CHANGELOG.md
    decl.remove(values[-1])
else:
    sys.exit('unknown case ' + case)
tree.write(dst)
PY
}

failures=0
check() {  # CASE EXPECTED(pass|fail)
  local case=$1 expected=$2 got=pass
  mutate "$case" "$work/$case.abi"
  bash "$HERE/check_abi.sh" "$work/library.abi" "$work/$case.abi" >"$work/$case.log" 2>&1 || got=fail
  if [[ $got == "$expected" ]]; then
    echo "ok   $case: $got"
  else
    echo "FAIL $case: expected $expected, got $got"
    sed 's/^/     | /' "$work/$case.log"
    failures=$((failures + 1))
  fi
  # What abidiff said, for the record.
  grep -E "^\s*(\[[ACD]\]|type size|[0-9]+ data member|'.*' (changed|was)|.*value changed|capi\.abi: (added|FAILED))" \
    "$work/$case.log" | head -n 6 | sed 's/^/     | /' || true
}

check function-removed fail
check enum-value-changed fail
check field-removed fail
check field-inserted-in-the-middle fail
check field-type-changed fail
check function-added pass
check field-appended pass
check enum-value-added pass
check enum-value-added-unlisted fail

(( failures == 0 )) || { echo "capi.abi_catches: FAILED: $failures case(s)" >&2; exit 1; }
echo "capi.abi_catches: every change caught, every addition passed"
