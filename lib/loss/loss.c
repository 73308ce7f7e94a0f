/* MSE and BCE-from-logits, fused with the output bias and activation.
 * SPDX-License-Identifier: MIT */
#include "loss/loss.h"

#include <math.h>
#include <string.h>

#include "core/fastmath.h"
#include "core/parallel.h"
#include "core/simd.h"

/* Loss of one row; with grad, o becomes the gradient and acc gets its
 * column sums. Branch-free bodies so the loops vectorise. */
SAE_HOT static float bce_row(float *restrict o, const float *restrict x, size_t cols,
                             const float *restrict b, int grad, float scale,
                             float *restrict acc)
{
    float total = 0.0f;
    if (grad) {
#pragma omp simd reduction(+ : total)
        for (size_t c = 0; c < cols; c++) {
            float z = o[c] + b[c], t = x[c];
            float e = sae_fast_expf(-fabsf(z));
            /* softplus(z) - t z = max(z,0) - t z + log(1 + exp(-|z|)) */
            total += (z > 0.0f ? z : 0.0f) - t * z + sae_log1p_unit(e);
            float inv = 1.0f / (1.0f + e);
            float sig = z >= 0.0f ? inv : e * inv;
            float g = (sig - t) * scale;
            o[c] = g;
            acc[c] += g;
        }
    } else {
#pragma omp simd reduction(+ : total)
        for (size_t c = 0; c < cols; c++) {
            float z = o[c] + b[c], t = x[c];
            total += (z > 0.0f ? z : 0.0f) - t * z + sae_log1p_unit(sae_fast_expf(-fabsf(z)));
        }
    }
    return total;
}

#define DEFINE_MSE_ROW(NAME, ACT, DERIV)                                                    \
    SAE_HOT static float NAME(float *restrict o, const float *restrict x, size_t cols,      \
                              const float *restrict b, int grad, float scale,              \
                              float *restrict acc)                                         \
    {                                                                                       \
        float total = 0.0f;                                                                 \
        if (grad) {                                                                         \
            _Pragma("omp simd reduction(+ : total)") for (size_t c = 0; c < cols; c++)     \
            {                                                                               \
                float v = o[c] + b[c];                                                      \
                float y = (ACT);                                                            \
                float d = y - x[c];                                                         \
                total += d * d;                                                             \
                float g = 2.0f * d * scale * (DERIV);                                       \
                o[c] = g;                                                                   \
                acc[c] += g;                                                                \
            }                                                                               \
        } else {                                                                            \
            _Pragma("omp simd reduction(+ : total)") for (size_t c = 0; c < cols; c++)     \
            {                                                                               \
                float v = o[c] + b[c];                                                      \
                float y = (ACT);                                                            \
                float d = y - x[c];                                                         \
                total += d * d;                                                             \
            }                                                                               \
        }                                                                                   \
        return total;                                                                       \
    }

DEFINE_MSE_ROW(mse_row_linear, v, 1.0f)
DEFINE_MSE_ROW(mse_row_sigmoid, sae_fast_sigmoid(v), y * (1.0f - y))
DEFINE_MSE_ROW(mse_row_relu, v > 0.0f ? v : 0.0f, y > 0.0f ? 1.0f : 0.0f)
DEFINE_MSE_ROW(mse_row_tanh, sae_fast_tanh(v), 1.0f - y * y)
DEFINE_MSE_ROW(mse_row_trelu, fminf(fmaxf(v, 0.0f), 1.0f), y > 0.0f && y < 1.0f ? 1.0f : 0.0f)

typedef float (*loss_row_fn)(float *, const float *, size_t, const float *, int, float, float *);

static loss_row_fn pick_row(sae_loss_t loss, sae_activation_t act)
{
    if (loss == SAE_LOSS_BCE)
        return bce_row;
    switch (act) {
    case SAE_ACT_SIGMOID: return mse_row_sigmoid;
    case SAE_ACT_RELU: return mse_row_relu;
    case SAE_ACT_TANH: return mse_row_tanh;
    case SAE_ACT_TRELU: return mse_row_trelu;
    case SAE_ACT_JUMPRELU: /* not an output activation (arch.output_activation <= 4) */
    case SAE_ACT_LINEAR: break;
    }
    return mse_row_linear;
}

typedef struct loss_job {
    loss_row_fn fn;
    float *o;
    const float *x;
    size_t cols;
    const float *bias;
    int grad;
    float scale;
    float *partial;
    double part[SAE_MAX_THREADS];
} loss_job_t;

static void loss_block(void *ctx, int tid, size_t r0, size_t r1)
{
    loss_job_t *j = ctx;
    size_t cols = j->cols;
    float *mine = j->partial + (size_t)tid * cols;
    double sum = 0.0;
    for (size_t r = r0; r < r1; r++)
        sum += (double)j->fn(j->o + r * cols, j->x + r * cols, cols, j->bias, j->grad, j->scale,
                             mine);
    j->part[tid] = sum;
}

double sae_loss_apply(sae_loss_t loss, sae_activation_t out_act, float *o, const float *x,
                      size_t rows, size_t cols, const float *bias, int grad, float *dbias,
                      const sae_reduce_scratch_t *scr)
{
    return sae_loss_apply_reduced(loss, out_act, o, x, rows, cols, bias, grad, dbias, scr,
                                  SAE_REDUCE_MEAN);
}

double sae_loss_apply_reduced(sae_loss_t loss, sae_activation_t out_act, float *o,
                              const float *x, size_t rows, size_t cols, const float *bias,
                              int grad, float *dbias, const sae_reduce_scratch_t *scr,
                              sae_loss_reduction_t reduction)
{
    size_t n = rows * cols;
    if (n == 0)
        return 0.0;
    int nt = scr ? sae_threads_for(n, scr->threads) : 1;
    /* Per-thread column partials, then a zero bias when there is none: the
     * row kernels read both unconditionally. */
    float local[2 * 64];
    float *partial = local;
    if (scr)
        partial = (float *)scr->buf;
    else if (cols > 64)
        return NAN; /* internal misuse: callers pass scratch for wide rows */
    float *zero_bias = partial + (size_t)nt * (scr ? cols : 64);
    memset(partial, 0, (size_t)nt * cols * sizeof(float));
    if (!bias) {
        memset(zero_bias, 0, cols * sizeof(float));
        bias = zero_bias;
    }
    /* Ng's J (CS294A notes, sec. 2.1) is (1/m) sum_i 1/2 ||x^_i - x_i||^2:
     * the element sum over 2 rows instead of over every element. */
    int mean = reduction == SAE_REDUCE_MEAN;
    float scale = mean ? 1.0f / (float)n : 0.5f / (float)rows;
    loss_job_t j = {pick_row(loss, out_act), o, x, cols, bias, grad, scale, partial, {0}};
    sae_parallel_rows(rows, nt, loss_block, &j);
    double total = 0.0;
    for (int t = 0; t < nt; t++)
        total += j.part[t];
    if (grad && dbias)
        sae_sum_partials(partial, nt, cols, NULL, dbias);
    return mean ? total / (double)n : 0.5 * total / (double)rows;
}
