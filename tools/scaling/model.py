#!/usr/bin/python3
"""Data-parallel scaling model for top-k SAE training (docs/scaling.md).

A calculation, not a claim: it takes the per-step compute rate measured on
one machine (see --measured) and the stated network and memory assumptions,
and predicts step times for d_in 768-4096, 16k-16M latents, 2-256 nodes,
10-100 Gb/s.  `--check FILE` regenerates the tables and fails if the copy in
FILE (between the BEGIN/END markers) differs, so the page cannot drift from
the script.  Standard library only.
"""
import argparse
import math
import sys

BEGIN = "<!-- BEGIN scaling-model tables -->"
END = "<!-- END scaling-model tables -->"

D_INS = (768, 2304, 4096)
LATENTS = (16384, 131072, 1048576, 16777216)
NODES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
LINKS_GBPS = (10, 100)


def parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rate", type=float, default=None,
                   help="effective GFLOP/s of a node for the encoder GEMM "
                        "(default: derived from --measured)")
    p.add_argument("--measured", default="768,16384,1024,0.2276",
                   help="d,n,batch,seconds of one measured top-k step "
                        "(the step time of `sae train`, see docs/scaling.md)")
    p.add_argument("--node-scale", type=float, default=1.0,
                   help="a node's compute as a multiple of the measured machine")
    p.add_argument("--mem-gbs", type=float, default=20.0,
                   help="a node's memory bandwidth in GB/s (Adam's update)")
    p.add_argument("--mem-gib", type=float, default=24.0,
                   help="a node's memory in GiB")
    p.add_argument("--latency-us", type=float, default=10.0,
                   help="per-message latency of the network")
    p.add_argument("--link-efficiency", type=float, default=0.8,
                   help="fraction of the link rate an allreduce achieves")
    p.add_argument("--k", type=int, default=32, help="active latents a row")
    p.add_argument("--global-batch", type=int, default=4096,
                   help="rows a step over all nodes (strong scaling)")
    p.add_argument("--check", metavar="FILE",
                   help="compare the tables with FILE's copy; exit 1 if they differ")
    return p.parse_args()


class Model:
    def __init__(self, a):
        d, n, b, s = a.measured.split(",")
        d, n, b, s = int(d), int(n), int(b), float(s)
        self.measured = (d, n, b, s)
        # The step of a top-k SAE on libsae's sparse path is dominated by the
        # encoder GEMM (2*b*d*n flops); the rest (decoder, backward through
        # the k active units, Adam) is in the measured time too, so this rate
        # is an effective one and the model does not count those again,
        # except Adam, which does not shrink with the local batch.
        measured_adam = self.adam_seconds_raw(d, n, a.mem_gbs)
        enc = 2.0 * b * d * n
        self.rate = (a.rate * 1e9 if a.rate else
                     enc / max(s - measured_adam, 1e-9)) * a.node_scale
        self.a = a

    @staticmethod
    def params(d, n):
        return 2 * d * n + n + d

    @staticmethod
    def adam_seconds_raw(d, n, mem_gbs):
        # Adam reads weight, gradient, m, v and writes weight, m, v:
        # 28 bytes a parameter, bandwidth-bound.
        return 28.0 * Model.params(d, n) / (mem_gbs * 1e9)

    def adam(self, d, n, shards=1):
        return self.adam_seconds_raw(d, n, self.a.mem_gbs) / shards

    def compute(self, d, n, rows):
        return (2.0 * rows * d * n + 8.0 * rows * self.a.k * d) / self.rate

    def link(self, gbps):
        return gbps * 1e9 / 8.0 * self.a.link_efficiency

    def allreduce(self, nbytes, p, gbps):
        # Ring allreduce: reduce-scatter then allgather, 2(p-1) messages.
        if p == 1:
            return 0.0
        return (2.0 * (p - 1) / p * nbytes / self.link(gbps)
                + 2.0 * (p - 1) * self.a.latency_us * 1e-6)

    def allgather(self, nbytes_each, p, gbps):
        if p == 1:
            return 0.0
        return ((p - 1) * nbytes_each / self.link(gbps)
                + (p - 1) * self.a.latency_us * 1e-6)

    def replica_gib(self, d, n, local_rows):
        # weights, gradient, Adam's m and v, plus the dense pre-activations of
        # the local batch (top-k needs all of them before it selects).
        return (16.0 * self.params(d, n) + 4.0 * local_rows * n) / 2**30

    # Data parallel: every node holds the whole SAE and allreduces its
    # whole gradient each step (strong scaling: the global batch is fixed).
    def dp_step(self, d, n, p, gbps):
        g = self.a.global_batch
        c = self.compute(d, n, g / p) + self.adam(d, n)
        comm = self.allreduce(4.0 * self.params(d, n), p, gbps)
        return c, comm, g

    # The same with a fixed batch a node: the global batch grows with p
    # (which changes the optimisation: more rows a step, fewer steps).
    def dp_weak_step(self, d, n, p, gbps):
        g = self.a.global_batch
        c = self.compute(d, n, g) + self.adam(d, n)
        comm = self.allreduce(4.0 * self.params(d, n), p, gbps)
        return c, comm, g * p

    # Top-k's gradient is sparse: a node's batch touches at most
    # min(n, rows * k) latents (an encoder column and a decoder row each),
    # so nodes can allgather the touched rows with their indices instead of
    # allreducing everything (AuxK and dense optimiser state are ignored).
    def dp_sparse_step(self, d, n, p, gbps):
        g, k = self.a.global_batch, self.a.k
        c = self.compute(d, n, g / p) + self.adam(d, n)
        touched = min(n, g / p * k)
        comm = self.allgather(touched * (4.0 * (2 * d + 1) + 4.0), p, gbps)
        return c, comm, g

    # Latents sharded over the nodes (each holds n/p latents): every node
    # needs the whole batch (allgather of inputs), proposes its local top-k
    # per row (allgather of k value/index pairs), and the reconstruction
    # is a sum over shards (allreduce of batch x d_in, forward and the
    # gradient of the reconstruction is then the same everywhere).  No
    # gradient is communicated: each node owns its latents' parameters.
    def shard_step(self, d, n, p, gbps):
        g, k = self.a.global_batch, self.a.k
        c = self.compute(d, n / p, g) + self.adam(d, n, p)
        comm = (self.allgather(4.0 * d * g / p, p, gbps)
                + self.allgather(8.0 * g * k, p, gbps)
                + self.allreduce(4.0 * g * d, p, gbps))
        return c, comm, g


def fmt_s(x):
    if x >= 100:
        return "%.0f s" % x
    if x >= 1:
        return "%.2f s" % x
    if x >= 1e-3:
        return "%.1f ms" % (x * 1e3)
    return "%.0f us" % (x * 1e6)


def human(n):
    return "%dk" % (n // 1024) if n < 1048576 else "%dM" % (n // 1048576)


def gib(b):
    return "%.0f MiB" % (b / 2**20) if b < 2**30 else "%.1f GiB" % (b / 2**30)


# Node kinds: the measured machine, and a larger node whose figures are
# stated assumptions (rate linear in cores, as GEMMs nearly are).
NODE_KINDS = (("this machine (measured)", 1.0, 1.0, 1.0),
              ("64-core node (assumed 32x rate, 8x memory bandwidth, 256 GiB)",
               32.0, 8.0, 256.0 / 24.0))


def kind(m, scale, bw, mem):
    a = argparse.Namespace(**vars(m.a))
    a.node_scale = m.a.node_scale * scale
    a.mem_gbs = m.a.mem_gbs * bw
    a.mem_gib = m.a.mem_gib * mem
    return Model(a)


def speedups(m, step, d, n, gbps):
    """Rows a second on p nodes over rows a second on one."""
    c1, k1, r1 = step(d, n, 1, gbps)
    out = []
    for p in NODES:
        c, k, r = step(d, n, p, gbps)
        out.append((r / (c + k)) / (r1 / (c1 + k1)))
    return out


def half_point(sp):
    """The largest node count whose parallel efficiency is still >= 50%."""
    good = [p for p, s in zip(NODES, sp) if s / p >= 0.5]
    return max(good) if good else 1


def sizes_table(m):
    a = m.a
    out = ["| d_in | latents | parameters | gradient (fp32) | replica memory, 1 node | "
           "compute of one %d-row step, 1 node | allreduce of the gradient, 10 / 100 Gb/s | "
           "smallest p whose shards fit in %g GiB |" % (a.global_batch, a.mem_gib),
           "|---|---|---|---|---|---|---|---|"]
    for d in D_INS:
        for n in LATENTS:
            grad = 4.0 * m.params(d, n)
            c1 = m.dp_step(d, n, 1, 10)[0]
            ar = [m.allreduce(grad, 256, g) for g in LINKS_GBPS]
            mem = m.replica_gib(d, n, a.global_batch)
            fit = next((p for p in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
                        if mem / p <= a.mem_gib), None)
            out.append("| %d | %s | %.2gG | %s | %.1f GiB | %s | %s / %s | %s |" % (
                d, human(n), m.params(d, n) / 1e9, gib(grad), mem, fmt_s(c1),
                fmt_s(ar[0]), fmt_s(ar[1]), fit if fit else "> 1024"))
    out.append("")
    return out


DP_VARIANTS = (("whole gradient, global batch fixed", "dp_step", 2304, 16384),
               ("whole gradient, %d rows a node (weak)", "dp_weak_step", 2304, 16384),
               ("sparse top-k gradient, global batch fixed", "dp_sparse_step", 2304, 1048576))


def dp_table(m):
    out = ["| node | link | gradient exchange | d_in x latents | "
           + " | ".join("p=%d" % p for p in NODES)
           + " | largest p at >= 50% efficiency |",
           "|---|---|---|---|" + "---|" * (len(NODES) + 1)]
    for name, scale, bw, mem in NODE_KINDS:
        mk = kind(m, scale, bw, mem)
        for g in LINKS_GBPS:
            for label, fn, d, n in DP_VARIANTS:
                if "%d" in label:
                    label = label % m.a.global_batch
                sp = speedups(mk, getattr(mk, fn), d, n, g)
                out.append("| %s | %d Gb/s | %s | %d x %s | %s | %d |" % (
                    name, g, label, d, human(n), " | ".join("%.1f" % x for x in sp),
                    half_point(sp)))
    out.append("")
    return out


def shard_table(m):
    out = ["| node | link | d_in | latents | " + " | ".join("p=%d" % p for p in NODES)
           + " | largest p at >= 50% efficiency |",
           "|---|---|---|---|" + "---|" * (len(NODES) + 1)]
    for name, scale, bw, mem in NODE_KINDS:
        mk = kind(m, scale, bw, mem)
        for g in LINKS_GBPS:
            for d in (768, 4096):
                for n in (131072, 16777216):
                    sp = speedups(mk, mk.shard_step, d, n, g)
                    out.append("| %s | %d Gb/s | %d | %s | %s | %d |" % (
                        name, g, d, human(n), " | ".join("%.1f" % s for s in sp),
                        half_point(sp)))
    out.append("")
    return out


def tables(m):
    a = m.a
    d, n, b, s = m.measured
    out = [BEGIN, "",
           "Inputs: a measured step of %s for d_in %d, %d latents, batch %d, k %d "
           "gives an effective rate of %.1f GFLOP/s for this machine; memory "
           "bandwidth %g GB/s and %g GiB a node; network latency %g us, an "
           "allreduce reaching %g of the link rate; a global batch of %d rows."
           % (fmt_s(s), d, n, b, a.k, m.rate / 1e9, a.mem_gbs, a.mem_gib,
              a.latency_us, a.link_efficiency, a.global_batch), "",
           "**Sizes.** One replica holds weights, gradient and Adam's two moments "
           "(16 bytes a parameter) plus the batch's dense pre-activations.", ""]
    out += sizes_table(m)
    out += ["**Data parallel** (every node a whole replica): throughput (rows a "
            "second) over one node's. With the whole gradient exchanged, other "
            "sizes than the one shown agree within a few percent, because compute "
            "and gradient both grow with the parameter count:", ""]
    out += dp_table(m)
    out += ["**Latents sharded** (each node n/p latents; allgather of the batch and "
            "of each shard's k candidates a row, allreduce of the reconstruction; "
            "no gradient traffic), speed-up over one node at the same global batch "
            "(a one-node run of a size that does not fit is the model's reference, "
            "not a runnable job):", ""]
    out += shard_table(m)
    out.append(END)
    return "\n".join(out) + "\n"


def main():
    a = parse()
    text = tables(Model(a))
    if a.check:
        doc = open(a.check, encoding="utf-8").read()
        i, j = doc.find(BEGIN), doc.find(END)
        if i < 0 or j < 0:
            print("%s: no %s ... %s block" % (a.check, BEGIN, END), file=sys.stderr)
            return 1
        if doc[i:j + len(END)] + "\n" != text:
            print("%s: the tables differ from tools/scaling/model.py's output; "
                  "regenerate them (see the page)" % a.check, file=sys.stderr)
            return 1
        print("%s: tables match the model" % a.check)
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
