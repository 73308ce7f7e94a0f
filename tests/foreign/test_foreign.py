#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""SAEs of other tools through sae_model_import / sae_model_export.

Every file is written here with numpy and json in the tool's own layout
(safetensors by hand: 8-byte header length, JSON header, data), at small
sizes. Each import is checked against a numpy forward written from the
tool's documented formula (float64, within 1e-5 relative), each quirk and
each bad file against its exact status, exports by reading them back with
the reader below, and round trips bitwise in C (foreign_tool.c).

usage: test_foreign.py FOREIGN_TOOL
"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import unittest

import numpy as np

TOOL = None
ST = {"FORMAT": -9, "DIMENSION": -6, "BAD_VALUE": -5, "UNSUPPORTED": -14, "RANGE": -3,
      "IO": -8, "NONFINITE": -7}
D, H, ROWS = 12, 40, 64


def bf16_bits(a):
    """float32 -> bfloat16 bit patterns (truncation: every pattern is a bf16)."""
    return (np.asarray(a, np.float32).view(np.uint32) >> 16).astype(np.uint16)


def st_write(path, tensors, dtype="F32", meta=None):
    """tensors: name -> float array, stored as dtype; returns the values as
    stored (float64), which the reference forward uses."""
    header, blobs, stored, off = {}, [], {}, 0
    for name, a in tensors.items():
        a = np.asarray(a)
        dt = dtype if not isinstance(dtype, dict) else dtype.get(name, "F32")
        if dt == "F32":
            raw = a.astype("<f4")
            stored[name] = raw.astype(np.float64)
        elif dt == "F16":
            raw = a.astype("<f2")
            stored[name] = raw.astype(np.float64)
        elif dt == "BF16":
            raw = bf16_bits(a).astype("<u2")
            stored[name] = (raw.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
        else:  # another dtype, for the refusal
            raw = a.astype("<f8")
            stored[name] = raw
        b = raw.tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if meta is not None:
        header["__metadata__"] = meta
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    return stored


def st_read(path):
    """An independent safetensors reader (F32 only, as libsae exports)."""
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", e
        b, t = e["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + b:8 + n + t], "<f4").reshape(e["shape"])
    return out


def saelens_arrays(arch, rng, d=D, h=H):
    t = {"W_enc": rng.normal(0, 0.5, (d, h)), "W_dec": rng.normal(0, 0.3, (h, d)),
         "b_dec": rng.normal(0, 0.2, d)}
    if arch == "gated":
        t.update(b_gate=rng.normal(0, 0.3, h), r_mag=rng.normal(0, 0.3, h),
                 b_mag=rng.normal(0, 0.3, h))
    else:
        t["b_enc"] = rng.normal(0, 0.3, h)
    if arch == "jumprelu":
        t["threshold"] = rng.uniform(0.05, 0.6, h)
        t["threshold"][:3] = [0.0, -0.5, 0.0]  # theta <= 0: a ReLU latent
    return t


def saelens_forward(arch, w, x, cfg):
    """SAELens's forward (sae_lens/saes/*_sae.py): sae_in = x - b_dec *
    apply_b_dec_to_input; standard relu(sae_in W_enc + b_enc); topk: the k
    largest of the pre-activation, then relu; jumprelu: relu(pre) *
    (pre > threshold); gated: (sae_in W_enc + b_gate > 0) * relu(sae_in
    (W_enc exp(r_mag)) + b_mag); decode h W_dec + b_dec."""
    s = x - w["b_dec"] * cfg.get("apply_b_dec_to_input", True)
    if arch == "gated":
        gate = s @ w["W_enc"] + w["b_gate"] > 0
        mag = s @ (w["W_enc"] * np.exp(w["r_mag"])) + w["b_mag"]
        h = gate * np.maximum(mag, 0)
    else:
        pre = s @ w["W_enc"] + w["b_enc"]
        if arch == "standard":
            h = np.maximum(pre, 0)
        elif arch == "topk":
            k = int(cfg.get("k") or cfg["activation_fn_kwargs"]["k"])
            h = np.zeros_like(pre)
            idx = np.argsort(-pre, axis=1)[:, :k]
            np.put_along_axis(h, idx, np.maximum(np.take_along_axis(pre, idx, 1), 0), 1)
        else:
            h = np.maximum(pre, 0) * (pre > w["threshold"])
    # Pre-6 SAELens's finetuning scaling factor multiplies the code in decode().
    scale = w.get("scaling_factor", 1.0)
    return h, (h * scale) @ w["W_dec"] + w["b_dec"]


def write_saelens(folder, arch, rng, dtype="F32", cfg_extra=None, drop=None, extra=None,
                  transform=None, k=5):
    os.makedirs(folder, exist_ok=True)
    w = saelens_arrays(arch, rng)
    if extra:
        w.update(extra)
    if drop:
        del w[drop]
    if transform:
        transform(w)
    cfg = {"architecture": arch, "d_in": D, "d_sae": H, "dtype": "float32", "device": "cpu",
           "apply_b_dec_to_input": True, "normalize_activations": "none",
           "metadata": {"sae_lens_version": "6.5.0"}}
    if arch == "topk":
        cfg["k"] = k
    cfg.update(cfg_extra or {})
    cfg = {a: b for a, b in cfg.items() if b is not None}
    stored = st_write(os.path.join(folder, "sae_weights.safetensors"), w, dtype)
    with open(os.path.join(folder, "cfg.json"), "w") as f:
        json.dump(cfg, f)
    return stored, cfg


def run(*args):
    return subprocess.run([TOOL] + [str(a) for a in args], capture_output=True, text=True)


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.rng = np.random.default_rng(abs(hash(self.id())) % 2**32)

    def tearDown(self):
        self.tmp.cleanup()

    def encode(self, path, fmt, d, h, x):
        xp, cp, rp = (os.path.join(self.dir, n) for n in ("x.bin", "code.bin", "rec.bin"))
        x.astype("<f4").tofile(xp)
        r = run("import", path, fmt, xp, len(x), cp, rp)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return (np.fromfile(cp, "<f4").reshape(len(x), h).astype(np.float64),
                np.fromfile(rp, "<f4").reshape(len(x), d).astype(np.float64))

    def assertClose(self, got, ref, what):
        scale = max(np.abs(ref).max(), 1e-30)
        err = np.abs(got - ref).max() / scale
        self.assertLessEqual(err, 1e-5, f"{what}: max error {err:.3g} relative")

    def refused(self, path, status, words, fmt="-"):
        r = run("import", path, fmt)
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertEqual(r.stdout.splitlines()[0], f"status {ST[status]}", r.stdout)
        for w in words:
            self.assertIn(w, r.stdout)


class SAELensImport(Base):
    def check(self, arch, dtype="F32", **kw):
        folder = os.path.join(self.dir, f"{arch}-{dtype}")
        w, cfg = write_saelens(folder, arch, self.rng, dtype, **kw)
        x = self.rng.normal(0, 1, (ROWS, D)).astype(np.float32).astype(np.float64)
        code, rec = self.encode(folder, "-", D, H, x)
        ref, ref_rec = saelens_forward(arch, w, x, cfg)
        active = (ref != 0).mean()
        self.assertTrue(0.02 < active < 0.98, f"{arch}: {active} of the code active")
        self.assertClose(code, ref, f"{arch} {dtype} code")
        self.assertClose(rec, ref_rec, f"{arch} {dtype} reconstruction")
        return folder

    def test_architectures_and_dtypes(self):
        for arch in ("standard", "topk", "jumprelu", "gated"):
            for dtype in ("F32", "F16", "BF16"):
                with self.subTest(arch=arch, dtype=dtype):
                    self.check(arch, dtype)

    def test_no_b_dec_subtraction(self):
        for arch in ("standard", "topk", "jumprelu", "gated"):
            with self.subTest(arch=arch):
                self.check(arch, cfg_extra={"apply_b_dec_to_input": False})

    def test_pre_6_config(self):
        # SAELens < 6: no architecture key, activation_fn_str topk with its kwargs.
        self.check("topk", cfg_extra={"architecture": None, "k": None, "metadata": None,
                                      "activation_fn_str": "topk",
                                      "activation_fn_kwargs": {"k": 7}})
        self.check("standard", cfg_extra={"architecture": None, "apply_b_dec_to_input": None,
                                          "normalize_activations": False})

    def test_float_k_and_expected_average(self):
        self.check("topk", cfg_extra={"k": 6.0, "normalize_activations":
                                      "expected_average_only_in", "dtype": "torch.bfloat16"})

    def test_scaling_factor_folded(self):
        self.check("standard", extra={"scaling_factor": self.rng.uniform(0.5, 2, H)})

    def test_log_threshold(self):
        def to_log(w):
            w["log_threshold"] = np.log(np.maximum(w.pop("threshold"), 1e-3))
        folder = os.path.join(self.dir, "lt")
        w, cfg = write_saelens(folder, "jumprelu", self.rng, transform=to_log)
        w["threshold"] = np.exp(w["log_threshold"])
        x = self.rng.normal(0, 1, (ROWS, D))
        code, _ = self.encode(folder, "saelens", D, H, x.astype(np.float32).astype(np.float64))
        ref, _ = saelens_forward("jumprelu", w, x.astype(np.float32).astype(np.float64), cfg)
        self.assertClose(code, ref, "log_threshold")


class SAELensRefusals(Base):
    def folder(self, arch="standard", **kw):
        f = os.path.join(self.dir, "sae")
        write_saelens(f, arch, self.rng, **kw)
        return f

    def test_quirks(self):
        cases = [
            ({"cfg_extra": {"normalize_activations": "layer_norm"}}, "UNSUPPORTED",
             ["layer_norm"]),
            ({"cfg_extra": {"normalize_activations": "constant_norm_rescale"}}, "UNSUPPORTED",
             ["constant_norm_rescale"]),
            ({"cfg_extra": {"normalize_activations": "whiten"}}, "BAD_VALUE", ["whiten"]),
            ({"cfg_extra": {"rescale_acts_by_decoder_norm": True}}, "UNSUPPORTED",
             ["rescale_acts_by_decoder_norm"]),
            ({"cfg_extra": {"architecture": "transcoder"}}, "BAD_VALUE",
             ["unknown architecture 'transcoder'"]),
            ({"cfg_extra": {"architecture": "batchtopk"}}, "UNSUPPORTED", ["batchtopk"]),
            ({"cfg_extra": {"activation_fn": "tanh-relu"}}, "UNSUPPORTED", ["tanh-relu"]),
            ({"cfg_extra": {"dtype": "int8"}}, "BAD_VALUE", ["dtype"]),
            ({"cfg_extra": {"apply_b_dec_to_input": "yes"}}, "FORMAT",
             ["apply_b_dec_to_input"]),
            ({"cfg_extra": {"d_sae": H + 1}}, "DIMENSION", ["W_enc", "expected [12, 41]"]),
            ({"cfg_extra": {"d_in": None}}, "FORMAT", ["d_in"]),
            # A config claiming a billion latents beside a small file: a shape
            # error before any allocation of that size.
            ({"cfg_extra": {"d_sae": 10**9}}, "DIMENSION", ["W_enc", "1000000000"]),
            ({"drop": "b_enc"}, "FORMAT", ["missing tensor 'b_enc'"]),
            ({"extra": {"W_skip": np.zeros((D, D))}}, "FORMAT", ["unexpected tensor 'W_skip'"]),
            ({"transform": lambda w: w.update(W_enc=w["W_enc"].T)}, "DIMENSION",
             ["W_enc", "transposed"]),
            ({"transform": lambda w: w.update(W_dec=w["W_dec"].T)}, "DIMENSION",
             ["W_dec", "transposed"]),
            ({"transform": lambda w: w["W_dec"].__setitem__((0, 0), np.nan)}, "NONFINITE",
             ["decoder.weight"]),
            ({"dtype": {"W_dec": "F64"}}, "UNSUPPORTED", ["W_dec", "F64"]),
            ({"dtype": {"W_dec": "I8"}}, "UNSUPPORTED", ["W_dec", "I8"]),
        ]
        for kw, status, words in cases:
            with self.subTest(kw=str(kw)[:80]):
                self.refused(self.folder(**kw), status, words)

    def test_architecture_specific(self):
        self.refused(self.folder("jumprelu", drop="threshold"), "FORMAT",
                     ["missing tensor 'threshold'"])
        self.refused(self.folder("gated", drop="r_mag"), "FORMAT", ["missing tensor 'r_mag'"])
        self.refused(self.folder("gated", extra={"b_enc": np.zeros(H)}), "FORMAT",
                     ["unexpected tensor 'b_enc'"])
        self.refused(self.folder("topk", k=H + 1), "RANGE", ["k"])
        self.refused(self.folder("topk", cfg_extra={"k": None}), "FORMAT", ["without k"])
        self.refused(self.folder("topk", cfg_extra={"k": 2.5}), "RANGE", ["k"])

    def test_bad_files(self):
        f = self.folder()
        wpath = os.path.join(f, "sae_weights.safetensors")
        with open(wpath, "rb") as fh:
            data = fh.read()
        for name, blob, status in [
                ("truncated", data[:-5], "FORMAT"),
                ("short", data[:6], "FORMAT"),
                ("huge header", struct.pack("<Q", 1 << 40) + data[8:], "FORMAT"),
                ("not json", struct.pack("<Q", 4) + b"abcd", "FORMAT")]:
            with self.subTest(name=name):
                with open(wpath, "wb") as fh:
                    fh.write(blob)
                self.refused(f, status, ["sae_weights.safetensors"], fmt="saelens")
        with open(os.path.join(f, "cfg.json"), "w") as fh:
            fh.write("{not json")
        self.refused(f, "FORMAT", ["cfg.json"], fmt="saelens")
        os.unlink(os.path.join(f, "cfg.json"))
        self.refused(f, "IO", ["cfg.json"], fmt="saelens")
        self.refused(f, "FORMAT", ["recognises"])
        self.refused(f, "BAD_VALUE", ["unknown format"], fmt="onnx")


class SAELensExport(Base):
    def test_export_read_back_and_round_trip(self):
        for arch in ("standard", "topk", "jumprelu", "gated"):
            with self.subTest(arch=arch):
                src = os.path.join(self.dir, f"src-{arch}")
                # gated: apply_b_dec_to_input = false (a folded import exports as such).
                w, cfg = write_saelens(src, arch, self.rng, cfg_extra={
                    "apply_b_dec_to_input": arch != "gated"})
                out = os.path.join(self.dir, f"out-{arch}")
                r = run("export", src, "saelens", out)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                got = st_read(os.path.join(out, "sae_weights.safetensors"))
                with open(os.path.join(out, "cfg.json")) as fh:
                    gcfg = json.load(fh)
                self.assertEqual(gcfg["architecture"], arch)
                self.assertEqual((gcfg["d_in"], gcfg["d_sae"]), (D, H))
                self.assertEqual(gcfg["apply_b_dec_to_input"], cfg["apply_b_dec_to_input"])
                self.assertEqual(gcfg.get("k"), cfg.get("k"))
                self.assertEqual(sorted(got), sorted(w))
                for n in w:
                    ref = w[n].astype(np.float32)
                    if n == "threshold":  # theta <= 0 is exported as 0 (the same code)
                        ref = np.maximum(ref, 0)
                        np.testing.assert_allclose(got[n], ref, rtol=1e-6, err_msg=n)
                    else:
                        np.testing.assert_array_equal(got[n], ref, err_msg=n)
                r = run("roundtrip", src, "saelens", os.path.join(self.dir, f"rt-{arch}"))
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


def gemmascope_arrays(rng, d=D, s=H):
    return {"W_enc": rng.normal(0, 0.5, (d, s)).astype(np.float32),
            "W_dec": rng.normal(0, 0.3, (s, d)).astype(np.float32),
            "b_enc": rng.normal(0, 0.3, s).astype(np.float32),
            "b_dec": rng.normal(0, 0.2, d).astype(np.float32),
            "threshold": rng.uniform(0.05, 0.6, s).astype(np.float32)}


def gemmascope_forward(w, x):
    """The Gemma Scope tutorial's JumpReLU: no b_dec subtracted from x."""
    w = {n: a.astype(np.float64) for n, a in w.items()}
    pre = x @ w["W_enc"] + w["b_enc"]
    h = (pre > w["threshold"]) * np.maximum(pre, 0)
    return h, h @ w["W_dec"] + w["b_dec"]


class GemmaScope(Base):
    def check(self, path, w, fmt="-"):
        x = self.rng.normal(0, 1, (ROWS, D)).astype(np.float32).astype(np.float64)
        code, rec = self.encode(path, fmt, D, H, x)
        ref, ref_rec = gemmascope_forward(w, x)
        self.assertTrue(0.02 < (ref != 0).mean() < 0.98)
        self.assertClose(code, ref, path + " code")
        self.assertClose(rec, ref_rec, path + " reconstruction")

    def test_npz_stored_and_compressed(self):
        for save in (np.savez, np.savez_compressed):
            with self.subTest(save=save.__name__):
                w = gemmascope_arrays(self.rng)
                path = os.path.join(self.dir, "params.npz")
                save(path, **w)
                self.check(path, w)
                self.check(self.dir, w)  # the folder holding it
                w16 = {n: a.astype(np.float16) for n, a in w.items()}
                save(path, **w16)
                self.check(path, w16, "gemmascope")

    def test_gemma_scope_2_safetensors(self):
        for names in ({"W_enc": "w_enc", "W_dec": "w_dec"}, {}):
            for dtype in ("F32", "BF16"):
                with self.subTest(names=names, dtype=dtype):
                    w = gemmascope_arrays(self.rng)
                    folder = os.path.join(self.dir, f"gs2-{dtype}-{len(names)}")
                    os.makedirs(folder)
                    stored = st_write(os.path.join(folder, "params.safetensors"),
                                      {names.get(n, n): a for n, a in w.items()}, dtype)
                    self.check(folder, {n: stored[names.get(n, n)] for n in w})

    def test_refusals(self):
        path = os.path.join(self.dir, "params.npz")

        def case(status, words, **change):
            w = gemmascope_arrays(self.rng)
            drop = change.pop("drop", None)
            w.update(change)
            if drop:
                del w[drop]
            np.savez(path, **w)
            self.refused(path, status, words)

        case("FORMAT", ["threshold.npy", "missing"], drop="threshold")
        # W_dec transposed has W_enc's shape, which a reader taking the
        # dimensions from W_enc would accept: the biases say it is wrong.
        case("DIMENSION", ["W_dec.npy", "transposed"],
             W_dec=self.rng.normal(0, 1, (D, H)).astype(np.float32))
        case("DIMENSION", ["W_enc.npy", "transposed"],
             W_enc=self.rng.normal(0, 1, (H, D)).astype(np.float32))
        case("DIMENSION", ["W_enc.npy", "does not match"],
             W_enc=self.rng.normal(0, 1, (D, H + 1)).astype(np.float32))
        case("FORMAT", ["unexpected array 'log_threshold.npy'"], log_threshold=np.zeros(H))
        case("UNSUPPORTED", ["W_dec.npy", "<f8"], W_dec=np.zeros((H, D)))
        case("UNSUPPORTED", ["W_dec.npy", "fortran"],
             W_dec=np.asfortranarray(np.zeros((H, D), np.float32)))
        case("NONFINITE", ["threshold"], threshold=np.full(H, np.inf, np.float32))
        case("DIMENSION", ["b_enc.npy", "one-dimensional"], b_enc=np.zeros((H, 1), np.float32))
        w = gemmascope_arrays(self.rng)
        np.savez_compressed(path, **w)
        with open(path, "rb") as fh:
            data = fh.read()
        with open(path, "wb") as fh:
            fh.write(data[:len(data) // 2])
        self.refused(path, "FORMAT", ["params.npz"])
        with open(path, "wb") as fh:
            fh.write(b"PK not a zip at all" * 10)
        self.refused(path, "FORMAT", ["params.npz"])
        # A corrupted .npy header inside a valid zip.
        import zipfile
        with zipfile.ZipFile(path, "w") as z:
            for n, a in w.items():
                buf = __import__("io").BytesIO()
                np.save(buf, a)
                b = buf.getvalue()
                if n == "b_enc":
                    b = b.replace(b"'shape'", b"'shapf'")
                z.writestr(n + ".npy", b)
        self.refused(path, "FORMAT", ["b_enc.npy", ".npy header"])
        self.refused(os.path.join(self.dir, "missing.npz"), "IO", ["missing.npz"])


def write_sparsify(folder, rng, dtype="F32", cfg_extra=None, extra=None, k=5, n=H):
    os.makedirs(folder, exist_ok=True)
    w = {"encoder.weight": rng.normal(0, 0.5, (n, D)), "encoder.bias": rng.normal(0, 0.3, n),
         "W_dec": rng.normal(0, 0.3, (n, D)), "b_dec": rng.normal(0, 0.2, D)}
    w.update(extra or {})
    cfg = {"activation": "topk", "expansion_factor": 32, "normalize_decoder": True,
           "num_latents": n, "k": k, "multi_topk": False, "skip_connection": False,
           "transcode": False, "d_in": D}
    cfg.update(cfg_extra or {})
    cfg = {a: b for a, b in cfg.items() if b is not None}
    stored = st_write(os.path.join(folder, "sae.safetensors"), w, dtype)
    with open(os.path.join(folder, "cfg.json"), "w") as f:
        json.dump(cfg, f)
    return stored, cfg


def sparsify_forward(w, x, k):
    """sparsify's SparseCoder: the k largest of relu(encoder(x - b_dec)),
    decoded as code W_dec + b_dec."""
    pre = np.maximum((x - w["b_dec"]) @ w["encoder.weight"].T + w["encoder.bias"], 0)
    h = np.zeros_like(pre)
    idx = np.argsort(-pre, axis=1)[:, :k]
    np.put_along_axis(h, idx, np.take_along_axis(pre, idx, 1), 1)
    return h, h @ w["W_dec"] + w["b_dec"]


class Sparsify(Base):
    def test_import(self):
        for dtype in ("F32", "F16", "BF16"):
            with self.subTest(dtype=dtype):
                folder = os.path.join(self.dir, dtype)
                w, cfg = write_sparsify(folder, self.rng, dtype)
                x = self.rng.normal(0, 1, (ROWS, D)).astype(np.float32).astype(np.float64)
                code, rec = self.encode(folder, "-", D, H, x)
                ref, ref_rec = sparsify_forward(w, x, 5)
                self.assertClose(code, ref, "sparsify code")
                self.assertClose(rec, ref_rec, "sparsify reconstruction")
        # num_latents 0: d_in * expansion_factor latents.
        folder = os.path.join(self.dir, "ef")
        w, _ = write_sparsify(folder, self.rng, n=2 * D, cfg_extra={"num_latents": 0,
                                                                    "expansion_factor": 2})
        x = self.rng.normal(0, 1, (ROWS, D)).astype(np.float32).astype(np.float64)
        code, _ = self.encode(folder, "sparsify", D, 2 * D, x)
        self.assertClose(code, sparsify_forward(w, x, 5)[0], "expansion_factor")

    def test_refusals(self):
        f = os.path.join(self.dir, "s")
        for kw, status, words in [
                ({"cfg_extra": {"transcode": True}}, "UNSUPPORTED", ["transcode"]),
                ({"cfg_extra": {"skip_connection": True}}, "UNSUPPORTED", ["skip_connection"]),
                ({"extra": {"W_skip": np.zeros((D, D))}}, "UNSUPPORTED", ["W_skip"]),
                ({"cfg_extra": {"activation": "groupmax"}}, "UNSUPPORTED", ["groupmax"]),
                ({"cfg_extra": {"k": None}}, "FORMAT", ["no k"]),
                ({"cfg_extra": {"k": H + 1}}, "RANGE", ["k"]),
                ({"cfg_extra": {"d_in": None}}, "FORMAT", ["d_in"]),
                ({"cfg_extra": {"num_latents": H + 2}}, "DIMENSION", ["encoder.weight"]),
                ({"extra": {"encoder.weight": np.zeros((D, H))}}, "DIMENSION",
                 ["encoder.weight", "transposed"])]:
            with self.subTest(kw=str(kw)[:60]):
                write_sparsify(f, self.rng, **kw)
                self.refused(f, status, words)

    def test_export_and_round_trip(self):
        src = os.path.join(self.dir, "src")
        w, cfg = write_sparsify(src, self.rng)
        out = os.path.join(self.dir, "out")
        r = run("export", src, "sparsify", out, "sparsify")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        got = st_read(os.path.join(out, "sae.safetensors"))
        self.assertEqual(sorted(got), sorted(w))
        for n in w:
            np.testing.assert_array_equal(got[n], w[n].astype(np.float32), err_msg=n)
        with open(os.path.join(out, "cfg.json")) as fh:
            gcfg = json.load(fh)
        self.assertEqual((gcfg["d_in"], gcfg["num_latents"], gcfg["k"]), (D, H, 5))
        self.assertFalse(gcfg["transcode"])
        r = run("roundtrip", src, "sparsify", os.path.join(self.dir, "rt"), "sparsify")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # sparsify -> SAELens topk -> libsae: the same model bit for bit.
        r = run("roundtrip", src, "sparsify", os.path.join(self.dir, "rt2"), "saelens")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # What sparsify cannot say: a jumprelu SAE, refused by name.
        sl = os.path.join(self.dir, "jr")
        write_saelens(sl, "jumprelu", self.rng)
        r = run("export", sl, "saelens", os.path.join(self.dir, "x"), "sparsify")
        self.assertEqual(r.stdout.splitlines()[0], "status -14", r.stdout)
        self.assertIn("top-k", r.stdout)


def write_llamascope(folder, rng, hp_extra=None, dtype="BF16", extra=None, drop=None,
                     nested=True):
    os.makedirs(os.path.join(folder, "checkpoints"), exist_ok=True)
    w = {"encoder.weight": rng.normal(0, 0.5, (H, D)), "encoder.bias": rng.normal(-0.5, 0.3, H),
         "decoder.weight": rng.normal(0, 0.3, (D, H)), "decoder.bias": rng.normal(0, 0.2, D)}
    w.update(extra or {})
    if drop:
        del w[drop]
    hp = {"d_model": D, "d_sae": H, "act_fn": "jumprelu", "jump_relu_threshold": 0.25,
          "norm_activation": "dataset-wise", "use_decoder_bias": True,
          "apply_decoder_bias_to_pre_encoder": False,
          "dataset_average_activation_norm": {"in": 7.5, "out": 7.5}, "top_k": 50,
          "hook_point_in": "blocks.3.hook_resid_post", "hook_point_out": "blocks.3.hook_resid_post"}
    hp.update(hp_extra or {})
    hp = {a: b for a, b in hp.items() if b is not None}
    where = os.path.join(folder, "checkpoints") if nested else folder
    stored = st_write(os.path.join(where, "final.safetensors"), w, dtype)
    with open(os.path.join(folder, "hyperparams.json"), "w") as f:
        json.dump(hp, f)
    return stored, hp


def llamascope_forward(w, x, hp):
    """OpenMOSS lm-saes' dataset-wise normalisation around a JumpReLU SAE
    with one threshold: x scaled by sqrt(d_model) / norm_in, pre =
    encoder(x'), code = pre * (pre > theta), out = decoder(code) scaled
    back by norm_out / sqrt(d_model)."""
    norms = hp.get("dataset_average_activation_norm", {"in": None})
    c_in = np.sqrt(D) / norms["in"] if norms["in"] else 1.0
    c_out = np.sqrt(D) / norms["out"] if norms["in"] else 1.0
    xs = x * c_in
    if hp.get("apply_decoder_bias_to_pre_encoder"):
        xs = xs - w["decoder.bias"]
    pre = xs @ w["encoder.weight"].T + w["encoder.bias"]
    h = pre * (pre > hp["jump_relu_threshold"])
    return h, (h @ w["decoder.weight"].T + w["decoder.bias"]) / c_out


class LlamaScope(Base):
    def check(self, hp_extra=None, **kw):
        folder = tempfile.mkdtemp(dir=self.dir)
        w, hp = write_llamascope(folder, self.rng, hp_extra, **kw)
        x = self.rng.normal(0, 3, (ROWS, D)).astype(np.float32).astype(np.float64)
        code, rec = self.encode(folder, "-", D, H, x)
        ref, ref_rec = llamascope_forward(w, x, hp)
        self.assertTrue(0.02 < (ref != 0).mean() < 0.98, (ref != 0).mean())
        self.assertClose(code, ref, "Llama Scope code")
        self.assertClose(rec, ref_rec, "Llama Scope reconstruction")

    def test_import(self):
        self.check()
        self.check(dtype="F32", nested=False)
        self.check({"dataset_average_activation_norm": {"in": 5.0, "out": 9.0}})
        self.check({"apply_decoder_bias_to_pre_encoder": True})
        self.check({"norm_activation": "none", "dataset_average_activation_norm": None})

    def test_refusals(self):
        f = os.path.join(self.dir, "ls")
        for kw, status, words in [
                ({"hp_extra": {"jump_relu_threshold": None}}, "FORMAT", ["jump_relu_threshold"]),
                ({"hp_extra": {"norm_activation": "token-wise"}}, "UNSUPPORTED", ["token-wise"]),
                ({"hp_extra": {"norm_activation": "batch"}}, "BAD_VALUE", ["batch"]),
                ({"hp_extra": {"act_fn": "topk"}}, "UNSUPPORTED", ["topk"]),
                ({"hp_extra": {"hook_point_out": "blocks.3.hook_mlp_out"}}, "UNSUPPORTED",
                 ["transcoder"]),
                ({"hp_extra": {"dataset_average_activation_norm": {"in": 0, "out": 1}}},
                 "FORMAT", ["dataset_average_activation_norm"]),
                ({"hp_extra": {"apply_decoder_bias_to_pre_encoder": True,
                               "dataset_average_activation_norm": {"in": 2, "out": 3}}},
                 "UNSUPPORTED", ["apply_decoder_bias_to_pre_encoder"]),
                # The SAELens layout (decoder [d_sae, d_model]) where Llama Scope's is expected.
                ({"extra": {"decoder.weight": np.zeros((H, D))}}, "DIMENSION",
                 ["decoder.weight", "transposed"]),
                ({"drop": "encoder.bias"}, "FORMAT", ["missing tensor 'encoder.bias'"]),
                ({"extra": {"W_skip": np.zeros(D)}}, "FORMAT", ["unexpected tensor 'W_skip'"])]:
            with self.subTest(kw=str(kw)[:60]):
                write_llamascope(f, self.rng, **kw)
                self.refused(f, status, words)


class ExportLibsae(Base):
    """libsae models of each code exported to SAELens and read back by the
    reader above: SAELens's forward on the exported arrays gives libsae's
    codes."""

    def test_codes_survive_export(self):
        for kind, arch, k in [("topk", "topk", 4), ("alpha", "topk", 6),
                              ("batchtopk", "jumprelu", None), ("jumprelu", "jumprelu", None)]:
            with self.subTest(kind=kind):
                model = os.path.join(self.dir, kind + ".safetensors")
                r = run("make", kind, model)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                x = self.rng.normal(0, 1, (ROWS, D)).astype(np.float32).astype(np.float64)
                code, rec = self.encode(model, "-", D, H, x)
                out = os.path.join(self.dir, "out-" + kind)
                r = run("export", model, "libsae", out)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                with open(os.path.join(out, "cfg.json")) as fh:
                    cfg = json.load(fh)
                self.assertEqual(cfg["architecture"], arch)
                self.assertEqual(cfg.get("k"), k)
                w = {n: a.astype(np.float64) for n, a in
                     st_read(os.path.join(out, "sae_weights.safetensors")).items()}
                if kind == "batchtopk":
                    np.testing.assert_array_equal(w["threshold"], np.float32(0.3))
                ref, ref_rec = saelens_forward(arch, w, x, cfg)
                self.assertTrue(0.02 < (ref != 0).mean() < 0.98)
                self.assertClose(code, ref, kind + " code")
                self.assertClose(rec, ref_rec, kind + " reconstruction")


class HalfPrecision(Base):
    """Every finite F16 and BF16 bit pattern is read as the float it
    denotes: b_dec holds them all, W_dec is zero, so the reconstruction
    is b_dec (numpy's float16 conversion and the bf16 definition are the
    references)."""

    def test_every_pattern(self):
        bits = np.arange(65536, dtype=np.uint32)
        f16 = bits.astype(np.uint16).view(np.float16)
        f16 = f16[np.isfinite(f16)]
        bf = (bits << 16).view(np.float32)
        bf = bf[np.isfinite(bf)]
        for name, vals, dt in (("f16", f16, "F16"), ("bf16", bf, "BF16")):
            with self.subTest(dtype=dt):
                d = len(vals)
                folder = os.path.join(self.dir, name)
                os.makedirs(folder)
                w = {"w_enc": np.zeros((d, 1), np.float32), "w_dec": np.zeros((1, d), np.float32),
                     "b_enc": np.zeros(1, np.float32), "b_dec": vals,
                     "threshold": np.ones(1, np.float32)}
                st_write(os.path.join(folder, "params.safetensors"), w, {"b_dec": dt})
                _, rec = self.encode(folder, "gemmascope", d, 1, np.zeros((1, d)))
                np.testing.assert_array_equal(rec[0], vals.astype(np.float64))


if __name__ == "__main__":
    TOOL = sys.argv.pop(1)
    unittest.main(verbosity=1)
