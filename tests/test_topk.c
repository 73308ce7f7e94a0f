/* Top-k (k-sparse) codes: gradients through the kept support, the sparse
 * path equal to the dense one, annealing, batch mode, inference with
 * alpha*k units, bad parameters. SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "optim/unit_norm.h"
#include "code/topk.h"
#include "testutil.h"
#include "train/trainer.h"
#include "model/dense.h"

/* The kept units of the trainer's last step, as its code operator lists them. */
static const sae_sparse_code_t *support(const sae_trainer_t *t)
{
    return sae_dense(t->model)->code_op->support(t->ws.dense.code_state);
}

static void set(sae_config_t *cfg, const char *k, const char *v)
{
    if (sae_config_set(cfg, k, v) != SAE_OK)
        fail_msg("set %s=%s: %s", k, v, sae_config_errmsg(cfg));
}

static sae_config_t *topk_config(size_t in, size_t hidden, const char *k, const char *path,
                                 int tied)
{
    sae_config_t *cfg = tu_config(in, hidden);
    set(cfg, "arch.hidden_activation", "relu");
    set(cfg, "topk.k", k);
    set(cfg, "topk.sparse_path", path);
    set(cfg, "arch.tied", tied ? "true" : "false");
    set(cfg, "arch.init_scale", "2");
    return cfg;
}

static double gradcheck_seed(sae_config_t *cfg, size_t rows, int expect_sparse, uint64_t seed)
{
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    assert_int_equal(t->ws.dense.sparse_path, expect_sparse);
    float *x = malloc(rows * m->input_dim * sizeof *x);
    tu_fill_uniform(x, rows * m->input_dim, 0, 1, seed);
    double err = -1;
    assert_int_equal(sae_trainer_gradcheck(t, x, rows, &err), SAE_OK);
    print_message("top-k gradcheck (sparse path %d): %.3g\n", expect_sparse, err);
    free(x);
    sae_trainer_free(t);
    sae_model_free(m);
    return err;
}

/* Top-k is not differentiable where the k-th and (k+1)-th values tie; a
 * finite difference that crosses such a boundary measures a jump. Report
 * the best of three data draws so a near-tie in one draw does not fail the
 * check, while a wrong gradient (large error on every draw) still does. */
static double gradcheck(sae_config_t *cfg, size_t rows, int expect_sparse)
{
    double best = INFINITY;
    for (uint64_t seed = 21; seed < 24; seed++) {
        double e = gradcheck_seed(cfg, rows, expect_sparse, seed);
        best = e < best ? e : best;
    }
    return best;
}

static void test_gradients_through_support(void **state)
{
    (void)state;
    for (int tied = 0; tied < 2; tied++) {
        sae_config_t *cfg = topk_config(12, 16, "3", "off", tied);
        set(cfg, "l1.weight", "0.01");
        assert_true(gradcheck(cfg, 5, 0) < 1e-3);
        set(cfg, "topk.sparse_path", "on");
        assert_true(gradcheck(cfg, 5, 1) < 1e-3);
        set(cfg, "topk.mode", "batch");
        assert_true(gradcheck(cfg, 5, 1) < 1e-3);
        set(cfg, "arch.hidden_activation", "sigmoid");
        set(cfg, "kl.weight", "0.5");
        assert_true(gradcheck(cfg, 5, 1) < 1e-3);
        sae_config_free(cfg);
    }
}

/* Both paths compute the same step: after a few Adam steps the weights
 * agree to float rounding. */
static void test_sparse_path_equals_dense(void **state)
{
    (void)state;
    for (int tied = 0; tied < 2; tied++)
        for (int batch_mode = 0; batch_mode < 2; batch_mode++) {
            const float *w[2][8]; /* batch mode adds the inference threshold */
            sae_model_t *m[2];
            sae_trainer_t *t[2];
            float *x = malloc(64 * 20 * sizeof *x);
            tu_fill_uniform(x, 64 * 20, 0, 1, 5);
            for (int p = 0; p < 2; p++) {
                sae_config_t *cfg = topk_config(20, 48, "4", p ? "on" : "off", tied);
                set(cfg, "topk.mode", batch_mode ? "batch" : "sample");
                set(cfg, "train.batch_size", "16");
                set(cfg, "train.sampling", "sequential");
                set(cfg, "l1.weight", "0.01");
                assert_int_equal(sae_model_create(cfg, &m[p]), SAE_OK);
                assert_int_equal(sae_trainer_create(m[p], &t[p]), SAE_OK);
                assert_int_equal(t[p]->ws.dense.sparse_path, p);
                assert_int_equal(sae_trainer_fit_steps(t[p], x, 64, 6), SAE_OK);
                for (size_t i = 0; i < sae_model_tensor_count(m[p]); i++)
                    assert_int_equal(sae_model_tensor(m[p], i, NULL, NULL, NULL, &w[p][i]),
                                     SAE_OK);
                sae_config_free(cfg);
            }
            double worst = 0;
            for (size_t i = 0; i < sae_model_tensor_count(m[0]); i++) {
                size_t r, c;
                assert_int_equal(sae_model_tensor(m[0], i, NULL, &r, &c, NULL), SAE_OK);
                for (size_t e = 0; e < r * c; e++) {
                    double d = fabs((double)w[0][i][e] - (double)w[1][i][e]);
                    worst = d > worst ? d : worst;
                }
            }
            print_message("sparse vs dense (tied %d, batch %d): max |dw| %.3g\n", tied,
                          batch_mode, worst);
            assert_true(worst < 1e-5);
            for (int p = 0; p < 2; p++) {
                sae_trainer_free(t[p]);
                sae_model_free(m[p]);
            }
            free(x);
        }
}

static void test_annealing_and_support_size(void **state)
{
    (void)state;
    sae_config_t *cfg = topk_config(10, 40, "5", "on", 0);
    set(cfg, "topk.k_start", "25");
    set(cfg, "topk.anneal_steps", "10");
    assert_int_equal(sae_topk_k_at(cfg, 0), 25);
    assert_int_equal(sae_topk_k_at(cfg, 5), 15);
    assert_int_equal(sae_topk_k_at(cfg, 10), 5);
    assert_int_equal(sae_topk_k_at(cfg, 1000), 5);
    assert_int_equal(sae_topk_k_max(cfg), 25);
    set(cfg, "train.batch_size", "8");
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    float x[8 * 10];
    tu_fill_uniform(x, 80, 0, 1, 8);
    sae_stats_t s;
    assert_int_equal(sae_trainer_step(t, x, 8, &s), SAE_OK);
    assert_int_equal(support(t)->row_ptr[8], 8 * 25); /* step 0: k_start */
    for (int i = 0; i < 12; i++)
        assert_int_equal(sae_trainer_step(t, x, 8, &s), SAE_OK);
    assert_int_equal(support(t)->row_ptr[8], 8 * 5);
    assert_true(s.l0 <= 5.0);
    sae_trainer_free(t);
    sae_model_free(m);
    /* Batch mode keeps rows*k units in all, however they fall in rows. */
    set(cfg, "topk.mode", "batch");
    set(cfg, "topk.k_start", "0");
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    assert_int_equal(sae_trainer_step(t, x, 8, &s), SAE_OK);
    assert_int_equal(support(t)->row_ptr[8], 8 * 5);
    for (int b = 0; b < 8; b++)
        assert_true(support(t)->row_ptr[b] <= support(t)->row_ptr[b + 1]);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

/* Inference keeps round(alpha * k) units: the largest of the full code. */
static void test_inference_alpha_k(void **state)
{
    (void)state;
    sae_config_t *dense = tu_config(10, 30), *sparse = NULL;
    set(dense, "arch.hidden_activation", "linear");
    assert_int_equal(sae_config_clone(dense, &sparse), SAE_OK);
    set(sparse, "topk.k", "4");
    set(sparse, "topk.alpha", "2.5"); /* 10 units */
    sae_model_t *a = NULL, *b = NULL;
    assert_int_equal(sae_model_create(dense, &a), SAE_OK);
    assert_int_equal(sae_model_create(sparse, &b), SAE_OK); /* same seed, same weights */
    float x[3 * 10], ca[3 * 30], cb[3 * 30];
    tu_fill_uniform(x, 30, -1, 1, 2);
    assert_int_equal(sae_model_encode(a, x, 3, ca), SAE_OK);
    assert_int_equal(sae_model_encode(b, x, 3, cb), SAE_OK);
    for (int r = 0; r < 3; r++) {
        int kept = 0;
        float smallest_kept = INFINITY, largest_dropped = -INFINITY;
        for (int j = 0; j < 30; j++) {
            if (cb[r * 30 + j] != 0.0f) {
                kept++;
                assert_true(cb[r * 30 + j] == ca[r * 30 + j]);
                smallest_kept = fminf(smallest_kept, ca[r * 30 + j]);
            } else {
                largest_dropped = fmaxf(largest_dropped, ca[r * 30 + j]);
            }
        }
        assert_int_equal(kept, 10);
        assert_true(smallest_kept >= largest_dropped);
    }
    sae_model_free(a);
    sae_model_free(b);
    sae_config_free(dense);
    sae_config_free(sparse);
}

static void test_bad_parameters(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(10, 8);
    sae_model_t *m = NULL;
    tu_assert_status(sae_config_set(cfg, "topk.k", "-1"), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set(cfg, "topk.alpha", "0.5"), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set(cfg, "topk.mode", "rows"), SAE_ERR_BAD_VALUE);
    set(cfg, "topk.k", "9");
    tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_STATE);
    assert_non_null(strstr(sae_last_error(), "topk.k"));
    set(cfg, "topk.k", "4");
    set(cfg, "topk.alpha", "3");
    tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_STATE);
    assert_non_null(strstr(sae_last_error(), "topk.alpha"));
    set(cfg, "topk.alpha", "1");
    set(cfg, "topk.k_start", "20");
    tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_STATE);
    set(cfg, "topk.k_start", "0");
    set(cfg, "corrupt.hidden_keep", "0.5");
    tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_STATE);
    assert_non_null(strstr(sae_last_error(), "hidden_keep"));
    assert_null(m);
    sae_config_free(cfg);
}

static double row_norm(const float *w, size_t j, size_t cols)
{
    double ss = 0;
    for (size_t i = 0; i < cols; i++)
        ss += (double)w[j * cols + i] * w[j * cols + i];
    return sqrt(ss);
}

/* The projection leaves no component along the row, and removes only that
 * component. */
static void test_unit_norm_projection(void **state)
{
    (void)state;
    enum { R = 5, C = 9 };
    float w[R * C], g[R * C], g0[R * C];
    tu_fill_uniform(w, R * C, -1, 1, 3);
    tu_fill_uniform(g, R * C, -1, 1, 4);
    sae_rows_normalize(w, R, C);
    memcpy(g0, g, sizeof g);
    sae_rows_project_out(g, w, R, C);
    for (size_t j = 0; j < R; j++) {
        assert_true(fabs(row_norm(w, j, C) - 1.0) < 1e-6);
        double dot = 0, along = 0;
        for (size_t i = 0; i < C; i++) {
            dot += (double)g[j * C + i] * w[j * C + i];
            along += (double)g0[j * C + i] * w[j * C + i];
        }
        assert_true(fabs(dot) < 1e-6);
        for (size_t i = 0; i < C; i++) /* g0 - g = (g0 . w) w */
            assert_true(fabs((double)(g0[j * C + i] - g[j * C + i]) - along * w[j * C + i]) <
                        1e-6);
    }
}

/* Gao et al.'s recipe: unit-norm atoms from the start and after every
 * step, and the encoder started equal to the decoder. */
static void test_unit_norm_decoder_training(void **state)
{
    (void)state;
    sae_config_t *cfg = topk_config(20, 32, "4", "on", 0);
    set(cfg, "arch.unit_norm_decoder", "true");
    set(cfg, "arch.encoder_from_decoder", "true");
    set(cfg, "train.batch_size", "16");
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    const float *we, *wd;
    size_t r, c;
    assert_int_equal(sae_model_tensor_by_name(m, "encoder.weight", &r, &c, &we), SAE_OK);
    assert_int_equal(sae_model_tensor_by_name(m, "decoder.weight", &r, &c, &wd), SAE_OK);
    assert_memory_equal(we, wd, r * c * sizeof *we);
    for (size_t j = 0; j < r; j++)
        assert_true(fabs(row_norm(wd, j, c) - 1.0) < 1e-6);
    float *before = malloc(r * c * sizeof *before);
    memcpy(before, wd, r * c * sizeof *before);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    float *x = malloc(64 * 20 * sizeof *x);
    tu_fill_uniform(x, 64 * 20, 0, 1, 6);
    assert_int_equal(sae_trainer_fit(t, x, 64, 5), SAE_OK);
    assert_memory_not_equal(before, wd, r * c * sizeof *wd);
    for (size_t j = 0; j < r; j++)
        assert_true(fabs(row_norm(wd, j, c) - 1.0) < 1e-5);
    free(x);
    free(before);
    sae_trainer_free(t);
    sae_model_free(m);
    /* A tied model's encoder is its decoder already. */
    set(cfg, "arch.tied", "true");
    tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_STATE);
    assert_non_null(strstr(sae_last_error(), "encoder_from_decoder"));
    sae_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradients_through_support),
        cmocka_unit_test(test_sparse_path_equals_dense),
        cmocka_unit_test(test_annealing_and_support_size),
        cmocka_unit_test(test_inference_alpha_k),
        cmocka_unit_test(test_bad_parameters),
        cmocka_unit_test(test_unit_norm_projection),
        cmocka_unit_test(test_unit_norm_decoder_training),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
