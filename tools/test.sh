#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run). From any folder:
#
#   tools/test.sh
#
# Stages, each timed; a failing stage does not stop the later ones, and the
# script exits 1 at the end if any failed:
#   data     tools/fetch-data.sh when the data cache is absent
#   build    meson setup build, ninja, meson test          (OpenBLAS)
#   docs     docs/guide.md's parameter table matches the library
#   valgrind build/'s compiled test programs again under valgrind memcheck
#   examples every example program's --quick run on the data cache
#   asan     setup, ninja, meson test in build-asan with -Db_sanitize=address,undefined,
#            built with clang when it is there (it adds the fuzz-seed tests)
#   tsan     build-tsan with -Db_sanitize=thread (clang), the threads test only:
#            8 threads on one model through every inference call, 8 training
#            8 models (OpenBLAS and OpenMP at one thread: not instrumented)
#   abi      tools/abi-check.sh against abi/libsae.abi     (on build/)
#   blis     build-blis with -Dblas=blis, the numerical core tests only
#   python   bindings/python/tests (pytest with /usr/bin/python3) against build/'s
#            library: LIBSAE_LIBRARY=build/lib/libsae.so.0, PYTHONPATH=bindings/python
#
# Environment: SAE_TEST_SKIP="valgrind blis" skips stages; SAE_TEST_JOBS sets
# ninja's and meson test's parallelism (default: all cores);
# SAE_VALGRIND_SKIP lists tests kept out of memcheck (default "nsc lbfgs save": save's kill test forks 200 savers).
# SPDX-License-Identifier: MIT
set -euo pipefail

repo_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_dir"

jobs=${SAE_TEST_JOBS:-$(nproc 2>/dev/null || echo 2)}
skip=" ${SAE_TEST_SKIP:-} "
# Tests of the BLAS-dependent core, run again against BLIS.
blis_tests=(core model trainer topk nsc conv network)

declare -a stage_names=() stage_results=() stage_secs=()
total_pass=0 total_fail=0 total_skip=0
failed=0
t_start=$SECONDS

say() { printf '\n==== %s\n' "$*"; }

record() { # name result seconds
    stage_names+=("$1")
    stage_results+=("$2")
    stage_secs+=("$3")
    if [ "$2" = FAIL ]; then failed=1; fi
}

# Adds the counts of BUILD/meson-logs/LOG (default testlog.json) to the totals.
count_tests() {
    local log=$1/meson-logs/${2:-testlog.json} counts
    [ -f "$log" ] || return 0
    counts=$(python3 - "$log" <<'PY'
import json, sys
p = f = s = 0
for line in open(sys.argv[1]):
    line = line.strip()
    if not line:
        continue
    r = json.loads(line).get("result", "")
    if r in ("OK", "EXPECTEDFAIL"):
        p += 1
    elif r == "SKIP":
        s += 1
    else:
        f += 1
print(p, f, s)
PY
)
    read -r p f s <<<"$counts"
    total_pass=$((total_pass + p)) total_fail=$((total_fail + f)) total_skip=$((total_skip + s))
}

# setup_build DIR [meson options...]: configure DIR, or reconfigure it with
# the given options when it already exists.
setup_build() {
    local dir=$1 log
    shift
    log=$(mktemp)
    if [ -f "$dir/build.ninja" ]; then
        set -- --reconfigure "$@"
    fi
    if ! meson setup "$@" "$dir" > "$log" 2>&1; then
        cat "$log"
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
}

# build_and_test NAME DIR "MESON OPTIONS" [TEST NAMES...]
build_and_test() {
    local name=$1 dir=$2 opts=$3 t0=$SECONDS result=ok
    shift 3
    say "$name: meson setup $dir $opts"
    # shellcheck disable=SC2086 # options are words
    if ! setup_build "$dir" $opts; then
        record "$name" FAIL $((SECONDS - t0))
        return 0
    fi
    say "$name: ninja -C $dir"
    if ! ninja -C "$dir" -j "$jobs" > "$dir/ninja.log" 2>&1; then
        grep -v '^\[' "$dir/ninja.log" | tail -n 60 || true
        echo "$name: build FAILED (full log: $dir/ninja.log)"
        record "$name" FAIL $((SECONDS - t0))
        return 0
    fi
    grep -i -E 'warning' "$dir/ninja.log" | sort -u | head -n 20 || true
    say "$name: meson test -C $dir $*"
    if ! meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes "$jobs" "$@"; then
        result=FAIL
    fi
    count_tests "$dir"
    record "$name" "$result" $((SECONDS - t0))
}

# ---------------------------------------------------------------------------
if [[ $skip != *" data "* ]]; then
    t0=$SECONDS
    cache=${SAE_DATA_CACHE:-$repo_dir/data-cache}
    if [ -d "$cache" ]; then
        say "data: cache present in $cache"
        record data ok $((SECONDS - t0))
    elif [ -x tools/fetch-data.sh ]; then
        say "data: tools/fetch-data.sh"
        # The unit tests use only tests/data; missing downloads are a warning.
        if tools/fetch-data.sh "$cache"; then
            record data ok $((SECONDS - t0))
        else
            echo "data: WARNING: tools/fetch-data.sh failed; tests that need the cache skip"
            data_result=warn
            record data warn $((SECONDS - t0))
        fi
    else
        say "data: no tools/fetch-data.sh, nothing to fetch"
        record data skip 0
    fi
fi

if [[ $skip != *" build "* ]]; then
    build_and_test build build ""
fi

if [[ $skip != *" docs "* ]] && [ -x tools/gen-param-table.sh ] && [ -f build/build.ninja ]; then
    t0=$SECONDS
    say "docs: tools/gen-param-table.sh --check build"
    if tools/gen-param-table.sh --check build; then
        record docs ok $((SECONDS - t0))
        total_pass=$((total_pass + 1))
    else
        record docs FAIL $((SECONDS - t0))
        total_fail=$((total_fail + 1))
    fi
fi

if [[ $skip != *" valgrind "* ]] && command -v valgrind >/dev/null 2>&1 && [ -f build/build.ninja ]; then
    # build/'s compiled test programs (not the shell and Python checks) under
    # memcheck: any memory error or definite leak fails. memcheck runs
    # BLAS-bound code 100-1000x slower (test nsc: 0.5 s natively, over 300 s
    # under memcheck), so the tests named in SAE_VALGRIND_SKIP are left to the
    # sanitizer stage.
    t0=$SECONDS
    vg_skip=" ${SAE_VALGRIND_SKIP-nsc lbfgs save} "
    mapfile -t vg_tests < <(meson introspect build --tests | python3 -c '
import json, os, sys
build, skip = os.path.realpath(sys.argv[1]), sys.argv[2].split()
for t in json.load(sys.stdin):
    if os.path.realpath(t["cmd"][0]).startswith(build + os.sep) and t["name"] not in skip:
        print(t["name"])' build "$vg_skip")
    say "valgrind: meson test -C build --wrapper valgrind ${vg_tests[*]} (not:${vg_skip% })"
    if [ "${#vg_tests[@]}" -eq 0 ]; then
        result=skip
    elif meson test -C build --no-rebuild --print-errorlogs --num-processes "$jobs" \
        --timeout-multiplier 4 --wrapper "valgrind -q --error-exitcode=1 --leak-check=full \
        --errors-for-leak-kinds=definite --show-leak-kinds=definite" "${vg_tests[@]}"; then
        result=ok
    else
        result=FAIL
    fi
    [ "$result" = skip ] || count_tests build testlog-valgrind.json
    record valgrind "$result" $((SECONDS - t0))
fi

if [[ $skip != *" examples "* ]] && [ -d build/examples ]; then
    # Every example program's short run (--quick) on the data cache: it must
    # exit 0 and leave results.json and PNG pictures.
    t0=$SECONDS result=ok ex_fail=0
    ex_out=$(mktemp -d)
    for src in examples/*.c; do
        prog=$(basename "$src" .c)
        [ -x "build/examples/$prog" ] || continue
        say "examples: build/examples/$prog --quick"
        if build/examples/"$prog" --quick --out "$ex_out/$prog" > "$ex_out/$prog.log" 2>&1 &&
            [ -s "$ex_out/$prog/results.json" ] && ls "$ex_out/$prog"/*.png > /dev/null 2>&1; then
            echo "ok: $(ls "$ex_out/$prog" | wc -l) files"
            total_pass=$((total_pass + 1))
        else
            tail -n 20 "$ex_out/$prog.log"
            echo "examples: $prog FAILED"
            ex_fail=$((ex_fail + 1))
            result=FAIL
        fi
    done
    rm -rf "$ex_out"
    if [ "$result" = FAIL ] && [ "${data_result:-ok}" = warn ]; then
        # Not the program's fault when the data could not be fetched.
        echo "examples: failures counted as a warning: the data cache is incomplete"
        total_skip=$((total_skip + ex_fail)) result=warn
    else
        total_fail=$((total_fail + ex_fail))
    fi
    record examples "$result" $((SECONDS - t0))
fi

if [[ $skip != *" asan "* ]]; then
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
    # With clang when there is one: the fuzz harnesses (libFuzzer) are only
    # built with clang, and a second compiler's warnings come for free.
    asan_cc=${SAE_ASAN_CC:-clang}
    asan_cxx=${asan_cc/clang/clang++}
    if ! command -v "$asan_cc" >/dev/null 2>&1 || ! command -v "$asan_cxx" >/dev/null 2>&1; then
        asan_cc=${CC:-cc} asan_cxx=${CXX:-c++}
    fi
    CC=$asan_cc CXX=$asan_cxx \
        build_and_test asan build-asan "-Db_sanitize=address,undefined -Db_lundef=false"
    unset ASAN_OPTIONS UBSAN_OPTIONS
fi

if [[ $skip != *" tsan "* ]] && command -v clang >/dev/null 2>&1; then
    # ThreadSanitizer needs every thread's memory accesses instrumented:
    # the BLAS and OpenMP runtimes are not, so both stay on the calling
    # thread; only the test that exercises threads is built.
    t0=$SECONDS result=ok
    say "tsan: meson setup build-tsan -Db_sanitize=thread -Db_lundef=false (clang)"
    if CC=clang CXX=clang++ setup_build build-tsan -Db_sanitize=thread -Db_lundef=false \
        -Dexamples=false && ninja -C build-tsan -j "$jobs" tests/test_threads > build-tsan/ninja.log 2>&1; then
        if ! OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 TSAN_OPTIONS="halt_on_error=1 exitcode=66" \
            meson test -C build-tsan --no-rebuild --print-errorlogs threads; then
            result=FAIL
        fi
        count_tests build-tsan
    else
        tail -n 40 build-tsan/ninja.log 2>/dev/null || true
        result=FAIL
    fi
    record tsan "$result" $((SECONDS - t0))
fi

if [[ $skip != *" abi "* ]]; then
    t0=$SECONDS
    say "abi: tools/abi-check.sh build"
    if [ -f build/build.ninja ] && tools/abi-check.sh build; then
        record abi ok $((SECONDS - t0))
    else
        record abi FAIL $((SECONDS - t0))
    fi
fi

if [[ $skip != *" blis "* ]]; then
    # Only the tests that exist in this tree (the list may run ahead of it).
    have=()
    for t in "${blis_tests[@]}"; do
        if [ -f "tests/test_$t.c" ]; then have+=("$t"); fi
    done
    build_and_test blis build-blis "-Dblas=blis" "${have[@]}"
fi

if [[ $skip != *" python "* ]] && [ -f build/lib/libsae.so.0 ]; then
    # The Python binding's tests against the library just built; pytest's
    # junit report gives the counts.
    t0=$SECONDS result=ok
    say "python: /usr/bin/python3 -m pytest -q bindings/python/tests"
    py_xml=$(mktemp)
    if ! /usr/bin/python3 -c 'import pytest, numpy' >/dev/null 2>&1; then
        echo "python: /usr/bin/python3 lacks pytest or numpy (tools/deps.sh installs them)"
        result=FAIL total_fail=$((total_fail + 1))
    else
        if ! LIBSAE_LIBRARY="$repo_dir/build/lib/libsae.so.0" \
            PYTHONPATH="$repo_dir/bindings/python${PYTHONPATH:+:$PYTHONPATH}" \
            OPENBLAS_NUM_THREADS=1 /usr/bin/python3 -m pytest -q -p no:cacheprovider \
            --junitxml="$py_xml" bindings/python/tests; then
            result=FAIL
        fi
        read -r p f s < <(/usr/bin/python3 - "$py_xml" <<'PY'
import sys
import xml.etree.ElementTree as ET
p = f = s = 0
try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print(0, 1, 0)
    sys.exit(0)
for suite in ([root] if root.tag == "testsuite" else root.iter("testsuite")):
    n, fl = int(suite.get("tests", 0)), int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    sk = int(suite.get("skipped", 0))
    p, f, s = p + n - fl - sk, f + fl, s + sk
print(p, f, s)
PY
)
        total_pass=$((total_pass + p)) total_fail=$((total_fail + f)) total_skip=$((total_skip + s))
    fi
    rm -f "$py_xml"
    record python "$result" $((SECONDS - t0))
fi

# ---------------------------------------------------------------------------
say "summary"
for i in "${!stage_names[@]}"; do
    printf '  %-8s %-5s %4ds\n' "${stage_names[$i]}" "${stage_results[$i]}" "${stage_secs[$i]}"
done
printf '  total          %4ds\n' $((SECONDS - t_start))
if [ "$failed" -ne 0 ]; then
    echo "tools/test.sh: FAILED"
fi
echo "tests: $total_pass passed, $total_fail failed, $total_skip skipped"
exit "$failed"
