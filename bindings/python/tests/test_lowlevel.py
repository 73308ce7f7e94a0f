# SPDX-License-Identifier: MIT
"""The 0.4 calls bound only at the ctypes level (libsae._lib):
sae_trainer_set_reducer with a reducer written in Python, and
sae_model_set_weight_precision."""
from __future__ import annotations

import ctypes

import numpy as np
import pytest

import libsae
from libsae import _lib

CFG = {"arch.hidden_dim": 24, "arch.hidden_activation": "relu", "l1.weight": 0.01,
       "train.seed": 3, "train.batch_size": 50}


def data() -> np.ndarray:
    return np.random.default_rng(5).standard_normal((400, 12)).astype(np.float32)


class OneRank:
    """A reducer of a one-rank run: every collective is the identity, so a
    run through it must equal a run without it bit for bit."""

    def __init__(self, fail_after: int = -1) -> None:
        self.calls = {"float": 0, "double": 0, "broadcast": 0}
        self.fail_after = fail_after
        self.ops = _lib.sae_reducer_ops_t(
            ctypes.sizeof(_lib.sae_reducer_ops_t), 0, 1,
            _lib.ALLREDUCE_FLOAT_FN(self._float), _lib.ALLREDUCE_DOUBLE_FN(self._double),
            _lib.BROADCAST_FN(self._broadcast), _lib.SOURCE_ERRMSG_FN(self._errmsg))
        self.msg = ctypes.create_string_buffer(b"python reducer: the link is down")

    def _float(self, user, buf, n):
        self.calls["float"] += 1
        if self.fail_after >= 0 and self.calls["float"] > self.fail_after:
            return 1
        return 0

    def _double(self, user, buf, n):
        self.calls["double"] += 1
        return 0

    def _broadcast(self, user, buf, size):
        self.calls["broadcast"] += 1
        return 0

    def _errmsg(self, user):
        return ctypes.addressof(self.msg)


def attach(m: libsae.SparseAutoencoder, red: OneRank) -> None:
    h = m._need()
    _lib.check(_lib.sae_trainer_set_reducer(h.get_trainer(), ctypes.byref(red.ops), None))


def test_one_rank_reducer_is_bitwise_neutral():
    x = data()
    plain = libsae.SparseAutoencoder(CFG, epochs=1).fit(x)
    plain.partial_fit(x)
    red = OneRank()
    reduced = libsae.SparseAutoencoder(CFG, epochs=1).fit(x)
    attach(reduced, red)
    reduced.partial_fit(x)
    assert red.calls["float"] == 8  # one gradient block a step: 400 rows / 50
    assert red.calls["double"] >= 8 and red.calls["broadcast"] >= 1
    for name in ("encoder.weight", "decoder.weight", "encoder.bias", "decoder.bias"):
        np.testing.assert_array_equal(plain.tensors[name], reduced.tensors[name], err_msg=name)


def test_failing_reducer_stops_the_step_with_its_message():
    x = data()
    m = libsae.SparseAutoencoder(CFG, epochs=1).fit(x)
    before = np.array(m.tensors["encoder.weight"])
    red = OneRank(fail_after=0)
    attach(m, red)
    with pytest.raises(libsae.errors.ReducerError, match="the link is down"):
        m.partial_fit(x)
    np.testing.assert_array_equal(before, m.tensors["encoder.weight"])


def test_reducer_refuses_a_bad_table():
    m = libsae.SparseAutoencoder(CFG, epochs=1).fit(data())
    red = OneRank()
    red.ops.ranks = 0
    with pytest.raises(libsae.errors.RangeError):
        attach(m, red)


def test_bf16_weights_encode_within_the_documented_bound():
    x = data()
    m = libsae.SparseAutoencoder(CFG, epochs=1).fit(x)
    want = m.encode(x)
    w = np.array(m.tensors["encoder.weight"], dtype=np.float64)  # [hidden, input]
    h = m._need()
    with h.lock:
        if h.trainer is not None:  # SAE_ERR_STATE while a trainer exists
            _lib.sae_trainer_free(h.trainer)
            h.trainer = None
        _lib.check(_lib.sae_model_set_weight_precision(h.model, 1), h.errmsg())
    got = m.encode(x)
    # sae.h's bound per pre-activation, (2 * 2^-9 + 4 k 2^-24) sum_i |x_i w_i|
    # (k = 12 inputs); ReLU does not widen a difference.
    k = x.shape[1]
    bound = (2 * 2.0 ** -9 + 4 * k * 2.0 ** -24) * (np.abs(x.astype(np.float64)) @ np.abs(w).T)
    err = np.abs(got.astype(np.float64) - want)
    assert (err <= bound * 1.001 + 1e-7).all(), float((err - bound).max())
    assert err.max() > 0  # the weights really were rounded
    _lib.check(_lib.sae_model_set_weight_precision(h.model, 0), h.errmsg())
    assert _lib.sae_model_set_weight_precision(h.model, 7) == -3  # SAE_ERR_RANGE
