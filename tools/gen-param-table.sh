#!/bin/sh
# Prints the Markdown table of every config parameter (key, id, type, bounds,
# default, meaning) as the library reports it through its public API
# (sae_param_at, sae_param_info, sae_param_name, sae_param_doc,
# sae_config_get), so that the table in docs/guide.md is what
# lib/config/keys.c holds, not a copy of it. A key without a meaning (a NULL
# or empty sae_param_doc) stops the script, so a new parameter cannot reach
# the table without its explanation.
#
#   tools/gen-param-table.sh [BUILDDIR]            print the table
#   tools/gen-param-table.sh --check [BUILDDIR]    exit 1 if docs/guide.md
#                                                  differs from it
#   tools/gen-param-table.sh --update [BUILDDIR]   rewrite it in docs/guide.md
#
# BUILDDIR (default: build) must hold a built lib/libsae.so and
# include/sae-version.h. The table sits in docs/guide.md between the lines
# "<!-- param-table:begin -->" and "<!-- param-table:end -->".
# SPDX-License-Identifier: MIT
set -eu

mode=print
case "${1:-}" in
--check) mode=check; shift ;;
--update) mode=update; shift ;;
esac
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
build=$(cd "$build" && pwd)
guide=$src/docs/guide.md
cc=${CC:-cc}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat > "$tmp/gen.c" <<'EOF'
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sae.h"

/* Numbers as a reader wants them: 2^24, 1e6, 1e-8, 0.999. */
static void fmt(double v, char *buf, size_t size)
{
    if (v >= 1024 && v == ldexp(1.0, (int)log2(v)))
        snprintf(buf, size, "2^%d", (int)log2(v));
    else if (v >= 1e6 && v == pow(10.0, floor(log10(v) + 0.5)))
        snprintf(buf, size, "1e%d", (int)floor(log10(v) + 0.5));
    else {
        snprintf(buf, size, "%g", v);
        char *e = strstr(buf, "e-0");
        if (e)
            memmove(e + 2, e + 3, strlen(e + 3) + 1);
    }
}

int main(void)
{
    sae_config_t *cfg, *scratch;
    if (sae_config_create(&cfg) != SAE_OK || sae_config_create(&scratch) != SAE_OK)
        return 1;
    sae_param_t p;
    for (size_t i = 0; sae_param_at(i, &p) == SAE_OK; i++) {
        sae_param_type_t type;
        double lo, hi;
        int lo_open, hi_open;
        if (sae_param_info(p, &type, &lo, &hi, &lo_open, &hi_open) != SAE_OK)
            return 1;
        const char *name = sae_param_name(p);
        /* The meaning fills one table cell: one line, no tab. */
        const char *doc = sae_param_doc(p);
        if (!doc || !doc[0] || strpbrk(doc, "\t\n")) {
            fprintf(stderr, "no one-line meaning for %s in lib/config/keys.c\n", name);
            return 1;
        }
        char def[64], a[32], b[32], range[96], values[160] = "";
        if (sae_config_get(cfg, name, def, sizeof def) != SAE_OK)
            return 1;
        const char *kind = type == SAE_TYPE_INT ? "int" : "float";
        if (type == SAE_TYPE_FLOAT) {
            double v;
            sae_config_get_float(cfg, p, &v);
            fmt(v, def, sizeof def);
        } else if (strspn(def, "-0123456789") != strlen(def)) {
            /* A named value: list every name in the range. */
            for (long k = (long)lo; k <= (long)hi; k++) {
                char n[32];
                sae_config_set_int(scratch, p, k);
                sae_config_get(scratch, name, n, sizeof n);
                snprintf(values + strlen(values), sizeof values - strlen(values), "%s%ld `%s`",
                         k > (long)lo ? ", " : "", k, n);
            }
            kind = strstr(values, "`false`") ? "bool" : "enum";
        }
        if (strcmp(kind, "int") == 0 || strcmp(kind, "float") == 0) {
            fmt(lo, a, sizeof a);
            fmt(hi, b, sizeof b);
            snprintf(range, sizeof range, "%c%s, %s%c", lo_open ? '(' : '[', a, b,
                     hi_open ? ')' : ']');
        } else {
            snprintf(range, sizeof range, "%s", values);
        }
        printf("%s\t%d\t%s\t%s\t%s\t%s\n", name, (int)p, kind, range, def, doc);
    }
    sae_config_free(cfg);
    sae_config_free(scratch);
    return 0;
}
EOF

"$cc" -std=c11 -I"$src/include" -I"$build/include" "$tmp/gen.c" -o "$tmp/gen" \
    -L"$build/lib" -lsae -lm
LD_LIBRARY_PATH="$build/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$tmp/gen" > "$tmp/rows.txt"

# Id names from the header: "SAE_P_NAME = value,".
sed -n 's/^ *\(SAE_P_[A-Z0-9_]*\) = \([0-9]*\).*/\2\t\1/p' "$src/include/sae.h" > "$tmp/ids.txt"

awk -F '\t' -v ids="$tmp/ids.txt" '
BEGIN {
    while ((getline line < ids) > 0) { split(line, f, "\t"); id[f[1]] = f[2] }
    print "| key | id | type | bounds or values | default | meaning |"
    print "|---|---|---|---|---|---|"
}
{
    if (!($2 in id)) { print "no id in sae.h for " $1 > "/dev/stderr"; exit 1 }
    printf "| `%s` | `%s` | %s | %s | `%s` | %s |\n", $1, id[$2], $3, $4, $5, $6
}' "$tmp/rows.txt" > "$tmp/table.md"

case $mode in
print)
    cat "$tmp/table.md"
    ;;
check | update)
    awk -v table="$tmp/table.md" '
    /^<!-- param-table:end -->$/ { skip = 0 }
    !skip { print }
    /^<!-- param-table:begin -->$/ {
        while ((getline line < table) > 0) print line
        skip = 1
    }' "$guide" > "$tmp/guide.md"
    if [ "$mode" = check ]; then
        if cmp -s "$guide" "$tmp/guide.md"; then
            echo "docs/guide.md: parameter table up to date"
        else
            diff -u "$guide" "$tmp/guide.md" || true
            echo "docs/guide.md: parameter table out of date (run tools/gen-param-table.sh --update)" >&2
            exit 1
        fi
    else
        cp "$tmp/guide.md" "$guide"
    fi
    ;;
esac
