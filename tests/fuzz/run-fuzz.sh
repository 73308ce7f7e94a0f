#!/bin/sh
# A fixed-count, fixed-seed libFuzzer run in a scratch corpus, seeded with
# the given files, so that the suite fuzzes (coverage-guided against the
# instrumented library) without writing into the source tree.
#   run-fuzz.sh HARNESS RUNS SEED_FILE... [-- LIBFUZZER_OPTIONS...]
# SPDX-License-Identifier: MIT
set -eu
harness=$1
runs=$2
shift 2
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT INT TERM
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    cp "$1" "$corpus/"
    shift
done
[ $# -gt 0 ] && shift
log=$(mktemp)
status=0
"$harness" "-runs=$runs" -seed=1 "$@" "$corpus" > "$log" 2>&1 || status=$?
tail -n 25 "$log"
# The instrumented modules and the coverage reached, as libFuzzer counts them.
grep -m 1 'INFO: Loaded' "$log" || true
rm -f "$log"
echo "run-fuzz: $runs runs, corpus grew to $(ls "$corpus" | wc -l) inputs, exit $status"
exit "$status"
