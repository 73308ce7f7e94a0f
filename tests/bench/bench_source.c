/* Benchmark: one epoch from a data source (sae_trainer_fit_source, rows
 * copied batch by batch from an array by the source's next_batch) against
 * the in-memory sae_trainer_fit of the same rows (sequential sampling: the
 * same batches, no copy; and shuffle sampling: gathered rows), interleaved
 * so that all see the same machine. A small model (256-512-256, batch 256,
 * 16,384 synthetic rows) so that the per-batch cost of the source path is
 * as visible as it gets. Prints medians, rows/s, and the lines
 *   source_over_memory_sequential: X
 *   source_over_memory_shuffle: X
 * Run with `meson test --benchmark -C build`. SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "sae.h"

#define D 256
#define H 512
#define B 256
#define ROWS 16384

typedef struct array_src {
    const float *x;
    size_t pos;
} array_src_t;

static int next(void *u, float *out, size_t max_rows, size_t dim, size_t *rows)
{
    array_src_t *s = u;
    size_t n = ROWS - s->pos < max_rows ? ROWS - s->pos : max_rows;
    memcpy(out, s->x + s->pos * dim, n * dim * sizeof *out);
    s->pos += n;
    *rows = n;
    return 0;
}

static int reset(void *u, uint64_t epoch)
{
    (void)epoch;
    ((array_src_t *)u)->pos = 0;
    return 0;
}

static sae_trainer_t *trainer(const char *sampling, sae_model_t **m)
{
    sae_config_t *cfg = NULL;
    const char *kv[][2] = {{"arch.input_dim", "256"}, {"arch.hidden_dim", "512"},
                           {"train.batch_size", "256"}, {"optim.type", "adam"},
                           {"kl.weight", "0.1"},         {"train.sampling", sampling}};
    if (sae_config_create(&cfg) != SAE_OK)
        exit(1);
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        if (sae_config_set(cfg, kv[i][0], kv[i][1]) != SAE_OK) {
            fprintf(stderr, "bench: %s\n", sae_config_errmsg(cfg));
            exit(1);
        }
    sae_trainer_t *t = NULL;
    if (sae_model_create(cfg, m) != SAE_OK || sae_trainer_create(*m, &t) != SAE_OK) {
        fprintf(stderr, "bench: %s\n", sae_last_error());
        exit(1);
    }
    sae_config_free(cfg);
    return t;
}

int main(int argc, char **argv)
{
    bench_print_machine();
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    if (reps < 1 || reps > 64)
        reps = 5;
    float *x = malloc((size_t)ROWS * D * sizeof *x);
    if (!x)
        return 1;
    uint64_t r = 88172645463325252ull;
    for (size_t i = 0; i < (size_t)ROWS * D; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        x[i] = (float)(r >> 40) / (float)(1 << 24);
    }
    sae_model_t *ms, *mq, *mh;
    sae_trainer_t *ts = trainer("sequential", &ms), *tq = trainer("sequential", &mq);
    sae_trainer_t *th = trainer("shuffle", &mh);
    sae_source_ops_t ops = {.struct_size = sizeof ops, .next_batch = next, .reset = reset};
    array_src_t src = {x, 0};
    double t_src[64], t_seq[64], t_shuf[64];
    for (int k = 0; k < reps; k++) {
        double t0 = bench_now();
        if (sae_trainer_fit_source(ts, &ops, &src, 1, 0) != SAE_OK)
            return 1;
        double t1 = bench_now();
        if (sae_trainer_fit(tq, x, ROWS, 1) != SAE_OK)
            return 1;
        double t2 = bench_now();
        if (sae_trainer_fit(th, x, ROWS, 1) != SAE_OK)
            return 1;
        double t3 = bench_now();
        t_src[k] = t1 - t0, t_seq[k] = t2 - t1, t_shuf[k] = t3 - t2;
    }
    double s = bench_median(t_src, reps), q = bench_median(t_seq, reps);
    double h = bench_median(t_shuf, reps);
    printf("epoch of %d rows, %d-%d-%d, batch %d, %d reps (medians)\n", ROWS, D, H, D, B, reps);
    printf("source_epoch_s: %.4f (%.0f rows/s)\n", s, ROWS / s);
    printf("memory_sequential_epoch_s: %.4f (%.0f rows/s)\n", q, ROWS / q);
    printf("memory_shuffle_epoch_s: %.4f (%.0f rows/s)\n", h, ROWS / h);
    printf("source_over_memory_sequential: %.3f\n", s / q);
    printf("source_over_memory_shuffle: %.3f\n", s / h);
    sae_trainer_free(ts);
    sae_trainer_free(tq);
    sae_trainer_free(th);
    sae_model_free(ms);
    sae_model_free(mq);
    sae_model_free(mh);
    free(x);
    return 0;
}
