/* AuxK: dead units reconstruct the residual (auxk.h for the formula).
 * SPDX-License-Identifier: MIT */
#include "train/auxk.h"

#include <string.h>

#include "core/select.h"
#include "layers/sparse_dense.h"
#include "model/dense.h"

void sae_auxk_select(sae_trainer_t *t, const float *h, size_t rows)
{
    sae_workspace_t *ws = &t->ws;
    size_t units = t->model->code_dim;
    uint64_t dead_after = (uint64_t)sae_cfg_int(t->model->cfg, SAE_P_AUXK_DEAD_AFTER);
    size_t n_dead = 0;
    for (size_t j = 0; j < units; j++)
        if (ws->idle[j] >= dead_after)
            ws->dense.aux.dead[n_dead++] = (uint32_t)j;
    ws->dense.aux.n_dead = n_dead;
    size_t k = ws->dense.aux.k < n_dead ? ws->dense.aux.k : n_dead;
    sae_sparse_code_t *sc = &ws->dense.aux.code;
    sc->row_ptr[0] = 0;
    for (size_t b = 0; b < rows; b++) {
        const float *row = h + b * units;
        uint32_t at = sc->row_ptr[b];
        sc->row_ptr[b + 1] = at + (uint32_t)k;
        if (k == 0)
            continue;
        for (size_t i = 0; i < n_dead; i++)
            ws->dense.aux.cand[i] = row[ws->dense.aux.dead[i]];
        sae_topk_select(ws->dense.aux.cand, n_dead, k, ws->dense.aux.sel);
        for (size_t s = 0; s < k; s++) {
            uint32_t j = ws->dense.aux.dead[ws->dense.aux.sel[s]];
            sc->idx[at + s] = j;
            sc->val[at + s] = row[j];
        }
    }
}

void sae_auxk_residual(sae_trainer_t *t, const float *x, const float *out, size_t rows)
{
    sae_workspace_t *ws = &t->ws;
    if (ws->dense.aux.frozen)
        return;
    const sae_model_t *m = t->model;
    sae_dense_t *dn = sae_dense(m);
    size_t d = m->input_dim;
    double norm = 0.0;
    for (size_t b = 0; b < rows; b++) {
        float *e = ws->dense.aux.res + b * d;
        const float *xb = x + b * d, *ob = out + b * d;
        float s = 0.0f;
        for (size_t i = 0; i < d; i++) {
            e[i] = xb[i] - (ob[i] + (dn->dec_b ? dn->dec_b[i] : 0.0f));
            s += e[i] * e[i];
        }
        norm += (double)s;
    }
    ws->dense.aux.norm = norm;
}

double sae_auxk_forward(sae_trainer_t *t, size_t rows)
{
    sae_workspace_t *ws = &t->ws;
    const sae_model_t *m = t->model;
    size_t d = m->input_dim;
    if (ws->dense.aux.n_dead == 0 || !(ws->dense.aux.norm > 0.0))
        return 0.0;
    double alpha = sae_cfg_float(m->cfg, SAE_P_AUXK_ALPHA);
    sae_sparse_decode(&ws->dense.aux.code, rows, sae_model_decoder_rows(m), d, ws->dense.aux.grad);
    double sum = 0.0;
    float c = (float)(2.0 * alpha / ws->dense.aux.norm);
    for (size_t b = 0; b < rows; b++) {
        float *g = ws->dense.aux.grad + b * d;
        const float *e = ws->dense.aux.res + b * d;
        float s = 0.0f;
        for (size_t i = 0; i < d; i++) {
            float r = g[i] - e[i];
            s += r * r;
            g[i] = c * r;
        }
        sum += (double)s;
    }
    return alpha * sum / ws->dense.aux.norm;
}

void sae_auxk_backward(sae_trainer_t *t, const float *xin, size_t rows, float *g_enc_w,
                       float *g_enc_b, float *g_dec)
{
    sae_workspace_t *ws = &t->ws;
    const sae_model_t *m = t->model;
    size_t d = m->input_dim;
    if (ws->dense.aux.n_dead == 0 || !(ws->dense.aux.norm > 0.0))
        return;
    const sae_sparse_code_t *sc = &ws->dense.aux.code;
    /* Decoder rows: dWd[j] += h_bj G_b; then the code's gradient G_b . Wd[j]
     * (read before the decoder gradient is applied: it is a separate
     * buffer). */
    sae_sparse_code_grad(sc, rows, ws->dense.aux.grad, sae_model_decoder_rows(m), d, ws->dense.aux.dval);
    sae_sparse_scatter(sc, rows, sc->val, ws->dense.aux.grad, d, g_dec);
    uint32_t n = sc->row_ptr[rows];
    for (uint32_t s = 0; s < n; s++) {
        float g = ws->dense.aux.dval[s] * sae_act_deriv_from_output(m->hidden_act, sc->val[s]);
        ws->dense.aux.dval[s] = g;
        if (g_enc_b)
            g_enc_b[sc->idx[s]] += g;
    }
    sae_sparse_scatter(sc, rows, ws->dense.aux.dval, xin, d, g_enc_w);
}
