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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kl_exact),
        cmocka_unit_test(test_sample_batch_l1_exact),
        cmocka_unit_test(test_builtin_gradients),
        cmocka_unit_test(test_user_regularizer_gradcheck),
        cmocka_unit_test(test_stacked_gradients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
