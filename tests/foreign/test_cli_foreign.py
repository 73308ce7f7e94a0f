#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The sae program on SAEs of other tools (docs/interop.md): `sae info`
auto-detects and summarises each format, `sae convert --to` writes libsae,
SAELens and sparsify files, and `sae encode` / `sae eval` run on the foreign
folders directly. The files are made with the writers of test_foreign.py
(numpy + json, the tools' own layouts); codes are checked against its numpy
forwards.

usage: test_cli_foreign.py SAE_PROGRAM
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_foreign as tf  # noqa: E402

SAE = os.path.abspath(sys.argv.pop(1))


def run(*args, ok=0):
    p = subprocess.run([SAE, *[str(a) for a in args]], capture_output=True, text=True,
                       timeout=120)
    if ok is not None and p.returncode != ok:
        raise AssertionError(f"sae {' '.join(map(str, args))}: exit {p.returncode}\n"
                             f"{p.stdout}\n{p.stderr}")
    return p


def fields(text):
    """The 'key: value' lines of sae info."""
    return {m.group(1): m.group(2) for m in re.finditer(r"^(\w+):\s+(.*)$", text, re.M)}


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.rng = np.random.default_rng(11)
        self.x = self.rng.normal(0, 1, (tf.ROWS, tf.D)).astype(np.float32)
        self.xp = os.path.join(self.dir, "x.npy")
        np.save(self.xp, self.x)

    def tearDown(self):
        self.tmp.cleanup()

    def p(self, *names):
        return os.path.join(self.dir, *names)

    def codes(self, model):
        run("encode", "--model", model, "--data", self.xp, "--out", self.p("c.npy"))
        return np.load(self.p("c.npy")).astype(np.float64)

    def close(self, got, ref):
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())


class Info(Base):
    def test_saelens_each_architecture(self):
        for arch, dtype in (("standard", "F32"), ("topk", "BF16"), ("jumprelu", "F16"),
                            ("gated", "F32")):
            folder = self.p("saelens-" + arch)
            stored, cfg = tf.write_saelens(folder, arch, self.rng, dtype)
            f = fields(run("info", folder).stdout)
            self.assertEqual(f["format"], "saelens")
            self.assertEqual(f["dtype"], dtype)
            self.assertEqual(f["input_dim"], str(tf.D))
            self.assertEqual(f["code_dim"], str(tf.H))
            self.assertTrue(f["architecture"].startswith(
                {"standard": "standard", "topk": "topk", "jumprelu": "jumprelu",
                 "gated": "gated"}[arch]), f["architecture"])
            if arch == "topk":
                self.assertEqual(f["k"], "5")
            if arch == "jumprelu":
                # theta <= 0 latents are ReLUs: the smallest threshold is 0.
                th = stored["threshold"].astype(np.float64)
                lo, med, hi = re.match(r"min (\S+), median (\S+), max (\S+)",
                                       f["threshold"]).groups()
                self.assertAlmostEqual(float(hi), th.max(), delta=1e-6)
                self.assertEqual(float(lo), 0.0)
            # encode and eval run on the folder itself, codes as SAELens's.
            h, _ = tf.saelens_forward(arch, {n: a.astype(np.float64) for n, a in stored.items()},
                                      self.x.astype(np.float64), cfg)
            self.close(self.codes(folder), h)
            ev = json.loads(run("eval", "--model", folder, "--data", self.xp, "--json").stdout)
            self.assertEqual(ev["l0"], float((h != 0).sum()) / tf.ROWS)

    def test_gemmascope_sparsify_llamascope(self):
        w = tf.gemmascope_arrays(self.rng)
        np.savez_compressed(self.p("params.npz"), **w)
        f = fields(run("info", self.p("params.npz")).stdout)
        self.assertEqual((f["format"], f["architecture"]), ("gemmascope", "jumprelu"))
        self.assertIn("npz", f["dtype"])
        self.close(self.codes(self.p("params.npz")), tf.gemmascope_forward(w, self.x)[0])
        os.makedirs(self.p("gs2"))
        tf.st_write(self.p("gs2", "params.safetensors"), w, "BF16")
        f = fields(run("info", self.p("gs2")).stdout)
        self.assertEqual((f["format"], f["dtype"]), ("gemmascope", "BF16"))

        stored, cfg = tf.write_sparsify(self.p("sp"), self.rng, k=7)
        f = fields(run("info", self.p("sp")).stdout)
        self.assertEqual((f["format"], f["architecture"], f["k"]), ("sparsify", "topk", "7"))

        tf.write_llamascope(self.p("ls"), self.rng)
        f = fields(run("info", self.p("ls")).stdout)
        self.assertEqual((f["format"], f["dtype"], f["architecture"]),
                         ("llamascope", "BF16", "jumprelu"))
        self.assertEqual(f["weights"], self.p("ls", "checkpoints", "final.safetensors"))

    def test_refusal_message(self):
        tf.write_saelens(self.p("bad"), "standard", self.rng, cfg_extra={"architecture": "x"})
        r = run("info", self.p("bad"), ok=1)
        self.assertIn("unknown architecture", r.stderr)


class Convert(Base):
    def test_to_each_format(self):
        stored, cfg = tf.write_saelens(self.p("in"), "jumprelu", self.rng, "BF16")
        ref = self.codes(self.p("in"))
        # libsae (the default), read back by the library.
        run("convert", self.p("in"), self.p("m.safetensors"))
        self.assertEqual(fields(run("info", self.p("m.safetensors")).stdout)["code_dim"],
                         str(tf.H))
        np.testing.assert_array_equal(self.codes(self.p("m.safetensors")), ref)
        # SAELens: the folder a SAELens loader reads (tensors read back with
        # test_foreign's independent reader), and imported again.
        run("convert", "--to", "saelens", self.p("m.safetensors"), self.p("out-saelens"))
        t = tf.st_read(self.p("out-saelens", "sae_weights.safetensors"))
        self.assertEqual(set(t), {"W_enc", "b_enc", "W_dec", "b_dec", "threshold"})
        np.testing.assert_allclose(t["W_enc"], stored["W_enc"].astype(np.float32), rtol=1e-6)
        with open(self.p("out-saelens", "cfg.json")) as f:
            self.assertEqual(json.load(f)["architecture"], "jumprelu")
        np.testing.assert_array_equal(self.codes(self.p("out-saelens")), ref)
        # sparsify takes top-k SAEs: a jumprelu one is refused with a message.
        r = run("convert", "--to", "sparsify", self.p("in"), self.p("out-sp"), ok=1)
        self.assertIn("sparsify", r.stderr)
        self.assertFalse(os.path.exists(self.p("out-sp", "sae.safetensors")))
        tf.write_sparsify(self.p("sp"), self.rng, k=4)
        ref = self.codes(self.p("sp"))
        run("convert", "--to", "sparsify", self.p("sp"), self.p("out-sp"))
        np.testing.assert_array_equal(self.codes(self.p("out-sp")), ref)

    def test_usage(self):
        r = run("convert", "--to", "pickle", "a", "b", ok=2)
        self.assertIn("--to takes libsae, saelens or sparsify", r.stderr)
        r = run("convert", "--to", "saelens", self.xp, self.p("o"), ok=1)
        self.assertFalse(os.path.exists(self.p("o")))


if __name__ == "__main__":
    unittest.main()
