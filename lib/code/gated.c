/* The gated SAE of Rajamanoharan et al. 2024, "Improving Dictionary
 * Learning with Gated Sparse Autoencoders" (arXiv 2404.16014), sec. 3:
 *
 *   z        = x W_gate^T                    (encoder.weight = W_gate)
 *   pi_gate  = z + b_gate                    (encoder.bias = b_gate)
 *   pi_mag   = exp(r_mag) * z + b_mag        (W_mag = exp(r_mag) W_gate, eq. 7)
 *   h        = 1[pi_gate > 0] * relu(pi_mag)
 *   L        = recon(x, h W_dec + b_dec)
 *            + l1.weight * (1/(B H)) sum_bj relu(pi_gate_bj) sg(||W_dec row j||)
 *            + (1/(B D)) ||x - (relu(pi_gate) sg(W_dec) + sg(b_dec))||^2   (eq. 8)
 *
 * sg(): the decoder is frozen in both of the gate's terms (no gradient to
 * it from there). The paper's auxiliary term freezes it; the penalty's
 * atom norms are frozen too, as its authors advise once the L1 is weighted
 * by the norms instead of constraining them (Rajamanoharan, LessWrong
 * comment on the paper's post, 2024: freeze the decoder in both terms or
 * in neither). Frozen in one place only, the penalty shrinks the atoms,
 * which the magnitude path (r_mag) makes up for and the frozen auxiliary
 * term does not resist: on the planted dictionary of
 * examples/architectures that run found 12.5% of the features at the
 * planted L0, this one all of them (docs/experiments/architectures.md).
 * With arch.unit_norm_decoder the norms are 1 and both forms agree.
 * The gate's L1 warms up with sparsity.warmup_steps like every L1
 * (cx->warmup_left).
 *
 * The magnitude path shares W_gate's directions, so one GEMM gives both
 * paths: pi_mag is element-wise in z. r_mag and b_mag are the operator's
 * tensors gated.r_mag, gated.b_mag [H] (exact gradients). The L1 term is
 * libsae's mean over B x H elements (l1.md) of the gate's relu weighted by
 * each atom's norm, and the auxiliary term has the recon term's reduction
 * (mean over B x D): both keep their keys' scale.
 *
 * Gradients (g: the gradient at the code h, decoder and code terms):
 *   d pi_mag = g 1[pi_gate > 0] 1[pi_mag > 0]
 *   d pi_gate = 1[pi_gate > 0] (l1.weight/(BH) ||W_dec_j|| + a_bj),
 *     a = dL_aux / d relu(pi_gate) = (2/(BD)) (x_aux - x) W_dec^T
 *   dz = exp(r) d pi_mag + d pi_gate;  d b_gate = sum_b d pi_gate;
 *   d b_mag = sum_b d pi_mag;  d r = sum_b d pi_mag exp(r) z.
 * The gate's step gets no gradient (the paper's choice, sec. 3.2).
 * SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "code/code_op.h"
#include "core/alloc.h"
#include "core/gemm.h"

typedef struct gated_state {
    float *r_mag, *b_mag;         /* the model's tensors */
    float *g_r, *g_bmag;          /* their gradient (training) */
    float *scale;                 /* [units] exp(r_mag) */
    const float *b_gate;          /* the last forward's encoder bias (or NULL) */
    /* Training only: */
    float *pg;                    /* [rows x units] pi_gate */
    float *aux;                   /* [rows x units] relu(pi_gate), then a */
    float *xa;                    /* [rows x D] the auxiliary reconstruction */
    double *norm;                 /* [units] ||W_dec_j|| */
    double *gsum;                 /* [units] sum_b relu(pi_gate) */
    double *acc_r, *acc_bm;       /* [units] gradient sums of r_mag, b_mag */
    /* The open gates by row (pi_gate > 0), with the code h (0 where the
     * magnitude is not positive): every term is 0 off them. */
    sae_sparse_code_t code;
    float *gate_val;              /* per entry: relu(pi_gate) = pi_gate */
    float *gate_grad;             /* per entry: a */
    size_t cap;                   /* entries at most */
    int fits;                     /* the last forward's gates all fit */
    const sae_config_t *cfg;
    float l1;                     /* l1.weight / (B H) of the last own_terms */
    size_t rows_cap;
} gated_state_t;

static int selects(const sae_config_t *cfg)
{
    return sae_cfg_int(cfg, SAE_P_GATED) != 0;
}

static sae_status_t validate(const sae_config_t *cfg, size_t units, char *errbuf)
{
    (void)units;
    const char *why = NULL;
    if (sae_cfg_int(cfg, SAE_P_ALGORITHM) != SAE_ALGO_BACKPROP)
        why = "train.algorithm = backprop";
    else if (sae_cfg_int(cfg, SAE_P_HIDDEN_ACTIVATION) != SAE_ACT_RELU)
        why = "arch.hidden_activation = relu (the magnitude path's)";
    else if (sae_cfg_int(cfg, SAE_P_TIED))
        why = "arch.tied = false (the auxiliary loss freezes the decoder alone)";
    else if (sae_cfg_int(cfg, SAE_P_TOPK_K) > 0)
        why = "topk.k = 0 (the gate is its own sparsity)";
    else if (sae_cfg_int(cfg, SAE_P_LOSS) != SAE_LOSS_MSE ||
             sae_cfg_int(cfg, SAE_P_OUTPUT_ACTIVATION) != SAE_ACT_LINEAR)
        why = "loss.type = mse and arch.output_activation = linear (the auxiliary "
              "reconstruction is a squared error)";
    else if (sae_cfg_int(cfg, SAE_P_PRE_ENCODER_BIAS))
        why = "arch.pre_encoder_bias = false";
    else if (sae_cfg_float(cfg, SAE_P_HIDDEN_KEEP) < 1.0)
        why = "corrupt.hidden_keep = 1";
    else if (sae_cfg_int(cfg, SAE_P_OPTIMIZER) == SAE_OPT_LBFGS)
        why = "optim.type = sgd or adam, not lbfgs (the gate makes the objective jump)";
    else if (!sae_cfg_int(cfg, SAE_P_BIAS))
        why = "arch.bias = true (b_gate is encoder.bias)";
    else if (sae_cfg_int(cfg, SAE_P_L1_DECODER_NORM))
        why = "l1.decoder_norm = false (the gate's L1 is weighted by the atoms' norms already)";
    if (why)
        return sae_fail(errbuf, SAE_ERR_STATE, "arch.gated = true needs %s", why);
    return SAE_OK;
}

static sae_activation_t activation(const sae_config_t *cfg)
{
    (void)cfg;
    return SAE_ACT_RELU;
}

/* The open gates are kept as a sparse code up to a quarter of the units
 * (past that the dense GEMMs cost less than the gathers; topk.sparse_path's
 * rule, as JumpReLU's). */
static size_t max_active(const sae_config_t *cfg)
{
    return (size_t)sae_cfg_int(cfg, SAE_P_HIDDEN_DIM) / 4;
}

static const sae_code_tensor_t tensors[] = {
    {"gated.r_mag", 1, SAE_TENSOR_PARAM, 0, NULL},
    {"gated.b_mag", 1, SAE_TENSOR_PARAM, 0, NULL},
};

static void destroy(void *state)
{
    gated_state_t *s = state;
    if (!s)
        return;
    void *bufs[] = {s->scale,         s->pg,       s->aux,      s->xa,        s->norm,
                    s->gsum,          s->acc_r,    s->acc_bm,   s->code.row_ptr,
                    s->code.idx,      s->code.val, s->gate_val, s->gate_grad};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        sae_aligned_free(bufs[i]);
    free(s);
}


static sae_status_t create(const sae_config_t *cfg, size_t units, size_t rows, void **state)
{
    gated_state_t *s = calloc(1, sizeof *s);
    *state = NULL;
    if (!s)
        return SAE_ERR_NOMEM;
    size_t d = (size_t)sae_cfg_int(cfg, SAE_P_INPUT_DIM);
    int ok = sae_aligned_grab((void **)&s->scale, units * sizeof(float));
    if (ok && rows > 0) {
        s->cap = rows * max_active(cfg);
        ok = sae_aligned_grab((void **)&s->pg, rows * units * sizeof(float)) &&
             sae_aligned_grab((void **)&s->aux, rows * units * sizeof(float)) &&
             sae_aligned_grab((void **)&s->xa, rows * d * sizeof(float)) &&
             sae_aligned_grab((void **)&s->norm, units * sizeof(double)) &&
             sae_aligned_grab((void **)&s->gsum, units * sizeof(double)) &&
             sae_aligned_grab((void **)&s->acc_r, units * sizeof(double)) &&
             sae_aligned_grab((void **)&s->acc_bm, units * sizeof(double)) &&
             sae_aligned_grab((void **)&s->code.row_ptr, (rows + 1) * sizeof(uint32_t)) &&
             (s->cap == 0 ||
              (sae_aligned_grab((void **)&s->code.idx, s->cap * sizeof(uint32_t)) &&
               sae_aligned_grab((void **)&s->code.val, s->cap * sizeof(float)) &&
               sae_aligned_grab((void **)&s->gate_val, s->cap * sizeof(float)) &&
               sae_aligned_grab((void **)&s->gate_grad, s->cap * sizeof(float))));
    }
    if (!ok) {
        destroy(s);
        return SAE_ERR_NOMEM;
    }
    s->rows_cap = rows;
    s->cfg = cfg;
    *state = s;
    return SAE_OK;
}

static void bind(void *state, const sae_code_params_t *p)
{
    gated_state_t *s = state;
    s->r_mag = p->value[0];
    s->b_mag = p->value[1];
    s->g_r = p->grad[0];
    s->g_bmag = p->grad[1];
}

/* One row: pi_gate kept in pg (when not NULL), the code in place of z. */
static void row_code(const gated_state_t *s, float *restrict z, const float *restrict bg,
                     float *restrict pg, size_t units)
{
    const float *restrict e = s->scale, *restrict bm = s->b_mag;
    for (size_t j = 0; j < units; j++) {
        float g = z[j] + (bg ? bg[j] : 0.0f);
        float m = e[j] * z[j] + bm[j];
        if (pg)
            pg[j] = g;
        z[j] = g > 0.0f && m > 0.0f ? m : 0.0f;
    }
}

static void scales(gated_state_t *s, size_t units)
{
    for (size_t j = 0; j < units; j++)
        s->scale[j] = expf(s->r_mag[j]);
}

static void forward(void *state, const sae_code_ctx_t *cx, float *z, const float *bias,
                    size_t rows, size_t units, sae_code_stats_t *st)
{
    gated_state_t *s = state;
    scales(s, units);
    s->b_gate = bias;
    sae_sparse_code_t *sc = &s->code;
    size_t n = 0;
    int fits = s->cap > 0;
    sc->row_ptr[0] = 0;
    for (size_t b = 0; b < rows; b++) {
        float *row = z + b * units, *pg = s->pg + b * units;
        row_code(s, row, bias, pg, units);
        for (size_t j = 0; fits && j < units; j++) {
            if (!(pg[j] > 0.0f))
                continue;
            if (n == s->cap) {
                fits = 0;
                break;
            }
            sc->idx[n] = (uint32_t)j;
            sc->val[n] = row[j];
            s->gate_val[n] = pg[j];
            n++;
        }
        sc->row_ptr[b + 1] = (uint32_t)n;
    }
    s->fits = fits;
    sae_code_stats(SAE_ACT_RELU, z, rows, units, st, cx->scr);
}

/* The auxiliary reconstruction's residual in xa (2/(BD) of it, its
 * gradient) and its mean square; xa holds relu(pi_gate) W_dec. */
static double aux_residual(gated_state_t *s, const sae_code_ctx_t *cx, size_t rows)
{
    size_t d = cx->input_dim;
    double sq = 0.0, inv = 1.0 / ((double)rows * (double)d);
    for (size_t b = 0; b < rows; b++)
        for (size_t i = 0; i < d; i++) {
            float r = s->xa[b * d + i] + (cx->dec_bias ? cx->dec_bias[i] : 0.0f) - cx->x[b * d + i];
            sq += (double)r * r;
            s->xa[b * d + i] = (float)(2.0 * inv) * r;
        }
    return sq * inv;
}

static void own_terms(void *state, const sae_code_ctx_t *cx, size_t rows, size_t units,
                      int grad, double *penalty, double *aux)
{
    (void)grad;
    gated_state_t *s = state;
    size_t d = cx->input_dim;
    /* relu(pi_gate), its atom-norm-weighted L1, and the reconstruction
     * through the frozen decoder: over the open gates only when they fit
     * (decode and the gradient a through those atoms alone). */
    for (size_t j = 0; j < units; j++) {
        double n2 = 0.0;
        for (size_t i = 0; i < d; i++)
            n2 += (double)cx->dec_rows[j * d + i] * cx->dec_rows[j * d + i];
        s->norm[j] = sqrt(n2);
        s->gsum[j] = 0.0;
    }
    const sae_sparse_code_t *sc = &s->code;
    if (s->fits) {
        for (uint32_t e = 0; e < sc->row_ptr[rows]; e++)
            s->gsum[sc->idx[e]] += s->gate_val[e];
    } else {
        for (size_t b = 0; b < rows; b++)
            for (size_t j = 0; j < units; j++) {
                float a = s->pg[b * units + j] > 0.0f ? s->pg[b * units + j] : 0.0f;
                s->aux[b * units + j] = a;
                s->gsum[j] += a;
            }
    }
    double l1 = 0.0;
    for (size_t j = 0; j < units; j++)
        l1 += s->gsum[j] * s->norm[j];
    /* The weight as the sparsity warm-up has it at this step. */
    double w = sae_cfg_float(s->cfg, SAE_P_L1_WEIGHT) * (1.0 - (double)cx->warmup_left);
    s->l1 = (float)(w / ((double)rows * (double)units));
    *penalty = w * l1 / ((double)rows * (double)units);
    if (s->fits) {
        sae_sparse_code_t g = {sc->row_ptr, sc->idx, s->gate_val};
        sae_sparse_decode(&g, rows, cx->dec_rows, d, s->xa);
        *aux = aux_residual(s, cx, rows);
        /* a = dL_aux / d relu(pi_gate) at the open gates. */
        sae_sparse_code_grad(sc, rows, s->xa, cx->dec_rows, d, s->gate_grad);
        return;
    }
    sae_gemm(0, 0, rows, d, units, 1.0f, s->aux, units, cx->dec_rows, d, 0.0f, s->xa, d);
    *aux = aux_residual(s, cx, rows);
    /* a = dL_aux / d relu(pi_gate), over aux's relu values. */
    sae_gemm(0, 1, rows, units, d, 1.0f, s->xa, d, cx->dec_rows, d, 0.0f, s->aux, units);
}

/* The gradient at the code of entry (b, j) with code h, the code terms
 * joined in. */
static inline float code_grad(float d, const sae_code_grad_terms_t *t, float rowc, size_t b,
                              size_t j, size_t units, float h)
{
    float g = d + rowc;
    if (t->col_coef)
        g += t->col_coef[j];
    if (t->extra)
        g += t->extra[b * units + j];
    return g + t->sign_coef * (float)(h > 0.0f);
}

static void finish_tensor_grads(gated_state_t *s, size_t units)
{
    if (s->g_r)
        for (size_t j = 0; j < units; j++) {
            s->g_r[j] = (float)s->acc_r[j];
            s->g_bmag[j] = (float)s->acc_bm[j];
        }
}

static void backward(void *state, const sae_code_ctx_t *cx, const float *h, float *dh,
                     size_t rows, size_t units, const sae_code_grad_terms_t *t, float *dbias)
{
    (void)cx;
    gated_state_t *s = state;
    const float *bg = s->b_gate;
    /* own_terms left a at the open gates only: spread it. */
    if (s->fits) {
        const sae_sparse_code_t *sc = &s->code;
        memset(s->aux, 0, rows * units * sizeof *s->aux);
        for (size_t b = 0; b < rows; b++)
            for (uint32_t e = sc->row_ptr[b]; e < sc->row_ptr[b + 1]; e++)
                s->aux[b * units + sc->idx[e]] = s->gate_grad[e];
    }
    memset(s->acc_r, 0, units * sizeof *s->acc_r);
    memset(s->acc_bm, 0, units * sizeof *s->acc_bm);
    if (dbias)
        memset(dbias, 0, units * sizeof *dbias);
    for (size_t b = 0; b < rows; b++) {
        float rowc = t->row_coef ? t->row_coef[b] : 0.0f;
        for (size_t j = 0; j < units; j++) {
            size_t k = b * units + j;
            float pg = s->pg[k];
            float gh = code_grad(dh[k], t, rowc, b, j, units, h[k]);
            float dpm = h[k] > 0.0f ? gh : 0.0f;
            float dpg = pg > 0.0f ? s->l1 * (float)s->norm[j] + s->aux[k] : 0.0f;
            dh[k] = s->scale[j] * dpm + dpg;
            if (dbias)
                dbias[j] += dpg;
            s->acc_bm[j] += dpm;
            s->acc_r[j] += (double)dpm * s->scale[j] * (pg - (bg ? bg[j] : 0.0f));
        }
    }
    finish_tensor_grads(s, units);
}

/* The same at the open gates only: dval [entries], the gradient at the
 * code, becomes the gradient at z (every other entry's is 0). */
static void sparse_backward(void *state, const sae_code_ctx_t *cx, const sae_sparse_code_t *sc,
                            size_t rows, size_t units, const sae_code_grad_terms_t *t,
                            float *dval, float *dbias)
{
    (void)cx;
    gated_state_t *s = state;
    const float *bg = s->b_gate;
    memset(s->acc_r, 0, units * sizeof *s->acc_r);
    memset(s->acc_bm, 0, units * sizeof *s->acc_bm);
    if (dbias)
        memset(dbias, 0, units * sizeof *dbias);
    for (size_t b = 0; b < rows; b++) {
        float rowc = t->row_coef ? t->row_coef[b] : 0.0f;
        for (uint32_t e = sc->row_ptr[b]; e < sc->row_ptr[b + 1]; e++) {
            size_t j = sc->idx[e];
            float hv = sc->val[e], pg = s->gate_val[e];
            float dpm = hv > 0.0f ? code_grad(dval[e], t, rowc, b, j, units, hv) : 0.0f;
            float dpg = s->l1 * (float)s->norm[j] + s->gate_grad[e];
            dval[e] = s->scale[j] * dpm + dpg;
            if (dbias)
                dbias[j] += dpg;
            s->acc_bm[j] += dpm;
            s->acc_r[j] += (double)dpm * s->scale[j] * (pg - (bg ? bg[j] : 0.0f));
        }
    }
    finish_tensor_grads(s, units);
}

static const sae_sparse_code_t *support(const void *state)
{
    const gated_state_t *s = state;
    return s->fits ? &s->code : NULL;
}

/* Inference writes nothing but z (calls may overlap): the scales of a
 * block of units at a time, on the stack. */
#define INFER_BLOCK 256
static void infer(void *state, sae_activation_t act, float *z, const float *bias, size_t rows,
                  size_t units, int threads)
{
    (void)act, (void)threads;
    const gated_state_t *s = state;
    float e[INFER_BLOCK];
    for (size_t j0 = 0; j0 < units; j0 += INFER_BLOCK) {
        size_t n = units - j0 < INFER_BLOCK ? units - j0 : INFER_BLOCK;
        for (size_t j = 0; j < n; j++)
            e[j] = expf(s->r_mag[j0 + j]);
        const float *bm = s->b_mag + j0;
        for (size_t b = 0; b < rows; b++) {
            float *restrict row = z + b * units + j0;
            for (size_t j = 0; j < n; j++) {
                float g = row[j] + (bias ? bias[j0 + j] : 0.0f);
                float m = e[j] * row[j] + bm[j];
                row[j] = g > 0.0f && m > 0.0f ? m : 0.0f;
            }
        }
    }
}

const sae_code_op_t sae_code_gated = {
    .name = "gated",
    .n_tensors = 2,
    .tensors = tensors,
    .bind = bind,
    .activation = activation,
    .own_penalty = SAE_P_L1_WEIGHT,
    .own_terms = own_terms,
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
};
