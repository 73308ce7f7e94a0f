/* The rank-ordered autoencoder (train.algorithm = rank_order, Bertens 2016,
 * E4): one update checked against values worked out by hand, the ranking,
 * TReLU's custom derivative, the column clipping, the rate rule, inference,
 * training on structured patches, and the settings it refuses.
 * SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#include "core/rank.h"
#include "core/rng.h"
#include "model/model.h" /* to write chosen weights into the model */
#include "train/rank_order.h"
#include "model/dense.h"

static void set(sae_config_t *cfg, const char *k, const char *v)
{
    if (sae_config_set(cfg, k, v) != SAE_OK)
        fail_msg("set %s=%s: %s", k, v, sae_config_errmsg(cfg));
}

/* The model the algorithm needs: tied, no biases, TReLU both sides. */
static sae_config_t *ro_config(size_t d, size_t h, const char *lr, const char *max_norm,
                               const char *batch)
{
    sae_config_t *cfg = tu_config(d, h);
    set(cfg, "arch.tied", "true");
    set(cfg, "arch.bias", "false");
    set(cfg, "arch.hidden_activation", "trelu");
    set(cfg, "arch.output_activation", "trelu");
    set(cfg, "arch.init", "glorot_normal");
    set(cfg, "train.algorithm", "rank_order");
    set(cfg, "rank_order.lr", lr);
    set(cfg, "rank_order.max_norm", max_norm);
    set(cfg, "train.batch_size", batch);
    return cfg;
}

static sae_model_t *model_of(const sae_config_t *cfg)
{
    sae_model_t *m = NULL;
    if (sae_model_create(cfg, &m) != SAE_OK)
        fail_msg("sae_model_create: %s", sae_last_error());
    return m;
}

static sae_trainer_t *trainer_of(sae_model_t *m)
{
    sae_trainer_t *t = NULL;
    if (sae_trainer_create(m, &t) != SAE_OK)
        fail_msg("sae_trainer_create: %s", sae_last_error());
    return t;
}

static void assert_close(double got, double want, double tol, const char *what)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("%s: got %.9g, want %.9g (tolerance %g)", what, got, want, tol);
}

/* ------------------------------------------------------------------------ */
/* One update by hand                                                       */
/* ------------------------------------------------------------------------ */

/* D = 3 inputs, H = 3 units; W's columns (encoder.weight's rows)
 *   w0 = (1.5, 0, 1.5), w1 = (0, 1.2, 0.6), w2 = (-0.5, 0, 0.2),
 * one sample x = (0.6, 0.3, 0.9), rank_order.lr = 0.5, max_norm = 0.2:
 *
 *   z = x W / 3 = (2.25, 0.9, -0.12) / 3 = (0.75, 0.3, -0.04)
 *   h = clip(z, 0, 1) = (0.75, 0.3, 0); ranks: unit 0, unit 1 (unit 2 off)
 *   R_1 = clip(0.75 w0) = clip(1.125, 0, 1.125)     = (1, 0, 1)
 *   E_1 = x - R_1                                   = (-0.4, 0.3, -0.1)
 *   R_2 = clip(0.75 w0 + 0.3 w1) = clip(1.125, 0.36, 1.305) = (1, 0.36, 1)
 *   E_2 = E_H                                       = (-0.4, -0.06, -0.1)
 * decoder part, G[:, r_k] = h E_k:
 *   G0 = 0.75 E_1 = (-0.3, 0.225, -0.075),  G1 = 0.3 E_2 = (-0.12, -0.018, -0.03)
 * encoder errors, e_j = E_rank(j) . w_j / 3, through the gate:
 *   e0 = (-0.6 - 0.15) / 3 = -0.25     z0 > 0, e0 < 0: passes, >= -0.75
 *   e1 = (-0.072 - 0.06) / 3 = -0.044  z1 > 0, e1 < 0: passes, >= -0.3
 *   e2 = E_H . w2 / 3 = (0.2 - 0.02) / 3 = 0.06
 *                                      z2 < 0, e2 > 0: passes, clamped to
 *                                      -z2 = 0.04 (no overshoot past 0)
 * G += x e^T:
 *   G0 = (-0.45, 0.15, -0.3)            |G0| = sqrt(0.315) > 0.2: scaled
 *   G1 = (-0.1464, -0.0312, -0.0696)    |G1| = sqrt(0.02725056) < 0.2
 *   G2 = (0.024, 0.012, 0.036)
 * W += 0.5 G: w0 += 0.5 * 0.2 / sqrt(0.315) * G0, w1 += 0.5 G1, w2 += 0.5 G2.
 * Statistics: error ||E_H|| = sqrt(0.1736), 2 active units, mean h = 1.05/3. */
static const float tiny_w[3 * 3] = {1.5f, 0.0f, 1.5f, 0.0f, 1.2f, 0.6f, -0.5f, 0.0f, 0.2f};
static const float tiny_x[3] = {0.6f, 0.3f, 0.9f};

static sae_model_t *tiny_model(sae_config_t **cfg_out)
{
    sae_config_t *cfg = ro_config(3, 3, "0.5", "0.2", "2");
    sae_model_t *m = model_of(cfg);
    memcpy(sae_dense(m)->enc_w, tiny_w, sizeof tiny_w);
    *cfg_out = cfg;
    return m;
}

static void check_tiny_stats(const sae_stats_t *s, const char *when)
{
    char what[64];
    snprintf(what, sizeof what, "%s recon_loss", when);
    assert_close(s->recon_loss, sqrt(0.1736), 1e-6, what);
    snprintf(what, sizeof what, "%s loss", when);
    assert_close(s->loss, s->recon_loss, 0.0, what);
    snprintf(what, sizeof what, "%s l0", when);
    assert_close(s->l0, 2.0, 0.0, what);
    snprintf(what, sizeof what, "%s mean_activation", when);
    assert_close(s->mean_activation, 1.05 / 3.0, 1e-7, what);
    assert_int_equal(s->samples, 1);
    assert_int_equal(s->n_terms, 0);
}

static void test_one_update_by_hand(void **state)
{
    (void)state;
    sae_config_t *cfg;
    sae_model_t *m = tiny_model(&cfg);
    sae_trainer_t *t = trainer_of(m);

    /* Evaluation first: the same statistics, the weights untouched. */
    sae_stats_t s;
    tu_assert_status(sae_trainer_evaluate(t, tiny_x, 1, &s), SAE_OK);
    check_tiny_stats(&s, "evaluate");
    assert_close(s.learning_rate, 0.5, 0.0, "evaluate learning_rate");
    assert_memory_equal(sae_dense(m)->enc_w, tiny_w, sizeof tiny_w);

    tu_assert_status(sae_trainer_step(t, tiny_x, 1, &s), SAE_OK);
    check_tiny_stats(&s, "step");
    assert_close(s.learning_rate, 0.5, 0.0, "step learning_rate");
    assert_int_equal(s.step, 1);
    assert_int_equal(sae_trainer_steps(t), 1);

    const double f0 = 0.5 * 0.2 / sqrt(0.315);
    const double want[9] = {
        1.5 + f0 * -0.45,    0.0 + f0 * 0.15,     1.5 + f0 * -0.3,     /* clipped */
        0.0 + 0.5 * -0.1464, 1.2 + 0.5 * -0.0312, 0.6 + 0.5 * -0.0696, /* not clipped */
        -0.5 + 0.5 * 0.024,  0.0 + 0.5 * 0.012,   0.2 + 0.5 * 0.036,   /* inactive unit */
    };
    for (int i = 0; i < 9; i++) {
        char what[32];
        snprintf(what, sizeof what, "encoder.weight[%d]", i);
        assert_close(sae_dense(m)->enc_w[i], want[i], 2e-7, what);
    }

    /* A batch averages its rows' directions before clipping: two copies of
     * x take the same step as x alone. */
    float two[6];
    memcpy(two, tiny_x, sizeof tiny_x);
    memcpy(two + 3, tiny_x, sizeof tiny_x);
    memcpy(sae_dense(m)->enc_w, tiny_w, sizeof tiny_w);
    tu_assert_status(sae_trainer_step(t, two, 2, &s), SAE_OK);
    for (int i = 0; i < 9; i++)
        assert_close(sae_dense(m)->enc_w[i], want[i], 2e-7, "batch of two copies");
    assert_int_equal(s.samples, 2);

    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

/* Inference computes the same forward pass: the code h = clip(x W / D) and
 * the reconstruction R_H = clip(W h); the model file keeps the algorithm,
 * so a loaded model still divides by D. */
static void test_inference(void **state)
{
    (void)state;
    sae_config_t *cfg;
    sae_model_t *m = tiny_model(&cfg);
    float code[3], back[3];
    tu_assert_status(sae_model_encode(m, tiny_x, 1, code), SAE_OK);
    assert_close(code[0], 0.75, 1e-7, "h0");
    assert_close(code[1], 0.3, 1e-7, "h1");
    assert_close(code[2], 0.0, 0.0, "h2 (z < 0)");
    tu_assert_status(sae_model_reconstruct(m, tiny_x, 1, back), SAE_OK);
    assert_close(back[0], 1.0, 0.0, "R_H[0] (clipped)");
    assert_close(back[1], 0.36, 1e-7, "R_H[1]");
    assert_close(back[2], 1.0, 0.0, "R_H[2] (clipped)");

    const char *dir = tu_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/ro.safetensors", dir);
    tu_assert_status(sae_model_save(m, path), SAE_OK);
    sae_model_t *loaded = NULL;
    tu_assert_status(sae_model_load(path, &loaded), SAE_OK);
    float again[3];
    tu_assert_status(sae_model_encode(loaded, tiny_x, 1, again), SAE_OK);
    assert_memory_equal(again, code, sizeof code);
    sae_model_free(loaded);
    remove(path);
    rmdir(dir);

    sae_model_free(m);
    sae_config_free(cfg);
}

/* The error from the top k units (E4's "error using the top k units") on
 * the case above: ||x|| with none, ||E_1|| with the first, ||E_H|| from the
 * second on (the third unit is off); rows average. */
static void test_prefix_errors(void **state)
{
    (void)state;
    sae_config_t *cfg;
    sae_model_t *m = tiny_model(&cfg);
    const size_t ks[5] = {3, 0, 1, 2, 1};
    double err[5];
    tu_assert_status(sae_model_prefix_errors(m, tiny_x, 1, ks, 5, err), SAE_OK);
    assert_close(err[0], sqrt(0.1736), 1e-6, "k = 3 (all)");
    assert_close(err[1], sqrt(1.26), 1e-6, "k = 0: ||x||");
    assert_close(err[2], sqrt(0.26), 1e-6, "k = 1: ||E_1||");
    assert_close(err[3], sqrt(0.1736), 1e-6, "k = 2: ||E_2||");
    assert_close(err[4], err[2], 0.0, "k = 1 again");
    /* Two rows: x and 0 (whose residuals are 0 at every k). */
    float two[6] = {0.6f, 0.3f, 0.9f, 0.0f, 0.0f, 0.0f};
    tu_assert_status(sae_model_prefix_errors(m, two, 2, ks, 3, err), SAE_OK);
    assert_close(err[1], 0.5 * sqrt(1.26), 1e-6, "mean over two rows");

    tu_assert_status(sae_model_prefix_errors(m, tiny_x, 1, ks, 0, NULL), SAE_OK);
    const size_t too_big = 4;
    tu_assert_status(sae_model_prefix_errors(m, tiny_x, 1, &too_big, 1, err), SAE_ERR_RANGE);
    assert_non_null(strstr(sae_model_errmsg(m), "ks[0]"));
    tu_assert_status(sae_model_prefix_errors(m, tiny_x, 0, ks, 1, err), SAE_ERR_DIMENSION);
    tu_assert_status(sae_model_prefix_errors(m, NULL, 1, ks, 1, err), SAE_ERR_NULL);
    tu_assert_status(sae_model_prefix_errors(m, tiny_x, 1, NULL, 1, err), SAE_ERR_NULL);
    tu_assert_status(sae_model_prefix_errors(m, tiny_x, 1, ks, 1, NULL), SAE_ERR_NULL);
    tu_assert_status(sae_model_prefix_errors(NULL, tiny_x, 1, ks, 1, err), SAE_ERR_NULL);
    const float bad[3] = {0.1f, NAN, 0.2f};
    tu_assert_status(sae_model_prefix_errors(m, bad, 1, ks, 1, err), SAE_ERR_NONFINITE);
    sae_model_free(m);
    sae_config_free(cfg);
}

/* Any model: with every unit the error is that of sae_model_reconstruct,
 * with none that of the output activation of the bias alone. An untied
 * sigmoid model with biases, on more rows than one chunk of 256. */
static void test_prefix_errors_any_model(void **state)
{
    (void)state;
    enum { D = 10, H = 8, ROWS = 300 };
    sae_config_t *cfg = tu_config(D, H);
    set(cfg, "train.seed", "4");
    set(cfg, "arch.init_scale", "3");
    set(cfg, "arch.output_activation", "sigmoid");
    sae_model_t *m = model_of(cfg);
    tu_fill_uniform(sae_dense(m)->enc_b, H, -0.5f, 0.5f, 7);
    tu_fill_uniform(sae_dense(m)->dec_b, D, -0.5f, 0.5f, 8);
    float *x = malloc(ROWS * D * sizeof *x), *back = malloc(ROWS * D * sizeof *back);
    assert_non_null(x);
    assert_non_null(back);
    tu_fill_uniform(x, ROWS * D, 0, 1, 6);
    tu_assert_status(sae_model_reconstruct(m, x, ROWS, back), SAE_OK);
    double whole = 0.0, bias_only = 0.0;
    for (size_t r = 0; r < ROWS; r++) {
        double sq = 0.0, sb = 0.0;
        for (size_t i = 0; i < D; i++) {
            double e = (double)x[r * D + i] - back[r * D + i];
            double b = (double)x[r * D + i] - 1.0 / (1.0 + exp(-(double)sae_dense(m)->dec_b[i]));
            sq += e * e;
            sb += b * b;
        }
        whole += sqrt(sq) / ROWS;
        bias_only += sqrt(sb) / ROWS;
    }
    const size_t ks[3] = {H, 0, 1};
    double err[3];
    tu_assert_status(sae_model_prefix_errors(m, x, ROWS, ks, 3, err), SAE_OK);
    assert_close(err[0], whole, 1e-5, "k = H is the reconstruction's error");
    assert_close(err[1], bias_only, 1e-6, "k = 0 is the bias alone");
    free(x);
    free(back);
    sae_model_free(m);
    sae_config_free(cfg);
}

/* ------------------------------------------------------------------------ */
/* The pieces                                                               */
/* ------------------------------------------------------------------------ */

/* Largest first; equal values put the higher index first (numpy's stable
 * argsort read backwards); positive_only keeps the z > 0 units. */
static void test_ranking(void **state)
{
    (void)state;
    const float z[6] = {0.5f, 0.9f, 0.5f, -1.0f, 0.9f, 0.0f};
    sae_ranked_t rk[6];
    assert_int_equal(sae_rank_units(z, 6, 1, rk), 4);
    const uint32_t active[4] = {4, 1, 2, 0};
    for (int k = 0; k < 4; k++)
        assert_int_equal(rk[k].unit, active[k]);
    assert_int_equal(sae_rank_units(z, 6, 0, rk), 6);
    const uint32_t all[6] = {4, 1, 2, 0, 5, 3};
    for (int k = 0; k < 6; k++) {
        assert_int_equal(rk[k].unit, all[k]);
        assert_true(rk[k].z == z[all[k]]);
    }
    const float none[3] = {-0.1f, 0.0f, -2.0f};
    assert_int_equal(sae_rank_units(none, 3, 1, rk), 0);
}

/* RankOrderedAutoencoder.py's forward_prop: e passes where sign(e) !=
 * sign(z), and never carries z past 0. */
static void test_trelu_derivative(void **state)
{
    (void)state;
    static const struct {
        float z, e, want;
        const char *what;
    } cases[] = {
        {0.5f, 0.2f, 0.0f, "active, pushed up: blocked"},
        {0.5f, -0.2f, -0.2f, "active, pushed down: passes"},
        {0.5f, -0.8f, -0.5f, "active, pushed down past 0: clamped to -z"},
        {1.7f, -0.3f, -0.3f, "saturated, pushed down: passes"},
        {1.7f, 0.3f, 0.0f, "saturated, pushed up: blocked"},
        {-0.3f, 0.1f, 0.1f, "inactive, pushed up: passes"},
        {-0.3f, 0.5f, 0.3f, "inactive, pushed up past 0: clamped to -z"},
        {-0.3f, -0.1f, 0.0f, "inactive, pushed down: blocked"},
        {0.0f, 0.4f, 0.4f, "z = 0: passes either way"},
        {0.0f, -0.4f, -0.4f, "z = 0: passes either way"},
        {0.5f, 0.0f, 0.0f, "no error"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_close(sae_rank_order_gate(cases[i].z, cases[i].e), cases[i].want, 0.0,
                     cases[i].what);
}

/* Each vector longer than max_norm is scaled to it; the rest, and
 * everything when max_norm is 0, stay as they are. */
static void test_column_clipping(void **state)
{
    (void)state;
    float v[3 * 2] = {3.0f, 4.0f, 0.3f, 0.4f, 0.0f, 0.0f}; /* norms 5, 0.5, 0 */
    float keep[6];
    memcpy(keep, v, sizeof v);
    sae_rank_order_clip(v, 3, 2, 0.0f);
    assert_memory_equal(v, keep, sizeof v);
    sae_rank_order_clip(v, 3, 2, 1.0f);
    assert_close(v[0], 0.6, 1e-7, "scaled to norm 1");
    assert_close(v[1], 0.8, 1e-7, "scaled to norm 1");
    assert_true(v[2] == 0.3f && v[3] == 0.4f);
    assert_true(v[4] == 0.0f && v[5] == 0.0f);
    sae_rank_order_clip(v, 3, 2, 0.5f);
    assert_close(v[0], 0.3, 1e-7, "scaled to norm 0.5");
    assert_true(v[2] == 0.3f && v[3] == 0.4f); /* exactly at the limit */
}

/* Trainer.py: after epoch i > 0, lr *= 0.9 unless error_i * 1.01 <
 * error_{i-1}. */
static void test_rate_rule(void **state)
{
    (void)state;
    sae_config_t *cfg = ro_config(3, 3, "2", "0.1", "1");
    sae_model_t *m = model_of(cfg);
    sae_trainer_t *t = trainer_of(m);
    assert_close(sae_rank_order_rate(t), 2.0, 0.0, "start");
    sae_rank_order_epoch_end(t, 1.0);
    assert_close(sae_rank_order_rate(t), 2.0, 0.0, "the first epoch never decays");
    sae_rank_order_epoch_end(t, 0.98); /* 2% better */
    assert_close(sae_rank_order_rate(t), 2.0, 0.0, "fell by 2%");
    sae_rank_order_epoch_end(t, 0.975); /* 0.5% better */
    assert_close(sae_rank_order_rate(t), 1.8, 1e-12, "fell by 0.5%");
    sae_rank_order_epoch_end(t, 0.99); /* worse */
    assert_close(sae_rank_order_rate(t), 1.62, 1e-12, "rose");
    sae_rank_order_epoch_end(t, 0.5);
    assert_close(sae_rank_order_rate(t), 1.62, 1e-12, "halved");
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

/* ------------------------------------------------------------------------ */
/* Training                                                                 */
/* ------------------------------------------------------------------------ */

enum { SIDE = 7, CH = 3, DIM = SIDE * SIDE * CH };

/* Structured colour patches in [0, 1), like natural-image patches at this
 * size: a base colour, a linear ramp of random direction and strength
 * tinted by a second colour, and a little noise. */
static float *make_patches(size_t n, uint64_t seed)
{
    float *x = malloc(n * DIM * sizeof *x);
    assert_non_null(x);
    sae_rng_t rng;
    sae_rng_seed(&rng, seed);
    for (size_t r = 0; r < n; r++) {
        float base[CH], tint[CH];
        for (int c = 0; c < CH; c++) {
            base[c] = 0.2f + 0.5f * sae_rng_uniform(&rng);
            tint[c] = 0.5f + 0.5f * sae_rng_uniform(&rng);
        }
        float angle = 6.2831853f * sae_rng_uniform(&rng);
        float amp = 0.3f * sae_rng_uniform(&rng);
        float gx = cosf(angle) * amp / SIDE, gy = sinf(angle) * amp / SIDE;
        for (int i = 0; i < SIDE; i++)
            for (int j = 0; j < SIDE; j++)
                for (int c = 0; c < CH; c++) {
                    float v = base[c] + tint[c] * (gx * (float)(j - 3) + gy * (float)(i - 3)) +
                              0.02f * (sae_rng_uniform(&rng) - 0.5f);
                    x[r * DIM + (size_t)(i * SIDE + j) * CH + (size_t)c] =
                        fminf(fmaxf(v, 0.0f), 0.999f);
                }
    }
    return x;
}

typedef struct epochs_seen {
    double error[8], rate[8];
    int n;
} epochs_seen_t;

static int on_progress(sae_progress_kind_t kind, const sae_stats_t *s, void *user_data)
{
    epochs_seen_t *e = user_data;
    if (kind == SAE_PROGRESS_EPOCH && e->n < 8) {
        e->error[e->n] = s->recon_loss;
        e->rate[e->n] = s->learning_rate;
        e->n++;
    }
    return 0;
}

/* E4's setting (D = 147, online updates, lr 1, max_norm 0.1) with 49 units
 * on 1,500 patches: the error falls epoch by epoch, held-out patches follow
 * the training ones, and some units but not all are active. */
static void test_error_falls_on_patches(void **state)
{
    (void)state;
    enum { N = 1500, N_TEST = 300, EPOCHS = 5 };
    float *x = make_patches(N, 3), *xt = make_patches(N_TEST, 4);
    sae_config_t *cfg = ro_config(DIM, 49, "1", "0.1", "1");
    set(cfg, "train.seed", "5");
    sae_model_t *m = model_of(cfg);
    sae_trainer_t *t = trainer_of(m);
    epochs_seen_t seen = {{0}, {0}, 0};
    tu_assert_status(sae_trainer_set_callback(t, on_progress, &seen), SAE_OK);
    sae_stats_t before, after;
    tu_assert_status(sae_trainer_evaluate(t, xt, N_TEST, &before), SAE_OK);
    tu_assert_status(sae_trainer_fit(t, x, N, EPOCHS), SAE_OK);
    tu_assert_status(sae_trainer_evaluate(t, xt, N_TEST, &after), SAE_OK);
    assert_int_equal(seen.n, EPOCHS);
    for (int e = 0; e < EPOCHS; e++)
        printf("epoch %d: train error %.4f, rate %.3f\n", e + 1, seen.error[e], seen.rate[e]);
    printf("test error %.4f -> %.4f, active units %.1f of 49\n", before.recon_loss,
           after.recon_loss, after.l0);
    assert_true(seen.error[EPOCHS - 1] < 0.7 * seen.error[0]);
    assert_true(seen.error[1] < seen.error[0]);
    assert_true(after.recon_loss < 0.5 * before.recon_loss);
    assert_true(fabs(after.recon_loss - seen.error[EPOCHS - 1]) < 0.25 * seen.error[EPOCHS - 1]);
    assert_true(after.l0 > 1.0 && after.l0 < 49.0);
    assert_true(sae_all_finite(sae_dense(m)->enc_w, 49 * DIM));
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
    free(x);
    free(xt);
}

/* ------------------------------------------------------------------------ */
/* What it refuses                                                          */
/* ------------------------------------------------------------------------ */

static void expect_refused(sae_config_t *cfg, const char *needle)
{
    sae_model_t *m = NULL;
    tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_STATE);
    assert_null(m);
    const char *msg = sae_last_error();
    if (!strstr(msg, "rank_order") || !strstr(msg, needle))
        fail_msg("message '%s' should name rank_order and '%s'", msg, needle);
    sae_config_free(cfg);
}

static void test_refused_configs(void **state)
{
    (void)state;
    sae_config_t *cfg = ro_config(6, 4, "1", "0.1", "1");
    set(cfg, "arch.tied", "false");
    expect_refused(cfg, "arch.tied");
    cfg = ro_config(6, 4, "1", "0.1", "1");
    set(cfg, "arch.bias", "true");
    expect_refused(cfg, "arch.bias");
    cfg = ro_config(6, 4, "1", "0.1", "1");
    set(cfg, "arch.hidden_activation", "relu");
    expect_refused(cfg, "trelu");
    cfg = ro_config(6, 4, "1", "0.1", "1");
    set(cfg, "arch.output_activation", "linear");
    expect_refused(cfg, "trelu");
    cfg = ro_config(6, 4, "1", "0.1", "1");
    set(cfg, "l1.weight", "0.1");
    expect_refused(cfg, "regularizer");
    cfg = ro_config(6, 4, "1", "0.1", "1");
    set(cfg, "decay.l2", "0.001");
    expect_refused(cfg, "decay.l2");
    cfg = ro_config(6, 4, "1", "0.1", "1");
    set(cfg, "corrupt.noise_std", "0.1");
    expect_refused(cfg, "corruption");
    cfg = ro_config(6, 4, "1", "0.1", "1");
    set(cfg, "topk.k", "2");
    expect_refused(cfg, "topk.k");
    cfg = ro_config(6, 4, "1", "0.1", "1");
    set(cfg, "schedule.decay_every", "100");
    expect_refused(cfg, "schedule.decay_every");

    /* Parameter bounds. */
    cfg = tu_config(6, 4);
    tu_assert_status(sae_config_set(cfg, "rank_order.lr", "0"), SAE_ERR_RANGE);
    assert_non_null(strstr(sae_config_errmsg(cfg), "rank_order.lr"));
    tu_assert_status(sae_config_set(cfg, "rank_order.max_norm", "-0.1"), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set(cfg, "rank_order.max_norm", "0"), SAE_OK); /* no clipping */
    tu_assert_status(sae_config_set(cfg, "rank_order.decay_factor", "0"), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set(cfg, "rank_order.decay_factor", "1.01"), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set(cfg, "rank_order.decay_factor", "1"), SAE_OK); /* no decay */
    tu_assert_status(sae_config_set(cfg, "rank_order.min_improvement", "-1"), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set(cfg, "train.algorithm", "rank-order"), SAE_ERR_BAD_VALUE);
    assert_non_null(strstr(sae_config_errmsg(cfg), "rank_order"));
    sae_config_free(cfg);

    /* It follows no gradient: the gradient check has nothing to check. */
    cfg = ro_config(6, 4, "1", "0.1", "2");
    sae_model_t *m = model_of(cfg);
    sae_trainer_t *t = trainer_of(m);
    float x[12];
    tu_fill_uniform(x, 12, 0, 1, 9);
    double err = 0.0;
    tu_assert_status(sae_trainer_gradcheck(t, x, 2, &err), SAE_ERR_STATE);
    assert_non_null(strstr(sae_trainer_errmsg(t), "rank_order"));
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_update_by_hand),
        cmocka_unit_test(test_inference),
        cmocka_unit_test(test_prefix_errors),
        cmocka_unit_test(test_prefix_errors_any_model),
        cmocka_unit_test(test_ranking),
        cmocka_unit_test(test_trelu_derivative),
        cmocka_unit_test(test_column_clipping),
        cmocka_unit_test(test_rate_rule),
        cmocka_unit_test(test_error_falls_on_patches),
        cmocka_unit_test(test_refused_configs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
