/* Benchmark: the top-k sparse path against the dense path, one epoch each
 * (interleaved, medians over the repetitions) of a 784-4096-784 ReLU
 * autoencoder with k = 32, batch 1200, on Fashion-MNIST's 60,000 training
 * images. Prints the line
 *   sparse_vs_dense_speedup: X
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "sae.h"

static sae_trainer_t *make(const char *path, sae_model_t **model)
{
    static const char *kv[][2] = {
        {"arch.input_dim", "784"},       {"arch.hidden_dim", "4096"},
        {"arch.hidden_activation", "relu"}, {"arch.output_activation", "linear"},
        {"topk.k", "32"},                {"train.batch_size", "1200"},
        {"train.sampling", "sequential"}, {"optim.lr", "1e-3"},
    };
    sae_config_t *cfg = NULL;
    sae_trainer_t *t = NULL;
    sae_config_create(&cfg);
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        sae_config_set(cfg, kv[i][0], kv[i][1]);
    if (sae_config_set(cfg, "topk.sparse_path", path) != SAE_OK ||
        sae_model_create(cfg, model) != SAE_OK || sae_trainer_create(*model, &t) != SAE_OK) {
        fprintf(stderr, "bench: %s %s\n", sae_config_errmsg(cfg), sae_last_error());
        exit(1);
    }
    sae_config_free(cfg);
    return t;
}

int main(int argc, char **argv)
{
    bench_print_machine();
    int reps = argc > 1 ? atoi(argv[1]) : 3;
    if (reps < 1)
        reps = 1;
    ex_dataset ds = {0};
    if (!bench_load_fashion_mnist(&ds) || ds.dim != 784) {
        fprintf(stderr, "bench: Fashion-MNIST not found; skipped\n");
        return 77;
    }
    sae_model_t *md = NULL, *ms = NULL;
    sae_trainer_t *dense = make("off", &md), *sparse = make("on", &ms);
    double *td = calloc((size_t)reps, sizeof *td), *ts = calloc((size_t)reps, sizeof *ts);
    double *ratio = calloc((size_t)reps, sizeof *ratio);
    /* Warm-up: a few steps of each. */
    sae_trainer_fit_steps(dense, ds.x, ds.rows, 3);
    sae_trainer_fit_steps(sparse, ds.x, ds.rows, 3);
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now();
        if (sae_trainer_fit(dense, ds.x, ds.rows, 1) != SAE_OK)
            return 1;
        double t1 = bench_now();
        if (sae_trainer_fit(sparse, ds.x, ds.rows, 1) != SAE_OK)
            return 1;
        double t2 = bench_now();
        td[r] = t1 - t0;
        ts[r] = t2 - t1;
        ratio[r] = td[r] / ts[r];
        printf("rep %d: dense %.2f s, sparse %.2f s, speedup %.2f\n", r, td[r], ts[r], ratio[r]);
    }
    printf("config: 784-4096-784 relu, top-k 32, Adam, batch 1200, %zu images, %d reps\n",
           ds.rows, reps);
    printf("dense_epoch_seconds: %.3f\n", bench_median(td, reps));
    printf("sparse_epoch_seconds: %.3f\n", bench_median(ts, reps));
    printf("sparse_vs_dense_speedup: %.2f\n", bench_median(ratio, reps));
    sae_trainer_free(dense);
    sae_trainer_free(sparse);
    sae_model_free(md);
    sae_model_free(ms);
    ex_dataset_free(&ds);
    free(td);
    free(ts);
    free(ratio);
    return 0;
}
