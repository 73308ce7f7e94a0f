/* Benchmark: peak memory of one epoch from a data source against the
 * in-memory fit of the same rows. The rows (N x 256 floats, N = 2^20 by
 * default: 1 GiB; argv[1] sets N) are made batch by batch by the source's
 * next_batch, or all at once into an array for sae_trainer_fit. The source
 * runs first, so the process's peak RSS after it is the streamed run's
 * alone; after the in-memory fit it is the larger of the two. A 256-512
 * top-32 relu SAE, Adam, batch 1024. Prints rows/s and
 *   source_peak_rss_mib: X
 *   memory_peak_rss_mib: X
 * Run with `meson test --benchmark -C build`. SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench_util.h"
#include "sae.h"

#define D 256

static size_t n_rows;

static float value(size_t r, size_t c)
{
    uint64_t z = ((uint64_t)r * 2654435761u) ^ ((uint64_t)c * 40503u);
    z ^= z >> 13;
    return (float)(z % 1000) / 1000.0f;
}

static int next(void *u, float *out, size_t max_rows, size_t dim, size_t *rows)
{
    size_t *pos = u, n = n_rows - *pos < max_rows ? n_rows - *pos : max_rows;
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < dim; c++)
            out[i * dim + c] = value(*pos + i, c);
    *pos += n;
    *rows = n;
    return 0;
}

static int reset(void *u, uint64_t epoch)
{
    (void)epoch;
    *(size_t *)u = 0;
    return 0;
}

static double peak_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* Linux: KiB */
}

static sae_trainer_t *trainer(sae_model_t **m)
{
    sae_config_t *cfg = NULL;
    const char *kv[][2] = {{"arch.input_dim", "256"},          {"arch.hidden_dim", "512"},
                           {"train.batch_size", "1024"},       {"optim.type", "adam"},
                           {"arch.hidden_activation", "relu"}, {"topk.k", "32"},
                           {"train.sampling", "sequential"}};
    sae_trainer_t *t = NULL;
    if (sae_config_create(&cfg) != SAE_OK)
        exit(1);
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        if (sae_config_set(cfg, kv[i][0], kv[i][1]) != SAE_OK)
            exit(1);
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
    n_rows = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : (size_t)1 << 20;
    if (n_rows < 1024 || n_rows > ((size_t)1 << 26))
        n_rows = (size_t)1 << 20;
    sae_model_t *m;
    sae_trainer_t *t = trainer(&m);
    sae_source_ops_t ops = {.struct_size = sizeof ops, .next_batch = next, .reset = reset};
    size_t pos = 0;
    double t0 = bench_now();
    if (sae_trainer_fit_source(t, &ops, &pos, 1, 0) != SAE_OK)
        return 1;
    double s_src = bench_now() - t0, rss_src = peak_mib();
    sae_trainer_free(t);
    sae_model_free(m);

    t = trainer(&m);
    float *x = malloc(n_rows * D * sizeof *x);
    if (!x)
        return 1;
    for (size_t r = 0; r < n_rows; r++)
        for (size_t c = 0; c < D; c++)
            x[r * D + c] = value(r, c);
    t0 = bench_now();
    if (sae_trainer_fit(t, x, n_rows, 1) != SAE_OK)
        return 1;
    double s_mem = bench_now() - t0, rss_mem = peak_mib();
    printf("one epoch of %zu rows x %d floats (%.0f MiB of data)\n", n_rows, D,
           (double)n_rows * D * 4 / (1 << 20));
    printf("source_rows_per_s: %.0f (rows made in next_batch)\n", (double)n_rows / s_src);
    printf("memory_rows_per_s: %.0f\n", (double)n_rows / s_mem);
    printf("source_peak_rss_mib: %.1f\n", rss_src);
    printf("memory_peak_rss_mib: %.1f\n", rss_mem);
    free(x);
    sae_trainer_free(t);
    sae_model_free(m);
    return 0;
}
