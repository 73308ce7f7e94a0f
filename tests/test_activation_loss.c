/* Activations and losses: values against double references and gradients
 * against central differences. SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layers/activation.h"
#include "loss/loss.h"
#include "testutil.h"

static const sae_activation_t acts[] = {SAE_ACT_LINEAR, SAE_ACT_SIGMOID, SAE_ACT_RELU,
                                        SAE_ACT_TANH, SAE_ACT_TRELU};
#define N_ACTS (int)(sizeof acts / sizeof acts[0])

/* Whether z is within tol of a kink of a piecewise-linear activation. */
static int near_kink(sae_activation_t a, double z, double tol)
{
    if (a == SAE_ACT_RELU)
        return fabs(z) < tol;
    if (a == SAE_ACT_TRELU)
        return fabs(z) < tol || fabs(z - 1.0) < tol;
    return 0;
}

static double ref_act(sae_activation_t a, double z)
{
    switch (a) {
    case SAE_ACT_SIGMOID: return 1.0 / (1.0 + exp(-z));
    case SAE_ACT_RELU: return z > 0 ? z : 0;
    case SAE_ACT_TANH: return tanh(z);
    case SAE_ACT_TRELU: return z > 0 ? (z < 1 ? z : 1) : 0;
    default: return z;
    }
}

static void test_activation_values_and_derivatives(void **state)
{
    (void)state;
    for (int a = 0; a < N_ACTS; a++)
        for (double z = -6.0; z <= 6.0; z += 0.0371) {
            float y = sae_act_apply(acts[a], (float)z);
            assert_true(fabs((double)y - ref_act(acts[a], z)) < 2e-6);
            if (near_kink(acts[a], z, 1e-2))
                continue;
            double eps = 1e-4;
            double num = (ref_act(acts[a], z + eps) - ref_act(acts[a], z - eps)) / (2 * eps);
            double ana = (double)sae_act_deriv_from_output(acts[a], y);
            assert_true(fabs(num - ana) < 2e-5);
        }
}

/* The fused backward kernel: dz = (dh * drop + row + col + sign) * act'. */
static void test_fused_backward_terms(void **state)
{
    (void)state;
    enum { R = 5, C = 7 };
    float z[R * C], h[R * C], dh[R * C], drop[R * C], extra[R * C];
    float rowc[R], colc[C], bias[C], dbias[C];
    double scr_buf[2 * C];
    sae_reduce_scratch_t scr = {scr_buf, 1};
    for (int a = 0; a < N_ACTS; a++) {
        tu_fill_uniform(z, R * C, -2, 2, 1);
        tu_fill_uniform(bias, C, -1, 1, 2);
        tu_fill_uniform(dh, R * C, -1, 1, 3);
        tu_fill_uniform(rowc, R, -1, 1, 4);
        tu_fill_uniform(colc, C, -1, 1, 5);
        tu_fill_uniform(extra, R * C, -1, 1, 6);
        for (int i = 0; i < R * C; i++)
            drop[i] = (i % 3) ? 2.0f : 0.0f;
        memcpy(h, z, sizeof z);
        sae_bias_act_forward(acts[a], h, R, C, bias, NULL, &scr);
        sae_code_grad_terms_t t = {rowc, colc, 0.25f, extra, drop, 0.0f};
        float g[R * C];
        memcpy(g, dh, sizeof dh);
        sae_act_backward(acts[a], h, g, R, C, &t, dbias, &scr);
        double colsum[C] = {0};
        for (int r = 0; r < R; r++)
            for (int c = 0; c < C; c++) {
                int i = r * C + c;
                double y = ref_act(acts[a], (double)z[i] + bias[c]);
                assert_true(fabs(y - h[i]) < 2e-6);
                double sg = (h[i] > 0) - (h[i] < 0);
                double up = dh[i] * drop[i] + rowc[r] + colc[c] + 0.25 * sg + extra[i];
                double d = (double)sae_act_deriv_from_output(acts[a], h[i]);
                assert_true(fabs(up * d - g[i]) < 1e-5);
                colsum[c] += up * d;
            }
        for (int c = 0; c < C; c++)
            assert_true(fabs(colsum[c] - dbias[c]) < 1e-5);
    }
}

static double ref_loss(sae_loss_t loss, sae_activation_t act, const float *o, const float *x,
                       const float *b, int rows, int cols)
{
    double total = 0;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            double z = (double)o[r * cols + c] + b[c], t = x[r * cols + c];
            if (loss == SAE_LOSS_BCE) {
                double p = 1.0 / (1.0 + exp(-z));
                total += -(t * log(p) + (1 - t) * log(1 - p));
            } else {
                double d = ref_act(act, z) - t;
                total += d * d;
            }
        }
    return total / (rows * cols);
}

static void check_loss(sae_loss_t loss, sae_activation_t act)
{
    enum { R = 4, C = 6 };
    float o[R * C], x[R * C], b[C], g[R * C], db[C];
    double scr_buf[C];
    sae_reduce_scratch_t scr = {scr_buf, 1};
    tu_fill_uniform(o, R * C, -3, 3, 11);
    tu_fill_uniform(x, R * C, 0, 1, 12);
    tu_fill_uniform(b, C, -0.5f, 0.5f, 13);
    memcpy(g, o, sizeof o);
    double val = sae_loss_apply(loss, act, g, x, R, C, b, 1, db, &scr);
    assert_true(fabs(val - ref_loss(loss, act, o, x, b, R, C)) < 1e-6);
    double dbref[C] = {0};
    for (int i = 0; i < R * C; i++) {
        if (near_kink(act, (double)o[i] + b[i % C], 1e-2))
            continue;
        float keep = o[i];
        double eps = 1e-3;
        o[i] = keep + (float)eps;
        double up = ref_loss(loss, act, o, x, b, R, C);
        o[i] = keep - (float)eps;
        double down = ref_loss(loss, act, o, x, b, R, C);
        o[i] = keep;
        double num = (up - down) / ((double)(keep + (float)eps) - (double)(keep - (float)eps));
        assert_true(fabs(num - g[i]) < 1e-5 + 1e-3 * fabs(num));
        dbref[i % C] += g[i];
    }
    if (act != SAE_ACT_RELU && act != SAE_ACT_TRELU)
        for (int c = 0; c < C; c++)
            assert_true(fabs(dbref[c] - db[c]) < 1e-6);
}

static void test_loss_gradients(void **state)
{
    (void)state;
    for (int a = 0; a < N_ACTS; a++)
        check_loss(SAE_LOSS_MSE, acts[a]);
    check_loss(SAE_LOSS_BCE, SAE_ACT_SIGMOID);
}

/* BCE from logits stays finite and exact where log(sigmoid) would not. */
static void test_bce_is_stable(void **state)
{
    (void)state;
    float o[4] = {100.0f, -100.0f, 80.0f, -80.0f}, x[4] = {0.0f, 1.0f, 1.0f, 0.0f};
    float g[4];
    memcpy(g, o, sizeof o);
    double v = sae_loss_apply(SAE_LOSS_BCE, SAE_ACT_SIGMOID, g, x, 1, 4, NULL, 1, NULL, NULL);
    /* softplus(100) - 0 = 100, softplus(-100) + 100 = 100, and ~0 twice. */
    assert_true(fabs(v - 50.0) < 1e-4);
    assert_true(fabsf(g[0] - 0.25f) < 1e-6f && fabsf(g[1] + 0.25f) < 1e-6f);
    assert_true(fabsf(g[2]) < 1e-6f && fabsf(g[3]) < 1e-6f);
}

/* loss.reduction = sample_sum_half is the same sum over elements divided
 * by 2 rows instead of rows x cols, for the value and the gradients. */
static void test_loss_reduction(void **state)
{
    (void)state;
    enum { R = 5, C = 7 };
    float o[R * C], x[R * C], b[C], gm[R * C], gh[R * C], dbm[C], dbh[C];
    double scr_buf[2 * C];
    sae_reduce_scratch_t scr = {scr_buf, 1};
    tu_fill_uniform(o, R * C, -2, 2, 21);
    tu_fill_uniform(x, R * C, 0, 1, 22);
    tu_fill_uniform(b, C, -0.5f, 0.5f, 23);
    for (int l = 0; l < 2; l++) {
        sae_loss_t loss = l ? SAE_LOSS_BCE : SAE_LOSS_MSE;
        memcpy(gm, o, sizeof o);
        memcpy(gh, o, sizeof o);
        double mean = sae_loss_apply_reduced(loss, SAE_ACT_SIGMOID, gm, x, R, C, b, 1, dbm, &scr,
                                             SAE_REDUCE_MEAN);
        double half = sae_loss_apply_reduced(loss, SAE_ACT_SIGMOID, gh, x, R, C, b, 1, dbh, &scr,
                                             SAE_REDUCE_SAMPLE_SUM_HALF);
        double f = C / 2.0; /* (1/(2R)) / (1/(RC)) */
        assert_true(fabs(half - f * mean) < 1e-6 * fabs(half));
        for (int i = 0; i < R * C; i++)
            assert_true(fabs(gh[i] - f * gm[i]) < 1e-6 * (fabs(gh[i]) + 1e-6));
        for (int c = 0; c < C; c++)
            assert_true(fabs(dbh[c] - f * dbm[c]) < 1e-6 * (fabs(dbh[c]) + 1e-6));
        float g[R * C];
        memcpy(g, o, sizeof o);
        double plain = sae_loss_apply(loss, SAE_ACT_SIGMOID, g, x, R, C, b, 1, NULL, &scr);
        assert_true(plain == mean);
        assert_memory_equal(g, gm, sizeof g);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_activation_values_and_derivatives),
        cmocka_unit_test(test_fused_backward_terms),
        cmocka_unit_test(test_loss_gradients),
        cmocka_unit_test(test_bce_is_stable),
        cmocka_unit_test(test_loss_reduction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
