# SPDX-License-Identifier: MIT
"""SparseAutoencoder.eval_metrics (sae_metrics_*) against the same metrics
computed with numpy from the model's own codes and reconstructions."""
from __future__ import annotations

import numpy as np
import pytest

import libsae


def reference(x: np.ndarray, h: np.ndarray, xh: np.ndarray) -> dict:
    x = x.astype(np.float64)
    xh = xh.astype(np.float64)
    active = h != 0
    nx = np.linalg.norm(x, axis=1)
    ny = np.linalg.norm(xh, axis=1)
    keep = nx > 0
    cos = np.where(ny[keep] > 0, (x * xh).sum(1)[keep] / (nx[keep] * np.where(ny[keep] > 0,
                                                                               ny[keep], 1)), 0)
    freq = active.mean(0)
    return {
        "rows": x.shape[0], "units": h.shape[1],
        "l0": active.sum(1).mean(),
        "mse": ((x - xh) ** 2).mean(),
        "fvu": ((x - xh) ** 2).sum() / ((x - x.mean(0)) ** 2).sum(),
        "cosine": cos.mean(),
        "l2_ratio": (ny[keep] / nx[keep]).mean(),
        "rel_bias": (xh ** 2).sum() / (x * xh).sum(),
        "dead_fraction": (freq == 0).mean(),
        "dense_fraction": (freq > 0.1).mean(),
        "frequency": freq,
    }


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((900, 10)) + 3).astype(np.float32)
    x[5] = 0  # a zero row: left out of cosine and l2_ratio
    m = libsae.SparseAutoencoder({"arch.hidden_dim": 40, "arch.hidden_activation": "relu",
                                  "l1.weight": 0.01, "train.seed": 2}, epochs=2)
    m.fit(x)
    return m, x


def test_against_numpy(fitted):
    m, x = fitted
    got = m.eval_metrics(x)
    want = reference(x, m.encode(x), m.reconstruct(x))
    for key, value in want.items():
        np.testing.assert_allclose(got[key], value, rtol=1e-9, atol=1e-12, err_msg=key)
    assert got["explained_variance"] == pytest.approx(1 - want["fvu"], rel=1e-9)
    assert got["dead_units"] == round(want["dead_fraction"] * 40)
    # The log10 histogram: numpy's over the latents that fired.
    f = want["frequency"]
    lf = np.log10(f[f > 0])
    edges = got["histogram_edges"]
    idx = np.clip(np.floor((lf - edges[0]) / (edges[1] - edges[0])), 0, len(edges) - 2)
    np.testing.assert_array_equal(got["log10_histogram"],
                                  np.bincount(idx.astype(int), minlength=len(edges) - 1))
    assert got["log10_histogram"].sum() == 40 - got["dead_units"]


def test_chunks_stream(fitted):
    m, x = fitted
    whole = m.eval_metrics(x)
    parts = m.eval_metrics(x[i:i + 77] for i in range(0, len(x), 77))
    for key in ("rows", "dead_units", "dense_units"):
        assert parts[key] == whole[key]
    for key in ("l0", "mse", "fvu", "cosine", "l2_ratio", "rel_bias"):
        # float GEMMs round differently for other row counts
        assert parts[key] == pytest.approx(whole[key], rel=1e-6), key
    np.testing.assert_array_equal(parts["frequency"], whole["frequency"])
    # A list of 2-D arrays is chunks too; nested lists of numbers are one array.
    assert m.eval_metrics([x[:450], x[450:]])["rows"] == len(x)
    assert m.eval_metrics(x[:3].tolist())["rows"] == 3


def test_errors(fitted):
    m, x = fitted
    with pytest.raises(libsae.StateError, match="no rows"):
        m.eval_metrics(iter(()))
    bad = x[:4].copy()
    bad[1, 2] = np.nan
    with pytest.raises(libsae.NonFiniteError):
        m.eval_metrics(bad)
    with pytest.raises(libsae.DimensionError):
        m.eval_metrics(x[:, :3])
    with pytest.raises(libsae.RangeError):
        m.eval_metrics(x, bins=0)
    one = m.eval_metrics(x[:1])
    assert np.isnan(one["fvu"]) and np.isnan(one["explained_variance"])
