/* Whole-objective gradient check in double precision: the check of the
 * UFLDL sparse autoencoder exercise (computeNumericalGradient: central
 * differences with eps = 1e-4, then ||num - ana|| / ||num + ana||, expected
 * below 1e-9).
 *
 * The float forward pass cannot be checked that finely (its rounding,
 * about 1e-7 of the objective, swamps a difference over 2e-4), so this file
 * holds a second implementation of the objective in double, written from
 * the formulas of docs/guide.md section 1 and docs/regularizers/ rather than
 * from the fused float kernels: plain loops and cblas_dgemm, libm's exp and
 * tanh. Its gradient is checked against its own central differences (is
 * the calculus right?), and then compared with the library's float
 * gradient (do the fused kernels compute that calculus?).
 * SPDX-License-Identifier: MIT */
#include "train/gradcheck_double.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "train/method.h"
#include "train/trainer.h"
#include "model/dense.h"
#include "model/kind.h"

/* UFLDL's step. In double the rounding error of J(p +- eps) is ~1e-16 / eps
 * relative, the curvature error ~eps^2: both far below 1e-9. */
#define GCD_EPS 1e-4
/* Entries checked at most per tensor, spread evenly: every entry of E3's
 * 64 x 25 matrices, a sample of larger ones. */
#define GCD_MAX_PER_TENSOR 2000
/* kl.c's bounds on rho_hat; beyond them the penalty follows its tangent. */
#define KL_CLAMP 1e-6

#define ABSENT SIZE_MAX

/* The objective's definition, read from the config, and its work buffers. */
typedef struct dnet {
    size_t d, h, rows;
    int tied;
    int pre; /* arch.pre_encoder_bias: the encoder reads x - bd */
    sae_activation_t fa, ga;
    sae_loss_t loss;
    double scale; /* factor of the loss summed over elements */
    double kl_w, rho, l1_w, sample_w, sample_t, batch_w, batch_t;
    double lambda;
    int decay_we, decay_wd;
    size_t we, be, wd, bd; /* offsets in the parameter vector, or ABSENT */
    double *x;             /* [rows x d] */
    double *xe;            /* [rows x d] the encoder's input: x, or x - bd */
    double *z1, *hc;       /* [rows x h] pre-activation and code */
    double *out;           /* [rows x d] output pre-activation, then its gradient */
    double *dh;            /* [rows x h] */
    double *row_c, *col_c; /* regularizer coefficients [rows], [h] */
} dnet_t;

static double act(sae_activation_t a, double z)
{
    switch (a) {
    case SAE_ACT_SIGMOID: return 1.0 / (1.0 + exp(-z));
    case SAE_ACT_RELU: return z > 0.0 ? z : 0.0;
    case SAE_ACT_TANH: return tanh(z);
    case SAE_ACT_TRELU: return z > 0.0 ? (z < 1.0 ? z : 1.0) : 0.0;
    case SAE_ACT_LINEAR: break;
    }
    return z;
}

/* d act / dz, given z and y = act(z). */
static double act_deriv(sae_activation_t a, double z, double y)
{
    switch (a) {
    case SAE_ACT_SIGMOID: return y * (1.0 - y);
    case SAE_ACT_RELU: return z > 0.0 ? 1.0 : 0.0;
    case SAE_ACT_TANH: return 1.0 - y * y;
    case SAE_ACT_TRELU: return z > 0.0 && z < 1.0 ? 1.0 : 0.0;
    case SAE_ACT_LINEAR: break;
    }
    return 1.0;
}

static double sgn(double v)
{
    return (double)((v > 0.0) - (v < 0.0));
}

static size_t offset_of(const sae_model_t *m, const float *view)
{
    return view ? (size_t)(view - m->weights) : ABSENT;
}

static void dnet_free(dnet_t *n)
{
    free(n->x);
    free(n->xe);
    free(n->z1);
    free(n->hc);
    free(n->out);
    free(n->dh);
    free(n->row_c);
    free(n->col_c);
}

static int dnet_init(dnet_t *n, const sae_model_t *m, const float *x, size_t rows)
{
    sae_dense_t *dn = sae_dense(m);
    const sae_config_t *cfg = m->cfg;
    memset(n, 0, sizeof *n);
    n->d = m->input_dim;
    n->h = m->code_dim;
    n->rows = rows;
    n->tied = dn->tied;
    n->pre = dn->pre_bias;
    n->fa = m->hidden_act;
    n->ga = m->output_act;
    n->loss = (sae_loss_t)sae_cfg_int(cfg, SAE_P_LOSS);
    /* guide.md section 1: the sum over elements / (B D), or / (2 B). */
    n->scale = sae_cfg_int(cfg, SAE_P_LOSS_REDUCTION) == SAE_REDUCE_SAMPLE_SUM_HALF
                   ? 0.5 / (double)rows
                   : 1.0 / ((double)rows * (double)n->d);
    n->kl_w = sae_cfg_float(cfg, SAE_P_KL_WEIGHT);
    n->rho = sae_cfg_float(cfg, SAE_P_KL_RHO);
    n->l1_w = sae_cfg_float(cfg, SAE_P_L1_WEIGHT);
    n->sample_w = sae_cfg_float(cfg, SAE_P_SAMPLE_WEIGHT);
    n->sample_t = sae_cfg_float(cfg, SAE_P_SAMPLE_TARGET);
    n->batch_w = sae_cfg_float(cfg, SAE_P_BATCH_WEIGHT);
    n->batch_t = sae_cfg_float(cfg, SAE_P_BATCH_TARGET);
    n->lambda = sae_cfg_float(cfg, SAE_P_WEIGHT_DECAY);
    n->decay_we = n->lambda > 0.0 && sae_cfg_int(cfg, SAE_P_DECAY_ENCODER);
    n->decay_wd = n->lambda > 0.0 && sae_cfg_int(cfg, SAE_P_DECAY_DECODER) && !dn->tied;
    n->we = offset_of(m, dn->enc_w);
    n->be = offset_of(m, dn->enc_b);
    n->wd = offset_of(m, dn->dec_w);
    n->bd = offset_of(m, dn->dec_b);
    size_t bd = rows * n->d, bh = rows * n->h;
    n->x = malloc(bd * sizeof *n->x);
    n->xe = malloc(bd * sizeof *n->xe);
    n->z1 = malloc(bh * sizeof *n->z1);
    n->hc = malloc(bh * sizeof *n->hc);
    n->out = malloc(bd * sizeof *n->out);
    n->dh = malloc(bh * sizeof *n->dh);
    n->row_c = malloc(rows * sizeof *n->row_c);
    n->col_c = malloc(n->h * sizeof *n->col_c);
    if (!n->x || !n->xe || !n->z1 || !n->hc || !n->out || !n->dh || !n->row_c || !n->col_c) {
        dnet_free(n);
        return 0;
    }
    for (size_t i = 0; i < bd; i++)
        n->x[i] = (double)x[i];
    return 1;
}

/* The built-in regularizers' weighted penalty of the code n->hc; their
 * gradient dP/dh_bj = row_c[b] + col_c[j] + *sign_c sgn(h_bj) (the four
 * terms of docs/regularizers/ have no other form). */
static double penalties(const dnet_t *n, double *sign_c)
{
    size_t rows = n->rows, h = n->h;
    double inv_b = 1.0 / (double)rows, inv_bh = inv_b / (double)h, total = 0.0;
    memset(n->row_c, 0, rows * sizeof *n->row_c);
    memset(n->col_c, 0, h * sizeof *n->col_c);
    *sign_c = 0.0;
    if (n->kl_w > 0.0 || n->batch_w > 0.0) {
        for (size_t j = 0; j < h; j++) {
            double c = 0.0;
            for (size_t b = 0; b < rows; b++)
                c += n->hc[b * h + j];
            c *= inv_b; /* the unit's mean activation over the batch */
            if (n->kl_w > 0.0) {
                /* Ng, CS294A notes sec. 2.2: KL(rho || rho_hat_j). */
                /* Beyond the clamp, the tangent line at the bound (kl.c). */
                double r = n->rho;
                double rh = c < KL_CLAMP ? KL_CLAMP : (c > 1.0 - KL_CLAMP ? 1.0 - KL_CLAMP : c);
                double slope = -r / rh + (1.0 - r) / (1.0 - rh);
                total += n->kl_w * (r * log(r / rh) + (1.0 - r) * log((1.0 - r) / (1.0 - rh)) +
                                    slope * (c - rh));
                n->col_c[j] += n->kl_w * inv_b * slope;
            }
            if (n->batch_w > 0.0) {
                double e = c - n->batch_t;
                total += n->batch_w * e * e / (double)h;
                n->col_c[j] += n->batch_w * 2.0 * e * inv_bh;
            }
        }
    }
    if (n->sample_w > 0.0) {
        for (size_t b = 0; b < rows; b++) {
            double s = 0.0;
            for (size_t j = 0; j < h; j++)
                s += n->hc[b * h + j];
            double e = s / (double)h - n->sample_t;
            total += n->sample_w * e * e * inv_b;
            n->row_c[b] += n->sample_w * 2.0 * e * inv_bh;
        }
    }
    if (n->l1_w > 0.0) {
        double a = 0.0;
        for (size_t i = 0; i < rows * h; i++)
            a += fabs(n->hc[i]);
        total += n->l1_w * a * inv_bh;
        *sign_c = n->l1_w * inv_bh;
    }
    return total;
}

static double sum_squares(const double *w, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += w[i] * w[i];
    return s;
}

/* J(p); with grad (zeroed here, the model's layout), also dJ/dp. */
static double objective(dnet_t *n, const double *p, double *grad, size_t n_weights)
{
    const int B = (int)n->rows, D = (int)n->d, H = (int)n->h;
    size_t rows = n->rows, d = n->d, h = n->h;
    const double *we = p + n->we;
    const double *be = n->be == ABSENT ? NULL : p + n->be;
    const double *wd = n->wd == ABSENT ? NULL : p + n->wd;
    const double *bd = n->bd == ABSENT ? NULL : p + n->bd;

    /* Encoder: Z1 = Xe We^T + be, Hc = f(Z1), Xe = X - 1 bd^T with the
     * pre-encoder bias (Gao et al. 2024), else X. */
    for (size_t b = 0; b < rows; b++)
        for (size_t i = 0; i < d; i++)
            n->xe[b * d + i] = n->x[b * d + i] - (n->pre ? bd[i] : 0.0);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, H, D, 1.0, n->xe, D, we, D, 0.0,
                n->z1, H);
    for (size_t b = 0; b < rows; b++)
        for (size_t j = 0; j < h; j++) {
            double z = n->z1[b * h + j] + (be ? be[j] : 0.0);
            n->z1[b * h + j] = z;
            n->hc[b * h + j] = act(n->fa, z);
        }
    /* Decoder: Z2 = Hc Wd + bd, Wd [H x D] one row per unit (We when tied). */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, D, H, 1.0, n->hc, H,
                n->tied ? we : wd, D, 0.0, n->out, D);

    /* Reconstruction against the clean input; out becomes dJ/dZ2. */
    double sum = 0.0;
    for (size_t b = 0; b < rows; b++)
        for (size_t i = 0; i < d; i++) {
            double z = n->out[b * d + i] + (bd ? bd[i] : 0.0), t = n->x[b * d + i], g;
            if (n->loss == SAE_LOSS_BCE) {
                /* -(t log s + (1-t) log(1-s)) = softplus(z) - t z, s = sigmoid(z) */
                sum += (z > 0.0 ? z : 0.0) - t * z + log1p(exp(-fabs(z)));
                g = 1.0 / (1.0 + exp(-z)) - t;
            } else {
                double y = act(n->ga, z), e = y - t;
                sum += e * e;
                g = 2.0 * e * act_deriv(n->ga, z, y);
            }
            n->out[b * d + i] = g * n->scale;
        }
    double sign_c;
    double J = sum * n->scale + penalties(n, &sign_c);
    double decay = 0.0;
    if (n->decay_we)
        decay += sum_squares(we, h * d);
    if (n->decay_wd)
        decay += sum_squares(wd, d * h);
    J += 0.5 * n->lambda * decay;
    if (!grad)
        return J;

    memset(grad, 0, n_weights * sizeof *grad);
    double *g_we = grad + n->we;
    if (bd)
        for (size_t b = 0; b < rows; b++)
            for (size_t i = 0; i < d; i++)
                grad[n->bd + i] += n->out[b * d + i];
    /* dJ/dWd = Hc^T dZ2 (onto We when tied), dJ/dHc = dZ2 Wd^T */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, D, B, 1.0, n->hc, H, n->out, D, 0.0,
                n->tied ? g_we : grad + n->wd, D);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, H, D, 1.0, n->out, D, n->tied ? we : wd,
                D, 0.0, n->dh, H);
    /* dJ/dZ1 = (dJ/dHc + dP/dHc) f'(Z1) */
    for (size_t b = 0; b < rows; b++)
        for (size_t j = 0; j < h; j++) {
            size_t k = b * h + j;
            double g = n->dh[k] + n->row_c[b] + n->col_c[j] + sign_c * sgn(n->hc[k]);
            g *= act_deriv(n->fa, n->z1[k], n->hc[k]);
            n->dh[k] = g;
            if (be)
                grad[n->be + j] += g;
        }
    /* dJ/dWe (+)= dZ1^T Xe */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, D, B, 1.0, n->dh, H, n->xe, D,
                n->tied ? 1.0 : 0.0, g_we, D);
    /* dJ/dbd through Xe: -sum_b dZ1[b, :] We = -(dJ/dbe) We. */
    if (n->pre)
        for (size_t j = 0; j < h; j++)
            for (size_t i = 0; i < d; i++)
                grad[n->bd + i] -= grad[n->be + j] * we[j * d + i];
    if (n->decay_we)
        for (size_t k = 0; k < h * d; k++)
            g_we[k] += n->lambda * we[k];
    if (n->decay_wd)
        for (size_t k = 0; k < d * h; k++)
            grad[n->wd + k] += n->lambda * wd[k];
    return J;
}

/* ||a - b|| / ||a + b|| with the sums accumulated by the caller. */
static double norm_ratio(double diff2, double sum2)
{
    double r = sum2 > 0.0 ? sqrt(diff2 / sum2) : sqrt(diff2);
    return isnan(r) ? INFINITY : r;
}

sae_status_t sae_gradcheck_double_run(sae_trainer_t *t, const float *x, size_t rows,
                                      const float *float_grad, double *rel_diff,
                                      double *float_rel_diff)
{
    sae_model_t *m = t->model;
    size_t np = m->n_weights;
    dnet_t n;
    double *p = malloc(np * sizeof *p), *ana = malloc(np * sizeof *ana);
    if (!p || !ana || !dnet_init(&n, m, x, rows)) {
        free(p);
        free(ana);
        return sae_fail(t->errmsg, SAE_ERR_NOMEM, "sae_trainer_gradcheck_double: out of memory");
    }
    for (size_t k = 0; k < np; k++)
        p[k] = (double)m->weights[k];
    objective(&n, p, ana, np);

    double diff2 = 0.0, sum2 = 0.0, fdiff2 = 0.0, fsum2 = 0.0;
    for (size_t ti = 0; ti < m->n_tensors; ti++) {
        size_t off = m->tensors[ti].offset, len = m->tensors[ti].rows * m->tensors[ti].cols;
        size_t stride = (len + GCD_MAX_PER_TENSOR - 1) / GCD_MAX_PER_TENSOR;
        for (size_t k = 0; k < len; k += stride) {
            double keep = p[off + k];
            p[off + k] = keep + GCD_EPS;
            double up = objective(&n, p, NULL, np);
            p[off + k] = keep - GCD_EPS;
            double down = objective(&n, p, NULL, np);
            p[off + k] = keep;
            double num = (up - down) / (2.0 * GCD_EPS), a = ana[off + k];
            diff2 += (num - a) * (num - a);
            sum2 += (num + a) * (num + a);
        }
        if (float_grad)
            for (size_t k = off; k < off + len; k++) {
                double f = (double)float_grad[k], a = ana[k];
                fdiff2 += (f - a) * (f - a);
                fsum2 += (f + a) * (f + a);
            }
    }
    *rel_diff = norm_ratio(diff2, sum2);
    if (float_rel_diff)
        *float_rel_diff = float_grad ? norm_ratio(fdiff2, fsum2) : 0.0;
    dnet_free(&n);
    free(p);
    free(ana);
    return SAE_OK;
}

sae_status_t sae_trainer_gradcheck_double(sae_trainer_t *t, const float *x, size_t rows,
                                          double *rel_diff, double *float_rel_diff)
{
    static const char fn[] = "sae_trainer_gradcheck_double";
    if (!t)
        return sae_fail_global(SAE_ERR_NULL, "%s: trainer is NULL", fn);
    if (!x || !rel_diff)
        return sae_fail(t->errmsg, SAE_ERR_NULL, "%s: NULL argument", fn);
    if (rows == 0 || rows > t->ws.batch)
        return sae_fail(t->errmsg, SAE_ERR_DIMENSION, "%s: rows must be 1..batch size (%zu)", fn,
                        t->ws.batch);
    sae_model_t *m = t->model;
    if (!sae_all_finite(x, rows * m->input_dim))
        return sae_fail(t->errmsg, SAE_ERR_NONFINITE, "%s: data holds NaN or Inf", fn);
    if (m->kind != &sae_kind_dense)
        return sae_fail(t->errmsg, SAE_ERR_UNSUPPORTED,
                        "%s: the double objective is the one-hidden-layer model's; a model with "
                        "arch.layers is checked by sae_trainer_gradcheck",
                        fn);
    if (sae_cfg_int(m->cfg, SAE_P_TOPK_K) > 0)
        return sae_fail(t->errmsg, SAE_ERR_UNSUPPORTED,
                        "%s: the double objective has no top-k code: use sae_trainer_gradcheck",
                        fn);
    if (m->cfg->n_user_regs > 0)
        return sae_fail(t->errmsg, SAE_ERR_UNSUPPORTED,
                        "%s: user regularizers see a float code, so they cannot be checked in "
                        "double: use sae_trainer_gradcheck",
                        fn);
    if (!t->method->has_objective)
        return sae_method_no_gradient(t);
    /* The library's own gradient at the same point, without corruption. */
    sae_stats_t s;
    sae_status_t st = sae_forward_backward(t, x, rows, 0, 1, &s);
    if (st != SAE_OK)
        return st;
    float *fg = malloc(m->n_weights * sizeof *fg);
    if (!fg)
        return sae_fail(t->errmsg, SAE_ERR_NOMEM, "%s: out of memory", fn);
    memcpy(fg, t->ws.grad, m->n_weights * sizeof *fg);
    sae_backprop_l2_grad(t, fg);
    st = sae_gradcheck_double_run(t, x, rows, fg, rel_diff, float_rel_diff);
    free(fg);
    return st;
}
