# SPDX-License-Identifier: MIT
"""Checkpoints (save_checkpoint, load_checkpoint, resume) give the
uninterrupted run's model byte for byte; fit from iterators, generators and
callables through the library's data-source ops."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import libsae

CFG = dict(arch__hidden_dim=8, train__batch_size=8, optim__type="adam", optim__lr=0.01,
           topk__k=3, arch__hidden_activation="relu", corrupt__noise_std=0.05)


def model_bytes(est: libsae.SparseAutoencoder, path: Path) -> bytes:
    est.save(path)
    return path.read_bytes()


def test_resume_from_checkpoints_is_bit_identical(data: np.ndarray, tmp_path: Path) -> None:
    x = data[:61]
    whole = libsae.SparseAutoencoder(**CFG).fit(x, steps=40)
    want = model_bytes(whole, tmp_path / "whole.safetensors")

    ck = tmp_path / "run.ckpt"
    est = libsae.SparseAutoencoder(**CFG)
    est.fit(x, steps=11)  # stops inside the second epoch (8 steps each)
    est.save_checkpoint(ck)
    del est
    est = libsae.load_checkpoint(ck)
    assert est.steps_ == 11 and est.epochs_ == 1

    # Stopped by a callback at step 19, checkpointed from inside it.
    def stop(s: libsae.StepStats) -> bool:
        if s.kind == "step" and s.step == 19:
            est.save_checkpoint(ck)
            return False
        return True
    est.resume(x, total_steps=40, callback=stop)
    assert est.steps_ == 19
    est = libsae.load_checkpoint(ck)
    est.resume(x, total_steps=40)
    assert est.steps_ == 40
    assert model_bytes(est, tmp_path / "parts.safetensors") == want
    est.resume(x, total_steps=40)  # already there: nothing
    assert est.steps_ == 40


def test_checkpoint_every_and_file_kinds(data: np.ndarray, tmp_path: Path) -> None:
    ck = tmp_path / "every.ckpt"
    est = libsae.SparseAutoencoder(**CFG).fit(data, epochs=1, checkpoint=ck, checkpoint_every=10)
    assert ck.exists()
    back = libsae.load_checkpoint(ck)
    assert back.steps_ == 30  # 300 rows, batches of 8: 38 steps; the last multiple of 10
    # A checkpoint is a model file too; a model file is no checkpoint.
    np.testing.assert_array_equal(libsae.load(ck).tensors["encoder.weight"],
                                  back.tensors["encoder.weight"])
    est.save(tmp_path / "m.safetensors")
    with pytest.raises(libsae.FormatError, match="not a checkpoint"):
        libsae.load_checkpoint(tmp_path / "m.safetensors")
    with pytest.raises(libsae.IoError):
        libsae.load_checkpoint(tmp_path / "nowhere.ckpt")


def chunks(x: np.ndarray, n: int):
    for i in range(0, x.shape[0], n):
        yield x[i:i + n]


def test_fit_from_a_generator_equals_the_array(data: np.ndarray, tmp_path: Path) -> None:
    cfg = dict(CFG, train__sampling="sequential")
    a = libsae.SparseAutoencoder(**cfg).fit(data, epochs=1)
    # Chunks of 5 rows are cut into the batches of 8 sequential sampling makes.
    b = libsae.SparseAutoencoder(**cfg).fit(chunks(data, 5))
    assert a.steps_ == b.steps_ == 38
    assert (model_bytes(a, tmp_path / "a.safetensors") ==
            model_bytes(b, tmp_path / "b.safetensors"))
    with pytest.raises(libsae.StateError, match="one pass"):
        libsae.SparseAutoencoder(**cfg).fit(chunks(data, 5), epochs=2)


def test_callable_source_epochs_and_resume(data: np.ndarray, tmp_path: Path) -> None:
    def epoch_data(epoch: int):
        order = np.random.default_rng(epoch).permutation(data.shape[0])
        return chunks(data[order], 7)
    whole = libsae.SparseAutoencoder(**CFG).fit(epoch_data, epochs=3)
    assert whole.epochs_ == 3 and whole.steps_ == 3 * 38
    want = model_bytes(whole, tmp_path / "whole.safetensors")
    ck = tmp_path / "src.ckpt"
    est = libsae.SparseAutoencoder(**CFG).fit(epoch_data, steps=50)  # mid-epoch 2
    est.save_checkpoint(ck)
    est = libsae.load_checkpoint(ck)
    est.resume(epoch_data, total_epochs=3)  # replays epoch 1's first 12 batches
    assert est.epochs_ == 3
    assert model_bytes(est, tmp_path / "parts.safetensors") == want


def test_source_errors_are_reraised(data: np.ndarray) -> None:
    def broken():
        yield data[:20]
        raise RuntimeError("disk gone")
    est = libsae.SparseAutoencoder(**CFG)
    with pytest.raises(RuntimeError, match="disk gone"):
        est.fit(broken())
    assert est.steps_ == 2  # the 16 rows before the failure
    assert np.all(np.isfinite(est.encode(data[:4])))

    def wrong_width():
        yield data[:10]
        yield data[:10, :5]
    with pytest.raises(libsae.DimensionError, match="5 columns"):
        libsae.SparseAutoencoder(**CFG).fit(wrong_width())

    bad = data[:16].copy()
    bad[3, 3] = np.nan
    with pytest.raises(libsae.NonFiniteError):
        libsae.SparseAutoencoder(**CFG).fit(iter([bad]))
    with pytest.raises(libsae.DimensionError, match="no rows"):
        libsae.SparseAutoencoder(**CFG).fit(iter([]))
