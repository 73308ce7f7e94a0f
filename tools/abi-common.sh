# Shared by tools/abi-check.sh and tools/abi-update.sh (sourced, not run).
# SPDX-License-Identifier: MIT

repo_dir=$(cd "$(dirname "$0")/.." && pwd)
baseline=$repo_dir/abi/libsae.abi

# abi_build DIR: configure (if needed) and build DIR; prints nothing but
# meson's and ninja's own output, on stderr.
abi_build() {
    dir=$1
    if [ ! -f "$dir/build.ninja" ]; then
        # A plain build with debug information: abidw reads DWARF.
        meson setup "$dir" "$repo_dir" -Dtests=false -Dexamples=false \
            --buildtype=debugoptimized >&2
    fi
    ninja -C "$dir" >&2
}

# abi_library DIR: the real file of the shared library built in DIR (what the
# development symlink libsae.so points to).
abi_library() {
    f=$(readlink -f "$1/lib/libsae.so" || true)
    if [ -z "$f" ] || [ ! -f "$f" ]; then
        echo "abi: no lib/libsae.so built in $1" >&2
        return 1
    fi
    printf '%s\n' "$f"
}

abi_soname() {
    readelf -d "$1" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p'
}

suppressions=$repo_dir/abi/libsae.suppr

# abidw options for the baseline: no machine-specific paths, and types that
# the public headers do not define (the bodies of the opaque handles) kept
# as declarations only. Locations stay (file names only): abidiff needs them
# to tell public types from private ones.
abi_dw_opts() {
    dir=$1
    printf '%s\n' --no-corpus-path --no-comp-dir-path --short-locs --drop-private-types --drop-undefined-syms \
        --exported-interfaces-only \
        --headers-dir "$repo_dir/include" --header-file "$dir/include/sae-version.h"
}
