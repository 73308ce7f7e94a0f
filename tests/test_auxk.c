/* The rest of Gao et al. 2024's top-k recipe: the decoder bias from data
 * (mean, geometric median), the pre-encoder bias, the AuxK loss, and the
 * unit-norm projection as a Riemannian gradient. SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/bias_init.h"
#include "optim/unit_norm.h"
#include "testutil.h"
#include "train/trainer.h"
#include "model/dense.h"

static void set(sae_config_t *cfg, const char *k, const char *v)
{
    if (sae_config_set(cfg, k, v) != SAE_OK)
        fail_msg("set %s=%s: %s", k, v, sae_config_errmsg(cfg));
}

static sae_model_t *make_model(const sae_config_t *cfg)
{
    sae_model_t *m = NULL;
    if (sae_model_create(cfg, &m) != SAE_OK)
        fail_msg("sae_model_create: %s", sae_last_error());
    return m;
}

static sae_trainer_t *make_trainer(sae_model_t *m)
{
    sae_trainer_t *t = NULL;
    if (sae_trainer_create(m, &t) != SAE_OK)
        fail_msg("sae_trainer_create: %s", sae_last_error());
    return t;
}

static const float *tensor(const sae_model_t *m, const char *name)
{
    const float *p = NULL;
    assert_int_equal(sae_model_tensor_by_name(m, name, NULL, NULL, &p), SAE_OK);
    return p;
}

/* ------------------------------------------------------------------------ */
/* Geometric median and mean                                                */
/* ------------------------------------------------------------------------ */

static void median_of(const float *pts, size_t n, size_t d, double *out, unsigned *iters)
{
    double work[16];
    assert_true(d <= 16);
    *iters = sae_rows_geometric_median(pts, n, d, n, out, work);
}

/* The Fermat point of a triangle whose angles are all below 120 degrees:
 * for (0,0), (1,0), (0,1) it lies on y = x at t with 6t^2 - 6t + 1 = 0
 * (minimise sqrt(2) t + 2 sqrt((1-t)^2 + t^2)), t = 1/2 - sqrt(3)/6. */
static void test_geometric_median_fermat_point(void **state)
{
    (void)state;
    const float tri[] = {0, 0, 1, 0, 0, 1};
    double y[2];
    unsigned it;
    median_of(tri, 3, 2, y, &it);
    double t = 0.5 - sqrt(3.0) / 6.0;
    print_message("Fermat point (%.9f, %.9f), exact %.9f, %u iterations\n", y[0], y[1], t, it);
    assert_true(fabs(y[0] - t) < 1e-7 && fabs(y[1] - t) < 1e-7);
    assert_true(it < SAE_GEOMEDIAN_MAX_ITER);
}

/* With an angle of 120 degrees or more the median is that vertex, a data
 * point: Weiszfeld's plain step is undefined there, Vardi-Zhang's stops. */
static void test_geometric_median_at_a_vertex(void **state)
{
    (void)state;
    const float tri[] = {0, 0, 1, 0, -0.5f, 0.1f};
    double y[2];
    unsigned it;
    median_of(tri, 3, 2, y, &it);
    print_message("obtuse vertex: (%.3g, %.3g), %u iterations\n", y[0], y[1], it);
    assert_true(fabs(y[0]) < 1e-7 && fabs(y[1]) < 1e-7);
    /* The mean is a data point and the median: the first step must not
     * divide by its zero distance. */
    const float cross[] = {0, 0, 1, 0, -1, 0, 0, 1, 0, -1};
    median_of(cross, 5, 2, y, &it);
    assert_true(isfinite(y[0]) && isfinite(y[1]));
    assert_true(fabs(y[0]) < 1e-12 && fabs(y[1]) < 1e-12);
    /* All rows equal. */
    const float same[] = {2, 3, 2, 3};
    median_of(same, 2, 2, y, &it);
    assert_true(y[0] == 2.0 && y[1] == 3.0);
}

/* Collinear rows: the geometric median is the middle one, whatever the
 * outlier; the mean follows the outlier. Through the public call, on a
 * 3-D model. */
static void test_geometric_median_robust_to_outliers(void **state)
{
    (void)state;
    const double dir[3] = {1.0 / 3, 2.0 / 3, 2.0 / 3}, base[3] = {0.5, -1, 2};
    const double ts[5] = {0, 1, 2, 3, 100};
    float x[15];
    for (int r = 0; r < 5; r++)
        for (int i = 0; i < 3; i++)
            x[r * 3 + i] = (float)(base[i] + ts[r] * dir[i]);
    sae_config_t *cfg = tu_config(3, 4);
    sae_model_t *m = make_model(cfg);
    const float *b = tensor(m, "decoder.bias");
    assert_int_equal(sae_model_init_decoder_bias(m, x, 5, SAE_BIAS_INIT_GEOMETRIC_MEDIAN), SAE_OK);
    double err_med = 0;
    for (int i = 0; i < 3; i++)
        err_med = fmax(err_med, fabs(b[i] - x[2 * 3 + i]));
    assert_int_equal(sae_model_init_decoder_bias(m, x, 5, SAE_BIAS_INIT_MEAN), SAE_OK);
    for (int i = 0; i < 3; i++)
        assert_true(fabs(b[i] - (base[i] + 21.2 * dir[i])) < 1e-5);
    print_message("collinear with an outlier: median off by %.3g, the mean by 19.2 steps\n",
                  err_med);
    assert_true(err_med < 1e-6);
    assert_int_equal(sae_model_init_decoder_bias(m, x, 5, SAE_BIAS_INIT_ZERO), SAE_OK);
    for (int i = 0; i < 3; i++)
        assert_true(b[i] == 0.0f);
    sae_model_free(m);
    sae_config_free(cfg);
}

/* A trainer with arch.bias_init = mean sets decoder.bias to the mean of
 * the first rows it is given (computed in double, rounded once), before
 * its first update, and only then. */
static void test_bias_init_by_trainer(void **state)
{
    (void)state;
    enum { D = 7, R = 24 };
    float x[R * D], y[R * D];
    tu_fill_uniform(x, R * D, -2, 3, 11);
    tu_fill_uniform(y, R * D, 5, 6, 12);
    sae_config_t *cfg = tu_config(D, 5);
    set(cfg, "arch.bias_init", "mean");
    set(cfg, "optim.type", "sgd");
    set(cfg, "optim.momentum", "0");
    set(cfg, "optim.lr", "1e-30"); /* an update too small to change a float */
    set(cfg, "train.batch_size", "32");
    sae_model_t *m = make_model(cfg);
    const float *b = tensor(m, "decoder.bias");
    for (int i = 0; i < D; i++)
        assert_true(b[i] == 0.0f);
    sae_trainer_t *t = make_trainer(m);
    sae_stats_t s;
    assert_int_equal(sae_trainer_step(t, x, R, &s), SAE_OK);
    for (int i = 0; i < D; i++) {
        double mean = 0;
        for (int r = 0; r < R; r++)
            mean += x[r * D + i];
        assert_true(b[i] == (float)(mean / R));
    }
    /* Later calls leave it to the optimizer. */
    float keep[D];
    memcpy(keep, b, sizeof keep);
    assert_int_equal(sae_trainer_step(t, y, R, &s), SAE_OK);
    assert_memory_equal(keep, b, sizeof keep);
    sae_trainer_free(t);
    sae_model_free(m);

    /* An explicit call first: the trainer keeps that bias. */
    set(cfg, "arch.bias_init", "geometric_median");
    m = make_model(cfg);
    assert_int_equal(sae_model_init_decoder_bias(m, y, R, SAE_BIAS_INIT_MEAN), SAE_OK);
    memcpy(keep, b = tensor(m, "decoder.bias"), sizeof keep);
    t = make_trainer(m);
    assert_int_equal(sae_trainer_fit(t, x, R, 1), SAE_OK);
    assert_memory_equal(keep, b, sizeof keep);
    sae_trainer_free(t);
    sae_model_free(m);

    /* The default leaves the zero bias of the init. */
    set(cfg, "arch.bias_init", "zero");
    m = make_model(cfg);
    t = make_trainer(m);
    assert_int_equal(sae_trainer_step(t, x, R, &s), SAE_OK);
    b = tensor(m, "decoder.bias");
    for (int i = 0; i < D; i++)
        assert_true(fabs(b[i]) < 1e-20);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

/* ------------------------------------------------------------------------ */
/* Pre-encoder bias                                                         */
/* ------------------------------------------------------------------------ */

/* Inference encodes x - b_pre: checked against a double computation from
 * the tensors, and against the trainer's code for the same rows. */
static void test_pre_encoder_bias_inference(void **state)
{
    (void)state;
    enum { D = 9, H = 12, R = 6 };
    float x[R * D], code[R * H], code_t[R * H];
    tu_fill_uniform(x, R * D, 1, 3, 4);
    sae_config_t *cfg = tu_config(D, H);
    set(cfg, "arch.hidden_activation", "relu");
    set(cfg, "arch.pre_encoder_bias", "true");
    set(cfg, "topk.k", "4");
    set(cfg, "topk.sparse_path", "on");
    sae_model_t *m = make_model(cfg);
    assert_int_equal(sae_model_init_decoder_bias(m, x, R, SAE_BIAS_INIT_GEOMETRIC_MEDIAN), SAE_OK);
    const float *we = tensor(m, "encoder.weight"), *be = tensor(m, "encoder.bias"),
                *bd = tensor(m, "decoder.bias");
    assert_int_equal(sae_model_encode(m, x, R, code), SAE_OK);
    int differs = 0;
    for (int r = 0; r < R; r++) {
        double z[H], zr[H];
        for (int j = 0; j < H; j++) {
            z[j] = be[j];
            zr[j] = be[j];
            for (int i = 0; i < D; i++) {
                z[j] += (double)we[j * D + i] * ((double)x[r * D + i] - bd[i]);
                zr[j] += (double)we[j * D + i] * x[r * D + i];
            }
        }
        /* The 4 largest, relu'd. */
        for (int j = 0; j < H; j++) {
            int above = 0;
            for (int l = 0; l < H; l++)
                above += z[l] > z[j] || (z[l] == z[j] && l < j);
            double want = above < 4 && z[j] > 0 ? z[j] : 0.0;
            assert_true(fabs(code[r * H + j] - want) < 1e-5);
            differs |= fabs(zr[j] - z[j]) > 1e-3;
        }
    }
    assert_true(differs); /* the bias is not zero: the option matters */
    sae_trainer_t *t = make_trainer(m);
    sae_stats_t s;
    assert_int_equal(sae_forward_backward(t, x, R, 0, 0, &s), SAE_OK);
    memcpy(code_t, t->ws.dense.h, sizeof code_t);
    for (int k = 0; k < R * H; k++)
        assert_true(fabs(code_t[k] - code[k]) < 1e-5);
    /* The prefix error with every unit is the reconstruction's. */
    float xh[R * D];
    assert_int_equal(sae_model_reconstruct(m, x, R, xh), SAE_OK);
    double want = 0, got;
    for (int r = 0; r < R; r++) {
        double e2 = 0;
        for (int i = 0; i < D; i++)
            e2 += (double)(x[r * D + i] - xh[r * D + i]) * (x[r * D + i] - xh[r * D + i]);
        want += sqrt(e2) / R;
    }
    size_t all = H;
    assert_int_equal(sae_model_prefix_errors(m, x, R, &all, 1, &got), SAE_OK);
    assert_true(fabs(got - want) < 1e-4 * want);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

static double gradcheck_with(sae_config_t *cfg, const float *x, size_t rows, int init_bias)
{
    sae_model_t *m = make_model(cfg);
    if (init_bias)
        assert_int_equal(sae_model_init_decoder_bias(m, x, rows, SAE_BIAS_INIT_MEAN), SAE_OK);
    sae_trainer_t *t = make_trainer(m);
    double err = -1;
    assert_int_equal(sae_trainer_gradcheck(t, x, rows, &err), SAE_OK);
    sae_trainer_free(t);
    sae_model_free(m);
    return err;
}

/* d/db_pre = the output term - We^T sum_b dz_b: float central differences
 * over the whole objective, dense and sparse top-k, tied and untied, and
 * a plain sigmoid model; then the double check. */
static void test_pre_encoder_bias_gradients(void **state)
{
    (void)state;
    enum { D = 10, H = 14, R = 5 };
    float x[R * D];
    tu_fill_uniform(x, R * D, 0.5f, 2.5f, 8);
    for (int tied = 0; tied < 2; tied++) {
        sae_config_t *cfg = tu_config(D, H);
        set(cfg, "arch.pre_encoder_bias", "true");
        set(cfg, "arch.tied", tied ? "true" : "false");
        set(cfg, "kl.weight", "0.1");
        double e_plain = gradcheck_with(cfg, x, R, 1);
        set(cfg, "arch.hidden_activation", "relu");
        set(cfg, "kl.weight", "0");
        set(cfg, "l1.weight", "0.01");
        set(cfg, "arch.init_scale", "2");
        set(cfg, "topk.k", "3");
        set(cfg, "topk.sparse_path", "off");
        double e_dense = gradcheck_with(cfg, x, R, 1);
        set(cfg, "topk.sparse_path", "on");
        double e_sparse = gradcheck_with(cfg, x, R, 1);
        print_message("pre-encoder bias gradcheck (tied %d): plain %.3g, top-k dense %.3g, "
                      "sparse %.3g\n",
                      tied, e_plain, e_dense, e_sparse);
        assert_true(e_plain < 1e-3 && e_dense < 1e-3 && e_sparse < 1e-3);
        sae_config_free(cfg);
    }
    /* In double: the independent implementation models the option. */
    sae_config_t *cfg = tu_config(D, H);
    set(cfg, "arch.pre_encoder_bias", "true");
    set(cfg, "kl.weight", "0.3");
    set(cfg, "decay.l2", "1e-3");
    sae_model_t *m = make_model(cfg);
    assert_int_equal(sae_model_init_decoder_bias(m, x, R, SAE_BIAS_INIT_GEOMETRIC_MEDIAN), SAE_OK);
    sae_trainer_t *t = make_trainer(m);
    double rel = -1, frel = -1;
    assert_int_equal(sae_trainer_gradcheck_double(t, x, R, &rel, &frel), SAE_OK);
    print_message("pre-encoder bias double gradcheck: %.3g, float vs double %.3g\n", rel, frel);
    assert_true(rel < 1e-9);
    assert_true(frel < 1e-6);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

/* ------------------------------------------------------------------------ */
/* AuxK                                                                     */
/* ------------------------------------------------------------------------ */

static sae_config_t *auxk_config(size_t d, size_t h, const char *k, const char *ka)
{
    sae_config_t *cfg = tu_config(d, h);
    set(cfg, "arch.hidden_activation", "relu");
    set(cfg, "arch.init_scale", "2");
    set(cfg, "topk.k", k);
    set(cfg, "auxk.k", ka);
    set(cfg, "auxk.dead_after", "1000");
    return cfg;
}

/* Marks every third unit dead (idle for longer than auxk.dead_after). */
static void kill_units(sae_trainer_t *t)
{
    for (size_t j = 0; j < t->model->code_dim; j++)
        t->ws.idle[j] = j % 3 == 0 ? 5000 : 0;
}

static double term(const sae_stats_t *s, const char *name)
{
    for (uint32_t i = 0; i < s->n_terms; i++)
        if (!strcmp(s->term_name[i], name))
            return s->term_loss[i];
    return NAN;
}

/* The AuxK gradient, with a fixed dead set and the residual held (as the
 * term defines it), against central differences; alpha large so that the
 * term dominates the objective. And the term's gradient touches only dead
 * units' rows. */
static void test_auxk_gradients(void **state)
{
    (void)state;
    enum { D = 10, H = 15, R = 5 };
    float x[R * D];
    tu_fill_uniform(x, R * D, 0, 1, 9);
    const char *paths[] = {"off", "on"};
    for (int tied = 0; tied < 2; tied++)
        for (int p = 0; p < 2; p++)
            for (int pre = 0; pre < 2; pre++) {
                sae_config_t *cfg = auxk_config(D, H, "3", "2");
                set(cfg, "auxk.alpha", "50");
                set(cfg, "topk.sparse_path", paths[p]);
                set(cfg, "arch.tied", tied ? "true" : "false");
                set(cfg, "arch.pre_encoder_bias", pre ? "true" : "false");
                double best = INFINITY, aux = 0;
                /* Top-k selections are kinks: the best of three draws of
                 * the weights (see test_topk.c). */
                for (int seed = 1; seed <= 3; seed++) {
                    char sv[8];
                    snprintf(sv, sizeof sv, "%d", seed);
                    set(cfg, "train.seed", sv);
                    sae_model_t *m = make_model(cfg);
                    if (pre)
                        assert_int_equal(sae_model_init_decoder_bias(m, x, R, SAE_BIAS_INIT_MEAN),
                                         SAE_OK);
                    sae_trainer_t *t = make_trainer(m);
                    kill_units(t);
                    sae_stats_t s;
                    assert_int_equal(sae_trainer_evaluate(t, x, R, &s), SAE_OK);
                    aux = term(&s, "auxk");
                    assert_true(aux > 0);
                    double err = -1;
                    assert_int_equal(sae_trainer_gradcheck(t, x, R, &err), SAE_OK);
                    best = err < best ? err : best;
                    sae_trainer_free(t);
                    sae_model_free(m);
                }
                print_message("AuxK gradcheck (tied %d, sparse %d, pre-bias %d): %.3g "
                              "(auxk term %.3g)\n",
                              tied, p, pre, best, aux);
                assert_true(best < 1e-3);
                sae_config_free(cfg);
            }

    /* Where the gradient goes: the difference with and without dead units
     * is zero outside the dead units' rows and biases. */
    sae_config_t *cfg = auxk_config(D, H, "3", "2");
    sae_model_t *m = make_model(cfg);
    sae_trainer_t *t = make_trainer(m);
    size_t np = m->n_weights;
    float *g0 = malloc(np * sizeof *g0);
    sae_stats_t s;
    assert_int_equal(sae_forward_backward(t, x, R, 0, 1, &s), SAE_OK);
    memcpy(g0, t->ws.grad, np * sizeof *g0);
    assert_true(term(&s, "auxk") == 0.0);
    kill_units(t);
    assert_int_equal(sae_forward_backward(t, x, R, 0, 1, &s), SAE_OK);
    assert_true(term(&s, "auxk") > 0.0);
    double moved_dead = 0;
    size_t ew = (size_t)(sae_dense(m)->enc_w - m->weights), eb = (size_t)(sae_dense(m)->enc_b - m->weights),
           dw = (size_t)(sae_dense(m)->dec_w - m->weights), db = (size_t)(sae_dense(m)->dec_b - m->weights);
    for (size_t j = 0; j < H; j++) {
        double dj = fabs(t->ws.grad[eb + j] - g0[eb + j]);
        for (size_t i = 0; i < D; i++)
            dj += fabs(t->ws.grad[ew + j * D + i] - g0[ew + j * D + i]) +
                  fabs(t->ws.grad[dw + j * D + i] - g0[dw + j * D + i]);
        if (j % 3 == 0)
            moved_dead += dj;
        else
            assert_true(dj == 0.0);
    }
    for (size_t i = 0; i < D; i++)
        assert_true(t->ws.grad[db + i] == g0[db + i]);
    assert_true(moved_dead > 0);
    free(g0);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

/* Dead fraction after a short top-k run where many units die, with and
 * without AuxK (same data, weights and batches). The rows are sparse
 * combinations of 64 atoms on top of a large common offset, which the
 * encoder reads as it is (no pre-encoder bias): at the start the few units
 * best aligned with the offset win every row, and the rest never fire. */
static double dead_after_training(int auxk, double *nmse)
{
    enum { D = 16, H = 64, R = 2048, A = 64 };
    sae_config_t *cfg = tu_config(D, H);
    set(cfg, "arch.hidden_activation", "relu");
    set(cfg, "topk.k", "4");
    set(cfg, "train.batch_size", "64");
    set(cfg, "optim.lr", "0.003");
    set(cfg, "train.seed", "3");
    set(cfg, "auxk.dead_after", "1024");
    if (auxk)
        set(cfg, "auxk.k", "16"); /* auxk.alpha: the default 1/32 */
    sae_model_t *m = make_model(cfg);
    sae_trainer_t *t = make_trainer(m);
    float *x = malloc((size_t)R * D * sizeof *x), *u = malloc((size_t)R * 3 * sizeof *u);
    float atoms[A * D];
    tu_fill_uniform(atoms, A * D, -1, 1, 21);
    tu_fill_uniform(u, (size_t)R * 3, 0, 1, 22);
    for (size_t r = 0; r < R; r++) {
        /* Two atoms, weights w and 2 - w, w in [0.5, 1.5). */
        size_t a1 = (size_t)(u[3 * r] * A), a2 = (size_t)(u[3 * r + 1] * A);
        float w = 0.5f + u[3 * r + 2];
        for (size_t i = 0; i < D; i++)
            x[r * D + i] = 2.0f + w * atoms[a1 * D + i] + (1.5f - u[3 * r + 2]) * atoms[a2 * D + i];
    }
    assert_int_equal(sae_trainer_fit(t, x, R, 30), SAE_OK);
    double dead = -1;
    assert_int_equal(sae_trainer_unit_activity(t, NULL, 0, 1024, &dead), SAE_OK);
    assert_int_equal(sae_model_reconstruction_error(m, x, R, nmse, NULL), SAE_OK);
    free(x);
    free(u);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
    return dead;
}

static void test_auxk_revives_dead_units(void **state)
{
    (void)state;
    double nmse0, nmse1;
    double without = dead_after_training(0, &nmse0), with = dead_after_training(1, &nmse1);
    print_message("dead fraction after 30 epochs: %.3f without AuxK, %.3f with (nmse %.4f, "
                  "%.4f)\n",
                  without, with, nmse0, nmse1);
    /* Measured: 0.734 without, 0.438 with; nmse 0.405 and 0.248. */
    assert_true(without > 0.5);
    assert_true(with < without - 0.2);
    assert_true(nmse1 < 0.8 * nmse0);
}

/* ------------------------------------------------------------------------ */
/* Unit-norm projection = Riemannian gradient                               */
/* ------------------------------------------------------------------------ */

/* On the sphere |w| = 1 the gradient of F(u) = f(u / |u|) at u = w is
 * (I - w w^T) grad f(w): central differences of f(normalize(w + eps e_i))
 * over every coordinate i give it, and the projected gradient must match
 * it (the unprojected one does not). */
static void test_unit_norm_projection_is_riemannian(void **state)
{
    (void)state;
    enum { D = 8, H = 6, R = 7 };
    float x[R * D];
    tu_fill_uniform(x, R * D, -1, 1, 31);
    sae_config_t *cfg = tu_config(D, H);
    set(cfg, "arch.unit_norm_decoder", "true");
    set(cfg, "arch.init_scale", "1.5");
    sae_model_t *m = make_model(cfg);
    sae_trainer_t *t = make_trainer(m);
    sae_stats_t s;
    assert_int_equal(sae_forward_backward(t, x, R, 0, 1, &s), SAE_OK);
    size_t dw = (size_t)(sae_dense(m)->dec_w - m->weights);
    float g[H * D], pg[H * D];
    memcpy(g, t->ws.grad + dw, sizeof g);
    memcpy(pg, g, sizeof g);
    sae_rows_project_out(pg, sae_dense(m)->dec_w, H, D);
    const double eps = 1e-3;
    double d_proj = 0, s_proj = 0, d_raw = 0, s_raw = 0;
    for (size_t j = 0; j < H; j++) {
        float keep[D];
        memcpy(keep, sae_dense(m)->dec_w + j * D, sizeof keep);
        for (size_t i = 0; i < D; i++) {
            double f[2];
            for (int side = 0; side < 2; side++) {
                double u[D], n2 = 0;
                for (size_t l = 0; l < D; l++) {
                    u[l] = keep[l] + (l == i ? (side ? -eps : eps) : 0.0);
                    n2 += u[l] * u[l];
                }
                for (size_t l = 0; l < D; l++)
                    sae_dense(m)->dec_w[j * D + l] = (float)(u[l] / sqrt(n2));
                assert_int_equal(sae_forward_backward(t, x, R, 0, 0, &s), SAE_OK);
                f[side] = s.loss;
            }
            memcpy(sae_dense(m)->dec_w + j * D, keep, sizeof keep);
            double num = (f[0] - f[1]) / (2 * eps), a = pg[j * D + i], r = g[j * D + i];
            d_proj += (num - a) * (num - a);
            s_proj += (num + a) * (num + a);
            d_raw += (num - r) * (num - r);
            s_raw += (num + r) * (num + r);
        }
    }
    double e_proj = sqrt(d_proj / s_proj), e_raw = sqrt(d_raw / s_raw);
    print_message("unit-norm rows: projected gradient vs sphere differences %.3g (unprojected "
                  "%.3g)\n",
                  e_proj, e_raw);
    assert_true(e_proj < 1e-3);
    assert_true(e_raw > 1e-2);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

/* ------------------------------------------------------------------------ */
/* Bad parameters                                                           */
/* ------------------------------------------------------------------------ */

static void expect_create(sae_config_t *cfg, sae_status_t want, const char *msg)
{
    sae_model_t *m = NULL;
    tu_assert_status(sae_model_create(cfg, &m), want);
    assert_null(m);
    if (strcmp(sae_last_error(), msg))
        fail_msg("message \"%s\", expected \"%s\"", sae_last_error(), msg);
}

static void test_bad_parameters(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(8, 10);
    tu_assert_status(sae_config_set(cfg, "auxk.alpha", "-1"), SAE_ERR_RANGE);
    assert_string_equal(sae_config_errmsg(cfg),
                        "auxk.alpha = -1 is out of range: must be in [0, 1e+06]");
    tu_assert_status(sae_config_set(cfg, "auxk.dead_after", "0"), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set(cfg, "auxk.k", "-2"), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set(cfg, "arch.bias_init", "median"), SAE_ERR_BAD_VALUE);
    tu_assert_status(sae_config_set_int(cfg, SAE_P_BIAS_INIT, 3), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set_float(cfg, SAE_P_AUXK_K, 2.0), SAE_ERR_TYPE);

    set(cfg, "arch.pre_encoder_bias", "true");
    set(cfg, "arch.bias", "false");
    expect_create(cfg, SAE_ERR_STATE,
                  "arch.pre_encoder_bias needs arch.bias = true (it acts on decoder.bias)");
    set(cfg, "arch.bias", "true");
    set(cfg, "train.algorithm", "nsc");
    expect_create(cfg, SAE_ERR_STATE,
                  "arch.pre_encoder_bias needs train.algorithm = backprop (nsc and rank_order "
                  "have no biases)");
    set(cfg, "train.algorithm", "backprop");
    set(cfg, "arch.pre_encoder_bias", "false");
    set(cfg, "arch.bias_init", "geometric_median");
    set(cfg, "arch.output_activation", "sigmoid");
    expect_create(cfg, SAE_ERR_STATE,
                  "arch.bias_init needs arch.output_activation = linear (decoder.bias must be a "
                  "point of the input space)");
    set(cfg, "arch.output_activation", "linear");
    set(cfg, "arch.bias_init", "zero");

    set(cfg, "auxk.k", "4");
    expect_create(cfg, SAE_ERR_STATE,
                  "auxk.k > 0 needs topk.k > 0 (AuxK revives the dead units of a top-k code)");
    set(cfg, "topk.k", "2");
    set(cfg, "auxk.k", "11");
    expect_create(cfg, SAE_ERR_STATE, "auxk.k = 11 must not exceed arch.hidden_dim = 10");
    set(cfg, "auxk.k", "4");
    set(cfg, "loss.type", "bce");
    set(cfg, "arch.output_activation", "sigmoid");
    expect_create(cfg, SAE_ERR_STATE,
                  "auxk.k > 0 needs loss.type = mse and arch.output_activation = linear (the "
                  "dead units reconstruct the residual x - x_hat)");
    set(cfg, "loss.type", "mse");
    set(cfg, "arch.output_activation", "linear");
    set(cfg, "optim.type", "lbfgs");
    expect_create(cfg, SAE_ERR_STATE,
                  "auxk.k > 0 cannot be combined with optim.type = lbfgs (its residual is held "
                  "constant, so it is no objective for a line search)");
    set(cfg, "optim.type", "adam");

    /* The explicit call. */
    sae_model_t *m = make_model(cfg);
    float x[16] = {0}, bad[16] = {0};
    bad[3] = NAN;
    tu_assert_status(sae_model_init_decoder_bias(NULL, x, 2, SAE_BIAS_INIT_MEAN), SAE_ERR_NULL);
    tu_assert_status(sae_model_init_decoder_bias(m, NULL, 2, SAE_BIAS_INIT_MEAN), SAE_ERR_NULL);
    tu_assert_status(sae_model_init_decoder_bias(m, x, 0, SAE_BIAS_INIT_MEAN), SAE_ERR_DIMENSION);
    tu_assert_status(sae_model_init_decoder_bias(m, x, 2, (sae_bias_init_t)3), SAE_ERR_RANGE);
    assert_string_equal(sae_model_errmsg(m), "sae_model_init_decoder_bias: unknown method 3");
    tu_assert_status(sae_model_init_decoder_bias(m, bad, 2, SAE_BIAS_INIT_MEAN), SAE_ERR_NONFINITE);
    sae_model_free(m);
    set(cfg, "auxk.k", "0");
    set(cfg, "topk.k", "0");
    set(cfg, "arch.bias", "false");
    m = make_model(cfg);
    tu_assert_status(sae_model_init_decoder_bias(m, x, 2, SAE_BIAS_INIT_MEAN), SAE_ERR_STATE);
    assert_string_equal(sae_model_errmsg(m), "sae_model_init_decoder_bias: the model has no "
                                             "decoder.bias (arch.bias = false)");
    sae_model_free(m);
    set(cfg, "arch.bias", "true");
    set(cfg, "arch.output_activation", "sigmoid");
    m = make_model(cfg);
    tu_assert_status(sae_model_init_decoder_bias(m, x, 2, SAE_BIAS_INIT_MEAN), SAE_ERR_STATE);
    sae_model_free(m);
    sae_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_geometric_median_fermat_point),
        cmocka_unit_test(test_geometric_median_at_a_vertex),
        cmocka_unit_test(test_geometric_median_robust_to_outliers),
        cmocka_unit_test(test_bias_init_by_trainer),
        cmocka_unit_test(test_pre_encoder_bias_inference),
        cmocka_unit_test(test_pre_encoder_bias_gradients),
        cmocka_unit_test(test_auxk_gradients),
        cmocka_unit_test(test_auxk_revives_dead_units),
        cmocka_unit_test(test_unit_norm_projection_is_riemannian),
        cmocka_unit_test(test_bad_parameters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
