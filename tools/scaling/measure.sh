#!/bin/sh
# Measures the one input of tools/scaling/model.py: the time of one top-k
# training step of `sae train` (d_in 768, 16384 latents, k 32, batch 1024,
# 2 threads) on this machine, as the difference of a 40-step and a 10-step
# run (start-up and data loading cancel), median of three.
# Usage: tools/scaling/measure.sh BUILD_DIR   (prints "measured: d,n,b,s")
set -eu
build=${1:-build}
sae="$build/tools/sae"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 -c "import numpy as np; np.save('$tmp/x.npy', np.random.default_rng(0).standard_normal((40960, 768), dtype=np.float32))"
run() {
    start=$(date +%s.%N)
    "$sae" train -q -d "$tmp/x.npy" -o "$tmp/m.safetensors" -j 2 --steps "$1" \
        -s arch.hidden_dim=16384 -s arch.hidden_activation=relu \
        -s topk.k=32 -s train.batch_size=1024 -s loss.type=mse \
        -s optim.type=adam -s optim.lr=1e-4
    end=$(date +%s.%N)
    echo "$end - $start" | bc -l
}
times=""
for rep in 1 2 3; do
    a=$(run 10); b=$(run 40)
    times="$times $(echo "($b - $a) / 30" | bc -l)"
done
med=$(printf '%s\n' $times | sort -g | sed -n 2p)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
isa=$(grep -m1 -o -w 'avx512_bf16\|amx_bf16\|avx512f\|avx2' /proc/cpuinfo | sort -u | tr '\n' ' ')
echo "cpu: $cpu"
echo "isa: $isa"
printf "step_seconds: %.4f (repetitions:" "$med"; for t in $times; do printf " %.4f" "$t"; done; echo ")"
printf 'measured: 768,16384,1024,%.4f\n' "$med"
