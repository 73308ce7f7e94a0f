#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Data-parallel `sae train --mpi` against one process (meson test --benchmark
mpi_scaling; docs/distributed.md): on Fashion-MNIST's 60000 training images,
the 784-1024-784 KL model and the 784-4096-784 top-k model, each trained
for --epochs epochs with a global batch of 256 rows, (a) by one process with
2 BLAS threads and (b) by 2 ranks under mpirun with 1 thread each (128 rows a
rank a step). Prints cpu: and isa:, each run's epoch time, the MPI run's
share of time in collectives, the compute time a step (wall time less the
collectives, per step) and the gradient bytes a step sums, then
mpi_2ranks_over_1proc_2threads: the MPI run's time over the single
process's, per model and overall (geometric mean; < 1: MPI is faster).

    sae_mpi_scaling.py SAE MPIRUN DATA_CACHE [--epochs N] [--steps S]
                       [--allreduce BENCH_MPI_ALLREDUCE]
"""
import argparse
import math
import os
import re
import subprocess
import sys
import tempfile

MODELS = {
    "784-1024-784 kl": ["-s", "arch.hidden_dim=1024", "-s", "arch.hidden_activation=sigmoid",
                        "-s", "kl.weight=0.1", "-s", "kl.rho=0.05"],
    "784-4096-784 topk": ["-s", "arch.hidden_dim=4096", "-s", "arch.hidden_activation=relu",
                          "-s", "topk.k=32"],
}
GLOBAL_BATCH = 256


def cpu_lines():
    model, flags = "unknown", set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and model == "unknown":
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    isa = [i for i in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
           if i in flags]
    print(f"cpu: {model} ({os.cpu_count()} logical cpus)")
    print(f"isa: {' '.join(isa) if isa else 'baseline x86-64'}")


def run(cmd, env):
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stdout}\n{r.stderr}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sae")
    ap.add_argument("mpirun")
    ap.add_argument("cache")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--steps", type=int, default=0, help="instead of epochs (a quick check)")
    ap.add_argument("--allreduce", default="none",
                    help="bench_mpi_allreduce: the pure allreduce time of each message")
    a = ap.parse_args()
    cpu_lines()
    if a.mpirun == "none":
        print("SKIP: sae was built without MPI")
        return 77
    data = os.path.join(a.cache, "fashion-mnist", "train-images-idx3-ubyte.gz")
    if not os.path.exists(data):
        print(f"SKIP: {data} is missing (tools/fetch-data.sh)")
        return 77
    length = ["--steps", str(a.steps)] if a.steps else ["--epochs", str(a.epochs)]
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "m.safetensors")
        base = ["--data", data, "--scale-u8", "--out", out, *length,
                "-s", "optim.type=adam", "-s", "optim.lr=0.001", "-s", "train.seed=1"]
        for name, sets in MODELS.items():
            one = run([a.sae, "train", *base, *sets, "-j", "2",
                       "-s", f"train.batch_size={GLOBAL_BATCH}"],
                      dict(env, OPENBLAS_NUM_THREADS="2"))
            m = re.search(r"(\d+) steps on (\d+) rows in ([0-9.]+) s", one)
            steps1, t1 = int(m.group(1)), float(m.group(3))
            two = run([a.mpirun, "-np", "2", "--bind-to", "core", a.sae, "train", "--mpi", *base,
                       *sets, "-j", "1", "-s", f"train.batch_size={GLOBAL_BATCH // 2}"],
                      dict(env, OPENBLAS_NUM_THREADS="1"))
            m = re.search(r"mpi: 2 ranks, (\d+) steps in ([0-9.]+) s, ([0-9.]+) s in collectives "
                          r"\(([0-9.]+)%\), (\d+) gradient bytes a step", two)
            steps2, t2, comm, share, grad_bytes = (int(m.group(1)), float(m.group(2)),
                                                   float(m.group(3)), float(m.group(4)),
                                                   int(m.group(5)))
            per_epoch = math.ceil(60000 / GLOBAL_BATCH)
            print(f"{name}: 1 process x 2 threads: {t1:.2f} s for {steps1} steps "
                  f"({t1 / steps1 * per_epoch:.2f} s an epoch of {per_epoch} steps), "
                  f"{1000 * t1 / steps1:.2f} ms a step")
            print(f"{name}: 2 ranks x 1 thread: {t2:.2f} s for {steps2} steps "
                  f"({t2 / steps2 * per_epoch:.2f} s an epoch), collectives {comm:.2f} s "
                  f"({share:.1f}% of the time, waiting for the slower rank included)")
            print(f"{name}: per step: compute {1000 * (t2 - comm) / steps2:.2f} ms a rank "
                  f"({GLOBAL_BATCH // 2} rows), gradient message {grad_bytes} bytes "
                  f"({grad_bytes / 2**20:.2f} MiB)")
            if a.allreduce != "none":
                ar = run([a.mpirun, "-np", "2", "--bind-to", "core", a.allreduce,
                          str(grad_bytes // 4), "20"], env)
                ms = float(re.search(r": ([0-9.]+) ms", ar).group(1))
                print(f"{name}: one MPI_Allreduce of the gradient alone: {ms:.2f} ms "
                      f"({100 * ms / (1000 * t2 / steps2):.1f}% of a step)")
            ratios.append(t2 / t1)
            print(f"mpi_2ranks_over_1proc_2threads[{name}]: {t2 / t1:.3f}")
    g = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    print(f"mpi_2ranks_over_1proc_2threads: {g:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
