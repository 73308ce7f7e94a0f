/* Decoder-norm-weighted L1 (l1.decoder_norm; sparsity/l1_decoder_norm.c):
 * the reported term against its formula from the model's own code and
 * weights, the whole gradient (code and decoder rows) against central
 * differences on the dense and sparse paths, tied and untied, equality
 * with plain L1 on unit-norm atoms, and the refusals.
 * SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/dense.h"
#include "testutil.h"
#include "train/trainer.h"

static void set(sae_config_t *cfg, const char *k, const char *v)
{
    if (sae_config_set(cfg, k, v) != SAE_OK)
        fail_msg("set %s=%s: %s", k, v, sae_config_errmsg(cfg));
}

static sae_config_t *dn_config(size_t in, size_t hidden, int tied)
{
    sae_config_t *cfg = tu_config(in, hidden);
    set(cfg, "arch.hidden_activation", "relu");
    set(cfg, "arch.tied", tied ? "true" : "false");
    set(cfg, "arch.init_scale", "2");
    set(cfg, "l1.weight", "0.3");
    set(cfg, "l1.decoder_norm", "true");
    return cfg;
}

static double term(const sae_stats_t *s, const char *name)
{
    for (uint32_t i = 0; i < s->n_terms; i++)
        if (!strcmp(s->term_name[i], name))
            return s->term_loss[i];
    fail_msg("no term %s", name);
    return NAN;
}

/* The term as the formula says, from sae_model_encode and the decoder. */
static void test_penalty_formula(void **state)
{
    (void)state;
    enum { D = 9, H = 13, R = 7 };
    for (int tied = 0; tied < 2; tied++) {
        sae_config_t *cfg = dn_config(D, H, tied);
        sae_model_t *m = NULL;
        sae_trainer_t *t = NULL;
        assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
        assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
        /* Atoms of different lengths, so the weighting matters. */
        float *atoms = (float *)sae_model_decoder_rows(m);
        for (size_t j = 0; j < H; j++)
            for (size_t i = 0; i < D; i++)
                atoms[j * D + i] *= 0.5f + 0.25f * (float)j;
        float x[R * D], code[R * H];
        tu_fill_uniform(x, R * D, -1, 1, 3);
        assert_int_equal(sae_model_encode(m, x, R, code), SAE_OK);
        double want = 0.0;
        for (size_t j = 0; j < H; j++) {
            double n2 = 0.0, col = 0.0;
            for (size_t i = 0; i < D; i++)
                n2 += (double)atoms[j * D + i] * atoms[j * D + i];
            for (size_t b = 0; b < R; b++)
                col += fabs(code[b * H + j]);
            want += col * sqrt(n2);
        }
        want *= 0.3 / (R * H);
        sae_stats_t s;
        assert_int_equal(sae_trainer_evaluate(t, x, R, &s), SAE_OK);
        double got = term(&s, "l1");
        print_message("decoder-norm l1 (tied %d): %.9g, formula %.9g\n", tied, got, want);
        assert_true(want > 0.0);
        assert_true(fabs(got - want) <= 1e-5 * want);
        sae_trainer_free(t);
        sae_model_free(m);
        sae_config_free(cfg);
    }
}

static double gradcheck(sae_config_t *cfg, size_t rows, uint64_t seed)
{
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    float *atoms = (float *)sae_model_decoder_rows(m);
    for (size_t j = 0; j < m->code_dim; j++)
        for (size_t i = 0; i < m->input_dim; i++)
            atoms[j * m->input_dim + i] *= 0.5f + 0.2f * (float)(j % 5);
    float *x = malloc(rows * m->input_dim * sizeof *x);
    tu_fill_uniform(x, rows * m->input_dim, 0, 1, seed);
    double err = -1;
    assert_int_equal(sae_trainer_gradcheck(t, x, rows, &err), SAE_OK);
    free(x);
    sae_trainer_free(t);
    sae_model_free(m);
    return err;
}

/* A ReLU kink or a top-k tie crossed by a difference shows as a jump: the
 * best of three draws is held to the bound (a wrong gradient fails all). */
static double best_gradcheck(sae_config_t *cfg, size_t rows)
{
    double best = INFINITY;
    for (uint64_t seed = 31; seed < 34; seed++) {
        double e = gradcheck(cfg, rows, seed);
        best = e < best ? e : best;
    }
    return best;
}

static void test_gradients(void **state)
{
    (void)state;
    for (int tied = 0; tied < 2; tied++) {
        sae_config_t *cfg = dn_config(10, 14, tied);
        /* A weight at which the term's gradient is of the reconstruction's
         * size (the atoms' part left out gives an error of 3e-2 then). */
        set(cfg, "l1.weight", "3");
        double e = best_gradcheck(cfg, 6);
        print_message("decoder-norm l1 gradcheck, relu, tied %d: %.3g\n", tied, e);
        assert_true(e < 1e-3);
        set(cfg, "topk.k", "3");
        set(cfg, "topk.sparse_path", "on");
        e = best_gradcheck(cfg, 6);
        print_message("decoder-norm l1 gradcheck, top-k sparse path, tied %d: %.3g\n", tied, e);
        assert_true(e < 1e-3);
        set(cfg, "topk.k", "0");
        set(cfg, "arch.hidden_activation", "sigmoid");
        e = best_gradcheck(cfg, 6);
        print_message("decoder-norm l1 gradcheck, sigmoid, tied %d: %.3g\n", tied, e);
        assert_true(e < 1e-3);
        sae_config_free(cfg);
    }
}

/* With every atom of norm 1 the term is plain L1's, value and step. */
static void test_unit_atoms_equal_plain_l1(void **state)
{
    (void)state;
    enum { D = 8, H = 12, R = 10 };
    float x[R * D];
    tu_fill_uniform(x, R * D, 0, 1, 8);
    double loss[2];
    float w[2][H * D];
    for (int dn = 0; dn < 2; dn++) {
        sae_config_t *cfg = dn_config(D, H, 0);
        set(cfg, "l1.decoder_norm", dn ? "true" : "false");
        set(cfg, "arch.unit_norm_decoder", "true");
        sae_model_t *m = NULL;
        sae_trainer_t *t = NULL;
        assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
        assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
        sae_stats_t s;
        assert_int_equal(sae_trainer_step(t, x, R, &s), SAE_OK);
        assert_int_equal(sae_trainer_step(t, x, R, &s), SAE_OK);
        loss[dn] = term(&s, "l1");
        memcpy(w[dn], sae_dense(m)->dec_w, sizeof w[dn]);
        sae_trainer_free(t);
        sae_model_free(m);
        sae_config_free(cfg);
    }
    assert_true(fabs(loss[0] - loss[1]) <= 1e-5 * loss[0]);
    for (size_t i = 0; i < H * D; i++)
        assert_true(fabs(w[0][i] - w[1][i]) <= 1e-5f);
}

static void test_refusals(void **state)
{
    (void)state;
    sae_config_t *cfg = dn_config(6, 8, 0);
    sae_model_t *m = NULL;
    set(cfg, "arch.hidden_activation", "tanh");
    tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_STATE);
    assert_non_null(strstr(sae_last_error(), "l1.decoder_norm"));
    set(cfg, "arch.hidden_activation", "linear");
    tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_STATE);
    /* The flag alone, without an L1 weight, is no conflict. */
    set(cfg, "l1.weight", "0");
    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    sae_model_free(m);
    m = NULL;
    set(cfg, "l1.weight", "0.1");
    set(cfg, "arch.hidden_activation", "relu");
    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    float x[4 * 6];
    tu_fill_uniform(x, 4 * 6, 0, 1, 1);
    double rel = 0, frel = 0;
    tu_assert_status(sae_trainer_gradcheck_double(t, x, 4, &rel, &frel), SAE_ERR_UNSUPPORTED);
    assert_non_null(strstr(sae_trainer_errmsg(t), "l1.decoder_norm"));
    sae_trainer_free(t);
    sae_model_free(m);
    m = NULL;
    set(cfg, "arch.layers", "input 1x2x3; dense 8 relu code; dense 6 linear");
    tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_STATE);
    assert_null(m);
    sae_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_penalty_formula),
        cmocka_unit_test(test_gradients),
        cmocka_unit_test(test_unit_atoms_equal_plain_l1),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
