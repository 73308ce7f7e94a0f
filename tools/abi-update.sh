#!/bin/sh
# Regenerates the ABI baseline abi/libsae.abi from a build of the library.
#
#   tools/abi-update.sh [BUILD_DIR]      (default: build-abi, configured if absent)
#
# Run it when a release changes the ABI on purpose (see docs/abi.md), review
# `git diff abi/libsae.abi`, and commit it together with the change.
# SPDX-License-Identifier: MIT
set -eu
. "$(dirname "$0")/abi-common.sh"

command -v abidw >/dev/null 2>&1 || {
    echo "abi-update: abidw not found (apt-get install abigail-tools)" >&2
    exit 1
}
dir=${1:-$repo_dir/build-abi}
abi_build "$dir"
lib=$(abi_library "$dir")

mkdir -p "$(dirname "$baseline")"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT INT TERM
# shellcheck disable=SC2046 # one option per line
abidw $(abi_dw_opts "$dir") --out-file "$tmp" "$lib"
mv "$tmp" "$baseline"
trap - EXIT INT TERM
echo "abi-update: wrote ${baseline#"$repo_dir"/} from $lib (soname $(abi_soname "$lib"))"
echo "abi-update: $(grep -c '<elf-symbol ' "$baseline") ELF symbols, review with: git diff abi/"
