#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""numpy and PyTorch references for tests/bench/bench_infer_gemmascope.c:
the JumpReLU encode h = z * (z > threshold), z = x W_enc^T + b_enc (Gemma
Scope's forward; threshold > 0, so relu is included) of the arrays the
benchmark saved as raw little-endian float32 files in DIR, both in fp32.
Prints rows per second (median of REPS timed runs after one warm-up) and
the largest difference of their codes from libsae's fp32 codes of the
first CHECK rows, relative to the largest code. Run with Debian's
interpreter (/usr/bin/python3: python3-numpy, python3-torch); torch takes
its default intra-op threads unless OMP_NUM_THREADS says otherwise.

usage: encode_reference.py DIR ROWS D_IN D_SAE CHECK REPS"""
import os
import statistics
import sys
import time

import numpy as np


def timed(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main():
    d, rows, d_in, d_sae, check, reps = sys.argv[1], *map(int, sys.argv[2:7])

    def load(name, *shape):
        return np.fromfile(os.path.join(d, name), dtype="<f4").reshape(shape)

    x = load("x.f32", rows, d_in)
    w = load("w_enc.f32", d_sae, d_in)  # libsae's layout: one row per latent
    b = load("b_enc.f32", d_sae)
    th = load("threshold.f32", d_sae)
    ref = load("codes.f32", check, d_sae)
    scale = float(np.abs(ref).max()) or 1.0

    def np_encode():
        z = x @ w.T
        z += b
        return z * (z > th)

    secs, h = timed(np_encode, reps)
    print("numpy_version: %s" % np.__version__)
    print("numpy_fp32_encode_rows_per_s: %.0f" % (rows / secs))
    print("numpy_codes_max_diff_rel: %.2e" % (np.abs(h[:check] - ref).max() / scale))
    secs, _ = timed(lambda: x @ w.T, reps)
    print("numpy_fp32_gemm_rows_per_s: %.0f" % (rows / secs))
    del h
    try:
        import torch
    except ImportError:
        print("torch_fp32_encode_rows_per_s: unavailable")
        return
    tx, tw, tb, tth = (torch.from_numpy(a) for a in (x, w, b, th))

    def torch_encode():
        with torch.no_grad():
            z = torch.addmm(tb, tx, tw.t())
            return z * (z > tth)

    secs, h = timed(torch_encode, reps)
    print("torch_version: %s" % torch.__version__)
    print("torch_threads: %d" % torch.get_num_threads())
    print("torch_fp32_encode_rows_per_s: %.0f" % (rows / secs))
    print("torch_codes_max_diff_rel: %.2e" % (float((h[:check] - torch.from_numpy(ref)).abs().max()) / scale))


if __name__ == "__main__":
    main()
