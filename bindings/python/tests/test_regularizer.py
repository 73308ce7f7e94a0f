# SPDX-License-Identifier: MIT
"""User regularizers written in Python (libsae.Regularizer): the library's
gradient check, the term in the statistics and its effect on training,
errors re-raised, estimator parameters, and refusal in checkpoints."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import libsae

CFG = dict(arch__hidden_dim=16, train__batch_size=20, arch__hidden_activation="sigmoid",
           optim__type="adam", optim__lr=0.01)


def l1(h: np.ndarray) -> float:
    return float(np.abs(h).sum(dtype=np.float64)) / h.shape[0]


def l1_grad(h: np.ndarray) -> np.ndarray:
    return np.sign(h) / h.shape[0]


def test_gradcheck_tells_right_from_wrong() -> None:
    right = libsae.Regularizer("l1py", l1, l1_grad)
    assert right.gradcheck(rows=6, units=10) < 1e-3
    wrong = libsae.Regularizer("l1bad", l1, lambda h: 2.0 * np.sign(h) / h.shape[0])
    assert wrong.gradcheck(rows=6, units=10) > 0.05


def test_the_term_is_reported_and_acts(data: np.ndarray) -> None:
    seen = {}

    def cb(s: libsae.StepStats) -> None:
        seen.update(s.terms)
    plain = libsae.SparseAutoencoder(**CFG).fit(data, epochs=5)
    reg = libsae.Regularizer("l1py", l1, l1_grad, weight=0.5)
    sparse = libsae.SparseAutoencoder(regularizers=[reg], **CFG).fit(data, epochs=5, callback=cb)
    assert "l1py" in seen and seen["l1py"] > 0
    # The penalty on the code's size lowers the mean activation.
    assert sparse.encode(data).mean() < 0.8 * plain.encode(data).mean()


def test_errors_are_reraised_and_checkpoints_refused(data: np.ndarray, tmp_path: Path) -> None:
    def boom(h: np.ndarray) -> float:
        raise ZeroDivisionError("inside the penalty")
    est = libsae.SparseAutoencoder(regularizers=[libsae.Regularizer("boom", boom, l1_grad)],
                                   **CFG)
    with pytest.raises(ZeroDivisionError, match="inside the penalty"):
        est.fit(data, epochs=1)
    bad_shape = libsae.Regularizer("shape", l1, lambda h: np.zeros(3))
    with pytest.raises(libsae.DimensionError, match="gradient of shape"):
        libsae.SparseAutoencoder(regularizers=[bad_shape], **CFG).fit(data, epochs=1)
    ok = libsae.SparseAutoencoder(regularizers=[libsae.Regularizer("l1py", l1, l1_grad)], **CFG)
    ok.fit(data, steps=3)
    with pytest.raises(libsae.UnsupportedError, match="user regularizers"):
        ok.save_checkpoint(tmp_path / "c.ckpt")
    with pytest.raises(libsae.ParamTypeError):
        libsae.SparseAutoencoder(regularizers=[l1])


def test_parameters_and_clone(data: np.ndarray) -> None:
    sklearn = pytest.importorskip("sklearn.base")
    reg = libsae.Regularizer("l1py", l1, l1_grad, weight=0.1)
    est = libsae.SparseAutoencoder(regularizers=[reg], **CFG)
    assert est.get_params()["regularizers"] == (reg,)
    twin = sklearn.clone(est)
    assert len(twin.get_params()["regularizers"]) == 1
    twin.fit(data, steps=2)
    est.set_params(regularizers=[])
    assert est.get_params()["regularizers"] == ()
    est.fit(data, steps=2)  # a config without the term
