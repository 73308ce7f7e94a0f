/* Metrics of sparse codes: per-unit firing frequency and dead units over
 * training, normalized MSE and explained variance of reconstructions.
 * SPDX-License-Identifier: MIT */
#include <math.h>
#include <stddef.h>
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

/* A model whose every metric is computed by hand: input 2, code 4, relu
 * code, linear output, no decoder bias. Units: x1, x2, -(x1 + x2), and
 * one with bias -1 that never fires; atoms (0.5, 0), (0, 1), 0, 0, so
 * x_hat = (relu(x1) / 2, relu(x2)). */
static sae_model_t *hand_model(void)
{
    sae_config_t *cfg = tu_config(2, 4);
    set(cfg, "arch.hidden_activation", "relu");
    set(cfg, "arch.output_activation", "linear");
    sae_model_t *m = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    sae_config_free(cfg);
    const float we[8] = {1, 0, 0, 1, -1, -1, 0, 0}, be[4] = {0, 0, 0, -1};
    const float wd[8] = {0.5f, 0, 0, 1, 0, 0, 0, 0}, bd[2] = {0, 0};
    assert_int_equal(sae_model_set_tensor(m, "encoder.weight", 4, 2, we), SAE_OK);
    assert_int_equal(sae_model_set_tensor(m, "encoder.bias", 4, 1, be), SAE_OK);
    assert_int_equal(sae_model_set_tensor(m, "decoder.weight", 4, 2, wd), SAE_OK);
    assert_int_equal(sae_model_set_tensor(m, "decoder.bias", 2, 1, bd), SAE_OK);
    return m;
}

/* Rows (2,0) (0,2) (-1,-1) (2,2) and six zero rows; x_hat (1,0) (0,2)
 * (0,0) (1,2) and zeros. */
static const float hand_x[20] = {2, 0, 0, 2, -1, -1, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

static void assert_near(double got, double want)
{
    if (!(fabs(got - want) <= 1e-12 * (1 + fabs(want))))
        fail_msg("got %.17g, want %.17g", got, want);
}

static void assert_hand_summary(const sae_metrics_summary_t *s)
{
    assert_int_equal(s->struct_size, sizeof *s);
    assert_int_equal(s->rows, 10);
    assert_int_equal(s->units, 4);
    /* Active: (2,0) unit 0; (0,2) unit 1; (-1,-1) unit 2; (2,2) units 0, 1. */
    assert_near(s->l0, 5.0 / 10);
    /* Squared errors 1, 0, 2, 1 over 10 x 2 values. */
    assert_near(s->mse, 4.0 / 20);
    /* Column means 0.3, 0.3; sum of squares 9 - 10 x 0.09 = 8.1 each. */
    assert_near(s->fvu, 4.0 / 16.2);
    assert_near(s->explained_variance, 1 - 4.0 / 16.2);
    /* Over the 4 non-zero rows: cosines 1, 1, 0 (x_hat = 0), 6 / sqrt(40). */
    assert_near(s->cosine, (2 + 6 / sqrt(40.0)) / 4);
    /* Norm ratios 1/2, 1, 0, sqrt(5/8). */
    assert_near(s->l2_ratio, (1.5 + sqrt(5.0 / 8)) / 4);
    /* sum ||x_hat||^2 = 1 + 4 + 0 + 5, sum <x, x_hat> = 2 + 4 + 0 + 6. */
    assert_near(s->rel_bias, 10.0 / 12);
    /* Frequencies 0.2, 0.2, 0.1 (not more than 10%: not dense), 0. */
    assert_int_equal(s->dead_units, 1);
    assert_int_equal(s->dense_units, 2);
    assert_near(s->dead_fraction, 0.25);
    assert_near(s->dense_fraction, 0.5);
}

static void test_metrics_by_hand(void **state)
{
    (void)state;
    sae_model_t *m = hand_model();
    sae_metrics_summary_t s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    assert_int_equal(sae_model_metrics(m, hand_x, 10, &s), SAE_OK);
    assert_hand_summary(&s);

    /* Streaming: the same rows in chunks of 3, 0, 1 and 6 give the same
     * metrics, to rounding. */
    sae_metrics_t *mx = NULL;
    assert_int_equal(sae_metrics_create(m, &mx), SAE_OK);
    tu_assert_status(sae_metrics_summary(mx, &s), SAE_ERR_STATE);
    assert_non_null(strstr(sae_metrics_errmsg(mx), "no rows"));
    assert_int_equal(sae_metrics_add(mx, hand_x, 3), SAE_OK);
    assert_int_equal(sae_metrics_add(mx, hand_x + 6, 0), SAE_OK);
    assert_int_equal(sae_metrics_add(mx, hand_x + 6, 1), SAE_OK);
    assert_int_equal(sae_metrics_add(mx, hand_x + 8, 6), SAE_OK);
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    assert_int_equal(sae_metrics_summary(mx, &s), SAE_OK);
    assert_hand_summary(&s);

    double f[4];
    assert_int_equal(sae_metrics_frequency(mx, f, 4), SAE_OK);
    assert_near(f[0], 0.2);
    assert_near(f[1], 0.2);
    assert_near(f[2], 0.1);
    assert_near(f[3], 0.0);
    /* log10 0.2 = -0.699 in [-0.75, -0.5), log10 0.1 = -1 in [-1, -0.75). */
    uint64_t hist[8];
    assert_int_equal(sae_metrics_histogram(mx, -2, 0, 8, hist), SAE_OK);
    const uint64_t want[8] = {0, 0, 0, 0, 1, 2, 0, 0};
    for (int i = 0; i < 8; i++)
        assert_int_equal(hist[i], want[i]);
    /* Out of range values go to the edge bins. */
    assert_int_equal(sae_metrics_histogram(mx, -0.5, 0, 2, hist), SAE_OK);
    assert_int_equal(hist[0], 3);
    assert_int_equal(sae_metrics_histogram(mx, -5, -3, 1, hist), SAE_OK);
    assert_int_equal(hist[0], 3);

    /* A caller compiled against a shorter struct gets only what fits. */
    unsigned char buf[sizeof s + 8];
    memset(buf, 0xAB, sizeof buf);
    sae_metrics_summary_t *shortp = (sae_metrics_summary_t *)buf;
    shortp->struct_size = (uint32_t)offsetof(sae_metrics_summary_t, mse);
    assert_int_equal(sae_metrics_summary(mx, shortp), SAE_OK);
    assert_int_equal(shortp->struct_size, offsetof(sae_metrics_summary_t, mse));
    assert_near(shortp->l0, 0.5);
    assert_int_equal(buf[offsetof(sae_metrics_summary_t, mse)], 0xAB);
    /* A newer, longer caller's struct: the library fills its own size. */
    memset(buf, 0, sizeof buf);
    shortp->struct_size = sizeof buf;
    assert_int_equal(sae_metrics_summary(mx, shortp), SAE_OK);
    assert_int_equal(shortp->struct_size, sizeof s);

    /* Errors. */
    shortp->struct_size = 8;
    tu_assert_status(sae_metrics_summary(mx, shortp), SAE_ERR_RANGE);
    tu_assert_status(sae_metrics_summary(mx, NULL), SAE_ERR_NULL);
    tu_assert_status(sae_metrics_summary(NULL, &s), SAE_ERR_NULL);
    tu_assert_status(sae_metrics_frequency(mx, f, 3), SAE_ERR_DIMENSION);
    tu_assert_status(sae_metrics_frequency(mx, NULL, 4), SAE_ERR_NULL);
    tu_assert_status(sae_metrics_histogram(mx, 0, 0, 4, hist), SAE_ERR_RANGE);
    tu_assert_status(sae_metrics_histogram(mx, -1, 0, 0, hist), SAE_ERR_RANGE);
    tu_assert_status(sae_metrics_histogram(mx, -INFINITY, 0, 4, hist), SAE_ERR_RANGE);
    tu_assert_status(sae_metrics_histogram(mx, -1, 0, 4, NULL), SAE_ERR_NULL);
    float bad[4] = {1, 2, NAN, 0};
    tu_assert_status(sae_metrics_add(mx, bad, 2), SAE_ERR_NONFINITE);
    tu_assert_status(sae_metrics_add(mx, NULL, 2), SAE_ERR_NULL);
    tu_assert_status(sae_metrics_add(NULL, hand_x, 2), SAE_ERR_NULL);
    /* Nothing was added by the failed calls. */
    s.struct_size = sizeof s;
    assert_int_equal(sae_metrics_summary(mx, &s), SAE_OK);
    assert_hand_summary(&s);
    sae_metrics_reset(mx);
    tu_assert_status(sae_metrics_summary(mx, &s), SAE_ERR_STATE);
    sae_metrics_t *none = (sae_metrics_t *)1;
    tu_assert_status(sae_metrics_create(NULL, &none), SAE_ERR_NULL);
    assert_null(none);
    tu_assert_status(sae_metrics_create(m, NULL), SAE_ERR_NULL);
    tu_assert_status(sae_model_metrics(m, hand_x, 0, &s), SAE_ERR_STATE);
    tu_assert_status(sae_model_metrics(m, bad, 2, &s), SAE_ERR_NONFINITE);
    assert_non_null(strstr(sae_model_errmsg(m), "NaN"));
    sae_metrics_free(mx);
    sae_metrics_free(NULL);
    sae_model_free(m);
}

/* Undefined metrics are NaN, not numbers: one row (no variance), zero
 * rows only (no cosine), x_hat orthogonal to x (no gamma). */
static void test_metrics_undefined(void **state)
{
    (void)state;
    sae_model_t *m = hand_model();
    sae_metrics_summary_t s = {.struct_size = sizeof s};
    const float one[2] = {2, 0};
    assert_int_equal(sae_model_metrics(m, one, 1, &s), SAE_OK);
    assert_true(isnan(s.fvu) && isnan(s.explained_variance));
    assert_near(s.cosine, 1.0);
    assert_near(s.rel_bias, 0.5); /* ||(1,0)||^2 / <(2,0), (1,0)> */
    const float zeros[4] = {0, 0, 0, 0};
    assert_int_equal(sae_model_metrics(m, zeros, 2, &s), SAE_OK);
    assert_true(isnan(s.fvu) && isnan(s.cosine) && isnan(s.l2_ratio) && isnan(s.rel_bias));
    assert_near(s.l0, 0.0);
    assert_near(s.dead_fraction, 1.0);
    const float neg[2] = {-1, -1}; /* x_hat = 0 */
    assert_int_equal(sae_model_metrics(m, neg, 1, &s), SAE_OK);
    assert_true(isnan(s.rel_bias));
    assert_near(s.cosine, 0.0);
    assert_near(s.l2_ratio, 0.0);
    sae_model_free(m);
}

/* On a trained-size model with sigmoid codes and many rows in chunks of
 * more than 256: the metrics match the existing calls (reconstruction
 * error, sae_model_reconstruct, sae_model_encode with the l0 threshold). */
static void test_metrics_match_other_calls(void **state)
{
    (void)state;
    enum { D = 9, H = 13, R = 700 };
    sae_config_t *cfg = tu_config(D, H);
    sae_model_t *m = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    sae_config_free(cfg);
    float *x = malloc(R * D * sizeof *x), *xh = malloc(R * D * sizeof *xh);
    float *h = malloc(R * H * sizeof *h);
    assert_non_null(x);
    assert_non_null(xh);
    assert_non_null(h);
    tu_fill_uniform(x, R * D, 5, 9, 3); /* an offset far from 0 */
    assert_int_equal(sae_model_reconstruct(m, x, R, xh), SAE_OK);
    assert_int_equal(sae_model_encode(m, x, R, h), SAE_OK);
    double nmse, se = 0, active = 0;
    assert_int_equal(sae_model_reconstruction_error(m, x, R, &nmse, NULL), SAE_OK);
    for (int i = 0; i < R * D; i++)
        se += ((double)x[i] - xh[i]) * ((double)x[i] - xh[i]);
    for (int i = 0; i < R * H; i++)
        active += fabsf(h[i]) > 1e-3f;
    sae_metrics_summary_t s = {.struct_size = sizeof s};
    assert_int_equal(sae_model_metrics(m, x, R, &s), SAE_OK);
    assert_true(fabs(s.fvu - nmse) < 1e-9 * nmse);
    assert_true(fabs(s.mse - se / (R * D)) < 1e-9 * s.mse);
    assert_near(s.l0, active / R);
    free(x);
    free(xh);
    free(h);
    sae_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reconstruction_error),
        cmocka_unit_test(test_unit_activity),
        cmocka_unit_test(test_metrics_by_hand),
        cmocka_unit_test(test_metrics_undefined),
        cmocka_unit_test(test_metrics_match_other_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
