# SPDX-License-Identifier: MIT
"""SparseAutoencoder inside scikit-learn: a Pipeline on the digits."""
from __future__ import annotations

import pytest

import libsae

sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import MinMaxScaler  # noqa: E402
from sklearn.base import clone  # noqa: E402


def test_pipeline_on_digits():
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    pipe = Pipeline([
        ("scale", MinMaxScaler()),
        ("sae", libsae.SparseAutoencoder(arch__hidden_dim=128, arch__hidden_activation="relu",
                                         topk__k=24, optim__lr=3e-3, train__batch_size=64,
                                         train__threads=1, epochs=15)),
        ("clf", LogisticRegression(max_iter=2000)),
    ])
    pipe.fit(Xtr, ytr)
    acc = pipe.score(Xte, yte)
    assert acc > 0.85, acc
    assert pipe.named_steps["sae"].n_features_in_ == 64
    # Nested parameters and clone, as a grid search uses them.
    pipe.set_params(sae__topk__k=16)
    assert pipe.get_params()["sae__topk__k"] == 16
    assert clone(pipe).get_params()["sae__topk__k"] == 16
