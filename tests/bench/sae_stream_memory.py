#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Memory of `sae train` streamed (--shuffle-buffer) against in memory, on a
generated float32 .npy file (meson test --benchmark sae_stream_memory).

    sae_stream_memory.py SAE [--gb G] [--in-memory-gb G] [--dim D] [--steps S]
                         [--buffer N] [--dir DIR]

Makes a file of --in-memory-gb GiB (rows of D standard-normal float32
values) and trains on it in memory and streamed, then a file of G GiB
streamed. For each run: the peak resident set (VmHWM), the peak of its anonymous part (RssAnon, sampled every 20 ms:
the buffers, the model, the optimizer; the rest is the mapped file's pages,
which the kernel may drop at any time), the training's rows/s (the --log
file's last line) and the wall time. Prints cpu: and isa: first. (The
peak resident set is the process's VmHWM, sampled: wait4's ru_maxrss counts
the Python parent's pages of the spawn.)
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def cpu_lines():
    model, flags = "unknown", set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and model == "unknown":
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    isa = [i for i in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
           if i in flags]
    print(f"cpu: {model} ({os.cpu_count()} logical cpus)")
    print(f"isa: {' '.join(isa) if isa else 'baseline x86-64'}")


def make(path, gib, dim):
    rows = int(gib * (1 << 30)) // (4 * dim)
    a = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, dim))
    rng = np.random.default_rng(0)
    step = max(1, (64 << 20) // (4 * dim))
    for r in range(0, rows, step):
        n = min(step, rows - r)
        a[r:r + n] = rng.standard_normal((n, dim), dtype=np.float32)
    a.flush()
    del a
    return rows


def status_kb(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def train(sae, data, args, extra, log):
    cmd = [sae, "train", "-q", "--data", data, "--out", log + ".safetensors", "--log", log,
           "--log-every", "50", "--steps", str(args.steps), "--set",
           f"arch.hidden_dim={args.hidden}", "--set", "arch.hidden_activation=relu", "--set",
           "topk.k=32", "--set", f"train.batch_size={args.batch}", *extra]
    t0 = time.monotonic()
    p = subprocess.Popen(cmd)
    anon = hwm = 0
    while True:
        pid, status, _ = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        anon = max(anon, status_kb(p.pid, "RssAnon"))
        hwm = max(hwm, status_kb(p.pid, "VmHWM"))
        time.sleep(0.02)
    wall = time.monotonic() - t0
    if status != 0:
        sys.exit(f"{' '.join(cmd)}: exit status {status}")
    with open(log) as f:
        last = json.loads(f.read().splitlines()[-1])
    return hwm / 1024, anon / 1024, last["rows_per_s"], wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sae")
    ap.add_argument("--gb", type=float, default=8.0)
    ap.add_argument("--in-memory-gb", type=float, default=1.0)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--buffer", type=int, default=65536)
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    cpu_lines()
    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        small, big = os.path.join(d, "small.npy"), os.path.join(d, "big.npy")
        rows = make(small, args.in_memory_gb, args.dim)
        print(f"data: {rows} rows x {args.dim} float32 ({args.in_memory_gb:g} GiB); "
              f"{args.steps} steps of {args.batch} rows, hidden {args.hidden}, top-k 32")
        for name, extra in (("in memory", []),
                            (f"streamed, buffer {args.buffer}",
                             ["--shuffle-buffer", str(args.buffer)])):
            rss, anon, rate, wall = train(args.sae, small, args, extra, os.path.join(d, "l"))
            print(f"{args.in_memory_gb:g} GiB {name}: peak RSS {rss:.0f} MiB, peak anonymous "
                  f"{anon:.0f} MiB, {rate:.0f} rows/s, {wall:.1f} s")
        os.unlink(small)
        if args.gb > 0:
            rows = make(big, args.gb, args.dim)
            print(f"data: {rows} rows x {args.dim} float32 ({args.gb:g} GiB)")
            rss, anon, rate, wall = train(args.sae, big, args,
                                          ["--shuffle-buffer", str(args.buffer)],
                                          os.path.join(d, "l"))
            print(f"{args.gb:g} GiB streamed, buffer {args.buffer}: peak RSS {rss:.0f} MiB, "
                  f"peak anonymous {anon:.0f} MiB, {rate:.0f} rows/s, {wall:.1f} s")


if __name__ == "__main__":
    main()
