/* SPDX-License-Identifier: MIT */
/* E2: KL and L1 sparse convolutional autoencoders (IvLabs
 * Variational-DL, autoencoders/sparse), reproduced with libsae's public API.
 *
 * The autoencoder of sparse_kl.py / sparse_l1.py, built from a layer list:
 *   Conv(1->8,k3)+ReLU, Conv(8->16,k5)+ReLU, Conv(16->32,k5,s2)+ReLU,
 *   MaxPool2 (the code, 32x4x4 = 512), ConvT(32->16,k3,s2)+ReLU,
 *   ConvT(16->8,k5,s2)+ReLU, ConvT(8->1,k8)+Sigmoid,
 * trained with Adam (lr 9e-3), batch 1200, 1,000 steps (E2's 20 epochs of
 * 60,000 images), BCE (mean over pixels) plus a penalty on all six
 * intermediate activations:
 *   KL: beta sum_layers sum_units KL(rho || rho_hat), rho 0.08, beta 0.005,
 *       rho_hat = mean_b sigmoid(a_b) (kl.squash = sigmoid: the form
 *       PyTorch code uses on ReLU maps; the headline KL run);
 *   KL (Bernoulli): the same with rho_hat the plain batch mean, as the
 *       original README writes it (literal; it cannot reproduce, see
 *       docs/experiments/e2.md);
 *   L1: lambda sum_layers mean |a|, lambda 4e-5;
 * and "kl as coded": the original sparse_kl.py's kl_div on batch means,
 * which (EXPERIMENTS.md) is an L1 penalty of weight beta rho plus a
 * constant. Each run is trained from three seeds (the network can lose its
 * decoder at lr 9e-3, in PyTorch as here): the table's headline is the
 * median, with the spread. Train loss: BCE + penalty, mean over the last epoch's batches; test
 * loss: BCE alone on the first 1,200 held-out images. Published: 0.0862 /
 * 0.0771 (KL), 0.0809 / 0.07757 (L1). docs/experiments/e2.md has the table
 * and what differs (the data set above all). */

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
#include "common/progress.h"
#include "common/report.h"
#include "common/results.h"
#include "common/sae_check.h"

#define NAME "sparse_kl_l1"
/* E2 trains 20 epochs of 60,000 images at batch 1200: 1,000 Adam steps.
 * On the 8,000 digits the fetch script provides, 20 epochs are only 140
 * steps, far from converged: the default run trains the published number
 * of steps, not of epochs. */
#define STEPS 1000
#define SEEDS 3
#define QUICK_EPOCHS 2
#define QUICK_ROWS 2400
#define BATCH 1200
#define TEST_ROWS 1200
#define LR 9e-3
#define RHO 0.08
#define BETA 0.005
#define LAMBDA 4e-5

static const char layers[] =
    "input 1x28x28\n"
    "conv2d 8 k3 relu\n"
    "conv2d 16 k5 relu\n"
    "conv2d 32 k5 s2 relu\n"
    "maxpool2d k2 code\n"
    "convt2d 16 k3 s2 relu\n"
    "convt2d 8 k5 s2 relu\n"
    "convt2d 1 k8 sigmoid";

typedef enum variant { V_KL_SIGMOID, V_L1, V_KL_AS_CODED, V_KL } variant;
#define N_VARIANTS 4

typedef struct run {
    variant v;
    const char *name; /* results.json key and file tag */
    const char *label;
    double published_train, published_test; /* NAN when none */
    sae_model_t *model;
    ex_progress progress;
    double seconds, train_loss, train_penalty, test_loss, code_l0, code_mean;
    double *batch_loss; /* BCE + penalty of every step, for the curves */
    double *batch_recon; /* BCE alone */
    double *batch_index;
    size_t n_batches, cap;
    uint64_t steps;
} run;

/* Progress bar and per-step loss history in one callback. */
static int on_progress(sae_progress_kind_t kind, const sae_stats_t *s, void *user)
{
    run *r = user;
    if (kind == SAE_PROGRESS_STEP && r->n_batches < r->cap) {
        r->batch_loss[r->n_batches] = s->loss;
        r->batch_recon[r->n_batches] = s->recon_loss;
        r->batch_index[r->n_batches] = (double)s->step;
        r->n_batches++;
    }
    return ex_progress_callback(kind, s, &r->progress);
}

static sae_config_t *make_config(variant v, uint64_t seed)
{
    sae_config_t *cfg = NULL;
    ex_check_sae(NAME, sae_config_create(&cfg), "sae_config_create", sae_last_error());
    ex_check_sae(NAME, sae_config_set_layers(cfg, layers), "arch.layers", sae_config_errmsg(cfg));
    const char *set[][2] = {
        {"arch.init", "fan_in_uniform"}, /* torch.nn's default initialisation */
        {"arch.penalize", "hidden"},     /* all six intermediate activations */
        {"loss.type", "bce"},
        {"optim.type", "adam"},
        {"train.sampling", "shuffle"},
    };
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
        ex_check_sae(NAME, sae_config_set(cfg, set[i][0], set[i][1]), set[i][0],
                     sae_config_errmsg(cfg));
#define SET_F(p, x) ex_check_sae(NAME, sae_config_set_float(cfg, (p), (x)), #p, sae_config_errmsg(cfg))
#define SET_I(p, x) ex_check_sae(NAME, sae_config_set_int(cfg, (p), (x)), #p, sae_config_errmsg(cfg))
    SET_F(SAE_P_LEARNING_RATE, LR);
    SET_I(SAE_P_BATCH_SIZE, BATCH);
    SET_I(SAE_P_SEED, (int64_t)seed);
    if (v == V_KL || v == V_KL_SIGMOID) {
        SET_F(SAE_P_KL_WEIGHT, BETA);
        SET_F(SAE_P_KL_RHO, RHO);
        SET_I(SAE_P_KL_SQUASH, v == V_KL_SIGMOID);
    } else {
        SET_F(SAE_P_L1_WEIGHT, v == V_L1 ? LAMBDA : BETA * RHO);
    }
#undef SET_F
#undef SET_I
    return cfg;
}

static void train_run(run *r, const ex_dataset *train, const ex_dataset *test, uint64_t epochs,
                      uint64_t seed)
{
    sae_config_t *cfg = make_config(r->v, seed);
    ex_check_sae(NAME, sae_model_create(cfg, &r->model), "sae_model_create", sae_last_error());
    sae_config_free(cfg);
    sae_trainer_t *tr = NULL;
    ex_check_sae(NAME, sae_trainer_create(r->model, &tr), "sae_trainer_create", sae_last_error());
    size_t per_epoch = (train->rows + BATCH - 1) / BATCH;
    r->cap = per_epoch * epochs;
    r->batch_loss = ex_xmalloc(NAME, r->cap * sizeof(double));
    r->batch_index = ex_xmalloc(NAME, r->cap * sizeof(double));
    r->batch_recon = ex_xmalloc(NAME, r->cap * sizeof(double));
    ex_progress_init(&r->progress, r->label);
    ex_check_sae(NAME, sae_trainer_set_callback(tr, on_progress, r), "sae_trainer_set_callback",
                 sae_trainer_errmsg(tr));
    ex_check_sae(NAME, sae_trainer_fit(tr, train->x, train->rows, epochs), "training",
                 sae_trainer_errmsg(tr));
    r->seconds = ex_progress_finish(&r->progress);
    r->steps = sae_trainer_steps(tr);
    /* Train loss as E2 reports it: the mean over the last epoch's batches. */
    size_t first = r->n_batches >= per_epoch ? r->n_batches - per_epoch : 0;
    double sum = 0.0;
    for (size_t i = first; i < r->n_batches; i++)
        sum += r->batch_loss[i];
    r->train_loss = sum / (double)(r->n_batches - first);

    sae_stats_t s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    ex_check_sae(NAME, sae_trainer_evaluate(tr, test->x, test->rows, &s), "sae_trainer_evaluate",
                 sae_trainer_errmsg(tr));
    r->test_loss = s.recon_loss; /* BCE alone */
    r->train_penalty = s.loss - s.recon_loss;
    r->code_l0 = s.l0;
    r->code_mean = s.mean_activation;
    sae_trainer_free(tr);
}

static void free_run(run *r)
{
    sae_model_free(r->model);
    ex_progress_free(&r->progress);
    free(r->batch_loss);
    free(r->batch_index);
    free(r->batch_recon);
}

/* ---- pictures ----------------------------------------------------------- */

/* Test inputs above each run's reconstructions: one row of 12 digits each. */
static int save_reconstructions(const char *path, run *runs, size_t n_runs,
                                const ex_dataset *test)
{
    enum { N = 12, ZOOM = 2 };
    const size_t px = 784, tile = 28 * ZOOM + 1;
    float *out = ex_xmalloc(NAME, N * px * sizeof *out);
    long widest = (long)ex_font_width("input", 2);
    for (size_t i = 0; i < n_runs; i++)
        if ((long)ex_font_width(runs[i].label, 2) > widest)
            widest = (long)ex_font_width(runs[i].label, 2);
    const long left = 12 + widest + 14, top = 40, gap = 8;
    long width = left + (long)(N * tile) + 12;
    long height = top + (long)(n_runs + 1) * ((long)tile + gap) + 4;
    ex_canvas c;
    if (ex_canvas_init(&c, (size_t)width, (size_t)height, EX_WHITE) != EX_OK) {
        free(out);
        return 0;
    }
    ex_font_draw(&c, 12, 10, "E2: held-out digits and their reconstructions", EX_RGB(40, 40, 40),
                 2);
    long th = (long)ex_font_height(2);
    ex_tiles_draw(&c, left, top, test->x, N, 28, 28, N, ZOOM, EX_TILE_CLAMP);
    ex_font_draw(&c, 12, top + ((long)tile - th) / 2, "input", EX_RGB(90, 90, 90), 2);
    for (size_t i = 0; i < n_runs; i++) {
        ex_check_sae(NAME, sae_model_reconstruct(runs[i].model, test->x, N, out),
                     "sae_model_reconstruct", sae_model_errmsg(runs[i].model));
        long y = top + (long)(i + 1) * ((long)tile + gap);
        ex_tiles_draw(&c, left, y, out, N, 28, 28, N, ZOOM, EX_TILE_CLAMP);
        ex_font_draw(&c, 12, y + ((long)tile - th) / 2, runs[i].label, EX_RGB(90, 90, 90), 2);
    }
    int ok = ex_saved(NAME, ex_canvas_save(&c, path), path);
    ex_canvas_free(&c);
    free(out);
    return ok;
}

static int save_loss_curves(const char *path, const run *runs, size_t n_runs)
{
    const ex_color colors[] = {EX_RGB(214, 96, 24), EX_RGB(31, 100, 180), EX_RGB(60, 150, 60),
                               EX_RGB(150, 60, 150)};
    ex_series s[8];
    char names[8][64];
    size_t n = 0;
    for (size_t i = 0; i < n_runs && i < 4; i++) {
        snprintf(names[n], sizeof names[n], "%s: BCE + penalty", runs[i].label);
        s[n] = (ex_series){names[n], runs[i].batch_index, runs[i].batch_loss, runs[i].n_batches,
                           colors[i], 0};
        n++;
        snprintf(names[n], sizeof names[n], "%s: BCE", runs[i].label);
        s[n] = (ex_series){names[n], runs[i].batch_index, runs[i].batch_recon, runs[i].n_batches,
                           colors[i], 1};
        n++;
    }
    ex_chart chart = {"E2 training loss per batch", "step", "loss (log scale)", 1, 1, 0, 0};
    return ex_saved(NAME, ex_linechart_save(path, &chart, s, n), path);
}

/* ---- report ------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of n values (n <= SEEDS), and their min and max. */
static double median_of(const double *v, size_t n, double *lo, double *hi)
{
    double t[SEEDS];
    memcpy(t, v, n * sizeof *t);
    qsort(t, n, sizeof *t, cmp_double);
    *lo = t[0];
    *hi = t[n - 1];
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* Why a run misses the published test figure by more than 10%, said on
 * its table line; "" when it does not. */
static const char *why_not(const run *r, double test, uint64_t steps)
{
    if (isnan(r->published_test) || fabs(test - r->published_test) <= 0.1 * r->published_test)
        return "";
    if (steps < STEPS)
        return "fewer steps than E2's 1,000: not comparable";
    if (r->v == V_KL)
        return "literal README KL: 21,080 ReLU units' Bernoulli KL dominates (e2.md)";
    if (r->v == V_KL_SIGMOID)
        return "sigmoid(ReLU) >= 1/2 > rho: the KL's floor holds every unit at 0 (e2.md)";
    if (test > 0.25)
        return "decoder died (mean image): lr 9e-3, PyTorch too (e2.md)";
    return "not within 10% of the published test BCE";
}

/* One line per variant: the median over the seeds and the spread. */
static void print_table(run (*runs)[SEEDS], const int *on, size_t n_seeds, uint64_t steps)
{
    printf("\nE2 sparse convolutional autoencoders, %llu steps (train: BCE + penalty, mean over "
           "the last\nepoch's batches; test: BCE on the first %d held-out digits); median of %zu "
           "seed%s [min, max]\n\n",
           (unsigned long long)steps, TEST_ROWS, n_seeds, n_seeds > 1 ? "s" : "");
    printf("  %-24s %22s %9s %22s %9s %9s %7s  %s\n", "run", "train", "published", "test",
           "published", "penalty", "L0", "note");
    for (size_t v = 0; v < N_VARIANTS; v++) {
        if (!on[v])
            continue;
        double tr[SEEDS], te[SEEDS], pen[SEEDS], l0[SEEDS], lo, hi, tlo, thi, d;
        for (size_t k = 0; k < n_seeds; k++) {
            tr[k] = runs[v][k].train_loss;
            te[k] = runs[v][k].test_loss;
            pen[k] = runs[v][k].train_penalty;
            l0[k] = runs[v][k].code_l0;
        }
        const run *r = &runs[v][0];
        double mtr = median_of(tr, n_seeds, &lo, &hi), mte = median_of(te, n_seeds, &tlo, &thi);
        char a[48], b[48], pt[16] = "-", pe[16] = "-";
        snprintf(a, sizeof a, "%.4f [%.4f, %.4f]", mtr, lo, hi);
        snprintf(b, sizeof b, "%.4f [%.4f, %.4f]", mte, tlo, thi);
        if (!isnan(r->published_train)) {
            snprintf(pt, sizeof pt, "%.4f", r->published_train);
            snprintf(pe, sizeof pe, "%.5g", r->published_test);
        }
        printf("  %-24s %22s %9s %22s %9s %9.4f %7.1f  %s\n", r->label, a, pt, b, pe,
               median_of(pen, n_seeds, &d, &d), median_of(l0, n_seeds, &d, &d),
               why_not(r, mte, steps));
    }
}

static void add_run(cJSON *o, const run *r, uint64_t seed)
{
    char key[64];
    snprintf(key, sizeof key, "%s_seed%llu", r->name, (unsigned long long)seed);
    cJSON *j = cJSON_AddObjectToObject(o, key);
    if (!j)
        return;
    cJSON_AddNumberToObject(j, "train_loss", r->train_loss);
    cJSON_AddNumberToObject(j, "test_loss", r->test_loss);
    if (!isnan(r->published_train)) {
        cJSON_AddNumberToObject(j, "published_train_loss", r->published_train);
        cJSON_AddNumberToObject(j, "published_test_loss", r->published_test);
    }
    cJSON_AddNumberToObject(j, "test_penalty", r->train_penalty);
    cJSON_AddNumberToObject(j, "code_l0", r->code_l0);
    cJSON_AddNumberToObject(j, "code_mean_activation", r->code_mean);
    cJSON_AddNumberToObject(j, "steps", (double)r->steps);
    cJSON_AddNumberToObject(j, "seconds", r->seconds);
}

/* Takes "OPT N" (this example's own --epochs and --seeds) out of argv; 0
 * when absent, -1 when malformed or not in 1..max. */
static long take_count(int *argc, char **argv, const char *opt, long max)
{
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], opt) != 0)
            continue;
        char *end = NULL;
        long v = i + 1 < *argc ? strtol(argv[i + 1], &end, 10) : -1;
        if (!end || *end || v < 1 || v > max)
            return -1;
        for (int j = i; j + 2 <= *argc; j++)
            argv[j] = argv[j + 2];
        *argc -= 2;
        return v;
    }
    return 0;
}

int main(int argc, char **argv)
{
    long epochs_opt = take_count(&argc, argv, "--epochs", 100000);
    long seeds_opt = take_count(&argc, argv, "--seeds", SEEDS);
    /* --only NAME: one of the four runs (kl, l1, kl_as_coded, kl_bernoulli). */
    const char *only = NULL;
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--only")) {
            only = argv[i + 1];
            for (int j = i; j + 2 <= argc; j++)
                argv[j] = argv[j + 2];
            argc -= 2;
            break;
        }
    if (epochs_opt < 0 || seeds_opt < 0) {
        fprintf(stderr, NAME ": --epochs needs a count from 1 to 100000, --seeds from 1 to %d\n",
                SEEDS);
        return 2;
    }
    ex_args args;
    int rc = ex_args_parse(&args, argc, argv, NAME,
                           "E2: KL and L1 sparse convolutional autoencoders on MNIST digits;\n"
                           "prints train and test loss beside the published 0.0862 / 0.0771 (KL)\n"
                           "and 0.0809 / 0.07757 (L1). By default E2's 1,000 Adam steps (143\n"
                           "epochs of the 8,000 digits), seeds --seed, +1 and +2 (--seeds N: the\n"
                           "first N); --epochs N trains N epochs; --only NAME one run (kl, l1,\n"
                           "kl_as_coded, kl_bernoulli); --quick: one seed, 2 epochs of\n"
                           "2,400 digits.");
    if (rc >= 0)
        return rc;
    double t0 = ex_now();
    ex_mnist_split d;
    if (ex_mnist_split_load(args.data_dir, args.seed, &d) != EX_OK)
        ex_die(NAME, NULL);
    printf("libsae %s, E2 sparse convolutional autoencoders\n", sae_version_string());
    printf("data: %s\n", d.source);

    /* Training set: every training image (with real MNIST, the 55,000 of
     * the split and the 5,000 validation images: the original's 60,000).
     * Test: the first 1,200 held-out images (t10k with real MNIST; else the
     * test then validation digits of the 10,000). */
    ex_dataset train, test, held;
    int real = d.train.rows > 20000;
    size_t n_train = d.train.rows + (real ? d.val.rows : 0);
    size_t n_held = d.test.rows + (real ? 0 : d.val.rows);
    if (ex_dataset_range(&d.train, 0, d.train.rows, &train) != EX_OK ||
        ex_dataset_range(&d.test, 0, d.test.rows, &held) != EX_OK)
        ex_die(NAME, NULL);
    /* Labels are not used: dropped, so that rows and labels never disagree. */
    free(train.labels);
    free(held.labels);
    train.labels = held.labels = NULL;
    const ex_dataset *extra = real ? &d.val : NULL;
    if (extra) {
        train.x = realloc(train.x, n_train * 784 * sizeof *train.x);
        if (!train.x)
            ex_die(NAME, "out of memory");
        memcpy(train.x + d.train.rows * 784, extra->x, extra->rows * 784 * sizeof *train.x);
        train.rows = n_train;
    } else {
        held.x = realloc(held.x, n_held * 784 * sizeof *held.x);
        if (!held.x)
            ex_die(NAME, "out of memory");
        memcpy(held.x + d.test.rows * 784, d.val.x, d.val.rows * 784 * sizeof *held.x);
        held.rows = n_held;
    }
    if (args.quick && train.rows > QUICK_ROWS)
        train.rows = QUICK_ROWS;
    if (ex_dataset_range(&held, 0, held.rows < TEST_ROWS ? held.rows : TEST_ROWS, &test) != EX_OK)
        ex_die(NAME, NULL);
    /* The published step count: ceil(1,000 / batches per epoch) epochs (20
     * with MNIST's 60,000; 143 = 1,001 steps with the 8,000 digits). */
    size_t per_epoch = (train.rows + BATCH - 1) / BATCH;
    uint64_t epochs = epochs_opt > 0 ? (uint64_t)epochs_opt
                      : args.quick   ? QUICK_EPOCHS
                                     : (STEPS + per_epoch - 1) / per_epoch;
    size_t n_seeds = seeds_opt > 0 ? (size_t)seeds_opt : args.quick ? 1 : SEEDS;
    printf("training the 784-512-784 convolutional autoencoder on %zu digits, %llu epochs of "
           "batch %d (%llu steps%s), four penalties, %zu seed%s%s\n",
           train.rows, (unsigned long long)epochs, BATCH,
           (unsigned long long)(epochs * per_epoch),
           epochs_opt || args.quick ? "" : ": E2's 1,000 steps, not its 20 epochs of our 8,000",
           n_seeds, n_seeds > 1 ? "s" : "", args.quick ? " (--quick)" : "");

    static const run proto[N_VARIANTS] = {
        {.v = V_KL_SIGMOID, .name = "kl", .label = "KL (sigmoid-squashed)",
         .published_train = 0.0862, .published_test = 0.0771},
        {.v = V_L1, .name = "l1", .label = "L1 (4e-5)", .published_train = 0.0809,
         .published_test = 0.07757},
        {.v = V_KL_AS_CODED, .name = "kl_as_coded", .label = "KL as coded (L1 4e-4)",
         .published_train = 0.0862, .published_test = 0.0771},
        {.v = V_KL, .name = "kl_bernoulli", .label = "KL (Bernoulli, literal)",
         .published_train = 0.0862, .published_test = 0.0771},
    };
    run runs[N_VARIANTS][SEEDS];
    int on[N_VARIANTS];
    size_t n_on = 0;
    for (size_t v = 0; v < N_VARIANTS; v++)
        n_on += on[v] = !only || !strcmp(only, proto[v].name);
    if (n_on == 0) {
        fprintf(stderr, NAME ": --only takes kl, l1, kl_as_coded or kl_bernoulli\n");
        return 2;
    }
    for (size_t v = 0; v < N_VARIANTS; v++)
        for (size_t k = 0; on[v] && k < n_seeds; k++) {
            runs[v][k] = proto[v];
            train_run(&runs[v][k], &train, &test, epochs, args.seed + k);
            printf("  %s, seed %llu: train %.4f, test %.4f, %llu steps, %.0f s\n",
                   runs[v][k].label, (unsigned long long)(args.seed + k), runs[v][k].train_loss,
                   runs[v][k].test_loss, (unsigned long long)runs[v][k].steps,
                   runs[v][k].seconds);
        }
    print_table(runs, on, n_seeds, epochs * per_epoch);
    run first[N_VARIANTS];
    n_on = 0;
    for (size_t v = 0; v < N_VARIANTS; v++)
        if (on[v])
            first[n_on++] = runs[v][0];

    char path[4096];
    int ok = 1;
    printf("\npictures:\n");
    snprintf(path, sizeof path, "%s/reconstructions.png", args.out_dir);
    ok &= save_reconstructions(path, first, n_on, &test);
    snprintf(path, sizeof path, "%s/loss_curves.png", args.out_dir);
    ok &= save_loss_curves(path, first, n_on);

    cJSON *o = ex_results_begin("E2 KL and L1 sparse convolutional autoencoders", NULL,
                                sae_version_string(), d.source, &args);
    if (o) {
        cJSON_AddNumberToObject(o, "train_rows", (double)train.rows);
        cJSON_AddNumberToObject(o, "test_rows", (double)test.rows);
        cJSON_AddNumberToObject(o, "epochs", (double)epochs);
        cJSON_AddNumberToObject(o, "seeds", (double)n_seeds);
        for (size_t v = 0; v < N_VARIANTS; v++)
            for (size_t k = 0; on[v] && k < n_seeds; k++)
                add_run(o, &runs[v][k], args.seed + k);
        cJSON_AddNumberToObject(o, "seconds_total", ex_now() - t0);
        ok &= ex_results_save(NAME, args.out_dir, o);
    } else {
        ok = 0;
    }
    printf("\npictures and results.json are in %s\n", args.out_dir);
    for (size_t v = 0; v < N_VARIANTS; v++)
        for (size_t k = 0; on[v] && k < n_seeds; k++)
            free_run(&runs[v][k]);
    ex_dataset_free(&train);
    ex_dataset_free(&held);
    ex_dataset_free(&test);
    ex_mnist_split_free(&d);
    return ok ? 0 : 1;
}
