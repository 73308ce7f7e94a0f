/* Benchmark: one training epoch of a 784-1024-784 sigmoid autoencoder with
 * BCE + KL (batch 1200) on Fashion-MNIST's 60,000 training images, against
 * the same five GEMMs per batch alone through CBLAS, interleaved in one run
 * so that both see the same machine. Prints medians and the line
 *   train_epoch_over_gemm: X
 * Run with `meson test --benchmark -C build`. SPDX-License-Identifier: MIT */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "sae.h"

#define D 784
#define H 1024
#define B 1200

/* The GEMMs of one training step, same shapes and transposes as the
 * trainer: encoder forward, decoder forward, decoder weight gradient, code
 * gradient, encoder weight gradient. */
static void gemm_step(const float *x, const float *w_enc, const float *w_dec, float *h,
                      float *out, float *g_dec, float *g_enc)
{
    /* w_enc and w_dec are [H x D], one row per code unit, as in the model. */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, H, D, 1.0f, x, D, w_enc, D, 0.0f,
                h, H);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, D, H, 1.0f, h, H, w_dec, D, 0.0f,
                out, D);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, D, B, 1.0f, h, H, out, D, 0.0f,
                g_dec, D);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, H, D, 1.0f, out, D, w_dec, D, 0.0f,
                h, H);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, D, B, 1.0f, h, H, x, D, 0.0f, g_enc,
                D);
}

static void set(sae_config_t *cfg, const char *k, const char *v)
{
    if (sae_config_set(cfg, k, v) != SAE_OK) {
        fprintf(stderr, "bench: %s\n", sae_config_errmsg(cfg));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    bench_print_machine();
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    if (reps < 1)
        reps = 1;
    ex_dataset ds = {0};
    if (!bench_load_fashion_mnist(&ds) || ds.dim != D) {
        fprintf(stderr, "bench: Fashion-MNIST training images not found (run "
                        "tools/fetch-data.sh or install dataset-fashion-mnist); skipped\n");
        return 77;
    }
    size_t rows = ds.rows, batches = (rows + B - 1) / B;

    sae_config_t *cfg = NULL;
    sae_model_t *model = NULL;
    sae_trainer_t *tr = NULL;
    sae_config_create(&cfg);
    set(cfg, "arch.input_dim", "784");
    set(cfg, "arch.hidden_dim", "1024");
    set(cfg, "arch.hidden_activation", "sigmoid");
    set(cfg, "arch.output_activation", "sigmoid");
    set(cfg, "loss.type", "bce");
    set(cfg, "kl.weight", "0.1");
    set(cfg, "kl.rho", "0.05");
    set(cfg, "optim.type", "adam");
    set(cfg, "optim.lr", "1e-3");
    set(cfg, "train.batch_size", "1200");
    set(cfg, "train.sampling", "sequential");
    if (sae_model_create(cfg, &model) != SAE_OK || sae_trainer_create(model, &tr) != SAE_OK) {
        fprintf(stderr, "bench: %s\n", sae_last_error());
        return 1;
    }

    float *w_enc = calloc((size_t)H * D, sizeof(float)), *w_dec = calloc((size_t)D * H, 4);
    float *h = calloc((size_t)B * H, 4), *out = calloc((size_t)B * D, 4);
    float *g_dec = calloc((size_t)D * H, 4), *g_enc = calloc((size_t)H * D, 4);
    for (size_t i = 0; i < (size_t)H * D; i++)
        w_enc[i] = w_dec[i] = 0.01f * (float)((i * 7919) % 200 - 100) / 100.0f;

    double *t_train = calloc((size_t)reps, sizeof(double));
    double *t_gemm = calloc((size_t)reps, sizeof(double));
    double *ratio = calloc((size_t)reps, sizeof(double));
    /* One warm-up epoch of each: page faults, thread start-up, caches. */
    sae_trainer_fit(tr, ds.x, rows, 1);
    for (size_t b = 0; b + 1 < batches; b++)
        gemm_step(ds.x + b * B * D, w_enc, w_dec, h, out, g_dec, g_enc);
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now();
        if (sae_trainer_fit(tr, ds.x, rows, 1) != SAE_OK) {
            fprintf(stderr, "bench: %s\n", sae_trainer_errmsg(tr));
            return 1;
        }
        double t1 = bench_now();
        for (size_t b = 0; b < batches; b++) {
            size_t first = b * B > rows - B ? rows - B : b * B;
            gemm_step(ds.x + first * D, w_enc, w_dec, h, out, g_dec, g_enc);
        }
        double t2 = bench_now();
        t_train[r] = t1 - t0;
        t_gemm[r] = t2 - t1;
        ratio[r] = t_train[r] / t_gemm[r];
        printf("rep %d: epoch %.3f s, gemm only %.3f s, ratio %.3f\n", r, t_train[r], t_gemm[r],
               ratio[r]);
    }
    double flops = 5.0 * 2.0 * (double)B * D * H * (double)batches;
    double mt = bench_median(t_train, reps), mg = bench_median(t_gemm, reps), mr = bench_median(ratio, reps);
    printf("config: 784-1024-784 sigmoid, BCE + KL, Adam, batch 1200, %zu images, %d reps\n",
           rows, reps);
    printf("train_epoch_seconds: %.3f\n", mt);
    printf("train_samples_per_second: %.0f\n", (double)rows / mt);
    printf("train_gflops: %.1f\n", flops / mt / 1e9);
    printf("gemm_only_seconds: %.3f\n", mg);
    printf("gemm_only_gflops: %.1f\n", flops / mg / 1e9);
    printf("train_epoch_over_gemm: %.3f\n", mr);
    sae_trainer_free(tr);
    sae_model_free(model);
    sae_config_free(cfg);
    ex_dataset_free(&ds);
    free(w_enc);
    free(w_dec);
    free(h);
    free(out);
    free(g_dec);
    free(g_enc);
    free(t_train);
    free(t_gemm);
    free(ratio);
    return 0;
}
