/* One pass of the objective, forward and backward, in the order of
 * DESIGN.md section 1: input (corrupted) -> encoder -> code (+ regularizer
 * terms) -> decoder (on the dropped-out code) -> loss; then back.
 * SPDX-License-Identifier: MIT */
#include <math.h>
#include <string.h>

#include "core/gemm.h"
#include "loss/loss.h"
#include "layers/sparse_dense.h"
#include "sparsity/regularizer.h"
#include "train/net_step.h"
#include "train/auxk.h"
#include "train/trainer.h"

/* Offsets of the gradient tensors, mirroring the parameter block. */
typedef struct grad_views {
    float *enc_w, *enc_b, *dec_w, *dec_b;
} grad_views_t;

static grad_views_t views_of(const sae_model_t *m, float *grad)
{
    grad_views_t g = {NULL, NULL, NULL, NULL};
    g.enc_w = grad + (m->enc_w - m->params);
    if (m->enc_b)
        g.enc_b = grad + (m->enc_b - m->params);
    if (m->dec_w)
        g.dec_w = grad + (m->dec_w - m->params);
    if (m->dec_b)
        g.dec_b = grad + (m->dec_b - m->params);
    return g;
}

static void add_term(sae_stats_t *s, const char *name, double value)
{
    if (s->n_terms < SAE_MAX_TERMS) {
        s->term_name[s->n_terms] = name;
        s->term_loss[s->n_terms] = value;
        s->n_terms++;
    }
    s->loss += value;
}

/* Regularizer terms at the code: built-ins as gradient coefficients for the
 * fused backward kernel, user ones as a dense gradient in ws->extra. */
static sae_status_t code_terms(sae_trainer_t *t, size_t rows, const sae_code_stats_t *cs,
                               int grad, sae_code_grad_terms_t *terms, sae_stats_t *stats)
{
    sae_model_t *m = t->model;
    sae_workspace_t *ws = &t->ws;
    size_t h = m->code_dim;
    sae_reg_coefs_t co = {ws->row_coef, ws->col_coef, 0.0f};
    int any_row = 0, any_col = 0;
    if (grad) {
        memset(ws->row_coef, 0, rows * sizeof(float));
        memset(ws->col_coef, 0, h * sizeof(float));
    }
    for (int i = 0; i < SAE_N_BUILTIN_REGS; i++) {
        const sae_builtin_reg_t *r = sae_builtin_regs[i];
        float w = sae_builtin_weight(m->cfg, r);
        if (w <= 0.0f)
            continue;
        double p = r->fused(m->cfg, cs, rows, h, w, grad ? &co : NULL);
        add_term(stats, r->name, (double)w * p);
        any_row |= r == &sae_reg_sample;
        any_col |= r != &sae_reg_sample && r != &sae_reg_l1;
    }
    if (m->cfg->n_user_regs > 0 && grad)
        memset(ws->extra, 0, rows * h * sizeof(float));
    for (unsigned i = 0; i < m->cfg->n_user_regs; i++) {
        const sae_user_reg_t *ur = m->cfg->user_regs[i];
        float w = m->cfg->user_weights[i];
        double p = ur->ops.penalty(ur->user_data, ws->h, rows, h, w, grad ? ws->extra : NULL);
        if (!isfinite(p))
            return sae_fail(t->errmsg, SAE_ERR_DIVERGED,
                            "user regularizer '%s' returned a non-finite penalty", ur->ops.name);
        add_term(stats, ur->ops.name, (double)w * p);
    }
    terms->row_coef = any_row ? ws->row_coef : NULL;
    terms->col_coef = any_col ? ws->col_coef : NULL;
    terms->sign_coef = co.sign_coef;
    terms->extra = m->cfg->n_user_regs > 0 ? ws->extra : NULL;
    return SAE_OK;
}

/* Encoder forward into ws->h, with the top-k selection when configured,
 * and the statistics of the code the rest of the step sees. */
static void encode(sae_trainer_t *t, const float *xin, size_t rows, sae_code_stats_t *cs)
{
    sae_model_t *m = t->model;
    sae_workspace_t *ws = &t->ws;
    size_t d = m->input_dim, h = m->code_dim;
    sae_gemm(0, 1, rows, h, d, 1.0f, xin, d, m->enc_w, d, 0.0f, ws->h, h);
    if (ws->topk_max == 0) {
        sae_bias_act_forward(m->hidden_act, ws->h, rows, h, m->enc_b, cs, &ws->scr);
        return;
    }
    sae_bias_act_forward(m->hidden_act, ws->h, rows, h, m->enc_b, NULL, &ws->scr);
    /* AuxK chooses among the dead units' activations before the top-k
     * zeroes them. */
    if (ws->aux_k > 0)
        sae_auxk_select(t, ws->h, rows);
    size_t k = sae_topk_k_at(m->cfg, t->steps);
    int batch_mode = sae_cfg_int(m->cfg, SAE_P_TOPK_MODE) == 1;
    sae_topk_apply(batch_mode, ws->h, rows, h, k, ws->select, &ws->code);
    sae_code_stats(m->hidden_act, ws->h, rows, h, cs, &ws->scr);
}

/* Backward through the sparse code: every product touches the k active
 * units of each row only; the encoder forward is the one dense GEMM. */
static void backward_sparse(sae_trainer_t *t, const float *xin, size_t rows,
                            const sae_code_grad_terms_t *terms, grad_views_t *g)
{
    sae_model_t *m = t->model;
    sae_workspace_t *ws = &t->ws;
    size_t d = m->input_dim, h = m->code_dim;
    const sae_sparse_code_t *sc = &ws->code;
    float *g_dec = m->tied ? g->enc_w : g->dec_w;
    sae_sparse_code_grad(sc, rows, ws->out, sae_model_decoder_rows(m), d, ws->dval);
    memset(g->enc_w, 0, h * d * sizeof(float));
    if (!m->tied)
        memset(g_dec, 0, h * d * sizeof(float));
    sae_sparse_scatter(sc, rows, sc->val, ws->out, d, g_dec);
    sae_sparse_act_backward(m->hidden_act, sc, rows, h, terms, ws->dval, g->enc_b);
    sae_sparse_scatter(sc, rows, ws->dval, xin, d, g->enc_w);
}

/* Backward with dense GEMMs (masked to the kept units under top-k). */
static void backward_dense(sae_trainer_t *t, const float *xin, const float *hd, size_t rows,
                           sae_code_grad_terms_t *terms, grad_views_t *g)
{
    sae_model_t *m = t->model;
    sae_workspace_t *ws = &t->ws;
    size_t d = m->input_dim, h = m->code_dim;
    /* Decoder weight gradient h^T dOut, then the code gradient dOut W^T;
     * a tied model's decoder gradient lands on the encoder's weight, which
     * the encoder's own gradient is added to below. */
    sae_gemm(1, 0, h, d, rows, 1.0f, hd, h, ws->out, d, 0.0f, m->tied ? g->enc_w : g->dec_w, d);
    sae_gemm(0, 1, rows, h, d, 1.0f, ws->out, d, sae_model_decoder_rows(m), d, 0.0f, ws->dh, h);
    terms->drop_scale = hd == ws->h ? NULL : ws->drop_scale;
    if (ws->topk_max == 0) {
        sae_act_backward(m->hidden_act, ws->h, ws->dh, rows, h, terms, g->enc_b, &ws->scr);
    } else {
        /* Gradients pass through the kept support only. */
        sae_act_backward(m->hidden_act, ws->h, ws->dh, rows, h, terms, NULL, &ws->scr);
        sae_topk_mask_grad(ws->dh, rows, h, &ws->code, ws->dval, g->enc_b);
    }
    sae_gemm(1, 0, h, d, rows, 1.0f, ws->dh, h, xin, d, m->tied ? 1.0f : 0.0f, g->enc_w, d);
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
            out[b * d + i] = xin[b * d + i] - m->dec_b[i];
    return out;
}

sae_status_t sae_forward_backward(sae_trainer_t *t, const float *x, size_t rows, int corrupt,
                                  int grad, sae_stats_t *stats)
{
    sae_model_t *m = t->model;
    sae_workspace_t *ws = &t->ws;
    size_t d = m->input_dim, h = m->code_dim;
    const sae_config_t *cfg = m->cfg;

    /* A layered model runs its own list of layers (net_step.c). */
    if (m->net)
        return sae_net_forward_backward(t, x, rows, corrupt, grad, stats);
    memset(stats, 0, sizeof *stats);
    stats->struct_size = (uint32_t)sizeof *stats;
    stats->samples = rows;

    const float *xin = corrupt ? sae_corrupt_input(t, x, rows) : x;
    if (m->pre_bias)
        xin = center(t, xin, rows);
    sae_code_stats_t cs = {ws->row_sum, ws->col_sum, 0.0, 0.0, ws->col_active};
    encode(t, xin, rows, &cs);
    double sum_h = 0.0;
    for (size_t j = 0; j < h; j++)
        sum_h += cs.col_sum[j];
    stats->mean_activation = sum_h / ((double)rows * (double)h);
    stats->l0 = cs.active / (double)rows;

    /* Decoder and reconstruction loss (on the clean input). */
    const float *hd = corrupt ? sae_corrupt_hidden(t, rows) : ws->h;
    if (ws->sparse_path) {
        sae_sparse_decode(&ws->code, rows, sae_model_decoder_rows(m), d, ws->out);
    } else {
        sae_model_forward_decoder_pre(m, hd, rows, ws->out);
    }
    if (ws->aux_k > 0)
        sae_auxk_residual(t, x, ws->out, rows);
    grad_views_t g = views_of(m, ws->grad);
    double recon = sae_loss_apply_reduced(
        (sae_loss_t)sae_cfg_int(cfg, SAE_P_LOSS), m->output_act, ws->out, x, rows, d, m->dec_b,
        grad, g.dec_b, &ws->scr, (sae_loss_reduction_t)sae_cfg_int(cfg, SAE_P_LOSS_REDUCTION));
    stats->recon_loss = recon;
    stats->loss = recon;

    sae_code_grad_terms_t terms = {0};
    sae_status_t st = code_terms(t, rows, &cs, grad, &terms, stats);
    if (st != SAE_OK)
        return st;
    if (ws->aux_k > 0)
        add_term(stats, "auxk", sae_auxk_forward(t, rows));
    if (!isfinite(stats->loss))
        return sae_fail(t->errmsg, SAE_ERR_DIVERGED,
                        "the loss became %g at step %llu: lower the learning rate?", stats->loss,
                        (unsigned long long)t->steps);
    if (!grad)
        return SAE_OK;
    if (ws->sparse_path)
        backward_sparse(t, xin, rows, &terms, &g);
    else
        backward_dense(t, xin, hd, rows, &terms, &g);
    if (ws->aux_k > 0)
        sae_auxk_backward(t, xin, rows, g.enc_w, g.enc_b, m->tied ? g.enc_w : g.dec_w);
    /* With the encoder reading x - b_pre, b_pre = decoder.bias also moves
     * every pre-activation by -We b_pre: its gradient gains -We^T (sum over
     * rows of dL/dz), and that sum is the encoder bias's gradient. */
    if (m->pre_bias)
        sae_gemm(0, 0, 1, d, h, -1.0f, g.enc_b, h, m->enc_w, d, 1.0f, g.dec_b, d);
    return SAE_OK;
}
