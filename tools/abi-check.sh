#!/bin/sh
# Compares the ABI of a fresh build of libsae with the baseline abi/libsae.abi
# using abidiff (abigail-tools). See docs/abi.md.
#
#   tools/abi-check.sh [BUILD_DIR]      (default: build-abi, configured if absent)
#
# Policy:
#  - abidiff cannot compare (exit bits 0-1)                       -> fail
#  - anything but added functions/variables changed (bit 2 with
#    additions hidden, or bit 3: incompatible, e.g. a removed
#    symbol; abidiff puts type and signature changes in bit 2)    -> fail,
#    unless the soname changed too (then: refresh the baseline)
#  - only additions (bit 2 only when they are shown)              -> warning
#  - no change                                                     -> ok
# With no baseline yet it says so and exits 0 (1 with ABI_CHECK_STRICT=1).
# SPDX-License-Identifier: MIT
set -eu
. "$(dirname "$0")/abi-common.sh"

command -v abidiff >/dev/null 2>&1 || {
    echo "abi-check: abidiff not found (apt-get install abigail-tools)" >&2
    exit 1
}
if [ ! -f "$baseline" ]; then
    echo "abi-check: WARNING: no baseline ${baseline#"$repo_dir"/}; create it with tools/abi-update.sh"
    [ "${ABI_CHECK_STRICT:-0}" = 1 ] && exit 1
    exit 0
fi

dir=${1:-$repo_dir/build-abi}
abi_build "$dir"
lib=$(abi_library "$dir")

old_soname=$(sed -n "s/.*<abi-corpus [^>]*soname='\([^']*\)'.*/\1/p" "$baseline" | head -n 1)
new_soname=$(abi_soname "$lib")

report=$(mktemp)
trap 'rm -f "$report"' EXIT INT TERM

# run_abidiff [extra options]: sets rc, writes the report.
run_abidiff() {
    set +e
    abidiff --suppressions "$suppressions" "$@" "$baseline" "$lib" > "$report" 2>&1
    rc=$?
    set -e
}

echo "abi-check: ${baseline#"$repo_dir"/} ($old_soname) vs $lib ($new_soname)"

# 1. Everything but additions.
run_abidiff --no-added-syms
if [ $((rc & 3)) -ne 0 ]; then
    cat "$report"
    echo "abi-check: FAIL: abidiff could not compare (exit $rc)"
    exit 1
fi
if [ $((rc & 12)) -ne 0 ]; then
    cat "$report"
    kind="changed"
    [ $((rc & 8)) -ne 0 ] && kind="changed incompatibly"
    if [ -n "$old_soname" ] && [ "$old_soname" != "$new_soname" ]; then
        echo "abi-check: the ABI $kind, allowed because the soname changed" \
            "($old_soname -> $new_soname); refresh the baseline with tools/abi-update.sh"
        exit 0
    fi
    echo "abi-check: FAIL: the ABI $kind (abidiff exit $rc, above) with the same soname $new_soname."
    echo "  Keep the old ABI (docs/abi.md: add a new function instead), or, for a breaking"
    echo "  release, bump lt_current and set lt_age to 0 in meson.build (a new soname),"
    echo "  then run tools/abi-update.sh."
    exit 1
fi

# 2. Additions only: compatible, but the baseline and version node must follow.
run_abidiff
if [ $((rc & 4)) -ne 0 ]; then
    cat "$report"
    echo "abi-check: WARNING: functions or variables were added (compatible). For the release"
    echo "  that ships them: a new node in lib/sae.sym, lt_current and lt_age + 1 in meson.build,"
    echo "  then tools/abi-update.sh (docs/abi.md)."
    exit 0
fi
echo "abi-check: ok, no ABI change"
