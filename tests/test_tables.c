/* The four internal tables (model kinds and their passes, code operators,
 * training methods, objective terms): each registry picks the entry the
 * config asks for, every entry fills the slots its interface requires, and
 * each built-in code term writes exactly the gradient coefficients its
 * flags declare (the dense pass relies on them to skip the others).
 * SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "code/code_op.h"
#include "model/dense.h"
#include "model/kind.h"
#include "sparsity/terms.h"
#include "testutil.h"
#include "train/method.h"
#include "train/pass.h"
#include "train/trainer.h"

static void set(sae_config_t *cfg, const char *k, const char *v)
{
    if (sae_config_set(cfg, k, v) != SAE_OK)
        fail_msg("set %s = %s: %s", k, v, sae_config_errmsg(cfg));
}

/* A fresh 8-16 config with the given key/value pairs (NULL-terminated). */
static sae_config_t *config_with(const char *k, ...)
{
    sae_config_t *cfg = tu_config(8, 16);
    va_list ap;
    va_start(ap, k);
    for (const char *key = k; key; key = va_arg(ap, const char *))
        set(cfg, key, va_arg(ap, const char *));
    va_end(ap);
    return cfg;
}

static void check_op(const sae_config_t *cfg, const char *want)
{
    const sae_code_op_t *op = sae_code_op_for(cfg);
    assert_non_null(op);
    assert_string_equal(op->name, want);
    /* Every slot but backward (an operator no gradient goes through) and
     * the double forms (the double check refuses where they are NULL). */
    assert_non_null(op->selects);
    assert_non_null(op->validate);
    assert_non_null(op->create);
    assert_non_null(op->destroy);
    assert_non_null(op->forward);
    assert_non_null(op->support);
    assert_non_null(op->max_active);
    assert_non_null(op->infer);
    assert_true(op->forward_d == NULL || op->deriv_d != NULL);
}

static void test_code_operator_registry(void **state)
{
    (void)state;
    struct {
        const char *k1, *v1, *k2, *v2, *want;
    } cases[] = {
        {NULL, NULL, NULL, NULL, "activation"},
        {"arch.hidden_activation", "relu", NULL, NULL, "activation"},
        {"topk.k", "4", NULL, NULL, "topk"},
        {"topk.k", "4", "topk.mode", "batch", "batch_topk"},
        {"train.algorithm", "nsc", NULL, NULL, "hard_threshold"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sae_config_t *cfg = config_with(cases[i].k1, cases[i].v1, cases[i].k2, cases[i].v2, NULL);
        check_op(cfg, cases[i].want);
        sae_config_free(cfg);
    }
    /* Only backprop-trained operators need a backward. */
    sae_config_t *cfg = config_with("topk.k", "4", NULL);
    assert_non_null(sae_code_op_for(cfg)->backward);
    assert_int_equal(sae_code_op_for(cfg)->max_active(cfg), 4);
    sae_config_free(cfg);
}

static void test_method_registry(void **state)
{
    (void)state;
    struct {
        const char *k, *v, *want;
        int has_step, has_objective;
    } cases[] = {
        {NULL, NULL, "backprop", 1, 1},
        {"optim.type", "sgd", "backprop", 1, 1},
        {"optim.type", "lbfgs", "lbfgs", 0, 1},
        {"train.algorithm", "nsc", "nsc", 1, 0},
        {"train.algorithm", "rank_order", "rank_order", 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sae_config_t *cfg = config_with(cases[i].k, cases[i].v, NULL);
        const sae_method_t *me = sae_method_for(cfg);
        assert_string_equal(me->name, cases[i].want);
        assert_int_equal(me->step != NULL, cases[i].has_step);
        assert_int_equal(me->has_objective, cases[i].has_objective);
        /* A method without a step owns its loop. */
        assert_true(me->step != NULL || me->fit != NULL);
        assert_non_null(me->evaluate);
        assert_non_null(me->rate);
        assert_non_null(me->selected_by);
        sae_config_free(cfg);
    }
}

/* The kind a config selects, the kind the model holds, and the pass the
 * trainer runs all agree. */
static void check_kind(sae_config_t *cfg, const char *want, size_t layers)
{
    const sae_model_kind_t *kind = sae_model_kind_for(cfg);
    assert_string_equal(kind->name, want);
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    if (sae_model_create(cfg, &m) != SAE_OK)
        fail_msg("model: %s", sae_last_error());
    assert_ptr_equal(m->kind, kind);
    assert_int_equal(sae_model_layer_count(m), layers);
    tu_assert_status(sae_trainer_create(m, &t), SAE_OK);
    assert_ptr_equal(t->ws.pass, sae_pass_for(m));
    assert_ptr_equal(t->ws.pass->kind, kind);
    sae_trainer_free(t);
    sae_model_free(m);
}

static void test_kind_registry(void **state)
{
    (void)state;
    sae_config_t *cfg = config_with(NULL);
    check_kind(cfg, "dense", 0);
    tu_assert_status(
        sae_config_set_layers(cfg, "input 1x6x6; conv2d 2 k3 relu code; convt2d 1 k3 linear"),
        SAE_OK);
    check_kind(cfg, "layered", 2);
    sae_config_free(cfg);
}

/* Runs term id's fused function on random statistics and reports which
 * coefficient arrays it wrote. */
static unsigned written(const sae_config_t *cfg, size_t id)
{
    enum { R = 6, U = 5 };
    double row_sum[R], col_sum[U], col_active[U];
    float h[R * U];
    tu_fill_uniform(h, R * U, 0.01f, 0.9f, 11 + id);
    sae_code_stats_t st = {row_sum, col_sum, 0.0, 0.0, col_active, NULL};
    memset(row_sum, 0, sizeof row_sum);
    memset(col_sum, 0, sizeof col_sum);
    for (size_t r = 0; r < R; r++)
        for (size_t u = 0; u < U; u++) {
            row_sum[r] += h[r * U + u];
            col_sum[u] += h[r * U + u];
            st.abs_sum += fabs(h[r * U + u]);
            st.active += 1.0;
        }
    float row_coef[R] = {0}, col_coef[U] = {0};
    sae_reg_coefs_t co = {row_coef, col_coef, 0.0f, 0.0f};
    double p = sae_terms[id].fused(cfg, &st, R, U, 0.5f, &co);
    assert_true(isfinite(p));
    unsigned w = 0;
    for (size_t r = 0; r < R; r++)
        w |= row_coef[r] != 0.0f ? SAE_COEF_ROW : 0u;
    for (size_t u = 0; u < U; u++)
        w |= col_coef[u] != 0.0f ? SAE_COEF_COL : 0u;
    w |= co.sign_coef != 0.0f ? SAE_COEF_SIGN : 0u;
    w |= co.step_coef != 0.0f ? SAE_COEF_STEP : 0u;
    return w;
}

static void test_term_flags_match_what_terms_write(void **state)
{
    (void)state;
    /* Targets away from the random code's activity, so every gradient is
     * nonzero somewhere. */
    sae_config_t *cfg = config_with("kl.rho", "0.05", "sample.target", "0.02", "batch.target",
                                    "0.03", NULL);
    size_t code_terms = 0;
    for (size_t id = 0; id < SAE_N_BUILTIN_TERMS; id++) {
        const sae_term_t *t = &sae_terms[id];
        assert_non_null(t->name);
        if (t->site != SAE_TERM_AT_CODE) {
            assert_null(t->fused);
            continue;
        }
        if (t->dense) { /* a per-element term: its dense gradient, its double form */
            assert_null(t->fused);
            assert_non_null(t->dense_d);
            assert_int_equal(t->coefs, SAE_COEF_DENSE);
            continue;
        }
        assert_non_null(t->fused);
        assert_non_null(t->penalty_d);
        unsigned w = written(cfg, id);
        if (w != t->coefs)
            fail_msg("term %s declares coefficients %#x but writes %#x", t->name, t->coefs, w);
        code_terms++;
    }
    assert_int_equal(code_terms, 6); /* kl, l1, sample, batch, l0, l1 with decoder norms */
    sae_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_code_operator_registry),
        cmocka_unit_test(test_method_registry),
        cmocka_unit_test(test_kind_registry),
        cmocka_unit_test(test_term_flags_match_what_terms_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
