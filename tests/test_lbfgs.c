/* Full-batch training for E3: the double-precision gradient check (UFLDL's
 * 1e-9) on several configurations, and that it notices a float gradient
 * that is off in one entry. SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "train/gradcheck_double.h"
#include "train/trainer.h"

/* Rows in [0.1, 0.9] near a few prototypes, like E3's normalised patches. */
static float *make_data(size_t rows, size_t dim, uint64_t seed)
{
    enum { P = 3 };
    float *proto = malloc(P * dim * sizeof *proto), *x = malloc(rows * dim * sizeof *x);
    float *noise = malloc(rows * dim * sizeof *noise);
    assert_non_null(proto);
    assert_non_null(x);
    assert_non_null(noise);
    tu_fill_uniform(proto, P * dim, 0.15f, 0.85f, seed);
    tu_fill_uniform(noise, rows * dim, -0.05f, 0.05f, seed + 1);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < dim; c++)
            x[r * dim + c] = proto[(r % P) * dim + c] + noise[r * dim + c];
    free(proto);
    free(noise);
    return x;
}

static void set(sae_config_t *cfg, const char *k, const char *v)
{
    if (sae_config_set(cfg, k, v) != SAE_OK)
        fail_msg("set %s=%s: %s", k, v, sae_config_errmsg(cfg));
}

/* E3's objective on a small model: sigmoid/sigmoid, untied, biases, Ng's
 * reduction, KL and decay on both matrices. */
static sae_config_t *e3_config(size_t d, size_t h)
{
    sae_config_t *cfg = tu_config(d, h);
    set(cfg, "arch.output_activation", "sigmoid");
    set(cfg, "loss.reduction", "sample_sum_half");
    set(cfg, "kl.weight", "3");
    set(cfg, "kl.rho", "0.1");
    set(cfg, "decay.l2", "1e-4");
    set(cfg, "arch.init_scale", "2");
    return cfg;
}

typedef struct check {
    double rel, float_rel;
} check_t;

static check_t double_check(sae_config_t *cfg, size_t rows)
{
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    float *x = make_data(rows, sae_model_input_dim(m), 7);
    check_t c = {-1.0, -1.0};
    if (sae_trainer_gradcheck_double(t, x, rows, &c.rel, &c.float_rel) != SAE_OK)
        fail_msg("gradcheck_double: %s", sae_trainer_errmsg(t));
    print_message("double check %.3g, float kernels vs double %.3g\n", c.rel, c.float_rel);
    free(x);
    sae_trainer_free(t);
    sae_model_free(m);
    return c;
}

static void expect_pass(check_t c)
{
    assert_true(c.rel >= 0.0 && c.rel < 1e-9);
    assert_true(c.float_rel >= 0.0 && c.float_rel < 1e-5);
}

static void test_double_e3_objective(void **state)
{
    (void)state;
    sae_config_t *cfg = e3_config(16, 5);
    expect_pass(double_check(cfg, 10));
    /* The default reduction, and KL near its clamp-free small rho. */
    set(cfg, "loss.reduction", "mean");
    set(cfg, "kl.rho", "0.01");
    expect_pass(double_check(cfg, 10));
    sae_config_free(cfg);
}

static void test_double_bce_kl_encoder_decay(void **state)
{
    (void)state;
    sae_config_t *cfg = e3_config(12, 7);
    set(cfg, "loss.type", "bce");
    set(cfg, "decay.decoder", "false");
    set(cfg, "decay.l2", "0.01");
    expect_pass(double_check(cfg, 8));
    set(cfg, "loss.reduction", "mean");
    expect_pass(double_check(cfg, 8));
    sae_config_free(cfg);
}

static void test_double_tied_relu_l1(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(9, 11);
    set(cfg, "arch.tied", "true");
    set(cfg, "arch.hidden_activation", "relu");
    set(cfg, "l1.weight", "0.05");
    set(cfg, "decay.l2", "0.001");
    set(cfg, "arch.init_scale", "2");
    expect_pass(double_check(cfg, 4));
    sae_config_free(cfg);
}

static void test_double_tanh_linear_nobias_e1_terms(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(8, 10);
    set(cfg, "arch.hidden_activation", "tanh");
    set(cfg, "arch.output_activation", "tanh");
    set(cfg, "arch.bias", "false");
    /* E1 uses weights of 100; their large third derivatives put central
     * differences with eps 1e-4 above 1e-9 (10 gives 1.1e-9 with some
     * weights), so 5 here. */
    set(cfg, "sample.weight", "5");
    set(cfg, "batch.weight", "5");
    set(cfg, "decay.l2", "0.1");
    set(cfg, "arch.init_scale", "2");
    /* tanh output without biases sits at ~1e-9 (rounding in the double
     * objective, whatever the weights' scale): checked at 1e-8. */
    check_t c = double_check(cfg, 7);
    assert_true(c.rel >= 0.0 && c.rel < 1e-8);
    assert_true(c.float_rel >= 0.0 && c.float_rel < 1e-5);
    set(cfg, "arch.hidden_activation", "linear");
    set(cfg, "arch.output_activation", "linear");
    set(cfg, "arch.tied", "true");
    set(cfg, "loss.reduction", "sample_sum_half");
    expect_pass(double_check(cfg, 7));
    sae_config_free(cfg);
}

/* Tensors larger than 2000 entries are sampled, still below 1e-9. */
static void test_double_sampled_tensors(void **state)
{
    (void)state;
    sae_config_t *cfg = e3_config(100, 30);
    expect_pass(double_check(cfg, 5));
    sae_config_free(cfg);
}

/* A float gradient that is off in a single entry, by 1% of the whole
 * gradient's norm, is told apart from the library's own. */
static void test_double_detects_one_wrong_entry(void **state)
{
    (void)state;
    sae_config_t *cfg = e3_config(16, 5);
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    size_t rows = 10;
    float *x = make_data(rows, 16, 3);
    sae_stats_t s;
    assert_int_equal(sae_forward_backward(t, x, rows, 0, 1, &s), SAE_OK);
    float *g = malloc(m->n_params * sizeof *g);
    assert_non_null(g);
    memcpy(g, t->ws.grad, m->n_params * sizeof *g);
    sae_weight_decay_grad(&t->opt, m, g);

    double rel = -1, frel = -1;
    assert_int_equal(sae_gradcheck_double_run(t, x, rows, g, &rel, &frel), SAE_OK);
    assert_true(rel < 1e-9 && frel < 1e-5);
    double norm = 0.0;
    for (size_t k = 0; k < m->n_params; k++)
        norm += (double)g[k] * g[k];
    /* One weight of the decoder, the tensor E3's check would see last. */
    size_t k = (size_t)(m->dec_w - m->params) + 17;
    g[k] += (float)(0.01 * sqrt(norm));
    double bad = -1;
    assert_int_equal(sae_gradcheck_double_run(t, x, rows, g, &rel, &bad), SAE_OK);
    print_message("float vs double: %.3g, with one entry off: %.3g\n", frel, bad);
    assert_true(bad > 1e-3);
    assert_true(rel < 1e-9); /* the double check itself is unaffected */

    free(g);
    free(x);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

static double sq_penalty(void *ud, const float *h, size_t rows, size_t units, float w, float *g)
{
    (void)ud;
    (void)w;
    (void)g;
    return (double)h[0] * (double)rows * (double)units;
}

static void test_double_errors(void **state)
{
    (void)state;
    sae_config_t *cfg = e3_config(6, 3);
    set(cfg, "train.batch_size", "4");
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    float *x = make_data(5, 6, 1);
    double rel = 0, frel = 0;
    tu_assert_status(sae_trainer_gradcheck_double(NULL, x, 4, &rel, &frel), SAE_ERR_NULL);
    tu_assert_status(sae_trainer_gradcheck_double(t, NULL, 4, &rel, &frel), SAE_ERR_NULL);
    tu_assert_status(sae_trainer_gradcheck_double(t, x, 4, NULL, &frel), SAE_ERR_NULL);
    tu_assert_status(sae_trainer_gradcheck_double(t, x, 0, &rel, &frel), SAE_ERR_DIMENSION);
    tu_assert_status(sae_trainer_gradcheck_double(t, x, 5, &rel, &frel), SAE_ERR_DIMENSION);
    assert_non_null(strstr(sae_trainer_errmsg(t), "batch size"));
    /* float_rel_diff may be NULL. */
    tu_assert_status(sae_trainer_gradcheck_double(t, x, 4, &rel, NULL), SAE_OK);
    x[3] = NAN;
    tu_assert_status(sae_trainer_gradcheck_double(t, x, 4, &rel, &frel), SAE_ERR_NONFINITE);
    sae_trainer_free(t);
    sae_model_free(m);

    static const sae_regularizer_ops_t ops = {sizeof ops, "first", sq_penalty, NULL};
    assert_int_equal(sae_config_add_regularizer(cfg, &ops, NULL, 0.1f), SAE_OK);
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    x[3] = 0.5f;
    tu_assert_status(sae_trainer_gradcheck_double(t, x, 4, &rel, &frel), SAE_ERR_UNSUPPORTED);
    assert_non_null(strstr(sae_trainer_errmsg(t), "user regularizers"));
    free(x);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_double_e3_objective),
        cmocka_unit_test(test_double_bce_kl_encoder_decay),
        cmocka_unit_test(test_double_tied_relu_l1),
        cmocka_unit_test(test_double_tanh_linear_nobias_e1_terms),
        cmocka_unit_test(test_double_sampled_tensors),
        cmocka_unit_test(test_double_detects_one_wrong_entry),
        cmocka_unit_test(test_double_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
