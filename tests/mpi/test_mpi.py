#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""sae train --mpi under mpirun (docs/distributed.md): 2 and 3 ranks against
one process on the same global batches, the ranks' models bitwise equal,
two runs bitwise equal, resume from rank 0's checkpoint, a killed rank, a
non-finite loss on one rank, and every refusal before training.

    test_mpi.py SAE_PROGRAM MPIRUN|none [unittest options]

Exit 77 (meson's skip) when the program was built without MPI.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unittest

import numpy as np

SAE = os.path.abspath(sys.argv.pop(1))
MPIRUN = sys.argv.pop(1)
if MPIRUN == "none" or not shutil.which(MPIRUN):
    print("SKIP: sae was built without MPI (meson -Dmpi: libopenmpi-dev and openmpi-bin, "
          "tools/deps.sh)")
    sys.exit(77)

ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1", OPENBLAS_NUM_THREADS="1")
# The small model every test trains: per-row objective (ReLU + L1), Adam,
# the blocks in order, one thread.
SETS = ["-s", "arch.hidden_dim=24", "-s", "arch.hidden_activation=relu",
        "-s", "l1.weight=0.01", "-s", "optim.type=adam", "-s", "optim.lr=0.01",
        "-s", "train.sampling=sequential", "-s", "train.seed=5", "-j", "1", "-q"]


def tensors(path):
    """The float32 tensors of a safetensors file, by name."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    head = json.loads(blob[8:8 + n])
    out = {}
    for name, t in head.items():
        if name == "__metadata__" or t["dtype"] != "F32":
            continue
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(blob[8 + n + a:8 + n + b], dtype="<f4").reshape(t["shape"])
    return out


def mpirun(np_, *args, env=None, timeout=60):
    cmd = [MPIRUN, "--oversubscribe", "-np", str(np_), SAE, "train", "--mpi", *args]
    return subprocess.run(cmd, env=env or ENV, capture_output=True, text=True, timeout=timeout)


def sae(*args):
    return subprocess.run([SAE, "train", *args], env=ENV, capture_output=True, text=True,
                          timeout=60)


class Mpi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="sae-mpi-")
        rng = np.random.default_rng(7)
        # 250 rows: not a multiple of the global batches (the last step is
        # short, and under 3 ranks one rank takes part with no rows).
        cls.x = rng.random((250, 12), dtype=np.float32)
        np.save(cls.p("x.npy"), cls.x)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def p(cls, name):
        return os.path.join(cls.dir, name)

    def ok(self, r):
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def check_equal(self, ranks, b, steps=200):
        """ranks x b rows a step == one process with batches of ranks x b."""
        out = self.p(f"m{ranks}.safetensors")
        env = dict(ENV, SAE_MPI_SAVE_ALL="1")
        self.ok(mpirun(ranks, "--data", self.p("x.npy"), "--out", out, "--steps", str(steps),
                       "-s", f"train.batch_size={b}", *SETS, env=env))
        one = self.p(f"one{ranks}.safetensors")
        self.ok(sae("--data", self.p("x.npy"), "--out", one, "--steps", str(steps),
                    "-s", f"train.batch_size={b * ranks}", *SETS))
        w, w1 = tensors(out), tensors(one)
        # The ranks' models: the same to the bit.
        for r in range(1, ranks):
            wr = tensors(f"{out}.rank{r}")
            for k in w:
                self.assertEqual(w[k].tobytes(), wr[k].tobytes(), f"rank {r}: {k}")
        rel = max(float(np.max(np.abs(w[k] - w1[k]) / np.maximum(np.abs(w1[k]), 1e-3)))
                  for k in w)
        print(f"# {ranks} ranks x {b} rows vs 1 process x {ranks * b}, {steps} steps: "
              f"max relative difference {rel:.3g}")
        self.assertLess(rel, 1e-3)
        return out

    def test_two_ranks_equal_one_process(self):
        out = self.check_equal(2, 8)
        # Two runs: the same model to the bit.
        again = self.p("again.safetensors")
        self.ok(mpirun(2, "--data", self.p("x.npy"), "--out", again, "--steps", "200",
                       "-s", "train.batch_size=8", *SETS))
        a, b = tensors(out), tensors(again)
        for k in a:
            self.assertEqual(a[k].tobytes(), b[k].tobytes(), k)

    def test_three_ranks_equal_one_process(self):
        self.check_equal(3, 8)

    def test_resume(self):
        """A run stopped at step 120 (mid-epoch) and resumed from rank 0's
        checkpoint trains the model of the uninterrupted run, bit for bit;
        another rank count is refused."""
        full = self.p("full.safetensors")
        args = ["--data", self.p("x.npy"), "-s", "train.batch_size=8", *SETS]
        self.ok(mpirun(2, "--out", full, "--steps", "200", *args))
        ck = self.p("r.ckpt")
        part = self.p("part.safetensors")
        self.ok(mpirun(2, "--out", part, "--steps", "120", "--checkpoint", ck,
                       "--checkpoint-every", "60", *args))
        res = self.p("res.safetensors")
        r = mpirun(2, "--data", self.p("x.npy"), "--out", res, "--steps", "200", "--resume", ck,
                   "-q")
        self.ok(r)
        a, b = tensors(full), tensors(res)
        for k in a:
            self.assertEqual(a[k].tobytes(), b[k].tobytes(), k)
        r = mpirun(3, "--data", self.p("x.npy"), "--out", self.p("res3.safetensors"),
                   "--steps", "200", "--resume", ck, "-q")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("over 2 ranks; this run has 250 rows in blocks of 8 over 3 ranks",
                      r.stderr)
        self.assertFalse(os.path.exists(self.p("res3.safetensors")))

    def test_killed_rank(self):
        """Rank 1 dies (SIGKILL) at step 700: the others stop within
        seconds with a message, and the last checkpoint (step 600) loads."""
        ck = self.p("k.ckpt")
        out = self.p("k.safetensors")
        env = dict(ENV, SAE_MPI_TEST_DIE="1:700")
        t0 = time.time()
        r = mpirun(2, "--data", self.p("x.npy"), "--out", out, "--steps", "100000",
                   "--checkpoint", ck, "--checkpoint-every", "600",
                   "-s", "train.batch_size=8", *SETS, env=env, timeout=120)
        took = time.time() - t0
        self.assertNotEqual(r.returncode, 0)
        self.assertLess(took, 30)
        self.assertIn("rank 1", r.stderr)
        self.assertIn("Killed", r.stderr)
        self.assertFalse(os.path.exists(out))
        info = subprocess.run([SAE, "info", ck], capture_output=True, text=True, env=ENV)
        self.ok(info)
        self.assertIn("step 600", info.stdout)
        print(f"# killed rank: the job ended in {took:.1f} s")

    def test_nonfinite_on_one_rank(self):
        """Rank 1's rows overflow the loss: both ranks stop with the
        divergence (exit 1, each says so), no model written."""
        x = self.x.copy()
        x[40:48] = 3e37  # block 5 of 8 rows: rank 1's third batch
        np.save(self.p("bad.npy"), x)
        out = self.p("bad.safetensors")
        r = mpirun(2, "--data", self.p("bad.npy"), "--out", out, "--steps", "20",
                   "-s", "train.batch_size=8", "-s", "train.rollback=false", *SETS)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("rank 0 of 2: step 3: the loss became non-finite on 1 of the 2 ranks",
                      r.stderr)
        self.assertIn("rank 1 of 2: step 3: the reconstruction loss became inf", r.stderr)
        self.assertFalse(os.path.exists(out))

    def test_refusals(self):
        x = self.p("x.npy")
        # A rank with no data: 250 rows in blocks of 100 are 3 blocks.
        r = mpirun(4, "--data", x, "--out", self.p("e.safetensors"), "--steps", "5",
                   "-s", "train.batch_size=100", *SETS)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("make 3 blocks: ranks 3..3 of 4 would have no data", r.stderr)
        # Mismatched configurations (MPMD: one command line a rank).
        base = [SAE, "train", "--mpi", "--data", x, "--out", self.p("e.safetensors"),
                "--steps", "5", "-s", "train.batch_size=8", *SETS]
        r = subprocess.run([MPIRUN, "--oversubscribe", "-np", "1", *base, ":", "-np", "1",
                            *base, "-s", "l1.weight=0.02"], env=ENV, capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("rank 1: data-parallel run: this rank's configuration is not rank 0's",
                      r.stderr)
        self.assertIn("rank 0: data-parallel run: another rank's configuration", r.stderr)
        # Other data on a rank.
        np.save(self.p("y.npy"), self.x[:200])
        other = list(base)
        other[other.index(x)] = self.p("y.npy")
        r = subprocess.run([MPIRUN, "--oversubscribe", "-np", "1", *base, ":", "-np", "1",
                            *other], env=ENV, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("rank 1 has 200 rows of data, rank 0 has 250", r.stderr)
        # --shuffle-buffer: a usage error.
        r = mpirun(2, "--data", x, "--out", self.p("e.safetensors"), "--shuffle-buffer", "10",
                   *SETS)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--mpi reads each rank's blocks", r.stderr)
        self.assertFalse(os.path.exists(self.p("e.safetensors")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
