/* Fused bias + activation kernels, forward and backward side by side.
 * SPDX-License-Identifier: MIT */
#include "layers/activation.h"

#include <math.h>
#include <string.h>

#include "core/fastmath.h"
#include "core/parallel.h"

float sae_act_apply(sae_activation_t act, float z)
{
    switch (act) {
    case SAE_ACT_SIGMOID: return sae_fast_sigmoid(z);
    case SAE_ACT_RELU: return z > 0.0f ? z : 0.0f;
    case SAE_ACT_TANH: return sae_fast_tanh(z);
    case SAE_ACT_LINEAR: break;
    }
    return z;
}

float sae_act_deriv_from_output(sae_activation_t act, float y)
{
    switch (act) {
    case SAE_ACT_SIGMOID: return y * (1.0f - y);
    case SAE_ACT_RELU: return y > 0.0f ? 1.0f : 0.0f;
    case SAE_ACT_TANH: return 1.0f - y * y;
    case SAE_ACT_LINEAR: break;
    }
    return 1.0f;
}

/* Threshold above which a unit counts as active for L0: saturating units
 * never reach exactly zero. */
static float active_threshold(sae_activation_t act)
{
    return (act == SAE_ACT_SIGMOID || act == SAE_ACT_TANH) ? 1e-3f : 0.0f;
}

static void forward_row(sae_activation_t act, float *restrict z, size_t cols,
                        const float *restrict bias)
{
    size_t c;
    switch (act) {
    case SAE_ACT_SIGMOID:
        for (c = 0; c < cols; c++)
            z[c] = sae_fast_sigmoid(z[c] + (bias ? bias[c] : 0.0f));
        break;
    case SAE_ACT_RELU:
        for (c = 0; c < cols; c++) {
            float v = z[c] + (bias ? bias[c] : 0.0f);
            z[c] = v > 0.0f ? v : 0.0f;
        }
        break;
    case SAE_ACT_TANH:
        for (c = 0; c < cols; c++)
            z[c] = sae_fast_tanh(z[c] + (bias ? bias[c] : 0.0f));
        break;
    case SAE_ACT_LINEAR:
        if (bias)
            for (c = 0; c < cols; c++)
                z[c] += bias[c];
        break;
    }
}

static void forward_rows(sae_activation_t act, float *z, size_t r0, size_t r1, size_t cols,
                         const float *bias, sae_code_stats_t *st, double *col_acc,
                         double *abs_sum, double *active)
{
    float thr = active_threshold(act);
    double a_sum = 0.0, n_act = 0.0;
    for (size_t r = r0; r < r1; r++) {
        float *row = z + r * cols;
        forward_row(act, row, cols, bias);
        if (!st)
            continue;
        float rs = 0.0f, as = 0.0f, na = 0.0f;
        for (size_t c = 0; c < cols; c++) {
            float v = row[c];
            float av = fabsf(v);
            rs += v;
            as += av;
            na += av > thr ? 1.0f : 0.0f;
            col_acc[c] += (double)v;
        }
        st->row_sum[r] = (double)rs;
        a_sum += (double)as;
        n_act += (double)na;
    }
    *abs_sum = a_sum;
    *active = n_act;
}

void sae_bias_act_forward(sae_activation_t act, float *z, size_t rows, size_t cols,
                          const float *bias, sae_code_stats_t *st,
                          const sae_reduce_scratch_t *scr)
{
    int nt = st && scr ? sae_threads_for(rows * cols, scr->threads) : 1;
    if (!st) {
        nt = sae_threads_for(rows * cols, scr ? scr->threads : 1);
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
            for (size_t r = r0; r < r1; r++)
                forward_row(act, z + r * cols, cols, bias);
        }
        return;
    }
    double abs_part[64] = {0}, act_part[64] = {0};
    if (nt > 64)
        nt = 64;
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
        forward_rows(act, z, r0, r1, cols, bias, st, scr->buf + (size_t)tid * cols,
                     &abs_part[tid], &act_part[tid]);
    }
    st->abs_sum = 0.0;
    st->active = 0.0;
    for (size_t c = 0; c < cols; c++) {
        double s = 0.0;
        for (int t = 0; t < nt; t++)
            s += scr->buf[(size_t)t * cols + c];
        st->col_sum[c] = s;
    }
    for (int t = 0; t < nt; t++) {
        st->abs_sum += abs_part[t];
        st->active += act_part[t];
    }
}

static void backward_rows(sae_activation_t act, const float *h, float *dh, size_t r0, size_t r1,
                          size_t cols, const sae_code_grad_terms_t *tm, double *col_acc)
{
    static const sae_code_grad_terms_t none = {0};
    if (!tm)
        tm = &none;
    for (size_t r = r0; r < r1; r++) {
        const float *restrict hr = h + r * cols;
        float *restrict dr = dh + r * cols;
        const float *restrict drop = tm->drop_scale ? tm->drop_scale + r * cols : NULL;
        const float *restrict extra = tm->extra ? tm->extra + r * cols : NULL;
        const float *restrict colc = tm->col_coef;
        float rowc = tm->row_coef ? tm->row_coef[r] : 0.0f;
        float sc = tm->sign_coef;
        for (size_t c = 0; c < cols; c++) {
            float y = hr[c];
            float g = dr[c];
            if (drop)
                g *= drop[c];
            g += rowc;
            if (colc)
                g += colc[c];
            if (extra)
                g += extra[c];
            g += sc * (float)((y > 0.0f) - (y < 0.0f));
            float d;
            switch (act) {
            case SAE_ACT_SIGMOID: d = y * (1.0f - y); break;
            case SAE_ACT_RELU: d = y > 0.0f ? 1.0f : 0.0f; break;
            case SAE_ACT_TANH: d = 1.0f - y * y; break;
            default: d = 1.0f; break;
            }
            g *= d;
            dr[c] = g;
            if (col_acc)
                col_acc[c] += (double)g;
        }
    }
}

static void reduce_cols(const sae_reduce_scratch_t *scr, int nt, size_t cols, float *out)
{
    for (size_t c = 0; c < cols; c++) {
        double s = 0.0;
        for (int t = 0; t < nt; t++)
            s += scr->buf[(size_t)t * cols + c];
        out[c] = (float)s;
    }
}

void sae_act_backward(sae_activation_t act, const float *h, float *dh, size_t rows, size_t cols,
                      const sae_code_grad_terms_t *terms, float *dbias,
                      const sae_reduce_scratch_t *scr)
{
    int nt = scr ? sae_threads_for(rows * cols, scr->threads) : 1;
    if (dbias)
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
        backward_rows(act, h, dh, r0, r1, cols, terms,
                      dbias ? scr->buf + (size_t)tid * cols : NULL);
    }
    if (dbias)
        reduce_cols(scr, nt, cols, dbias);
}

void sae_col_sums(const float *a, size_t rows, size_t cols, float *out,
                  const sae_reduce_scratch_t *scr)
{
    int nt = sae_threads_for(rows * cols, scr->threads);
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
        double *acc = scr->buf + (size_t)tid * cols;
        for (size_t r = r0; r < r1; r++)
            for (size_t c = 0; c < cols; c++)
                acc[c] += (double)a[r * cols + c];
    }
    reduce_cols(scr, nt, cols, out);
}
