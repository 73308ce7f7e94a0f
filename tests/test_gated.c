/* The gated SAE (code/gated.c; Rajamanoharan et al. 2024, arXiv
 * 2404.16014): every gradient against central differences of the whole
 * objective (recon + the gate's decoder-norm L1 + the auxiliary
 * reconstruction), the perturbations that flip a gate left out (the gate is
 * a step); the inference form; the magnitude tensors saved and loaded;
 * the configs it refuses. SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "code/code_op.h"
#include "model/dense.h"
#include "train/trainer.h"

enum { D = 6, H = 10, B = 8 };

static void set(sae_config_t *cfg, const char *k, const char *v)
{
    if (sae_config_set(cfg, k, v) != SAE_OK)
        fail_msg("set %s=%s: %s", k, v, sae_config_errmsg(cfg));
}

static sae_config_t *gated_config(void)
{
    sae_config_t *cfg = tu_config(D, H);
    set(cfg, "arch.gated", "true");
    set(cfg, "arch.hidden_activation", "relu");
    set(cfg, "arch.output_activation", "linear");
    set(cfg, "arch.init_scale", "2");
    set(cfg, "l1.weight", "0.3");
    set(cfg, "train.batch_size", "8");
    return cfg;
}

static float *tensor(sae_model_t *m, const char *name, size_t *n)
{
    size_t r, c;
    const float *p;
    tu_assert_status(sae_model_tensor_by_name(m, name, &r, &c, &p), SAE_OK);
    if (n)
        *n = r * c;
    return (float *)p;
}

/* Magnitude tensors away from their initial zeros, and biases, so that
 * every path carries a gradient. */
static void spread(sae_model_t *m)
{
    float v[H];
    tu_fill_uniform(v, H, -0.5f, 0.5f, 31);
    tu_assert_status(sae_model_set_tensor(m, "gated.r_mag", H, 1, v), SAE_OK);
    tu_fill_uniform(v, H, -0.2f, 0.3f, 32);
    tu_assert_status(sae_model_set_tensor(m, "gated.b_mag", H, 1, v), SAE_OK);
    tu_fill_uniform(v, H, -0.3f, 0.2f, 33);
    tu_assert_status(sae_model_set_tensor(m, "encoder.bias", H, 1, v), SAE_OK);
    float bd[D];
    tu_fill_uniform(bd, D, -0.2f, 0.2f, 34);
    tu_assert_status(sae_model_set_tensor(m, "decoder.bias", D, 1, bd), SAE_OK);
}

/* The gate pattern of the rows under the model's current weights. */
static void gates(sae_model_t *m, const float *x, unsigned char *g)
{
    const float *we = tensor(m, "encoder.weight", NULL), *be = tensor(m, "encoder.bias", NULL);
    for (size_t b = 0; b < B; b++)
        for (size_t j = 0; j < H; j++) {
            double v = be[j];
            for (size_t i = 0; i < D; i++)
                v += (double)x[b * D + i] * we[j * D + i];
            g[b * H + j] = v > 0.0;
        }
}

/* The objective; without the gate's terms (its L1 and the auxiliary term)
 * for the decoder's tensors, which those terms read through a
 * stop-gradient (sg(||W_dec row||), sg(W_dec), sg(b_dec)). */
static double objective(sae_trainer_t *t, const float *x, int frozen)
{
    sae_stats_t s;
    tu_assert_status(sae_forward_backward(t, x, B, 0, 0, &s), SAE_OK);
    double loss = s.loss;
    for (size_t k = 0; frozen && k < s.n_terms; k++)
        if (!strcmp(s.term_name[k], "gated_aux") || !strcmp(s.term_name[k], "l1"))
            loss -= s.term_loss[k];
    return loss;
}

static void test_gradients_against_differences(void **state)
{
    (void)state;
    sae_config_t *cfg = gated_config();
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    spread(m);
    tu_assert_status(sae_trainer_create(m, &t), SAE_OK);
    float x[B * D];
    tu_fill_uniform(x, B * D, -1.0f, 1.0f, 8);
    sae_stats_t s;
    tu_assert_status(sae_forward_backward(t, x, B, 0, 1, &s), SAE_OK);
    /* Every term is on: recon, l1 (the gate's), gated_aux. */
    int seen = 0;
    for (size_t k = 0; k < s.n_terms; k++)
        seen |= (!strcmp(s.term_name[k], "l1") && s.term_loss[k] > 0) |
                (!strcmp(s.term_name[k], "gated_aux") && s.term_loss[k] > 0) << 1;
    assert_int_equal(seen, 3);
    float *ana = malloc(m->n_weights * sizeof *ana);
    assert_non_null(ana);
    memcpy(ana, t->ws.grad, m->n_weights * sizeof *ana);
    unsigned char g0[B * H], g1[B * H];
    gates(m, x, g0);
    size_t skipped = 0, checked = 0;
    for (size_t ti = 0; ti < sae_model_tensor_count(m); ti++) {
        const char *name;
        size_t r, c;
        const float *p;
        tu_assert_status(sae_model_tensor(m, ti, &name, &r, &c, &p), SAE_OK);
        double diff2 = 0.0, sum2 = 0.0;
        int frozen = !strncmp(name, "decoder.", 8);
        for (size_t k = 0; k < r * c; k++) {
            float *w = (float *)p + k, keep = *w;
            const float eps = 1e-3f;
            *w = keep + eps;
            gates(m, x, g1);
            int flip = memcmp(g0, g1, sizeof g0) != 0;
            double up = objective(t, x, frozen);
            *w = keep - eps;
            gates(m, x, g1);
            flip |= memcmp(g0, g1, sizeof g0) != 0;
            double down = objective(t, x, frozen);
            *w = keep;
            if (flip) {
                skipped++;
                continue;
            }
            double num = (up - down) / ((double)(keep + eps) - (double)(keep - eps));
            double a = ana[(size_t)(p - m->weights) + k];
            diff2 += (num - a) * (num - a);
            sum2 += (num + a) * (num + a);
            checked++;
        }
        double rel = sum2 > 0 ? sqrt(diff2 / sum2) : sqrt(diff2);
        print_message("%-16s |num - ana| / |num + ana| = %.2e\n", name, rel);
        if (!(rel < 2e-3))
            fail_msg("%s: gradient differs from central differences by %.3g", name, rel);
    }
    print_message("checked %zu entries, %zu left out (a gate flipped)\n", checked, skipped);
    assert_true(checked > 10 * skipped);
    /* The library's own check agrees (it leaves the auxiliary term out of
     * the decoder's differences, as training does). */
    double err = 1.0;
    tu_assert_status(sae_trainer_gradcheck(t, x, B, &err), SAE_OK);
    print_message("sae_trainer_gradcheck: %.2e\n", err);
    assert_true(err < 1e-3);
    free(ana);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

static void test_inference_and_files(void **state)
{
    (void)state;
    sae_config_t *cfg = gated_config();
    sae_model_t *m = NULL, *m2 = NULL;
    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    spread(m);
    float x[B * D], code[B * H], code2[B * H];
    tu_fill_uniform(x, B * D, -1.0f, 1.0f, 9);
    tu_assert_status(sae_model_encode(m, x, B, code), SAE_OK);
    const float *we = tensor(m, "encoder.weight", NULL), *bg = tensor(m, "encoder.bias", NULL);
    const float *r = tensor(m, "gated.r_mag", NULL), *bm = tensor(m, "gated.b_mag", NULL);
    size_t on = 0;
    for (size_t b = 0; b < B; b++)
        for (size_t j = 0; j < H; j++) {
            double z = 0.0;
            for (size_t i = 0; i < D; i++)
                z += (double)x[b * D + i] * we[j * D + i];
            double mag = exp((double)r[j]) * z + bm[j];
            double want = z + bg[j] > 0.0 && mag > 0.0 ? mag : 0.0;
            if (fabs(code[b * H + j] - want) > 1e-5)
                fail_msg("code[%zu][%zu] = %g, want %g", b, j, code[b * H + j], want);
            on += want > 0.0;
        }
    assert_true(on > 0 && on < B * H);
    char path[512];
    snprintf(path, sizeof path, "%s/gated.safetensors", tu_tmpdir());
    tu_assert_status(sae_model_save(m, path), SAE_OK);
    tu_assert_status(sae_model_load(path, &m2), SAE_OK);
    size_t n;
    assert_memory_equal(tensor(m2, "gated.r_mag", &n), r, H * sizeof(float));
    assert_int_equal(n, H);
    assert_memory_equal(tensor(m2, "gated.b_mag", NULL), bm, H * sizeof(float));
    tu_assert_status(sae_model_encode(m2, x, B, code2), SAE_OK);
    assert_memory_equal(code, code2, sizeof code);
    sae_model_free(m2);
    sae_model_free(m);
    sae_config_free(cfg);
}

/* The gate's L1 follows sparsity.warmup_steps: none at step 0, half of
 * the full term half-way, for the same weights. */
static double l1_term_at(sae_trainer_t *t, const float *x, uint64_t step)
{
    sae_stats_t s;
    t->steps = step;
    tu_assert_status(sae_forward_backward(t, x, B, 0, 0, &s), SAE_OK);
    for (size_t k = 0; k < s.n_terms; k++)
        if (!strcmp(s.term_name[k], "l1"))
            return s.term_loss[k];
    return -1.0;
}

static void test_penalty_warms_up(void **state)
{
    (void)state;
    sae_config_t *cfg = gated_config();
    set(cfg, "sparsity.warmup_steps", "4");
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    spread(m);
    tu_assert_status(sae_trainer_create(m, &t), SAE_OK);
    float x[B * D];
    tu_fill_uniform(x, B * D, -1.0f, 1.0f, 8);
    double full = l1_term_at(t, x, 4), half = l1_term_at(t, x, 2), none = l1_term_at(t, x, 0);
    print_message("l1 at steps 0, 2, 4: %g %g %g\n", none, half, full);
    assert_true(full > 0.0);
    assert_true(none == 0.0);
    assert_true(fabs(half - 0.5 * full) <= 1e-6 * full);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

/* With few gates open the trainer takes the sparse path (decode and
 * back-propagate through the open gates only); its gradient of every
 * tensor is the dense path's (topk.sparse_path = off). */
enum { HS = 40 };
static void sparse_grad(const char *path, const float *x, float *grad, size_t n, int *sparse)
{
    sae_config_t *cfg = tu_config(D, HS);
    set(cfg, "arch.gated", "true");
    set(cfg, "arch.hidden_activation", "relu");
    set(cfg, "arch.output_activation", "linear");
    set(cfg, "l1.weight", "0.3");
    set(cfg, "train.batch_size", "8");
    set(cfg, "topk.sparse_path", path);
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    float v[HS];
    tu_fill_uniform(v, HS, -0.5f, 0.5f, 41);
    tu_assert_status(sae_model_set_tensor(m, "gated.r_mag", HS, 1, v), SAE_OK);
    tu_fill_uniform(v, HS, -0.2f, 0.3f, 42);
    tu_assert_status(sae_model_set_tensor(m, "gated.b_mag", HS, 1, v), SAE_OK);
    /* Gate biases that leave a few units open per row. */
    tu_fill_uniform(v, HS, -0.9f, 0.1f, 43);
    tu_assert_status(sae_model_set_tensor(m, "encoder.bias", HS, 1, v), SAE_OK);
    tu_assert_status(sae_trainer_create(m, &t), SAE_OK);
    sae_stats_t s;
    tu_assert_status(sae_forward_backward(t, x, B, 0, 1, &s), SAE_OK);
    assert_int_equal(m->n_weights, n);
    memcpy(grad, t->ws.grad, n * sizeof *grad);
    const sae_code_op_t *op = sae_dense(m)->code_op;
    *sparse = t->ws.dense.sparse_path && op->support(t->ws.dense.code_state) != NULL;
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

static void test_sparse_path_matches_dense(void **state)
{
    (void)state;
    float x[B * D];
    tu_fill_uniform(x, B * D, -1.0f, 1.0f, 44);
    sae_config_t *cfg = tu_config(D, HS);
    set(cfg, "arch.gated", "true");
    set(cfg, "arch.hidden_activation", "relu");
    sae_model_t *m = NULL;
    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    size_t n = m->n_weights;
    sae_model_free(m);
    sae_config_free(cfg);
    float *gs = malloc(n * sizeof *gs), *gd = malloc(n * sizeof *gd);
    assert_non_null(gs);
    assert_non_null(gd);
    int sparse = 0, dense = 1;
    sparse_grad("auto", x, gs, n, &sparse);
    sparse_grad("off", x, gd, n, &dense);
    assert_true(sparse);
    assert_false(dense);
    double diff = 0.0, top = 0.0;
    size_t nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        diff = fmax(diff, fabs((double)gs[i] - gd[i]));
        top = fmax(top, fabs((double)gd[i]));
        nonzero += gd[i] != 0.0f;
    }
    print_message("sparse vs dense gradient: max |diff| %.2e of max %.2e, %zu nonzero\n", diff,
                  top, nonzero);
    assert_true(nonzero > n / 4);
    assert_true(diff <= 1e-5 * top);
    free(gs);
    free(gd);
}

static void expect_refused(const char *k, const char *v, const char *needle)
{
    sae_config_t *cfg = gated_config();
    set(cfg, k, v);
    sae_model_t *m = NULL;
    tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_STATE);
    assert_null(m);
    if (!strstr(sae_last_error(), needle))
        fail_msg("message \"%s\" does not name \"%s\"", sae_last_error(), needle);
    sae_config_free(cfg);
}

static void test_refusals(void **state)
{
    (void)state;
    expect_refused("arch.tied", "true", "arch.tied");
    expect_refused("arch.hidden_activation", "sigmoid", "relu");
    expect_refused("topk.k", "3", "topk.k");
    expect_refused("arch.output_activation", "sigmoid", "mse");
    expect_refused("train.algorithm", "rank_order", "backprop");
    expect_refused("optim.type", "lbfgs", "lbfgs");
    expect_refused("arch.pre_encoder_bias", "true", "pre_encoder_bias");
    expect_refused("l1.decoder_norm", "true", "l1.decoder_norm");
    expect_refused("arch.layers", "input 1x1x6; dense 4 relu code; dense 6 linear", "gated");
    sae_config_t *cfg = gated_config();
    tu_assert_status(sae_config_set(cfg, "arch.gated", "maybe"), SAE_ERR_BAD_VALUE);
    tu_assert_status(sae_config_set_int(cfg, SAE_P_GATED, 2), SAE_ERR_RANGE);
    sae_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradients_against_differences),
        cmocka_unit_test(test_inference_and_files),
        cmocka_unit_test(test_penalty_warms_up),
        cmocka_unit_test(test_sparse_path_matches_dense),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
