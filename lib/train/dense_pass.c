/* The one-hidden-layer model's training pass: input (corrupted) ->
 * encoder -> code operator (+ the terms at the code) -> decoder (on the
 * dropped-out code, or through the active units only) -> loss; then back.
 * Five GEMMs and four fused element-wise passes (docs/design.md sec. 2).
 * SPDX-License-Identifier: MIT */
#include <math.h>
#include <string.h>

#include "core/gemm.h"
#include "loss/loss.h"
#include "layers/sparse_dense.h"
#include "model/dense.h"
#include "model/input_scale.h"
#include "sparsity/terms.h"
#include "train/auxk.h"
#include "train/dense_ws.h"
#include "train/matryoshka.h"
#include "train/pass.h"
#include "train/trainer.h"

/* Offsets of the gradient tensors, mirroring the parameter block. */
typedef struct grad_views {
    float *enc_w, *enc_b, *dec_w, *dec_b;
} grad_views_t;

static grad_views_t views_of(const sae_model_t *m, float *grad)
{
    sae_dense_t *dn = sae_dense(m);
    grad_views_t g = {NULL, NULL, NULL, NULL};
    g.enc_w = grad + (dn->enc_w - m->weights);
    if (dn->enc_b)
        g.enc_b = grad + (dn->enc_b - m->weights);
    if (dn->dec_w)
        g.dec_w = grad + (dn->dec_w - m->weights);
    if (dn->dec_b)
        g.dec_b = grad + (dn->dec_b - m->weights);
    return g;
}

/* The terms at the code (sparsity/terms.c): built-ins as gradient
 * coefficients for the fused backward kernel, user ones as a dense gradient
 * in ws->dense.extra. */
static sae_status_t code_terms(sae_trainer_t *t, size_t rows, const sae_code_stats_t *cs,
                               int grad, sae_code_grad_terms_t *terms, sae_stats_t *stats,
                               const sae_code_ctx_t *cx)
{
    sae_model_t *m = t->model;
    sae_workspace_t *ws = &t->ws;
    const sae_code_op_t *op = sae_dense(m)->code_op;
    sae_term_bufs_t bufs = {ws->dense.row_coef, ws->dense.col_coef, ws->dense.extra, 0,
                            op->own_penalty, 1.0f - sae_terms_warmup_factor(m->cfg, t->steps)};
    /* -0.0 + v == v for every v: each sum is its term's one value. */
    double sums[SAE_TERMS_MAX];
    for (size_t i = 0; i < SAE_TERMS_MAX; i++)
        sums[i] = -0.0;
    sae_status_t st = sae_terms_at_code(m->cfg, cs, ws->dense.h, rows, m->code_dim, &bufs, grad, terms,
                                        sums, t->errmsg);
    if (st != SAE_OK)
        return st;
    /* The operator's own terms: its penalty in place of the table's, and
     * its auxiliary loss. */
    double aux = 0.0, pen = 0.0;
    if (op->own_terms) {
        op->own_terms(ws->dense.code_state, cx, rows, m->code_dim, grad, &pen, &aux);
        size_t id = sae_term_by_weight(op->own_penalty);
        if (id < SAE_N_BUILTIN_TERMS)
            sums[id] += pen;
    }
    sae_terms_report_code(m->cfg, sums, stats);
    if (op->own_terms)
        sae_terms_report_one(stats, SAE_TERM_GATED_AUX, aux);
    return SAE_OK;
}

/* AuxK chooses among the dead units' activations before a selecting
 * code operator zeroes them. */
static void auxk_before_select(void *data, const float *h, size_t rows)
{
    sae_auxk_select(data, h, rows);
}

/* What the code operator is told about this step. */
static sae_code_ctx_t code_ctx(sae_trainer_t *t)
{
    const sae_model_t *m = t->model;
    const sae_dense_t *dn = sae_dense(m);
    sae_code_ctx_t cx = {
        .act = m->hidden_act,
        .step = t->steps,
        .scr = &t->ws.scr,
        .dec_rows = sae_model_decoder_rows(m),
        .dec_bias = dn->dec_b,
        .dec_grad = dn->tied ? NULL : t->ws.grad + (dn->dec_w - m->weights),
        .input_dim = m->input_dim,
        .warmup_left = 1.0f - sae_terms_warmup_factor(m->cfg, t->steps),
    };
    if (t->ws.dense.aux.k > 0) {
        cx.before_select = auxk_before_select;
        cx.before_data = t;
    }
    return cx;
}

/* Encoder forward into ws->dense.h through the code operator, with the
 * statistics of the code the rest of the step sees. */
static void encode(sae_trainer_t *t, const float *xin, size_t rows, const sae_code_ctx_t *cx,
                   sae_code_stats_t *cs)
{
    sae_model_t *m = t->model;
    sae_dense_t *dn = sae_dense(m);
    sae_workspace_t *ws = &t->ws;
    size_t d = m->input_dim, h = m->code_dim;
    sae_mm_gemm(ws->mm, 0, 1, rows, h, d, 1.0f, xin, d, 0, dn->enc_w, d, 1, 0.0f, ws->dense.h, h);
    dn->code_op->forward(ws->dense.code_state, cx, ws->dense.h, dn->enc_b, rows, h, cs);
}

/* Backward through the sparse code: every product touches the k active
 * units of each row only; the encoder forward is the one dense GEMM. */
static void backward_sparse(sae_trainer_t *t, const float *xin, size_t rows,
                            const sae_sparse_code_t *sc, const sae_code_grad_terms_t *terms,
                            grad_views_t *g)
{
    sae_model_t *m = t->model;
    sae_dense_t *dn = sae_dense(m);
    sae_workspace_t *ws = &t->ws;
    size_t d = m->input_dim, h = m->code_dim;
    float *g_dec = dn->tied ? g->enc_w : g->dec_w;
    if (!ws->dense.mat)
        sae_sparse_code_grad(sc, rows, ws->dense.out, sae_model_decoder_rows(m), d,
                             ws->dense.dval);
    memset(g->enc_w, 0, h * d * sizeof(float));
    if (!dn->tied)
        memset(g_dec, 0, h * d * sizeof(float));
    if (ws->dense.mat)
        sae_matryoshka_grad_sparse(t, sc, rows, g_dec, ws->dense.dval);
    else
        sae_sparse_scatter(sc, rows, sc->val, ws->dense.out, d, g_dec);
    if (dn->code_op->sparse_backward) {
        sae_code_ctx_t cx = code_ctx(t);
        dn->code_op->sparse_backward(ws->dense.code_state, &cx, sc, rows, h, terms,
                                     ws->dense.dval, g->enc_b);
    } else
        sae_sparse_act_backward(m->hidden_act, sc, rows, h, terms, ws->dense.dval, g->enc_b);
    sae_sparse_scatter(sc, rows, ws->dense.dval, xin, d, g->enc_w);
}

/* Backward with dense GEMMs (masked to the kept units under top-k). */
static void backward_dense(sae_trainer_t *t, const float *xin, const float *hd, size_t rows,
                           const sae_code_ctx_t *cx, sae_code_grad_terms_t *terms,
                           grad_views_t *g)
{
    sae_model_t *m = t->model;
    sae_dense_t *dn = sae_dense(m);
    sae_workspace_t *ws = &t->ws;
    size_t d = m->input_dim, h = m->code_dim;
    /* Decoder weight gradient h^T dOut, then the code gradient dOut W^T;
     * a tied model's decoder gradient lands on the encoder's weight, which
     * the encoder's own gradient is added to below. */
    if (ws->dense.mat) {
        sae_matryoshka_grad_dense(t, hd, rows, dn->tied ? g->enc_w : g->dec_w, ws->dense.dh);
    } else {
        sae_mm_gemm(ws->mm, 1, 0, h, d, rows, 1.0f, hd, h, 0, ws->dense.out, d, 0, 0.0f,
                    dn->tied ? g->enc_w : g->dec_w, d);
        sae_mm_gemm(ws->mm, 0, 1, rows, h, d, 1.0f, ws->dense.out, d, 0, sae_model_decoder_rows(m),
                    d, 1, 0.0f, ws->dense.dh, h);
    }
    terms->drop_scale = hd == ws->dense.h ? NULL : ws->dense.drop_scale;
    dn->code_op->backward(ws->dense.code_state, cx, ws->dense.h, ws->dense.dh, rows, h, terms, g->enc_b);
    sae_mm_gemm(ws->mm, 1, 0, h, d, rows, 1.0f, ws->dense.dh, h, 0, xin, d, 0,
                dn->tied ? 1.0f : 0.0f, g->enc_w, d);
}

/* The encoder's input with arch.pre_encoder_bias (Gao et al. 2024):
 * xin - decoder.bias, in ws->xin (in place when xin is already there). */
static const float *center(sae_trainer_t *t, const float *xin, size_t rows)
{
    const sae_model_t *m = t->model;
    size_t d = m->input_dim;
    float *out = t->ws.xin;
    for (size_t b = 0; b < rows; b++)
        for (size_t i = 0; i < d; i++)
            out[b * d + i] = xin[b * d + i] - sae_dense(m)->dec_b[i];
    return out;
}

static sae_status_t forward_backward(sae_trainer_t *t, const float *x, size_t rows, int corrupt,
                                     int grad, sae_stats_t *stats)
{
    sae_model_t *m = t->model;
    sae_dense_t *dn = sae_dense(m);
    sae_workspace_t *ws = &t->ws;
    size_t d = m->input_dim, h = m->code_dim;
    const sae_config_t *cfg = m->cfg;

    sae_stats_start(stats, rows);
    /* The weights may have moved since the last call (a step, a gradient
     * check's nudge): the engine's bf16 copies are remade once, here. */
    sae_mm_new_weights(ws->mm);

    /* arch.normalize_input: the whole pass works on s x (target included). */
    float scale = sae_model_input_scale(m);
    if (scale != 1.0f && ws->dense.xs) {
        for (size_t i = 0; i < rows * d; i++)
            ws->dense.xs[i] = scale * x[i];
        x = ws->dense.xs;
    }
    const float *xin = corrupt ? sae_corrupt_input(t, x, rows) : x;
    if (dn->pre_bias)
        xin = center(t, xin, rows);
    sae_code_stats_t cs = {ws->row_sum, ws->col_sum, 0.0, 0.0, ws->col_active, NULL};
    sae_code_ctx_t cx = code_ctx(t);
    cx.training = corrupt && grad;
    cx.x = x;
    encode(t, xin, rows, &cx, &cs);
    sae_stats_code(stats, &cs, rows, h);

    /* Decoder and reconstruction loss (on the clean input). */
    const float *hd = corrupt ? sae_corrupt_hidden(t, rows) : ws->dense.h;
    const sae_sparse_code_t *sc = ws->dense.sparse_path ? dn->code_op->support(ws->dense.code_state) : NULL;
    grad_views_t g = views_of(m, ws->grad);
    double recon;
    if (ws->dense.mat) { /* the Matryoshka prefixes' reconstructions */
        recon = sae_matryoshka_forward(t, x, hd, sc, rows, grad, g.dec_b);
        if (ws->dense.aux.k > 0)
            sae_auxk_residual(t, x, ws->dense.out, rows);
    } else {
        if (sc) {
            sae_sparse_decode(sc, rows, sae_model_decoder_rows(m), d, ws->dense.out);
        } else {
            sae_mm_gemm(ws->mm, 0, 0, rows, d, h, 1.0f, hd, h, 0, sae_model_decoder_rows(m), d, 1,
                        0.0f, ws->dense.out, d);
        }
        if (ws->dense.aux.k > 0)
            sae_auxk_residual(t, x, ws->dense.out, rows);
        recon = sae_loss_apply_reduced(
            (sae_loss_t)sae_cfg_int(cfg, SAE_P_LOSS), m->output_act, ws->dense.out, x, rows, d,
            dn->dec_b, grad, g.dec_b, &ws->scr,
            (sae_loss_reduction_t)sae_cfg_int(cfg, SAE_P_LOSS_REDUCTION));
    }
    sae_terms_report_one(stats, SAE_TERM_RECON, recon);

    /* Terms that read the atoms (l1.decoder_norm) see their norms. */
    if (ws->dense.atom_norm) {
        sae_terms_atom_norms(sae_model_decoder_rows(m), h, d, ws->dense.atom_norm);
        cs.atom_norm = ws->dense.atom_norm;
    }
    sae_code_grad_terms_t terms = {0};
    sae_status_t st = code_terms(t, rows, &cs, grad, &terms, stats, &cx);
    if (st != SAE_OK)
        return st;
    if (ws->dense.aux.k > 0)
        sae_terms_report_one(stats, SAE_TERM_AUXK, sae_auxk_forward(t, rows));
    if (!isfinite(stats->loss))
        return sae_fail(t->errmsg, SAE_ERR_DIVERGED,
                        "the loss became %g at step %llu: lower the learning rate?", stats->loss,
                        (unsigned long long)t->steps);
    if (!grad)
        return SAE_OK;
    if (sc)
        backward_sparse(t, xin, rows, sc, &terms, &g);
    else
        backward_dense(t, xin, hd, rows, &cx, &terms, &g);
    if (ws->dense.atom_norm)
        sae_terms_atoms_grad(cfg, &cs, rows, h, sae_model_decoder_rows(m), d,
                             1.0f - sae_terms_warmup_factor(cfg, t->steps),
                             dn->tied ? g.enc_w : g.dec_w);
    if (ws->dense.aux.k > 0)
        sae_auxk_backward(t, xin, rows, g.enc_w, g.enc_b, dn->tied ? g.enc_w : g.dec_w);
    /* With the encoder reading x - b_pre, b_pre = decoder.bias also moves
     * every pre-activation by -We b_pre: its gradient gains -We^T (sum over
     * rows of dL/dz), and that sum is the encoder bias's gradient. */
    if (dn->pre_bias)
        sae_gemm(0, 0, 1, d, h, -1.0f, g.enc_b, h, dn->enc_w, d, 1.0f, g.dec_b, d);
    return SAE_OK;
}

const sae_pass_t sae_pass_dense = {
    .kind = &sae_kind_dense,
    .ws_init = sae_dense_ws_init,
    .ws_release = sae_dense_ws_release,
    .forward_backward = forward_backward,
};
