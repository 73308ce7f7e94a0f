# SPDX-License-Identifier: MIT
"""E2's L1 run in libsae (tests/torch/e2_replay) and in PyTorch from the
same initial weights on the same batches of the fetched digits, to tell a
setting that loses the decoder from a library bug: prints both BCE
trajectories side by side and where they part. Not a suite test (a few
hundred steps at batch 1200).
Usage: e2_replay.py E2_REPLAY_EXE DATA_DIR SEED STEPS"""
import json
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from check_e2_trajectory import load_safetensors  # noqa: E402

BATCH = 1200


def main():
    exe, data, seed, steps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    torch.set_num_threads(1)
    x = np.concatenate([np.asarray(json.load(open(f"{data}/mnist-digits/{d}.json"))["data"],
                                   dtype="<f4").reshape(-1, 784) for d in range(10)])
    rng = np.random.default_rng(int(seed))
    x = x[rng.permutation(len(x))[:8000]]
    order = np.concatenate([rng.permutation(len(x)) for _ in range(steps * BATCH // len(x) + 1)])
    idx = order[:steps * BATCH].astype("<i4")
    with tempfile.TemporaryDirectory() as d:
        x.tofile(d + "/images.f32")
        idx.tofile(d + "/batches.i32")
        subprocess.run([exe, d, seed], check=True)
        w = load_safetensors(d + "/m0.safetensors")
        ours = np.loadtxt(d + "/losses.txt")
    enc = [nn.Conv2d(1, 8, 3), nn.Conv2d(8, 16, 5), nn.Conv2d(16, 32, 5, stride=2)]
    dec = [nn.ConvTranspose2d(32, 16, 3, stride=2), nn.ConvTranspose2d(16, 8, 5, stride=2),
           nn.ConvTranspose2d(8, 1, 8)]
    with torch.no_grad():
        for i, m in zip([0, 1, 2, 4, 5, 6], enc + dec):
            m.weight.copy_(torch.tensor(w[f"layers.{i}.weight"]).view_as(m.weight))
            m.bias.copy_(torch.tensor(w[f"layers.{i}.bias"]).view_as(m.bias))
    opt = torch.optim.Adam([p for m in enc + dec for p in m.parameters()], lr=9e-3)
    xt = torch.tensor(x).reshape(-1, 1, 28, 28)
    parted = None
    for k in range(steps):
        b = xt[torch.tensor(idx[k * BATCH:(k + 1) * BATCH].astype(np.int64))]
        acts, v = [], b
        for m in enc:
            v = torch.relu(m(v))
            acts.append(v)
        v = F.max_pool2d(v, 2)
        acts.append(v)
        for m in dec[:-1]:
            v = torch.relu(m(v))
            acts.append(v)
        bce = F.binary_cross_entropy_with_logits(dec[-1](v), b)
        loss = bce + 4e-5 * sum(a.abs().mean() for a in acts)
        opt.zero_grad()
        loss.backward()
        opt.step()
        rel = abs(ours[k, 1] - bce.item()) / bce.item()
        if parted is None and rel > 1e-2:
            parted = k
        if k % 10 == 0 or k == steps - 1:
            print(f"step {k}: bce libsae {ours[k, 1]:.5f} torch {bce.item():.5f} rel {rel:.1e}",
                  flush=True)
    print(f"seed {seed}, {steps} steps: final bce libsae {ours[-1, 1]:.4f} torch "
          f"{bce.item():.4f}; trajectories part (1e-2) at step {parted}")


if __name__ == "__main__":
    main()
