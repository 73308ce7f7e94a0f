/* One pass of a layered model's objective: forward through every layer,
 * the loss on the last one's logits, then back, each penalised layer's
 * regularizer gradient joining at its output. SPDX-License-Identifier: MIT */
#include "train/layered_pass.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/gemm.h"
#include "loss/loss.h"
#include "sparsity/terms.h"
#include "train/pass.h"
#include "train/trainer.h"
#include "model/network.h"


static void net_ws_free(sae_net_ws_t *nw)
{
    if (!nw)
        return;
    for (size_t i = 0; i < SAE_MAX_LAYERS; i++) {
        sae_aligned_free(nw->buf.out[i]);
        sae_aligned_free(nw->buf.argmax[i]);
    }
    void *bufs[] = {nw->buf.scratch, nw->d0,       nw->d1,       nw->row_sum,
                    nw->col_sum,     nw->row_coef, nw->col_coef, nw->scr.buf};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        sae_aligned_free(bufs[i]);
    free(nw);
}

static sae_status_t net_ws_init(sae_net_ws_t **out, const sae_model_t *m, size_t batch,
                               int threads)
{
    const sae_net_t *net = sae_net(m);
    sae_net_ws_t *nw = calloc(1, sizeof *nw);
    *out = NULL;
    if (!nw)
        return SAE_ERR_NOMEM;
    size_t big = net->max_size;
    int ok = 1;
    for (size_t i = 0; ok && i < net->n; i++) {
        size_t n = batch * net->layer[i].out_size;
        ok = sae_aligned_grab((void **)&nw->buf.out[i], n * sizeof(float));
        if (ok && net->layer[i].spec.kind == SAE_LAYER_MAXPOOL2D)
            ok = sae_aligned_grab((void **)&nw->buf.argmax[i], n * sizeof(uint32_t));
    }
    ok = ok && sae_aligned_grab((void **)&nw->buf.scratch, sae_net_scratch_floats(net, batch) * sizeof(float)) &&
         sae_aligned_grab((void **)&nw->d0, batch * big * sizeof(float)) &&
         sae_aligned_grab((void **)&nw->d1, batch * big * sizeof(float)) &&
         sae_aligned_grab((void **)&nw->row_sum, batch * sizeof(double)) &&
         sae_aligned_grab((void **)&nw->col_sum, big * sizeof(double)) &&
         sae_aligned_grab((void **)&nw->row_coef, batch * sizeof(float)) &&
         sae_aligned_grab((void **)&nw->col_coef, big * sizeof(float)) &&
         sae_aligned_grab((void **)&nw->scr.buf, (size_t)threads * big * sizeof(double));
    nw->scr.threads = threads;
    if (!ok) {
        net_ws_free(nw);
        return SAE_ERR_NOMEM;
    }
    *out = nw;
    return SAE_OK;
}

/* Does arch.penalize put the regularizers on layer i's output? */
static int penalised(const sae_model_t *m, size_t i)
{
    const sae_net_t *net = sae_net(m);
    switch (sae_cfg_int(m->cfg, SAE_P_PENALIZE)) {
    case 1:
        return i + 1 < net->n;
    case 2:
        return net->layer[i].spec.penalize;
    default:
        return i == net->code;
    }
}

/* Every term at layer i's output a (sparsity/terms.c): penalties summed
 * into sums[], and when d is set (the gradient at a), the terms' gradient
 * added and the activation's derivative applied: d becomes the gradient at
 * the layer's pre-activation. */
static sae_status_t layer_terms(sae_trainer_t *t, size_t i, size_t rows, float *d, double *sums)
{
    sae_model_t *m = t->model;
    sae_net_ws_t *nw = t->ws.net;
    const sae_net_layer_t *l = &sae_net(m)->layer[i];
    const float *a = nw->buf.out[i];
    size_t units = l->out_size;
    sae_code_stats_t cs = {nw->row_sum, nw->col_sum, 0.0, 0.0, NULL, NULL};
    sae_code_stats(l->spec.act, (float *)a, rows, units, &cs, &nw->scr);
    /* The user terms add their gradient straight into d. */
    sae_term_bufs_t bufs = {nw->row_coef, nw->col_coef, d, 1, 0,
                            1.0f - sae_terms_warmup_factor(m->cfg, t->steps)};
    sae_code_grad_terms_t terms = {0};
    sae_status_t st = sae_terms_at_code(m->cfg, &cs, a, rows, units, &bufs, d != NULL, &terms,
                                        sums, t->errmsg);
    if (st == SAE_OK && d)
        sae_act_backward(l->spec.act, a, d, rows, units, &terms, NULL, &nw->scr);
    return st;
}

/* Gradients of layer i's parameters and of its input, from d, the
 * gradient at its pre-activation (or output, for pooling). dx may be NULL
 * (the first layer's input needs none). */
static void layer_backward(const sae_net_t *net, size_t i, const float *x, size_t rows,
                           const float *d, float *dx, float *gw, float *gb, sae_net_buffers_t *buf)
{
    const sae_net_layer_t *l = &net->layer[i];
    switch (l->spec.kind) {
    case SAE_LAYER_CONV2D:
        sae_conv2d_backward(&l->g, rows, x, l->w, d, dx, gw, gb, buf->scratch, net->threads);
        break;
    case SAE_LAYER_CONVT2D:
        sae_conv_transpose2d_backward(&l->g, rows, x, l->w, d, dx, gw, gb, buf->scratch,
                                      net->threads);
        break;
    case SAE_LAYER_MAXPOOL2D:
        if (dx)
            sae_maxpool2d_backward(&l->g, rows, d, buf->argmax[i], dx);
        break;
    case SAE_LAYER_DENSE:
        sae_gemm(1, 0, l->out_size, l->in_size, rows, 1.0f, d, l->out_size, x, l->in_size, 0.0f,
                 gw, l->in_size);
        if (gb) {
            memset(gb, 0, l->out_size * sizeof(float));
            for (size_t r = 0; r < rows; r++)
                for (size_t j = 0; j < l->out_size; j++)
                    gb[j] += d[r * l->out_size + j];
        }
        if (dx)
            sae_gemm(0, 0, rows, l->in_size, l->out_size, 1.0f, d, l->out_size, l->w, l->in_size,
                     0.0f, dx, l->in_size);
        break;
    }
}

static sae_status_t forward_backward(sae_trainer_t *t, const float *x, size_t rows, int corrupt,
                                     int grad, sae_stats_t *stats)
{
    sae_model_t *m = t->model;
    const sae_net_t *net = sae_net(m);
    sae_workspace_t *ws = &t->ws;
    sae_net_ws_t *nw = ws->net;
    size_t last = net->n - 1;
    sae_stats_start(stats, rows);

    const float *xin = corrupt ? sae_corrupt_input(t, x, rows) : x;
    sae_net_forward(net, xin, rows, 0, last, 1, &nw->buf, &nw->scr);

    /* The code's statistics, as the one-hidden-layer model reports them. */
    size_t h = m->code_dim;
    sae_code_stats_t cs = {ws->row_sum, ws->col_sum, 0.0, 0.0, ws->col_active, NULL};
    sae_code_stats(m->hidden_act, nw->buf.out[net->code], rows, h, &cs, &nw->scr);
    sae_stats_code(stats, &cs, rows, h);

    float *d = nw->buf.out[last]; /* the loss leaves its gradient here */
    double recon = sae_loss_apply_reduced(
        (sae_loss_t)sae_cfg_int(m->cfg, SAE_P_LOSS), m->output_act, d, x, rows, m->input_dim,
        NULL, grad, NULL, &nw->scr, (sae_loss_reduction_t)sae_cfg_int(m->cfg, SAE_P_LOSS_REDUCTION));
    sae_terms_report_one(stats, SAE_TERM_RECON, recon);

    double sums[SAE_TERMS_MAX] = {0};
    sae_status_t st = SAE_OK;
    if (!grad) {
        for (size_t i = 0; st == SAE_OK && i < last; i++)
            if (penalised(m, i))
                st = layer_terms(t, i, rows, NULL, sums);
    } else {
        for (size_t i = last + 1; st == SAE_OK && i-- > 0;) {
            const sae_net_layer_t *l = &net->layer[i];
            if (i < last) {
                if (penalised(m, i))
                    st = layer_terms(t, i, rows, d, sums);
                else if (l->spec.act != SAE_ACT_LINEAR)
                    sae_act_backward(l->spec.act, nw->buf.out[i], d, rows, l->out_size, NULL,
                                     NULL, &nw->scr);
            }
            float *dx = i == 0 ? NULL : (d == nw->d0 ? nw->d1 : nw->d0);
            float *gw = l->w ? ws->grad + (l->w - m->weights) : NULL;
            float *gb = l->b ? ws->grad + (l->b - m->weights) : NULL;
            layer_backward(net, i, i == 0 ? xin : nw->buf.out[i - 1], rows, d, dx, gw, gb,
                           &nw->buf);
            d = dx;
        }
    }
    if (st != SAE_OK)
        return st;
    sae_terms_report_code(m->cfg, sums, stats);
    if (!isfinite(stats->loss))
        return sae_fail(t->errmsg, SAE_ERR_DIVERGED,
                        "the loss became %g at step %llu: lower the learning rate?", stats->loss,
                        (unsigned long long)t->steps);
    return SAE_OK;
}

static sae_status_t ws_init(sae_workspace_t *ws, const sae_model_t *m, size_t batch, int threads)
{
    return net_ws_init(&ws->net, m, batch, threads);
}

static void ws_release(sae_workspace_t *ws)
{
    net_ws_free(ws->net);
}

const sae_pass_t sae_pass_layered = {
    .kind = &sae_kind_layered,
    .ws_init = ws_init,
    .ws_release = ws_release,
    .forward_backward = forward_backward,
};
