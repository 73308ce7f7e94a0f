#!/bin/sh
# The first ```c block of README.md must be tests/abi/readme_example.c, which
# the suite compiles and runs: the README's example cannot rot.
#   check-readme.sh README.md readme_example.c
# SPDX-License-Identifier: MIT
set -eu
readme=$1
example=$2
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT INT TERM
awk '/^```c[[:space:]]*$/ && !done { inblock = 1; next }
     /^```/ && inblock { inblock = 0; done = 1; next }
     inblock { print }' "$readme" > "$tmp"
if [ ! -s "$tmp" ]; then
    echo "FAIL: no \`\`\`c block in $readme"
    exit 1
fi
if ! diff -u "$example" "$tmp"; then
    echo "FAIL: the C example in README.md differs from tests/abi/readme_example.c (diff above)"
    exit 1
fi
echo "ok: README.md's example is tests/abi/readme_example.c"
