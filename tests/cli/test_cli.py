#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""End-to-end tests of the sae program (tools/sae, docs/cli.md) on small
files made here: every subcommand, its numbers against the library's API
(through the Python binding, on the same model), every usage error's exit
status and message, nothing half-written, interruption.

    test_cli.py SAE_PROGRAM LIBSAE_SO [unittest options]
"""
import gzip
import json
import os
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import unittest

import numpy as np

SAE = os.path.abspath(sys.argv.pop(1))
os.environ["LIBSAE_LIBRARY"] = os.path.abspath(sys.argv.pop(1))
SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "bindings", "python"))
# In a sanitizer build the library cannot be loaded into Python (the
# sanitizer's runtime must come first): the comparisons with the library's
# API are left out there, the program's own checks all run.
API = os.environ.get("SAE_CLI_NO_API") != "1"
if API:
    import libsae  # noqa: E402

SETS = ["--set", "arch.hidden_dim=24", "--set", "arch.hidden_activation=relu",
        "--set", "l1.weight=0.001", "--set", "train.batch_size=50", "--set", "train.seed=3"]
CONFIG = {"arch.hidden_dim": 24, "arch.hidden_activation": "relu", "l1.weight": 0.001,
          "train.batch_size": 50, "train.seed": 3}


def run(*args, ok=None, **kw):
    p = subprocess.run([SAE, *args], capture_output=True, text=True, timeout=120, **kw)
    if ok is not None and p.returncode != ok:
        raise AssertionError(f"sae {' '.join(args)}: exit {p.returncode}, expected {ok}\n"
                             f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def read(path, mode="rb"):
    with open(path, mode) as f:
        return f.read()


def data(rows=400, dim=12, seed=0):
    return np.random.default_rng(seed).random((rows, dim), dtype=np.float32)


class Base(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sae-cli-")
        self.addCleanup(shutil.rmtree, self.dir)

    def p(self, name):
        return os.path.join(self.dir, name)

    def npy(self, name, x):
        np.save(self.p(name), x)
        return self.p(name)

    def usage(self, args, needle):
        r = run(*args)
        self.assertEqual(r.returncode, 2, f"{args}: {r.stderr}")
        self.assertIn(needle, r.stderr, args)
        self.assertIn("--help", r.stderr)
        return r

    def fails(self, args, needle):
        r = run(*args)
        self.assertEqual(r.returncode, 1, f"{args}: {r.stdout} {r.stderr}")
        self.assertIn(needle, r.stderr, args)
        return r

    def no_leftovers(self):
        """No temporary file of an atomic write stays behind."""
        self.assertEqual([f for f in os.listdir(self.dir) if ".tmp-" in f], [])


class RoundTrip(Base):
    """train -> encode -> decode -> eval against the library's API."""

    def test_round_trip(self):
        x = data()
        xp = self.npy("x.npy", x)
        m = self.p("m.safetensors")
        r = run("train", "--data", xp, "--out", m, *SETS, "--steps", "30", "--log",
                self.p("log.jsonl"), "--quiet", ok=0)
        self.assertEqual(r.stdout, "")
        # The same training through the library's API gives the same file.
        if API:
            est = libsae.SparseAutoencoder(CONFIG)
            est.fit(x, steps=30)
            est.save(self.p("api.safetensors"))
            self.assertEqual(read(m), read(self.p("api.safetensors")))
            # --epochs N is N x ceil(rows / batch) steps, as fit(epochs=N).
            run("train", "--data", xp, "--out", self.p("e.safetensors"), *SETS, "--epochs",
                "3", "-q", ok=0)
            est = libsae.SparseAutoencoder(CONFIG, epochs=3)
            est.fit(x)
            est.save(self.p("api3.safetensors"))
            self.assertEqual(read(self.p("e.safetensors")), read(self.p("api3.safetensors")))
        log = [json.loads(line) for line in read(self.p("log.jsonl"), "r").splitlines()]
        self.assertEqual([e["step"] for e in log], list(range(1, 31)))
        for key in ("loss", "recon_loss", "terms", "l0", "dead_fraction", "learning_rate"):
            self.assertIn(key, log[-1])
        self.assertIn("l1", log[-1]["terms"])

        if not API:
            for args in (["encode", "--model", m, "--data", xp, "--out", self.p("c.npy")],
                         ["decode", "--model", m, "--codes", self.p("c.npy"), "--out",
                          self.p("xh.npy")],
                         ["encode", "--model", m, "--data", xp, "--out", self.p("b.npy"),
                          "--binary", "5"]):
                run(*args, ok=0)
            self.assertEqual(json.loads(run("eval", "--model", m, "--data", xp, "--json",
                                            ok=0).stdout)["rows"], 400)
            return
        model = libsae.load(m)
        run("encode", "--model", m, "--data", xp, "--out", self.p("c.npy"), ok=0)
        codes = np.load(self.p("c.npy"))
        self.assertEqual(codes.dtype, np.float32)
        np.testing.assert_array_equal(codes, model.encode(x))
        # In chunks of 7 rows: the same codes, up to the GEMM's summation
        # order, which depends on the row count.
        run("encode", "--model", m, "--data", xp, "--out", self.p("c7.npy"), "--chunk", "7",
            ok=0)
        np.testing.assert_allclose(np.load(self.p("c7.npy")), codes, rtol=0, atol=1e-6)
        run("encode", "--model", m, "--data", xp, "--out", self.p("b.npy"), "--binary", "5",
            ok=0)
        bits = np.load(self.p("b.npy"))
        self.assertEqual(bits.dtype, np.uint8)
        np.testing.assert_array_equal(bits, model.encode_binary(x, 5))
        self.assertTrue((bits.sum(1) == 5).all())
        run("decode", "--model", m, "--codes", self.p("c.npy"), "--out", self.p("xh.npy"), ok=0)
        xh = np.load(self.p("xh.npy"))
        np.testing.assert_array_equal(xh, model.decode(codes))
        r = run("eval", "--model", m, "--data", xp, "--json", ok=0)
        ev = json.loads(r.stdout)
        met = model.metrics(x)
        std = model.eval_metrics(x, hist_range=(-8, 0), bins=16)
        obj = model.evaluate(x)
        self.assertEqual(ev["rows"], 400)
        # CLI == API: every metric is sae_metrics_*'s on the same rows.
        for key in ("l0", "mse", "fvu", "explained_variance", "cosine", "l2_ratio",
                    "rel_bias", "dead_fraction", "dense_fraction", "dead_units",
                    "dense_units"):
            self.assertEqual(ev[key], std[key], key)
        self.assertEqual(ev["log10_frequency_histogram"],
                         {"lo": -8, "hi": 0, "counts": std["log10_histogram"].tolist()})
        # sae_model_reconstruction_error reconstructs all rows in one call,
        # the metrics 256 at a time: float GEMMs round differently.
        self.assertAlmostEqual(ev["fvu"], met["nmse"], delta=1e-6 * met["nmse"])
        rec = model.reconstruct(x)
        self.assertAlmostEqual(ev["mse"], float(np.mean((x.astype(np.float64) - rec) ** 2)),
                               delta=1e-6 * ev["mse"])
        self.assertEqual(ev["l0"], float((codes != 0).sum()) / 400)
        self.assertEqual(ev["dead_fraction"], float((~(codes != 0).any(0)).mean()))
        self.assertEqual(ev["loss"], obj["loss"])
        self.assertEqual(ev["recon_loss"], obj["recon_loss"])
        self.assertEqual(ev["terms"]["l1"], obj["terms"]["l1"])
        self.assertEqual(ev["mean_activation"], obj["mean_activation"])
        # The text form: one "key: value" line each, the same values.
        r = run("eval", "--model", m, "--data", xp, ok=0)
        lines = dict(line.split(": ", 1) for line in r.stdout.splitlines())
        for key in ("l0", "mse", "fvu", "explained_variance", "cosine", "l2_ratio",
                    "rel_bias", "dead_fraction", "dense_fraction", "loss"):
            self.assertEqual(float(lines[key]), ev[key], key)
        self.assertEqual(lines["terms.l1"], repr(ev["terms"]["l1"]))
        self.assertEqual(lines["log10_frequency_histogram"],
                         "-8:0 " + ",".join(str(c) for c in std["log10_histogram"]))
        # More rows than one chunk (65500 rows with batches of 50): the same
        # metrics, to rounding, and the objective of the whole set.
        big = data(65600, 12, seed=5)
        bp = self.npy("big.npy", big)
        ev = json.loads(run("eval", "--model", m, "--data", bp, "--json", ok=0).stdout)
        std = model.eval_metrics(big)
        obj = model.evaluate(big)
        for key in ("l0", "mse", "fvu", "cosine", "l2_ratio", "rel_bias"):
            self.assertAlmostEqual(ev[key], std[key], delta=1e-7 * abs(std[key]), msg=key)
        for key in ("loss", "recon_loss", "mean_activation"):
            self.assertAlmostEqual(ev[key], obj[key], delta=1e-7 * abs(obj[key]), msg=key)
        self.assertEqual(ev["dead_units"], std["dead_units"])
        os.unlink(bp)
        self.no_leftovers()


class Formats(Base):
    """Every reader feeds training the same rows: the model files agree."""

    def train(self, out, *args):
        run("train", *args, "--out", self.p(out), *SETS, "--epochs", "2", "--quiet", ok=0)
        return read(self.p(out))

    def test_shards_and_formats(self):
        x = data(300, 8)
        whole = self.train("a.safetensors", "--data", self.npy("x.npy", x))
        # Shards, in order.
        s1, s2 = self.npy("s1.npy", x[:120]), self.npy("s2.npy", x[120:])
        self.assertEqual(self.train("b.safetensors", "--data", s1, "--data", s2), whole)
        # Raw float32 with --dim; a 3-D .npy; a safetensors tensor; bfloat16
        # values that are exact in bfloat16.
        x.tofile(self.p("x.bin"))
        self.assertEqual(self.train("c.safetensors", "--data", self.p("x.bin"), "--dim", "8"),
                         whole)
        self.assertEqual(self.train("d.safetensors", "--data",
                                    self.npy("x3.npy", x.reshape(300, 2, 4))), whole)
        hdr = json.dumps({"__metadata__": {"a": "b"},
                          "other": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                          "acts": {"dtype": "F32", "shape": [300, 8],
                                   "data_offsets": [4, 4 + x.nbytes]}}).encode()
        with open(self.p("x.safetensors"), "wb") as f:
            f.write(struct.pack("<Q", len(hdr)) + hdr + b"\0\0\0\0" + x.tobytes())
        self.assertEqual(self.train("e.safetensors", "--data", self.p("x.safetensors"),
                                    "--tensor", "acts"), whole)
        self.fails(["train", "--data", self.p("x.safetensors"), "--out", self.p("f")],
                   "name one with --tensor")
        xb = (x.view(np.uint32) & 0xFFFF0000).view(np.float32)
        wb = self.train("g.safetensors", "--data", self.npy("xb.npy", xb))
        (xb.view(np.uint32) >> 16).astype(np.uint16).tofile(self.p("x.bf16"))
        self.assertEqual(self.train("h.safetensors", "--data", self.p("x.bf16"), "--dim", "8",
                                    "--dtype", "bf16"), wb)
        # float16 values exact in float16.
        xh = x.astype(np.float16)
        w16 = self.train("i.safetensors", "--data", self.npy("x32.npy", xh.astype(np.float32)))
        self.assertEqual(self.train("j.safetensors", "--data", self.npy("x16.npy", xh)), w16)

    def test_uint8_and_idx(self):
        u = np.random.default_rng(1).integers(0, 256, (200, 3, 3), dtype=np.uint8)
        scaled = self.train("a.safetensors", "--data",
                            self.npy("f.npy", u.reshape(200, 9).astype(np.float32) / 255))
        self.assertEqual(self.train("b.safetensors", "--data", self.npy("u.npy", u),
                                    "--scale-u8"), scaled)
        header = struct.pack(">IIII", 0x803, 200, 3, 3)
        with gzip.open(self.p("imgs-idx3-ubyte.gz"), "wb") as f:
            f.write(header + u.tobytes())
        self.assertEqual(self.train("c.safetensors", "--data", self.p("imgs-idx3-ubyte.gz"),
                                    "--scale-u8"), scaled)
        with open(self.p("imgs-idx3-ubyte"), "wb") as f:
            f.write(header + u.tobytes())
        self.assertEqual(self.train("d.safetensors", "--data", self.p("imgs-idx3-ubyte"),
                                    "--scale-u8"), scaled)
        # Without --scale-u8 the values are 0..255: another model.
        self.assertNotEqual(self.train("e.safetensors", "--data", self.npy("u.npy", u)), scaled)
        # convert: IDX (gzip) to .npy, the same floats.
        run("convert", "--scale-u8", self.p("imgs-idx3-ubyte.gz"), self.p("c.npy"), ok=0)
        np.testing.assert_array_equal(np.load(self.p("c.npy")),
                                      u.reshape(200, 9).astype(np.float32) / np.float32(255))

    def test_bad_files(self):
        x = data(10, 4)
        good = self.npy("x.npy", x)
        raw = read(good)
        with open(self.p("t.npy"), "wb") as f:
            f.write(raw[:-3])
        out = self.p("m.safetensors")
        self.fails(["train", "--data", self.p("t.npy"), "--out", out], "truncated")
        self.fails(["train", "--data", self.p("nope.npy"), "--out", out], "nope.npy")
        np.save(self.p("f8.npy"), x.astype(np.float64))
        self.fails(["train", "--data", self.p("f8.npy"), "--out", out], "'<f8'")
        np.save(self.p("fo.npy"), np.asfortranarray(x))
        self.fails(["train", "--data", self.p("fo.npy"), "--out", out], "Fortran")
        self.fails(["train", "--data", good, "--data", self.npy("y.npy", data(10, 5)),
                    "--out", out], "rows of 5 values")
        x[3, 2] = np.nan
        self.fails(["train", "--data", self.npy("nan.npy", x), "--out", out], "NaN")
        with open(self.p("junk"), "wb") as f:
            f.write(b"hello world")
        self.fails(["train", "--data", self.p("junk"), "--out", out], "cannot tell the format")
        self.fails(["train", "--data", self.p("junk"), "--dim", "3", "--out", out],
                   "not a whole number")
        self.assertFalse(os.path.exists(out))
        self.no_leftovers()


class Config(Base):
    def test_files_and_sets_agree(self):
        xp = self.npy("x.npy", data(200, 6))
        with open(self.p("c.json"), "w") as f:
            json.dump({"arch.hidden_dim": 24, "arch.hidden_activation": "relu",
                       "l1.weight": 0.001, "train.batch_size": 50, "train.seed": 3}, f)
        with open(self.p("c.conf"), "w") as f:
            f.write("# the same, as lines\narch.hidden_dim = 24\n\narch.hidden_activation = "
                    "relu  # a comment\nl1.weight=0.001\ntrain.batch_size = 50\n"
                    "train.seed = 7\n")
        outs = []
        for args in (SETS, ["--config", self.p("c.json")],
                     ["--config", self.p("c.conf"), "--set", "train.seed=3"]):
            m = self.p(f"m{len(outs)}.safetensors")
            run("train", "--data", xp, "--out", m, "--steps", "5", "-q", *args, ok=0)
            outs.append(read(m))
        self.assertEqual(outs[0], outs[1])
        self.assertEqual(outs[0], outs[2])

    def test_refused_before_data(self):
        # The data file does not exist: a config error is found first.
        missing = self.p("missing.npy")
        out = self.p("m.safetensors")
        self.usage(["train", "--data", missing, "--out", out, "--set", "kl.rhoo=0.1"],
                   "unknown config key 'kl.rhoo'")
        self.usage(["train", "--data", missing, "--out", out, "--set", "kl.rho=2"], "kl.rho")
        self.usage(["train", "--data", missing, "--out", out, "--set", "kl.rho"],
                   "'kl.rho' is not key=value")
        with open(self.p("bad.conf"), "w") as f:
            f.write("arch.hidden_dim = 8\n# ok\ntopk.kk = 3\n")
        self.usage(["train", "--data", missing, "--out", out, "--config", self.p("bad.conf")],
                   "bad.conf:3: unknown config key 'topk.kk'")
        with open(self.p("bad.json"), "w") as f:
            f.write('{"arch.hidden_dim": [8]}')
        self.usage(["train", "--data", missing, "--out", out, "--config", self.p("bad.json")],
                   "must be a string, number or boolean")
        with open(self.p("bad2.json"), "w") as f:
            f.write('{"arch.hidden_dim": 8,')
        self.usage(["train", "--data", missing, "--out", out, "--config", self.p("bad2.json")],
                   "not a JSON object")
        self.usage(["train", "--data", missing, "--out", out, "--config", self.p("none")],
                   "--config")
        # A config the model refuses (k above the code size), once the data's
        # dimension is known, before training.
        xp = self.npy("x.npy", data(50, 6))
        self.usage(["train", "--data", xp, "--out", out, "--set", "arch.hidden_dim=4",
                    "--set", "topk.k=9"], "topk.k")
        self.usage(["train", "--data", xp, "--out", out, "--set", "arch.input_dim=5"],
                   "arch.input_dim = 5, but the data's rows hold 6 values")
        self.assertFalse(os.path.exists(out))


class Usage(Base):
    COMMANDS = ["train", "encode", "decode", "eval", "info", "convert", "viz"]

    def test_help(self):
        for c in self.COMMANDS:
            for args in ([c, "--help"], [c, "-h"], ["help", c]):
                r = run(*args, ok=0)
                self.assertTrue(r.stdout.startswith(f"Usage: sae {c}"), args)
        r = run("--help", ok=0)
        for c in self.COMMANDS:
            self.assertIn(f"  {c} ", r.stdout)
        if API:
            self.assertIn(libsae.library_version(), run("--version", ok=0).stdout)
        self.assertEqual(run().returncode, 2)
        self.usage(["frobnicate"], "no command 'frobnicate'")
        self.usage(["help", "frobnicate"], "no command 'frobnicate'")

    def test_errors(self):
        xp = self.npy("x.npy", data(100, 6))
        m = self.p("m.safetensors")
        run("train", "--data", xp, "--out", m, "--set", "arch.hidden_dim=8", "--steps", "2",
            "-q", ok=0)
        cases = [
            (["train", "--out", m], "--data and --out are required"),
            (["train", "--data", xp], "--data and --out are required"),
            (["train", "--data", xp, "--out", m, "--epochs", "2", "--steps", "3"],
             "--epochs and --steps cannot both be given"),
            (["train", "--data", xp, "--out", m, "--epochs", "0"], "--epochs: 0 is out of range"),
            (["train", "--data", xp, "--out", m, "--steps", "x"], "'x' is not a whole number"),
            (["train", "--data", xp, "--out", m, "--steps", "-3"], "'-3' is not a whole number"),
            (["train", "--data", xp, "--out", m, "--threads", "9999"], "--threads"),
            (["train", "--data", xp, "--out", m, "--log-every", "0"], "--log-every"),
            (["train", "--data", xp, "--out", m, "--bogus"], "unknown option '--bogus'"),
            (["train", "--data", xp, "--out", m, "-Z"], "unknown option '-Z'"),
            (["train", "--data", xp, "--out"], "option '--out' needs a value"),
            (["train", "--data", xp, "--out", m, "stray"], "unexpected argument 'stray'"),
            (["train", "--data", xp, "--out", m, "--format", "csv"], "unknown data format 'csv'"),
            (["train", "--data", xp, "--out", m, "--dtype", "f64"], "'f64' is not f32 or bf16"),
            (["train", "--data", xp, "--out", m, "--dim", "0"], "--dim: 0 is out of range"),
            (["encode", "--model", m, "--data", xp], "--model, --data and --out are required"),
            (["encode", "--model", m, "--data", xp, "--out", self.p("c.npy"), "--binary", "9"],
             "--binary 9: the model has 8 code units"),
            (["encode", "--model", m, "--data", xp, "--out", self.p("c.npy"), "--chunk", "0"],
             "--chunk"),
            (["decode", "--model", m, "--out", self.p("c.npy")],
             "--model, --codes and --out are required"),
            (["eval", "--model", m], "--model and --data are required"),
            (["eval", "--model", m, "--data", xp, "--jsn"], "unknown option '--jsn'"),
            (["info"], "one model file is needed"),
            (["info", m, m], "one model file is needed"),
            (["convert", m], "IN and OUT are needed"),
            (["convert", m, m], "IN and OUT are the same file"),
        ]
        for args, needle in cases:
            self.usage(args, needle)
        self.assertFalse(os.path.exists(self.p("c.npy")))

    def test_runtime_errors(self):
        xp = self.npy("x.npy", data(100, 6))
        m = self.p("m.safetensors")
        run("train", "--data", xp, "--out", m, "--set", "arch.hidden_dim=8", "--steps", "2",
            "-q", ok=0)
        y = self.npy("y.npy", data(100, 5))
        c = self.p("c.npy")
        self.fails(["encode", "--model", m, "--data", y, "--out", c],
                   "the data's rows hold 5 values, the model takes 6")
        self.fails(["decode", "--model", m, "--codes", y, "--out", c],
                   "codes of 5 units, the model has 8")
        self.fails(["eval", "--model", m, "--data", y], "the model takes 6")
        self.fails(["eval", "--model", m, "--data", self.npy("one.npy", data(1, 6))],
                   "at least 2 rows")
        self.fails(["encode", "--model", self.p("none"), "--data", xp, "--out", c], "none")
        self.fails(["encode", "--model", xp, "--data", xp, "--out", c], "x.npy")
        self.fails(["train", "--data", xp, "--out", "/nonexistent/dir/m.safetensors"],
                   "cannot write /nonexistent/dir/m.safetensors")
        self.fails(["train", "--data", xp, "--out", m, "--log", "/nonexistent/l.jsonl"],
                   "cannot write /nonexistent/l.jsonl")
        self.fails(["info", xp], "not a safetensors file")
        self.assertFalse(os.path.exists(c))
        self.no_leftovers()


class InfoConvert(Base):
    def test_info(self):
        xp = self.npy("x.npy", data(100, 6))
        m = self.p("m.safetensors")
        run("train", "--data", xp, "--out", m, "--set", "arch.hidden_dim=8",
            "--set", "kl.weight=0.1", "--steps", "2", "-q", ok=0)
        r = run("info", m, ok=0)
        self.assertIn("format:          libsae, version 1", r.stdout)
        self.assertRegex(r.stdout, r"input_dim: +6\n")
        self.assertRegex(r.stdout, r"code_dim: +8\n")
        self.assertRegex(r.stdout, r"kl.weight +0.1")
        for key in (libsae.parameters() if API else []):
            if key != "arch.layers":
                self.assertRegex(r.stdout, r"\n  " + re.escape(key) + " ", key)
        self.assertRegex(r.stdout, r"encoder.weight +F32 +\[8, 6\]")
        self.assertRegex(r.stdout, r"decoder.bias +F32 +\[6\]")
        self.assertRegex(r.stdout, r"checksum: +crc32:[0-9a-f]{8} ok")
        # One flipped bit in the data: reported, exit 1.
        raw = bytearray(read(m))
        raw[-3] ^= 1
        with open(self.p("bad.safetensors"), "wb") as f:
            f.write(raw)
        r = self.fails(["info", self.p("bad.safetensors")], "checksum")
        self.assertIn("MISMATCH", r.stdout)

    def test_convert(self):
        golden = os.path.join(SRC, "tests", "data", "golden-v1-untied.safetensors")
        out = self.p("g.safetensors")
        run("convert", golden, out, ok=0)
        if API:
            a, b = libsae.load(golden), libsae.load(out)
            x = data(5, a.n_features_in_)
            np.testing.assert_array_equal(a.encode(x), b.encode(x))
        run("convert", out, self.p("g2.safetensors"), ok=0)
        self.assertEqual(read(out), read(self.p("g2.safetensors")))
        x = data(30, 4)
        x.tofile(self.p("x.raw"))
        run("convert", "--dim", "4", self.p("x.raw"), self.p("x.npy"), ok=0)
        np.testing.assert_array_equal(np.load(self.p("x.npy")), x)
        self.no_leftovers()


class Progress(Base):
    def test_lines_and_quiet(self):
        xp = self.npy("x.npy", data(400, 6))
        m = self.p("m.safetensors")
        r = run("train", "--data", xp, "--out", m, "--set", "arch.hidden_dim=8",
                "--set", "train.batch_size=10", "--epochs", "2", ok=0)
        lines = [ln for ln in r.stdout.splitlines() if ln.startswith("step ")]
        self.assertEqual(len(lines), 20)
        self.assertTrue(lines[-1].startswith("step 80/80 epoch"))
        self.assertRegex(lines[0], r"loss [0-9.e-]+ \(recon [0-9.e-]+\) l0 [0-9.]+ dead "
                                   r"[0-9.]+ rows/s [0-9]+")
        self.assertNotIn("\r", r.stdout)

    def test_interrupt(self):
        xp = self.npy("x.npy", data(400, 6))
        m = self.p("m.safetensors")
        p = subprocess.Popen([SAE, "train", "--data", xp, "--out", m, "--set",
                              "arch.hidden_dim=8", "--steps", "100000000", "--log",
                              self.p("l.jsonl")], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        # Wait for training to have started (the log's first lines).
        t0 = time.monotonic()
        while time.monotonic() - t0 < 30 and not any(
                f.startswith("l.jsonl.tmp-") and os.path.getsize(self.p(f)) > 0
                for f in os.listdir(self.dir)):
            time.sleep(0.05)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 1, err)
        self.assertRegex(err, r"interrupted by SIGINT at step [0-9]+ of 100000000; .* not "
                              r"written; checkpoint in .*m.safetensors.ckpt")
        self.assertFalse(os.path.exists(m))
        self.assertTrue(os.path.exists(m + ".ckpt"))
        # The log holds whole lines up to the interruption.
        for line in read(self.p("l.jsonl"), "r").splitlines():
            json.loads(line)
        self.no_leftovers()


class Resume(Base):
    """Checkpoints and --resume: an interrupted run, resumed, writes the same
    model file, byte for byte, as the run left alone."""

    CONFIGS = {
        "topk-adam": ["--set", "arch.hidden_dim=24", "--set", "arch.hidden_activation=relu",
                      "--set", "topk.k=4"],
        "l1-sgd": ["--set", "arch.hidden_dim=24", "--set", "arch.hidden_activation=relu",
                   "--set", "l1.weight=0.001", "--set", "optim.type=sgd",
                   "--set", "optim.momentum=0.9", "--set", "optim.lr=0.01"],
        "kl-adam": ["--set", "arch.hidden_dim=24", "--set", "kl.weight=0.1",
                    "--set", "kl.rho=0.05", "--set", "auxk.k=0"],
        "batchtopk-auxk-sgd": ["--set", "arch.hidden_dim=24", "--set",
                               "arch.hidden_activation=relu", "--set", "topk.k=3",
                               "--set", "topk.mode=batch", "--set", "auxk.k=4",
                               "--set", "auxk.dead_after=20", "--set", "optim.type=sgd",
                               "--set", "optim.lr=0.05"],
        "tanh-noise-adam": ["--set", "arch.hidden_dim=24", "--set",
                            "arch.hidden_activation=tanh", "--set", "corrupt.noise_std=0.1",
                            "--set", "sample.weight=0.01"],
    }

    def train(self, out, *args):
        run("train", "-q", "--data", self.xp, "--out", self.p(out), *args, ok=0)
        return read(self.p(out))

    def test_checkpoints(self):
        self.xp = self.npy("x.npy", data(300, 10, seed=4))
        common = ["--set", "train.batch_size=32", "--set", "train.seed=9"]
        for name, sets in self.CONFIGS.items():
            for stream in ([], ["--shuffle-buffer", "70"]):
                cfg = sets + common + stream
                whole = self.train("whole", *cfg, "--steps", "50")
                # Checkpoints every 13 steps: the same run, the last at 39.
                self.assertEqual(self.train("a", *cfg, "--steps", "50", "--checkpoint",
                                            self.p("ck"), "--checkpoint-every", "13"), whole)
                self.assertEqual(self.train("b", "--resume", self.p("ck"), "--steps", "50",
                                            *stream), whole, (name, stream))
                # Interrupted twice (at 7, then at 29), resumed each time;
                # --epochs counts the run's total too (50 steps: 5 epochs of
                # ceil(300 / 32) = 10).
                self.train("c", *cfg, "--steps", "7", "--checkpoint", self.p("c7"),
                           "--checkpoint-every", "7")
                self.train("c", "--resume", self.p("c7"), "--steps", "29", *stream,
                           "--checkpoint", self.p("c29"), "--checkpoint-every", "29")
                self.assertEqual(self.train("d", "--resume", self.p("c29"), "--epochs", "5",
                                            *stream), whole, (name, stream))
        self.no_leftovers()

    def interrupt(self, sig, stream):
        m = self.p("m.safetensors")
        args = ["--data", self.xp, "--set", "arch.hidden_dim=128", "--set", "topk.k=8",
                "--set", "arch.hidden_activation=relu", "--set", "train.batch_size=64",
                "--steps", "2500", *stream]
        whole = self.p("whole.safetensors")
        run("train", "-q", "--out", whole, *args, ok=0)
        p = subprocess.Popen([SAE, "train", "--out", m, "--log", self.p("l.jsonl"), *args],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 30 and not any(
                f.startswith("l.jsonl.tmp-") and os.path.getsize(self.p(f)) > 0
                for f in os.listdir(self.dir)):
            time.sleep(0.02)
        p.send_signal(sig)
        _, err = p.communicate(timeout=120)
        self.assertEqual(p.returncode, 1, err)
        name = "SIGINT" if sig == signal.SIGINT else "SIGTERM"
        at = int(re.search(name + r" at step ([0-9]+) of 2500", err).group(1))
        self.assertTrue(0 < at < 2500, err)
        self.assertIn(f"checkpoint in {m}.ckpt", err)
        self.assertFalse(os.path.exists(m))
        run("train", "-q", "--out", m, "--resume", m + ".ckpt", "--data", self.xp, "--steps",
            "2500", *stream, ok=0)
        self.assertEqual(read(m), read(whole), (sig, stream, at))
        os.unlink(m + ".ckpt")
        os.unlink(m)

    def test_signals(self):
        self.xp = self.npy("x.npy", data(3000, 96, seed=5))
        self.interrupt(signal.SIGINT, [])
        self.interrupt(signal.SIGTERM, ["--shuffle-buffer", "500"])

    def test_errors(self):
        self.xp = self.npy("x.npy", data(100, 6))
        m, ck = self.p("m.safetensors"), self.p("ck")
        self.usage(["train", "--data", self.xp, "--out", m, "--checkpoint-every", "5"],
                   "--checkpoint-every needs --checkpoint FILE")
        self.usage(["train", "--data", self.xp, "--out", m, "--resume", ck, "--set",
                    "kl.rho=0.1"], "--resume takes the configuration from the checkpoint")
        self.usage(["train", "--data", self.xp, "--out", m, "--shuffle-buffer", "0"],
                   "--shuffle-buffer: 0 is out of range")
        self.fails(["train", "--data", self.xp, "--out", m, "--resume", ck], "--resume " + ck)
        run("train", "-q", "--data", self.xp, "--out", m, "--set", "arch.hidden_dim=4",
            "--steps", "4", "--shuffle-buffer", "30", "--checkpoint", ck,
            "--checkpoint-every", "2", ok=0)
        # A checkpoint is a model file with more tensors: info reads it,
        # convert keeps its model.
        self.assertRegex(run("info", ck, ok=0).stdout, r"checkpoint: +version 1, step 4 ")
        run("convert", ck, self.p("fromck.safetensors"), ok=0)
        self.assertLess(os.path.getsize(self.p("fromck.safetensors")), os.path.getsize(ck))
        run("eval", "--model", self.p("fromck.safetensors"), "--data", self.xp, ok=0)
        self.fails(["train", "--data", self.xp, "--out", m, "--resume", m], "--resume " + m)
        self.fails(["train", "--data", self.xp, "--out", m, "--resume", ck, "--steps", "8",
                    "--shuffle-buffer", "31"], "resume with the same --data and --shuffle-buffer")
        self.fails(["train", "--data", self.npy("y.npy", data(100, 5)), "--out", m,
                    "--resume", ck], "takes rows of 6 values, the data's hold 5")
        self.fails(["train", "--data", self.xp, "--out", m, "--set", "arch.hidden_dim=4",
                    "--steps", "4", "--checkpoint", "/nonexistent/ck", "--checkpoint-every",
                    "2"], "checkpoint /nonexistent/ck")


def png_size(path):
    """Width and height from a PNG's IHDR, after checking its signature."""
    head = read(path)[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", path
    return struct.unpack(">II", head[16:24])


class Viz(Base):
    def test_pictures(self):
        rng = np.random.default_rng(2)
        x = rng.random((300, 48), dtype=np.float32)  # 3 x 4 x 4 colour images
        xp = self.npy("x.npy", x)
        m = self.p("m.safetensors")
        run("train", "--data", xp, "--out", m, "--set", "arch.hidden_dim=20", "--set",
            "l1.weight=0.01", "--steps", "12", "--log", self.p("l.jsonl"), "-q", ok=0)
        out = self.p("pics")
        r = run("viz", "--model", m, "--data", xp, "--log", self.p("l.jsonl"), "--out", out,
                "--image-shape", "3x4x4", ok=0)
        names = ["atoms.png", "encoder_filters.png", "firing_frequency.png", "loss_curves.png"]
        self.assertEqual(sorted(os.listdir(out)), names)
        self.assertEqual(r.stdout.split(), [os.path.join(out, n) for n in names])
        for n in names:
            w, h = png_size(os.path.join(out, n))
            self.assertTrue(w >= 200 and h >= 100, (n, w, h))
        # Rows that are not square images: no tiles, a note; a tied model:
        # no encoder filters.
        shutil.rmtree(out)
        r = run("viz", "--model", m, "--data", xp, "--out", out, ok=0)
        self.assertIn("not square images", r.stderr)
        self.assertEqual(os.listdir(out), ["firing_frequency.png"])
        x = rng.random((100, 16), dtype=np.float32)
        run("train", "--data", self.npy("y.npy", x), "--out", self.p("t.safetensors"), "--set",
            "arch.hidden_dim=6", "--set", "arch.tied=true", "--steps", "2", "-q", ok=0)
        shutil.rmtree(out)
        run("viz", "--model", self.p("t.safetensors"), "--out", out, ok=0)
        self.assertEqual(os.listdir(out), ["atoms.png"])
        self.usage(["viz", "--model", m, "--out", out, "--image-shape", "2x4x6"],
                   "'2x4x6' is not CxHxW with C 1 or 3")
        self.usage(["viz", "--model", m, "--out", out, "--image-shape", "1x4x4"],
                   "--image-shape 1x4x4 holds 16 values, the model's rows 48")
        self.usage(["viz", "--model", m], "--model and --out are required")
        self.usage(["viz", "--model", m, "--out", out, "--max-atoms", "0"], "--max-atoms")
        with open(self.p("bad.jsonl"), "w") as f:
            f.write("{}\n")
        self.fails(["viz", "--model", m, "--out", out, "--log", self.p("bad.jsonl")],
                   "bad.jsonl:1: not a line of 'sae train --log'")


class Docs(Base):
    """README's section runs as written; the manual page and docs/cli.md
    name every option of every command's --help."""

    def test_readme(self):
        text = read(os.path.join(SRC, "README.md"), "r")
        section = text.split("## Train on your own data\n", 1)[1].split("\n## ", 1)[0]
        block = section.split("```sh\n", 1)[1].split("```", 1)[0]
        lines = [ln for ln in block.splitlines() if ln.strip()]
        self.assertGreaterEqual(len(lines), 3)
        np.save(self.p("acts.npy"), data(1000, 64))
        for line in lines:
            args = shlex.split(line)
            self.assertEqual(args[0], "sae", line)
            r = subprocess.run([SAE, *args[1:]], cwd=self.dir, capture_output=True, text=True,
                               timeout=120)
            self.assertEqual(r.returncode, 0, f"{line}: {r.stderr}")
            if "--json" in args:
                for key in ("rows", "mse", "fvu", "explained_variance", "l0", "dead_fraction"):
                    self.assertIn(key, json.loads(r.stdout))

    def test_options_documented(self):
        cli = read(os.path.join(SRC, "docs", "cli.md"), "r")
        man = read(os.path.join(SRC, "tools", "sae", "sae.1"), "r").replace("\\-", "-")
        for c in Usage.COMMANDS:
            self.assertIn(f"## sae {c}", cli.replace("## sae encode, sae decode",
                                                     "## sae encode ## sae decode"))
            self.assertIn(f".B {c}", man)
            for opt in set(re.findall(r"--[a-z0-9][a-z0-9-]*", run(c, "--help", ok=0).stdout)):
                self.assertTrue(opt in cli, f"docs/cli.md lacks {c} {opt}")
                self.assertTrue(opt in man, f"sae.1 lacks {c} {opt}")


if __name__ == "__main__":
    unittest.main()
