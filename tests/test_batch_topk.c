/* BatchTopK's inference threshold (code/batch_topk.c; Bussmann et al.
 * 2024): the running mean of each training batch's smallest kept
 * activation, kept in the model and saved with it, used by inference
 * (topk.inference = auto or threshold), left alone by evaluations, per-row
 * k until estimated, and a file written without it (0.3) encoding as 0.3
 * did. SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "model/dense.h"
#include "testutil.h"
#include "train/trainer.h"

enum { D = 20, H = 48, B = 16, K = 4 };

static void set(sae_config_t *cfg, const char *k, const char *v)
{
    if (sae_config_set(cfg, k, v) != SAE_OK)
        fail_msg("set %s=%s: %s", k, v, sae_config_errmsg(cfg));
}

static sae_config_t *btk_config(const char *inference)
{
    sae_config_t *cfg = tu_config(D, H);
    set(cfg, "arch.hidden_activation", "relu");
    set(cfg, "arch.init_scale", "2");
    set(cfg, "topk.k", "4");
    set(cfg, "topk.mode", "batch");
    set(cfg, "topk.inference", inference);
    set(cfg, "train.batch_size", "16");
    set(cfg, "train.sampling", "sequential");
    return cfg;
}

static const float *tensor(const sae_model_t *m, const char *name)
{
    size_t r, c;
    const float *p;
    tu_assert_status(sae_model_tensor_by_name(m, name, &r, &c, &p), SAE_OK);
    assert_true(r * c >= 1);
    return p;
}

/* relu(x We^T + be) of one row, in float as the library adds it up. */
static void pre_acts(const sae_model_t *m, const float *x, size_t rows, double *p)
{
    const float *we = tensor(m, "encoder.weight"), *be = tensor(m, "encoder.bias");
    for (size_t b = 0; b < rows; b++)
        for (size_t j = 0; j < H; j++) {
            double v = be[j];
            for (size_t i = 0; i < D; i++)
                v += (double)x[b * D + i] * we[j * D + i];
            p[b * H + j] = v > 0.0 ? v : 0.0;
        }
}

static void test_threshold_estimated_and_used(void **state)
{
    (void)state;
    sae_config_t *cfg = btk_config("auto");
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    tu_assert_status(sae_trainer_create(m, &t), SAE_OK);
    enum { ROWS = 3 * B };
    float *x = malloc(ROWS * D * sizeof *x), *code = malloc(ROWS * H * sizeof *code);
    double *p = malloc(ROWS * H * sizeof *p);
    assert_true(x && code && p);
    tu_fill_uniform(x, ROWS * D, 0.0f, 1.0f, 17);
    const float *theta = tensor(m, "topk.threshold"), *n = tensor(m, "topk.threshold_batches");
    assert_true(*theta == 0.0f && *n == 0.0f);
    /* Before any batch: per-row k. */
    tu_assert_status(sae_model_encode(m, x, ROWS, code), SAE_OK);
    for (size_t b = 0; b < ROWS; b++) {
        size_t on = 0;
        for (size_t j = 0; j < H; j++)
            on += code[b * H + j] != 0.0f;
        assert_true(on <= K);
    }
    /* Each step's smallest kept positive value, in the running mean. */
    double mean = 0.0;
    for (int s = 0; s < 3; s++) {
        const float *xb = x + (size_t)s * B * D;
        sae_stats_t st;
        tu_assert_status(sae_forward_backward(t, xb, B, 1, 1, &st), SAE_OK);
        const sae_sparse_code_t *sc = sae_dense(m)->code_op->support(t->ws.dense.code_state);
        double lo = INFINITY;
        for (uint32_t e = 0; e < sc->row_ptr[B]; e++)
            if (sc->val[e] > 0.0f && sc->val[e] < lo)
                lo = sc->val[e];
        mean += (lo - mean) / (s + 1);
        assert_true(*n == (float)(s + 1));
        assert_true(fabs(*theta - mean) <= 1e-6 * mean);
    }
    /* Evaluations and gradient checks leave it alone. */
    float keep = *theta;
    sae_stats_t st;
    tu_assert_status(sae_trainer_evaluate(t, x, ROWS, &st), SAE_OK);
    double err;
    tu_assert_status(sae_trainer_gradcheck(t, x, B, &err), SAE_OK);
    assert_true(*theta == keep && *n == 3.0f);
    /* Inference keeps what exceeds theta, however many per row. */
    tu_assert_status(sae_model_encode(m, x, ROWS, code), SAE_OK);
    pre_acts(m, x, ROWS, p);
    for (size_t k = 0; k < ROWS * H; k++) {
        double want = p[k] > keep ? p[k] : 0.0;
        if (fabs(p[k] - keep) > 1e-5 && fabs(code[k] - want) > 1e-5)
            fail_msg("code %zu: %g, want %g", k, code[k], want);
    }
    free(x);
    free(code);
    free(p);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

/* Writes m's weights as 0.3 did: no threshold tensors, a config without
 * topk.inference. */
static void write_v03(const sae_model_t *m, const char *path)
{
    const char *names[] = {"encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias"};
    sae_st_tensor_t ts[4];
    for (size_t i = 0; i < 4; i++) {
        size_t r, c;
        const float *data;
        tu_assert_status(sae_model_tensor_by_name(m, names[i], &r, &c, &data), SAE_OK);
        ts[i].name = names[i];
        ts[i].data = data;
        ts[i].ndim = c > 1 ? 2 : 1;
        ts[i].shape[0] = r;
        ts[i].shape[1] = c;
        ts[i].dtype = SAE_DT_F32;
    }
    const sae_st_meta_t meta[] = {
        {"format", SAE_ST_FORMAT},
        {"format_version", SAE_ST_FORMAT_VERSION},
        {"config", "{\"arch.input_dim\":\"20\",\"arch.hidden_dim\":\"48\","
                   "\"arch.hidden_activation\":\"relu\",\"topk.k\":\"4\",\"topk.mode\":\"batch\"}"},
        {"library_version", "0.3.0"},
    };
    char err[512];
    tu_assert_status(sae_st_save(path, ts, 4, meta, 4, err), SAE_OK);
}

static void test_files_without_threshold_keep_per_row_k(void **state)
{
    (void)state;
    sae_config_t *cfg = btk_config("auto");
    sae_model_t *m = NULL, *old = NULL, *k_model = NULL;
    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/btk03.safetensors", tu_tmpdir());
    write_v03(m, path);
    tu_assert_status(sae_model_load(path, &old), SAE_OK);
    assert_true(*tensor(old, "topk.threshold_batches") == 0.0f);
    /* The same weights with topk.inference = k: what 0.3 encoded. */
    sae_config_t *kc = btk_config("k");
    tu_assert_status(sae_model_create(kc, &k_model), SAE_OK);
    const char *names[] = {"encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias"};
    for (size_t i = 0; i < 4; i++) {
        size_t r, c;
        const float *data;
        tu_assert_status(sae_model_tensor_by_name(old, names[i], &r, &c, &data), SAE_OK);
        tu_assert_status(sae_model_set_tensor(k_model, names[i], r, c, data), SAE_OK);
    }
    float x[B * D], a[B * H], b[B * H];
    tu_fill_uniform(x, B * D, 0.0f, 1.0f, 23);
    tu_assert_status(sae_model_encode(old, x, B, a), SAE_OK);
    tu_assert_status(sae_model_encode(k_model, x, B, b), SAE_OK);
    assert_memory_equal(a, b, sizeof a);
    /* A trained model saves its estimate; it comes back bitwise. */
    sae_trainer_t *t = NULL;
    tu_assert_status(sae_trainer_create(m, &t), SAE_OK);
    sae_stats_t st;
    tu_assert_status(sae_trainer_step(t, x, B, &st), SAE_OK);
    snprintf(path, sizeof path, "%s/btk04.safetensors", tu_tmpdir());
    tu_assert_status(sae_model_save(m, path), SAE_OK);
    sae_model_t *m2 = NULL;
    tu_assert_status(sae_model_load(path, &m2), SAE_OK);
    assert_true(*tensor(m2, "topk.threshold") == *tensor(m, "topk.threshold"));
    assert_true(*tensor(m2, "topk.threshold_batches") == 1.0f);
    assert_true(*tensor(m2, "topk.threshold") > 0.0f);
    tu_assert_status(sae_model_encode(m, x, B, a), SAE_OK);
    tu_assert_status(sae_model_encode(m2, x, B, b), SAE_OK);
    assert_memory_equal(a, b, sizeof a);
    /* topk.inference = k ignores the estimate. */
    float one = 1.0f, th = 0.0f;
    tu_assert_status(sae_model_set_tensor(k_model, "topk.threshold_batches", 1, 1, &one), SAE_OK);
    tu_assert_status(sae_model_set_tensor(k_model, "topk.threshold", 1, 1, &th), SAE_OK);
    tu_assert_status(sae_model_encode(k_model, x, B, a), SAE_OK);
    tu_assert_status(sae_model_encode(old, x, B, b), SAE_OK);
    assert_memory_equal(a, b, sizeof a);
    sae_trainer_free(t);
    sae_model_free(m2);
    sae_model_free(k_model);
    sae_model_free(old);
    sae_model_free(m);
    sae_config_free(kc);
    sae_config_free(cfg);
}

static void test_refusals(void **state)
{
    (void)state;
    sae_config_t *cfg = btk_config("threshold");
    set(cfg, "topk.mode", "sample");
    sae_model_t *m = NULL;
    tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_STATE);
    assert_non_null(strstr(sae_last_error(), "topk.inference"));
    tu_assert_status(sae_config_set(cfg, "topk.inference", "median"), SAE_ERR_BAD_VALUE);
    tu_assert_status(sae_config_set_int(cfg, SAE_P_TOPK_INFERENCE, 3), SAE_ERR_RANGE);
    set(cfg, "topk.mode", "batch");
    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    float bad = NAN;
    tu_assert_status(sae_model_set_tensor(m, "topk.threshold", 1, 1, &bad), SAE_ERR_NONFINITE);
    sae_model_free(m);
    sae_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threshold_estimated_and_used),
        cmocka_unit_test(test_files_without_threshold_keep_per_row_k),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
