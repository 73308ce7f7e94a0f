/* Benchmark (issue 10, "Performance"): a Gemma-Scope-sized JumpReLU SAE
 * (d_in 2304, d_sae 16384, random weights) encoding 4096 rows. Rows per
 * second of sae_model_encode with fp32 weights and with bf16 weights
 * (sae_model_set_weight_precision), each beside the product alone (the
 * same x W^T through CBLAS, and through the bf16 path), then numpy's and
 * PyTorch's fp32 encode of the same arrays (tools/bench/encode_reference.py,
 * Debian's /usr/bin/python3) in the same run, which also checks that their
 * codes agree with libsae's. Medians of the repetitions (argv[1], default
 * 3). Threads: what OpenBLAS, OpenMP and torch take (the benchmark sets
 * none; run with OMP_NUM_THREADS / OPENBLAS_NUM_THREADS to pin them).
 * SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "core/bf16.h"
#include "core/gemm.h"
#include "core/matmul.h"
#include "model/bf16_weights.h"
#include "sae.h"

#define D_IN       2304
#define D_SAE      16384
#define ROWS       4096
#define CHECK_ROWS 256

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench: %s: %s\n", what, msg);
    exit(1);
}

static int write_raw(const char *dir, const char *name, const float *v, size_t n)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(v, sizeof *v, n, f) == n;
    if (f && fclose(f) != 0)
        ok = 0;
    return ok;
}

typedef enum { ENCODE, GEMM_F32, GEMM_BF16 } what_t;

static double time_it(what_t what, sae_model_t *m, sae_mm_t *mm, const uint16_t *wbf,
                      const float *w, const float *x, float *out, int reps)
{
    double t[32];
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now();
        if (what == ENCODE) {
            if (sae_model_encode(m, x, ROWS, out) != SAE_OK)
                die("encode", sae_model_errmsg(m));
        } else if (what == GEMM_F32) {
            sae_gemm(0, 1, ROWS, D_SAE, D_IN, 1.0f, x, D_IN, w, D_IN, 0.0f, out, D_SAE);
        } else if (!sae_mm_gemm_bf16w(mm, 1, ROWS, D_SAE, D_IN, 1.0f, x, D_IN, wbf, D_IN, out,
                                      D_SAE)) {
            die("bf16 product", "oneDNN refused it");
        }
        t[r] = bench_now() - t0;
    }
    return bench_median(t, reps);
}

/* numpy's and torch's encode of the saved arrays; their lines reprinted,
 * their rows per second into np_rate and torch_rate (0: none). */
static void python_reference(const char *dir, int reps, double *np_rate, double *torch_rate)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 %s/tools/bench/encode_reference.py %s %d %d %d %d %d",
             SAE_SOURCE_ROOT, dir, ROWS, D_IN, D_SAE, CHECK_ROWS, reps);
    FILE *p = popen(cmd, "r");
    if (!p) {
        printf("numpy_fp32_encode_rows_per_s: unavailable\n");
        return;
    }
    char line[512];
    while (fgets(line, sizeof line, p)) {
        fputs(line, stdout);
        sscanf(line, "numpy_fp32_encode_rows_per_s: %lf", np_rate);
        sscanf(line, "torch_fp32_encode_rows_per_s: %lf", torch_rate);
    }
    if (pclose(p) != 0)
        printf("python_reference: failed (numpy or torch missing?)\n");
}

int main(int argc, char **argv)
{
    bench_print_machine();
    int reps = argc > 1 ? atoi(argv[1]) : 3;
    reps = reps < 1 ? 1 : reps > 32 ? 32 : reps;
    sae_config_t *cfg = NULL;
    sae_model_t *m = NULL;
    if (sae_config_create(&cfg) != SAE_OK || sae_config_set(cfg, "arch.input_dim", "2304") ||
        sae_config_set(cfg, "arch.hidden_dim", "16384") ||
        sae_config_set(cfg, "arch.hidden_activation", "jumprelu") ||
        sae_config_set(cfg, "arch.output_activation", "linear") ||
        sae_config_set(cfg, "loss.type", "mse") || sae_config_set(cfg, "train.seed", "7") ||
        sae_model_create(cfg, &m) != SAE_OK)
        die("model", sae_last_error());
    sae_config_free(cfg);
    /* Random biases and thresholds that keep a few percent of the units
     * (Glorot weights, inputs in [-1, 1): pre-activations of std ~0.3). */
    float *x = malloc((size_t)ROWS * D_IN * sizeof *x);
    float *b = malloc(D_SAE * sizeof *b), *lt = malloc(D_SAE * sizeof *lt);
    float *code = malloc((size_t)ROWS * D_SAE * sizeof *code);
    float *w = malloc((size_t)D_SAE * D_IN * sizeof *w);
    uint16_t *wbf = malloc((size_t)D_SAE * D_IN * sizeof *wbf);
    if (!x || !b || !lt || !code || !w || !wbf)
        die("memory", "out of memory");
    uint64_t s = 0x2545F4914F6CDD1Dull;
    for (size_t i = 0; i < (size_t)ROWS * D_IN; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        x[i] = (float)((double)(s >> 11) * 0x1.0p-53 * 2.0 - 1.0);
    }
    for (size_t j = 0; j < D_SAE; j++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        double u = (double)(s >> 11) * 0x1.0p-53;
        b[j] = (float)(0.1 * (u - 0.5));
        lt[j] = (float)log(0.45 + 0.3 * u);
    }
    if (sae_model_set_tensor(m, "encoder.bias", D_SAE, 1, b) ||
        sae_model_set_tensor(m, "jumprelu.log_threshold", D_SAE, 1, lt))
        die("tensors", sae_model_errmsg(m));
    const float *wp;
    sae_model_tensor_by_name(m, "encoder.weight", NULL, NULL, &wp);
    memcpy(w, wp, (size_t)D_SAE * D_IN * sizeof *w);
    sae_f32_to_bf16(w, wbf, (size_t)D_SAE * D_IN);

    printf("infer_rows: %d\nd_in: %d\nd_sae: %d\nrepetitions: %d\n", ROWS, D_IN, D_SAE, reps);
    double gflop = 2.0 * ROWS * D_IN * (double)D_SAE * 1e-9;
    /* fp32: the encode and its product alone, warmed once each. */
    time_it(ENCODE, m, NULL, NULL, w, x, code, 1);
    double enc32 = time_it(ENCODE, m, NULL, NULL, w, x, code, reps);
    double gemm32 = time_it(GEMM_F32, m, NULL, NULL, w, x, code, reps);
    time_it(ENCODE, m, NULL, NULL, w, x, code, 1);
    size_t active = 0;
    for (size_t i = 0; i < (size_t)ROWS * D_SAE; i++)
        active += code[i] != 0.0f;
    printf("mean_l0: %.1f\n", (double)active / ROWS);
    printf("fp32_encode_rows_per_s: %.0f\n", ROWS / enc32);
    printf("fp32_gemm_rows_per_s: %.0f\n", ROWS / gemm32);
    printf("fp32_gemm_gflops: %.1f\n", gflop / gemm32);
    printf("fp32_encode_over_gemm_time: %.3f\n", enc32 / gemm32);
    /* The arrays and the fp32 codes of the first rows for the reference. */
    char dir[] = "/tmp/sae-bench-encode-XXXXXX";
    if (!mkdtemp(dir))
        die("mkdtemp", "cannot make a temporary folder");
    const float *bp;
    sae_model_tensor_by_name(m, "encoder.bias", NULL, NULL, &bp);
    float *th = malloc(D_SAE * sizeof *th);
    for (size_t j = 0; j < D_SAE; j++)
        th[j] = expf(lt[j]);
    int saved = write_raw(dir, "x.f32", x, (size_t)ROWS * D_IN) &&
                write_raw(dir, "w_enc.f32", w, (size_t)D_SAE * D_IN) &&
                write_raw(dir, "b_enc.f32", bp, D_SAE) &&
                write_raw(dir, "threshold.f32", th, D_SAE) &&
                write_raw(dir, "codes.f32", code, (size_t)CHECK_ROWS * D_SAE);

    /* bf16 weights. */
    size_t bytes32 = sae_model_weight_bytes(m);
    if (sae_model_set_weight_precision(m, SAE_PRECISION_BF16) != SAE_OK)
        die("bf16", sae_model_errmsg(m));
    printf("bf16_path: %s\n", sae_bf16_infer_path());
    printf("weight_bytes_fp32: %zu\nweight_bytes_bf16: %zu\n", bytes32, sae_model_weight_bytes(m));
    time_it(ENCODE, m, NULL, NULL, w, x, code, 1);
    double enc16 = time_it(ENCODE, m, NULL, NULL, w, x, code, reps);
    printf("bf16_encode_rows_per_s: %.0f\n", ROWS / enc16);
    char why[SAE_ERRMSG_SIZE];
    sae_mm_t *mm = NULL;
    if (!strcmp(sae_bf16_infer_path(), "onednn-bf16") &&
        sae_mm_create(SAE_MM_ONEDNN_BF16, &mm, why) == SAE_OK) {
        time_it(GEMM_BF16, m, mm, wbf, w, x, code, 1);
        double gemm16 = time_it(GEMM_BF16, m, mm, wbf, w, x, code, reps);
        printf("bf16_gemm_impl: %s\n", sae_mm_impl(mm));
        printf("bf16_gemm_rows_per_s: %.0f\n", ROWS / gemm16);
        printf("bf16_gemm_gflops: %.1f\n", gflop / gemm16);
        printf("bf16_encode_over_gemm_time: %.3f\n", enc16 / gemm16);
        sae_mm_free(mm);
    } else {
        printf("bf16_encode_over_fp32_gemm_time: %.3f\n", enc16 / gemm32);
    }
    printf("bf16_encode_speedup_over_fp32: %.3f\n", enc32 / enc16);
    sae_model_free(m);
    free(code), free(wbf), free(b), free(lt), free(th);
    free(x), free(w);
    fflush(stdout);
    double np_rate = 0, torch_rate = 0;
    if (saved)
        python_reference(dir, reps, &np_rate, &torch_rate);
    else
        printf("python_reference: could not write the arrays to %s\n", dir);
    /* Speed ratios (above 1: libsae faster). */
    if (np_rate > 0)
        printf("fp32_encode_over_numpy_speed: %.3f\nbf16_encode_over_numpy_speed: %.3f\n",
               ROWS / enc32 / np_rate, ROWS / enc16 / np_rate);
    if (torch_rate > 0)
        printf("fp32_encode_over_torch_speed: %.3f\nbf16_encode_over_torch_speed: %.3f\n",
               ROWS / enc32 / torch_rate, ROWS / enc16 / torch_rate);
    static const char *const names[] = {"x.f32", "w_enc.f32", "b_enc.f32", "threshold.f32",
                                        "codes.f32"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    return 0;
}
