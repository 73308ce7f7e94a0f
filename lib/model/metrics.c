/* The evaluation metrics SAE papers compare, accumulated over rows given in
 * chunks: L0, MSE, the fraction of variance unexplained (Gao et al. 2024,
 * section 2.1), cosine similarity and l2 ratio of x and x_hat, the relative
 * reconstruction bias (Rajamanoharan et al. 2024, arXiv 2404.16014, the
 * gated SAE paper's shrinkage measure), dead and dense latents and the
 * firing frequencies. The variance around the mean of all rows is merged
 * chunk by chunk (Chan, Golub and LeVeque's pairwise update), so one pass
 * suffices and large offsets do not cancel. SPDX-License-Identifier: MIT */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "model/model.h"

#define METRICS_CHUNK 256
#define DENSE_FREQUENCY 0.1 /* "dense": active on more than 10% of rows */

/* The sums of a set of rows. */
typedef struct sums {
    uint64_t rows, active, nonzero_rows;
    double se, xh2, dot, cos, ratio;
    double *mean, *m2; /* per input column, around the set's own mean */
    uint64_t *fired;   /* per latent */
} sums_t;

struct sae_metrics {
    sae_model_t *model;
    size_t d, h;
    sums_t total, call; /* all rows; the rows of the current add */
    double *chunk_mean, *chunk_m2;
    float *code, *xh; /* one chunk's */
    char errmsg[SAE_ERRMSG_SIZE];
};

static void sums_clear(sums_t *s, size_t d, size_t h)
{
    s->rows = s->active = s->nonzero_rows = 0;
    s->se = s->xh2 = s->dot = s->cos = s->ratio = 0.0;
    memset(s->mean, 0, d * sizeof *s->mean);
    memset(s->m2, 0, d * sizeof *s->m2);
    memset(s->fired, 0, h * sizeof *s->fired);
}

/* a += b: the scalar sums add; the column moments merge (Chan et al. 1979:
 * M2 = M2_a + M2_b + delta^2 n_a n_b / n). */
static void sums_merge(sums_t *a, const sums_t *b, const double *b_mean, const double *b_m2,
                       size_t d, size_t h, const uint64_t *b_fired)
{
    uint64_t n = a->rows + b->rows;
    if (b->rows == 0)
        return;
    double na = (double)a->rows, nb = (double)b->rows, nn = (double)n;
    for (size_t c = 0; c < d; c++) {
        double delta = b_mean[c] - a->mean[c];
        a->mean[c] += delta * nb / nn;
        a->m2[c] += b_m2[c] + delta * delta * na * nb / nn;
    }
    if (b_fired)
        for (size_t j = 0; j < h; j++)
            a->fired[j] += b_fired[j];
    a->rows = n;
    a->active += b->active;
    a->nonzero_rows += b->nonzero_rows;
    a->se += b->se;
    a->xh2 += b->xh2;
    a->dot += b->dot;
    a->cos += b->cos;
    a->ratio += b->ratio;
}

static int sums_alloc(sums_t *s, size_t d, size_t h)
{
    s->mean = calloc(d, sizeof *s->mean);
    s->m2 = calloc(d, sizeof *s->m2);
    s->fired = calloc(h, sizeof *s->fired);
    return s->mean && s->m2 && s->fired;
}

static void sums_free(sums_t *s)
{
    free(s->mean);
    free(s->m2);
    free(s->fired);
}

sae_status_t sae_metrics_create(sae_model_t *model, sae_metrics_t **out)
{
    if (out)
        *out = NULL;
    if (!model || !out)
        return sae_fail_global(SAE_ERR_NULL, "sae_metrics_create: %s is NULL",
                               !model ? "model" : "out");
    sae_metrics_t *mx = calloc(1, sizeof *mx);
    if (!mx)
        return sae_fail_global(SAE_ERR_NOMEM, "sae_metrics_create: out of memory");
    mx->model = model;
    mx->d = model->input_dim;
    mx->h = model->code_dim;
    int ok = sums_alloc(&mx->total, mx->d, mx->h) && sums_alloc(&mx->call, mx->d, mx->h);
    mx->chunk_mean = calloc(mx->d, sizeof *mx->chunk_mean);
    mx->chunk_m2 = calloc(mx->d, sizeof *mx->chunk_m2);
    mx->code = malloc((size_t)METRICS_CHUNK * mx->h * sizeof *mx->code);
    mx->xh = malloc((size_t)METRICS_CHUNK * mx->d * sizeof *mx->xh);
    if (!ok || !mx->chunk_mean || !mx->chunk_m2 || !mx->code || !mx->xh) {
        sae_metrics_free(mx);
        return sae_fail_global(SAE_ERR_NOMEM, "sae_metrics_create: out of memory (%zu latents)",
                               model->code_dim);
    }
    *out = mx;
    return SAE_OK;
}

void sae_metrics_free(sae_metrics_t *mx)
{
    if (!mx)
        return;
    sums_free(&mx->total);
    sums_free(&mx->call);
    free(mx->chunk_mean);
    free(mx->chunk_m2);
    free(mx->code);
    free(mx->xh);
    free(mx);
}

const char *sae_metrics_errmsg(const sae_metrics_t *mx)
{
    return mx ? mx->errmsg : "metrics is NULL";
}

void sae_metrics_reset(sae_metrics_t *mx)
{
    if (mx)
        sums_clear(&mx->total, mx->d, mx->h);
}

/* One chunk of n rows, x_hat and the code computed: its sums merged into
 * mx->call. */
static void add_chunk(sae_metrics_t *mx, const float *x, size_t n)
{
    size_t d = mx->d, h = mx->h;
    sums_t *c = &mx->call;
    /* Active as sae_stats_t.l0 counts (layers/activation.c). */
    float thr = (mx->model->hidden_act == SAE_ACT_SIGMOID || mx->model->hidden_act == SAE_ACT_TANH)
                    ? 1e-3f
                    : 0.0f;
    sums_t b = {0};
    b.rows = n;
    double *mean = mx->chunk_mean;
    memset(mean, 0, d * sizeof *mean);
    for (size_t r = 0; r < n; r++) {
        const float *xr = x + r * d, *yr = mx->xh + r * d;
        double x2 = 0, y2 = 0, xy = 0, se = 0;
        for (size_t k = 0; k < d; k++) {
            double a = xr[k], y = yr[k];
            x2 += a * a;
            y2 += y * y;
            xy += a * y;
            se += (a - y) * (a - y);
            mean[k] += a;
        }
        b.se += se;
        b.xh2 += y2;
        b.dot += xy;
        if (x2 > 0.0) {
            b.nonzero_rows++;
            b.ratio += sqrt(y2 / x2);
            b.cos += y2 > 0.0 ? xy / sqrt(x2 * y2) : 0.0;
        }
        const float *hr = mx->code + r * h;
        for (size_t j = 0; j < h; j++)
            if (fabsf(hr[j]) > thr) {
                b.active++;
                c->fired[j]++;
            }
    }
    for (size_t k = 0; k < d; k++)
        mean[k] /= (double)n;
    double *m2 = mx->chunk_m2;
    memset(m2, 0, d * sizeof *m2);
    for (size_t r = 0; r < n; r++)
        for (size_t k = 0; k < d; k++) {
            double v = (double)x[r * d + k] - mean[k];
            m2[k] += v * v;
        }
    sums_merge(c, &b, mean, m2, d, h, NULL);
}

sae_status_t sae_metrics_add(sae_metrics_t *mx, const float *x, size_t rows)
{
    if (!mx)
        return sae_fail_global(SAE_ERR_NULL, "sae_metrics_add: metrics is NULL");
    if (rows == 0)
        return SAE_OK;
    if (!x)
        return sae_fail(mx->errmsg, SAE_ERR_NULL, "sae_metrics_add: x is NULL");
    size_t d = mx->d, h = mx->h;
    if (rows > SIZE_MAX / sizeof(float) / d)
        return sae_fail(mx->errmsg, SAE_ERR_DIMENSION, "sae_metrics_add: %zu rows is too many",
                        rows);
    if (!sae_all_finite(x, rows * d))
        return sae_fail(mx->errmsg, SAE_ERR_NONFINITE, "sae_metrics_add: x holds NaN or Inf");
    sums_clear(&mx->call, d, h);
    for (size_t r = 0; r < rows; r += METRICS_CHUNK) {
        size_t n = rows - r < METRICS_CHUNK ? rows - r : METRICS_CHUNK;
        const float *xr = x + r * d;
        /* One encode: x_hat is the decode of the code counted, which is
         * what sae_model_reconstruct computes. */
        sae_status_t st = sae_model_encode(mx->model, xr, n, mx->code);
        if (st == SAE_OK)
            st = sae_model_decode(mx->model, mx->code, n, mx->xh);
        if (st != SAE_OK)
            return sae_fail(mx->errmsg, st, "%s", sae_model_errmsg(mx->model));
        add_chunk(mx, xr, n);
    }
    sums_merge(&mx->total, &mx->call, mx->call.mean, mx->call.m2, d, h, mx->call.fired);
    return SAE_OK;
}

static sae_status_t need_rows(const sae_metrics_t *mx, const char *fn)
{
    if (!mx)
        return sae_fail_global(SAE_ERR_NULL, "%s: metrics is NULL", fn);
    if (mx->total.rows == 0)
        return sae_fail((char *)mx->errmsg, SAE_ERR_STATE, "%s: no rows added yet", fn);
    return SAE_OK;
}

sae_status_t sae_metrics_summary(const sae_metrics_t *mx, sae_metrics_summary_t *out)
{
    sae_status_t st = need_rows(mx, "sae_metrics_summary");
    if (st != SAE_OK)
        return st;
    /* The message buffer is the one mutable part of a const handle. */
    char *err = (char *)mx->errmsg;
    if (!out)
        return sae_fail(err, SAE_ERR_NULL, "sae_metrics_summary: out is NULL");
    size_t size = out->struct_size;
    if (size < offsetof(sae_metrics_summary_t, units))
        return sae_fail(err, SAE_ERR_RANGE,
                        "sae_metrics_summary: struct_size %zu holds no field (set it to "
                        "sizeof(sae_metrics_summary_t))",
                        size);
    const sums_t *t = &mx->total;
    double n = (double)t->rows, var = 0.0;
    for (size_t c = 0; c < mx->d; c++)
        var += t->m2[c];
    uint64_t dead = 0, dense = 0;
    for (size_t j = 0; j < mx->h; j++) {
        dead += t->fired[j] == 0;
        dense += (double)t->fired[j] > DENSE_FREQUENCY * n;
    }
    sae_metrics_summary_t s;
    memset(&s, 0, sizeof s);
    s.rows = t->rows;
    s.units = mx->h;
    s.l0 = (double)t->active / n;
    s.mse = t->se / (n * (double)mx->d);
    s.fvu = t->rows >= 2 && var > 0.0 ? t->se / var : NAN;
    s.explained_variance = 1.0 - s.fvu;
    s.cosine = t->nonzero_rows ? t->cos / (double)t->nonzero_rows : NAN;
    s.l2_ratio = t->nonzero_rows ? t->ratio / (double)t->nonzero_rows : NAN;
    s.rel_bias = t->dot != 0.0 ? t->xh2 / t->dot : NAN;
    s.dead_fraction = (double)dead / (double)mx->h;
    s.dense_fraction = (double)dense / (double)mx->h;
    s.dead_units = dead;
    s.dense_units = dense;
    /* Only the fields that fit in the caller's struct: a caller compiled
     * against an older, shorter struct keeps its size. */
    if (size > sizeof s)
        size = sizeof s;
    s.struct_size = (uint32_t)size;
    memcpy(out, &s, size);
    return SAE_OK;
}

sae_status_t sae_metrics_frequency(const sae_metrics_t *mx, double *frequency, size_t units)
{
    sae_status_t st = need_rows(mx, "sae_metrics_frequency");
    if (st != SAE_OK)
        return st;
    char *err = (char *)mx->errmsg;
    if (!frequency)
        return sae_fail(err, SAE_ERR_NULL, "sae_metrics_frequency: frequency is NULL");
    if (units != mx->h)
        return sae_fail(err, SAE_ERR_DIMENSION,
                        "sae_metrics_frequency: %zu units asked, the code has %zu", units, mx->h);
    for (size_t j = 0; j < units; j++)
        frequency[j] = (double)mx->total.fired[j] / (double)mx->total.rows;
    return SAE_OK;
}

sae_status_t sae_metrics_histogram(const sae_metrics_t *mx, double lo, double hi, size_t bins,
                                   uint64_t *counts)
{
    sae_status_t st = need_rows(mx, "sae_metrics_histogram");
    if (st != SAE_OK)
        return st;
    char *err = (char *)mx->errmsg;
    if (!counts)
        return sae_fail(err, SAE_ERR_NULL, "sae_metrics_histogram: counts is NULL");
    if (bins == 0 || !isfinite(lo) || !isfinite(hi) || !(lo < hi))
        return sae_fail(err, SAE_ERR_RANGE,
                        "sae_metrics_histogram: needs bins >= 1 and finite lo < hi (%zu bins "
                        "over [%g, %g))",
                        bins, lo, hi);
    memset(counts, 0, bins * sizeof *counts);
    double w = (hi - lo) / (double)bins;
    for (size_t j = 0; j < mx->h; j++) {
        if (mx->total.fired[j] == 0)
            continue;
        double f = log10((double)mx->total.fired[j] / (double)mx->total.rows);
        double i = floor((f - lo) / w);
        size_t b = i < 0.0 ? 0 : i >= (double)bins ? bins - 1 : (size_t)i;
        counts[b]++;
    }
    return SAE_OK;
}

sae_status_t sae_model_metrics(sae_model_t *model, const float *x, size_t rows,
                               sae_metrics_summary_t *out)
{
    sae_metrics_t *mx = NULL;
    sae_status_t st = sae_metrics_create(model, &mx);
    if (st != SAE_OK)
        return st;
    st = sae_metrics_add(mx, x, rows);
    if (st == SAE_OK)
        st = sae_metrics_summary(mx, out);
    if (st != SAE_OK)
        sae_fail(model->errmsg, st, "%s", sae_metrics_errmsg(mx));
    sae_metrics_free(mx);
    return st;
}
