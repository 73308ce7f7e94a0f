/* bf16 weights for read-only inference (sae_model_set_weight_precision):
 * codes and reconstructions against the fp32 model's within bf16's bound
 * (below), on both ways of multiplying (oneDNN's bf16 matmul where the CPU
 * and the build have it, weights widened per block elsewhere; the test
 * expects the one this CPU gets and forces the other where it can), the
 * memory halved, exact round trips, the calls refused while the weights
 * are bf16, and many threads encoding at once. SPDX-License-Identifier: MIT */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "core/bf16.h"
#include "core/matmul.h"
#include "model/bf16_weights.h"

#define D    96
#define H    200
#define ROWS 37

/* The bound on one pre-activation z = sum_i a_i w_i, k = number of terms:
 * the weight is off by at most 2^-9 relative (bf16 keeps 8 significant
 * bits, rounding to nearest), the activation too when oneDNN rounds it
 * (widened weights leave it exact), and fp32 accumulation adds at most
 * k 2^-24 sum|a w| (with room 4 for blocked sums):
 * (r 2^-9 + 4 k 2^-24) sum_i |a_i w_i|, r = 2 (oneDNN) or 1 (widened). */
static double bound(double rounded_operands, size_t k, double sum_abs)
{
    return (rounded_operands * ldexp(1.0, -9) + 4.0 * (double)k * ldexp(1.0, -24)) * sum_abs +
           1e-30;
}

static sae_model_t *make_model(const char *act, int tied)
{
    sae_config_t *cfg = tu_config(D, H);
    tu_assert_status(sae_config_set(cfg, "arch.hidden_activation", act), SAE_OK);
    tu_assert_status(sae_config_set(cfg, "arch.output_activation", "linear"), SAE_OK);
    tu_assert_status(sae_config_set(cfg, "loss.type", "mse"), SAE_OK);
    if (tied)
        tu_assert_status(sae_config_set(cfg, "arch.tied", "true"), SAE_OK);
    sae_model_t *m = NULL;
    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    sae_config_free(cfg);
    /* Biases and thresholds that cut through the pre-activations. */
    float b[H], db[D], lt[H];
    tu_fill_uniform(b, H, -0.3f, 0.3f, 11);
    tu_fill_uniform(db, D, -0.5f, 0.5f, 12);
    tu_fill_uniform(lt, H, logf(0.05f), logf(0.4f), 13);
    tu_assert_status(sae_model_set_tensor(m, "encoder.bias", H, 1, b), SAE_OK);
    tu_assert_status(sae_model_set_tensor(m, "decoder.bias", D, 1, db), SAE_OK);
    if (!strcmp(act, "jumprelu"))
        tu_assert_status(sae_model_set_tensor(m, "jumprelu.log_threshold", H, 1, lt), SAE_OK);
    return m;
}

static const char *expected_path(void)
{
    char why[SAE_ERRMSG_SIZE];
    int onednn = sae_mm_available(SAE_MM_ONEDNN_F32, why); /* the build has oneDNN */
    return onednn && sae_cpu_bf16_isa() != SAE_BF16_ISA_NONE ? "onednn-bf16" : "fp32-widened";
}

/* Encode and decode of the bf16 model against the fp32 model's, entry by
 * entry within the bound (relu and JumpReLU: a unit may switch on or off
 * only where its fp32 pre-activation is within the bound of the cut). */
static void check_against_fp32(const char *act, int tied, int force_widen)
{
    sae_bf16_infer_force_widen(force_widen);
    const char *path = sae_bf16_infer_path();
    double r = strcmp(path, "onednn-bf16") == 0 ? 2.0 : 1.0;
    sae_model_t *m = make_model(act, tied);
    float *x = malloc(ROWS * D * sizeof *x), *w = malloc(H * D * sizeof *w);
    float *c32 = malloc(ROWS * H * sizeof *c32), *c16 = malloc(ROWS * H * sizeof *c16);
    float *y32 = malloc(ROWS * D * sizeof *y32), *y16 = malloc(ROWS * D * sizeof *y16);
    float b[H], th[H];
    tu_fill_uniform(x, ROWS * D, -1.0f, 1.0f, 21);
    const float *p;
    tu_assert_status(sae_model_tensor_by_name(m, "encoder.weight", NULL, NULL, &p), SAE_OK);
    memcpy(w, p, H * D * sizeof *w);
    tu_assert_status(sae_model_tensor_by_name(m, "encoder.bias", NULL, NULL, &p), SAE_OK);
    memcpy(b, p, sizeof b);
    int jr = strcmp(act, "jumprelu") == 0;
    if (jr) {
        tu_assert_status(sae_model_tensor_by_name(m, "jumprelu.log_threshold", NULL, NULL, &p),
                         SAE_OK);
        for (size_t j = 0; j < H; j++)
            th[j] = expf(p[j]);
    }
    tu_assert_status(sae_model_encode(m, x, ROWS, c32), SAE_OK);
    tu_assert_status(sae_model_decode(m, c32, ROWS, y32), SAE_OK);
    size_t before = sae_model_weight_bytes(m);

    tu_assert_status(sae_model_set_weight_precision(m, SAE_PRECISION_BF16), SAE_OK);
    tu_assert_status(sae_model_set_weight_precision(m, SAE_PRECISION_BF16), SAE_OK); /* no-op */
    size_t after = sae_model_weight_bytes(m);
    /* The matrices take half; the fp32 vectors (and their padding) stay. */
    assert_true(after <= before / 2 + 4 * (2 * H + D + 64));
    size_t widened = sae_bf16_widened_products();
    tu_assert_status(sae_model_encode(m, x, ROWS, c16), SAE_OK);
    tu_assert_status(sae_model_decode(m, c32, ROWS, y16), SAE_OK);
    /* Each went the way the path says. */
    assert_int_equal(sae_bf16_widened_products() - widened, r == 2.0 ? 0 : 2);

    size_t differ = 0, flips = 0;
    for (size_t i = 0; i < ROWS; i++)
        for (size_t j = 0; j < H; j++) {
            double z = 0, s = 0;
            for (size_t k = 0; k < D; k++) {
                z += (double)x[i * D + k] * w[j * D + k];
                s += fabs((double)x[i * D + k] * w[j * D + k]);
            }
            double e = bound(r, D, s), a = c32[i * H + j], g = c16[i * H + j];
            differ += a != g;
            if ((a > 0) == (g > 0)) {
                if (fabs(a - g) > e + 1e-6 * fabs(a))
                    fail_msg("%s: code (%zu, %zu): bf16 %.9g, fp32 %.9g, bound %.3g", act, i, j, g,
                             a, e);
            } else {
                /* Switched: the fp32 pre-activation was within the bound of
                 * the cut (0 for relu, theta for JumpReLU; a switched relu
                 * unit is itself within the bound of 0). */
                double cut = jr ? th[j] : 0.0, pre = z + b[j];
                if (fabs(pre - cut) > e + 1e-6 || (!jr && fabs(a - g) > e + 1e-6))
                    fail_msg("%s: unit (%zu, %zu) switched %s with pre-activation %.9g, cut "
                             "%.9g, bound %.3g",
                             act, i, j, g > 0 ? "on" : "off", pre, cut, e);
                flips++;
            }
        }
    assert_true(differ > 0); /* the bf16 weights were used */
    assert_true(flips < ROWS * H / 50);
    /* Decoding the same codes: x_hat = h W_dec + b_dec. */
    const float *wd = w; /* tied: the encoder's */
    float *wdec = NULL;
    if (!tied) {
        tu_assert_status(sae_model_set_weight_precision(m, SAE_PRECISION_FP32), SAE_OK);
        tu_assert_status(sae_model_tensor_by_name(m, "decoder.weight", NULL, NULL, &p), SAE_OK);
        wdec = malloc(H * D * sizeof *wdec);
        /* Widened back: the bf16 rounding of what the fp32 model had. */
        memcpy(wdec, p, H * D * sizeof *wdec);
        tu_assert_status(sae_model_set_weight_precision(m, SAE_PRECISION_BF16), SAE_OK);
        wd = wdec;
    }
    for (size_t i = 0; i < ROWS; i++)
        for (size_t k = 0; k < D; k++) {
            double s = 0;
            for (size_t j = 0; j < H; j++)
                s += fabs((double)c32[i * H + j] * wd[j * D + k]);
            double e = bound(r, H, s);
            if (fabs((double)y16[i * D + k] - y32[i * D + k]) > e + 1e-6)
                fail_msg("%s: decode (%zu, %zu): bf16 %.9g, fp32 %.9g, bound %.3g", act, i, k,
                         y16[i * D + k], y32[i * D + k], e);
        }
    /* The widened path multiplies the bf16 weights exactly: against the
     * products in double of the rounded weights, only fp32 accumulation. */
    if (r == 1.0 && wdec)
        for (size_t i = 0; i < ROWS; i++)
            for (size_t k = 0; k < D; k++) {
                const float *dbp;
                tu_assert_status(sae_model_tensor_by_name(m, "decoder.bias", NULL, NULL, &dbp),
                                 SAE_OK);
                double ref = dbp[k], s = fabs(dbp[k]);
                for (size_t j = 0; j < H; j++) {
                    ref += (double)c32[i * H + j] * wdec[j * D + k];
                    s += fabs((double)c32[i * H + j] * wdec[j * D + k]);
                }
                assert_true(fabs(y16[i * D + k] - ref) <= 4.0 * H * ldexp(1.0, -24) * s + 1e-30);
            }
    /* Back to fp32: exactly the bf16 rounding of the original weights. */
    tu_assert_status(sae_model_set_weight_precision(m, SAE_PRECISION_FP32), SAE_OK);
    assert_int_equal(sae_model_weight_bytes(m), before);
    tu_assert_status(sae_model_tensor_by_name(m, "encoder.weight", NULL, NULL, &p), SAE_OK);
    for (size_t i = 0; i < H * D; i++) {
        uint16_t h16;
        float back;
        sae_f32_to_bf16(&w[i], &h16, 1);
        sae_bf16_to_f32(&h16, &back, 1);
        if (memcmp(&back, &p[i], sizeof back))
            fail_msg("encoder.weight[%zu]: %.9g after the round trip, want %.9g", i, p[i], back);
    }
    tu_assert_status(sae_model_tensor_by_name(m, "encoder.bias", NULL, NULL, &p), SAE_OK);
    assert_memory_equal(p, b, sizeof b);
    sae_bf16_infer_force_widen(0);
    free(wdec), free(x), free(w), free(c32), free(c16), free(y32), free(y16);
    sae_model_free(m);
}

static void test_path_follows_the_cpu(void **state)
{
    (void)state;
    sae_bf16_infer_force_widen(0);
    assert_string_equal(sae_bf16_infer_path(), expected_path());
    sae_bf16_infer_force_widen(1);
    assert_string_equal(sae_bf16_infer_path(), "fp32-widened");
    sae_bf16_infer_force_widen(0);
}

static void test_relu_codes_within_bound(void **state)
{
    (void)state;
    check_against_fp32("relu", 0, 0);
    check_against_fp32("relu", 1, 0);
}

static void test_jumprelu_codes_within_bound(void **state)
{
    (void)state;
    check_against_fp32("jumprelu", 0, 0);
}

/* The other branch, on a CPU whose own is oneDNN's. */
static void test_widened_path_within_bound(void **state)
{
    (void)state;
    check_against_fp32("relu", 0, 1);
    check_against_fp32("jumprelu", 0, 1);
}

static void test_refusals(void **state)
{
    (void)state;
    sae_model_t *m = make_model("relu", 0);
    sae_trainer_t *t = NULL;
    /* While a trainer holds the model. */
    tu_assert_status(sae_trainer_create(m, &t), SAE_OK);
    tu_assert_status(sae_model_set_weight_precision(m, SAE_PRECISION_BF16), SAE_ERR_STATE);
    assert_non_null(strstr(sae_model_errmsg(m), "trainer"));
    sae_trainer_free(t);
    tu_assert_status(sae_model_set_weight_precision(m, SAE_PRECISION_BF16), SAE_OK);
    /* Training, saving, exporting, reading a weight: refused, by name. */
    tu_assert_status(sae_trainer_create(m, &t), SAE_ERR_STATE);
    assert_null(t);
    assert_non_null(strstr(sae_last_error(), "bf16"));
    char path[4200];
    snprintf(path, sizeof path, "%s/m.safetensors", tu_tmpdir());
    tu_assert_status(sae_model_save(m, path), SAE_ERR_STATE);
    assert_non_null(strstr(sae_model_errmsg(m), "sae_model_save"));
    snprintf(path, sizeof path, "%s/saelens", tu_tmpdir());
    tu_assert_status(sae_model_export(m, path, "saelens"), SAE_ERR_STATE);
    const float *p = NULL;
    size_t rows = 0, cols = 0;
    tu_assert_status(sae_model_tensor_by_name(m, "decoder.weight", &rows, &cols, &p),
                     SAE_ERR_STATE);
    tu_assert_status(sae_model_tensor_by_name(m, "decoder.weight", &rows, &cols, NULL), SAE_OK);
    assert_int_equal(rows, H);
    size_t ks[1] = {3};
    double err[1];
    float x[D];
    tu_fill_uniform(x, D, -1, 1, 5);
    tu_assert_status(sae_model_prefix_errors(m, x, 1, ks, 1, err), SAE_ERR_STATE);
    /* Setting a weight rounds it in: a zero decoder leaves the bias. */
    float *zero = calloc(H * D, sizeof *zero), y[D];
    const float *db;
    tu_assert_status(sae_model_set_tensor(m, "decoder.weight", H, D, zero), SAE_OK);
    tu_assert_status(sae_model_reconstruct(m, x, 1, y), SAE_OK);
    tu_assert_status(sae_model_tensor_by_name(m, "decoder.bias", NULL, NULL, &db), SAE_OK);
    assert_memory_equal(y, db, sizeof y);
    free(zero);
    /* Values and handles. */
    tu_assert_status(sae_model_set_weight_precision(m, (sae_precision_t)7), SAE_ERR_RANGE);
    tu_assert_status(sae_model_set_weight_precision(NULL, SAE_PRECISION_BF16), SAE_ERR_NULL);
    /* Back in fp32, it trains. */
    tu_assert_status(sae_model_set_weight_precision(m, SAE_PRECISION_FP32), SAE_OK);
    tu_assert_status(sae_trainer_create(m, &t), SAE_OK);
    sae_trainer_free(t);
    sae_model_free(m);
    /* A layered model: not covered. */
    sae_config_t *cfg = tu_config(6, 4);
    tu_assert_status(
        sae_config_set(cfg, "arch.layers", "input 1x1x6; dense 4 relu code; dense 6 linear"),
        SAE_OK);
    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    tu_assert_status(sae_model_set_weight_precision(m, SAE_PRECISION_BF16), SAE_ERR_UNSUPPORTED);
    assert_non_null(strstr(sae_model_errmsg(m), "arch.layers"));
    sae_model_free(m);
    sae_config_free(cfg);
}

/* train.gemm = onednn also runs a model's fp32 inference products through
 * oneDNN (CBLAS in a build without it): the codes of the same weights as
 * CBLAS's within fp32 accumulation's bound, 4 k 2^-24 sum|x w|. */
static void test_fp32_inference_follows_train_gemm(void **state)
{
    (void)state;
    sae_model_t *a = make_model("relu", 0), *b = NULL;
    sae_config_t *cfg = NULL;
    tu_assert_status(sae_config_clone(sae_model_config(a), &cfg), SAE_OK);
    tu_assert_status(sae_config_set(cfg, "train.gemm", "onednn"), SAE_OK);
    tu_assert_status(sae_model_create(cfg, &b), SAE_OK);
    sae_config_free(cfg);
    for (size_t i = 0; i < sae_model_tensor_count(a); i++) {
        const char *name;
        size_t rows, cols;
        const float *p;
        tu_assert_status(sae_model_tensor(a, i, &name, &rows, &cols, &p), SAE_OK);
        tu_assert_status(sae_model_set_tensor(b, name, rows, cols, p), SAE_OK);
    }
    float *x = malloc(ROWS * D * sizeof *x), *ca = malloc(ROWS * H * sizeof *ca);
    float *cb = malloc(ROWS * H * sizeof *cb);
    const float *w;
    tu_fill_uniform(x, ROWS * D, -1.0f, 1.0f, 41);
    tu_assert_status(sae_model_tensor_by_name(a, "encoder.weight", NULL, NULL, &w), SAE_OK);
    tu_assert_status(sae_model_encode(a, x, ROWS, ca), SAE_OK);
    tu_assert_status(sae_model_encode(b, x, ROWS, cb), SAE_OK);
    for (size_t i = 0; i < ROWS; i++)
        for (size_t j = 0; j < H; j++) {
            double s = 0;
            for (size_t k = 0; k < D; k++)
                s += fabs((double)x[i * D + k] * w[j * D + k]);
            double e = bound(0.0, D + 1, s + 1.0); /* + the bias */
            if (fabs((double)ca[i * H + j] - cb[i * H + j]) > e)
                fail_msg("code (%zu, %zu): oneDNN %.9g, CBLAS %.9g", i, j, cb[i * H + j],
                         ca[i * H + j]);
        }
    free(x), free(ca), free(cb);
    sae_model_free(a);
    sae_model_free(b);
}

typedef struct job {
    sae_model_t *m;
    const float *x;
    float *code;
    size_t first, rows, repeat;
    sae_status_t st;
} job_t;

static void *encode_job(void *arg)
{
    job_t *j = arg;
    for (size_t r = 0; r < j->repeat && j->st == SAE_OK; r++)
        j->st = sae_model_encode(j->m, j->x + j->first * D, j->rows, j->code + j->first * H);
    return NULL;
}

/* Four threads on one bf16 model (each call its own inference context,
 * so its own oneDNN engine) give what one thread gives. */
static void test_threads_share_a_bf16_model(void **state)
{
    (void)state;
    enum { T = 4, PER = 300 };
    sae_model_t *m = make_model("jumprelu", 0);
    tu_assert_status(sae_model_set_weight_precision(m, SAE_PRECISION_BF16), SAE_OK);
    float *x = malloc(T * PER * D * sizeof *x);
    float *serial = malloc(T * PER * H * sizeof *serial), *par = malloc(T * PER * H * sizeof *par);
    tu_fill_uniform(x, T * PER * D, -1, 1, 31);
    for (size_t t = 0; t < T; t++)
        tu_assert_status(sae_model_encode(m, x + t * PER * D, PER, serial + t * PER * H), SAE_OK);
    pthread_t th[T];
    job_t jobs[T];
    for (size_t t = 0; t < T; t++) {
        jobs[t] = (job_t){m, x, par, t * PER, PER, 5, SAE_OK};
        assert_int_equal(pthread_create(&th[t], NULL, encode_job, &jobs[t]), 0);
    }
    for (size_t t = 0; t < T; t++) {
        pthread_join(th[t], NULL);
        tu_assert_status(jobs[t].st, SAE_OK);
    }
    for (size_t i = 0; i < T * PER * H; i++)
        if (fabsf(par[i] - serial[i]) > 1e-5f * (1.0f + fabsf(serial[i])))
            fail_msg("code %zu: %.9g from threads, %.9g serially", i, par[i], serial[i]);
    free(x), free(serial), free(par);
    sae_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_follows_the_cpu),
        cmocka_unit_test(test_relu_codes_within_bound),
        cmocka_unit_test(test_jumprelu_codes_within_bound),
        cmocka_unit_test(test_widened_path_within_bound),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_fp32_inference_follows_train_gemm),
        cmocka_unit_test(test_threads_share_a_bf16_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
