# SPDX-License-Identifier: MIT
"""E2's KL run in PyTorch with the KL on sigmoid-squashed pre-activations:
rho_hat_j = mean_b sigmoid(z_bj), z the output of a layer's convolution
before its ReLU (for the max pooling, the pool of the previous layer's z,
since max-pooling commutes with the ReLU and the sigmoid). Same data as
examples/sparse_kl_l1 (the npm digits split 8,000 / 1,000 / 1,000 with the
example's SplitMix64 permutation, test = the first 1,200 held-out digits),
Adam 9e-3, batch 1200, 143 epochs (1,001 steps), rho 0.08, beta 0.005,
BCE mean over pixels. PyTorch's default initialisation with torch seed SEED.
Not a suite test (minutes on one thread); docs/experiments/e2.md.
Usage: e2_sigmoid_pre.py DATA_DIR SEED [EPOCHS] [pre|post]"""
import json
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

BATCH, RHO, BETA, TEST_ROWS = 1200, 0.08, 0.005, 1200
M64 = (1 << 64) - 1


def splitmix_permutation(n, seed):
    """examples/common/split.c's ex_permutation (SplitMix64, Fisher-Yates)."""
    state, idx = seed, list(range(n))

    def nxt():
        nonlocal state
        state = (state + 0x9E3779B97F4A7C15) & M64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)

    for i in range(n, 1, -1):
        limit = M64 - M64 % i
        r = nxt()
        while r >= limit:
            r = nxt()
        j = r % i
        idx[i - 1], idx[j] = idx[j], idx[i - 1]
    return np.array(idx)


def load(data, seed):
    x = np.concatenate([np.asarray(json.load(open(f"{data}/mnist-digits/{d}.json"))["data"],
                                   dtype=np.float32).reshape(-1, 784) for d in range(10)])
    n = len(x)
    n_val = n_test = n // 10
    p = splitmix_permutation(n, seed)
    train = x[p[:n - n_val - n_test]]
    val, test = x[p[n - n_val - n_test:n - n_test]], x[p[n - n_test:]]
    held = np.concatenate([test, val])[:TEST_ROWS]
    return torch.tensor(train).view(-1, 1, 28, 28), torch.tensor(held).view(-1, 1, 28, 28)


def kl(rho_hat):
    r = rho_hat.clamp(1e-6, 1 - 1e-6)
    return (RHO * torch.log(RHO / r) + (1 - RHO) * torch.log((1 - RHO) / (1 - r))).sum()


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.ModuleList([nn.Conv2d(1, 8, 3), nn.Conv2d(8, 16, 5),
                                  nn.Conv2d(16, 32, 5, stride=2)])
        self.dec = nn.ModuleList([nn.ConvTranspose2d(32, 16, 3, stride=2),
                                  nn.ConvTranspose2d(16, 8, 5, stride=2),
                                  nn.ConvTranspose2d(8, 1, 8)])

    def forward(self, x, squash):
        """Logits and the list of the six penalised maps (pre: z; post: relu(z))."""
        pen, v = [], x
        for m in self.enc:
            z = m(v)
            v = torch.relu(z)
            pen.append(z if squash == "pre" else v)
        z = F.max_pool2d(pen[-1], 2)
        v = F.max_pool2d(v, 2)
        pen.append(z)
        for m in self.dec[:-1]:
            z = m(v)
            v = torch.relu(z)
            pen.append(z if squash == "pre" else v)
        return self.dec[-1](v), pen


def main():
    data, seed = sys.argv[1], int(sys.argv[2])
    epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 143
    squash = sys.argv[4] if len(sys.argv) > 4 else "pre"
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    train, test = load(data, seed)
    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=9e-3)
    g = torch.Generator().manual_seed(seed)
    t0, step = time.time(), 0
    for e in range(epochs):
        order = torch.randperm(len(train), generator=g)
        losses = []
        for pos in range(0, len(train), BATCH):
            b = train[order[pos:pos + BATCH]]
            logits, pen = net(b, squash)
            bce = F.binary_cross_entropy_with_logits(logits, b)
            penalty = BETA * sum(kl(torch.sigmoid(a).mean(0)) for a in pen)
            loss = bce + penalty
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            step += 1
            if step % 50 == 1:
                print(f"step {step}: loss {loss.item():.4f} bce {bce.item():.4f} "
                      f"penalty {penalty.item():.4f} ({time.time() - t0:.0f} s)", flush=True)
    with torch.no_grad():
        logits, pen = net(test, squash)
        tbce = F.binary_cross_entropy_with_logits(logits, test).item()
        tpen = BETA * sum(kl(torch.sigmoid(a).mean(0)) for a in pen).item()
        code = F.max_pool2d(torch.relu(net.enc[2](torch.relu(net.enc[1](torch.relu(
            net.enc[0](test)))))), 2)
        l0 = (code > 0).float().sum(dim=(1, 2, 3)).mean().item()
    print(f"seed {seed} squash {squash}: {step} steps, {time.time() - t0:.0f} s; train loss "
          f"(last epoch mean) {np.mean(losses):.4f}; test BCE {tbce:.4f} (published 0.0771); "
          f"test penalty {tpen:.4f}; code L0 {l0:.1f} of 512")


if __name__ == "__main__":
    main()
