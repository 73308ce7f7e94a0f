/* Whole-objective gradient check in double precision: the check of the
 * UFLDL sparse autoencoder exercise (computeNumericalGradient: central
 * differences with eps = 1e-4, then ||num - ana|| / ||num + ana||, expected
 * below 1e-9).
 *
 * The float forward pass cannot be checked that finely (its rounding,
 * about 1e-7 of the objective, swamps a difference over 2e-4), so the
 * objective is computed a second time in double. Its pieces are the double
 * instantiations of the same tables the float pass runs: the code operator's
 * forward_d/deriv_d (code/code_op.h), every code term's penalty_d
 * (sparsity/terms.h), the reconstruction loss (loss/loss_double.c) and
 * weight decay (sparsity/l2_double.c), each written from the formulas with
 * libm and sharing no arithmetic with the fused float kernels. This file
 * holds only the model's wiring: the GEMMs (cblas_dgemm), the biases, tied
 * or untied decoder, the back-propagation between the pieces. The gradient
 * is checked against its own central differences (is the calculus right?),
 * and then compared with the library's float gradient (do the fused kernels
 * compute that calculus?). SPDX-License-Identifier: MIT */
#include "train/gradcheck_double.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loss/loss_double.h"
#include "sparsity/terms.h"
#include "sparsity/terms_double.h"
#include "train/trainer.h"
#include "model/dense.h"
#include "model/kind.h"
#include "train/method.h"

/* UFLDL's step. In double the rounding error of J(p +- eps) is ~1e-16 / eps
 * relative, the curvature error ~eps^2: both far below 1e-9. */
#define GCD_EPS 1e-4
/* Entries checked at most per tensor, spread evenly: every entry of a
 * 64 x 25 matrix, a sample of larger ones. */
#define GCD_MAX_PER_TENSOR 2000

#define ABSENT SIZE_MAX

/* The objective's definition, read from the model and its config, and its
 * work buffers. */
typedef struct dnet {
    const sae_config_t *cfg;
    const sae_code_op_t *code; /* has forward_d and deriv_d */
    size_t d, h, rows;
    int tied;
    int pre; /* arch.pre_encoder_bias: the encoder reads x - bd */
    sae_activation_t fa, ga;
    sae_loss_t loss;
    double scale;                    /* factor of the loss summed over elements */
    double term_w[SAE_N_BUILTIN_TERMS]; /* the code terms' weights, 0 = off */
    double lambda;
    int decay_we, decay_wd;
    size_t we, be, wd, bd; /* offsets in the parameter vector, or ABSENT */
    double *x;             /* [rows x d] */
    double *xe;            /* [rows x d] the encoder's input: x, or x - bd */
    double *z1, *hc;       /* [rows x h] pre-activation and code */
    double *out;           /* [rows x d] output pre-activation, then its gradient */
    double *dh;            /* [rows x h] */
    double *row_c, *col_c; /* the code terms' weighted coefficients [rows], [h] */
    double *row_t, *col_t; /* one term's unweighted ones */
    double *dense_c, *dense_t; /* [rows x h]: the dense terms' weighted and one
                                  term's unweighted gradient (kl.squash) */
} dnet_t;

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
    free(n->row_t);
    free(n->col_t);
    free(n->dense_c);
    free(n->dense_t);
}

static int dnet_init(dnet_t *n, const sae_model_t *m, const float *x, size_t rows)
{
    sae_dense_t *dn = sae_dense(m);
    const sae_config_t *cfg = m->cfg;
    memset(n, 0, sizeof *n);
    n->cfg = cfg;
    n->code = dn->code_op;
    n->d = m->input_dim;
    n->h = m->code_dim;
    n->rows = rows;
    n->tied = dn->tied;
    n->pre = dn->pre_bias;
    n->fa = m->hidden_act;
    n->ga = m->output_act;
    n->loss = (sae_loss_t)sae_cfg_int(cfg, SAE_P_LOSS);
    n->scale = sae_loss_scale_double(
        (sae_loss_reduction_t)sae_cfg_int(cfg, SAE_P_LOSS_REDUCTION), rows, n->d);
    /* The weights in double, as the config holds them. */
    for (size_t id = 0; id < SAE_N_BUILTIN_TERMS; id++)
        if ((sae_terms[id].penalty_d || sae_terms[id].dense_d) && sae_terms[id].weight != SAE_TERM_NO_WEIGHT &&
            sae_term_weight(cfg, id) > 0.0f) /* a gated row may be off */
            n->term_w[id] = sae_cfg_float(cfg, sae_terms[id].weight);
    n->lambda = sae_cfg_float(cfg, SAE_P_WEIGHT_DECAY);
    n->decay_we = n->lambda > 0.0 && sae_cfg_int(cfg, SAE_P_DECAY_ENCODER);
    n->decay_wd = n->lambda > 0.0 && sae_cfg_int(cfg, SAE_P_DECAY_DECODER) && !dn->tied;
    /* Unit-norm atoms take no decay (train/backprop.c). */
    if (sae_cfg_int(cfg, SAE_P_UNIT_NORM_DECODER)) {
        if (dn->tied)
            n->decay_we = 0;
        else
            n->decay_wd = 0;
    }
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
    n->row_t = malloc(rows * sizeof *n->row_t);
    n->col_t = malloc(n->h * sizeof *n->col_t);
    n->dense_c = malloc(bh * sizeof *n->dense_c);
    n->dense_t = malloc(bh * sizeof *n->dense_t);
    if (!n->x || !n->xe || !n->z1 || !n->hc || !n->out || !n->dh || !n->row_c || !n->col_c ||
        !n->row_t || !n->col_t || !n->dense_c || !n->dense_t) {
        dnet_free(n);
        return 0;
    }
    for (size_t i = 0; i < bd; i++)
        n->x[i] = (double)x[i];
    return 1;
}

/* Every code term of the table that is on, in double: their weighted
 * penalty of the code n->hc, and their gradient as
 * dP/dh_bj = row_c[b] + col_c[j] + *sign_c sgn(h_bj) + dense_c[b, j]. */
static double code_terms(const dnet_t *n, double *sign_c)
{
    size_t rows = n->rows, h = n->h;
    double total = 0.0;
    memset(n->row_c, 0, rows * sizeof *n->row_c);
    memset(n->col_c, 0, h * sizeof *n->col_c);
    memset(n->dense_c, 0, rows * h * sizeof *n->dense_c);
    *sign_c = 0.0;
    for (size_t id = 0; id < SAE_N_BUILTIN_TERMS; id++) {
        const sae_term_t *term = &sae_terms[id];
        double w = n->term_w[id], s = 0.0;
        if (!(w > 0.0))
            continue;
        if (term->dense_d) {
            memset(n->dense_t, 0, rows * h * sizeof *n->dense_t);
            total += w * term->dense_d(n->cfg, n->hc, rows, h, n->dense_t);
            for (size_t k = 0; k < rows * h; k++)
                n->dense_c[k] += w * n->dense_t[k];
            continue;
        }
        memset(n->row_t, 0, rows * sizeof *n->row_t);
        memset(n->col_t, 0, h * sizeof *n->col_t);
        total += w * term->penalty_d(n->cfg, n->hc, rows, h, n->row_t, n->col_t, &s);
        for (size_t b = 0; b < rows; b++)
            n->row_c[b] += w * n->row_t[b];
        for (size_t j = 0; j < h; j++)
            n->col_c[j] += w * n->col_t[j];
        *sign_c += w * s;
    }
    return total;
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

    /* Encoder: Z1 = Xe We^T + be, Hc = code(Z1), Xe = X - 1 bd^T with the
     * pre-encoder bias (Gao et al. 2024), else X. */
    for (size_t b = 0; b < rows; b++)
        for (size_t i = 0; i < d; i++)
            n->xe[b * d + i] = n->x[b * d + i] - (n->pre ? bd[i] : 0.0);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, H, D, 1.0, n->xe, D, we, D, 0.0,
                n->z1, H);
    if (be)
        for (size_t b = 0; b < rows; b++)
            for (size_t j = 0; j < h; j++)
                n->z1[b * h + j] += be[j];
    n->code->forward_d(n->cfg, n->fa, n->z1, n->hc, rows * h);
    /* Decoder: Z2 = Hc Wd + bd, Wd [H x D] one row per unit (We when tied). */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, D, H, 1.0, n->hc, H,
                n->tied ? we : wd, D, 0.0, n->out, D);
    if (bd)
        for (size_t b = 0; b < rows; b++)
            for (size_t i = 0; i < d; i++)
                n->out[b * d + i] += bd[i];

    /* Reconstruction against the clean input; out becomes dJ/dZ2. */
    double J = sae_loss_double(n->loss, n->ga, n->out, n->x, rows * d, n->scale,
                               grad ? n->out : NULL);
    double sign_c;
    J += code_terms(n, &sign_c);
    if (grad) {
        memset(grad, 0, n_weights * sizeof *grad);
        double *g_we = grad + n->we;
        if (bd)
            for (size_t b = 0; b < rows; b++)
                for (size_t i = 0; i < d; i++)
                    grad[n->bd + i] += n->out[b * d + i];
        /* dJ/dWd = Hc^T dZ2 (onto We when tied), dJ/dHc = dZ2 Wd^T */
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, D, B, 1.0, n->hc, H, n->out, D,
                    0.0, n->tied ? g_we : grad + n->wd, D);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, H, D, 1.0, n->out, D,
                    n->tied ? we : wd, D, 0.0, n->dh, H);
        /* dJ/dZ1 = (dJ/dHc + dP/dHc) code'(Z1) */
        for (size_t b = 0; b < rows; b++)
            for (size_t j = 0; j < h; j++) {
                size_t k = b * h + j;
                double g = n->dh[k] + n->row_c[b] + n->col_c[j] + sign_c * sgn(n->hc[k]) +
                           n->dense_c[k];
                g *= n->code->deriv_d(n->fa, n->z1[k], n->hc[k]);
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
    }
    if (n->decay_we)
        J += sae_l2_double(n->lambda, we, h * d, grad ? grad + n->we : NULL);
    if (n->decay_wd)
        J += sae_l2_double(n->lambda, wd, d * h, grad ? grad + n->wd : NULL);
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
    /* The sparsity terms' weights at this step (sparsity.warmup_steps). */
    for (size_t id = 0; id < SAE_N_BUILTIN_TERMS; id++)
        if (sae_terms[id].warms_up)
            n.term_w[id] *= (double)sae_terms_warmup_factor(m->cfg, t->steps);
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
    /* A method without an objective is refused as such (its code operator
     * has no double form either). */
    if (!t->method->has_objective)
        return sae_method_no_gradient(t);
    if (!sae_dense(m)->code_op->forward_d)
        return sae_fail(t->errmsg, SAE_ERR_UNSUPPORTED,
                        "%s: the double objective has no top-k code: use sae_trainer_gradcheck",
                        fn);
    if (sae_cfg_int(m->cfg, SAE_P_NORMALIZE_INPUT))
        return sae_fail(t->errmsg, SAE_ERR_UNSUPPORTED,
                        "%s: the double objective does not model arch.normalize_input: use "
                        "sae_trainer_gradcheck",
                        fn);
    if (sae_terms_read_atoms(m->cfg))
        return sae_fail(t->errmsg, SAE_ERR_UNSUPPORTED,
                        "%s: the double objective does not model terms on the decoder's norms "
                        "(l1.decoder_norm): use sae_trainer_gradcheck",
                        fn);
    if (m->cfg->n_user_regs > 0)
        return sae_fail(t->errmsg, SAE_ERR_UNSUPPORTED,
                        "%s: user regularizers see a float code, so they cannot be checked in "
                        "double: use sae_trainer_gradcheck",
                        fn);
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
