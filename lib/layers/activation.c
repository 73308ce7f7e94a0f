/* Fused bias + activation kernels, forward and backward side by side.
 * SPDX-License-Identifier: MIT */
#include "layers/activation.h"

#include <math.h>
#include <string.h>

#include "core/fastmath.h"
#include "core/parallel.h"
#include "core/simd.h"

float sae_act_apply(sae_activation_t act, float z)
{
    switch (act) {
    case SAE_ACT_SIGMOID: return sae_fast_sigmoid(z);
    case SAE_ACT_JUMPRELU: /* never here: code/jumprelu.c hands the kernels relu */
    case SAE_ACT_RELU: return z > 0.0f ? z : 0.0f;
    case SAE_ACT_TANH: return sae_fast_tanh(z);
    case SAE_ACT_TRELU: return fminf(fmaxf(z, 0.0f), 1.0f);
    case SAE_ACT_LINEAR: break;
    }
    return z;
}

float sae_act_deriv_from_output(sae_activation_t act, float y)
{
    switch (act) {
    case SAE_ACT_SIGMOID: return y * (1.0f - y);
    case SAE_ACT_JUMPRELU: /* never here: code/jumprelu.c hands the kernels relu */
    case SAE_ACT_RELU: return y > 0.0f ? 1.0f : 0.0f;
    case SAE_ACT_TANH: return 1.0f - y * y;
    case SAE_ACT_TRELU: return y > 0.0f && y < 1.0f ? 1.0f : 0.0f;
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

/* y = act(z + b) over one row. The activation is a compile-time constant in
 * each instantiation so that every loop is a straight SIMD loop. */
#define DEFINE_FORWARD(NAME, EXPR)                                                   \
    SAE_HOT static void NAME(float *restrict z, size_t cols, const float *restrict b) \
    {                                                                                \
        if (b) {                                                                     \
            for (size_t c = 0; c < cols; c++) {                                      \
                float v = z[c] + b[c];                                               \
                z[c] = (EXPR);                                                       \
            }                                                                        \
        } else {                                                                     \
            for (size_t c = 0; c < cols; c++) {                                      \
                float v = z[c];                                                      \
                z[c] = (EXPR);                                                       \
            }                                                                        \
        }                                                                            \
    }

DEFINE_FORWARD(forward_sigmoid, sae_fast_sigmoid(v))
DEFINE_FORWARD(forward_relu, v > 0.0f ? v : 0.0f)
DEFINE_FORWARD(forward_tanh, sae_fast_tanh(v))
DEFINE_FORWARD(forward_linear, v)
DEFINE_FORWARD(forward_trelu, fminf(fmaxf(v, 0.0f), 1.0f))

static void forward_row(sae_activation_t act, float *z, size_t cols, const float *bias)
{
    switch (act) {
    case SAE_ACT_SIGMOID: forward_sigmoid(z, cols, bias); break;
    case SAE_ACT_JUMPRELU: /* never here: code/jumprelu.c hands the kernels relu */
    case SAE_ACT_RELU: forward_relu(z, cols, bias); break;
    case SAE_ACT_TANH: forward_tanh(z, cols, bias); break;
    case SAE_ACT_LINEAR: forward_linear(z, cols, bias); break;
    case SAE_ACT_TRELU: forward_trelu(z, cols, bias); break;
    }
}

/* Row sum, |.| sum and active count of one row; column sums into acc and
 * per-column active counts into cnt. */
SAE_HOT static void row_stats(const float *restrict row, size_t cols, float thr,
                              float *restrict col_acc, float *restrict cnt, float *rs_out,
                              float *as_out, float *na_out)
{
    float rs = 0.0f, as = 0.0f, na = 0.0f;
#pragma omp simd reduction(+ : rs, as, na)
    for (size_t c = 0; c < cols; c++) {
        float v = row[c];
        float av = fabsf(v);
        rs += v;
        as += av;
        float on = av > thr ? 1.0f : 0.0f;
        na += on;
        col_acc[c] += v;
        cnt[c] += on;
    }
    *rs_out = rs;
    *as_out = as;
    *na_out = na;
}

typedef struct forward_job {
    int apply; /* 0: statistics of z as it is */
    sae_activation_t act;
    float *z;
    size_t cols;
    const float *bias;
    sae_code_stats_t *st; /* NULL: no statistics */
    float *partial;       /* per-block column sums, then per-block active counts */
    size_t nt;
    double abs_part[SAE_MAX_THREADS], act_part[SAE_MAX_THREADS];
} forward_job_t;

static void forward_block(void *ctx, int tid, size_t r0, size_t r1)
{
    forward_job_t *j = ctx;
    size_t cols = j->cols;
    float thr = active_threshold(j->act);
    double a_sum = 0.0, n_act = 0.0;
    for (size_t r = r0; r < r1; r++) {
        float *row = j->z + r * cols;
        if (j->apply)
            forward_row(j->act, row, cols, j->bias);
        if (!j->st)
            continue;
        float rs, as, na;
        row_stats(row, cols, thr, j->partial + (size_t)tid * cols,
                  j->partial + (j->nt + (size_t)tid) * cols, &rs, &as, &na);
        j->st->row_sum[r] = (double)rs;
        a_sum += (double)as;
        n_act += (double)na;
    }
    j->abs_part[tid] = a_sum;
    j->act_part[tid] = n_act;
}

static void finish_stats(const forward_job_t *j, int nt, sae_code_stats_t *st)
{
    sae_sum_partials(j->partial, nt, j->cols, st->col_sum, NULL);
    if (st->col_active)
        sae_sum_partials(j->partial + (size_t)nt * j->cols, nt, j->cols, st->col_active, NULL);
    st->abs_sum = 0.0;
    st->active = 0.0;
    for (int t = 0; t < nt; t++) {
        st->abs_sum += j->abs_part[t];
        st->active += j->act_part[t];
    }
}

void sae_bias_act_forward(sae_activation_t act, float *z, size_t rows, size_t cols,
                          const float *bias, sae_code_stats_t *st,
                          const sae_reduce_scratch_t *scr)
{
    int nt = sae_threads_for(rows * cols, scr ? scr->threads : 1);
    forward_job_t j = {1, act, z, cols, bias, st, NULL, (size_t)nt, {0}, {0}};
    if (st) {
        j.partial = (float *)scr->buf;
        memset(j.partial, 0, 2 * (size_t)nt * cols * sizeof(float));
    }
    sae_parallel_rows(rows, nt, forward_block, &j);
    if (st)
        finish_stats(&j, nt, st);
}

void sae_code_stats(sae_activation_t act, float *h, size_t rows, size_t cols,
                    sae_code_stats_t *st, const sae_reduce_scratch_t *scr)
{
    int nt = sae_threads_for(rows * cols, scr->threads);
    forward_job_t j = {0, act, h, cols, NULL, st, (float *)scr->buf, (size_t)nt, {0}, {0}};
    memset(j.partial, 0, 2 * (size_t)nt * cols * sizeof(float));
    sae_parallel_rows(rows, nt, forward_block, &j);
    finish_stats(&j, nt, st);
}

/* One row of the backward kernel for a constant activation: the upstream
 * gradient (decoder part times the dropout mask, plus every regularizer
 * term) times act'(h), with the bias gradient accumulated on the way. The
 * optional inputs (mask, user gradient) are separate instantiations so that
 * each loop is branch-free and vectorises. */
#define DEFINE_BACKWARD(NAME, DERIV, UPSTREAM)                                          \
    SAE_HOT static void NAME(const float *restrict hr, float *restrict dr,              \
                             const float *restrict drop, const float *restrict extra,   \
                             const float *restrict colc, float rowc, float sc,          \
                             size_t cols, float *restrict acc)                          \
    {                                                                                   \
        (void)drop;                                                                     \
        (void)extra;                                                                    \
        for (size_t c = 0; c < cols; c++) {                                             \
            float y = hr[c];                                                            \
            float sg = y > 0.0f ? 1.0f : 0.0f;                                          \
            sg = y < 0.0f ? -1.0f : sg;                                                 \
            float g = (UPSTREAM) + rowc + colc[c] + sc * sg;                            \
            g *= (DERIV);                                                               \
            dr[c] = g;                                                                  \
            acc[c] += g;                                                                \
        }                                                                               \
    }

#define DEFINE_BACKWARD_ALL(ACT, DERIV)                                          \
    DEFINE_BACKWARD(backward_##ACT, DERIV, dr[c])                                \
    DEFINE_BACKWARD(backward_##ACT##_d, DERIV, dr[c] * drop[c])                  \
    DEFINE_BACKWARD(backward_##ACT##_e, DERIV, dr[c] + extra[c])                 \
    DEFINE_BACKWARD(backward_##ACT##_de, DERIV, dr[c] * drop[c] + extra[c])

DEFINE_BACKWARD_ALL(sigmoid, y * (1.0f - y))
DEFINE_BACKWARD_ALL(relu, y > 0.0f ? 1.0f : 0.0f)
DEFINE_BACKWARD_ALL(tanh, 1.0f - y * y)
DEFINE_BACKWARD_ALL(linear, 1.0f)
/* The plain derivative of clip(z, 0, 1); the rank-ordered autoencoder's custom one
 * (Bertens 2016) lives in the
 * rank-order update (train/rank_order.c), which does not backpropagate. */
DEFINE_BACKWARD_ALL(trelu, y > 0.0f && y < 1.0f ? 1.0f : 0.0f)

typedef void (*backward_fn)(const float *, float *, const float *, const float *, const float *,
                            float, float, size_t, float *);

static backward_fn pick_backward(sae_activation_t act, int drop, int extra)
{
    static const backward_fn table[5][4] = {
        {backward_linear, backward_linear_d, backward_linear_e, backward_linear_de},
        {backward_sigmoid, backward_sigmoid_d, backward_sigmoid_e, backward_sigmoid_de},
        {backward_relu, backward_relu_d, backward_relu_e, backward_relu_de},
        {backward_tanh, backward_tanh_d, backward_tanh_e, backward_tanh_de},
        {backward_trelu, backward_trelu_d, backward_trelu_e, backward_trelu_de},
    };
    return table[act][(drop ? 1 : 0) + (extra ? 2 : 0)];
}

typedef struct backward_job {
    backward_fn fn;
    const float *h;
    float *dh;
    size_t cols;
    const sae_code_grad_terms_t *tm;
    const float *colc;
    float *partial;
} backward_job_t;

static void backward_block(void *ctx, int tid, size_t r0, size_t r1)
{
    backward_job_t *j = ctx;
    const sae_code_grad_terms_t *tm = j->tm;
    size_t cols = j->cols;
    for (size_t r = r0; r < r1; r++) {
        const float *drop = tm->drop_scale ? tm->drop_scale + r * cols : NULL;
        const float *extra = tm->extra ? tm->extra + r * cols : NULL;
        float rowc = tm->row_coef ? tm->row_coef[r] : 0.0f;
        j->fn(j->h + r * cols, j->dh + r * cols, drop, extra, j->colc, rowc, tm->sign_coef, cols,
              j->partial + (size_t)tid * cols);
    }
}

void sae_act_backward(sae_activation_t act, const float *h, float *dh, size_t rows, size_t cols,
                      const sae_code_grad_terms_t *terms, float *dbias,
                      const sae_reduce_scratch_t *scr)
{
    static const sae_code_grad_terms_t none = {0};
    if (!terms)
        terms = &none;
    int nt = sae_threads_for(rows * cols, scr->threads);
    float *partial = (float *)scr->buf;
    /* The column term is read unconditionally: zeros stand in when absent. */
    const float *colc = terms->col_coef;
    if (!colc) {
        float *zeros = partial + (size_t)nt * cols;
        memset(zeros, 0, cols * sizeof(float));
        colc = zeros;
    }
    memset(partial, 0, (size_t)nt * cols * sizeof(float));
    backward_job_t j = {pick_backward(act, terms->drop_scale != NULL, terms->extra != NULL),
                        h, dh, cols, terms, colc, partial};
    sae_parallel_rows(rows, nt, backward_block, &j);
    if (dbias)
        sae_sum_partials(partial, nt, cols, NULL, dbias);
}
