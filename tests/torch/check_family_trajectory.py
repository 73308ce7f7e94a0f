# SPDX-License-Identifier: MIT
"""Runs tests/torch/family_trajectory (libsae) and the same 10 Adam steps in
PyTorch, written from the papers' formulas, from the same initial weights
and batches, and checks every reported loss term of every step within 1e-4
relative: an independent check of the forward pass, the gradients (of the
code and of the decoder rows) and the update.
Usage: check_family_trajectory.py FAMILY_TRAJECTORY_EXE MODE"""
import json
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch

D, H, ROWS, BATCH = 24, 48, 256, 64
TOL = 1e-4


def load_safetensors(path):
    blob = open(path, "rb").read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    out = {}
    for name, v in header.items():
        if name == "__metadata__":
            continue
        s, e = v["data_offsets"]
        out[name] = np.frombuffer(data[s:e], dtype="<f4").reshape(v["shape"]).copy()
    return out


def topk_rows(a, k):
    """Keeps the k largest entries of each row (Makhzani & Frey 2013)."""
    idx = a.topk(k, dim=1).indices
    mask = torch.zeros_like(a).scatter_(1, idx, 1.0)
    return a * mask


def topk_batch(a, k):
    """Keeps the rows*k largest entries of the batch (BatchTopK, Bussmann et
    al. 2024, arXiv 2412.06410)."""
    flat = a.reshape(-1)
    idx = flat.topk(a.shape[0] * k).indices
    mask = torch.zeros_like(flat).scatter_(0, idx, 1.0)
    return (flat * mask).reshape(a.shape)


def objective(mode, p, b):
    """The terms of the objective on batch b: {name: value}."""
    we, be, wd, bd = p["encoder.weight"], p["encoder.bias"], p["decoder.weight"], \
        p["decoder.bias"]
    # Gao et al. 2024's b_pre = decoder.bias, subtracted before the encoder.
    xin = b - bd if mode != "matryoshka_batch" else b
    h = torch.relu(xin @ we.T + be)
    if mode == "decnorm":
        # Anthropic, April 2024: lambda sum_j |h_j| ||W_dec row j||, libsae's
        # L1 scale (mean over the B x H code elements).
        recon = ((h @ wd + bd - b) ** 2).mean()
        l1 = 2.0 * (h.abs() * wd.norm(dim=1)).sum() / (h.shape[0] * H)
        return {"recon": recon, "l1": l1}
    if mode == "matryoshka_topk":
        h, prefixes, mean = topk_rows(h, 6), [4, 12, 24, 48], False
    else:
        h, prefixes, mean = topk_batch(h, 6), [8, 16, 48], True
    # Bussmann et al. 2025 (arXiv 2503.17547): each prefix of the dictionary
    # reconstructs the input on its own; the losses are summed (or averaged).
    losses = [((h[:, :m] @ wd[:m] + bd - b) ** 2).mean() for m in prefixes]
    recon = sum(losses) / (len(losses) if mean else 1)
    return {"recon": recon}


def main():
    exe, mode = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([exe, d, mode], check=True)
        w = load_safetensors(d + "/m0.safetensors")
        x = torch.tensor(np.fromfile(d + "/data.f32", dtype="<f4").reshape(ROWS, D))
        ours = []
        for line in open(d + "/losses.txt"):
            ours.append({k: float(v) for k, v in (f.split("=") for f in line.split())})
    p = {k: torch.tensor(v, requires_grad=True) for k, v in w.items()}
    opt = torch.optim.Adam(list(p.values()), lr=3e-3)
    worst = 0.0
    for k, mine in enumerate(ours):
        b = x[(k % (ROWS // BATCH)) * BATCH:][:BATCH]
        terms = objective(mode, p, b)
        loss = sum(terms.values())
        opt.zero_grad()
        loss.backward()
        opt.step()
        terms["loss"] = loss
        line = []
        for name, v in terms.items():
            if name not in mine:
                print(f"step {k}: libsae reports no term {name}")
                sys.exit(1)
            rel = abs(mine[name] - v.item()) / abs(v.item())
            worst = max(worst, rel)
            line.append(f"{name} libsae {mine[name]:.7g} torch {v.item():.7g} rel {rel:.1e}")
        extra = set(mine) - set(terms)
        if extra:
            print(f"step {k}: libsae reports terms torch does not model: {sorted(extra)}")
            sys.exit(1)
        print(f"step {k}: " + "; ".join(line))
    print(f"{mode}: worst relative difference {worst:.2e} over {len(ours)} Adam steps")
    sys.exit(0 if worst < TOL else 1)


if __name__ == "__main__":
    main()
