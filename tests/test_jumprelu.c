/* The JumpReLU code (code/jumprelu.c; Rajamanoharan et al. 2024): its
 * inference form, the straight-through gradient of the log thresholds
 * against the paper's formula on the dense and the sparse path, the exact
 * gradients agreeing between the two paths, the thresholds learned by Adam,
 * save and load, and the configs it refuses. SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/dense.h"
#include "testutil.h"
#include "train/trainer.h"

enum { D = 6, H = 32, B = 8 };

static void set(sae_config_t *cfg, const char *k, const char *v)
{
    if (sae_config_set(cfg, k, v) != SAE_OK)
        fail_msg("set %s=%s: %s", k, v, sae_config_errmsg(cfg));
}

static sae_config_t *jr_config(const char *path)
{
    sae_config_t *cfg = tu_config(D, H);
    set(cfg, "arch.hidden_activation", "jumprelu");
    set(cfg, "arch.output_activation", "linear");
    set(cfg, "arch.init_scale", "2");
    set(cfg, "jumprelu.bandwidth", "0.08");
    set(cfg, "l0.weight", "0.3");
    set(cfg, "l1.weight", "0.05");
    set(cfg, "topk.sparse_path", path);
    set(cfg, "train.batch_size", "8");
    return cfg;
}

static float *tensor(sae_model_t *m, const char *name, size_t *n)
{
    size_t r, c;
    const float *p;
    tu_assert_status(sae_model_tensor_by_name(m, name, &r, &c, &p), SAE_OK);
    if (n)
        *n = r * c;
    return (float *)p;
}

/* p = relu(x We^T + be) in double. */
static void pre_acts(sae_model_t *m, const float *x, double *p)
{
    const float *we = tensor(m, "encoder.weight", NULL), *be = tensor(m, "encoder.bias", NULL);
    for (size_t b = 0; b < B; b++)
        for (size_t j = 0; j < H; j++) {
            double v = be[j];
            for (size_t i = 0; i < D; i++)
                v += (double)x[b * D + i] * we[j * D + i];
            p[b * H + j] = v > 0.0 ? v : 0.0;
        }
}

/* Thresholds set between the pre-activations so that about a sixth of the
 * code is active and some units of each column sit in the window on
 * either side of theta. */
static void place_thresholds(sae_model_t *m, const float *x, int dense)
{
    double p[B * H];
    pre_acts(m, x, p);
    float lt[H];
    for (size_t j = 0; j < H; j++) {
        double best = 0.0;
        for (size_t b = 0; b < B; b++)
            best = p[b * H + j] > best ? p[b * H + j] : best;
        /* Just below the column's largest, or above every value. */
        double th = best > 0.05 ? best - 0.01 - 0.02 * (double)(j % 3) : 0.05;
        if (j % 5 == 4)
            th = best + 0.03; /* the largest just below theta: window, inactive */
        if (dense && j % 5 != 4)
            th = 0.01; /* most positive units active: past the support's capacity */
        lt[j] = (float)log(th);
    }
    tu_assert_status(sae_model_set_tensor(m, "jumprelu.log_threshold", H, 1, lt), SAE_OK);
}

/* dL/dlog(theta) by the paper's estimators, in double: recon is MSE over
 * B x D elements, l1 over B x H, l0 a mean over rows. */
static void expected_grad(sae_model_t *m, const float *x, double *want, int *n_win_off,
                          int *n_win_on)
{
    const float *wd = tensor(m, "decoder.weight", NULL), *bd = tensor(m, "decoder.bias", NULL);
    const float *lt = tensor(m, "jumprelu.log_threshold", NULL);
    double p[B * H], h[B * H], g[B * H];
    pre_acts(m, x, p);
    double eps = 0.08, lam0 = 0.3, lam1 = 0.05;
    for (size_t k = 0; k < B * H; k++) {
        double th = exp((double)lt[k % H]);
        h[k] = p[k] > th ? p[k] : 0.0;
    }
    for (size_t b = 0; b < B; b++) {
        double dout[D];
        for (size_t i = 0; i < D; i++) {
            double o = bd[i];
            for (size_t j = 0; j < H; j++)
                o += h[b * H + j] * wd[j * D + i];
            dout[i] = 2.0 * (o - x[b * D + i]) / (double)(B * D);
        }
        for (size_t j = 0; j < H; j++) {
            double s = 0.0;
            for (size_t i = 0; i < D; i++)
                s += dout[i] * wd[j * D + i];
            g[b * H + j] = s + lam1 / (double)(B * H) * (h[b * H + j] > 0.0);
        }
    }
    *n_win_off = *n_win_on = 0;
    for (size_t j = 0; j < H; j++) {
        double th = exp((double)lt[j]), d_theta = 0.0;
        for (size_t b = 0; b < B; b++) {
            size_t k = b * H + j;
            if (!(fabs(p[k] - th) < eps / 2))
                continue;
            *(h[k] > 0.0 ? n_win_on : n_win_off) += 1;
            d_theta += -(th / eps) * g[k] - (lam0 / B) / eps;
        }
        want[j] = th * d_theta;
    }
}

static void check_threshold_grad(const char *path, int expect_sparse, int dense_code,
                                 float *enc_grad)
{
    sae_config_t *cfg = jr_config(path);
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    tu_assert_status(sae_trainer_create(m, &t), SAE_OK);
    float x[B * D];
    tu_fill_uniform(x, B * D, 0.0f, 1.0f, 7);
    place_thresholds(m, x, dense_code);
    sae_stats_t s;
    tu_assert_status(sae_forward_backward(t, x, B, 0, 1, &s), SAE_OK);
    assert_true(dense_code ? s.l0 > H / 4 : s.l0 < H / 4);
    const sae_sparse_code_t *sc =
        t->ws.dense.sparse_path ? sae_dense(m)->code_op->support(t->ws.dense.code_state) : NULL;
    assert_int_equal(sc != NULL, expect_sparse);
    double want[H];
    int off = 0, on = 0;
    expected_grad(m, x, want, &off, &on);
    assert_true(off > 0 && on > 0); /* both sides of theta are tested */
    const float *lt = tensor(m, "jumprelu.log_threshold", NULL);
    const float *got = t->ws.grad + (lt - m->weights);
    for (size_t j = 0; j < H; j++)
        if (fabs(got[j] - want[j]) > 1e-4 * fabs(want[j]) + 1e-7)
            fail_msg("%s path: dL/dlog theta[%zu] = %.9g, formula %.9g", path, j, got[j], want[j]);
    /* The terms reported: l1 and l0 (mean active units per row). */
    int found = 0;
    for (size_t k = 0; k < s.n_terms; k++)
        if (!strcmp(s.term_name[k], "l0")) {
            assert_true(fabs(s.term_loss[k] - 0.3 * s.l0) < 1e-6);
            found = 1;
        }
    assert_true(found);
    const float *we = tensor(m, "encoder.weight", NULL);
    memcpy(enc_grad, t->ws.grad + (we - m->weights), H * D * sizeof(float));
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

static void test_threshold_gradient_is_the_papers(void **state)
{
    (void)state;
    float g_dense[H * D], g_sparse[H * D], g_full[H * D];
    check_threshold_grad("off", 0, 0, g_dense);
    check_threshold_grad("on", 1, 0, g_sparse);
    /* A code denser than the support holds takes the dense path. */
    check_threshold_grad("on", 0, 1, g_full);
    /* The exact gradients agree between the two paths. */
    for (size_t k = 0; k < H * D; k++)
        if (fabsf(g_dense[k] - g_sparse[k]) > 1e-6f + 1e-5f * fabsf(g_dense[k]))
            fail_msg("encoder gradient %zu: dense %g, sparse %g", k, g_dense[k], g_sparse[k]);
}

static void test_inference_form(void **state)
{
    (void)state;
    sae_config_t *cfg = jr_config("auto");
    sae_model_t *m = NULL;
    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    float x[B * D], code[B * H];
    tu_fill_uniform(x, B * D, 0.0f, 1.0f, 9);
    place_thresholds(m, x, 0);
    tu_assert_status(sae_model_encode(m, x, B, code), SAE_OK);
    double p[B * H];
    pre_acts(m, x, p);
    const float *lt = tensor(m, "jumprelu.log_threshold", NULL);
    size_t active = 0;
    for (size_t k = 0; k < B * H; k++) {
        double want = p[k] > exp((double)lt[k % H]) ? p[k] : 0.0;
        if (!(fabs(code[k] - want) < 1e-5))
            fail_msg("code %zu: %g, want %g (p %g, theta %g)", k, code[k], want, p[k], exp((double)lt[k % H]));
        active += code[k] != 0.0f;
    }
    assert_true(active > 0 && active < B * H);
    sae_model_free(m);
    sae_config_free(cfg);
}

/* The thresholds start at jumprelu.threshold_init, are optimised by Adam
 * (its first step moves each by about lr against its gradient's sign) and
 * survive save and load bitwise. */
static void test_learned_saved_loaded(void **state)
{
    (void)state;
    sae_config_t *cfg = jr_config("auto");
    set(cfg, "jumprelu.threshold_init", "0.25");
    set(cfg, "optim.lr", "0.01");
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    size_t n;
    float *lt = tensor(m, "jumprelu.log_threshold", &n);
    assert_int_equal(n, H);
    for (size_t j = 0; j < H; j++)
        assert_true(lt[j] == (float)log(0.25));
    tu_assert_status(sae_trainer_create(m, &t), SAE_OK);
    float x[B * D], before[H], g[H];
    tu_fill_uniform(x, B * D, 0.0f, 1.0f, 3);
    memcpy(before, lt, sizeof before);
    sae_stats_t s;
    tu_assert_status(sae_forward_backward(t, x, B, 0, 1, &s), SAE_OK);
    memcpy(g, t->ws.grad + (lt - m->weights), sizeof g);
    tu_assert_status(sae_trainer_step(t, x, B, &s), SAE_OK);
    size_t moved = 0;
    for (size_t j = 0; j < H; j++) {
        if (g[j] == 0.0f) {
            assert_true(lt[j] == before[j]);
            continue;
        }
        double d = (double)lt[j] - (double)before[j];
        assert_true(fabs(fabs(d) - 0.01) < 1e-4 && (d > 0) == (g[j] < 0));
        moved++;
    }
    assert_true(moved > 0);
    for (int k = 0; k < 3; k++)
        tu_assert_status(sae_trainer_step(t, x, B, &s), SAE_OK);

    char path[512];
    snprintf(path, sizeof path, "%s/jr.safetensors", tu_tmpdir());
    tu_assert_status(sae_model_save(m, path), SAE_OK);
    sae_model_t *m2 = NULL;
    tu_assert_status(sae_model_load(path, &m2), SAE_OK);
    assert_int_equal(sae_model_tensor_count(m2), sae_model_tensor_count(m));
    for (size_t i = 0; i < sae_model_tensor_count(m); i++) {
        const char *name;
        size_t r, c, r2, c2;
        const float *a, *b2;
        tu_assert_status(sae_model_tensor(m, i, &name, &r, &c, &a), SAE_OK);
        tu_assert_status(sae_model_tensor_by_name(m2, name, &r2, &c2, &b2), SAE_OK);
        assert_true(r == r2 && c == c2 && !memcmp(a, b2, r * c * sizeof *a));
    }
    float c1[B * H], c2[B * H];
    tu_assert_status(sae_model_encode(m, x, B, c1), SAE_OK);
    tu_assert_status(sae_model_encode(m2, x, B, c2), SAE_OK);
    assert_memory_equal(c1, c2, sizeof c1);
    /* A NaN threshold is refused, the tensor unchanged. */
    float bad[H];
    memcpy(bad, lt, sizeof bad);
    bad[3] = NAN;
    tu_assert_status(sae_model_set_tensor(m, "jumprelu.log_threshold", H, 1, bad), SAE_ERR_NONFINITE);
    tu_assert_status(sae_model_set_tensor(m, "jumprelu.log_threshold", 1, H, lt), SAE_ERR_DIMENSION);
    sae_model_free(m2);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

/* jumprelu.lr_scale multiplies the log thresholds' rate only: Adam's first
 * step moves each log theta with a gradient by lr * scale, and every other
 * weight as with scale 1. */
static void first_step(const char *scale, float *lt_delta, float *w_after, size_t *n_w)
{
    sae_config_t *cfg = jr_config("auto");
    set(cfg, "jumprelu.threshold_init", "0.25");
    set(cfg, "optim.lr", "0.01");
    set(cfg, "jumprelu.lr_scale", scale);
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    tu_assert_status(sae_trainer_create(m, &t), SAE_OK);
    float x[B * D];
    tu_fill_uniform(x, B * D, 0.0f, 1.0f, 3);
    float *lt = tensor(m, "jumprelu.log_threshold", NULL), before[H];
    memcpy(before, lt, sizeof before);
    sae_stats_t s;
    tu_assert_status(sae_trainer_step(t, x, B, &s), SAE_OK);
    for (size_t j = 0; j < H; j++)
        lt_delta[j] = lt[j] - before[j];
    *n_w = m->n_weights;
    memcpy(w_after, m->weights, m->n_weights * sizeof *w_after);
    /* The thresholds' entries are compared through lt_delta. */
    memset(w_after + (lt - m->weights), 0, H * sizeof *w_after);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

static void test_threshold_rate_scale(void **state)
{
    (void)state;
    static float w1[4096], w4[4096];
    float d1[H], d4[H];
    size_t n1, n4;
    first_step("1", d1, w1, &n1);
    first_step("4", d4, w4, &n4);
    assert_true(n1 == n4 && n1 <= 4096);
    assert_memory_equal(w1, w4, n1 * sizeof *w1);
    size_t moved = 0;
    for (size_t j = 0; j < H; j++) {
        if (d1[j] == 0.0f) {
            assert_true(d4[j] == 0.0f);
            continue;
        }
        assert_true(fabs(fabs((double)d1[j]) - 0.01) < 1e-4);
        assert_true(fabs((double)d4[j] - 4.0 * (double)d1[j]) < 1e-5);
        moved++;
    }
    assert_true(moved > 0);
}

static void expect_refused(const char *k1, const char *v1, const char *k2, const char *v2,
                           const char *needle)
{
    sae_config_t *cfg = jr_config("auto");
    set(cfg, k1, v1);
    if (k2)
        set(cfg, k2, v2);
    sae_model_t *m = NULL;
    tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_STATE);
    assert_null(m);
    if (!strstr(sae_last_error(), needle))
        fail_msg("message \"%s\" does not name \"%s\"", sae_last_error(), needle);
    sae_config_free(cfg);
}

static void test_refusals(void **state)
{
    (void)state;
    expect_refused("train.algorithm", "nsc", "arch.tied", "true", "jumprelu");
    expect_refused("train.algorithm", "rank_order", NULL, NULL, "jumprelu");
    expect_refused("optim.type", "lbfgs", NULL, NULL, "lbfgs");
    expect_refused("topk.k", "4", NULL, NULL, "topk.k");
    expect_refused("corrupt.hidden_keep", "0.5", NULL, NULL, "hidden_keep");
    expect_refused("arch.hidden_activation", "relu", NULL, NULL, "l0.weight");
    expect_refused("arch.layers", "input 1x1x6; dense 4 relu code; dense 6 linear", NULL, NULL,
                   "jumprelu");
    sae_config_t *cfg = jr_config("auto");
    tu_assert_status(sae_config_set(cfg, "arch.output_activation", "jumprelu"), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set(cfg, "jumprelu.bandwidth", "0"), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set(cfg, "jumprelu.lr_scale", "0"), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set(cfg, "jumprelu.threshold_init", "-1"), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set(cfg, "l0.weight", "-0.5"), SAE_ERR_RANGE);
    /* The double-precision check does not model the step: refused. */
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    tu_assert_status(sae_trainer_create(m, &t), SAE_OK);
    float x[B * D];
    double err;
    tu_fill_uniform(x, B * D, 0.0f, 1.0f, 5);
    tu_assert_status(sae_trainer_gradcheck_double(t, x, B, &err, NULL), SAE_ERR_UNSUPPORTED);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threshold_gradient_is_the_papers),
        cmocka_unit_test(test_inference_form),
        cmocka_unit_test(test_learned_saved_loaded),
        cmocka_unit_test(test_threshold_rate_scale),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
