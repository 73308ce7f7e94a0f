/* SPDX-License-Identifier: MIT */
/* E5: five ways to sparse codes on MNIST digits (after Jae Duk Seo's
 * comparison of sparse coding methods in TensorFlow), with libsae's public
 * API only.
 *
 * One shared setting, 784 -> 196 code units, batches of 100, the same
 * number of epochs over the same 8,000 training digits, Adam at 1e-3
 * wherever there is a loss to descend, and five ways to a code:
 *   a) a plain autoencoder: sigmoid code, sigmoid output, MSE;
 *   b) the same with L2 weight decay (decay.l2, Ng's MNIST lambda 3e-3);
 *   c) Ng's sparse autoencoder: b plus the KL sparsity term (kl.weight 3,
 *      kl.rho 0.1), as in the UFLDL exercise;
 *   d) neural sparse coding (Arora, Ge, Ma & Moitra 2015): train.algorithm
 *      = nsc, a tied, linear, bias-free dictionary learned by a Hebbian
 *      update with no loss, on centred digits scaled to unit mean norm;
 *   e) a k-sparse autoencoder (Makhzani & Frey 2013): linear, tied, k
 *      annealed from 100 to 25 over the first half of training, 3k = 75
 *      units kept at encode time.
 * For each it measures, on the 1,000 held-out test digits: the
 * reconstruction MSE (per pixel, in [0, 1] pixel units), the mean L0 of the
 * codes, the fraction of units never active, and the accuracy of a linear
 * probe (softmax regression, common/probe.c) trained on the codes of the
 * training digits; raw pixels are the baseline row. Pictures: each case's
 * learned weights after 10%, 50% and 100% of training, reconstructions,
 * the validation MSE per epoch and the table as bars.
 * docs/experiments/e5.md has the results and the choices made. */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sae.h>

#include "common/args.h"
#include "common/dataset.h"
#include "common/digits.h"
#include "common/font.h"
#include "common/mnist_split.h"
#include "common/plot.h"
#include "common/probe.h"
#include "common/progress.h"
#include "common/report.h"
#include "common/results.h"
#include "common/sae_check.h"

#define NAME               "five_ways"
#define HIDDEN             196
#define BATCH              100
#define LR                 1e-3
#define EPOCHS             100
#define QUICK_EPOCHS       4
#define QUICK_PROBE_EPOCHS 5
#define N_CLASSES          10
/* b and c: Ng's MNIST exercise (J = 1/m sum 1/2 ||x^ - x||^2 + ...). */
#define L2_LAMBDA 3e-3
#define KL_BETA   3.0
#define KL_RHO    0.1
/* d: neural sparse coding. */
#define NSC_TAU 0.1
#define NSC_ETA 2.0
/* e: k-sparse. */
#define TOPK_K       25
#define TOPK_K_START 100
#define TOPK_ALPHA   3.0
/* A sigmoid unit counts as active above this (the library's sae_stats_t
 * l0 uses the same); linear codes count every nonzero entry. */
#define SIGMOID_ACTIVE 1e-3
/* The table's second L0, for every case: |h| above this fraction of the
 * largest |h| of the row. */
#define REL_ACTIVE 0.1
#define N_SNAP     3
static const double snap_fraction[N_SNAP] = {0.1, 0.5, 1.0};

typedef enum case_kind { PLAIN, L2, KL, NSC, TOPK, N_CASES } case_kind;

/* The input of case d: y = (x - mean) / norm_scale. */
typedef struct centring {
    float *mean;       /* [784], of the training digits */
    double norm_scale; /* mean ||x - mean|| over the training digits */
} centring;

typedef struct fcase {
    case_kind k;
    const char *name;  /* results.json and file names */
    const char *title; /* for the table and pictures */
    sae_model_t *model;
    ex_progress progress;
    uint64_t steps;
    double seconds;
    float *snap[N_SNAP]; /* copies of encoder.weight [HIDDEN x 784] */
    uint64_t snap_epoch[N_SNAP];
    double *val_mse; /* after each epoch [epochs] */
    double *val_epoch;
    size_t n_val;
    /* measured on the test split */
    double recon_mse, l0, l0_rel, dead_fraction, probe_accuracy, probe_train_loss;
} fcase;

typedef struct baseline {
    double l0, l0_rel, dead_fraction, probe_accuracy, probe_train_loss;
} baseline;

static const ex_color case_color[N_CASES] = {
    {31, 100, 180}, {214, 96, 24}, {44, 150, 44}, {200, 40, 40}, {130, 80, 180}};
#define PIXELS_COLOR EX_RGB(120, 120, 120)

/* ---- case d's input ------------------------------------------------------ */

static void centring_fit(centring *c, const ex_dataset *train)
{
    size_t d = train->dim;
    c->mean = ex_xmalloc(NAME, d * sizeof *c->mean);
    double *sum = ex_xmalloc(NAME, d * sizeof *sum);
    memset(sum, 0, d * sizeof *sum);
    for (size_t r = 0; r < train->rows; r++)
        for (size_t k = 0; k < d; k++)
            sum[k] += train->x[r * d + k];
    for (size_t k = 0; k < d; k++)
        c->mean[k] = (float)(sum[k] / (double)train->rows);
    free(sum);
    double norms = 0.0;
    for (size_t r = 0; r < train->rows; r++) {
        double s = 0.0;
        for (size_t k = 0; k < d; k++) {
            double v = train->x[r * d + k] - c->mean[k];
            s += v * v;
        }
        norms += sqrt(s);
    }
    c->norm_scale = norms / (double)train->rows;
}

/* A new buffer with the rows as case k sees them. */
static float *case_input(case_kind k, const centring *c, const float *x, size_t rows)
{
    float *y = ex_xmalloc(NAME, rows * EX_DIGIT_PIXELS * sizeof *y);
    if (k != NSC) {
        memcpy(y, x, rows * EX_DIGIT_PIXELS * sizeof *y);
        return y;
    }
    float inv = (float)(1.0 / c->norm_scale);
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < EX_DIGIT_PIXELS; j++)
            y[r * EX_DIGIT_PIXELS + j] = (x[r * EX_DIGIT_PIXELS + j] - c->mean[j]) * inv;
    return y;
}

/* Back from case k's input space to pixels, in place. */
static void case_output(case_kind k, const centring *c, float *y, size_t rows)
{
    if (k != NSC)
        return;
    float s = (float)c->norm_scale;
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < EX_DIGIT_PIXELS; j++)
            y[r * EX_DIGIT_PIXELS + j] = y[r * EX_DIGIT_PIXELS + j] * s + c->mean[j];
}

/* ---- the five configurations -------------------------------------------- */

static sae_config_t *make_config(case_kind k, uint64_t seed, uint64_t total_steps)
{
    sae_config_t *cfg = NULL;
    ex_check_sae(NAME, sae_config_create(&cfg), "sae_config_create", sae_last_error());
#define SET_I(p, v)                                                                                \
    ex_check_sae(NAME, sae_config_set_int(cfg, (p), (v)), #p, sae_config_errmsg(cfg))
#define SET_F(p, v)                                                                                \
    ex_check_sae(NAME, sae_config_set_float(cfg, (p), (v)), #p, sae_config_errmsg(cfg))
    /* Shared by all five. */
    SET_I(SAE_P_INPUT_DIM, EX_DIGIT_PIXELS);
    SET_I(SAE_P_HIDDEN_DIM, HIDDEN);
    SET_I(SAE_P_BATCH_SIZE, BATCH);
    SET_I(SAE_P_SEED, (int64_t)seed);
    SET_I(SAE_P_SAMPLING, SAE_SAMPLE_SHUFFLE);
    SET_I(SAE_P_LOSS, SAE_LOSS_MSE);
    SET_I(SAE_P_LOSS_REDUCTION, SAE_REDUCE_SAMPLE_SUM_HALF);
    SET_I(SAE_P_OPTIMIZER, SAE_OPT_ADAM);
    SET_F(SAE_P_LEARNING_RATE, LR);
    switch (k) {
    case PLAIN:
    case L2:
    case KL:
        SET_I(SAE_P_HIDDEN_ACTIVATION, SAE_ACT_SIGMOID);
        SET_I(SAE_P_OUTPUT_ACTIVATION, SAE_ACT_SIGMOID);
        SET_I(SAE_P_TIED, 0);
        SET_I(SAE_P_BIAS, 1);
        if (k != PLAIN)
            SET_F(SAE_P_WEIGHT_DECAY, L2_LAMBDA);
        if (k == KL) {
            SET_F(SAE_P_KL_WEIGHT, KL_BETA);
            SET_F(SAE_P_KL_RHO, KL_RHO);
        }
        break;
    case NSC:
        SET_I(SAE_P_ALGORITHM, SAE_ALGO_NSC);
        SET_I(SAE_P_HIDDEN_ACTIVATION, SAE_ACT_LINEAR);
        SET_I(SAE_P_OUTPUT_ACTIVATION, SAE_ACT_LINEAR);
        SET_I(SAE_P_TIED, 1);
        SET_I(SAE_P_BIAS, 0);
        SET_F(SAE_P_NSC_TAU, NSC_TAU);
        SET_F(SAE_P_NSC_ETA, NSC_ETA);
        break;
    case TOPK:
        SET_I(SAE_P_HIDDEN_ACTIVATION, SAE_ACT_LINEAR);
        SET_I(SAE_P_OUTPUT_ACTIVATION, SAE_ACT_LINEAR);
        SET_I(SAE_P_TIED, 1);
        SET_I(SAE_P_BIAS, 1);
        SET_I(SAE_P_TOPK_K, TOPK_K);
        SET_I(SAE_P_TOPK_K_START, TOPK_K_START);
        SET_I(SAE_P_TOPK_ANNEAL_STEPS, (int64_t)(total_steps / 2));
        SET_F(SAE_P_TOPK_ALPHA, TOPK_ALPHA);
        break;
    default: break;
    }
#undef SET_I
#undef SET_F
    return cfg;
}

/* ---- measuring ---------------------------------------------------------- */

static int sigmoid_code(case_kind k)
{
    return k == PLAIN || k == L2 || k == KL;
}

static int active(case_kind k, float h)
{
    return sigmoid_code(k) ? fabsf(h) > SIGMOID_ACTIVE : h != 0.0f;
}

/* Per-pixel MSE of case k's reconstruction of x [rows], in pixel units. */
static double recon_mse(fcase *c, const centring *cen, const float *x, size_t rows)
{
    float *in = case_input(c->k, cen, x, rows);
    float *out = ex_xmalloc(NAME, rows * EX_DIGIT_PIXELS * sizeof *out);
    ex_check_sae(NAME, sae_model_reconstruct(c->model, in, rows, out), "sae_model_reconstruct",
                 sae_model_errmsg(c->model));
    case_output(c->k, cen, out, rows);
    double s = 0.0;
    for (size_t i = 0; i < rows * EX_DIGIT_PIXELS; i++) {
        double e = (double)out[i] - x[i];
        s += e * e;
    }
    free(in);
    free(out);
    return s / ((double)rows * EX_DIGIT_PIXELS);
}

static float *encode_rows(fcase *c, const centring *cen, const float *x, size_t rows)
{
    float *in = case_input(c->k, cen, x, rows);
    float *code = ex_xmalloc(NAME, rows * HIDDEN * sizeof *code);
    ex_check_sae(NAME, sae_model_encode(c->model, in, rows, code), "sae_model_encode",
                 sae_model_errmsg(c->model));
    free(in);
    return code;
}

static void snapshot(fcase *c, size_t i, uint64_t epoch)
{
    size_t rows = 0, cols = 0;
    const float *w = NULL;
    ex_check_sae(NAME, sae_model_tensor_by_name(c->model, "encoder.weight", &rows, &cols, &w),
                 "sae_model_tensor_by_name", sae_last_error());
    if (rows != HIDDEN || cols != EX_DIGIT_PIXELS) {
        fprintf(stderr, NAME ": encoder.weight is %zu x %zu\n", rows, cols);
        exit(1);
    }
    c->snap[i] = ex_xmalloc(NAME, rows * cols * sizeof *c->snap[i]);
    memcpy(c->snap[i], w, rows * cols * sizeof *w);
    c->snap_epoch[i] = epoch;
}

/* The progress line over the whole run, although it is fitted epoch by
 * epoch: the library's total_steps is that of one fit call. */
typedef struct progress_ctx {
    ex_progress *p;
    uint64_t total;
} progress_ctx;

static int progress_cb(sae_progress_kind_t kind, const sae_stats_t *stats, void *user_data)
{
    progress_ctx *ctx = user_data;
    sae_stats_t s = *stats;
    s.total_steps = ctx->total;
    return ex_progress_callback(kind, &s, ctx->p);
}

static void train_case(fcase *c, const ex_mnist_split *d, const centring *cen, uint64_t epochs,
                       uint64_t seed)
{
    uint64_t per_epoch = (d->train.rows + BATCH - 1) / BATCH;
    uint64_t total = epochs * per_epoch;
    sae_config_t *cfg = make_config(c->k, seed, total);
    ex_check_sae(NAME, sae_model_create(cfg, &c->model), "sae_model_create", sae_last_error());
    sae_config_free(cfg);
    sae_trainer_t *tr = NULL;
    ex_check_sae(NAME, sae_trainer_create(c->model, &tr), "sae_trainer_create", sae_last_error());
    ex_progress_init(&c->progress, c->title);
    progress_ctx ctx = {&c->progress, total};
    ex_check_sae(NAME, sae_trainer_set_callback(tr, progress_cb, &ctx), "sae_trainer_set_callback",
                 sae_trainer_errmsg(tr));

    float *train_in = case_input(c->k, cen, d->train.x, d->train.rows);
    uint64_t snap_at[N_SNAP];
    for (size_t i = 0; i < N_SNAP; i++) {
        snap_at[i] = (uint64_t)ceil(snap_fraction[i] * (double)epochs - 1e-9);
        if (snap_at[i] < 1)
            snap_at[i] = 1;
    }
    c->val_mse = ex_xmalloc(NAME, epochs * sizeof *c->val_mse);
    c->val_epoch = ex_xmalloc(NAME, epochs * sizeof *c->val_epoch);
    size_t next_snap = 0;
    for (uint64_t e = 1; e <= epochs; e++) {
        ex_check_sae(NAME, sae_trainer_fit_steps(tr, train_in, d->train.rows, per_epoch),
                     "training", sae_trainer_errmsg(tr));
        c->val_epoch[c->n_val] = (double)e;
        c->val_mse[c->n_val++] = recon_mse(c, cen, d->val.x, d->val.rows);
        while (next_snap < N_SNAP && snap_at[next_snap] == e)
            snapshot(c, next_snap++, e);
    }
    c->seconds = ex_progress_finish(&c->progress);
    c->steps = sae_trainer_steps(tr);
    sae_trainer_free(tr);
    free(train_in);
}

/* Mean L0 and dead fraction of codes [rows x units] (pixels: nonzero
 * counts as active), and a second, scale-free L0: the entries above a tenth
 * of their row's largest |value|. */
static void code_stats(const float *code, size_t rows, size_t units, case_kind k, int pixels,
                       double *l0, double *dead, double *l0_rel)
{
    size_t n_active = 0, n_dead = 0, n_rel = 0;
    for (size_t r = 0; r < rows; r++) {
        const float *h = code + r * units;
        float peak = 0.0f;
        for (size_t j = 0; j < units; j++) {
            n_active += pixels ? h[j] != 0.0f : active(k, h[j]);
            peak = fabsf(h[j]) > peak ? fabsf(h[j]) : peak;
        }
        for (size_t j = 0; j < units; j++)
            n_rel += peak > 0.0f && fabsf(h[j]) > REL_ACTIVE * peak;
    }
    for (size_t j = 0; j < units; j++) {
        int any = 0;
        for (size_t r = 0; r < rows && !any; r++)
            any = pixels ? code[r * units + j] != 0.0f : active(k, code[r * units + j]);
        n_dead += !any;
    }
    *l0 = (double)n_active / (double)rows;
    *dead = (double)n_dead / (double)units;
    *l0_rel = (double)n_rel / (double)rows;
}

static void measure_case(fcase *c, const ex_mnist_split *d, const centring *cen,
                         const ex_probe_opts *po)
{
    c->recon_mse = recon_mse(c, cen, d->test.x, d->test.rows);
    float *test_code = encode_rows(c, cen, d->test.x, d->test.rows);
    code_stats(test_code, d->test.rows, HIDDEN, c->k, 0, &c->l0, &c->dead_fraction, &c->l0_rel);
    float *train_code = encode_rows(c, cen, d->train.x, d->train.rows);
    ex_probe probe;
    if (ex_probe_train(&probe, train_code, d->train.labels, d->train.rows, HIDDEN, N_CLASSES, po) !=
        EX_OK)
        ex_die(NAME, "the linear probe");
    c->probe_accuracy = ex_probe_accuracy(&probe, test_code, d->test.labels, d->test.rows);
    c->probe_train_loss = probe.train_loss;
    ex_probe_free(&probe);
    free(test_code);
    free(train_code);
}

static void measure_pixels(baseline *b, const ex_mnist_split *d, const ex_probe_opts *po)
{
    code_stats(d->test.x, d->test.rows, EX_DIGIT_PIXELS, PLAIN, 1, &b->l0, &b->dead_fraction,
               &b->l0_rel);
    ex_probe probe;
    if (ex_probe_train(&probe, d->train.x, d->train.labels, d->train.rows, EX_DIGIT_PIXELS,
                       N_CLASSES, po) != EX_OK)
        ex_die(NAME, "the linear probe");
    b->probe_accuracy = ex_probe_accuracy(&probe, d->test.x, d->test.labels, d->test.rows);
    b->probe_train_loss = probe.train_loss;
    ex_probe_free(&probe);
}

/* ---- pictures ----------------------------------------------------------- */

#define TEXT      EX_RGB(40, 40, 40)
#define SUBTLE    EX_RGB(100, 100, 100)
#define SEPARATOR EX_RGB(0, 0, 0)

/* n rows of w [.. x 784] as tiles for display: each tile scaled by its
 * largest |value| around mid-gray (UFLDL's display_network), so that the
 * sign of a weight reads as dark or light and zero is gray. */
static float *filter_tiles(const float *w, size_t n)
{
    float *t = ex_xmalloc(NAME, n * EX_DIGIT_PIXELS * sizeof *t);
    for (size_t i = 0; i < n; i++) {
        const float *r = w + i * EX_DIGIT_PIXELS;
        double peak = 0.0;
        for (size_t k = 0; k < EX_DIGIT_PIXELS; k++)
            peak = fmax(peak, fabs(r[k]));
        for (size_t k = 0; k < EX_DIGIT_PIXELS; k++)
            t[i * EX_DIGIT_PIXELS + k] = (float)(peak > 0.0 ? 0.5 + 0.5 * r[k] / peak : 0.5);
    }
    return t;
}

static void draw_filters(ex_canvas *cv, long x, long y, const float *w, size_t n, size_t cols,
                         int zoom)
{
    size_t gw, gh;
    ex_tiles_size(n, EX_DIGIT_SIDE, EX_DIGIT_SIDE, cols, zoom, &gw, &gh);
    ex_canvas_fill(cv, x - 1, y - 1, (long)gw + 2, (long)gh + 2, SEPARATOR);
    float *t = filter_tiles(w, n);
    ex_tiles_draw(cv, x, y, t, n, EX_DIGIT_SIDE, EX_DIGIT_SIDE, cols, zoom, EX_TILE_CLAMP);
    free(t);
}

static const char *weight_what(case_kind k)
{
    switch (k) {
    case NSC: return "dictionary atoms (encoder.weight rows = columns of A)";
    case TOPK: return "tied weights (encoder.weight rows)";
    default: return "encoder filters (encoder.weight rows)";
    }
}

/* All 196 units of one case after 10%, 50% and 100% of training. */
static int save_case_weights(const char *path, const fcase *c, uint64_t epochs)
{
    const size_t cols = 14;
    const int zoom = 1;
    size_t gw, gh;
    ex_tiles_size(HIDDEN, EX_DIGIT_SIDE, EX_DIGIT_SIDE, cols, zoom, &gw, &gh);
    const long margin = 14, gap = 22, top = 58;
    long width = 2 * margin + N_SNAP * (long)gw + (N_SNAP - 1) * gap;
    long height = top + (long)gh + margin;
    ex_canvas cv;
    if (ex_canvas_init(&cv, (size_t)width, (size_t)height, EX_WHITE) != EX_OK)
        return 0;
    char title[160];
    snprintf(title, sizeof title, "%s: %s", c->title, weight_what(c->k));
    ex_font_draw(&cv, margin, 10, title, TEXT, 2);
    for (size_t i = 0; i < N_SNAP; i++) {
        long x = margin + (long)i * ((long)gw + gap);
        char label[64];
        snprintf(label, sizeof label, "after %.0f%% (epoch %llu of %llu)", 100.0 * snap_fraction[i],
                 (unsigned long long)c->snap_epoch[i], (unsigned long long)epochs);
        ex_font_draw(&cv, x, top - 16, label, SUBTLE, 1);
        draw_filters(&cv, x, top, c->snap[i], HIDDEN, cols, zoom);
    }
    int ok = ex_saved(NAME, ex_canvas_save(&cv, path), path);
    ex_canvas_free(&cv);
    return ok;
}

/* One figure: a row per case, a column per snapshot, the first 24 units. */
static int save_overview(const char *path, const fcase *cases, uint64_t epochs)
{
    const size_t n = 24, cols = 8;
    const int zoom = 2;
    size_t gw, gh;
    ex_tiles_size(n, EX_DIGIT_SIDE, EX_DIGIT_SIDE, cols, zoom, &gw, &gh);
    const long margin = 14, gap = 18, top = 62, row_head = 24, row_gap = 16;
    long width = 2 * margin + N_SNAP * (long)gw + (N_SNAP - 1) * gap;
    long height = top + N_CASES * (row_head + (long)gh + row_gap) - row_gap + margin;
    ex_canvas cv;
    if (ex_canvas_init(&cv, (size_t)width, (size_t)height, EX_WHITE) != EX_OK)
        return 0;
    ex_font_draw(&cv, margin, 10, "E5: learned weights of units 0-23, during training", TEXT, 2);
    for (size_t i = 0; i < N_SNAP; i++) {
        char label[64];
        snprintf(label, sizeof label, "after %.0f%% (epoch %llu of %llu)", 100.0 * snap_fraction[i],
                 (unsigned long long)cases[0].snap_epoch[i], (unsigned long long)epochs);
        ex_font_draw(&cv, margin + (long)i * ((long)gw + gap), 40, label, SUBTLE, 1);
    }
    for (size_t k = 0; k < N_CASES; k++) {
        long y = top + (long)k * (row_head + (long)gh + row_gap);
        ex_font_draw(&cv, margin, y, cases[k].title, case_color[k], 1);
        for (size_t i = 0; i < N_SNAP; i++)
            draw_filters(&cv, margin + (long)i * ((long)gw + gap), y + row_head - 8,
                         cases[k].snap[i], n, cols, zoom);
    }
    int ok = ex_saved(NAME, ex_canvas_save(&cv, path), path);
    ex_canvas_free(&cv);
    return ok;
}

/* The first test digit of each class, and each case's reconstruction. */
static int save_reconstructions(const char *path, fcase *cases, const ex_mnist_split *d,
                                const centring *cen)
{
    size_t idx[N_CLASSES];
    if (ex_dataset_first_per_class(&d->test, 1, N_CLASSES, idx) != N_CLASSES)
        return 1; /* some class missing from the test split: no picture */
    float *x = ex_xmalloc(NAME, N_CLASSES * EX_DIGIT_PIXELS * sizeof *x);
    float *rows = ex_xmalloc(NAME, (N_CASES + 1) * N_CLASSES * EX_DIGIT_PIXELS * sizeof *rows);
    for (size_t i = 0; i < N_CLASSES; i++)
        memcpy(x + i * EX_DIGIT_PIXELS, d->test.x + idx[i] * EX_DIGIT_PIXELS,
               EX_DIGIT_PIXELS * sizeof *x);
    memcpy(rows, x, N_CLASSES * EX_DIGIT_PIXELS * sizeof *x);
    for (size_t k = 0; k < N_CASES; k++) {
        float *in = case_input(cases[k].k, cen, x, N_CLASSES);
        float *out = rows + (k + 1) * N_CLASSES * EX_DIGIT_PIXELS;
        ex_check_sae(NAME, sae_model_reconstruct(cases[k].model, in, N_CLASSES, out),
                     "sae_model_reconstruct", sae_model_errmsg(cases[k].model));
        case_output(cases[k].k, cen, out, N_CLASSES);
        free(in);
    }
    const int zoom = 2;
    size_t gw, gh;
    ex_tiles_size(N_CLASSES, EX_DIGIT_SIDE, EX_DIGIT_SIDE, N_CLASSES, zoom, &gw, &gh);
    const long margin = 14, top = 40, row_gap = 4;
    long label_w = 0;
    for (size_t k = 0; k < N_CASES; k++) {
        long w = (long)ex_font_width(cases[k].title, 1);
        label_w = w > label_w ? w : label_w;
    }
    label_w += 12;
    long width = 2 * margin + label_w + (long)gw;
    long height = top + (N_CASES + 1) * ((long)gh + row_gap) - row_gap + margin;
    const char *title = "test digits and their reconstructions";
    if ((long)ex_font_width(title, 2) + 2 * margin > width)
        width = (long)ex_font_width(title, 2) + 2 * margin;
    ex_canvas cv;
    if (ex_canvas_init(&cv, (size_t)width, (size_t)height, EX_WHITE) != EX_OK) {
        free(x);
        free(rows);
        return 0;
    }
    ex_font_draw(&cv, margin, 10, title, TEXT, 2);
    for (size_t r = 0; r <= N_CASES; r++) {
        long y = top + (long)r * ((long)gh + row_gap);
        const char *label = r == 0 ? "input" : cases[r - 1].title;
        ex_color col = r == 0 ? TEXT : case_color[r - 1];
        ex_font_draw(&cv, margin, y + ((long)gh - (long)ex_font_height(1)) / 2, label, col, 1);
        ex_canvas_fill(&cv, margin + label_w - 1, y - 1, (long)gw + 2, (long)gh + 2,
                       EX_RGB(200, 200, 200));
        ex_tiles_draw(&cv, margin + label_w, y, rows + r * N_CLASSES * EX_DIGIT_PIXELS, N_CLASSES,
                      EX_DIGIT_SIDE, EX_DIGIT_SIDE, N_CLASSES, zoom, EX_TILE_CLAMP);
    }
    int ok = ex_saved(NAME, ex_canvas_save(&cv, path), path);
    ex_canvas_free(&cv);
    free(x);
    free(rows);
    return ok;
}

static int save_val_curves(const char *path, const fcase *cases)
{
    ex_series s[N_CASES];
    for (size_t k = 0; k < N_CASES; k++)
        s[k] = (ex_series){cases[k].title, cases[k].val_epoch, cases[k].val_mse,
                           cases[k].n_val, case_color[k],      0};
    ex_chart chart = {"reconstruction MSE of the validation digits, per pixel",
                      "epoch",
                      "MSE (log scale)",
                      1,
                      1,
                      0,
                      0};
    return ex_saved(NAME, ex_linechart_save(path, &chart, s, N_CASES), path);
}

/* The table as four panels of horizontal bars. */
static int save_summary(const char *path, const fcase *cases, const baseline *px)
{
    enum { ROWS = N_CASES + 1, PANELS = 4 };
    const char *names[ROWS];
    ex_color colors[ROWS];
    double v[PANELS][ROWS], rel[ROWS]; /* rel: L0@10%, drawn inside the L0 bar */
    names[0] = "pixels";
    colors[0] = PIXELS_COLOR;
    v[0][0] = 0.0;
    v[1][0] = px->l0;
    rel[0] = px->l0_rel;
    v[2][0] = px->dead_fraction;
    v[3][0] = px->probe_accuracy;
    for (size_t k = 0; k < N_CASES; k++) {
        names[k + 1] = cases[k].title;
        colors[k + 1] = case_color[k];
        v[0][k + 1] = cases[k].recon_mse;
        v[1][k + 1] = cases[k].l0;
        rel[k + 1] = cases[k].l0_rel;
        v[2][k + 1] = cases[k].dead_fraction;
        v[3][k + 1] = cases[k].probe_accuracy;
    }
    static const char *const heads[PANELS] = {
        "reconstruction MSE (test, per pixel)", "mean L0 (light) and L0@10% (dark), test",
        "fraction of dead units (test)", "linear probe accuracy (test)"};
    static const char *const fmt[PANELS] = {"%.4f", "%.1f", "%.3f", "%.3f"};
    double lo[PANELS] = {0, 0, 0, 0.8}, hi[PANELS];
    for (int p = 0; p < PANELS; p++) {
        hi[p] = 0.0;
        for (int r = 0; r < ROWS; r++)
            hi[p] = fmax(hi[p], v[p][r]);
        hi[p] = hi[p] > 0 ? hi[p] * 1.18 : 1.0;
    }
    hi[3] = 1.0;
    /* accuracies below 0.8 would not show: start that axis lower then */
    for (int r = 0; r < ROWS; r++)
        if (v[3][r] < lo[3] + 0.02)
            lo[3] = 0.0;

    long label_w = 0;
    for (int r = 0; r < ROWS; r++) {
        long w = (long)ex_font_width(names[r], 1);
        label_w = w > label_w ? w : label_w;
    }
    label_w += 10;
    const long margin = 14, bar_h = 16, bar_gap = 6, bar_w = 230, head_h = 20, top = 44,
               panel_gap = 22;
    long panel_w = label_w + bar_w + 90, panel_h = head_h + ROWS * (bar_h + bar_gap);
    long width = 2 * margin + 2 * panel_w + panel_gap;
    long height = top + 2 * panel_h + panel_gap + margin;
    ex_canvas cv;
    if (ex_canvas_init(&cv, (size_t)width, (size_t)height, EX_WHITE) != EX_OK)
        return 0;
    ex_font_draw(&cv, margin, 10, "E5: five ways to sparse codes, held-out digits", TEXT, 2);
    for (int p = 0; p < PANELS; p++) {
        long px0 = margin + (p % 2) * (panel_w + panel_gap);
        long py0 = top + (p / 2) * (panel_h + panel_gap);
        char head[96];
        if (lo[p] > 0)
            snprintf(head, sizeof head, "%s, axis from %.1f", heads[p], lo[p]);
        else
            snprintf(head, sizeof head, "%s", heads[p]);
        ex_font_draw(&cv, px0, py0, head, TEXT, 1);
        long x0 = px0 + label_w;
        for (int r = 0; r < ROWS; r++) {
            long y = py0 + head_h + r * (bar_h + bar_gap);
            ex_font_draw(&cv, px0, y + (bar_h - (long)ex_font_height(1)) / 2 + 1, names[r],
                         colors[r], 1);
            double f = (v[p][r] - lo[p]) / (hi[p] - lo[p]);
            f = f < 0 ? 0 : f > 1 ? 1 : f;
            long w = (long)lround(f * bar_w);
            char val[32];
            if (p == 1) {
                /* L0 as a light bar, L0@10% as the dark part of it. */
                ex_color c = colors[r], light = EX_RGB((uint8_t)(c.r + (255 - c.r) * 3 / 5),
                                                       (uint8_t)(c.g + (255 - c.g) * 3 / 5),
                                                       (uint8_t)(c.b + (255 - c.b) * 3 / 5));
                double fr = fmin(fmax(rel[r] / hi[p], 0.0), 1.0);
                ex_canvas_fill(&cv, x0, y, w, bar_h, light);
                ex_canvas_fill(&cv, x0, y, (long)lround(fr * bar_w), bar_h, c);
                snprintf(val, sizeof val, "%.1f / %.1f", v[p][r], rel[r]);
            } else {
                ex_canvas_fill(&cv, x0, y, w, bar_h, colors[r]);
                snprintf(val, sizeof val, fmt[p], v[p][r]);
            }
            ex_font_draw(&cv, x0 + w + 5, y + (bar_h - (long)ex_font_height(1)) / 2 + 1, val, TEXT,
                         1);
        }
        ex_canvas_line(&cv, (double)x0 - 0.5, (double)(py0 + head_h - 3), (double)x0 - 0.5,
                       (double)(py0 + panel_h - bar_gap + 2), 1.0, SUBTLE);
    }
    int ok = ex_saved(NAME, ex_canvas_save(&cv, path), path);
    ex_canvas_free(&cv);
    return ok;
}

/* ---- report ------------------------------------------------------------- */

static void print_table(const fcase *cases, const baseline *px, size_t test_rows)
{
    printf("\nE5 on the %zu held-out test digits (codes of %d units; a sigmoid unit counts as "
           "active above %g, a linear one when nonzero)\n\n",
           test_rows, HIDDEN, SIGMOID_ACTIVE);
    printf("  %-26s %11s %8s %8s %8s %8s %8s\n", "case", "recon MSE", "L0", "L0@10%", "dead",
           "probe", "seconds");
    printf("  %-26s %11.5f %8.1f %8.1f %8.3f %8.4f %8s\n", "pixels (baseline)", 0.0, px->l0,
           px->l0_rel, px->dead_fraction, px->probe_accuracy, "-");
    for (size_t k = 0; k < N_CASES; k++)
        printf("  %-26s %11.5f %8.1f %8.1f %8.3f %8.4f %8.1f\n", cases[k].title, cases[k].recon_mse,
               cases[k].l0, cases[k].l0_rel, cases[k].dead_fraction, cases[k].probe_accuracy,
               cases[k].seconds);
    printf("\n  L0@10%%: entries above a tenth of their row's largest |value|\n");
}

static cJSON *case_json(const char *name, const char *title, double mse, double l0, double l0_rel,
                        double dead, double acc)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "title", title);
    cJSON_AddNumberToObject(o, "recon_mse", mse);
    cJSON_AddNumberToObject(o, "l0", l0);
    cJSON_AddNumberToObject(o, "l0_rel10", l0_rel);
    cJSON_AddNumberToObject(o, "dead_fraction", dead);
    cJSON_AddNumberToObject(o, "probe_accuracy", acc);
    return o;
}

static int write_results(const ex_args *args, const ex_mnist_split *d, const centring *cen,
                         const fcase *cases, const baseline *px, uint64_t epochs,
                         const ex_probe_opts *po, double total)
{
    cJSON *j = ex_results_begin("E5 five ways to sparse codes", NULL, sae_version_string(),
                                d->source, args);
    if (!j)
        return 0;
    cJSON *arr = cJSON_AddArrayToObject(j, "cases");
    cJSON_AddItemToArray(arr, case_json("pixels", "raw pixels (baseline)", 0.0, px->l0, px->l0_rel,
                                        px->dead_fraction, px->probe_accuracy));
    for (size_t k = 0; k < N_CASES; k++) {
        cJSON *o = case_json(cases[k].name, cases[k].title, cases[k].recon_mse, cases[k].l0,
                             cases[k].l0_rel, cases[k].dead_fraction, cases[k].probe_accuracy);
        if (!o)
            continue;
        cJSON_AddNumberToObject(o, "probe_train_loss", cases[k].probe_train_loss);
        cJSON_AddNumberToObject(o, "final_validation_mse",
                                cases[k].n_val ? cases[k].val_mse[cases[k].n_val - 1] : 0.0);
        cJSON_AddNumberToObject(o, "steps", (double)cases[k].steps);
        cJSON_AddNumberToObject(o, "seconds", cases[k].seconds);
        cJSON_AddItemToArray(arr, o);
    }
    cJSON *s = cJSON_AddObjectToObject(j, "settings");
    cJSON_AddNumberToObject(s, "input_dim", EX_DIGIT_PIXELS);
    cJSON_AddNumberToObject(s, "hidden_dim", HIDDEN);
    cJSON_AddNumberToObject(s, "batch_size", BATCH);
    cJSON_AddNumberToObject(s, "epochs", (double)epochs);
    cJSON_AddNumberToObject(s, "train_rows", (double)d->train.rows);
    cJSON_AddStringToObject(s, "optimizer", "adam");
    cJSON_AddNumberToObject(s, "learning_rate", LR);
    cJSON_AddStringToObject(s, "loss", "mse, loss.reduction sample_sum_half");
    cJSON_AddNumberToObject(s, "l2_lambda", L2_LAMBDA);
    cJSON_AddNumberToObject(s, "kl_weight", KL_BETA);
    cJSON_AddNumberToObject(s, "kl_rho", KL_RHO);
    cJSON_AddNumberToObject(s, "nsc_tau", NSC_TAU);
    cJSON_AddNumberToObject(s, "nsc_eta", NSC_ETA);
    cJSON_AddNumberToObject(s, "nsc_input_norm_scale", cen->norm_scale);
    cJSON_AddNumberToObject(s, "topk_k", TOPK_K);
    cJSON_AddNumberToObject(s, "topk_k_start", TOPK_K_START);
    cJSON_AddNumberToObject(s, "topk_anneal_steps",
                            (double)(epochs * ((d->train.rows + BATCH - 1) / BATCH) / 2));
    cJSON_AddNumberToObject(s, "topk_alpha", TOPK_ALPHA);
    cJSON_AddNumberToObject(s, "sigmoid_active_threshold", SIGMOID_ACTIVE);
    cJSON_AddNumberToObject(s, "l0_rel10_fraction_of_row_peak", REL_ACTIVE);
    cJSON_AddNumberToObject(s, "probe_epochs", (double)po->epochs);
    cJSON_AddNumberToObject(s, "probe_batch", (double)po->batch);
    cJSON_AddNumberToObject(s, "probe_lr", po->lr);
    cJSON_AddNumberToObject(s, "probe_l2", po->l2);
    cJSON_AddNumberToObject(j, "seconds_total", total);
    return ex_results_save(NAME, args->out_dir, j);
}

int main(int argc, char **argv)
{
    ex_args args;
    int rc =
        ex_args_parse(&args, argc, argv, NAME,
                      "E5: five ways to sparse codes on MNIST digits (plain autoencoder, +L2,\n"
                      "KL sparse autoencoder, neural sparse coding, k-sparse autoencoder),\n"
                      "one shared setting; reconstruction, L0, dead units, linear probe.");
    if (rc >= 0)
        return rc;
    double t0 = ex_now();
    ex_mnist_split d;
    if (ex_mnist_split_load(args.data_dir, args.seed, &d) != EX_OK)
        ex_die(NAME, NULL);
    centring cen;
    centring_fit(&cen, &d.train);
    uint64_t epochs = args.quick ? QUICK_EPOCHS : EPOCHS;
    ex_probe_opts po = ex_probe_defaults(args.seed);
    if (args.quick)
        po.epochs = QUICK_PROBE_EPOCHS;
    printf("libsae %s, E5 five ways to sparse codes\n", sae_version_string());
    printf("data: %s\n", d.source);
    printf("784-%d, batch %d, %llu epochs (%llu steps) each%s\n", HIDDEN, BATCH,
           (unsigned long long)epochs,
           (unsigned long long)(epochs * ((d.train.rows + BATCH - 1) / BATCH)),
           args.quick ? " (--quick)" : "");

    fcase cases[N_CASES] = {
        {.k = PLAIN, .name = "plain", .title = "a) plain autoencoder"},
        {.k = L2, .name = "l2", .title = "b) autoencoder + L2"},
        {.k = KL, .name = "kl", .title = "c) KL sparse autoencoder"},
        {.k = NSC, .name = "nsc", .title = "d) neural sparse coding"},
        {.k = TOPK, .name = "topk", .title = "e) k-sparse autoencoder"},
    };
    for (size_t k = 0; k < N_CASES; k++) {
        train_case(&cases[k], &d, &cen, epochs, args.seed);
        measure_case(&cases[k], &d, &cen, &po);
    }
    baseline px;
    measure_pixels(&px, &d, &po);
    print_table(cases, &px, d.test.rows);

    char path[4096];
    int ok = 1;
    printf("\npictures:\n");
    for (size_t k = 0; k < N_CASES; k++) {
        snprintf(path, sizeof path, "%s/weights_%s.png", args.out_dir, cases[k].name);
        ok &= save_case_weights(path, &cases[k], epochs);
    }
    snprintf(path, sizeof path, "%s/weights_overview.png", args.out_dir);
    ok &= save_overview(path, cases, epochs);
    snprintf(path, sizeof path, "%s/reconstructions.png", args.out_dir);
    ok &= save_reconstructions(path, cases, &d, &cen);
    snprintf(path, sizeof path, "%s/validation_mse.png", args.out_dir);
    ok &= save_val_curves(path, cases);
    snprintf(path, sizeof path, "%s/summary.png", args.out_dir);
    ok &= save_summary(path, cases, &px);
    ok &= write_results(&args, &d, &cen, cases, &px, epochs, &po, ex_now() - t0);
    printf("\npictures and results.json are in %s (%.1fs)\n", args.out_dir, ex_now() - t0);

    for (size_t k = 0; k < N_CASES; k++) {
        sae_model_free(cases[k].model);
        ex_progress_free(&cases[k].progress);
        for (size_t i = 0; i < N_SNAP; i++)
            free(cases[k].snap[i]);
        free(cases[k].val_mse);
        free(cases[k].val_epoch);
    }
    free(cen.mean);
    ex_mnist_split_free(&d);
    return ok ? 0 : 1;
}
