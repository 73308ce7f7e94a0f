/* Divergence (train/backprop.c, train/pass.c): a step whose loss or
 * gradient is non-finite is not applied, a non-finite loss takes the
 * weights back to the last step whose loss was finite, the status names
 * the step and the term, and the trainer goes on at a lower learning rate.
 * SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static void set(sae_config_t *cfg, const char *k, const char *v)
{
    tu_assert_status(sae_config_set(cfg, k, v), SAE_OK);
}

static float *copy_weights(const sae_model_t *m, size_t *n_out)
{
    size_t total = 0;
    for (size_t i = 0; i < sae_model_tensor_count(m); i++) {
        size_t r, c;
        assert_int_equal(sae_model_tensor(m, i, NULL, &r, &c, NULL), SAE_OK);
        total += r * c;
    }
    float *w = malloc(total * sizeof *w), *p = w;
    for (size_t i = 0; i < sae_model_tensor_count(m); i++) {
        size_t r, c;
        const float *d;
        assert_int_equal(sae_model_tensor(m, i, NULL, &r, &c, &d), SAE_OK);
        memcpy(p, d, r * c * sizeof *d);
        p += r * c;
    }
    *n_out = total;
    return w;
}

/* SGD at a rate that blows up within a few steps: after SAE_ERR_DIVERGED
 * the weights are those of the last step with a finite loss, bit for bit,
 * and they evaluate to a finite loss (before the rollback they were the
 * 1e20-sized weights that made the loss overflow). */
static void run_divergence(const char *optimizer, const char *lr, float scale)
{
    sae_config_t *cfg = tu_config(12, 10);
    set(cfg, "arch.hidden_activation", "linear");
    set(cfg, "optim.type", optimizer);
    set(cfg, "optim.lr", lr);
    set(cfg, "train.batch_size", "16");
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    float *x = malloc(16 * 12 * sizeof *x);
    tu_fill_uniform(x, 16 * 12, 0, scale, 5);

    sae_stats_t s = {.struct_size = sizeof s};
    float *before[200] = {0};
    size_t n = 0;
    sae_status_t st = SAE_OK;
    int k = 0;
    for (; k < 200 && st == SAE_OK; k++) {
        before[k] = copy_weights(m, &n);
        st = sae_trainer_step(t, x, 16, &s);
    }
    tu_assert_status(st, SAE_ERR_DIVERGED);
    int failed = k - 1; /* index of the step that failed */
    assert_true(failed >= 1);
    const char *msg = sae_trainer_errmsg(t);
    print_message("%s at %s: %s\n", optimizer, lr, msg);
    char want[64];
    snprintf(want, sizeof want, "step %d:", failed + 1);
    assert_non_null(strstr(msg, want));
    assert_non_null(strstr(msg, "reconstruction"));
    assert_non_null(strstr(msg, "learning rate"));
    /* Back to the weights step `failed` started from minus one update. */
    assert_int_equal(sae_trainer_steps(t), (uint64_t)failed - 1);
    size_t n_now;
    float *now = copy_weights(m, &n_now);
    assert_int_equal(n_now, n);
    assert_memory_equal(now, before[failed - 1], n * sizeof *now);
    tu_assert_status(sae_trainer_evaluate(t, x, 16, &s), SAE_OK);
    assert_true(isfinite(s.loss));

    /* The trainer goes on at a lower rate. */
    tu_assert_status(sae_trainer_set_learning_rate(t, 1e-3 / ((double)scale * scale)), SAE_OK);
    for (int i = 0; i < 20; i++)
        tu_assert_status(sae_trainer_step(t, x, 16, &s), SAE_OK);
    assert_true(isfinite(s.loss));
    tu_assert_status(sae_trainer_set_learning_rate(t, -1), SAE_ERR_RANGE);
    assert_true(strlen(sae_trainer_errmsg(t)) > 0);
    tu_assert_status(sae_trainer_set_learning_rate(NULL, 1e-3), SAE_ERR_NULL);

    for (int i = 0; i < k; i++)
        free(before[i]);
    free(now);
    free(x);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

static void test_sgd_diverges_and_recovers(void **state)
{
    (void)state;
    run_divergence("sgd", "1e6", 100);
}

/* train.rollback = 0: no copy of the weights, so no going back: the step
 * that finds the non-finite loss is still not applied, and the weights are
 * those of the last update. */
static void test_no_rollback(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(12, 10);
    set(cfg, "arch.hidden_activation", "linear");
    set(cfg, "optim.type", "sgd");
    set(cfg, "optim.lr", "1e6");
    set(cfg, "train.batch_size", "16");
    set(cfg, "train.rollback", "0");
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    float *x = malloc(16 * 12 * sizeof *x);
    tu_fill_uniform(x, 16 * 12, 0, 100, 5);
    sae_stats_t s = {.struct_size = sizeof s};
    sae_status_t st = SAE_OK;
    float *last = NULL;
    size_t n = 0;
    for (int k = 0; k < 200 && st == SAE_OK; k++) {
        free(last);
        last = copy_weights(m, &n);
        st = sae_trainer_step(t, x, 16, &s);
    }
    tu_assert_status(st, SAE_ERR_DIVERGED);
    assert_null(strstr(sae_trainer_errmsg(t), "back at step"));
    assert_int_equal(sae_trainer_steps(t), 1); /* step 2 failed, step 1 kept */
    float *now = copy_weights(m, &n);
    assert_memory_equal(now, last, n * sizeof *now);
    free(now);
    free(last);
    free(x);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

/* Rows of 1e30: the squared error overflows float at once. The message
 * says so rather than blaming the learning rate. */
static void test_huge_rows(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(8, 6);
    set(cfg, "train.batch_size", "4");
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    float x[32];
    tu_fill_uniform(x, 32, 0, 1, 3);
    x[5] = 1e30f;
    size_t n;
    float *w0 = copy_weights(m, &n);
    sae_stats_t s = {.struct_size = sizeof s};
    tu_assert_status(sae_trainer_step(t, x, 4, &s), SAE_ERR_DIVERGED);
    const char *msg = sae_trainer_errmsg(t);
    print_message("%s\n", msg);
    assert_non_null(strstr(msg, "step 1:"));
    assert_non_null(strstr(msg, "1e+30"));
    assert_non_null(strstr(msg, "scale the data"));
    assert_null(strstr(msg, "learning rate"));
    float *w1 = copy_weights(m, &n);
    assert_memory_equal(w0, w1, n * sizeof *w0);
    tu_assert_status(sae_trainer_evaluate(t, x, 4, &s), SAE_ERR_DIVERGED);
    assert_non_null(strstr(sae_trainer_errmsg(t), "evaluation"));
    /* Usable with sane rows. */
    x[5] = 0.5f;
    tu_assert_status(sae_trainer_step(t, x, 4, &s), SAE_OK);
    free(w0);
    free(w1);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

/* A finite penalty with an infinite gradient: the loss is finite, the
 * gradient is not; the step is not applied. */
static double inf_grad(void *user, const float *h, size_t rows, size_t units, float weight,
                       float *grad)
{
    (void)user;
    (void)h;
    (void)weight;
    if (grad)
        grad[rows * units / 2] = INFINITY;
    return 0.0;
}

static void test_nonfinite_gradient(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(8, 6);
    set(cfg, "train.batch_size", "4");
    sae_regularizer_ops_t ops = {sizeof ops, "infgrad", inf_grad, NULL};
    assert_int_equal(sae_config_add_regularizer(cfg, &ops, NULL, 1.0f), SAE_OK);
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    float x[32];
    tu_fill_uniform(x, 32, 0, 1, 3);
    size_t n;
    float *w0 = copy_weights(m, &n);
    sae_stats_t s = {.struct_size = sizeof s};
    tu_assert_status(sae_trainer_step(t, x, 4, &s), SAE_ERR_DIVERGED);
    const char *msg = sae_trainer_errmsg(t);
    print_message("%s\n", msg);
    assert_non_null(strstr(msg, "step 1: the gradient of encoder."));
    float *w1 = copy_weights(m, &n);
    assert_memory_equal(w0, w1, n * sizeof *w0);
    assert_int_equal(sae_trainer_steps(t), 0);
    free(w0);
    free(w1);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd_diverges_and_recovers),
        cmocka_unit_test(test_no_rollback),
        cmocka_unit_test(test_huge_rows),
        cmocka_unit_test(test_nonfinite_gradient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
