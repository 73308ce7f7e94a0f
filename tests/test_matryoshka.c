/* Matryoshka SAEs (matryoshka.prefixes, matryoshka.weighting;
 * train/matryoshka.c): the list key's string form and its errors, the
 * checks at model creation, the objective against the prefixes'
 * reconstructions computed here from sae_model_encode, gradients against
 * central differences on the dense and sparse paths (top-k, batch top-k,
 * tied, b_pre, AuxK), and a saved model's prefixes.
 * SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdio.h>
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

static void expect_get(const sae_config_t *cfg, const char *want)
{
    char buf[256];
    assert_int_equal(sae_config_get(cfg, "matryoshka.prefixes", buf, sizeof buf), SAE_OK);
    assert_string_equal(buf, want);
}

static void test_prefixes_key(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(8, 64);
    expect_get(cfg, "");
    set(cfg, "matryoshka.prefixes", " 4, 16 ,32,64 ");
    expect_get(cfg, "4,16,32,64");
    const struct {
        const char *text;
        sae_status_t st;
    } bad[] = {
        {"0,4", SAE_ERR_RANGE},        {"4,4", SAE_ERR_BAD_VALUE},
        {"8,4", SAE_ERR_BAD_VALUE},    {"a", SAE_ERR_BAD_VALUE},
        {"4,,8", SAE_ERR_BAD_VALUE},   {"4,", SAE_ERR_BAD_VALUE},
        {"4;8", SAE_ERR_BAD_VALUE},    {"-4", SAE_ERR_BAD_VALUE},
        {"16777217", SAE_ERR_RANGE},   {"99999999999999999999999", SAE_ERR_RANGE},
        {"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", SAE_ERR_BAD_VALUE},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tu_assert_status(sae_config_set(cfg, "matryoshka.prefixes", bad[i].text), bad[i].st);
        assert_non_null(strstr(sae_config_errmsg(cfg), "matryoshka.prefixes"));
        expect_get(cfg, "4,16,32,64"); /* unchanged */
    }
    set(cfg, "matryoshka.prefixes", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16");
    char small[8];
    tu_assert_status(sae_config_get(cfg, "matryoshka.prefixes", small, sizeof small),
                     SAE_ERR_RANGE);
    set(cfg, "matryoshka.prefixes", "");
    expect_get(cfg, "");
    /* A clone keeps them. */
    set(cfg, "matryoshka.prefixes", "16,64");
    sae_config_t *c2 = NULL;
    assert_int_equal(sae_config_clone(cfg, &c2), SAE_OK);
    expect_get(c2, "16,64");
    sae_config_free(c2);
    sae_config_free(cfg);
}

static void test_creation_checks(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(8, 64);
    sae_model_t *m = NULL;
    set(cfg, "arch.hidden_activation", "relu");
    set(cfg, "matryoshka.prefixes", "16,32");
    tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_STATE);
    assert_non_null(strstr(sae_last_error(), "arch.hidden_dim = 64"));
    set(cfg, "matryoshka.prefixes", "16,32,64");
    set(cfg, "corrupt.hidden_keep", "0.5");
    tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_STATE);
    set(cfg, "corrupt.hidden_keep", "1");
    set(cfg, "train.algorithm", "rank_order");
    tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_STATE);
    set(cfg, "train.algorithm", "backprop");
    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    sae_model_free(m);
    m = NULL;
    set(cfg, "arch.layers", "input 1x2x4; dense 64 relu code; dense 8 linear");
    tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_STATE);
    assert_null(m);
    sae_config_free(cfg);
}

/* A prefix's loss from the model's code: mean (h[:, :p] W[:p] + b - x)^2. */
static double prefix_loss(const sae_model_t *m, const float *code, const float *x, size_t rows,
                          size_t p)
{
    size_t d = m->input_dim, h = m->code_dim;
    const float *w = sae_model_decoder_rows(m), *b = sae_dense(m)->dec_b;
    double s = 0.0;
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < d; i++) {
            double o = b[i];
            for (size_t j = 0; j < p; j++)
                o += (double)code[r * h + j] * w[j * d + i];
            s += (o - x[r * d + i]) * (o - x[r * d + i]);
        }
    return s / (double)(rows * d);
}

static void test_objective(void **state)
{
    (void)state;
    enum { D = 7, H = 12, R = 9 };
    for (int mean = 0; mean < 2; mean++) {
        sae_config_t *cfg = tu_config(D, H);
        set(cfg, "arch.hidden_activation", "relu");
        set(cfg, "matryoshka.prefixes", "3,5,12");
        set(cfg, "matryoshka.weighting", mean ? "mean" : "sum");
        sae_model_t *m = NULL;
        sae_trainer_t *t = NULL;
        assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
        assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
        float x[R * D], code[R * H];
        tu_fill_uniform(x, R * D, 0, 1, 4);
        tu_fill_uniform(sae_dense(m)->dec_b, D, -0.2f, 0.2f, 5);
        assert_int_equal(sae_model_encode(m, x, R, code), SAE_OK);
        double want = prefix_loss(m, code, x, R, 3) + prefix_loss(m, code, x, R, 5) +
                      prefix_loss(m, code, x, R, 12);
        if (mean)
            want /= 3.0;
        sae_stats_t s;
        assert_int_equal(sae_trainer_evaluate(t, x, R, &s), SAE_OK);
        print_message("matryoshka recon (%s): %.9g, formula %.9g\n", mean ? "mean" : "sum",
                      s.recon_loss, want);
        assert_true(fabs(s.recon_loss - want) <= 1e-5 * want);
        sae_trainer_free(t);
        sae_model_free(m);
        sae_config_free(cfg);
    }
}

static double gradcheck_seed(sae_config_t *cfg, size_t rows, uint64_t seed, int *sparse,
                             double *auxk)
{
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    *sparse = t->ws.dense.sparse_path;
    float *x = malloc(rows * m->input_dim * sizeof *x);
    tu_fill_uniform(x, rows * m->input_dim, 0, 1, seed);
    if (sae_dense(m)->dec_b)
        tu_fill_uniform(sae_dense(m)->dec_b, m->input_dim, -0.3f, 0.3f, seed + 100);
    /* One step first: units that did not fire in it are dead for AuxK
     * (auxk.dead_after = 1), so its term is in the checked objective. */
    sae_stats_t s;
    assert_int_equal(sae_trainer_step(t, x, rows, &s), SAE_OK);
    assert_int_equal(sae_trainer_evaluate(t, x, rows, &s), SAE_OK);
    for (uint32_t i = 0; i < s.n_terms; i++)
        if (!strcmp(s.term_name[i], "auxk"))
            *auxk = s.term_loss[i];
    double err = -1;
    assert_int_equal(sae_trainer_gradcheck(t, x, rows, &err), SAE_OK);
    free(x);
    sae_trainer_free(t);
    sae_model_free(m);
    return err;
}

/* The best of three draws (a kink or top-k tie crossed by a difference
 * is a jump; a wrong gradient fails every draw). */
static void check_grad(sae_config_t *cfg, const char *what, int want_sparse)
{
    double best = INFINITY, auxk = 0.0;
    int sparse = -1;
    for (uint64_t seed = 41; seed < 44; seed++) {
        double e = gradcheck_seed(cfg, 6, seed, &sparse, &auxk);
        best = e < best ? e : best;
    }
    print_message("matryoshka gradcheck, %s: %.3g (auxk term %.3g)\n", what, best, auxk);
    if (strstr(what, "AuxK"))
        assert_true(auxk > 0.0);
    assert_int_equal(sparse, want_sparse);
    assert_true(best < 1e-3);
}

static void test_gradients(void **state)
{
    (void)state;
    for (int tied = 0; tied < 2; tied++) {
        char what[96];
        sae_config_t *cfg = tu_config(10, 16);
        set(cfg, "arch.hidden_activation", "relu");
        set(cfg, "arch.init_scale", "2");
        set(cfg, "arch.tied", tied ? "true" : "false");
        set(cfg, "matryoshka.prefixes", "2,6,16");
        snprintf(what, sizeof what, "relu dense, sum, tied %d", tied);
        check_grad(cfg, what, 0);
        set(cfg, "matryoshka.weighting", "mean");
        set(cfg, "l1.weight", "0.05");
        snprintf(what, sizeof what, "relu + l1 dense, mean, tied %d", tied);
        check_grad(cfg, what, 0);
        set(cfg, "l1.weight", "0");
        set(cfg, "topk.k", "3");
        set(cfg, "topk.sparse_path", "off");
        snprintf(what, sizeof what, "top-k dense path, tied %d", tied);
        check_grad(cfg, what, 0);
        set(cfg, "topk.sparse_path", "on");
        snprintf(what, sizeof what, "top-k sparse path, tied %d", tied);
        check_grad(cfg, what, 1);
        set(cfg, "topk.mode", "batch");
        set(cfg, "arch.pre_encoder_bias", "true");
        snprintf(what, sizeof what, "batch top-k sparse path, b_pre, tied %d", tied);
        check_grad(cfg, what, 1);
        set(cfg, "auxk.k", "2");
        set(cfg, "auxk.dead_after", "1");
        set(cfg, "topk.k", "1"); /* 6 of 16 units fire in a step: the rest are dead */
        snprintf(what, sizeof what, "batch top-k, b_pre, AuxK, tied %d", tied);
        check_grad(cfg, what, 1);
        sae_config_free(cfg);
    }
}

/* One prefix, the whole dictionary, is the plain model's objective. */
static void test_single_prefix_is_plain(void **state)
{
    (void)state;
    enum { D = 6, H = 10, R = 8 };
    float x[R * D];
    tu_fill_uniform(x, R * D, 0, 1, 9);
    double loss[2];
    float w[2][H * D];
    for (int mat = 0; mat < 2; mat++) {
        sae_config_t *cfg = tu_config(D, H);
        set(cfg, "arch.hidden_activation", "relu");
        set(cfg, "topk.k", "3");
        set(cfg, "matryoshka.prefixes", mat ? "10" : "");
        sae_model_t *m = NULL;
        sae_trainer_t *t = NULL;
        assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
        assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
        sae_stats_t s;
        for (int k = 0; k < 3; k++)
            assert_int_equal(sae_trainer_step(t, x, R, &s), SAE_OK);
        loss[mat] = s.recon_loss;
        memcpy(w[mat], sae_dense(m)->dec_w, sizeof w[mat]);
        sae_trainer_free(t);
        sae_model_free(m);
        sae_config_free(cfg);
    }
    assert_true(fabs(loss[0] - loss[1]) <= 1e-6 * loss[0]);
    for (size_t i = 0; i < H * D; i++)
        assert_true(fabs(w[0][i] - w[1][i]) <= 1e-6f);
}

static void test_saved_prefixes(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(6, 24);
    set(cfg, "arch.hidden_activation", "relu");
    set(cfg, "matryoshka.prefixes", "4,8,24");
    set(cfg, "matryoshka.weighting", "mean");
    sae_model_t *m = NULL, *back = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/mat.safetensors", tu_tmpdir());
    assert_int_equal(sae_model_save(m, path), SAE_OK);
    assert_int_equal(sae_model_load(path, &back), SAE_OK);
    expect_get(sae_model_config(back), "4,8,24");
    char buf[32];
    assert_int_equal(sae_config_get(sae_model_config(back), "matryoshka.weighting", buf,
                                    sizeof buf),
                     SAE_OK);
    assert_string_equal(buf, "mean");
    sae_model_free(back);
    sae_model_free(m);
    sae_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefixes_key),
        cmocka_unit_test(test_creation_checks),
        cmocka_unit_test(test_objective),
        cmocka_unit_test(test_gradients),
        cmocka_unit_test(test_single_prefix_is_plain),
        cmocka_unit_test(test_saved_prefixes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
