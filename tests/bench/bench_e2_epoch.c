/* Benchmark: one training epoch of E2's convolutional autoencoder (KL
 * variant, batch 1200) on 10,000 MNIST digits, against the GEMMs that same
 * epoch makes, replayed alone through sae_gemm (shapes recorded from the
 * trainer through the gemm trace hook), interleaved in one run so that both
 * see the same machine. The GEMMs are replayed twice: one after the other
 * on the BLAS's threads, and dealt in contiguous parts among the convolutions'
 * threads with the BLAS single-threaded, as the convolution kernels run
 * them (layers/conv_chunks.c); the faster replay is the GEMM time.
 * Prints medians and the lines
 *   e2_samples_per_s: X
 *   e2_gemm_gflops: X
 *   e2_epoch_over_gemm: X
 * Run with `meson test --benchmark -C build`. SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "common/digits.h"
#include "core/gemm.h"
#include "layers/im2col.h"
#include "model/model.h"
#include "model/network.h"
#include "sae.h"

#define B 1200
#define ROWS 10000
#define MAX_CALLS 32768

static const char layers[] =
    "input 1x28x28; conv2d 8 k3 relu; conv2d 16 k5 relu; conv2d 32 k5 s2 relu;"
    "maxpool2d k2 code; convt2d 16 k3 s2 relu; convt2d 8 k5 s2 relu; convt2d 1 k8 sigmoid";

typedef struct call {
    int ta, tb, acc;
    size_t m, n, k, lda, ldb, ldc;
} call_t;

typedef struct trace {
    call_t calls[MAX_CALLS];
    size_t n, dropped;
} trace_t;

static void record(int ta, int tb, size_t m, size_t n, size_t k, size_t lda, size_t ldb,
                   size_t ldc, int acc, void *ud)
{
    trace_t *t = ud;
    if (t->n < MAX_CALLS)
        t->calls[t->n++] = (call_t){ta, tb, acc, m, n, k, lda, ldb, ldc};
    else
        t->dropped++;
}

/* Floats an operand of rows x cols (after op) with leading dimension ld spans. */
static size_t span(int trans, size_t rows, size_t cols, size_t ld)
{
    return trans ? (cols - 1) * ld + rows : (rows - 1) * ld + cols;
}

static void replay(const trace_t *t, size_t times, float *a, float *b, float *c)
{
    for (size_t r = 0; r < times; r++)
        for (size_t i = 0; i < t->n; i++) {
            const call_t *g = &t->calls[i];
            sae_gemm(g->ta, g->tb, g->m, g->n, g->k, 1.0f, a, g->lda, b, g->ldb,
                     g->acc ? 1.0f : 0.0f, c, g->ldc);
        }
}

typedef struct split_replay {
    const trace_t *t;
    size_t times;
    float *a, *b, *c[SAE_CONV_MAX_THREADS];
} split_replay_t;

/* Calls [i0, i1) of the trace, each worker into its own C. */
static void replay_range(void *ctx, size_t worker, size_t i0, size_t i1)
{
    const split_replay_t *r = ctx;
    for (size_t k = 0; k < r->times; k++)
        for (size_t i = i0; i < i1; i++) {
            const call_t *g = &r->t->calls[i];
            sae_gemm(g->ta, g->tb, g->m, g->n, g->k, 1.0f, r->a, g->lda, r->b, g->ldb,
                     g->acc ? 1.0f : 0.0f, r->c[worker], g->ldc);
        }
}

static int load_digits(ex_dataset *ds)
{
    const char *dirs[] = {getenv("SAE_DATA"), SAE_BENCH_CACHE "/mnist-digits"};
    for (size_t i = 0; i < 2; i++)
        if (dirs[i] && ex_digits_load_dir(dirs[i], ds) == EX_OK && ds->rows >= ROWS)
            return 1;
    /* Fashion-MNIST has the same shape, when the digits are not fetched. */
    return bench_load_fashion_mnist(ds);
}

int main(int argc, char **argv)
{
    bench_print_machine();
    int reps = argc > 1 ? atoi(argv[1]) : 3;
    if (reps < 1)
        reps = 1;
    ex_dataset ds = {0};
    if (!load_digits(&ds) || ds.dim != 784 || ds.rows < ROWS) {
        fprintf(stderr, "bench: no MNIST digits or Fashion-MNIST images (run "
                        "tools/fetch-data.sh); skipped\n");
        return 77;
    }
    sae_config_t *cfg = NULL;
    sae_model_t *model = NULL;
    sae_trainer_t *tr = NULL;
    sae_config_create(&cfg);
    const char *set[][2] = {{"arch.layers", layers}, {"arch.init", "fan_in_uniform"},
                            {"arch.penalize", "hidden"}, {"loss.type", "bce"},
                            {"kl.weight", "0.005"}, {"kl.rho", "0.08"},
                            {"optim.lr", "9e-3"}, {"train.batch_size", "1200"},
                            {"train.sampling", "sequential"}};
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
        if (sae_config_set(cfg, set[i][0], set[i][1]) != SAE_OK) {
            fprintf(stderr, "bench: %s\n", sae_config_errmsg(cfg));
            return 1;
        }
    if (sae_model_create(cfg, &model) != SAE_OK || sae_trainer_create(model, &tr) != SAE_OK) {
        fprintf(stderr, "bench: %s\n", sae_last_error());
        return 1;
    }
    /* The convolutions' threads (train.threads 0: every core). */
    int threads = sae_net(model)->threads;
    /* The GEMMs of a full batch and of the epoch's last, partial one. */
    static trace_t full, part;
    size_t batches = ROWS / B, rest = ROWS % B;
    sae_stats_t st;
    sae_gemm_set_trace(record, &full);
    sae_trainer_step(tr, ds.x, B, &st);
    sae_gemm_set_trace(record, &part);
    if (rest)
        sae_trainer_step(tr, ds.x, rest, &st);
    sae_gemm_set_trace(NULL, NULL);
    size_t na = 0, nb = 0, nc = 0;
    double flops = 0.0;
    for (int w = 0; w < 2; w++) {
        const trace_t *t = w ? &part : &full;
        for (size_t i = 0; i < t->n; i++) {
            const call_t *g = &t->calls[i];
            size_t sa = span(g->ta, g->m, g->k, g->lda), sb = span(g->tb, g->k, g->n, g->ldb),
                   sc = span(0, g->m, g->n, g->ldc);
            na = sa > na ? sa : na;
            nb = sb > nb ? sb : nb;
            nc = sc > nc ? sc : nc;
            flops += 2.0 * (double)g->m * (double)g->n * (double)g->k * (w ? 1.0 : (double)batches);
        }
    }
    if (full.dropped || part.dropped) {
        fprintf(stderr, "bench: more than %d GEMM calls per batch\n", MAX_CALLS);
        return 1;
    }
    float *a = calloc(na, sizeof *a), *b = calloc(nb, sizeof *b), *c = calloc(nc, sizeof *c);
    split_replay_t sfull = {&full, batches, a, b, {NULL}}, spart = {&part, 1, a, b, {NULL}};
    for (int w = 0; w < threads; w++) {
        sfull.c[w] = spart.c[w] = calloc(nc, sizeof *c);
        if (!sfull.c[w])
            c = NULL;
    }
    if (!a || !b || !c) {
        fprintf(stderr, "bench: out of memory\n");
        return 1;
    }
    printf("E2 epoch: %d images, batch %d, %zu + %zu GEMM calls per full / last batch, "
           "%.1f GFLOP in GEMMs\n",
           ROWS, B, full.n, part.n, flops * 1e-9);
    double *t_epoch = calloc((size_t)reps, sizeof(double)), *t_gemm = calloc((size_t)reps, 8);
    double *t_serial = calloc((size_t)reps, 8), *t_split = calloc((size_t)reps, 8);
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now();
        if (sae_trainer_fit(tr, ds.x, ROWS, 1) != SAE_OK) {
            fprintf(stderr, "bench: %s\n", sae_trainer_errmsg(tr));
            return 1;
        }
        double t1 = bench_now();
        replay(&full, batches, a, b, c);
        replay(&part, 1, a, b, c);
        double t2 = bench_now();
        sae_conv_parallel(full.n, threads, replay_range, &sfull);
        sae_conv_parallel(part.n, threads, replay_range, &spart);
        double t3 = bench_now();
        t_epoch[r] = t1 - t0;
        t_serial[r] = t2 - t1;
        t_split[r] = t3 - t2;
        t_gemm[r] = t_serial[r] < t_split[r] ? t_serial[r] : t_split[r];
        printf("  repetition %d: epoch %.3f s, GEMMs alone %.3f s one after the other, "
               "%.3f s on %d threads\n",
               r + 1, t_epoch[r], t_serial[r], t_split[r], threads);
        fflush(stdout);
    }
    double e = bench_median(t_epoch, reps), g = bench_median(t_gemm, reps);
    printf("e2_epoch_seconds: %.3f\n", e);
    printf("e2_gemm_serial_seconds: %.3f\n", bench_median(t_serial, reps));
    printf("e2_gemm_split_seconds: %.3f\n", bench_median(t_split, reps));
    printf("e2_gemm_only_seconds: %.3f\n", g);
    printf("e2_samples_per_s: %.0f\n", ROWS / e);
    printf("e2_gemm_gflops: %.1f\n", flops * 1e-9 / g);
    printf("e2_epoch_over_gemm: %.3f\n", e / g);
    free(t_epoch);
    free(t_gemm);
    free(t_serial);
    free(t_split);
    for (int w = 0; w < threads; w++)
        free(sfull.c[w]);
    free(a);
    free(b);
    free(c);
    sae_trainer_free(tr);
    sae_model_free(model);
    sae_config_free(cfg);
    ex_dataset_free(&ds);
    return 0;
}
