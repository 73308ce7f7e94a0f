# SPDX-License-Identifier: MIT
"""Every libsae.Error subclass is reachable, and carries the library's message."""
from __future__ import annotations

import ctypes
import os
import subprocess
import sys

import numpy as np
import pytest

import libsae
from libsae import _lib


def test_bad_key_value_range_type():
    with pytest.raises(libsae.UnknownKeyError, match="nope"):
        libsae.SparseAutoencoder(nope__nope=1)
    with pytest.raises(libsae.BadValueError) as e:
        libsae.SparseAutoencoder(arch__hidden_activation="nope")
    assert e.value.status == -5 and "relu" in str(e.value)  # the library's message
    with pytest.raises(libsae.RangeError) as e:
        libsae.SparseAutoencoder(kl__rho=2.0)
    assert "kl.rho" in str(e.value) and isinstance(e.value, ValueError)
    with pytest.raises(libsae.ParamTypeError):
        libsae.SparseAutoencoder(kl__rho=[1])
    cfg = ctypes.c_void_p()
    _lib.check(_lib.sae_config_create(ctypes.byref(cfg)))
    try:
        st = _lib.sae_config_set_float(cfg, 101, 3.0)  # arch.hidden_dim is an int
        with pytest.raises(libsae.ParamTypeError) as e:
            _lib.check(st, _lib.sae_config_errmsg(cfg).decode())
        assert e.value.status == -16
    finally:
        _lib.sae_config_free(cfg)


def test_null():
    with pytest.raises(libsae.NullError):
        _lib.check(_lib.sae_config_create(None))


def test_data_errors(small, data):
    bad = data.copy()
    bad[5, 3] = np.nan
    with pytest.raises(libsae.NonFiniteError, match="(?i)nan|finite"):
        small.encode(bad)
    with pytest.raises(libsae.NonFiniteError):
        libsae.SparseAutoencoder(arch__hidden_dim=4).fit(bad)
    with pytest.raises(libsae.DimensionError):
        small.encode(data[:, :11])
    with pytest.raises(libsae.DimensionError):
        small.encode(data[0])
    with pytest.raises(libsae.DimensionError) as e:  # from the library: no rows
        libsae.SparseAutoencoder(arch__hidden_dim=4).fit(data[:0])
    assert e.value.status == -6
    with pytest.raises(libsae.RangeError):  # from the library: rows do not vary
        small.metrics(np.ones((4, 12), np.float32))


def test_state_unsupported_diverged(data):
    with pytest.raises(libsae.StateError, match="sigmoid"):
        libsae.SparseAutoencoder(loss__type="bce", arch__hidden_dim=4).fit(data)
    with pytest.raises(libsae.StateError, match="not fitted"):
        libsae.SparseAutoencoder().encode(data)
    m = libsae.SparseAutoencoder(arch__hidden_dim=8, topk__k=2, epochs=1).fit(data)
    with pytest.raises(libsae.UnsupportedError):
        m.gradcheck(data[:4], double=True)
    with pytest.raises(libsae.DivergedError):
        libsae.SparseAutoencoder(arch__hidden_dim=4, epochs=1).fit(data * np.float32(1e30))


def test_cancelled_through_the_low_level_call(small, data):
    h = small._handle
    tr = h.get_trainer()
    cb = _lib.PROGRESS_FN(lambda kind, stats, user: 1)
    _lib.check(_lib.sae_trainer_set_callback(tr, cb, None))
    st = _lib.sae_trainer_fit(tr, data.ctypes.data, data.shape[0], 1)
    _lib.sae_trainer_set_callback(tr, _lib.PROGRESS_FN(), None)
    with pytest.raises(libsae.CancelledError):
        _lib.check(st, h.trainer_errmsg())


def test_file_errors(small, tmp_path):
    with pytest.raises(libsae.IoError) as e:
        libsae.load(tmp_path / "absent.safetensors")
    assert isinstance(e.value, OSError) and "absent" in str(e.value)
    with pytest.raises(libsae.IoError):
        small.save(tmp_path / "no" / "such" / "dir" / "m.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!" + b"\0" * 32)
    with pytest.raises(libsae.FormatError):
        libsae.load(junk)
    good = tmp_path / "good.safetensors"
    small.save(good)
    raw = bytearray(good.read_bytes())
    corrupt = tmp_path / "flipped.safetensors"
    flipped = bytearray(raw)
    flipped[-3] ^= 0x40
    corrupt.write_bytes(bytes(flipped))
    with pytest.raises(libsae.ChecksumError):
        libsae.load(corrupt)
    i = raw.index(b'"format_version":"1"')
    raw[i + len(b'"format_version":"')] = ord("9")
    future = tmp_path / "future.safetensors"
    future.write_bytes(bytes(raw))
    with pytest.raises(libsae.VersionError):
        libsae.load(future)


NOMEM = """
import resource, libsae, numpy as np
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
try:
    libsae.SparseAutoencoder(arch__hidden_dim=20000).fit(np.zeros((2, 20000), np.float32))
except libsae.NoMemError as e:
    print("NoMemError", e.status, isinstance(e, MemoryError))
"""


def test_nomem():
    r = subprocess.run([sys.executable, "-c", NOMEM], capture_output=True, text=True,
                       env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    assert "NoMemError -2 True" in r.stdout, r.stderr[-2000:]
