#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""PyTorch reference for tests/bench/bench_e2_epoch.c: one epoch of E2's
convolutional autoencoder (KL variant) on 10,000 MNIST digits, batch 1200,
with two threads.

Architecture: Conv(1->8,k3)+ReLU, Conv(8->16,k5)+ReLU,
Conv(16->32,k5,s2)+ReLU, MaxPool2 (the code), ConvT(32->16,k3,s2)+ReLU,
ConvT(16->8,k5,s2)+ReLU, ConvT(8->1,k8)+Sigmoid. Loss: BCE with logits
(mean over pixels) + beta * sum over the six hidden activations of the
Bernoulli KL(rho || rho_hat) summed over units, rho_hat = the batch mean of
each unit clamped to [1e-6, 1 - 1e-6]; rho 0.08, beta 0.005. Adam lr 9e-3.

Data: the digits of data-cache/mnist-digits/{0..9}.json in that order (the
first 10,000, as the C benchmark takes them), or uniform random pixels when
the cache is absent. Run with Debian's interpreter (python3-torch,
python3-numpy):

    /usr/bin/python3 tools/bench/torch_e2_epoch.py [reps] [digits dir]

Prints every epoch's time and the median as
    torch_e2_epoch_seconds: X
    torch_e2_samples_per_s: X"""
import json
import os
import statistics
import sys
import time

import numpy as np
import torch

from machine import print_machine

ROWS = 10000
BATCH = 1200
HERE = os.path.dirname(os.path.abspath(__file__))
DIGITS = os.path.join(HERE, "..", "..", "data-cache", "mnist-digits")


def load(path):
    parts, have = [], 0
    for d in range(10):
        f = os.path.join(path, f"{d}.json")
        if not os.path.exists(f) or have >= ROWS:
            break
        with open(f, "r", encoding="utf-8") as fh:
            a = np.asarray(json.load(fh)["data"], dtype=np.float32).reshape(-1, 784)
        parts.append(a)
        have += a.shape[0]
    if have >= ROWS:
        return np.concatenate(parts)[:ROWS], "mnist digits"
    rng = np.random.default_rng(0)
    return rng.random((ROWS, 784), dtype=np.float32), "uniform random pixels"


def main():
    print_machine()
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    x_np, source = load(sys.argv[2] if len(sys.argv) > 2 else DIGITS)
    x = torch.from_numpy(x_np).reshape(-1, 1, 28, 28).contiguous()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    nn = torch.nn
    layers = [
        nn.Conv2d(1, 8, 3), nn.ReLU(),
        nn.Conv2d(8, 16, 5), nn.ReLU(),
        nn.Conv2d(16, 32, 5, stride=2), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.ConvTranspose2d(32, 16, 3, stride=2), nn.ReLU(),
        nn.ConvTranspose2d(16, 8, 5, stride=2), nn.ReLU(),
        nn.ConvTranspose2d(8, 1, 8),
    ]
    params = [p for m in layers for p in m.parameters()]
    opt = torch.optim.Adam(params, lr=9e-3)
    rho, beta, eps = 0.08, 0.005, 1e-6

    def kl(a):
        rh = a.mean(0).clamp(eps, 1 - eps)
        return (rho * torch.log(rho / rh) + (1 - rho) * torch.log((1 - rho) / (1 - rh))).sum()

    n_pen = [0]

    def step(xb):
        h, pen = xb, 0.0
        for m in layers:
            h = m(h)
            # The six hidden activations: after each ReLU and the pooling.
            if isinstance(m, (nn.ReLU, nn.MaxPool2d)):
                pen = pen + kl(h)
                n_pen[0] += 1
        rec = nn.functional.binary_cross_entropy_with_logits(h, xb)
        loss = rec + beta * pen
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    def epoch():
        for i in range(0, ROWS, BATCH):
            step(x[i:i + BATCH])

    epoch()  # warm-up
    assert n_pen[0] == 6 * ((ROWS + BATCH - 1) // BATCH), n_pen[0]
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        epoch()
        times.append(time.perf_counter() - t0)
        print(f"torch e2 epoch {times[-1]:.3f} s", flush=True)
    med = statistics.median(times)
    print(f"torch_data: {source}")
    print(f"torch_threads: {torch.get_num_threads()}")
    print(f"torch_mkldnn: {torch.backends.mkldnn.is_available()}")
    print(f"torch_e2_epoch_seconds: {med:.3f}")
    print(f"torch_e2_samples_per_s: {ROWS / med:.0f}")


if __name__ == "__main__":
    main()
