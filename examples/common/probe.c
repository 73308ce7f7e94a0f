/* SPDX-License-Identifier: MIT */
#include "common/probe.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/split.h"

#define MAX_CLASSES 256

ex_probe_opts ex_probe_defaults(uint64_t seed)
{
    ex_probe_opts o = {30, 100, 0.1, 1e-4, seed};
    return o;
}

void ex_probe_free(ex_probe *p)
{
    if (!p)
        return;
    free(p->mean);
    free(p->scale);
    free(p->w);
    free(p->b);
    memset(p, 0, sizeof *p);
}

static void standardise(const ex_probe *p, const float *x, float *z)
{
    for (size_t k = 0; k < p->dim; k++)
        z[k] = (x[k] - p->mean[k]) * p->scale[k];
}

/* Softmax of W z + b into prob [classes]; returns -log prob[label] when
 * label < classes. */
static double softmax_row(const ex_probe *p, const float *z, size_t label, double *prob)
{
    double top = -INFINITY;
    for (size_t c = 0; c < p->classes; c++) {
        const float *w = p->w + c * p->dim;
        double a = p->b[c];
        for (size_t k = 0; k < p->dim; k++)
            a += (double)w[k] * z[k];
        prob[c] = a;
        top = a > top ? a : top;
    }
    double sum = 0.0;
    for (size_t c = 0; c < p->classes; c++) {
        prob[c] = exp(prob[c] - top);
        sum += prob[c];
    }
    for (size_t c = 0; c < p->classes; c++)
        prob[c] /= sum;
    if (label >= p->classes)
        return 0.0;
    double q = prob[label];
    return q > 1e-300 ? -log(q) : 690.8; /* -log(1e-300) */
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static ex_status fit_scaling(ex_probe *p, const float *x, size_t rows)
{
    double *sum = calloc(p->dim, sizeof *sum), *sq = calloc(p->dim, sizeof *sq);
    if (!sum || !sq) {
        free(sum);
        free(sq);
        return ex_fail(EX_ERR_NOMEM, "no memory");
    }
    for (size_t r = 0; r < rows; r++) {
        const float *v = x + r * p->dim;
        for (size_t k = 0; k < p->dim; k++)
            sum[k] += v[k];
    }
    for (size_t k = 0; k < p->dim; k++)
        sum[k] /= (double)rows;
    for (size_t r = 0; r < rows; r++) {
        const float *v = x + r * p->dim;
        for (size_t k = 0; k < p->dim; k++) {
            double d = v[k] - sum[k];
            sq[k] += d * d;
        }
    }
    for (size_t k = 0; k < p->dim; k++)
        sq[k] /= (double)rows;
    /* The median variance, by sorting a copy (dim is small). */
    double *sorted = malloc(p->dim * sizeof *sorted);
    if (!sorted) {
        free(sum);
        free(sq);
        return ex_fail(EX_ERR_NOMEM, "no memory");
    }
    memcpy(sorted, sq, p->dim * sizeof *sorted);
    qsort(sorted, p->dim, sizeof *sorted, cmp_double);
    double median_var = sorted[p->dim / 2], mean_var = 0.0;
    free(sorted);
    for (size_t k = 0; k < p->dim; k++)
        mean_var += sq[k] / (double)p->dim;
    /* More than half the features constant: the mean, then. */
    double floor_var = EX_PROBE_VAR_FLOOR * (median_var > 0.0 ? median_var : mean_var);
    for (size_t k = 0; k < p->dim; k++) {
        double var = sq[k] > floor_var ? sq[k] : floor_var;
        p->mean[k] = (float)sum[k];
        /* Every feature constant: nothing to scale, and nothing to learn. */
        p->scale[k] = var > 0.0 ? (float)(1.0 / sqrt(var)) : 0.0f;
    }
    free(sum);
    free(sq);
    return EX_OK;
}

ex_status ex_probe_train(ex_probe *p, const float *x, const uint8_t *labels, size_t rows,
                         size_t dim, size_t classes, const ex_probe_opts *opts)
{
    if (p)
        memset(p, 0, sizeof *p);
    if (!p || !x || !labels || !opts)
        return ex_fail(EX_ERR_ARG, "ex_probe_train: NULL argument");
    if (rows == 0 || dim == 0 || classes == 0 || classes > MAX_CLASSES)
        return ex_fail(EX_ERR_ARG, "ex_probe_train: %zu rows of %zu features, %zu classes", rows,
                       dim, classes);
    if (opts->epochs == 0 || opts->batch == 0 || !(opts->lr > 0.0) || !(opts->l2 >= 0.0) ||
        !isfinite(opts->lr) || !isfinite(opts->l2))
        return ex_fail(EX_ERR_ARG, "ex_probe_train: epochs %zu, batch %zu, lr %g, l2 %g",
                       opts->epochs, opts->batch, opts->lr, opts->l2);
    if (dim > SIZE_MAX / sizeof(float) / rows || dim > SIZE_MAX / sizeof(float) / classes)
        return ex_fail(EX_ERR_ARG, "ex_probe_train: %zu x %zu is too big", rows, dim);
    for (size_t r = 0; r < rows; r++)
        if (labels[r] >= classes)
            return ex_fail(EX_ERR_RANGE, "ex_probe_train: label %u at row %zu, %zu classes",
                           (unsigned)labels[r], r, classes);
    for (size_t i = 0; i < rows * dim; i++)
        if (!isfinite(x[i]))
            return ex_fail(EX_ERR_RANGE, "ex_probe_train: non-finite value at row %zu", i / dim);

    p->dim = dim;
    p->classes = classes;
    p->mean = malloc(dim * sizeof *p->mean);
    p->scale = malloc(dim * sizeof *p->scale);
    p->w = calloc(classes * dim, sizeof *p->w);
    p->b = calloc(classes, sizeof *p->b);
    float *z = malloc(rows * dim * sizeof *z);
    float *gw = malloc(classes * dim * sizeof *gw);
    double *gb = malloc(classes * sizeof *gb), *prob = malloc(classes * sizeof *prob);
    size_t *order = malloc(rows * sizeof *order);
    ex_status st = EX_OK;
    if (!p->mean || !p->scale || !p->w || !p->b || !z || !gw || !gb || !prob || !order)
        st = ex_fail(EX_ERR_NOMEM, "no memory");
    if (st == EX_OK)
        st = fit_scaling(p, x, rows);
    if (st == EX_OK) {
        for (size_t r = 0; r < rows; r++)
            standardise(p, x + r * dim, z + r * dim);
        for (size_t e = 0; e < opts->epochs; e++) {
            double frac = opts->epochs > 1 ? (double)e / (double)(opts->epochs - 1) : 0.0;
            double lr = opts->lr * (1.0 - 0.9 * frac);
            ex_permutation(order, rows, opts->seed + e);
            for (size_t pos = 0; pos < rows; pos += opts->batch) {
                size_t n = rows - pos < opts->batch ? rows - pos : opts->batch;
                memset(gw, 0, classes * dim * sizeof *gw);
                memset(gb, 0, classes * sizeof *gb);
                for (size_t i = 0; i < n; i++) {
                    size_t r = order[pos + i];
                    const float *zr = z + r * dim;
                    softmax_row(p, zr, classes, prob);
                    prob[labels[r]] -= 1.0; /* dL/dlogit = p - onehot */
                    for (size_t c = 0; c < classes; c++) {
                        float g = (float)prob[c];
                        float *gc = gw + c * dim;
                        for (size_t k = 0; k < dim; k++)
                            gc[k] += g * zr[k];
                        gb[c] += prob[c];
                    }
                }
                double step = lr / (double)n;
                float shrink = (float)(1.0 - lr * opts->l2);
                for (size_t c = 0; c < classes; c++) {
                    float *w = p->w + c * dim;
                    const float *gc = gw + c * dim;
                    for (size_t k = 0; k < dim; k++)
                        w[k] = shrink * w[k] - (float)step * gc[k];
                    p->b[c] -= (float)(step * gb[c]);
                }
            }
        }
        double loss = 0.0;
        for (size_t r = 0; r < rows; r++)
            loss += softmax_row(p, z + r * dim, labels[r], prob);
        p->train_loss = loss / (double)rows;
    }
    free(z);
    free(gw);
    free(gb);
    free(prob);
    free(order);
    if (st != EX_OK)
        ex_probe_free(p);
    return st;
}

void ex_probe_predict(const ex_probe *p, const float *x, size_t rows, uint8_t *pred)
{
    if (!p || !p->w || !x || !pred)
        return;
    float *z = malloc(p->dim * sizeof *z);
    double *prob = malloc(p->classes * sizeof *prob);
    if (!z || !prob) {
        free(z);
        free(prob);
        memset(pred, 0, rows);
        return;
    }
    for (size_t r = 0; r < rows; r++) {
        standardise(p, x + r * p->dim, z);
        softmax_row(p, z, p->classes, prob);
        size_t best = 0;
        for (size_t c = 1; c < p->classes; c++)
            if (prob[c] > prob[best])
                best = c;
        pred[r] = (uint8_t)best;
    }
    free(z);
    free(prob);
}

double ex_probe_accuracy(const ex_probe *p, const float *x, const uint8_t *labels, size_t rows)
{
    if (!p || !x || !labels || rows == 0)
        return 0.0;
    uint8_t *pred = malloc(rows);
    if (!pred)
        return 0.0;
    ex_probe_predict(p, x, rows, pred);
    size_t right = 0;
    for (size_t r = 0; r < rows; r++)
        right += pred[r] == labels[r];
    free(pred);
    return (double)right / (double)rows;
}

double ex_probe_loss(const ex_probe *p, const float *x, const uint8_t *labels, size_t rows)
{
    if (!p || !p->w || !x || !labels || rows == 0)
        return 0.0;
    float *z = malloc(p->dim * sizeof *z);
    double *prob = malloc(p->classes * sizeof *prob);
    double loss = 0.0;
    if (z && prob) {
        for (size_t r = 0; r < rows; r++) {
            standardise(p, x + r * p->dim, z);
            loss += softmax_row(p, z, labels[r], prob);
        }
    }
    free(z);
    free(prob);
    return loss / (double)rows;
}
