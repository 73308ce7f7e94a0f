#!/bin/sh
# ABI check on the built shared library (run by `meson test` as 'symbols').
#
#   check-symbols.sh LIBSAE_SO SAE_SYM EXPECTED_SONAME
#
# Fails when
#  - a dynamic symbol defined by the library is not sae_* (a leak),
#  - an exported symbol is not listed in the version script,
#  - a symbol listed in the version script is not exported,
#  - an exported symbol carries a version node other than the one that
#    lists it in the version script (or no version at all),
#  - the DT_SONAME is not EXPECTED_SONAME.
# SPDX-License-Identifier: MIT
set -eu

lib=$1
map=$2
want_soname=$3

for tool in nm readelf awk sort comm; do
    command -v "$tool" >/dev/null 2>&1 || { echo "check-symbols: $tool not found" >&2; exit 77; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0

# --- soname ---------------------------------------------------------------
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
if [ "$soname" != "$want_soname" ]; then
    echo "FAIL: soname of $lib is '$soname', expected '$want_soname'"
    fail=1
else
    echo "ok: soname $soname"
fi

# --- version script: "symbol node" pairs -----------------------------------
# Strip /* */ and # comments, then walk the tokens: NODE { global: a; b; local: *; } PARENT;
awk '
    { text = text $0 "\n" }
    END {
        gsub(/\/\*([^*]|\*+[^*\/])*\*+\//, " ", text)   # C comments
        gsub(/#[^\n]*/, " ", text)                       # shell-style comments
        gsub(/[{};:]/, " & ", text)
        n = split(text, tok, /[ \t\n]+/)
        node = ""; scope = ""; depth = 0
        for (i = 1; i <= n; i++) {
            t = tok[i]
            if (t == "") continue
            if (t == "{") { depth++; continue }
            if (t == "}") { depth--; scope = ""; if (depth == 0) node = ""; continue }
            if (t == ";" || t == ":") continue
            if (depth == 0) { if (tok[i + 1] == "{" || tok[i + 2] == "{") node = t; continue }
            if (t == "global" && tok[i + 1] == ":") { scope = "global"; continue }
            if (t == "local" && tok[i + 1] == ":") { scope = "local"; continue }
            if (scope == "global") print t, node
        }
    }' "$map" | sort -u > "$tmp/map"

if [ ! -s "$tmp/map" ]; then
    echo "FAIL: no global symbols found in $map"
    exit 1
fi
awk '{ print $1 }' "$tmp/map" | sort -u > "$tmp/map.names"
awk '{ print $2 }' "$tmp/map" | sort -u > "$tmp/map.nodes"

# --- exported symbols --------------------------------------------------------
# readelf --dyn-syms -W gives "Num: Value Size Type Bind Vis Ndx Name@@VERSION".
# Keep defined (Ndx != UND), global or weak, default or protected visibility;
# drop the version-definition ABS symbols (the node names themselves).
readelf --dyn-syms -W "$lib" | awk '
    $1 ~ /^[0-9]+:$/ && NF >= 8 {
        type = $4; bind = $5; vis = $6; ndx = $7; name = $8
        if (ndx == "UND") next
        if (bind != "GLOBAL" && bind != "WEAK") next
        if (vis != "DEFAULT" && vis != "PROTECTED") next
        if (type == "OBJECT" && ndx == "ABS") next
        ver = ""
        if (index(name, "@@")) { ver = substr(name, index(name, "@@") + 2); name = substr(name, 1, index(name, "@@") - 1) }
        else if (index(name, "@")) { ver = substr(name, index(name, "@") + 1); name = substr(name, 1, index(name, "@") - 1) }
        print name, (ver == "" ? "-" : ver)
    }' | sort -u > "$tmp/dyn"

# nm -D --defined-only as a cross-check of the same list (names only).
nm -D --defined-only --without-symbol-versions "$lib" 2>/dev/null | awk '$2 != "A" { print $3 }' | sort -u > "$tmp/nm" \
    || nm -D --defined-only "$lib" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | sort -u > "$tmp/nm"
awk '{ print $1 }' "$tmp/dyn" | sort -u > "$tmp/dyn.names"

if ! cmp -s "$tmp/nm" "$tmp/dyn.names"; then
    echo "FAIL: nm -D and readelf --dyn-syms disagree on the exported names:"
    diff "$tmp/nm" "$tmp/dyn.names" || true
    fail=1
fi

count=$(wc -l < "$tmp/nm")
echo "ok: $count exported symbols, $(wc -l < "$tmp/map.names") in $(basename "$map")"

leaks=$(grep -v '^sae_' "$tmp/nm" || true)
if [ -n "$leaks" ]; then
    echo "FAIL: exported symbols without the sae_ prefix:"
    echo "$leaks" | sed 's/^/    /'
    fail=1
fi

unlisted=$(comm -23 "$tmp/nm" "$tmp/map.names")
if [ -n "$unlisted" ]; then
    echo "FAIL: exported but missing from $(basename "$map"):"
    echo "$unlisted" | sed 's/^/    /'
    fail=1
fi

missing=$(comm -13 "$tmp/nm" "$tmp/map.names")
if [ -n "$missing" ]; then
    echo "FAIL: listed in $(basename "$map") but not exported (not defined, or hidden):"
    echo "$missing" | sed 's/^/    /'
    fail=1
fi

# Every exported sae_ symbol must carry exactly the node that lists it.
wrongver=$(join "$tmp/dyn" "$tmp/map" | awk '$2 != $3 { printf "    %s has version %s, listed under %s\n", $1, $2, $3 }')
if [ -n "$wrongver" ]; then
    echo "FAIL: symbol versions do not match $(basename "$map"):"
    echo "$wrongver"
    fail=1
else
    echo "ok: every exported symbol carries its node's version ($(tr '\n' ' ' < "$tmp/map.nodes"))"
fi

if [ "$fail" -ne 0 ]; then
    exit 1
fi
echo "symbols: all checks passed"
