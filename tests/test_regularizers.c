/* Sparsity regularizers: exact values on hand-computed cases, gradients
 * against central differences (built-in, stacked and user-registered), and
 * a broken gradient being caught. SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "sparsity/regularizer.h"
#include "testutil.h"

static void test_kl_exact(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(4, 3);
    assert_int_equal(sae_config_set_float(cfg, SAE_P_KL_RHO, 0.1), SAE_OK);
    /* Column means 0.1 (KL 0), 0.5 and 0.3 over two rows. */
    float h[6] = {0.1f, 0.2f, 0.4f, 0.1f, 0.8f, 0.2f};
    double kl = sae_builtin_penalty(&sae_reg_kl, cfg, h, 2, 3, 1.0f, NULL);
    double e1 = 0.1 * log(0.1 / 0.5) + 0.9 * log(0.9 / 0.5);
    double e2 = 0.1 * log(0.1 / 0.3) + 0.9 * log(0.9 / 0.7);
    assert_true(fabs(kl - (e1 + e2)) < 1e-6);
    sae_config_free(cfg);
}

/* kl.squash = sigmoid: rho_hat_j is the batch mean of sigmoid(h_bj). */
static void test_kl_sigmoid_exact(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(4, 2);
    assert_int_equal(sae_config_set_float(cfg, SAE_P_KL_RHO, 0.1), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "kl.squash", "sigmoid"), SAE_OK);
    /* sigmoid(0) = 1/2, sigmoid(+-ln 3) = 3/4 and 1/4: column means 5/8 and 3/8. */
    float l3 = (float)log(3.0);
    float h[4] = {0.0f, 0.0f, l3, -l3};
    const sae_term_t *kl = &sae_terms[SAE_TERM_KL_SIGMOID];
    double p = sae_builtin_penalty(kl, cfg, h, 2, 2, 1.0f, NULL);
    double e1 = 0.1 * log(0.1 / 0.625) + 0.9 * log(0.9 / 0.375);
    double e2 = 0.1 * log(0.1 / 0.375) + 0.9 * log(0.9 / 0.625);
    assert_true(fabs(p - (e1 + e2)) < 1e-6);
    /* dP/dh_bj = (1/B) KL'(rho_hat_j) s (1 - s); weight 2 doubles it. */
    float g[4] = {0};
    sae_builtin_penalty(kl, cfg, h, 2, 2, 2.0f, g);
    double s1 = -0.1 / 0.625 + 0.9 / 0.375, s2 = -0.1 / 0.375 + 0.9 / 0.625;
    assert_true(fabs(g[0] - 2.0 * 0.5 * s1 * 0.25) < 1e-5);
    assert_true(fabs(g[2] - 2.0 * 0.5 * s1 * 0.1875) < 1e-5);
    assert_true(fabs(g[3] - 2.0 * 0.5 * s2 * 0.1875) < 1e-5);
    /* The switch picks exactly one of the two rows. */
    assert_true(sae_term_weight(cfg, SAE_TERM_KL) == 0.0f);
    assert_int_equal(sae_config_set_float(cfg, SAE_P_KL_WEIGHT, 0.5), SAE_OK);
    assert_true(sae_term_weight(cfg, SAE_TERM_KL) == 0.0f);
    assert_true(sae_term_weight(cfg, SAE_TERM_KL_SIGMOID) == 0.5f);
    assert_int_equal(sae_terms_code_coefs(cfg), SAE_COEF_DENSE);
    assert_int_equal(sae_config_set(cfg, "kl.squash", "none"), SAE_OK);
    assert_true(sae_term_weight(cfg, SAE_TERM_KL) == 0.5f);
    assert_true(sae_term_weight(cfg, SAE_TERM_KL_SIGMOID) == 0.0f);
    tu_assert_status(sae_config_set(cfg, "kl.squash", "tanh"), SAE_ERR_BAD_VALUE);
    sae_config_free(cfg);
}

/* The whole one-layer model's gradient with the squashed KL, in double
 * against central differences on a smooth code (tanh: both signs; ReLU's
 * kinks put central differences off by 1e-3 with either KL), and the float
 * pass against the double one on both. */
static void model_gradient(const char *act, double max_rel)
{
    enum { D = 6, H = 8, R = 5 };
    sae_config_t *cfg = tu_config(D, H);
    const char *set[][2] = {{"arch.hidden_activation", act}, {"kl.weight", "0.3"},
                            {"kl.rho", "0.1"}, {"kl.squash", "sigmoid"}};
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
        assert_int_equal(sae_config_set(cfg, set[i][0], set[i][1]), SAE_OK);
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    float x[R * D];
    tu_fill_uniform(x, R * D, -1.0f, 1.0f, 3);
    double rel = -1, frel = -1;
    assert_int_equal(sae_trainer_gradcheck_double(t, x, R, &rel, &frel), SAE_OK);
    print_message("squashed KL, %s code: double vs differences %.3g, float vs double %.3g\n",
                  act, rel, frel);
    assert_true(rel < max_rel);
    assert_true(frel < 1e-5);
    sae_stats_t s;
    assert_int_equal(sae_trainer_evaluate(t, x, R, &s), SAE_OK);
    assert_true(s.n_terms >= 1 && !strcmp(s.term_name[0], "kl") && s.term_loss[0] > 0.0);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

static void test_kl_sigmoid_model_gradient(void **state)
{
    (void)state;
    model_gradient("tanh", 1e-8);
    model_gradient("relu", 1.0); /* the float pass against the double form only */
}

static void test_sample_batch_l1_exact(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(4, 2);
    assert_int_equal(sae_config_set_float(cfg, SAE_P_SAMPLE_TARGET, 0.25), SAE_OK);
    assert_int_equal(sae_config_set_float(cfg, SAE_P_BATCH_TARGET, 0.5), SAE_OK);
    float h[6] = {0.5f, 0.5f, 0.0f, 0.5f, 1.0f, 0.0f}; /* 3 rows x 2 units */
    /* Row means 0.5, 0.25, 0.5 -> (0.25^2 + 0 + 0.25^2) / 3. */
    double s = sae_builtin_penalty(&sae_reg_sample, cfg, h, 3, 2, 1.0f, NULL);
    assert_true(fabs(s - 0.125 / 3.0) < 1e-7);
    /* Column means 0.5, 1/3 -> (0 + (1/6)^2) / 2. */
    double b = sae_builtin_penalty(&sae_reg_batch, cfg, h, 3, 2, 1.0f, NULL);
    assert_true(fabs(b - (1.0 / 36.0) / 2.0) < 1e-7);
    float hn[2] = {-0.5f, 0.25f};
    double l1 = sae_builtin_penalty(&sae_reg_l1, cfg, hn, 1, 2, 1.0f, NULL);
    assert_true(fabs(l1 - 0.375) < 1e-7);
    sae_config_free(cfg);
}

static void check_single(sae_param_t weight_param)
{
    sae_config_t *cfg = tu_config(10, 9);
    assert_int_equal(sae_config_set_float(cfg, weight_param, 2.5), SAE_OK);
    double err = -1;
    assert_int_equal(sae_config_gradcheck_regularizers(cfg, 6, 7, &err), SAE_OK);
    assert_true(err >= 0.0 && err < 1e-5);
    sae_config_free(cfg);
}

static void test_builtin_gradients(void **state)
{
    (void)state;
    check_single(SAE_P_KL_WEIGHT);
    check_single(SAE_P_L1_WEIGHT);
    check_single(SAE_P_SAMPLE_WEIGHT);
    check_single(SAE_P_BATCH_WEIGHT);
    /* The squashed KL on codes of both signs and beyond 1 (ReLU maps). */
    sae_config_t *cfg = tu_config(10, 9);
    assert_int_equal(sae_config_set_float(cfg, SAE_P_KL_WEIGHT, 2.5), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "kl.squash", "sigmoid"), SAE_OK);
    double err = -1;
    assert_int_equal(sae_config_gradcheck_regularizers(cfg, 6, 7, &err), SAE_OK);
    assert_true(err >= 0.0 && err < 1e-5);
    const sae_term_t *kl = &sae_terms[SAE_TERM_KL_SIGMOID];
    enum { R = 7, U = 5 };
    float h[R * U], g[R * U] = {0};
    tu_fill_uniform(h, R * U, -2.0f, 4.0f, 5);
    sae_builtin_penalty(kl, cfg, h, R, U, 1.0f, g);
    double worst = 0.0;
    for (size_t i = 0; i < R * U; i++) {
        float keep = h[i];
        h[i] = keep + 1e-2f;
        double up = sae_builtin_penalty(kl, cfg, h, R, U, 1.0f, NULL);
        h[i] = keep - 1e-2f;
        double down = sae_builtin_penalty(kl, cfg, h, R, U, 1.0f, NULL);
        h[i] = keep;
        double step = (double)(keep + 1e-2f) - (double)(keep - 1e-2f);
        double num = (up - down) / step;
        worst = fmax(worst, fabs(num - g[i]) / fmax(1e-3, fabs(num)));
    }
    if (worst > 1e-3)
        fail_msg("squashed KL: gradient vs central differences %g", worst);
    sae_config_free(cfg);
}

/* A user regularizer: P = (1/B) sum_b (sum_j h_bj^2 - c)^2, with a switch
 * that breaks its gradient on purpose. */
typedef struct energy {
    double c;
    int broken;
    int destroyed;
} energy_t;

static double energy_penalty(void *ud, const float *h, size_t rows, size_t units, float w,
                             float *grad)
{
    energy_t *e = ud;
    double total = 0;
    for (size_t b = 0; b < rows; b++) {
        double s = 0;
        for (size_t j = 0; j < units; j++)
            s += (double)h[b * units + j] * h[b * units + j];
        total += (s - e->c) * (s - e->c);
        if (grad)
            for (size_t j = 0; j < units; j++)
                grad[b * units + j] += (float)(w * 4.0 * (s - e->c) * h[b * units + j] /
                                               (double)rows * (e->broken ? 1.5 : 1.0));
    }
    return total / (double)rows;
}

static void energy_destroy(void *ud)
{
    ((energy_t *)ud)->destroyed++;
}

static const sae_regularizer_ops_t energy_ops = {sizeof(sae_regularizer_ops_t), "energy",
                                                 energy_penalty, energy_destroy};

static void test_user_regularizer_gradcheck(void **state)
{
    (void)state;
    energy_t good = {1.0, 0, 0}, bad = {1.0, 1, 0};
    double err = -1;
    assert_int_equal(sae_regularizer_gradcheck(&energy_ops, &good, 5, 6, 3, &err), SAE_OK);
    assert_true(err < 1e-5);
    assert_int_equal(sae_regularizer_gradcheck(&energy_ops, &bad, 5, 6, 3, &err), SAE_OK);
    assert_true(err > 0.1); /* the check can fail */
    tu_assert_status(sae_regularizer_gradcheck(NULL, &good, 5, 6, 3, &err), SAE_ERR_NULL);
    tu_assert_status(sae_regularizer_gradcheck(&energy_ops, &good, 0, 6, 3, &err), SAE_ERR_RANGE);
    /* Sizes whose product wraps around are refused, not run. */
    sae_config_t *cfg = tu_config(8, 4);
    tu_assert_status(sae_config_gradcheck_regularizers(cfg, (size_t)1 << 62, 1, &err),
                     SAE_ERR_RANGE);
    tu_assert_status(sae_config_gradcheck_regularizers(cfg, ((size_t)1 << 62) + 1, 1, &err),
                     SAE_ERR_RANGE);
    sae_config_free(cfg);
}

static void test_stacked_gradients(void **state)
{
    (void)state;
    energy_t good = {0.5, 0, 0};
    sae_config_t *cfg = tu_config(8, 12);
    assert_int_equal(sae_config_set_float(cfg, SAE_P_KL_WEIGHT, 3.0), SAE_OK);
    assert_int_equal(sae_config_set_float(cfg, SAE_P_L1_WEIGHT, 0.1), SAE_OK);
    assert_int_equal(sae_config_set_float(cfg, SAE_P_SAMPLE_WEIGHT, 100.0), SAE_OK);
    assert_int_equal(sae_config_set_float(cfg, SAE_P_BATCH_WEIGHT, 100.0), SAE_OK);
    assert_int_equal(sae_config_add_regularizer(cfg, &energy_ops, &good, 0.5f), SAE_OK);
    double err = -1;
    assert_int_equal(sae_config_gradcheck_regularizers(cfg, 10, 9, &err), SAE_OK);
    assert_true(err < 1e-5);
    sae_config_free(cfg);
    assert_int_equal(good.destroyed, 1);
}

/* Relative agreement of a float figure with its double form. */
static void assert_agree(double f, double d, const char *term, const char *what, size_t i)
{
    if (!(fabs(f - d) <= 1e-5 * fabs(d) + 1e-9))
        fail_msg("%s %s[%zu]: fused float %.9g, double %.9g", term, what, i, f, d);
}

/* Each code term's double form (the one the double-precision gradient
 * check runs) against its fused float one on the same code: the penalty
 * and every gradient coefficient. The second code's column means exceed 1,
 * past the KL clamp (its tangent continuation). */
static void test_double_forms_match_fused(void **state)
{
    (void)state;
    enum { R = 6, U = 7 };
    sae_config_t *cfg = tu_config(4, U);
    assert_int_equal(sae_config_set_float(cfg, SAE_P_KL_RHO, 0.2), SAE_OK);
    assert_int_equal(sae_config_set_float(cfg, SAE_P_SAMPLE_TARGET, 0.3), SAE_OK);
    assert_int_equal(sae_config_set_float(cfg, SAE_P_BATCH_TARGET, 0.4), SAE_OK);
    float h[R * U];
    double hd[R * U], row_sum[R], col_sum[U];
    for (int pass = 0; pass < 2; pass++) {
        tu_fill_uniform(h, R * U, pass ? 1.0f : -0.2f, pass ? 3.0f : 1.0f, 11 + (uint64_t)pass);
        sae_code_stats_t st = {row_sum, col_sum, 0.0, 0.0, NULL, NULL};
        memset(row_sum, 0, sizeof row_sum);
        memset(col_sum, 0, sizeof col_sum);
        for (size_t b = 0; b < R; b++)
            for (size_t j = 0; j < U; j++) {
                double v = h[b * U + j];
                hd[b * U + j] = v;
                row_sum[b] += v;
                col_sum[j] += v;
                st.abs_sum += fabs(v);
                st.active += v != 0.0;
            }
        size_t n_checked = 0;
        for (size_t id = 0; id < SAE_N_BUILTIN_TERMS; id++) {
            const sae_term_t *term = &sae_terms[id];
            if (!term->fused)
                continue;
            assert_non_null(term->penalty_d);
            float rf[R] = {0}, cf[U] = {0};
            sae_reg_coefs_t co = {rf, cf, 0.0f, 0.0f};
            double pf = term->fused(cfg, &st, R, U, 1.0f, &co);
            double rd[R] = {0}, cd[U] = {0}, sd = 0.0;
            double pd = term->penalty_d(cfg, hd, R, U, rd, cd, &sd);
            assert_agree(pf, pd, term->name, "penalty", 0);
            for (size_t b = 0; b < R; b++)
                assert_agree(rf[b], rd[b], term->name, "row_coef", b);
            for (size_t j = 0; j < U; j++)
                assert_agree(cf[j], cd[j], term->name, "col_coef", j);
            assert_agree(co.sign_coef, sd, term->name, "sign_coef", 0);
            n_checked++;
        }
        assert_int_equal(n_checked, 6); /* kl, l1, sample, batch, l0, l1 with decoder norms */
        /* The dense terms (the squashed KL): float hook against double form. */
        const sae_term_t *kl = &sae_terms[SAE_TERM_KL_SIGMOID];
        assert_null(kl->fused);
        assert_non_null(kl->dense_d);
        float gf[R * U] = {0};
        double gd[R * U] = {0};
        double pf = kl->dense(cfg, h, R, U, 1.0f, gf);
        double pd = kl->dense_d(cfg, hd, R, U, gd);
        assert_agree(pf, pd, kl->name, "penalty", 0);
        for (size_t i = 0; i < R * U; i++)
            assert_agree(gf[i], gd[i], kl->name, "dense", i);
    }
    sae_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kl_exact),
        cmocka_unit_test(test_kl_sigmoid_exact),
        cmocka_unit_test(test_kl_sigmoid_model_gradient),
        cmocka_unit_test(test_sample_batch_l1_exact),
        cmocka_unit_test(test_builtin_gradients),
        cmocka_unit_test(test_user_regularizer_gradcheck),
        cmocka_unit_test(test_stacked_gradients),
        cmocka_unit_test(test_double_forms_match_fused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
