/* bf16 and the oneDNN matmul engine: conversions against their definition,
 * products against references (with the bound each must meet and why),
 * a bf16 training step's gradient against the fp32 one, and the statuses
 * of builds, CPUs and models that cannot run bf16. The expectations follow
 * the CPU the test runs on. SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "core/bf16.h"
#include "core/gemm.h"
#include "core/matmul.h"
#include "train/trainer.h"

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* The definition, in double arithmetic: the nearer of the two bf16 values
 * around x, the one with an even last mantissa bit on a tie; beyond the
 * largest finite bf16, half-way to 2^128 and above round to infinity. */
static uint16_t bf16_reference(float x)
{
    uint32_t u = bits(x);
    if (isnan(x))
        return (uint16_t)((u >> 16) | 0x40u);
    if (isinf(x))
        return (uint16_t)(u >> 16);
    uint32_t lo = u & 0xffff0000u;
    double dlo = fabs((double)from_bits(lo)), dx = fabs((double)x);
    uint32_t lo_mag = lo & 0x7fffffffu;
    double dhi = lo_mag == 0x7f7f0000u ? ldexp(1.0, 128) : fabs((double)from_bits(lo + 0x10000u));
    double below = dx - dlo, above = dhi - dx;
    if (below < above)
        return (uint16_t)(lo >> 16);
    if (above < below)
        return (uint16_t)((lo >> 16) + 1);
    return (uint16_t)(((lo >> 16) & 1) ? (lo >> 16) + 1 : (lo >> 16));
}

static void test_f32_to_bf16_rounds_to_nearest_even(void **state)
{
    (void)state;
    /* Chosen cases: ties both ways, carries into the exponent, overflow to
     * infinity, subnormals, signed zeros, NaNs with low payloads. */
    const uint32_t cases[] = {0x3f808000u, 0x3f818000u, 0x3f80ffffu, 0x3f7fffffu, 0x7f7fffffu,
                              0x7f7f8000u, 0x7f7f7fffu, 0xff7f8000u, 0x00000001u, 0x00008000u,
                              0x00018000u, 0x807fffffu, 0x00000000u, 0x80000000u, 0x7f800000u,
                              0xff800000u, 0x7f800001u, 0x7fc00000u, 0xffbfffffu};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        float x = from_bits(cases[i]);
        uint16_t got;
        sae_f32_to_bf16(&x, &got, 1);
        uint16_t want = bf16_reference(x);
        if (got != want)
            fail_msg("0x%08x: got 0x%04x, want 0x%04x", cases[i], got, want);
        if (isnan(x))
            assert_true(isnan(from_bits((uint32_t)got << 16)));
    }
    /* A million random bit patterns, converted in one call (the vector
     * code path) and one by one against the definition. */
    size_t n = 1u << 20;
    float *x = malloc(n * sizeof *x);
    uint16_t *y = malloc(n * sizeof *y);
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        x[i] = from_bits((uint32_t)(s >> 11));
    }
    sae_f32_to_bf16(x, y, n);
    for (size_t i = 0; i < n; i++)
        if (y[i] != bf16_reference(x[i]))
            fail_msg("0x%08x: got 0x%04x, want 0x%04x", bits(x[i]), y[i], bf16_reference(x[i]));
    free(x);
    free(y);
}

static void test_bf16_to_f32_is_exact(void **state)
{
    (void)state;
    uint16_t all[65536];
    float f[65536];
    uint16_t back[65536];
    for (uint32_t i = 0; i < 65536; i++)
        all[i] = (uint16_t)i;
    sae_bf16_to_f32(all, f, 65536);
    sae_f32_to_bf16(f, back, 65536);
    for (uint32_t i = 0; i < 65536; i++) {
        assert_int_equal(bits(f[i]), i << 16);
        if (!isnan(f[i]))
            assert_int_equal(back[i], i);
    }
}

/* Skips (with the reason) when this build or CPU lacks the engine. */
static sae_mm_t *engine_or_skip(sae_mm_kind_t kind)
{
    char why[SAE_ERRMSG_SIZE];
    sae_mm_t *mm = NULL;
    sae_status_t st = sae_mm_create(kind, &mm, why);
    if (st == SAE_ERR_UNSUPPORTED) {
        print_message("skipped: %s\n", why);
        skip();
    }
    assert_int_equal(st, SAE_OK);
    assert_non_null(mm);
    return mm;
}

/* The double-precision product of op(A) op(B), of the operands given. */
static void product_ref(int ta, int tb, size_t m, size_t n, size_t k, const float *a, size_t lda,
                        const float *b, size_t ldb, double *out, double *mag)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double sum = 0, abs_sum = 0;
            for (size_t p = 0; p < k; p++) {
                double av = ta ? a[p * lda + i] : a[i * lda + p];
                double bv = tb ? b[j * ldb + p] : b[p * ldb + j];
                sum += av * bv;
                abs_sum += fabs(av * bv);
            }
            out[i * n + j] = sum;
            mag[i * n + j] = abs_sum;
        }
}

static void round_bf16(float *x, size_t n)
{
    uint16_t *t = malloc(n * sizeof *t);
    sae_f32_to_bf16(x, t, n);
    sae_bf16_to_f32(t, x, n);
    free(t);
}

/* Every transposition, alpha, beta in {0, 1} and padded leading
 * dimensions. Bounds: the bf16 engine must equal the exact product of the
 * bf16-rounded operands up to fp32 accumulation (k * 2^-24 * sum |a b|,
 * with room for blocked summation: 4x); against the fp32 operands each
 * factor is off by at most 2^-9 relative, so 2 * 2^-9 * sum |a b| plus that.
 * The fp32 engine meets the fp32 bound against the fp32 operands. */
static void check_products(sae_mm_kind_t kind)
{
    sae_mm_t *mm = engine_or_skip(kind);
    const size_t m = 37, n = 29, k = 300, pad = 3;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int acc = 0; acc < 2; acc++) {
                float alpha = acc ? 1.0f : -0.5f;
                size_t lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
                size_t a_rows = ta ? k : m, b_rows = tb ? n : k;
                float *a = malloc(a_rows * lda * sizeof *a), *b = malloc(b_rows * ldb * sizeof *b);
                float *c = malloc(m * ldc * sizeof *c), *c0 = malloc(m * ldc * sizeof *c0);
                tu_fill_uniform(a, a_rows * lda, -1, 1, 10 + (uint64_t)ta);
                tu_fill_uniform(b, b_rows * ldb, -1, 1, 20 + (uint64_t)tb);
                tu_fill_uniform(c0, m * ldc, -1, 1, 30);
                memcpy(c, c0, m * ldc * sizeof *c);
                float *ar = malloc(a_rows * lda * sizeof *ar), *br = malloc(b_rows * ldb * sizeof *br);
                memcpy(ar, a, a_rows * lda * sizeof *ar);
                memcpy(br, b, b_rows * ldb * sizeof *br);
                round_bf16(ar, a_rows * lda);
                round_bf16(br, b_rows * ldb);
                double *exact = malloc(m * n * sizeof *exact), *mag = malloc(m * n * sizeof *mag);
                double *exact_r = malloc(m * n * sizeof *exact_r);
                double *mag_r = malloc(m * n * sizeof *mag_r);
                product_ref(ta, tb, m, n, k, a, lda, b, ldb, exact, mag);
                product_ref(ta, tb, m, n, k, ar, lda, br, ldb, exact_r, mag_r);
                sae_mm_new_weights(mm);
                sae_mm_gemm(mm, ta, tb, m, n, k, alpha, a, lda, 0, b, ldb, 1, acc ? 1.0f : 0.0f, c,
                            ldc);
                assert_int_equal(sae_mm_fallbacks(mm), 0);
                double acc_bound = 4.0 * (double)k * ldexp(1.0, -24);
                for (size_t i = 0; i < m; i++) {
                    for (size_t j = 0; j < n; j++) {
                        double base = acc ? c0[i * ldc + j] : 0.0;
                        double got = c[i * ldc + j] - base;
                        double s = fabs(alpha);
                        double to_exact = fabs(got - alpha * exact[i * n + j]);
                        if (kind == SAE_MM_ONEDNN_BF16) {
                            double to_rounded = fabs(got - alpha * exact_r[i * n + j]);
                            double tight = s * acc_bound * mag_r[i * n + j] + 1e-6;
                            double loose = s * (ldexp(2.0, -9) + acc_bound) * mag[i * n + j] + 1e-6;
                            if (to_rounded > tight || to_exact > loose)
                                fail_msg("bf16 ta%d tb%d acc%d [%zu,%zu]: %g vs %g (rounded "
                                         "operands %g)",
                                         ta, tb, acc, i, j, got, alpha * exact[i * n + j],
                                         alpha * exact_r[i * n + j]);
                        } else if (to_exact > s * acc_bound * mag[i * n + j] + 1e-6) {
                            fail_msg("fp32 ta%d tb%d acc%d [%zu,%zu]: %g vs %g", ta, tb, acc, i, j,
                                     got, alpha * exact[i * n + j]);
                        }
                    }
                    /* The padding of C is not written. */
                    for (size_t j = n; j < ldc; j++)
                        assert_int_equal(bits(c[i * ldc + j]), bits(c0[i * ldc + j]));
                }
                free(a), free(b), free(c), free(c0), free(ar), free(br);
                free(exact), free(mag), free(exact_r), free(mag_r);
            }
    print_message("engine: %s\n", sae_mm_impl(mm));
    sae_mm_free(mm);
}

static void test_bf16_products(void **state)
{
    (void)state;
    check_products(SAE_MM_ONEDNN_BF16);
}

static void test_onednn_fp32_products(void **state)
{
    (void)state;
    check_products(SAE_MM_ONEDNN_F32);
}

/* A weight operand's bf16 copy is reused within a generation and remade
 * after sae_mm_new_weights. */
static void test_weight_copies_follow_generations(void **state)
{
    (void)state;
    sae_mm_t *mm = engine_or_skip(SAE_MM_ONEDNN_BF16);
    float a[4 * 8], w[8 * 3], c[4 * 3];
    tu_fill_uniform(a, 32, -1, 1, 1);
    for (size_t i = 0; i < 24; i++)
        w[i] = 1.0f;
    sae_mm_new_weights(mm);
    sae_mm_gemm(mm, 0, 0, 4, 3, 8, 1.0f, a, 8, 0, w, 3, 1, 0.0f, c, 3);
    float first = c[0];
    for (size_t i = 0; i < 24; i++)
        w[i] = 2.0f;
    sae_mm_gemm(mm, 0, 0, 4, 3, 8, 1.0f, a, 8, 0, w, 3, 1, 0.0f, c, 3);
    assert_true(c[0] == first); /* same generation: the copy of the old w */
    sae_mm_new_weights(mm);
    sae_mm_gemm(mm, 0, 0, 4, 3, 8, 1.0f, a, 8, 0, w, 3, 1, 0.0f, c, 3);
    assert_true(c[0] == 2.0f * first);
    sae_mm_free(mm);
}

static sae_config_t *step_config(const char *precision, const char *act, int topk)
{
    sae_config_t *cfg = tu_config(96, 64);
    const char *kv[] = {"train.precision", precision, "arch.hidden_activation", act,
                        "train.batch_size", "48", "kl.weight", strcmp(act, "sigmoid") ? "0" : "0.1",
                        "l1.weight", strcmp(act, "relu") ? "0" : "1e-3", NULL};
    for (int i = 0; kv[i]; i += 2)
        assert_int_equal(sae_config_set(cfg, kv[i], kv[i + 1]), SAE_OK);
    if (topk)
        assert_int_equal(sae_config_set(cfg, "topk.k", "8"), SAE_OK);
    return cfg;
}

/* One step's gradient in bf16 against fp32 on the same weights and rows.
 * Each product's operands carry a relative rounding of at most 2^-9; the
 * gradient of the encoder passes through three products (forward, the
 * code's gradient, the weight gradient), so its error is a few 2^-9 in
 * norm: the test asks for at most 2^-5 = 3.1% of the gradient's norm
 * (measured here: below 1%), and for a nonzero difference, which shows the
 * bf16 products ran. */
static void check_step_gradient(const char *act, int topk)
{
    if (sae_cpu_bf16_isa() == SAE_BF16_ISA_NONE)
        skip();
    sae_config_t *c32 = step_config("fp32", act, topk), *c16 = step_config("bf16", act, topk);
    sae_model_t *m32 = NULL, *m16 = NULL;
    assert_int_equal(sae_model_create(c32, &m32), SAE_OK);
    assert_int_equal(sae_model_create(c16, &m16), SAE_OK);
    sae_trainer_t *t32 = NULL, *t16 = NULL;
    assert_int_equal(sae_trainer_create(m32, &t32), SAE_OK);
    sae_status_t st = sae_trainer_create(m16, &t16);
    if (st == SAE_ERR_UNSUPPORTED) { /* built without oneDNN */
        print_message("skipped: %s\n", sae_last_error());
        sae_trainer_free(t32), sae_model_free(m32), sae_model_free(m16);
        sae_config_free(c32), sae_config_free(c16);
        skip();
    }
    assert_int_equal(st, SAE_OK);
    size_t rows = 48, d = 96;
    float *x = malloc(rows * d * sizeof *x);
    tu_fill_uniform(x, rows * d, 0, 1, 7);
    sae_stats_t s32, s16;
    assert_int_equal(sae_forward_backward(t32, x, rows, 0, 1, &s32), SAE_OK);
    assert_int_equal(sae_forward_backward(t16, x, rows, 0, 1, &s16), SAE_OK);
    size_t nw = m32->n_weights;
    double diff = 0, norm = 0;
    for (size_t i = 0; i < nw; i++) {
        double e = (double)t16->ws.grad[i] - t32->ws.grad[i];
        diff += e * e;
        norm += (double)t32->ws.grad[i] * t32->ws.grad[i];
    }
    double rel = sqrt(diff / norm);
    print_message("%s%s: gradient relative difference %.3g, loss %.6g vs %.6g\n", act,
                  topk ? " top-k" : "", rel, s16.loss, s32.loss);
    assert_true(rel > 0);
    assert_true(rel < ldexp(1.0, -5));
    assert_true(fabs(s16.loss - s32.loss) <= ldexp(1.0, -6) * fabs(s32.loss));
    free(x);
    sae_trainer_free(t32), sae_trainer_free(t16);
    sae_model_free(m32), sae_model_free(m16);
    sae_config_free(c32), sae_config_free(c16);
}

static void test_bf16_step_gradient_sigmoid_kl(void **state)
{
    (void)state;
    check_step_gradient("sigmoid", 0);
}

static void test_bf16_step_gradient_relu_topk(void **state)
{
    (void)state;
    check_step_gradient("relu", 1);
}

/* What happens where bf16 cannot run, decided by this build and CPU. */
static void test_bf16_statuses(void **state)
{
    (void)state;
    sae_config_t *cfg = step_config("bf16", "sigmoid", 0);
    sae_model_t *m = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    sae_trainer_t *t = NULL;
    char why[SAE_ERRMSG_SIZE];
    int can = sae_mm_available(SAE_MM_ONEDNN_BF16, why);
    sae_status_t st = sae_trainer_create(m, &t);
    if (can) {
        assert_int_equal(st, SAE_OK);
    } else {
        assert_int_equal(st, SAE_ERR_UNSUPPORTED);
        assert_null(t);
        const char *msg = sae_last_error();
        assert_true(strstr(msg, "AVX512-BF16") || strstr(msg, "oneDNN"));
    }
    sae_trainer_free(t);
    sae_model_free(m);
    /* A layered model never trains in bf16: the engine serves the
     * one-hidden-layer pass only, and saying so beats a silent fp32 run. */
    assert_int_equal(sae_config_set_layers(cfg, "input 1x6x6; conv2d 2 k3 relu code; convt2d 1 k3 linear"),
                     SAE_OK);
    assert_int_equal(sae_config_set(cfg, "arch.input_dim", "36"), SAE_OK);
    m = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    t = NULL;
    assert_int_equal(sae_trainer_create(m, &t), SAE_ERR_UNSUPPORTED);
    assert_null(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

/* A short training run in bf16 ends near the fp32 run's loss (the
 * benchmark checks 5 epochs of Fashion-MNIST against 1%). */
static void test_bf16_training_follows_fp32(void **state)
{
    (void)state;
    if (sae_cpu_bf16_isa() == SAE_BF16_ISA_NONE)
        skip();
    double loss[2];
    size_t rows = 480, d = 96;
    float *x = malloc(rows * d * sizeof *x);
    tu_fill_uniform(x, rows * d, 0, 1, 11);
    for (int bf = 0; bf < 2; bf++) {
        sae_config_t *cfg = step_config(bf ? "bf16" : "fp32", "sigmoid", 0);
        sae_model_t *m = NULL;
        assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
        sae_trainer_t *t = NULL;
        sae_status_t st = sae_trainer_create(m, &t);
        if (st == SAE_ERR_UNSUPPORTED) {
            sae_model_free(m), sae_config_free(cfg), free(x);
            skip();
        }
        assert_int_equal(sae_trainer_fit(t, x, rows, 20), SAE_OK);
        sae_stats_t s;
        assert_int_equal(sae_trainer_evaluate(t, x, rows, &s), SAE_OK);
        loss[bf] = s.loss;
        sae_trainer_free(t), sae_model_free(m), sae_config_free(cfg);
    }
    print_message("after 200 steps: fp32 loss %.6g, bf16 loss %.6g\n", loss[0], loss[1]);
    assert_true(fabs(loss[1] - loss[0]) <= 0.01 * loss[0]);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f32_to_bf16_rounds_to_nearest_even),
        cmocka_unit_test(test_bf16_to_f32_is_exact),
        cmocka_unit_test(test_bf16_products),
        cmocka_unit_test(test_onednn_fp32_products),
        cmocka_unit_test(test_weight_copies_follow_generations),
        cmocka_unit_test(test_bf16_step_gradient_sigmoid_kl),
        cmocka_unit_test(test_bf16_step_gradient_relu_topk),
        cmocka_unit_test(test_bf16_statuses),
        cmocka_unit_test(test_bf16_training_follows_fp32),
    };
    printf("cpu bf16 isa: %s\n", sae_bf16_isa_name(sae_cpu_bf16_isa()));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
