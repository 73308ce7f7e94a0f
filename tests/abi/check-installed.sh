#!/bin/sh
# Installs the build into a temporary DESTDIR, then builds and runs a small
# program against the INSTALLED library using nothing but
# `pkg-config --cflags --libs sae` (run by `meson test` as 'installed').
#
#   check-installed.sh BUILD_DIR SOURCE_DIR MESON CC SONAME [SANITIZE]
#
# SANITIZE is meson's b_sanitize value; when it is not "none" the consumer is
# compiled with the same -fsanitize flags, as the installed library needs the
# sanitizer runtime.
# SPDX-License-Identifier: MIT
set -eu

build=$1
src=$2
meson=$3
cc=$4
soname=$5
sanitize=${6:-none}

for tool in pkg-config readelf; do
    command -v "$tool" >/dev/null 2>&1 || { echo "check-installed: $tool not found" >&2; exit 77; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
dest=$tmp/dest

echo "== meson install --destdir $dest"
"$meson" install -C "$build" --no-rebuild --destdir "$dest" > "$tmp/install.log" 2>&1 || {
    cat "$tmp/install.log"
    echo "FAIL: meson install"
    exit 1
}

pc=$(find "$dest" -name sae.pc -path '*/pkgconfig/*' | head -n 1)
if [ -z "$pc" ]; then
    echo "FAIL: no sae.pc installed under $dest"
    exit 1
fi
pcdir=$(dirname "$pc")
libdir=$(dirname "$pcdir")
echo "ok: sae.pc installed at ${pc#"$dest"}"

# The installed library: soname, symlinks, versioned symbols.
if [ ! -e "$libdir/$soname" ]; then
    echo "FAIL: $soname not installed in ${libdir#"$dest"}"
    ls -l "$libdir"
    exit 1
fi
if [ ! -L "$libdir/libsae.so" ]; then
    echo "FAIL: development symlink libsae.so missing in ${libdir#"$dest"}"
    exit 1
fi
got=$(readelf -d "$libdir/$soname" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
if [ "$got" != "$soname" ]; then
    echo "FAIL: installed library has soname '$got', expected '$soname'"
    exit 1
fi
echo "ok: installed ${libdir#"$dest"}/$soname has soname $got"
if ! find "$dest" -name sae.h | grep -q . || ! find "$dest" -name sae-version.h | grep -q .; then
    echo "FAIL: sae.h and sae-version.h are not both installed"
    exit 1
fi

# pkg-config, resolved into the destdir: the .pc file names the final prefix,
# the sysroot maps it into $dest.
PKG_CONFIG_PATH=$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
PKG_CONFIG_SYSROOT_DIR=$dest
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
flags=$(pkg-config --cflags --libs sae) || {
    echo "FAIL: pkg-config --cflags --libs sae"
    exit 1
}
echo "ok: pkg-config --cflags --libs sae: $flags"

extra=
if [ "$sanitize" != "none" ] && [ -n "$sanitize" ]; then
    extra="-fsanitize=$sanitize"
fi

# shellcheck disable=SC2086 # word splitting of the flags is intended
"$cc" -std=c99 -Wall -Wextra -Werror $extra -o "$tmp/consumer" "$src/tests/abi/installed_consumer.c" \
    $flags || {
    echo "FAIL: could not build installed_consumer.c against the installed library"
    exit 1
}
needed=$(readelf -d "$tmp/consumer" | sed -n 's/.*(NEEDED).*\[\(libsae[^]]*\)\].*/\1/p')
if [ "$needed" != "$soname" ]; then
    echo "FAIL: the consumer records NEEDED '$needed', expected '$soname'"
    exit 1
fi
echo "ok: consumer links to $needed"

# Only the destdir: not the build tree that meson test may have put there.
LD_LIBRARY_PATH=$libdir
export LD_LIBRARY_PATH
if command -v ldd >/dev/null 2>&1; then
    resolved=$(ldd "$tmp/consumer" | awk '$1 ~ /^libsae/ { print $3 }')
    case $resolved in
    "$dest"/*) echo "ok: the loader resolves $soname to ${resolved#"$dest"} in the destdir" ;;
    *)
        echo "FAIL: the loader resolves $soname to '$resolved', not into $dest"
        exit 1
        ;;
    esac
fi
"$tmp/consumer"

# The static library: pkg-config --static lists what libsae.a needs.
if [ ! -f "$libdir/libsae.a" ]; then
    echo "FAIL: libsae.a not installed in ${libdir#"$dest"}"
    exit 1
fi
static_libs=$(pkg-config --static --libs sae) || {
    echo "FAIL: pkg-config --static --libs sae"
    exit 1
}
# shellcheck disable=SC2086 # word splitting of the flags is intended
if [ "$sanitize" = "none" ] || [ -z "$sanitize" ]; then
    "$cc" -std=c99 -Wall -Wextra -Werror -o "$tmp/consumer_static" \
        "$src/tests/abi/installed_consumer.c" $(pkg-config --cflags sae) \
        "$libdir/libsae.a" $(echo "$static_libs" | sed 's/-lsae\b//') || {
        echo "FAIL: could not link installed_consumer.c with libsae.a ($static_libs)"
        exit 1
    }
    if readelf -d "$tmp/consumer_static" | grep -q 'NEEDED.*libsae'; then
        echo "FAIL: the static consumer still needs the shared libsae"
        exit 1
    fi
    "$tmp/consumer_static"
    echo "ok: static link with libsae.a and pkg-config --static: $static_libs"
fi
if ! find "$dest" -path '*/doc/libsae/guide.md' | grep -q .; then
    echo "FAIL: docs/guide.md is not installed under share/doc/libsae"
    exit 1
fi
echo "ok: documentation installed"
echo "installed: all checks passed"
