/* MSE and BCE-from-logits, fused with the output bias and activation.
 * SPDX-License-Identifier: MIT */
#include "loss/loss.h"

#include <math.h>
#include <string.h>

#include "core/fastmath.h"
#include "core/parallel.h"

static double bce_rows(float *o, const float *x, size_t r0, size_t r1, size_t cols,
                       const float *bias, int grad, float scale, double *col_acc)
{
    double total = 0.0;
    for (size_t r = r0; r < r1; r++) {
        float *restrict orow = o + r * cols;
        const float *restrict xrow = x + r * cols;
        float acc = 0.0f;
        for (size_t c = 0; c < cols; c++) {
            float z = orow[c] + (bias ? bias[c] : 0.0f);
            float t = xrow[c];
            float e = sae_fast_expf(-fabsf(z));
            /* softplus(z) - t z = max(z,0) - t z + log(1 + exp(-|z|)) */
            acc += (z > 0.0f ? z : 0.0f) - t * z + sae_log1p_unit(e);
            if (grad) {
                float inv = 1.0f / (1.0f + e);
                float sig = z >= 0.0f ? inv : e * inv;
                float g = (sig - t) * scale;
                orow[c] = g;
                if (col_acc)
                    col_acc[c] += (double)g;
            }
        }
        total += (double)acc;
    }
    return total;
}

static double mse_rows(sae_activation_t act, float *o, const float *x, size_t r0, size_t r1,
                       size_t cols, const float *bias, int grad, float scale, double *col_acc)
{
    double total = 0.0;
    for (size_t r = r0; r < r1; r++) {
        float *restrict orow = o + r * cols;
        const float *restrict xrow = x + r * cols;
        float acc = 0.0f;
        for (size_t c = 0; c < cols; c++) {
            float y = sae_act_apply(act, orow[c] + (bias ? bias[c] : 0.0f));
            float d = y - xrow[c];
            acc += d * d;
            if (grad) {
                float g = 2.0f * d * scale * sae_act_deriv_from_output(act, y);
                orow[c] = g;
                if (col_acc)
                    col_acc[c] += (double)g;
            }
        }
        total += (double)acc;
    }
    return total;
}

double sae_loss_apply(sae_loss_t loss, sae_activation_t out_act, float *o, const float *x,
                      size_t rows, size_t cols, const float *bias, int grad, float *dbias,
                      const sae_reduce_scratch_t *scr)
{
    size_t n = rows * cols;
    if (n == 0)
        return 0.0;
    float scale = 1.0f / (float)n;
    int nt = scr ? sae_threads_for(n, scr->threads) : 1;
    if (nt > 64)
        nt = 64;
    int want_cols = grad && dbias;
    double part[64] = {0};
    if (want_cols)
        memset(scr->buf, 0, (size_t)nt * cols * sizeof(double));
#ifdef _OPENMP
#pragma omp parallel num_threads(nt) if (nt > 1)
#endif
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        size_t r0, r1;
        sae_split_rows(rows, nt, tid, &r0, &r1);
        double *acc = want_cols ? scr->buf + (size_t)tid * cols : NULL;
        if (loss == SAE_LOSS_BCE)
            part[tid] = bce_rows(o, x, r0, r1, cols, bias, grad, scale, acc);
        else
            part[tid] = mse_rows(out_act, o, x, r0, r1, cols, bias, grad, scale, acc);
    }
    double total = 0.0;
    for (int t = 0; t < nt; t++)
        total += part[t];
    if (want_cols) {
        for (size_t c = 0; c < cols; c++) {
            double s = 0.0;
            for (int t = 0; t < nt; t++)
                s += scr->buf[(size_t)t * cols + c];
            dbias[c] = (float)s;
        }
    }
    return total / (double)n;
}
