/* Full-batch training for E3: the double-precision gradient check (UFLDL's
 * 1e-9) on several configurations, and that it notices a float gradient
 * that is off in one entry; L-BFGS (optim.type = lbfgs) lowering the
 * objective at every iteration and below what Adam reaches, callbacks,
 * cancellation, refusals, and SAE_ERR_UNSUPPORTED in builds without
 * liblbfgs (SAE_TEST_HAVE_LBFGS from tests/meson.build).
 * SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "train/gradcheck_double.h"
#include "train/method.h"
#include "train/trainer.h"
#include "model/dense.h"

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
    float *g = malloc(m->n_weights * sizeof *g);
    assert_non_null(g);
    memcpy(g, t->ws.grad, m->n_weights * sizeof *g);
    sae_backprop_l2_grad(t, g);

    double rel = -1, frel = -1;
    assert_int_equal(sae_gradcheck_double_run(t, x, rows, g, &rel, &frel), SAE_OK);
    assert_true(rel < 1e-9 && frel < 1e-5);
    double norm = 0.0;
    for (size_t k = 0; k < m->n_weights; k++)
        norm += (double)g[k] * g[k];
    /* One weight of the decoder, the tensor E3's check would see last. */
    size_t k = (size_t)(sae_dense(m)->dec_w - m->weights) + 17;
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
    x[3] = 0.5f;
    sae_trainer_free(t);
    sae_model_free(m);

    /* Top-k codes are not part of the double objective. */
    set(cfg, "topk.k", "2");
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    tu_assert_status(sae_trainer_gradcheck_double(t, x, 4, &rel, &frel), SAE_ERR_UNSUPPORTED);
    assert_non_null(strstr(sae_trainer_errmsg(t), "top-k"));
    sae_trainer_free(t);
    sae_model_free(m);
    set(cfg, "topk.k", "0");

    static const sae_regularizer_ops_t ops = {sizeof ops, "first", sq_penalty, NULL};
    assert_int_equal(sae_config_add_regularizer(cfg, &ops, NULL, 0.1f), SAE_OK);
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    tu_assert_status(sae_trainer_gradcheck_double(t, x, 4, &rel, &frel), SAE_ERR_UNSUPPORTED);
    assert_non_null(strstr(sae_trainer_errmsg(t), "user regularizers"));
    free(x);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

/* ---- L-BFGS -------------------------------------------------------------- */

static sae_config_t *lbfgs_config(size_t d, size_t h, const char *batch)
{
    sae_config_t *cfg = e3_config(d, h);
    set(cfg, "arch.init_scale", "1");
    set(cfg, "optim.type", "lbfgs");
    set(cfg, "lbfgs.tolerance", "0");
    set(cfg, "train.batch_size", batch);
    return cfg;
}

#if SAE_TEST_HAVE_LBFGS

typedef struct trace {
    double loss[512];
    size_t n_epoch, n_step;
    size_t cancel_after; /* 0: never */
    float w_at_cancel;   /* encoder.weight[0] seen by the last callback */
    const sae_model_t *model;
} trace_t;

static int record(sae_progress_kind_t kind, const sae_stats_t *s, void *user_data)
{
    trace_t *tr = user_data;
    if (kind == SAE_PROGRESS_STEP) {
        tr->n_step++;
        return 0;
    }
    assert_int_equal(s->step, s->epoch);
    if (tr->n_epoch < 512)
        tr->loss[tr->n_epoch] = s->loss;
    tr->n_epoch++;
    const float *w;
    assert_int_equal(sae_model_tensor_by_name(tr->model, "encoder.weight", NULL, NULL, &w), SAE_OK);
    tr->w_at_cancel = w[0];
    return tr->cancel_after && tr->n_epoch >= tr->cancel_after;
}

/* Trains a fresh model from cfg on x; returns the model (the caller frees). */
static sae_model_t *fit(sae_config_t *cfg, const float *x, size_t rows, uint64_t n, trace_t *tr,
                        sae_status_t expect)
{
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    if (tr) {
        tr->model = m;
        assert_int_equal(sae_trainer_set_callback(t, record, tr), SAE_OK);
    }
    sae_status_t st = sae_trainer_fit(t, x, rows, n);
    if (st != expect)
        fail_msg("fit gave %s (%s), expected %s", sae_status_str(st), sae_trainer_errmsg(t),
                 sae_status_str(expect));
    if (tr)
        assert_int_equal(sae_trainer_steps(t), tr->n_epoch);
    sae_trainer_free(t);
    return m;
}

/* The full-batch objective of a model, through a trainer whose batch
 * holds every row. */
static double full_objective(const sae_model_t *m, const float *x, size_t rows)
{
    sae_config_t *cfg = NULL;
    sae_model_t *copy = NULL;
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_config_clone(sae_model_config(m), &cfg), SAE_OK);
    set(cfg, "train.batch_size", "1000");
    set(cfg, "optim.type", "adam");
    assert_int_equal(sae_model_create(cfg, &copy), SAE_OK);
    for (size_t i = 0; i < sae_model_tensor_count(m); i++) {
        const float *src, *dst;
        size_t r, c;
        assert_int_equal(sae_model_tensor(m, i, NULL, &r, &c, &src), SAE_OK);
        assert_int_equal(sae_model_tensor(copy, i, NULL, NULL, NULL, &dst), SAE_OK);
        memcpy((float *)dst, src, r * c * sizeof *src);
    }
    assert_int_equal(sae_trainer_create(copy, &t), SAE_OK);
    sae_stats_t s;
    assert_int_equal(sae_trainer_evaluate(t, x, rows, &s), SAE_OK);
    sae_trainer_free(t);
    sae_model_free(copy);
    sae_config_free(cfg);
    return s.loss;
}

/* Every iteration lowers the objective (the line search's sufficient
 * decrease), and 100 iterations end below 400 full-batch Adam steps. */
static void test_lbfgs_decreases_and_beats_adam(void **state)
{
    (void)state;
    size_t rows = 300;
    float *x = make_data(rows, 16, 11);
    sae_config_t *cfg = lbfgs_config(16, 8, "300");
    trace_t tr = {0};
    sae_model_t *m = fit(cfg, x, rows, 100, &tr, SAE_OK);
    assert_int_equal(tr.n_epoch, 100);
    assert_int_equal(tr.n_step, 100);
    for (size_t i = 1; i < tr.n_epoch; i++)
        if (!(tr.loss[i] <= tr.loss[i - 1] * (1.0 + 1e-6)))
            fail_msg("iteration %zu: %.9g after %.9g", i + 1, tr.loss[i], tr.loss[i - 1]);
    /* The callback's loss is the objective at the model's final weights. */
    double lbfgs_final = full_objective(m, x, rows);
    assert_true(fabs(lbfgs_final - tr.loss[99]) < 1e-6 * lbfgs_final);

    set(cfg, "optim.type", "adam");
    set(cfg, "optim.lr", "0.01");
    sae_model_t *adam = fit(cfg, x, rows, 400, NULL, SAE_OK);
    double adam_final = full_objective(adam, x, rows);
    print_message("objective: 1 L-BFGS iteration %.5f, 100 %.5f; 400 Adam steps %.5f\n", tr.loss[0],
                  lbfgs_final, adam_final);
    assert_true(lbfgs_final < adam_final);
    sae_model_free(adam);
    sae_model_free(m);
    sae_config_free(cfg);
    free(x);
}

/* A batch size below the row count widens the workspace for the call: the
 * result is the same as with a batch that holds every row. */
static void test_lbfgs_full_batch_whatever_batch_size(void **state)
{
    (void)state;
    size_t rows = 120;
    float *x = make_data(rows, 10, 5);
    sae_config_t *narrow = lbfgs_config(10, 4, "7"), *wide = lbfgs_config(10, 4, "120");
    sae_model_t *a = fit(narrow, x, rows, 20, NULL, SAE_OK);
    sae_model_t *b = fit(wide, x, rows, 20, NULL, SAE_OK);
    for (size_t i = 0; i < sae_model_tensor_count(a); i++) {
        const float *wa, *wb;
        size_t r, c;
        assert_int_equal(sae_model_tensor(a, i, NULL, &r, &c, &wa), SAE_OK);
        assert_int_equal(sae_model_tensor(b, i, NULL, NULL, NULL, &wb), SAE_OK);
        assert_memory_equal(wa, wb, r * c * sizeof *wa);
    }
    sae_model_free(a);
    sae_model_free(b);
    sae_config_free(narrow);
    sae_config_free(wide);
    free(x);
}

static void test_lbfgs_cancel_and_stop(void **state)
{
    (void)state;
    size_t rows = 60;
    float *x = make_data(rows, 10, 6);
    sae_config_t *cfg = lbfgs_config(10, 4, "60");
    /* Cancelled after the third iteration: the model holds that point. */
    trace_t tr = {0};
    tr.cancel_after = 3;
    sae_model_t *m = fit(cfg, x, rows, 50, &tr, SAE_ERR_CANCELLED);
    assert_int_equal(tr.n_epoch, 3);
    const float *w;
    assert_int_equal(sae_model_tensor_by_name(m, "encoder.weight", NULL, NULL, &w), SAE_OK);
    assert_true(w[0] == tr.w_at_cancel);
    sae_model_free(m);
    /* A loose tolerance stops early, successfully. */
    set(cfg, "lbfgs.tolerance", "0.5");
    trace_t early = {0};
    m = fit(cfg, x, rows, 50, &early, SAE_OK);
    assert_true(early.n_epoch < 50);
    sae_model_free(m);
    /* Zero iterations: nothing happens. */
    trace_t none = {0};
    m = fit(cfg, x, rows, 0, &none, SAE_OK);
    assert_int_equal(none.n_epoch, 0);
    sae_model_free(m);
    sae_config_free(cfg);
    free(x);
}

static void test_lbfgs_refusals(void **state)
{
    (void)state;
    size_t rows = 20;
    float *x = make_data(rows, 6, 2);
    sae_config_t *cfg = lbfgs_config(6, 3, "20");
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    tu_assert_status(sae_trainer_step(t, x, rows, NULL), SAE_ERR_STATE);
    assert_non_null(strstr(sae_trainer_errmsg(t), "sae_trainer_fit"));
    /* fit_steps runs iterations as fit does. */
    tu_assert_status(sae_trainer_fit_steps(t, x, rows, 4), SAE_OK);
    assert_int_equal(sae_trainer_steps(t), 4);
    sae_trainer_free(t);
    sae_model_free(m);
    /* Corruption makes the objective random: refused. */
    set(cfg, "corrupt.noise_std", "0.1");
    m = fit(cfg, x, rows, 5, NULL, SAE_ERR_STATE);
    sae_model_free(m);
    sae_config_free(cfg);
    /* Neural sparse coding descends no objective. */
    cfg = tu_config(6, 3);
    set(cfg, "train.algorithm", "nsc");
    set(cfg, "arch.tied", "true");
    set(cfg, "arch.bias", "false");
    set(cfg, "arch.hidden_activation", "linear");
    set(cfg, "optim.type", "lbfgs");
    m = NULL;
    tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_STATE); /* refused up front */
    assert_non_null(strstr(sae_last_error(), "lbfgs"));
    assert_null(m);
    sae_config_free(cfg);
    free(x);
}

#else

static void test_lbfgs_unsupported(void **state)
{
    (void)state;
    sae_config_t *cfg = lbfgs_config(6, 3, "20");
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK); /* models are fine */
    tu_assert_status(sae_trainer_create(m, &t), SAE_ERR_UNSUPPORTED);
    assert_null(t);
    assert_non_null(strstr(sae_last_error(), "liblbfgs"));
    sae_model_free(m);
    sae_config_free(cfg);
}

#endif

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
#if SAE_TEST_HAVE_LBFGS
        cmocka_unit_test(test_lbfgs_decreases_and_beats_adam),
        cmocka_unit_test(test_lbfgs_full_batch_whatever_batch_size),
        cmocka_unit_test(test_lbfgs_cancel_and_stop),
        cmocka_unit_test(test_lbfgs_refusals),
#else
        cmocka_unit_test(test_lbfgs_unsupported),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
