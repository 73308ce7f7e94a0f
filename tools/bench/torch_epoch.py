#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""PyTorch reference for tests/bench/bench_train_epoch.c: one epoch of the
same 784-1024-784 sigmoid autoencoder, BCE (from logits) + Bernoulli KL,
Adam, batch 1200, on Fashion-MNIST's 60,000 training images. Run with
Debian's interpreter (/usr/bin/python3, packages python3-torch and
python3-numpy). Prints the median epoch time over the repetitions.

Options (anywhere on the line): --bf16 runs the step under
torch.autocast("cpu", dtype=torch.bfloat16), PyTorch's one-line mixed
precision; --topk trains tests/bench/bench_precision.c's other model,
784-4096-784 ReLU keeping each row's 32 largest units, MSE; --threads=N
sets torch's intra-op threads (its default may be the physical cores)."""
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
    flags = {a for a in sys.argv[1:] if a.startswith("--")}
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    bf16, topk = "--bf16" in flags, "--topk" in flags
    reps = int(args[0]) if args else 3
    for a in flags:
        if a.startswith("--threads="):
            torch.set_num_threads(int(a.split("=", 1)[1]))
    x = torch.from_numpy(load(args[1] if len(args) > 1 else PATH))
    torch.manual_seed(0)
    hidden = 4096 if topk else 1024
    enc = torch.nn.Linear(784, hidden)
    dec = torch.nn.Linear(hidden, 784)
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=1e-3)
    rho, beta = 0.05, 0.1

    def loss_of(xb):
        if topk:
            a = torch.relu(enc(xb))
            val, idx = a.topk(32, dim=1)
            h = torch.zeros_like(a).scatter(1, idx, val)
            return torch.nn.functional.mse_loss(dec(h), xb)
        h = torch.sigmoid(enc(xb))
        logits = dec(h)
        rec = torch.nn.functional.binary_cross_entropy_with_logits(logits.float(), xb)
        rh = h.float().mean(0).clamp(1e-6, 1 - 1e-6)
        kl = (rho * torch.log(rho / rh) + (1 - rho) * torch.log((1 - rho) / (1 - rh))).sum()
        return rec + beta * kl

    def epoch():
        for i in range(0, x.shape[0], 1200):
            xb = x[i:i + 1200]
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = loss_of(xb)
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
    print(f"torch_precision: {'bf16 autocast' if bf16 else 'fp32'}")
    print(f"torch_epoch_seconds: {statistics.median(times):.3f}")


if __name__ == "__main__":
    main()
