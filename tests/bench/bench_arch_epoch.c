/* Benchmark: one epoch of each 0.4 code operator beside top-k, on the
 * top-k benchmark's configuration (784-4096-784, batch 1200, Adam,
 * Fashion-MNIST's 60,000 training images), all at a mean L0 of about 32:
 * top-k and BatchTopK with k = 32; JumpReLU with each unit's threshold
 * started at its pre-activation's (1 - 32/4096) quantile over 2400 rows;
 * gated with each unit's gate bias started at minus that quantile. The
 * epochs are interleaved over the repetitions (medians); the L0 printed is
 * the mean over 6000 rows after the last epoch. Prints, per operator,
 *   NAME_epoch_seconds: X   NAME_l0: Y
 * SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "sae.h"

#define H 4096
#define CAL_ROWS 2400

enum { TOPK, BATCHTOPK, JUMPRELU, GATED, N_ARCH };
static const char *const names[N_ARCH] = {"topk", "batchtopk", "jumprelu", "gated"};

static sae_config_t *config(int arch)
{
    static const char *kv[][2] = {
        {"arch.input_dim", "784"},       {"arch.hidden_dim", "4096"},
        {"arch.hidden_activation", "relu"}, {"arch.output_activation", "linear"},
        {"train.batch_size", "1200"},    {"train.sampling", "sequential"},
        {"optim.lr", "1e-3"},
    };
    sae_config_t *cfg = NULL;
    sae_config_create(&cfg);
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        sae_config_set(cfg, kv[i][0], kv[i][1]);
    sae_status_t st = SAE_OK;
    if (arch == TOPK || arch == BATCHTOPK) {
        st = sae_config_set(cfg, "topk.k", "32");
        if (st == SAE_OK && arch == BATCHTOPK)
            st = sae_config_set(cfg, "topk.mode", "batch");
    } else if (arch == JUMPRELU) {
        st = sae_config_set(cfg, "arch.hidden_activation", "jumprelu");
        if (st == SAE_OK)
            st = sae_config_set(cfg, "l0.weight", "1e-3");
    } else {
        st = sae_config_set(cfg, "arch.gated", "true");
        if (st == SAE_OK)
            st = sae_config_set(cfg, "l1.weight", "1e-3");
    }
    if (st != SAE_OK) {
        fprintf(stderr, "bench: %s\n", sae_config_errmsg(cfg));
        exit(1);
    }
    return cfg;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Each unit's (1 - 32/H) quantile of relu(x We^T) over the first rows,
 * from a relu model with the same seed (hence the same encoder). */
static void quantiles(const ex_dataset *ds, float *q)
{
    sae_config_t *cfg = config(TOPK);
    sae_config_set(cfg, "topk.k", "0");
    sae_model_t *m = NULL;
    float *code = malloc((size_t)CAL_ROWS * H * sizeof *code), *col = malloc(CAL_ROWS * sizeof *col);
    if (!code || !col || sae_model_create(cfg, &m) != SAE_OK ||
        sae_model_encode(m, ds->x, CAL_ROWS, code) != SAE_OK)
        exit(1);
    size_t at = (size_t)((1.0 - 32.0 / H) * CAL_ROWS);
    for (size_t j = 0; j < H; j++) {
        for (size_t b = 0; b < CAL_ROWS; b++)
            col[b] = code[b * H + j];
        qsort(col, CAL_ROWS, sizeof *col, cmp_float);
        q[j] = col[at] > 1e-4f ? col[at] : 1e-4f;
    }
    free(code);
    free(col);
    sae_model_free(m);
    sae_config_free(cfg);
}

static sae_trainer_t *make(int arch, const float *q, sae_model_t **model)
{
    sae_config_t *cfg = config(arch);
    sae_trainer_t *t = NULL;
    if (sae_model_create(cfg, model) != SAE_OK) {
        fprintf(stderr, "bench: %s\n", sae_last_error());
        exit(1);
    }
    float v[H];
    if (arch == JUMPRELU) {
        for (size_t j = 0; j < H; j++)
            v[j] = logf(q[j]);
        sae_model_set_tensor(*model, "jumprelu.log_threshold", H, 1, v);
    } else if (arch == GATED) {
        for (size_t j = 0; j < H; j++)
            v[j] = -q[j];
        sae_model_set_tensor(*model, "encoder.bias", H, 1, v);
    }
    if (sae_trainer_create(*model, &t) != SAE_OK) {
        fprintf(stderr, "bench: %s\n", sae_last_error());
        exit(1);
    }
    sae_config_free(cfg);
    return t;
}

int main(int argc, char **argv)
{
    bench_print_machine();
    int reps = argc > 1 ? atoi(argv[1]) : 1;
    if (reps < 1)
        reps = 1;
    ex_dataset ds = {0};
    if (!bench_load_fashion_mnist(&ds) || ds.dim != 784) {
        fprintf(stderr, "bench: Fashion-MNIST not found; skipped\n");
        return 77;
    }
    static float q[H];
    quantiles(&ds, q);
    sae_model_t *m[N_ARCH];
    sae_trainer_t *t[N_ARCH];
    double *sec[N_ARCH];
    for (int a = 0; a < N_ARCH; a++) {
        t[a] = make(a, q, &m[a]);
        sec[a] = calloc((size_t)reps, sizeof *sec[a]);
        sae_trainer_fit_steps(t[a], ds.x, ds.rows, 2); /* warm-up */
    }
    for (int r = 0; r < reps; r++)
        for (int a = 0; a < N_ARCH; a++) {
            double t0 = bench_now();
            if (sae_trainer_fit(t[a], ds.x, ds.rows, 1) != SAE_OK) {
                fprintf(stderr, "bench: %s: %s\n", names[a], sae_trainer_errmsg(t[a]));
                return 1;
            }
            sec[a][r] = bench_now() - t0;
            printf("rep %d: %s %.2f s\n", r, names[a], sec[a][r]);
        }
    printf("config: 784-4096-784, Adam, batch 1200, %zu images, %d reps, L0 about 32\n", ds.rows,
           reps);
    for (int a = 0; a < N_ARCH; a++) {
        sae_stats_t s;
        sae_trainer_evaluate(t[a], ds.x, 6000, &s);
        printf("%s_epoch_seconds: %.3f\n", names[a], bench_median(sec[a], reps));
        printf("%s_l0: %.1f\n", names[a], s.l0);
        sae_trainer_free(t[a]);
        sae_model_free(m[a]);
        free(sec[a]);
    }
    ex_dataset_free(&ds);
    return 0;
}
