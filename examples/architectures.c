/* SPDX-License-Identifier: MIT */
/* The modern SAE family side by side (issue 9): every architecture this
 * build has, each at three sparsity levels, on two data sets:
 *   - a planted dictionary (common/planted.h): 128 known unit-norm features
 *     in R^64 with power-law firing rates, correlated pairs and noise; the
 *     dictionaries have 256 units, twice the true count;
 *   - Fashion-MNIST (784 pixels, 512 units).
 * For each run, on held-out rows: L0 (active units per row), FVU (the
 * fraction of variance unexplained, sae_model_reconstruction_error), the
 * fraction of units never active, and the training seconds; on the planted
 * data, at the level whose L0 is nearest the true one, the recovery of the
 * true features (mean over features of the best cosine with any atom, and
 * the fraction above 0.9). Pictures: FVU against L0, one curve per
 * architecture, per data set. Every model uses the recipes of the family:
 * input normalisation, b_pre from the data's mean, a linear decay of the
 * rate over the last fifth of training.
 *
 * The architectures are the table `archs` below: a name, its config lines
 * and the key its sparsity level sets. A row whose keys this build does
 * not know (JumpReLU, gated, BatchTopK's inference threshold: issue 9's
 * other half) is listed in results.json as "not in this build" with the
 * library's message, and runs as soon as the library has them.
 * docs/experiments/architectures.md has the results. */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sae.h>

#include "common/args.h"
#include "common/dataset.h"
#include "common/idx.h"
#include "common/plot.h"
#include "common/planted.h"
#include "common/progress.h"
#include "common/report.h"
#include "common/results.h"

#define NAME    "architectures"
#define LEVELS  3
#define MAX_SET 8
#define BATCH   256
#define LR      "1e-3"
/* The charts show L0 up to this; sigmoid codes count every unit above
 * 1e-3 as active (sae_stats_t's rule), hundreds per row: their points are
 * in results.json only. */
#define MAX_CHART_L0 64.0

typedef struct arch {
    const char *name;  /* results.json's architecture */
    const char *title; /* the charts' legend */
    const char *set[MAX_SET][2];
    const char *level_key; /* what the three levels set */
    /* Per data set (planted, fashion): the levels, as text. "%H"-style
     * values are not needed: prefixes are filled in by the program. */
    const char *levels[2][LEVELS];
    ex_color color;
    /* Config lines for one data set only (planted, fashion): settings
     * that depend on the data's scale. */
    const char *data_set[2][3][2];
} arch_t;

/* The config lines of each architecture. The last three rows are the other
 * half of issue 9 (helper "arch"): their keys as the issue names them. */
static const arch_t archs[] = {
    {"relu_l1", "ReLU + L1 (unit-norm atoms)",
     {{"arch.hidden_activation", "relu"}, {"arch.unit_norm_decoder", "true"}},
     "l1.weight", {{"6", "10", "15"}, {"0.5", "1", "3"}}, {31, 100, 180}, {{{NULL}}}},
    {"relu_l1_decoder_norm", "ReLU + decoder-norm L1",
     {{"arch.hidden_activation", "relu"}, {"l1.decoder_norm", "true"}},
     "l1.weight", {{"6", "10", "15"}, {"0.5", "1", "3"}}, {23, 190, 207}, {{{NULL}}}},
    {"sigmoid_kl", "sigmoid + KL",
     {{"arch.hidden_activation", "sigmoid"}, {"kl.weight", "1"}},
     "kl.rho", {{"0.01", "0.03", "0.1"}, {"0.01", "0.03", "0.1"}}, {120, 120, 120}, {{{NULL}}}},
    {"topk", "TopK",
     {{"arch.hidden_activation", "relu"}, {"arch.unit_norm_decoder", "true"},
      {"arch.encoder_from_decoder", "true"}},
     "topk.k", {{"4", "8", "16"}, {"8", "16", "32"}}, {214, 96, 24}, {{{NULL}}}},
    {"batchtopk", "BatchTopK",
     {{"arch.hidden_activation", "relu"}, {"arch.unit_norm_decoder", "true"},
      {"arch.encoder_from_decoder", "true"}, {"topk.mode", "batch"}},
     "topk.k", {{"4", "8", "16"}, {"8", "16", "32"}}, {44, 150, 44}, {{{NULL}}}},
    {"matryoshka", "Matryoshka BatchTopK",
     {{"arch.hidden_activation", "relu"}, {"arch.unit_norm_decoder", "true"},
      {"arch.encoder_from_decoder", "true"}, {"topk.mode", "batch"},
      {"matryoshka.prefixes", "PREFIXES"}},
     "topk.k", {{"4", "8", "16"}, {"8", "16", "32"}}, {200, 40, 40}, {{{NULL}}}},
    /* Fashion-MNIST's normalised rows give pre-activations several times
     * the planted data's: theta starts and the kernel is wider there, and
     * log theta takes 10x the rate, or it cannot reach its level in 395
     * steps (docs/experiments/architectures.md). */
    {"jumprelu", "JumpReLU",
     {{"arch.hidden_activation", "jumprelu"}},
     "l0.weight", {{"0.002", "0.01", "0.05"}, {"0.0003", "0.001", "0.003"}}, {130, 80, 180},
     {{{"jumprelu.threshold_init", "0.1"}, {"jumprelu.bandwidth", "0.05"}},
      {{"jumprelu.threshold_init", "0.2"}, {"jumprelu.bandwidth", "0.5"},
       {"jumprelu.lr_scale", "10"}}}},
    {"gated", "gated",
     {{"arch.gated", "true"}, {"arch.hidden_activation", "relu"},
      {"arch.pre_encoder_bias", "false"}, {"arch.encoder_from_decoder", "true"}},
     "l1.weight", {{"10", "15", "20"}, {"1", "2", "4"}}, {140, 86, 75}, {{{NULL}}}},
    {"batchtopk_threshold", "BatchTopK, threshold at inference",
     {{"arch.hidden_activation", "relu"}, {"arch.unit_norm_decoder", "true"},
      {"arch.encoder_from_decoder", "true"}, {"topk.mode", "batch"},
      {"topk.inference", "threshold"}},
     "topk.k", {{"4", "8", "16"}, {"8", "16", "32"}}, {188, 189, 34}, {{{NULL}}}},
};
#define N_ARCHS (sizeof archs / sizeof archs[0])

typedef struct data {
    const char *name; /* results.json's data */
    const char *title;
    float *train, *eval;
    size_t n_train, n_eval, dim, hidden;
    uint64_t epochs;
} data_t;

typedef struct run {
    double l0, fvu, dead, seconds;
    int ok;
} run_t;

static void set(sae_config_t *cfg, const char *k, const char *v)
{
    if (sae_config_set(cfg, k, v) != SAE_OK) {
        fprintf(stderr, NAME ": %s = %s: %s\n", k, v, sae_config_errmsg(cfg));
        exit(1);
    }
}

/* The config of one run, or NULL with why (this build lacks a key). */
static sae_config_t *config_for(const arch_t *a, const data_t *d, int level, uint64_t seed,
                                char *why, size_t why_size)
{
    sae_config_t *cfg = NULL;
    if (sae_config_create(&cfg) != SAE_OK) {
        fprintf(stderr, NAME ": %s\n", sae_last_error());
        exit(1);
    }
    char num[64];
    uint64_t steps = d->epochs * ((d->n_train + BATCH - 1) / BATCH);
    snprintf(num, sizeof num, "%zu", d->dim);
    set(cfg, "arch.input_dim", num);
    snprintf(num, sizeof num, "%zu", d->hidden);
    set(cfg, "arch.hidden_dim", num);
    snprintf(num, sizeof num, "%llu", (unsigned long long)seed);
    set(cfg, "train.seed", num);
    set(cfg, "arch.output_activation", "linear");
    set(cfg, "arch.normalize_input", "true");
    set(cfg, "arch.pre_encoder_bias", "true");
    set(cfg, "arch.bias_init", "mean");
    set(cfg, "optim.type", "adam");
    set(cfg, "optim.lr", LR);
    snprintf(num, sizeof num, "%d", BATCH);
    set(cfg, "train.batch_size", num);
    set(cfg, "schedule.type", "linear");
    snprintf(num, sizeof num, "%llu", (unsigned long long)(steps * 4 / 5));
    set(cfg, "schedule.decay_start", num);
    snprintf(num, sizeof num, "%llu", (unsigned long long)steps);
    set(cfg, "schedule.total_steps", num);
    snprintf(num, sizeof num, "%llu", (unsigned long long)(steps / 20));
    set(cfg, "sparsity.warmup_steps", num);
    char prefixes[64];
    snprintf(prefixes, sizeof prefixes, "%zu,%zu,%zu", d->hidden / 16, d->hidden / 4, d->hidden);
    int di = strcmp(d->name, "synthetic") != 0;
    for (size_t i = 0; i < MAX_SET && a->set[i][0]; i++) {
        const char *v = strcmp(a->set[i][1], "PREFIXES") ? a->set[i][1] : prefixes;
        if (sae_config_set(cfg, a->set[i][0], v) != SAE_OK) {
            snprintf(why, why_size, "%s = %s: %s", a->set[i][0], v, sae_config_errmsg(cfg));
            sae_config_free(cfg);
            return NULL;
        }
    }
    for (size_t i = 0; i < 3 && a->data_set[di][i][0]; i++)
        if (sae_config_set(cfg, a->data_set[di][i][0], a->data_set[di][i][1]) != SAE_OK) {
            snprintf(why, why_size, "%s = %s: %s", a->data_set[di][i][0], a->data_set[di][i][1],
                     sae_config_errmsg(cfg));
            sae_config_free(cfg);
            return NULL;
        }
    if (sae_config_set(cfg, a->level_key, a->levels[di][level]) != SAE_OK) {
        snprintf(why, why_size, "%s = %s: %s", a->level_key, a->levels[di][level],
                 sae_config_errmsg(cfg));
        sae_config_free(cfg);
        return NULL;
    }
    return cfg;
}

/* L0 and the never-active units over the held-out rows. */
static void code_stats(sae_model_t *m, const data_t *d, int sigmoid, double *l0, double *dead)
{
    size_t h = d->hidden, chunk = 256;
    float *code = ex_xmalloc(NAME, chunk * h * sizeof *code);
    uint8_t *seen = ex_xmalloc(NAME, h);
    memset(seen, 0, h);
    double active = 0.0;
    for (size_t r = 0; r < d->n_eval; r += chunk) {
        size_t n = d->n_eval - r < chunk ? d->n_eval - r : chunk;
        if (sae_model_encode(m, d->eval + r * d->dim, n, code) != SAE_OK) {
            fprintf(stderr, NAME ": encode: %s\n", sae_model_errmsg(m));
            exit(1);
        }
        for (size_t i = 0; i < n * h; i++) {
            int on = sigmoid ? fabsf(code[i]) > 1e-3f : code[i] != 0.0f;
            active += on;
            if (on)
                seen[i % h] = 1;
        }
    }
    size_t never = 0;
    for (size_t j = 0; j < h; j++)
        never += !seen[j];
    *l0 = active / (double)d->n_eval;
    *dead = (double)never / (double)h;
    free(code);
    free(seen);
}

static sae_model_t *train_one(const arch_t *a, const data_t *d, int level, uint64_t seed,
                              run_t *out, char *why, size_t why_size)
{
    memset(out, 0, sizeof *out);
    sae_config_t *cfg = config_for(a, d, level, seed, why, why_size);
    if (!cfg)
        return NULL;
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    if (sae_model_create(cfg, &m) != SAE_OK) {
        snprintf(why, why_size, "%s", sae_last_error());
        sae_config_free(cfg);
        return NULL;
    }
    sae_config_free(cfg);
    if (sae_trainer_create(m, &t) != SAE_OK) {
        fprintf(stderr, NAME ": trainer: %s\n", sae_last_error());
        exit(1);
    }
    char label[96];
    snprintf(label, sizeof label, "%s %s %s=%s", d->name, a->name, a->level_key,
             a->levels[strcmp(d->name, "synthetic") != 0][level]);
    ex_progress p;
    ex_progress_init(&p, label);
    sae_trainer_set_callback(t, ex_progress_callback, &p);
    if (sae_trainer_fit(t, d->train, d->n_train, d->epochs) != SAE_OK) {
        fprintf(stderr, NAME ": %s: %s\n", label, sae_trainer_errmsg(t));
        exit(1);
    }
    out->seconds = ex_progress_finish(&p);
    ex_progress_free(&p);
    sae_trainer_free(t);
    if (sae_model_reconstruction_error(m, d->eval, d->n_eval, &out->fvu, NULL) != SAE_OK) {
        fprintf(stderr, NAME ": %s: %s\n", label, sae_model_errmsg(m));
        exit(1);
    }
    code_stats(m, d, !strcmp(a->name, "sigmoid_kl"), &out->l0, &out->dead);
    out->ok = 1;
    printf("%-9s %-22s %s = %-5s L0 %7.2f  FVU %.4f  dead %.3f  %.1f s\n", d->name, a->name,
           a->level_key, a->levels[strcmp(d->name, "synthetic") != 0][level], out->l0, out->fvu,
           out->dead, out->seconds);
    return m;
}

static void load_fashion(const ex_args *args, data_t *d)
{
    char img[4096], lab[4096];
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/fashion-mnist", args->data_dir);
    ex_dataset ds = {0};
    if (!ex_idx_find(dir, "train-images-idx3-ubyte", img, sizeof img) ||
        !ex_idx_find(dir, "train-labels-idx1-ubyte", lab, sizeof lab) ||
        ex_idx_load(img, lab, &ds) != EX_OK || ds.dim != 784) {
        fprintf(stderr, NAME ": cannot load Fashion-MNIST from %s (tools/fetch-data.sh)\n", dir);
        exit(1);
    }
    size_t need = d->n_train + d->n_eval;
    if (ds.rows < need) {
        fprintf(stderr, NAME ": %s has %zu rows, %zu needed\n", dir, ds.rows, need);
        exit(1);
    }
    d->dim = 784;
    d->train = ex_xmalloc(NAME, d->n_train * 784 * sizeof(float));
    d->eval = ex_xmalloc(NAME, d->n_eval * 784 * sizeof(float));
    memcpy(d->train, ds.x, d->n_train * 784 * sizeof(float));
    /* Held out: the last rows of the training file. */
    memcpy(d->eval, ds.x + (ds.rows - d->n_eval) * 784, d->n_eval * 784 * sizeof(float));
    ex_dataset_free(&ds);
}

static void chart(const char *out_dir, const data_t *d, run_t runs[][LEVELS], const int *avail)
{
    ex_series s[N_ARCHS];
    double xs[N_ARCHS][LEVELS], ys[N_ARCHS][LEVELS];
    size_t n = 0;
    for (size_t a = 0; a < N_ARCHS; a++) {
        if (!avail[a])
            continue;
        size_t k = 0;
        for (int l = 0; l < LEVELS; l++)
            if (runs[a][l].ok && runs[a][l].l0 <= MAX_CHART_L0) {
                xs[a][k] = runs[a][l].l0;
                ys[a][k] = runs[a][l].fvu > 1e-6 ? runs[a][l].fvu : 1e-6;
                k++;
            }
        /* Sorted by L0, so each curve runs left to right. */
        for (size_t i = 1; i < k; i++)
            for (size_t j = i; j > 0 && xs[a][j] < xs[a][j - 1]; j--) {
                double tx = xs[a][j], ty = ys[a][j];
                xs[a][j] = xs[a][j - 1], ys[a][j] = ys[a][j - 1];
                xs[a][j - 1] = tx, ys[a][j - 1] = ty;
            }
        if (k > 0)
            s[n++] = (ex_series){archs[a].title, xs[a], ys[a], k, archs[a].color, 0};
    }
    char title[160], path[4096];
    snprintf(title, sizeof title, "%s: FVU against L0, held out", d->title);
    ex_chart c = {title, "L0 (active units per row)", "FVU (log)", 1, 0, 0, 0};
    snprintf(path, sizeof path, "%s/frontier_%s.png", out_dir, d->name);
    ex_saved(NAME, ex_linechart_save(path, &c, s, n), path);
}

int main(int argc, char **argv)
{
    ex_args args;
    int rc = ex_args_parse(&args, argc, argv, NAME,
                           "the modern SAE family: FVU against L0 and planted-feature recovery");
    if (rc >= 0)
        return rc;
    ex_planted_spec spec = {64, 128, 0, 6.0, 0.5, 16, 0.5, 0.05, args.seed + 1};
    size_t syn_train = args.quick ? 4096 : 32768, syn_eval = args.quick ? 1024 : 4096;
    spec.rows = syn_train + syn_eval;
    ex_planted planted;
    if (!ex_planted_make(&spec, &planted))
        ex_die(NAME, "planted dictionary");
    data_t data[2] = {
        {"synthetic", "planted dictionary, 128 features in R^64, 256 units", planted.x,
         planted.x + syn_train * 64, syn_train, syn_eval, 64, args.quick ? 128 : 256,
         args.quick ? 2 : 30},
        {"fashion_mnist", "Fashion-MNIST, 784 -> 512", NULL, NULL, args.quick ? 2048 : 20000,
         args.quick ? 512 : 5000, 784, args.quick ? 128 : 512, args.quick ? 1 : 5},
    };
    load_fashion(&args, &data[1]);
    printf("planted dictionary: %zu features in R^%zu, mean L0 %.2f measured, %zu rows\n",
           spec.n_features, spec.dim, planted.l0, spec.rows);

    cJSON *root = ex_results_begin("modern SAE architectures", NULL, sae_version_string(),
                                   "planted dictionary; Fashion-MNIST train split", &args);
    cJSON *frontier = cJSON_AddArrayToObject(root, "frontier");
    cJSON *recovery = cJSON_AddArrayToObject(root, "recovery");
    cJSON *missing = cJSON_AddArrayToObject(root, "not_in_this_build");
    cJSON_AddNumberToObject(root, "planted_true_l0", planted.l0);
    static run_t runs[2][N_ARCHS][LEVELS];
    int avail[N_ARCHS];
    const char *only = getenv("SAE_ARCHITECTURES_ONLY");
    for (size_t a = 0; a < N_ARCHS; a++) {
        char why[512] = "";
        avail[a] = 1;
        if (only && !strstr(only, archs[a].name)) {
            avail[a] = 0;
            continue;
        }
        for (int di = 0; di < 2 && avail[a]; di++) {
            const data_t *d = &data[di];
            double best_gap = INFINITY, best_cos = 0, best_frac = 0, best_l0 = 0;
            for (int l = 0; l < LEVELS; l++) {
                sae_model_t *m = train_one(&archs[a], d, l, args.seed, &runs[di][a][l], why,
                                           sizeof why);
                if (!m) {
                    avail[a] = 0;
                    break;
                }
                run_t *r = &runs[di][a][l];
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "architecture", archs[a].name);
                cJSON_AddStringToObject(o, "data", d->name);
                cJSON_AddStringToObject(o, "level_key", archs[a].level_key);
                cJSON_AddStringToObject(o, "level", archs[a].levels[di][l]);
                cJSON_AddNumberToObject(o, "l0", r->l0);
                cJSON_AddNumberToObject(o, "fvu", r->fvu);
                cJSON_AddNumberToObject(o, "dead_fraction", r->dead);
                cJSON_AddNumberToObject(o, "seconds", r->seconds);
                cJSON_AddItemToArray(frontier, o);
                if (di == 0 && fabs(r->l0 - planted.l0) < best_gap) {
                    size_t rows, cols;
                    const float *atoms;
                    if (sae_model_tensor_by_name(m, "decoder.weight", &rows, &cols, &atoms) !=
                        SAE_OK)
                        sae_model_tensor_by_name(m, "encoder.weight", &rows, &cols, &atoms);
                    best_gap = fabs(r->l0 - planted.l0);
                    best_l0 = r->l0;
                    ex_planted_recovery(&planted, &spec, atoms, rows, 0.9, &best_cos, &best_frac);
                }
                sae_model_free(m);
            }
            if (avail[a] && di == 0) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "architecture", archs[a].name);
                cJSON_AddNumberToObject(o, "l0", best_l0);
                cJSON_AddNumberToObject(o, "mean_max_cos", best_cos);
                cJSON_AddNumberToObject(o, "fraction_above_0_9", best_frac);
                cJSON_AddItemToArray(recovery, o);
                printf("recovery %-22s at L0 %.2f: mean max cos %.3f, above 0.9 %.3f\n",
                       archs[a].name, best_l0, best_cos, best_frac);
            }
        }
        if (!avail[a]) {
            printf("%-22s not in this build: %s\n", archs[a].name, why);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "architecture", archs[a].name);
            cJSON_AddStringToObject(o, "reason", why);
            cJSON_AddItemToArray(missing, o);
        }
    }
    for (int di = 0; di < 2; di++)
        chart(args.out_dir, &data[di], runs[di], avail);
    int ok = ex_results_save(NAME, args.out_dir, root);
    free(data[1].train);
    free(data[1].eval);
    ex_planted_free(&planted);
    return ok ? 0 : 1;
}
