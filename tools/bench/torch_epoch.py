#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""PyTorch reference for tests/bench/bench_train_epoch.c: one epoch of the
same 784-1024-784 sigmoid autoencoder, BCE (from logits) + Bernoulli KL,
Adam, batch 1200, on Fashion-MNIST's 60,000 training images. Run with
Debian's interpreter (/usr/bin/python3, packages python3-torch and
python3-numpy). Prints the median epoch time over the repetitions."""
import gzip
import statistics
import sys
import time

import numpy as np
import torch

from machine import print_machine

PATH = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"


def load(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(-1, 784).astype(np.float32) / 255.0


def main():
    print_machine()
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    x = torch.from_numpy(load(sys.argv[2] if len(sys.argv) > 2 else PATH))
    torch.manual_seed(0)
    enc = torch.nn.Linear(784, 1024)
    dec = torch.nn.Linear(1024, 784)
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=1e-3)
    rho, beta = 0.05, 0.1

    def epoch():
        for i in range(0, x.shape[0], 1200):
            xb = x[i:i + 1200]
            h = torch.sigmoid(enc(xb))
            logits = dec(h)
            rec = torch.nn.functional.binary_cross_entropy_with_logits(logits, xb)
            rh = h.mean(0).clamp(1e-6, 1 - 1e-6)
            kl = (rho * torch.log(rho / rh) + (1 - rho) * torch.log((1 - rho) / (1 - rh))).sum()
            loss = rec + beta * kl
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    epoch()  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        epoch()
        times.append(time.perf_counter() - t0)
        print(f"torch epoch {times[-1]:.3f} s")
    print(f"torch_threads: {torch.get_num_threads()}")
    print(f"torch_epoch_seconds: {statistics.median(times):.3f}")


if __name__ == "__main__":
    main()
