#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The sae program on SAEs of other tools (docs/interop.md): `sae info`
auto-detects and summarises each format, `sae convert --to` writes libsae,
SAELens and sparsify files, and `sae encode` / `sae eval` run on the foreign
folders directly. The files are made with the writers of test_foreign.py
(numpy + json, the tools' own layouts); codes are checked against its numpy
forwards.

usage: test_cli_foreign.py SAE_PROGRAM GEMMA_SCOPE_EXAMPLE
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
EXAMPLE = os.path.abspath(sys.argv.pop(1))
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def doc_blocks(lang):
    """The ```lang blocks of docs/interop.md."""
    with open(os.path.join(ROOT, "docs", "interop.md")) as f:
        return re.findall(r"```" + lang + r"\n(.*?)```", f.read(), re.S)


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


class Docs(Base):
    def test_c_example(self):
        """docs/interop.md's C program is the one compiled here, and its
        codes are the Gemma Scope forward's."""
        with open(os.path.join(ROOT, "tests", "foreign", "gemma_scope_example.c")) as f:
            src = f.read()
        self.assertIn(src[src.index("#include <stdio.h>"):], doc_blocks("c"))
        w = tf.gemmascope_arrays(self.rng)
        np.savez_compressed(self.p("params.npz"), **w)
        r = subprocess.run([EXAMPLE, self.p("params.npz")], input=self.x.tobytes(),
                           capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        codes = np.frombuffer(r.stdout, dtype=np.float32).reshape(tf.ROWS, tf.H)
        self.close(codes.astype(np.float64), tf.gemmascope_forward(w, self.x)[0])
        r = subprocess.run([EXAMPLE, self.p("none.npz")], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("does not exist", r.stderr)

    def test_pickle_conversion(self):
        """The conversion block of docs/interop.md on state dicts of
        dictionary_learning's and OpenAI's layouts (torch.save), imported and
        compared with their PyTorch forwards."""
        try:
            import torch
        except ImportError:
            self.skipTest("no torch")
        block = [b for b in doc_blocks("python") if "def from_openai" in b]
        self.assertEqual(len(block), 1)
        ns = {}
        exec(block[0], ns)  # noqa: S102 - the documented code itself
        g = torch.Generator().manual_seed(3)
        d, n = tf.D, tf.H
        x = torch.from_numpy(self.x)
        dl = {"encoder.weight": torch.randn(n, d, generator=g) * 0.5,
              "encoder.bias": torch.randn(n, generator=g) * 0.3,
              "decoder.weight": torch.randn(d, n, generator=g) * 0.3,
              "bias": torch.randn(d, generator=g) * 0.2}
        torch.save(dl, self.p("ae.pt"))
        ns["from_dictionary_learning"](self.p("ae.pt"), self.p("dl"))
        ref = torch.relu((x - dl["bias"]) @ dl["encoder.weight"].T + dl["encoder.bias"])
        self.close(self.codes(self.p("dl")), ref.double().numpy())
        oa = {"pre_bias": dl["bias"], "latent_bias": dl["encoder.bias"],
              "encoder.weight": dl["encoder.weight"], "decoder.weight": dl["decoder.weight"],
              "activation": "TopK", "activation_state_dict": {"k": 6}}
        torch.save(oa, self.p("openai.pt"))
        ns["from_openai"](self.p("openai.pt"), self.p("oa"), k=6)
        pre = (x - oa["pre_bias"]) @ oa["encoder.weight"].T + oa["latent_bias"]
        top = torch.topk(pre, 6, dim=1)
        ref = torch.zeros_like(pre).scatter(1, top.indices, torch.relu(top.values))
        self.close(self.codes(self.p("oa")), ref.double().numpy())


if __name__ == "__main__":
    unittest.main()
