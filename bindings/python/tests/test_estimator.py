# SPDX-License-Identifier: MIT
"""Every method of SparseAutoencoder, load, parameters and the config view."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

import libsae
from libsae import _lib


def test_parameters_cover_every_key():
    params = libsae.parameters()
    assert "topk.k" in params and "arch.layers" in params
    p = params["kl.rho"]
    assert (p.type, p.lo, p.hi, p.lo_open, p.hi_open, p.default) == \
        ("float", 0.0, 1.0, True, True, 0.05)
    assert params["arch.hidden_activation"].choices[:3] == ("linear", "sigmoid", "relu")
    assert params["arch.tied"].type == "bool" and params["arch.tied"].default is False
    assert params["arch.hidden_dim"].name == "arch__hidden_dim"
    if _lib.has("sae_param_doc"):
        assert all(p.doc for p in params.values()), "every key has a one-line doc"


def test_key_mapping():
    assert libsae.param_to_key("rank_order__min_improvement") == "rank_order.min_improvement"
    assert libsae.key_to_param("arch.hidden_dim") == "arch__hidden_dim"


def test_config_dict_and_kwargs_are_the_same_keys():
    a = libsae.SparseAutoencoder({"arch.hidden_dim": 7, "topk.k": 2})
    b = libsae.SparseAutoencoder(arch__hidden_dim=7, topk__k=2)
    assert a.get_params() == b.get_params()
    assert a.config["arch.hidden_dim"] == 7 and a.config["optim.lr"] == 0.001
    a.config["kl.rho"] = 0.1
    assert a.get_params()["kl__rho"] == 0.1
    with pytest.raises(libsae.RangeError):
        a.config["kl.rho"] = 2.0
    assert a.config["kl.rho"] == 0.1  # unchanged by a rejected value
    assert len(a.config) == len(libsae.parameters()) and "arch.layers" in a.config
    with pytest.raises(TypeError):
        del a.config["kl.rho"]


def test_get_set_params_and_clone():
    sklearn_base = pytest.importorskip("sklearn.base")
    m = libsae.SparseAutoencoder(arch__hidden_dim=16, topk__k=3, epochs=4,
                                 arch__hidden_activation="relu")
    params = m.get_params()
    assert params["arch__hidden_dim"] == 16 and params["epochs"] == 4
    assert "arch__input_dim" not in params  # taken from the data
    c = sklearn_base.clone(m)
    assert c.get_params() == params and c is not m
    m.set_params(topk__k=5, epochs=2)
    assert m.get_params()["topk__k"] == 5 and m.epochs == 2 and c.get_params()["topk__k"] == 3


def test_fit_encode_decode_reconstruct(data):
    m = libsae.SparseAutoencoder(arch__hidden_dim=24, arch__hidden_activation="relu",
                                 topk__k=4, train__batch_size=50, epochs=3)
    assert m.fit(data) is m
    assert m.n_features_in_ == 12 and m.code_dim_ == 24 and m.steps_ == 18
    z = m.encode(data)
    assert z.shape == (300, 24) and z.dtype == np.float32
    assert np.all((z != 0).sum(axis=1) <= 4)
    assert np.array_equal(m.transform(data), z)
    xh = m.decode(z)
    assert xh.shape == (300, 12) and np.array_equal(m.inverse_transform(z), xh)
    assert np.allclose(m.reconstruct(data), xh, atol=1e-5)
    # Any array-like is converted once: float64, Fortran order, lists.
    assert np.array_equal(m.encode(np.asfortranarray(data.astype(np.float64))), z)
    assert np.allclose(m.encode(data[:3].tolist()), z[:3], atol=1e-5)
    assert m.encode(data[:0]).shape == (0, 24)
    # steps= trains an exact number of batches; fit starts afresh.
    assert m.fit(data, steps=5).steps_ == 5


def test_out_arrays(small, data):
    out = np.empty((300, 24), dtype=np.float32)
    assert small.encode(data, out=out) is out
    assert np.array_equal(out, small.encode(data))
    with pytest.raises(libsae.DimensionError):
        small.encode(data, out=np.empty((300, 23), dtype=np.float32))
    with pytest.raises(libsae.ParamTypeError):
        small.encode(data, out=np.empty((300, 24), dtype=np.float64))
    with pytest.raises(ValueError):
        small.encode(data, out=np.empty((24, 300), dtype=np.float32).T)
    rec = np.empty_like(data)
    assert small.reconstruct(data, out=rec) is rec
    dec = np.empty_like(data)
    assert small.decode(out, out=dec) is dec


def test_fit_transform_and_partial_fit(data):
    m = libsae.SparseAutoencoder(arch__hidden_dim=8, train__batch_size=100, epochs=1)
    z = m.fit_transform(data)
    assert z.shape == (300, 8)
    m.partial_fit(data)
    assert m.steps_ == 6
    fresh = libsae.SparseAutoencoder(arch__hidden_dim=8, train__batch_size=100)
    assert fresh.partial_fit(data).steps_ == 3


def test_callback_statistics(data):
    seen = []
    m = libsae.SparseAutoencoder(arch__hidden_dim=8, kl__weight=0.1, train__batch_size=100,
                                 epochs=2)
    m.fit(data, callback=seen.append)
    kinds = [s.kind for s in seen]
    assert kinds.count("step") == 6 and kinds.count("epoch") == 2
    last = seen[-1]
    assert isinstance(last, libsae.StepStats) and last.step == 6 and last.epoch == 2
    assert set(last.terms) == {"kl"} and last.loss > last.recon_loss
    assert last.as_dict()["terms"]["kl"] == last.terms["kl"]


def test_evaluate_and_metrics(small, data):
    ev = small.evaluate(data)
    assert ev["samples"] == 300 and ev["loss"] == pytest.approx(ev["recon_loss"])
    assert ev["l0"] == pytest.approx(4.0) and ev["terms"] == {}
    mt = small.metrics(data)
    assert mt["nmse"] == pytest.approx(1 - mt["explained_variance"])
    assert mt["frequency"].shape == (24,) and 0 <= mt["dead_fraction"] <= 1
    assert mt["l0"] == pytest.approx(4.0)
    assert mt["frequency"].sum() == pytest.approx(4.0, rel=1e-6)


def test_binary_codes_prefix_errors_bias_gradcheck(data):
    m = libsae.SparseAutoencoder(arch__hidden_dim=10, train__batch_size=50, epochs=1).fit(data)
    bits = m.encode_binary(data, 3)
    assert bits.dtype == np.uint8 and np.all(bits.sum(axis=1) == 3)
    errs = m.prefix_errors(data, [0, 5, 10])
    assert errs.shape == (3,) and np.all(errs > 0)
    assert m.init_decoder_bias(data, "mean") is m
    assert np.allclose(m.tensors["decoder.bias"], data.mean(axis=0), atol=1e-5)
    assert m.gradcheck(data[:10]) < 1e-2
    rel, frel = m.gradcheck(data[:5], double=True)
    assert rel < 1e-6 and frel < 1e-4


def test_tensors_are_read_only_views(small):
    t = small.tensors
    assert set(t) == {"encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias"}
    w = t["encoder.weight"]
    assert w.shape == (24, 12) and t["encoder.bias"].shape == (24,) and len(t) == 4
    assert not w.flags.writeable and not w.flags.owndata
    with pytest.raises(ValueError):
        w[0, 0] = 1.0
    rows, cols, ptr = ctypes_tensor(small, "encoder.weight")
    assert w.ctypes.data == ptr  # the library's own memory
    with pytest.raises(libsae.UnknownKeyError):
        t["nope"]


def ctypes_tensor(model, name):
    import ctypes
    r, c, d = ctypes.c_size_t(), ctypes.c_size_t(), ctypes.c_void_p()
    _lib.check(_lib.sae_model_tensor_by_name(model._handle.model, name.encode(),
                                             ctypes.byref(r), ctypes.byref(c), ctypes.byref(d)))
    return r.value, c.value, d.value


def test_tensor_view_keeps_its_model_alive(data):
    m = libsae.SparseAutoencoder(arch__hidden_dim=6, epochs=1).fit(data)
    w = m.tensors["decoder.weight"]
    snap = w.copy()
    del m
    import gc
    gc.collect()
    assert np.array_equal(w, snap)


@pytest.mark.skipif(not _lib.has("sae_model_set_tensor"), reason="library without sae_model_set_tensor (capi, 0.4)")
def test_set_tensor(small, data):
    w = np.full((24, 12), 0.01, dtype=np.float32)
    small.set_tensor("decoder.weight", w)
    assert np.array_equal(small.tensors["decoder.weight"], w)
    small.set_tensor("decoder.bias", np.arange(12, dtype=np.float64))
    assert np.array_equal(small.tensors["decoder.bias"], np.arange(12, dtype=np.float32))
    with pytest.raises(libsae.DimensionError):
        small.set_tensor("decoder.weight", np.zeros((12, 24), np.float32))
    with pytest.raises(libsae.UnknownKeyError):
        small.set_tensor("nope", w)
    with pytest.raises(libsae.NonFiniteError):
        small.set_tensor("decoder.weight", np.full((24, 12), np.nan, np.float32))


def test_set_tensor_without_the_call_is_a_clear_error(small):
    if _lib.has("sae_model_set_tensor"):
        pytest.skip("the library has sae_model_set_tensor")
    with pytest.raises(libsae.LibraryVersionError, match="sae_model_set_tensor"):
        small.set_tensor("decoder.bias", np.zeros(12, np.float32))


def test_save_load_pickle(small, data, tmp_path):
    path = tmp_path / "m.safetensors"
    small.save(path)
    back = libsae.load(path)
    assert np.array_equal(back.encode(data), small.encode(data))
    assert back.get_params()["topk__k"] == 4 and back.config["arch.input_dim"] == 12
    for name, t in small.tensors.items():
        assert np.array_equal(back.tensors[name], t)
    again = pickle.loads(pickle.dumps(small))
    assert np.array_equal(again.encode(data), small.encode(data))
    assert pickle.loads(pickle.dumps(libsae.SparseAutoencoder(topk__k=2))).config["topk.k"] == 2
    # A loaded model trains on (fresh optimizer state).
    back.partial_fit(data)
    assert back.steps_ == 6


def test_layered_model(tmp_path):
    x = np.random.default_rng(1).random((20, 64), dtype=np.float32)
    m = libsae.SparseAutoencoder(
        {"arch.layers": "input 1x8x8; conv2d 2 k3 p1 relu code; conv2d 1 k3 p1",
         "train.batch_size": 10}, epochs=1).fit(x)
    assert m.layer_shapes_ == [(2, 8, 8), (1, 8, 8)]
    assert m.encode(x).shape == (20, 128)
    assert "layers.0.weight" in m.tensors
    with pytest.raises(libsae.DimensionError):
        m.fit(x[:, :63])
