/* SPDX-License-Identifier: MIT */
/* E4: the rank-ordered autoencoder (Bertens 2016, arXiv 1605.01749; code
 * paulbertens/rank-ordered-autoencoder), reproduced with libsae's public
 * API only.
 *
 * 169 TReLU units with one tied matrix and no biases learn 7x7 colour
 * patches (147 values, /256) online, one patch per update, with the
 * rank-order rule (train.algorithm = rank_order, docs/algorithms/
 * rank-order.md): each epoch draws fresh random patches and trains on them
 * once. As in Trainer.py, the training error ||x - R_169|| of each patch is
 * taken just before its update, and held-out patches are evaluated along
 * the way, spread over the epoch's updates, so that both curves follow the
 * weights through the epoch. After the last epoch the error using only the
 * top 1, 2, 5, 10 and all units, and the mean number of active units, are
 * measured on fresh held-out patches and set beside the published figures.
 *
 * Data: CIFAR-10's binary batches when --cifar DIR is given (or --data DIR
 * holds them), one random patch of each of the 50,000 training images per
 * epoch and one of each of the 10,000 test images, as the original did.
 * Otherwise colour photographs of the data cache (astronaut, chelsea,
 * coffee, motorcycle_left from scikit-image), cut into 32x32 blocks: every
 * fifth block gives test patches, the rest training patches (no patch
 * crosses a block's edge), and each epoch draws 50,000 and 10,000
 * positions uniformly over them. docs/experiments/e4.md has the results
 * and the differences from the original run. */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sae.h>

#include "common/args.h"
#include "common/cifar.h"
#include "common/font.h"
#include "common/fileio.h"
#include "common/patches.h"
#include "common/plot.h"
#include "common/png.h"
#include "common/progress.h"
#include "common/report.h"
#include "common/results.h"
#include "common/rng.h"
#include "common/sae_check.h"

#define NAME          "rank_ordered"
#define SIDE          7
#define DIM           (SIDE * SIDE * 3)
#define UNITS         169
#define EPOCHS        60
#define QUICK_EPOCHS  3
#define TRAIN_PATCHES 50000 /* Trainer.py's data_size */
#define TEST_PATCHES  10000
#define QUICK_TRAIN   5000
#define QUICK_TEST    1000
#define N_TOP         5
#define ABOVE         0.01f /* a second count of active units: h above this */

/* The published run (EXPERIMENTS.md, E4). */
#define PUB_TRAIN_FIRST 0.6875
#define PUB_TEST_FIRST  0.6881
#define PUB_TRAIN_LAST  0.2710
#define PUB_TEST_LAST   0.2712
#define PUB_ACTIVE      13.0
static const size_t top_ks[N_TOP] = {1, 2, 5, 10, UNITS};
static const char *const top_keys[N_TOP] = {"1", "2", "5", "10", "all"};
static const double pub_top[N_TOP] = {1.762, 1.271, 0.837, 0.599, 0.271};

static const char *const photos[] = {"astronaut", "chelsea", "coffee", "motorcycle_left"};
#define N_PHOTOS (sizeof photos / sizeof photos[0])

/* Where the patches come from. */
typedef struct source {
    ex_region *train, *test;
    size_t n_train, n_test;
    int per_image; /* CIFAR: one patch per image and epoch */
    ex_cifar cifar;
    uint8_t *pixels[N_PHOTOS];
    char desc[256];
} source;

/* The measurements of one epoch. */
typedef struct epoch_row {
    double train_error, test_error, train_active, test_active, rate, seconds;
} epoch_row;

/* ---- data --------------------------------------------------------------- */

static void load_cifar(const char *dir, source *s)
{
    ex_cifar test = {0};
    char path[4400];
    for (int b = 1; b <= 6; b++) {
        if (b <= 5)
            snprintf(path, sizeof path, "%s/data_batch_%d.bin", dir, b);
        else
            snprintf(path, sizeof path, "%s/test_batch.bin", dir);
        if (ex_cifar_load(path, b <= 5 ? &s->cifar : &test) != EX_OK)
            ex_die(NAME, NULL);
    }
    /* One array of images: the training ones, then the test ones. */
    size_t n = s->cifar.n + test.n, img = EX_CIFAR_SIDE * EX_CIFAR_SIDE * 3;
    uint8_t *rgb = realloc(s->cifar.rgb, n * img);
    if (!rgb) {
        fprintf(stderr, NAME ": out of memory for %zu CIFAR-10 images\n", n);
        exit(1);
    }
    memcpy(rgb + s->cifar.n * img, test.rgb, test.n * img);
    s->cifar.rgb = rgb;
    s->n_train = s->cifar.n;
    s->n_test = test.n;
    s->cifar.n = n;
    ex_cifar_free(&test);
    s->train = ex_xmalloc(NAME, n * sizeof *s->train);
    s->test = s->train + s->n_train;
    for (size_t i = 0; i < n; i++)
        s->train[i] = (ex_region){rgb + i * img, EX_CIFAR_SIDE, EX_CIFAR_SIDE, EX_CIFAR_SIDE};
    s->per_image = 1;
    snprintf(s->desc, sizeof s->desc,
             "CIFAR-10 binary batches in %.120s: %zu train / %zu test images", dir, s->n_train,
             s->n_test);
}

/* The colour photographs, cut into blocks of BLOCK x BLOCK pixels (the
 * edges left over are not used); every fifth block, on a diagonal lattice
 * so that they spread over each picture, gives test patches, the others
 * training patches. No patch crosses a block's edge, so no training patch
 * overlaps a test one. */
#define BLOCK 32
static int load_photos(const char *dir, source *s)
{
    size_t cap = 0;
    char names[160] = "";
    size_t n_photos = 0;
    for (size_t i = 0; i < N_PHOTOS; i++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/natural-images/%s.png", dir, photos[i]);
        if (!ex_is_file(path))
            snprintf(path, sizeof path, "%s/%s.png", dir, photos[i]);
        if (!ex_is_file(path))
            continue;
        size_t w, h;
        int ch;
        uint8_t *px = NULL;
        if (ex_png_read(path, &px, &w, &h, &ch) != EX_OK)
            ex_die(NAME, NULL);
        size_t bw = w / BLOCK, bh = h / BLOCK;
        if (ch != 3 || bw * bh < 5) {
            fprintf(stderr,
                    NAME ": %s is not a colour picture of at least 5 blocks of %dx%d, "
                         "skipped\n",
                    path, BLOCK, BLOCK);
            free(px);
            continue;
        }
        s->pixels[n_photos++] = px;
        cap += bw * bh;
        s->train = realloc(s->train, cap * sizeof *s->train);
        s->test = realloc(s->test, cap * sizeof *s->test);
        if (!s->train || !s->test) {
            fprintf(stderr, NAME ": out of memory\n");
            exit(1);
        }
        for (size_t by = 0; by < bh; by++)
            for (size_t bx = 0; bx < bw; bx++) {
                ex_region r = {px + (by * BLOCK * w + bx * BLOCK) * 3, w, BLOCK, BLOCK};
                if ((bx + 2 * by) % 5 == 0)
                    s->test[s->n_test++] = r;
                else
                    s->train[s->n_train++] = r;
            }
        strncat(names, n_photos > 1 ? ", " : "", sizeof names - strlen(names) - 1);
        strncat(names, photos[i], sizeof names - strlen(names) - 1);
    }
    if (s->n_train == 0 || s->n_test == 0)
        return 0;
    snprintf(s->desc, sizeof s->desc,
             "colour photographs (%s) in %dx%d blocks: %zu for training, %zu (every fifth) "
             "for testing",
             names, BLOCK, BLOCK, s->n_train, s->n_test);
    return 1;
}

static void load_source(const ex_args *args, const char *cifar_dir, source *s)
{
    memset(s, 0, sizeof *s);
    char dir[4200];
    if (cifar_dir) {
        if (!ex_cifar_find(cifar_dir, dir, sizeof dir)) {
            fprintf(stderr, NAME ": no data_batch_1.bin in %s or %s/cifar-10-batches-bin\n",
                    cifar_dir, cifar_dir);
            exit(1);
        }
        load_cifar(dir, s);
        return;
    }
    if (ex_cifar_find(args->data_dir, dir, sizeof dir)) {
        load_cifar(dir, s);
        return;
    }
    if (load_photos(args->data_dir, s))
        return;
    fprintf(stderr,
            NAME
            ": no patches to learn from in %s\n"
            "  run tools/fetch-data.sh to fetch the natural images into the data cache, or pass\n"
            "  --cifar DIR with the CIFAR-10 binary batches (data_batch_1.bin ...)\n",
            args->data_dir);
    exit(1);
}

static void free_source(source *s)
{
    if (s->per_image) {
        free(s->train);
    } else {
        free(s->train);
        free(s->test);
        for (size_t i = 0; i < N_PHOTOS; i++)
            free(s->pixels[i]);
    }
    ex_cifar_free(&s->cifar);
}

/* Fresh patches for an epoch: one from each image (CIFAR, the first n of
 * them), or n positions drawn over the regions (photographs). */
static void draw(const source *s, int test, size_t n, ex_rng *rng, float *out)
{
    const ex_region *regs = test ? s->test : s->train;
    size_t n_regs = test ? s->n_test : s->n_train;
    if (s->per_image)
        for (size_t i = 0; i < n; i++)
            ex_patch_random(&regs[i], SIDE, rng, out + i * DIM);
    else
        ex_patches_pooled(regs, n_regs, SIDE, n, rng, out);
}

/* ---- model -------------------------------------------------------------- */

/* The original's settings (RankOrderedAutoencoder.py, Trainer.py). */
static sae_model_t *make_model(uint64_t seed)
{
    static const struct {
        const char *key, *value;
    } settings[] = {
        {"arch.hidden_activation", "trelu"},
        {"arch.output_activation", "trelu"},
        {"arch.tied", "true"},
        {"arch.bias", "false"},
        {"arch.init", "glorot_normal"}, /* N(0, sqrt(2 / (147 + 169))) */
        {"train.algorithm", "rank_order"},
        {"rank_order.lr", "1"},
        {"rank_order.max_norm", "0.1"},
        {"rank_order.decay_factor", "0.9"},
        {"rank_order.min_improvement", "0.01"},
        {"train.batch_size", "1"}, /* online: one patch per update */
        {"train.sampling", "shuffle"},
        {"train.threads", "1"},
    };
    sae_config_t *cfg = NULL;
    ex_check_sae(NAME, sae_config_create(&cfg), "sae_config_create", sae_last_error());
    ex_check_sae(NAME, sae_config_set_int(cfg, SAE_P_INPUT_DIM, DIM), "input_dim",
                 sae_config_errmsg(cfg));
    ex_check_sae(NAME, sae_config_set_int(cfg, SAE_P_HIDDEN_DIM, UNITS), "hidden_dim",
                 sae_config_errmsg(cfg));
    ex_check_sae(NAME, sae_config_set_int(cfg, SAE_P_SEED, (int64_t)seed), "seed",
                 sae_config_errmsg(cfg));
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        ex_check_sae(NAME, sae_config_set(cfg, settings[i].key, settings[i].value), settings[i].key,
                     sae_config_errmsg(cfg));
    sae_model_t *m = NULL;
    ex_check_sae(NAME, sae_model_create(cfg, &m), "sae_model_create", sae_last_error());
    sae_config_free(cfg);
    return m;
}

/* What an epoch measures. Trainer.py evaluates one test patch after each
 * training update, so its test curve follows the weights through the
 * epoch as the training one does; here the test patches are spread evenly
 * over the epoch's steps in the same way (n_test of them for n_train
 * steps), each evaluated right after the step before it. */
typedef struct monitor {
    sae_trainer_t *trainer;
    const float *test;
    size_t n_train, n_test;
    size_t steps, tested;
    double test_sum, active_sum;
    sae_stats_t epoch; /* the trainer's statistics of the epoch */
    sae_status_t status;
} monitor;

static int on_progress(sae_progress_kind_t kind, const sae_stats_t *s, void *user_data)
{
    monitor *mon = user_data;
    if (kind == SAE_PROGRESS_EPOCH) {
        mon->epoch = *s;
        return 0;
    }
    mon->steps++;
    size_t due = mon->steps * mon->n_test / mon->n_train;
    for (; mon->tested < due; mon->tested++) {
        sae_stats_t ts;
        mon->status = sae_trainer_evaluate(mon->trainer, mon->test + mon->tested * DIM, 1, &ts);
        if (mon->status != SAE_OK)
            return 1; /* cancels; main reports the message */
        mon->test_sum += ts.recon_loss;
        mon->active_sum += ts.l0;
    }
    return 0;
}

/* ---- pictures ----------------------------------------------------------- */

/* The 169 filters (columns of W) as 7x7 colour tiles, the most used unit
 * first (use: the summed code over the test patches), each tile stretched
 * from its own minimum to its maximum over the three channels. */
static int save_filters(const char *path, const sae_model_t *m, const double *use)
{
    enum { ZOOM = 5, COLS = 13, TOP = 34, PAD = 8 };
    const float *w = NULL;
    size_t rows = 0, cols = 0;
    ex_check_sae(NAME, sae_model_tensor_by_name(m, "encoder.weight", &rows, &cols, &w),
                 "encoder.weight", sae_last_error());
    size_t order[UNITS];
    for (size_t j = 0; j < UNITS; j++)
        order[j] = j;
    for (size_t a = 1; a < UNITS; a++) /* insertion sort, most used first */
        for (size_t b = a; b > 0 && use[order[b]] > use[order[b - 1]]; b--) {
            size_t t = order[b];
            order[b] = order[b - 1];
            order[b - 1] = t;
        }
    const long tile = SIDE * ZOOM + 1;
    const char *title = "filters, most used first";
    long width = PAD + COLS * tile - 1 + PAD,
         height = TOP + (UNITS + COLS - 1) / COLS * tile - 1 + PAD;
    ex_canvas c;
    if (ex_canvas_init(&c, (size_t)width, (size_t)height, EX_RGB(40, 40, 40)) != EX_OK)
        return 0;
    ex_font_draw(&c, PAD, 10, title, EX_RGB(230, 230, 230), 2);
    for (size_t t = 0; t < UNITS; t++) {
        const float *v = w + order[t] * cols;
        float lo = v[0], hi = v[0];
        for (size_t i = 1; i < DIM; i++) {
            lo = fminf(lo, v[i]);
            hi = fmaxf(hi, v[i]);
        }
        float span = hi > lo ? hi - lo : 1.0f;
        long ox = PAD + (long)(t % COLS) * tile, oy = TOP + (long)(t / COLS) * tile;
        for (int i = 0; i < SIDE; i++)
            for (int k = 0; k < SIDE; k++) {
                uint8_t rgb[3];
                for (int ch = 0; ch < 3; ch++)
                    rgb[ch] = (uint8_t)lrintf(255.0f * (v[(i * SIDE + k) * 3 + ch] - lo) / span);
                ex_canvas_fill(&c, ox + k * ZOOM, oy + i * ZOOM, ZOOM, ZOOM,
                               EX_RGB(rgb[0], rgb[1], rgb[2]));
            }
    }
    int ok = ex_saved(NAME, ex_canvas_save(&c, path), path);
    ex_canvas_free(&c);
    return ok;
}

static int save_curves(const char *path, const epoch_row *rows, size_t n)
{
    double *x = ex_xmalloc(NAME, n * sizeof *x), *tr = ex_xmalloc(NAME, n * sizeof *tr);
    double *te = ex_xmalloc(NAME, n * sizeof *te);
    for (size_t e = 0; e < n; e++) {
        x[e] = (double)e;
        tr[e] = rows[e].train_error;
        te[e] = rows[e].test_error;
    }
    ex_series s[2] = {
        {"train (online, before each update)", x, tr, n, EX_RGB(31, 100, 180), 0},
        {"test (held-out patches)", x, te, n, EX_RGB(214, 96, 24), 1},
    };
    ex_chart chart = {"reconstruction error ||x - R_169|| per epoch",
                      "epoch",
                      "mean error per patch",
                      0,
                      1,
                      0,
                      0};
    int ok = ex_saved(NAME, ex_linechart_save(path, &chart, s, 2), path);
    free(x);
    free(tr);
    free(te);
    return ok;
}

/* ---- report ------------------------------------------------------------- */

static int write_results(const ex_args *args, const source *src, const epoch_row *rows, size_t n,
                         const double *top, double active, double active_above, size_t n_train,
                         size_t n_test, double seconds)
{
    cJSON *o = ex_results_begin("E4 rank-ordered autoencoder", NULL, sae_version_string(),
                                src->desc, args);
    if (!o)
        return 0;
    cJSON_AddNumberToObject(o, "epochs", (double)n);
    cJSON_AddNumberToObject(o, "train_patches_per_epoch", (double)n_train);
    cJSON_AddNumberToObject(o, "test_patches_per_epoch", (double)n_test);
    cJSON_AddNumberToObject(o, "train_error", rows[n - 1].train_error);
    cJSON_AddNumberToObject(o, "test_error", rows[n - 1].test_error);
    cJSON *by = cJSON_AddObjectToObject(o, "error_by_top_units");
    cJSON *pub_by = cJSON_AddObjectToObject(o, "published_error_by_top_units");
    for (int i = 0; i < N_TOP; i++) {
        cJSON_AddNumberToObject(by, top_keys[i], top[i]);
        cJSON_AddNumberToObject(pub_by, top_keys[i], pub_top[i]);
    }
    cJSON_AddNumberToObject(o, "mean_active_units", active);
    cJSON_AddNumberToObject(o, "mean_units_above_0.01", active_above);
    cJSON_AddNumberToObject(o, "published_train_error", PUB_TRAIN_LAST);
    cJSON_AddNumberToObject(o, "published_test_error", PUB_TEST_LAST);
    cJSON_AddNumberToObject(o, "published_mean_active_units", PUB_ACTIVE);
    cJSON *tr = cJSON_AddArrayToObject(o, "train_error_per_epoch");
    cJSON *te = cJSON_AddArrayToObject(o, "test_error_per_epoch");
    for (size_t e = 0; e < n; e++) {
        cJSON_AddItemToArray(tr, cJSON_CreateNumber(rows[e].train_error));
        cJSON_AddItemToArray(te, cJSON_CreateNumber(rows[e].test_error));
    }
    cJSON_AddNumberToObject(o, "final_learning_rate", rows[n - 1].rate);
    cJSON_AddNumberToObject(o, "seconds_total", seconds);
    return ex_results_save(NAME, args->out_dir, o);
}

int main(int argc, char **argv)
{
    const char *cifar_dir = NULL;
    const ex_extra_opt extra[] = {
        {"cifar", "--cifar DIR CIFAR-10 binary batches (default: natural images)", &cifar_dir,
         NULL}};
    ex_args args;
    int rc =
        ex_args_parse_extra(&args, argc, argv, NAME,
                            "E4: a rank-ordered autoencoder (169 TReLU units, tied weights) "
                            "learns\n7x7 colour patches; train/test error per epoch and the "
                            "error using the\ntop 1, 2, 5, 10, all units, beside the published "
                            "figures.",
                            extra, 1, NULL);
    if (rc >= 0)
        return rc;
    double t0 = ex_now();
    source src;
    load_source(&args, cifar_dir, &src);
    size_t epochs = args.quick ? QUICK_EPOCHS : EPOCHS;
    size_t n_train = args.quick ? QUICK_TRAIN : TRAIN_PATCHES;
    size_t n_test = args.quick ? QUICK_TEST : TEST_PATCHES;
    if (src.per_image) { /* one patch per image: as many as there are */
        n_train = n_train < src.n_train ? n_train : src.n_train;
        n_test = n_test < src.n_test ? n_test : src.n_test;
    }
    printf("libsae %s, E4 rank-ordered autoencoder\n", sae_version_string());
    printf("data: %s\n", src.desc);
    printf(
        "%d units, %zu epochs of %zu training patches (one update each) and %zu test patches\n\n",
        UNITS, epochs, n_train, n_test);

    sae_model_t *m = make_model(args.seed);
    sae_trainer_t *t = NULL;
    ex_check_sae(NAME, sae_trainer_create(m, &t), "sae_trainer_create", sae_last_error());
    monitor mon;
    memset(&mon, 0, sizeof mon);
    ex_check_sae(NAME, sae_trainer_set_callback(t, on_progress, &mon), "set_callback",
                 sae_trainer_errmsg(t));
    float *train = ex_xmalloc(NAME, n_train * DIM * sizeof *train);
    float *test = ex_xmalloc(NAME, n_test * DIM * sizeof *test);
    epoch_row *rows = ex_xmalloc(NAME, epochs * sizeof *rows);
    ex_rng rng;
    ex_rng_seed(&rng, args.seed ^ 0xE4E4E4E4ull);

    printf("  %5s  %11s  %10s  %14s  %4s  %7s\n", "epoch", "train error", "test error",
           "active (train)", "rate", "seconds");
    for (size_t e = 0; e < epochs; e++) {
        double t1 = ex_now();
        draw(&src, 0, n_train, &rng, train);
        draw(&src, 1, n_test, &rng, test);
        mon = (monitor){t, test, n_train, n_test, 0, 0, 0.0, 0.0, {0}, SAE_OK};
        sae_status_t st = sae_trainer_fit(t, train, n_train, 1);
        ex_check_sae(NAME, mon.status, "sae_trainer_evaluate", sae_trainer_errmsg(t));
        ex_check_sae(NAME, st, "training", sae_trainer_errmsg(t));
        rows[e] = (epoch_row){mon.epoch.recon_loss,
                              mon.test_sum / (double)mon.tested,
                              mon.epoch.l0,
                              mon.active_sum / (double)mon.tested,
                              mon.epoch.learning_rate,
                              ex_now() - t1};
        printf("  %5zu  %11.4f  %10.4f  %14.1f  %4.2f  %7.1f", e, rows[e].train_error,
               rows[e].test_error, rows[e].train_active, rows[e].rate, rows[e].seconds);
        if (e == 0)
            printf("   published %.4f / %.4f", PUB_TRAIN_FIRST, PUB_TEST_FIRST);
        if (e + 1 == EPOCHS)
            printf("   published %.4f / %.4f", PUB_TRAIN_LAST, PUB_TEST_LAST);
        printf("\n");
        fflush(stdout);
    }

    /* The trained model on fresh held-out patches. */
    draw(&src, 1, n_test, &rng, test);
    double top[N_TOP];
    ex_check_sae(NAME, sae_model_prefix_errors(m, test, n_test, top_ks, N_TOP, top),
                 "sae_model_prefix_errors", sae_model_errmsg(m));
    sae_stats_t final;
    ex_check_sae(NAME, sae_trainer_evaluate(t, test, n_test, &final), "sae_trainer_evaluate",
                 sae_trainer_errmsg(t));
    double active = final.l0;
    /* How the active units' values spread: most of the h > 0 units are
     * barely on, so also count those above 1% of TReLU's range. */
    float *code = ex_xmalloc(NAME, n_test * UNITS * sizeof *code);
    ex_check_sae(NAME, sae_model_encode(m, test, n_test, code), "sae_model_encode",
                 sae_model_errmsg(m));
    double use[UNITS] = {0};
    size_t above = 0;
    for (size_t r = 0; r < n_test; r++)
        for (size_t j = 0; j < UNITS; j++) {
            use[j] += code[r * UNITS + j];
            above += code[r * UNITS + j] > ABOVE;
        }
    free(code);
    double active_above = (double)above / (double)n_test;
    printf("\nthe trained model on %zu fresh test patches: error using the top k units\n\n",
           n_test);
    printf("  %6s  %9s  %9s\n", "units", "measured", "published");
    for (int i = 0; i < N_TOP; i++)
        printf("  %6s  %9.3f  %9.3f\n", top_keys[i], top[i], pub_top[i]);
    printf("\n  %-22s  %9.4f  %9.4f\n", "train error, last epoch", rows[epochs - 1].train_error,
           PUB_TRAIN_LAST);
    printf("  %-22s  %9.4f  %9.4f\n", "test error, last epoch", rows[epochs - 1].test_error,
           PUB_TEST_LAST);
    printf("  %-22s  %9.1f  %9s\n", "mean active units", active, "about 13");
    printf("  %-22s  %9.1f\n", "  of them h > 0.01", active_above);

    printf("\npictures:\n");
    char path[4096];
    int ok = 1;
    snprintf(path, sizeof path, "%s/filters.png", args.out_dir);
    ok &= save_filters(path, m, use);
    snprintf(path, sizeof path, "%s/error_curves.png", args.out_dir);
    ok &= save_curves(path, rows, epochs);
    double seconds = ex_now() - t0;
    ok &= write_results(&args, &src, rows, epochs, top, active, active_above, n_train, n_test,
                        seconds);
    printf("\n%.0f seconds in all\n", seconds);

    free(train);
    free(test);
    free(rows);
    sae_trainer_free(t);
    sae_model_free(m);
    free_source(&src);
    return ok ? 0 : 1;
}
