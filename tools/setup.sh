#!/usr/bin/env bash
# The README's first command, on a fresh Debian 12 machine:
#
#   sudo tools/setup.sh
#
# 1. installs the Debian packages of tools/deps.sh (needs root),
# 2. fetches the data sets into data-cache/ (tools/fetch-data.sh),
# 3. builds libsae, its tools and examples in build/,
# 4. runs experiment E1 (examples/universal_sparse_encoder), which writes its
#    pictures and results.json into out/universal_sparse_encoder/.
# Steps 2-4 run as the user who called sudo, so the checkout stays theirs.
#
# Options: --quick runs E1's short version (for a smoke test), --no-run
# stops after the build. Anything after -- goes to the E1 program.
# SPDX-License-Identifier: MIT
set -euo pipefail

repo_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_dir"

run_e1=1
e1_args=()
after_deps=0
while [ $# -gt 0 ]; do
    case $1 in
    --quick) e1_args+=(--quick) ;;
    --no-run) run_e1=0 ;;
    --after-deps) after_deps=1 ;; # internal: the part that runs as the user
    --) shift; e1_args+=("$@"); break ;;
    -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

t0=$SECONDS
if [ "$after_deps" = 0 ]; then
    echo "== setup: Debian packages"
    if [ "$(id -u)" -ne 0 ] && ! tools/deps.sh --check >/dev/null 2>&1; then
        echo "setup: packages are missing and installing them needs root: run  sudo tools/setup.sh" >&2
        tools/deps.sh --check >&2 || true
        exit 1
    fi
    tools/deps.sh
    # Back to the user who ran sudo for everything that writes into the checkout.
    if [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
        args=(--after-deps)
        [ "$run_e1" = 0 ] && args+=(--no-run)
        exec runuser -u "$SUDO_USER" -- "$0" "${args[@]}" -- "${e1_args[@]}"
    fi
fi

echo "== setup: data"
if [ -x tools/fetch-data.sh ]; then
    tools/fetch-data.sh || echo "setup: WARNING: some data sets could not be fetched (see above)"
fi

echo "== setup: build"
reconfigure=()
[ -f build/build.ninja ] && reconfigure=(--reconfigure)
log=$(mktemp)
meson setup "${reconfigure[@]}" build > "$log" 2>&1 || { cat "$log"; rm -f "$log"; exit 1; }
rm -f "$log"
ninja -C build

if [ "$run_e1" = 0 ]; then
    echo "setup: built in $((SECONDS - t0))s; the libraries and programs are in build/"
    exit 0
fi

out=out/universal_sparse_encoder
echo "== setup: E1, universal sparse encoder -> $out"
build/examples/universal_sparse_encoder --out "$out" "${e1_args[@]}"

echo
echo "setup: done in $((SECONDS - t0))s."
echo "setup: E1's pictures and results are in $repo_dir/$out/:"
ls -1 "$out" | sed 's/^/    /'
echo "setup: what they show: docs/experiments/e1.md. The whole test suite: tools/test.sh"
