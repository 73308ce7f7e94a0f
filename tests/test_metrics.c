/* Metrics of sparse codes: per-unit firing frequency and dead units over
 * training, normalized MSE and explained variance of reconstructions.
 * SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "testutil.h"
#include "model/dense.h"

static void set(sae_config_t *cfg, const char *k, const char *v)
{
    if (sae_config_set(cfg, k, v) != SAE_OK)
        fail_msg("set %s=%s: %s", k, v, sae_config_errmsg(cfg));
}

static void test_reconstruction_error(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(7, 4);
    sae_model_t *m = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    enum { R = 9, D = 7 };
    float x[R * D], xh[R * D];
    tu_fill_uniform(x, R * D, 0, 1, 2);
    assert_int_equal(sae_model_reconstruct(m, x, R, xh), SAE_OK);
    double err = 0, var = 0, mean[D] = {0};
    for (int r = 0; r < R; r++)
        for (int c = 0; c < D; c++)
            mean[c] += x[r * D + c] / (double)R;
    for (int i = 0; i < R * D; i++) {
        err += ((double)x[i] - xh[i]) * ((double)x[i] - xh[i]);
        var += ((double)x[i] - mean[i % D]) * ((double)x[i] - mean[i % D]);
    }
    double nmse = -1, ev = -1;
    assert_int_equal(sae_model_reconstruction_error(m, x, R, &nmse, &ev), SAE_OK);
    assert_true(fabs(nmse - err / var) < 1e-9 * (1 + err / var));
    assert_true(fabs(ev - (1.0 - nmse)) < 1e-12);
    assert_int_equal(sae_model_reconstruction_error(m, x, R, NULL, &ev), SAE_OK);
    /* Errors: too few rows, no variance, NaN, NULL. */
    tu_assert_status(sae_model_reconstruction_error(m, x, 1, &nmse, &ev), SAE_ERR_DIMENSION);
    float flat[3 * D];
    for (int i = 0; i < 3 * D; i++)
        flat[i] = 0.5f;
    tu_assert_status(sae_model_reconstruction_error(m, flat, 3, &nmse, &ev), SAE_ERR_RANGE);
    assert_non_null(strstr(sae_model_errmsg(m), "do not vary"));
    x[5] = NAN;
    tu_assert_status(sae_model_reconstruction_error(m, x, R, &nmse, &ev), SAE_ERR_NONFINITE);
    tu_assert_status(sae_model_reconstruction_error(NULL, x, R, &nmse, &ev), SAE_ERR_NULL);
    tu_assert_status(sae_model_reconstruction_error(m, NULL, R, &nmse, &ev), SAE_ERR_NULL);
    sae_model_free(m);
    sae_config_free(cfg);
}

typedef struct l0_sum {
    double rows_l0; /* sum over steps of l0 * rows */
    double rows;
} l0_sum_t;

static int sum_l0(sae_progress_kind_t kind, const sae_stats_t *s, void *ud)
{
    l0_sum_t *a = ud;
    if (kind == SAE_PROGRESS_STEP) {
        a->rows_l0 += s->l0 * (double)s->samples;
        a->rows += (double)s->samples;
    }
    return 0;
}

static void test_unit_activity(void **state)
{
    (void)state;
    enum { D = 12, H = 16, ROWS = 40 };
    sae_config_t *cfg = tu_config(D, H);
    set(cfg, "arch.hidden_activation", "relu");
    set(cfg, "topk.k", "3");
    set(cfg, "train.batch_size", "10");
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    /* Unit 0 can never fire: a bias no input overcomes. */
    sae_dense(m)->enc_b[0] = -1e6f;
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    double freq[H], dead = -1;
    assert_int_equal(sae_trainer_unit_activity(t, freq, H, 0, &dead), SAE_OK);
    assert_true(dead == 0.0 && freq[3] == 0.0); /* nothing seen yet */
    l0_sum_t acc = {0, 0};
    assert_int_equal(sae_trainer_set_callback(t, sum_l0, &acc), SAE_OK);
    float x[ROWS * D];
    tu_fill_uniform(x, ROWS * D, 0, 1, 8);
    assert_int_equal(sae_trainer_fit(t, x, ROWS, 3), SAE_OK);
    assert_int_equal(sae_trainer_unit_activity(t, freq, H, 0, &dead), SAE_OK);
    /* The frequencies add up to the mean number of active units per row,
     * the l0 the steps reported. */
    double total = 0;
    for (int j = 0; j < H; j++) {
        assert_true(freq[j] >= 0.0 && freq[j] <= 1.0);
        total += freq[j];
    }
    assert_true(fabs(total - acc.rows_l0 / acc.rows) < 1e-9);
    assert_true(total <= 3.0 + 1e-9);
    assert_true(freq[0] == 0.0);
    assert_true(dead >= 1.0 / H); /* unit 0 at least */
    /* Over a window of all 120 training rows only the never-fired units
     * were idle throughout: the same ones count; one row more, none. */
    double dead_window = -1;
    assert_int_equal(sae_trainer_unit_activity(t, NULL, 0, 120, &dead_window), SAE_OK);
    assert_true(dead_window == dead);
    assert_int_equal(sae_trainer_unit_activity(t, NULL, 0, 121, &dead_window), SAE_OK);
    assert_true(dead_window == 0.0);
    tu_assert_status(sae_trainer_unit_activity(t, freq, H - 1, 0, &dead), SAE_ERR_DIMENSION);
    tu_assert_status(sae_trainer_unit_activity(NULL, freq, H, 0, &dead), SAE_ERR_NULL);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reconstruction_error),
        cmocka_unit_test(test_unit_activity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
