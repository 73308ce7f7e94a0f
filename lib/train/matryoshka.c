/* The Matryoshka SAE's prefix reconstructions (matryoshka.h for the
 * formulas). SPDX-License-Identifier: MIT */
#include "train/matryoshka.h"

#include <stdlib.h>
#include <string.h>

#include "core/gemm.h"
#include "loss/loss.h"
#include "model/dense.h"

int sae_matryoshka_ws_init(sae_dense_ws_t *ws, const sae_model_t *m, size_t batch)
{
    const sae_config_t *cfg = m->cfg;
    if (cfg->n_prefixes == 0)
        return 1;
    sae_matryoshka_ws_t *mt = calloc(1, sizeof *mt);
    if (!mt)
        return 0;
    ws->mat = mt;
    mt->n = cfg->n_prefixes;
    for (unsigned i = 0; i < mt->n; i++)
        mt->ends[i] = cfg->prefixes[i];
    mt->weight = sae_cfg_int(cfg, SAE_P_MATRYOSHKA_WEIGHTING) == 1 ? 1.0f / (float)mt->n : 1.0f;
    mt->stride = batch * m->input_dim;
    mt->seg = sae_aligned_alloc(m->code_dim);
    mt->g = sae_aligned_alloc(mt->n * mt->stride * sizeof(float));
    mt->db = sae_aligned_alloc(m->input_dim * sizeof(float));
    if (!mt->seg || !mt->g || !mt->db)
        return 0;
    for (size_t j = 0, s = 0; j < m->code_dim; j++) {
        while (j >= mt->ends[s])
            s++;
        mt->seg[j] = (uint8_t)s;
    }
    return 1;
}

void sae_matryoshka_ws_release(sae_dense_ws_t *ws)
{
    sae_matryoshka_ws_t *mt = ws->mat;
    if (!mt)
        return;
    sae_aligned_free(mt->seg);
    sae_aligned_free(mt->g);
    sae_aligned_free(mt->db);
    free(mt);
    ws->mat = NULL;
}

static size_t seg_start(const sae_matryoshka_ws_t *mt, unsigned s)
{
    return s ? mt->ends[s - 1] : 0;
}

/* Each segment's own decode into g_s. */
static void decode_segments(sae_trainer_t *t, const float *hd, const sae_sparse_code_t *sc,
                            size_t rows)
{
    const sae_model_t *m = t->model;
    sae_matryoshka_ws_t *mt = t->ws.dense.mat;
    size_t d = m->input_dim, h = m->code_dim;
    const float *w = sae_model_decoder_rows(m);
    if (!sc) {
        for (unsigned s = 0; s < mt->n; s++) {
            size_t a = seg_start(mt, s);
            sae_gemm(0, 0, rows, d, mt->ends[s] - a, 1.0f, hd + a, h, w + a * d, d, 0.0f,
                     mt->g + s * mt->stride, d);
        }
        return;
    }
    for (unsigned s = 0; s < mt->n; s++)
        memset(mt->g + s * mt->stride, 0, rows * d * sizeof(float));
    for (size_t b = 0; b < rows; b++)
        for (uint32_t e = sc->row_ptr[b]; e < sc->row_ptr[b + 1]; e++) {
            uint32_t j = sc->idx[e];
            float v = sc->val[e], *out = mt->g + mt->seg[j] * mt->stride + b * d;
            const float *wr = w + (size_t)j * d;
            for (size_t i = 0; i < d; i++)
                out[i] += v * wr[i];
        }
}

static void add_into(float *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] += src[i];
}

double sae_matryoshka_forward(sae_trainer_t *t, const float *x, const float *hd,
                              const sae_sparse_code_t *sc, size_t rows, int grad,
                              float *g_dec_b)
{
    const sae_model_t *m = t->model;
    const sae_config_t *cfg = m->cfg;
    sae_workspace_t *ws = &t->ws;
    sae_matryoshka_ws_t *mt = ws->dense.mat;
    size_t d = m->input_dim, bd = rows * d;
    decode_segments(t, hd, sc, rows);
    /* Prefix sums: g_s becomes the output of the first ends[s] units. */
    for (unsigned s = 1; s < mt->n; s++)
        add_into(mt->g + s * mt->stride, mt->g + (s - 1) * mt->stride, bd);
    memcpy(ws->dense.out, mt->g + (mt->n - 1) * mt->stride, bd * sizeof(float));
    if (grad && g_dec_b)
        memset(g_dec_b, 0, d * sizeof *g_dec_b);
    sae_loss_t loss = (sae_loss_t)sae_cfg_int(cfg, SAE_P_LOSS);
    sae_loss_reduction_t red = (sae_loss_reduction_t)sae_cfg_int(cfg, SAE_P_LOSS_REDUCTION);
    double recon = 0.0;
    for (unsigned s = 0; s < mt->n; s++) {
        float *g = mt->g + s * mt->stride;
        double l = sae_loss_apply_reduced(loss, m->output_act, g, x, rows, d, sae_dense(m)->dec_b,
                                          grad, g_dec_b ? mt->db : NULL, &ws->scr, red);
        recon += (double)mt->weight * l;
        if (!grad)
            continue;
        if (mt->weight != 1.0f)
            for (size_t i = 0; i < bd; i++)
                g[i] *= mt->weight;
        if (g_dec_b)
            for (size_t i = 0; i < d; i++)
                g_dec_b[i] += mt->weight * mt->db[i];
    }
    /* Suffix sums: g_s becomes G_s, what the units of segment s see. */
    if (grad)
        for (unsigned s = mt->n - 1; s > 0; s--)
            add_into(mt->g + (s - 1) * mt->stride, mt->g + s * mt->stride, bd);
    return recon;
}

void sae_matryoshka_grad_dense(sae_trainer_t *t, const float *hd, size_t rows, float *g_dec,
                               float *dh)
{
    const sae_model_t *m = t->model;
    sae_matryoshka_ws_t *mt = t->ws.dense.mat;
    size_t d = m->input_dim, h = m->code_dim;
    const float *w = sae_model_decoder_rows(m);
    for (unsigned s = 0; s < mt->n; s++) {
        size_t a = seg_start(mt, s), len = mt->ends[s] - a;
        const float *gs = mt->g + s * mt->stride;
        sae_gemm(1, 0, len, d, rows, 1.0f, hd + a, h, gs, d, 0.0f, g_dec + a * d, d);
        sae_gemm(0, 1, rows, len, d, 1.0f, gs, d, w + a * d, d, 0.0f, dh + a, h);
    }
}

void sae_matryoshka_grad_sparse(sae_trainer_t *t, const sae_sparse_code_t *sc, size_t rows,
                                float *g_dec, float *dval)
{
    const sae_model_t *m = t->model;
    sae_matryoshka_ws_t *mt = t->ws.dense.mat;
    size_t d = m->input_dim;
    const float *w = sae_model_decoder_rows(m);
    for (size_t b = 0; b < rows; b++)
        for (uint32_t e = sc->row_ptr[b]; e < sc->row_ptr[b + 1]; e++) {
            uint32_t j = sc->idx[e];
            const float *gs = mt->g + mt->seg[j] * mt->stride + b * d;
            const float *wr = w + (size_t)j * d;
            float *gw = g_dec + (size_t)j * d, v = sc->val[e], dot = 0.0f;
            for (size_t i = 0; i < d; i++) {
                dot += gs[i] * wr[i];
                gw[i] += v * gs[i];
            }
            dval[e] = dot;
        }
}
