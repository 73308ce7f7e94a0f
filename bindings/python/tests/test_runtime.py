# SPDX-License-Identifier: MIT
"""Zero-copy inputs, the GIL released during long calls, and cancellation by
a callback's False, an exception or Ctrl-C, with the model usable after."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import libsae
from libsae import _lib

# A shim library standing in for libsae.so.0: it forwards sae_model_encode
# and sae_trainer_fit to the real library and records the pointers they
# received; every other symbol is found in the real library, its dependency.
SHIM = r"""
#include <dlfcn.h>
#include <stdint.h>
#include <sae.h>
static uintptr_t last_x, last_code, fit_x;
uintptr_t shim_last_x(void) { return last_x; }
uintptr_t shim_last_code(void) { return last_code; }
uintptr_t shim_fit_x(void) { return fit_x; }
static void *real(const char *name)
{
    void *h = dlopen(REAL_LIBRARY, RTLD_NOW | RTLD_NOLOAD);
    return h ? dlsym(h, name) : 0;
}
sae_status_t sae_model_encode(sae_model_t *m, const float *x, size_t rows, float *code)
{
    sae_status_t (*fn)(sae_model_t *, const float *, size_t, float *) =
        (sae_status_t (*)(sae_model_t *, const float *, size_t, float *))real("sae_model_encode");
    last_x = (uintptr_t)x, last_code = (uintptr_t)code;
    return fn(m, x, rows, code);
}
sae_status_t sae_trainer_fit(sae_trainer_t *t, const float *x, size_t rows, uint64_t epochs)
{
    sae_status_t (*fn)(sae_trainer_t *, const float *, size_t, uint64_t) =
        (sae_status_t (*)(sae_trainer_t *, const float *, size_t, uint64_t))real("sae_trainer_fit");
    fit_x = (uintptr_t)x;
    return fn(t, x, rows, epochs);
}
"""

PROBE = r"""
import ctypes, json, numpy as np, libsae
from libsae import _lib
shim = _lib.lib
for f in ("shim_last_x", "shim_last_code", "shim_fit_x"):
    getattr(shim, f).restype = ctypes.c_size_t
x = np.random.default_rng(0).random((200, 8), dtype=np.float32)
m = libsae.SparseAutoencoder(arch__hidden_dim=6, epochs=1).fit(x)
out = {"fit": [shim.shim_fit_x(), x.ctypes.data]}
code = np.empty((200, 6), np.float32)
m.encode(x, out=code)
out["encode_x"] = [shim.shim_last_x(), x.ctypes.data]
out["encode_out"] = [shim.shim_last_code(), code.ctypes.data]
x64 = x.astype(np.float64)
m.encode(x64)
out["converted"] = [shim.shim_last_x(), x64.ctypes.data]
print(json.dumps(out))
"""


def test_zero_copy_pointers_reach_the_library(cc):
    real = os.path.realpath(_lib.path) if os.path.sep in _lib.path else _lib.SONAME
    shim = cc(SHIM, "libshim.so", ["-shared", "-fPIC", "-Wl,--no-as-needed", f'-DREAL_LIBRARY="{real}"'])
    env = dict(os.environ, LIBSAE_LIBRARY=str(shim))
    r = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads(r.stdout)
    for what in ("fit", "encode_x", "encode_out"):
        received, array = got[what]
        assert received == array != 0, what
    received, array = got["converted"]
    assert received != array  # float64 input: converted once, to a new array


def counting_thread(stop: threading.Event, marks: list) -> threading.Thread:
    def run() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            if n % 2000 == 0:
                marks.append(time.monotonic())
    return threading.Thread(target=run, daemon=True)


def progressed_inside(marks: list, t0: float, t1: float) -> int:
    """Marks in the middle half of [t0, t1]: a thread holding the GIL for the
    whole call would leave none there."""
    q = (t1 - t0) / 4
    return sum(1 for t in list(marks) if t0 + q <= t <= t1 - q)


@pytest.fixture
def big() -> np.ndarray:
    return np.random.default_rng(3).random((4000, 128), dtype=np.float32)


def test_gil_released_during_a_low_level_fit(big):
    # No progress callback: the call never re-enters Python.
    m = libsae.SparseAutoencoder(arch__hidden_dim=256, train__batch_size=100,
                                 train__threads=1, epochs=1).fit(big[:100])
    tr = m._handle.get_trainer()
    stop, marks = threading.Event(), []
    th = counting_thread(stop, marks)
    th.start()
    try:
        t0 = time.monotonic()
        st = _lib.sae_trainer_fit(tr, big.ctypes.data, big.shape[0], 12)
        t1 = time.monotonic()
    finally:
        stop.set()
        th.join()
    _lib.check(st)
    assert progressed_inside(marks, t0, t1) > 0


def test_gil_released_during_fit(big):
    m = libsae.SparseAutoencoder(arch__hidden_dim=256, train__batch_size=100,
                                 train__threads=1, epochs=12)
    stop, marks = threading.Event(), []
    th = counting_thread(stop, marks)
    th.start()
    try:
        t0 = time.monotonic()
        m.fit(big)
        t1 = time.monotonic()
    finally:
        stop.set()
        th.join()
    assert progressed_inside(marks, t0, t1) > 0


def test_callback_false_stops_early(data):
    m = libsae.SparseAutoencoder(arch__hidden_dim=8, train__batch_size=10, epochs=50)
    m.fit(data, callback=lambda s: s.step < 7)
    assert m.steps_ == 7
    assert m.encode(data).shape == (300, 8)


def test_callback_exception_is_reraised_and_model_usable(data):
    m = libsae.SparseAutoencoder(arch__hidden_dim=8, train__batch_size=10, epochs=50)

    def boom(s: libsae.StepStats) -> None:
        if s.step == 4:
            raise ValueError("stop here")
    with pytest.raises(ValueError, match="stop here"):
        m.fit(data, callback=boom)
    assert m.steps_ == 4
    assert np.all(np.isfinite(m.encode(data)))
    m.partial_fit(data)
    assert m.steps_ == 4 + 30
    m.fit(data, epochs=1)
    assert m.steps_ == 30


def test_keyboard_interrupt_from_callback(data):
    m = libsae.SparseAutoencoder(arch__hidden_dim=8, train__batch_size=10, epochs=50)

    def ctrl_c(s: libsae.StepStats) -> None:
        if s.step == 3:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        m.fit(data, callback=ctrl_c)
    assert m.steps_ == 3
    assert m.fit(data, epochs=1).steps_ == 30


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signals go to the main thread")
def test_real_sigint_cancels_a_fit(big):
    m = libsae.SparseAutoencoder(arch__hidden_dim=256, train__batch_size=100,
                                 train__threads=1, epochs=1000)  # minutes if not stopped
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        m.fit(big)
    timer.join()
    assert time.monotonic() - t0 < 30
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert 0 < m.steps_ < 40 * 1000
    assert np.all(np.isfinite(m.encode(big[:10])))
