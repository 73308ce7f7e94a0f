# SPDX-License-Identifier: MIT
"""Runs tests/torch/arch_trajectory (libsae) and the same training in
PyTorch, written from the papers, from the same initial weights and
batches, and checks every loss term of every step (10 Adam steps) within
1e-4 relative, the learned tensors at the end, and the inference code.

  jumprelu:  Rajamanoharan et al. 2024, arXiv 2407.14435: h = p H(p - theta),
             p = relu(x We^T + be), theta = exp(log_threshold); the
             straight-through estimators of eqs. 11-12 (rectangle kernel)
             for theta in the JumpReLU and in the L0 penalty, none to p.
  gated:     Rajamanoharan et al. 2024, arXiv 2404.16014: h = 1[pi_gate > 0]
             relu(exp(r_mag) x We^T + b_mag), pi_gate = x We^T + be; the
             gate's L1 weighted by the atoms' detached norms and warmed up
             over 4 steps; the auxiliary reconstruction from relu(pi_gate)
             through the detached decoder.
  batchtopk: Bussmann, Leask, Nanda 2024, arXiv 2412.06410: the batch's B*k
             largest of relu(x We^T + be) kept; theta the running mean of
             each batch's smallest kept (positive) activation; inference
             keeps h > theta.
Usage: check_arch_trajectory.py ARCH_TRAJECTORY_EXE {jumprelu|batchtopk|gated}"""
import json
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch

ROWS, BATCH, IN, HIDDEN, STEPS = 96, 32, 20, 64, 10
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


class JumpReLU(torch.autograd.Function):
    """z = p H(p - theta); dz/dp = H(p - theta); dz/dtheta ~ -(theta/eps) K((p - theta)/eps)."""

    @staticmethod
    def forward(ctx, p, theta, half_eps, eps):
        ctx.save_for_backward(p, theta)
        ctx.half_eps, ctx.eps = half_eps, eps
        return p * (p > theta)

    @staticmethod
    def backward(ctx, g):
        p, theta = ctx.saved_tensors
        window = ((p - theta).abs() < ctx.half_eps).to(g)
        return g * (p > theta), (-(theta / ctx.eps) * window * g).sum(0), None, None


class Step(torch.autograd.Function):
    """H(p - theta); no gradient to p; dH/dtheta ~ -(1/eps) K((p - theta)/eps)."""

    @staticmethod
    def forward(ctx, p, theta, half_eps, eps):
        ctx.save_for_backward(p, theta)
        ctx.half_eps, ctx.eps = half_eps, eps
        return (p > theta).to(p)

    @staticmethod
    def backward(ctx, g):
        p, theta = ctx.saved_tensors
        window = ((p - theta).abs() < ctx.half_eps).to(g)
        return torch.zeros_like(p), (-(1.0 / ctx.eps) * window * g).sum(0), None, None


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-30)


def run(mode, d):
    w = load_safetensors(d + "/m0.safetensors")
    w_end = load_safetensors(d + f"/m{STEPS}.safetensors")
    x = torch.tensor(np.fromfile(d + "/rows.f32", dtype="<f4").reshape(ROWS, IN))
    ours = np.loadtxt(d + "/losses.txt")
    code_ours = np.fromfile(d + "/code.f32", dtype="<f4").reshape(ROWS, HIDDEN)
    params = {k: torch.tensor(w[k].reshape(w[k].shape), requires_grad=True)
              for k in ("encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias")}
    if mode == "jumprelu":
        params["jumprelu.log_threshold"] = torch.tensor(w["jumprelu.log_threshold"],
                                                        requires_grad=True)
        eps = 0.05
        half_eps = float(np.float32(0.5 * eps))
        lam0, lam1 = 0.01, 0.02
    if mode == "gated":
        for k in ("gated.r_mag", "gated.b_mag"):
            params[k] = torch.tensor(w[k], requires_grad=True)
        lam1 = 0.05
    opt = torch.optim.Adam(list(params.values()), lr=5e-3)
    we, be, wd, bd = (params[k] for k in ("encoder.weight", "encoder.bias", "decoder.weight",
                                          "decoder.bias"))
    worst, theta_sum, theta_n = 0.0, 0.0, 0
    k_keep = 4
    for k in range(STEPS):
        b = x[(k % (ROWS // BATCH)) * BATCH:][:BATCH]
        p = torch.relu(b @ we.T + be)
        terms = {}
        if mode == "gated":
            z = b @ we.T
            pi_gate = z + be
            pi_mag = params["gated.r_mag"].exp() * z + params["gated.b_mag"]
            h = (pi_gate > 0).to(z) * torch.relu(pi_mag)
            a = torch.relu(pi_gate)
            # The atoms' norms frozen like the auxiliary term's decoder, and
            # the weight warmed up over 4 steps (sparsity.warmup_steps).
            warm = min(1.0, k / 4)
            terms["l1"] = lam1 * warm * (a * wd.norm(dim=1).detach()).mean()
            terms["gated_aux"] = ((a @ wd.detach() + bd.detach() - b) ** 2).mean()
        elif mode == "jumprelu":
            theta = params["jumprelu.log_threshold"].exp()
            h = JumpReLU.apply(p, theta, half_eps, eps)
            terms["l1"] = lam1 * h.abs().mean()
            terms["l0"] = lam0 * Step.apply(p, theta, half_eps, eps).sum() / BATCH
        else:
            flat = p.reshape(-1)
            top = torch.topk(flat, BATCH * k_keep)
            mask = torch.zeros_like(flat)
            mask[top.indices] = 1.0
            h = (flat * mask).reshape(p.shape)
            kept = top.values.detach()
            kept = kept[kept > 0]
            if kept.numel() > 0:
                theta_n += 1
                theta_sum += (float(kept.min()) - theta_sum) / theta_n
        x_hat = h @ wd + bd
        terms["recon"] = ((x_hat - b) ** 2).mean()
        loss = sum(terms.values())
        opt.zero_grad()
        loss.backward()
        opt.step()
        cols = {"recon": 1, "l1": 2, "l0": 3, "gated_aux": 6}
        line = [f"step {k}:"]
        for name, v in terms.items():
            r = rel(ours[k, cols[name]], v.item())
            worst = max(worst, r)
            line.append(f"{name} libsae {ours[k, cols[name]]:.7g} torch {v.item():.7g} ({r:.1e})")
        r = rel(ours[k, 4], loss.item())
        worst = max(worst, r)
        line.append(f"loss rel {r:.1e}")
        print(" ".join(line))
    # The learned tensors after the 10 steps.
    names = list(params)
    if mode == "batchtopk":
        names.append("topk.threshold")
        got = float(w_end["topk.threshold"].reshape(-1)[0])
        n_got = float(w_end["topk.threshold_batches"].reshape(-1)[0])
        r = rel(got, theta_sum)
        print(f"threshold: libsae {got:.7g} over {n_got:g} batches, torch {theta_sum:.7g} "
              f"over {theta_n} ({r:.1e})")
        worst = max(worst, r)
        if n_got != theta_n:
            print("batch counts differ")
            worst = 1.0
    if mode == "jumprelu":
        moved = np.abs(w_end["jumprelu.log_threshold"] - w["jumprelu.log_threshold"])
        print(f"log thresholds moved: {(moved > 0).sum()} of {moved.size}, "
              f"at most {moved.max():.3g}")
        if not (moved > 0).any():
            worst = 1.0  # the straight-through gradient was not exercised
    for name in params:
        a = w_end[name].reshape(-1)
        t = params[name].detach().numpy().reshape(-1)
        r = float(np.abs(a - t).max() / max(np.abs(t).max(), 1e-30))
        print(f"{name}: max |libsae - torch| / max |torch| = {r:.1e}")
        worst = max(worst, r)
    # The inference form on every row with the final weights.
    with torch.no_grad():
        p = torch.relu(x @ torch.tensor(w_end["encoder.weight"]).T +
                       torch.tensor(w_end["encoder.bias"]))
        if mode == "gated":
            z = x @ torch.tensor(w_end["encoder.weight"]).T
            pm = torch.tensor(w_end["gated.r_mag"]).exp() * z + torch.tensor(w_end["gated.b_mag"])
            code = ((z + torch.tensor(w_end["encoder.bias"]) > 0).to(z) * torch.relu(pm)).numpy()
        else:
            if mode == "jumprelu":
                theta = torch.tensor(w_end["jumprelu.log_threshold"]).exp()
            else:
                theta = torch.tensor(w_end["topk.threshold"].reshape(-1)[0])
            code = (p * (p > theta)).numpy()
    agree = np.abs(code - code_ours) <= 1e-5 * (1 + np.abs(code))
    frac = agree.mean()
    print(f"inference code: {frac * 100:.3f}% of entries agree, "
          f"{(code_ours != 0).sum() / ROWS:.2f} active per row")
    # A unit whose pre-activation lies within float rounding of theta may
    # fall on either side: allow one in ten thousand entries.
    if frac < 0.9999:
        worst = 1.0
    return worst


def main():
    exe, mode = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([exe, d, mode], check=True)
        worst = run(mode, d)
    print(f"{mode}: worst relative difference {worst:.2e} over {STEPS} Adam steps "
          f"(tolerance {TOL:g})")
    sys.exit(0 if worst < TOL else 1)


if __name__ == "__main__":
    main()
