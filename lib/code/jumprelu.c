/* The JumpReLU code of Rajamanoharan et al. 2024, "Jumping Ahead:
 * Improving Reconstruction Fidelity with JumpReLU Sparse Autoencoders"
 * (arXiv 2407.14435; Gemma Scope's architecture):
 *
 *   p = relu(z + b),  theta_j = exp(l_j),  h = p * H(p - theta_j)
 *
 * with a learned threshold per unit, stored as its log l_j (tensor
 * jumprelu.log_threshold): theta stays positive under any update, and
 * Adam's steps on l are relative steps on theta, whatever its scale (the
 * paper's pseudo-code, appendix J, trains log_threshold too).
 *
 * Gradients (the paper's eqs. 11 and 12, rectangle kernel
 * K(u) = 1[-1/2 < u < 1/2] of bandwidth eps = jumprelu.bandwidth):
 *   dh/dp = H(p - theta)                           (exact almost everywhere)
 *   dh/dtheta ~ -(theta / eps) K((p - theta) / eps)  (straight through)
 *   dH/dtheta ~ -(1 / eps) K((p - theta) / eps)      (for the L0 term)
 * and no straight-through gradient to p from the step (the paper's
 * "we don't apply STE to x input"). With g_bj the gradient at the code
 * (decoder and code terms) and s the step terms' coefficient (l0.weight /
 * B, sparsity/l0.c):
 *   dL/dl_j = theta_j * sum_b w_bj [-(theta_j / eps) g_bj - s / eps],
 *   w_bj = K((p_bj - theta_j) / eps).
 * Only the units in the window w need g: they are kept in the sparse
 * path's support with their code (0 for those below theta), so decoding
 * and back-propagation go through the active units and the window only.
 * SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "code/code_op.h"
#include "core/alloc.h"

typedef struct jr_state {
    float half_bw, inv_bw;
    float *log_t, *grad_log_t; /* the model's tensor and its gradient (or NULL) */
    float *theta;              /* [units] exp(log_t), per forward */
    /* Training only: */
    uint8_t *win;              /* [rows x units] 1: p in theta's window */
    sae_sparse_code_t code;    /* active units and the window, by row */
    uint8_t *code_win;         /* per support entry: in the window */
    size_t cap;                /* support entries at most */
    int fits;                  /* the last forward's support is complete */
    double *gsum, *count;      /* [units] window sums of g, window counts */
} jr_state_t;

static int selects(const sae_config_t *cfg)
{
    return sae_cfg_int(cfg, SAE_P_HIDDEN_ACTIVATION) == SAE_ACT_JUMPRELU;
}

static sae_status_t validate(const sae_config_t *cfg, size_t units, char *errbuf)
{
    (void)units;
    if (sae_cfg_int(cfg, SAE_P_ALGORITHM) != SAE_ALGO_BACKPROP)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "arch.hidden_activation = jumprelu needs train.algorithm = backprop (its "
                        "thresholds are learned by gradient)");
    if (sae_cfg_int(cfg, SAE_P_OPTIMIZER) == SAE_OPT_LBFGS)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "arch.hidden_activation = jumprelu cannot be combined with optim.type = "
                        "lbfgs (the thresholds' straight-through gradient is no derivative for a "
                        "line search)");
    if (sae_cfg_int(cfg, SAE_P_TOPK_K) > 0)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "arch.hidden_activation = jumprelu cannot be combined with topk.k > 0 "
                        "(JumpReLU's threshold is its own sparsity)");
    if (sae_cfg_float(cfg, SAE_P_HIDDEN_KEEP) < 1.0)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "arch.hidden_activation = jumprelu cannot be combined with "
                        "corrupt.hidden_keep < 1");
    return SAE_OK;
}

static sae_activation_t activation(const sae_config_t *cfg)
{
    (void)cfg;
    return SAE_ACT_RELU; /* h > 0 exactly where active, h' = 1 there */
}

/* The support holds up to a quarter of the code: past that the dense
 * GEMMs cost less than the gather (topk.sparse_path's rule). */
static size_t max_active(const sae_config_t *cfg)
{
    return (size_t)sae_cfg_int(cfg, SAE_P_HIDDEN_DIM) / 4;
}

static double init_log_threshold(const sae_config_t *cfg)
{
    return log(sae_cfg_float(cfg, SAE_P_JUMPRELU_THRESHOLD_INIT));
}

static const sae_code_tensor_t tensors[] = {
    {"jumprelu.log_threshold", 1, SAE_TENSOR_STE, 0, init_log_threshold},
};

static void destroy(void *state)
{
    jr_state_t *s = state;
    if (!s)
        return;
    void *bufs[] = {s->theta, s->win,      s->code.row_ptr, s->code.idx,
                    s->code.val, s->code_win, s->gsum,     s->count};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        sae_aligned_free(bufs[i]);
    free(s);
}


static sae_status_t create(const sae_config_t *cfg, size_t units, size_t rows, void **state)
{
    jr_state_t *s = calloc(1, sizeof *s);
    *state = NULL;
    if (!s)
        return SAE_ERR_NOMEM;
    double bw = sae_cfg_float(cfg, SAE_P_JUMPRELU_BANDWIDTH);
    s->half_bw = (float)(0.5 * bw);
    s->inv_bw = (float)(1.0 / bw);
    int ok = sae_aligned_grab((void **)&s->theta, units * sizeof(float));
    if (ok && rows > 0) {
        s->cap = rows * max_active(cfg);
        ok = sae_aligned_grab((void **)&s->win, rows * units) &&
             sae_aligned_grab((void **)&s->code.row_ptr, (rows + 1) * sizeof(uint32_t)) &&
             sae_aligned_grab((void **)&s->code.idx, s->cap * sizeof(uint32_t)) &&
             sae_aligned_grab((void **)&s->code.val, s->cap * sizeof(float)) &&
             sae_aligned_grab((void **)&s->code_win, s->cap) &&
             sae_aligned_grab((void **)&s->gsum, units * sizeof(double)) &&
             sae_aligned_grab((void **)&s->count, units * sizeof(double));
    }
    if (!ok) {
        destroy(s);
        return SAE_ERR_NOMEM;
    }
    *state = s;
    return SAE_OK;
}

static void bind(void *state, const sae_code_params_t *p)
{
    jr_state_t *s = state;
    s->log_t = p->value[0];
    s->grad_log_t = p->grad[0];
}

static void thresholds(jr_state_t *s, size_t units)
{
    for (size_t j = 0; j < units; j++)
        s->theta[j] = expf(s->log_t[j]);
}

/* One row: h = p H(p - theta) in place, and the window flags. */
static void row_forward(const jr_state_t *s, float *restrict z, const float *restrict bias,
                        uint8_t *restrict win, size_t units)
{
    const float *restrict th = s->theta;
    float hb = s->half_bw;
    for (size_t j = 0; j < units; j++) {
        float v = z[j] + (bias ? bias[j] : 0.0f);
        float p = v > 0.0f ? v : 0.0f;
        win[j] = fabsf(p - th[j]) < hb;
        z[j] = p > th[j] ? p : 0.0f;
    }
}

static void forward(void *state, const sae_code_ctx_t *cx, float *z, const float *bias,
                    size_t rows, size_t units, sae_code_stats_t *st)
{
    jr_state_t *s = state;
    thresholds(s, units);
    sae_sparse_code_t *sc = &s->code;
    size_t n = 0;
    int fits = s->cap > 0;
    sc->row_ptr[0] = 0;
    for (size_t b = 0; b < rows; b++) {
        float *row = z + b * units;
        uint8_t *win = s->win + b * units;
        row_forward(s, row, bias, win, units);
        for (size_t j = 0; fits && j < units; j++) {
            if (row[j] == 0.0f && !win[j])
                continue;
            if (n == s->cap) {
                fits = 0;
                break;
            }
            sc->idx[n] = (uint32_t)j;
            sc->val[n] = row[j];
            s->code_win[n] = win[j];
            n++;
        }
        sc->row_ptr[b + 1] = (uint32_t)n;
    }
    s->fits = fits;
    sae_code_stats(SAE_ACT_RELU, z, rows, units, st, cx->scr);
}

/* The gradient at the code of entry (b, j) with code value y, the code
 * terms joined in (their sign term at sgn(y); 0 below theta). */
static inline float code_grad(float d, const sae_code_grad_terms_t *t, float rowc, size_t b,
                              size_t j, size_t units, float y)
{
    float g = d + rowc;
    if (t->col_coef)
        g += t->col_coef[j];
    if (t->extra)
        g += t->extra[b * units + j];
    return g + t->sign_coef * (float)((y > 0.0f) - (y < 0.0f));
}

/* dL/dl_j from the window sums (see the top of the file). */
static void finish_threshold_grad(jr_state_t *s, float step_coef, size_t units)
{
    if (!s->grad_log_t)
        return;
    for (size_t j = 0; j < units; j++) {
        double th = s->theta[j], ib = s->inv_bw;
        double d_theta = -th * ib * s->gsum[j] - (double)step_coef * ib * s->count[j];
        s->grad_log_t[j] = (float)(th * d_theta);
    }
}

static void backward(void *state, const sae_code_ctx_t *cx, const float *h, float *dh,
                     size_t rows, size_t units, const sae_code_grad_terms_t *terms, float *dbias)
{
    jr_state_t *s = state;
    memset(s->gsum, 0, units * sizeof *s->gsum);
    memset(s->count, 0, units * sizeof *s->count);
    for (size_t b = 0; b < rows; b++) {
        const uint8_t *win = s->win + b * units;
        float rowc = terms->row_coef ? terms->row_coef[b] : 0.0f;
        for (size_t j = 0; j < units; j++) {
            if (!win[j])
                continue;
            s->gsum[j] += code_grad(dh[b * units + j], terms, rowc, b, j, units, h[b * units + j]);
            s->count[j] += 1.0;
        }
    }
    finish_threshold_grad(s, terms->step_coef, units);
    sae_act_backward(SAE_ACT_RELU, h, dh, rows, units, terms, dbias, cx->scr);
}

static void sparse_backward(void *state, const sae_code_ctx_t *cx, const sae_sparse_code_t *sc,
                            size_t rows, size_t units, const sae_code_grad_terms_t *terms,
                            float *dval, float *dbias)
{
    (void)cx;
    jr_state_t *s = state;
    memset(s->gsum, 0, units * sizeof *s->gsum);
    memset(s->count, 0, units * sizeof *s->count);
    for (size_t b = 0; b < rows; b++) {
        float rowc = terms->row_coef ? terms->row_coef[b] : 0.0f;
        for (uint32_t e = sc->row_ptr[b]; e < sc->row_ptr[b + 1]; e++) {
            if (!s->code_win[e])
                continue;
            size_t j = sc->idx[e];
            s->gsum[j] += code_grad(dval[e], terms, rowc, b, j, units, sc->val[e]);
            s->count[j] += 1.0;
        }
    }
    finish_threshold_grad(s, terms->step_coef, units);
    sae_sparse_act_backward(SAE_ACT_RELU, sc, rows, units, terms, dval, dbias);
}

static const sae_sparse_code_t *support(const void *state)
{
    const jr_state_t *s = state;
    return s->fits ? &s->code : NULL;
}

/* Inference writes nothing but z (calls may overlap): the thresholds of a
 * block of units at a time, on the stack. */
#define INFER_BLOCK 256
static void infer(void *state, sae_activation_t act, float *z, const float *bias, size_t rows,
                  size_t units, int threads)
{
    (void)act, (void)threads;
    const jr_state_t *s = state;
    float th[INFER_BLOCK];
    for (size_t j0 = 0; j0 < units; j0 += INFER_BLOCK) {
        size_t n = units - j0 < INFER_BLOCK ? units - j0 : INFER_BLOCK;
        for (size_t j = 0; j < n; j++)
            th[j] = expf(s->log_t[j0 + j]);
        for (size_t b = 0; b < rows; b++) {
            float *restrict row = z + b * units + j0;
            for (size_t j = 0; j < n; j++) {
                float v = row[j] + (bias ? bias[j0 + j] : 0.0f);
                row[j] = v > th[j] ? v : 0.0f; /* theta > 0: relu included */
            }
        }
    }
}

const sae_code_op_t sae_code_jumprelu = {
    .name = "jumprelu",
    .n_tensors = 1,
    .tensors = tensors,
    .bind = bind,
    .activation = activation,
    .has_step = 1,
    .selects = selects,
    .validate = validate,
    .create = create,
    .destroy = destroy,
    .forward = forward,
    .backward = backward,
    .support = support,
    .sparse_backward = sparse_backward,
    .max_active = max_active,
    .infer = infer,
    .forward_d = NULL,
    .deriv_d = NULL,
};
