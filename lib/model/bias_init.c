/* Mean and geometric median of data rows, for the decoder's bias.
 *
 * The geometric median y minimises sum_i ||x_i - y|| (Euclidean). Weiszfeld
 * (1937) iterates y <- T(y) = sum_i x_i / d_i / sum_i 1 / d_i, with
 * d_i = ||x_i - y||, which is undefined when y lands on a data point. At
 * such a point, with eta rows equal to y and R = sum over the other rows of
 * (x_i - y) / d_i, Vardi and Zhang (2000, "The multivariate L1-median and
 * associated data depth", PNAS 97(4)) step to
 *     y' = max(0, 1 - eta / ||R||) T(y) + min(1, eta / ||R||) y
 * (T over the other rows): y is the median exactly when ||R|| <= eta.
 * Everything is in double. SPDX-License-Identifier: MIT */
#include "model/bias_init.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/kind.h"
#include "model/model.h"
#include "model/dense.h"

static const float *row_of(const float *x, size_t rows, size_t d, size_t n, size_t i)
{
    size_t r = n == rows ? i : (size_t)((unsigned long long)i * rows / n);
    return x + r * d;
}

static double dist(const float *x, const double *y, size_t d)
{
    double s = 0.0;
    for (size_t k = 0; k < d; k++) {
        double e = (double)x[k] - y[k];
        s += e * e;
    }
    return sqrt(s);
}

void sae_rows_mean(const float *x, size_t rows, size_t d, size_t n, double *est)
{
    memset(est, 0, d * sizeof *est);
    for (size_t i = 0; i < n; i++) {
        const float *xi = row_of(x, rows, d, n, i);
        for (size_t k = 0; k < d; k++)
            est[k] += (double)xi[k];
    }
    for (size_t k = 0; k < d; k++)
        est[k] /= (double)n;
}

unsigned sae_rows_geometric_median(const float *x, size_t rows, size_t d, size_t n, double *est,
                                   double *work)
{
    double *num = work;
    sae_rows_mean(x, rows, d, n, est);
    double scale = 0.0;
    for (size_t i = 0; i < n; i++)
        scale += dist(row_of(x, rows, d, n, i), est, d);
    scale /= (double)n;
    if (!(scale > 0.0))
        return 0; /* every row is the mean */
    /* A row this close to the estimate is taken to coincide with it. */
    double same = 1e-12 * scale, tol = SAE_GEOMEDIAN_TOL * scale;
    unsigned it = 0;
    while (it < SAE_GEOMEDIAN_MAX_ITER) {
        it++;
        memset(num, 0, d * sizeof *num);
        double wsum = 0.0;
        size_t eta = 0;
        for (size_t i = 0; i < n; i++) {
            const float *xi = row_of(x, rows, d, n, i);
            double di = dist(xi, est, d);
            if (di <= same) {
                eta++;
                continue;
            }
            double w = 1.0 / di;
            wsum += w;
            for (size_t k = 0; k < d; k++)
                num[k] += w * (double)xi[k];
        }
        if (wsum == 0.0)
            break; /* every row coincides with the estimate */
        /* num / wsum is T(y); R = num - wsum y. */
        double keep = 0.0;
        if (eta > 0) {
            double r2 = 0.0;
            for (size_t k = 0; k < d; k++) {
                double rk = num[k] - wsum * est[k];
                r2 += rk * rk;
            }
            double r = sqrt(r2);
            if (r <= (double)eta)
                break; /* the data point is the median */
            keep = (double)eta / r;
        }
        double step2 = 0.0;
        for (size_t k = 0; k < d; k++) {
            double y = (1.0 - keep) * (num[k] / wsum) + keep * est[k];
            step2 += (y - est[k]) * (y - est[k]);
            est[k] = y;
        }
        if (sqrt(step2) <= tol)
            break;
    }
    return it;
}

void sae_model_set_bias_from(sae_model_t *m, const float *x, size_t rows, size_t n,
                             sae_bias_init_t method, double *est, double *work)
{
    sae_dense_t *dn = sae_dense(m);
    size_t d = m->input_dim;
    if (method == SAE_BIAS_INIT_MEAN)
        sae_rows_mean(x, rows, d, n, est);
    else if (method == SAE_BIAS_INIT_GEOMETRIC_MEDIAN)
        sae_rows_geometric_median(x, rows, d, n, est, work);
    else
        memset(est, 0, d * sizeof *est);
    for (size_t k = 0; k < d; k++)
        dn->dec_b[k] = (float)est[k];
    dn->bias_init_pending = 0;
}

sae_status_t sae_model_init_decoder_bias(sae_model_t *m, const float *x, size_t rows,
                                         sae_bias_init_t method)
{
    static const char fn[] = "sae_model_init_decoder_bias";
    if (!m)
        return sae_fail_global(SAE_ERR_NULL, "%s: model is NULL", fn);
    if (!x)
        return sae_fail(m->errmsg, SAE_ERR_NULL, "%s: x is NULL", fn);
    if (rows == 0)
        return sae_fail(m->errmsg, SAE_ERR_DIMENSION, "%s: no rows", fn);
    if ((int)method < SAE_BIAS_INIT_ZERO || (int)method > SAE_BIAS_INIT_GEOMETRIC_MEDIAN)
        return sae_fail(m->errmsg, SAE_ERR_RANGE, "%s: unknown method %d", fn, (int)method);
    if (m->kind->no_decoder_bias)
        return sae_fail(m->errmsg, SAE_ERR_STATE, "%s: %s", fn, m->kind->no_decoder_bias);
    if (!sae_dense(m)->dec_b)
        return sae_fail(m->errmsg, SAE_ERR_STATE,
                        "%s: the model has no decoder.bias "
                        "(arch.bias = false)",
                        fn);
    if (m->output_act != SAE_ACT_LINEAR)
        return sae_fail(m->errmsg, SAE_ERR_STATE,
                        "%s: needs arch.output_activation = linear (decoder.bias must be a "
                        "point of the input space)",
                        fn);
    size_t d = m->input_dim;
    if (rows > SIZE_MAX / sizeof(float) / d)
        return sae_fail(m->errmsg, SAE_ERR_DIMENSION, "%s: %zu rows is too many", fn, rows);
    if (!sae_all_finite(x, rows * d))
        return sae_fail(m->errmsg, SAE_ERR_NONFINITE, "%s: x holds NaN or Inf", fn);
    double *buf = malloc(2 * d * sizeof *buf);
    if (!buf)
        return sae_fail(m->errmsg, SAE_ERR_NOMEM, "%s: out of memory", fn);
    sae_model_set_bias_from(m, x, rows, rows, method, buf, buf + d);
    free(buf);
    return SAE_OK;
}
