/* The trainer's workspace: allocated once, never inside the training loop.
 * SPDX-License-Identifier: MIT */
#include <string.h>

#include "train/pass.h"
#include "train/trainer.h"
#include "model/dense.h"

static int grab(void **p, size_t bytes)
{
    *p = sae_aligned_alloc(bytes);
    if (*p)
        memset(*p, 0, bytes);
    return *p != NULL;
}

/* Buffers of the AuxK term (auxk.k > 0). */
static int init_auxk(sae_workspace_t *ws, const sae_model_t *m, size_t batch)
{
    size_t k = (size_t)sae_cfg_int(m->cfg, SAE_P_AUXK_K), h = m->code_dim, d = m->input_dim;
    if (k == 0)
        return 1;
    ws->aux_k = k < h ? k : h;
    k = ws->aux_k;
    return grab((void **)&ws->aux_dead, h * sizeof(uint32_t)) &&
           grab((void **)&ws->aux_cand, h * sizeof(float)) &&
           grab((void **)&ws->aux_sel, h * sizeof(uint32_t)) &&
           grab((void **)&ws->aux.row_ptr, (batch + 1) * sizeof(uint32_t)) &&
           grab((void **)&ws->aux.idx, batch * k * sizeof(uint32_t)) &&
           grab((void **)&ws->aux.val, batch * k * sizeof(float)) &&
           grab((void **)&ws->aux_dval, batch * k * sizeof(float)) &&
           grab((void **)&ws->aux_res, batch * d * sizeof(float)) &&
           grab((void **)&ws->aux_grad, batch * d * sizeof(float));
}

sae_status_t sae_workspace_init(sae_workspace_t *ws, const sae_model_t *m, size_t batch,
                                int threads, char *errbuf)
{
    memset(ws, 0, sizeof *ws);
    size_t d = m->input_dim, h = m->code_dim, wide = d > h ? d : h;
    size_t bd = batch * d * sizeof(float), bh = batch * h * sizeof(float);
    ws->batch = batch;
    int ok = grab((void **)&ws->xin, bd) && grab((void **)&ws->gather, bd) &&
             grab((void **)&ws->h, bh) && grab((void **)&ws->out, bd) &&
             grab((void **)&ws->dh, bh) &&
             grab((void **)&ws->grad, m->n_weights * sizeof(float)) &&
             grab((void **)&ws->row_sum, batch * sizeof(double)) &&
             grab((void **)&ws->col_sum, h * sizeof(double)) &&
             grab((void **)&ws->col_active, h * sizeof(double)) &&
             grab((void **)&ws->fired, h * sizeof(uint64_t)) &&
             grab((void **)&ws->idle, h * sizeof(uint64_t)) &&
             grab((void **)&ws->row_coef, batch * sizeof(float)) &&
             grab((void **)&ws->col_coef, h * sizeof(float)) &&
             grab((void **)&ws->scr.buf, (size_t)threads * wide * sizeof(double));
    if (ok && sae_cfg_float(m->cfg, SAE_P_HIDDEN_KEEP) < 1.0)
        ok = grab((void **)&ws->hd, bh) && grab((void **)&ws->drop_scale, bh);
    if (ok && m->cfg->n_user_regs > 0)
        ok = grab((void **)&ws->extra, bh);
    if (ok)
        ok = init_auxk(ws, m, batch);
    if (ok && sae_cfg_int(m->cfg, SAE_P_BIAS_INIT) != SAE_BIAS_INIT_ZERO && sae_dense(m)->dec_b)
        ok = grab((void **)&ws->bias_est, d * sizeof(double)) &&
             grab((void **)&ws->bias_work, d * sizeof(double));
    ws->model = m;
    ws->pass = sae_pass_for(m);
    if (ok)
        ok = ws->pass->ws_init(ws, m, batch, threads) == SAE_OK;
    ws->scr.threads = threads;
    if (!ok) {
        sae_workspace_release(ws);
        return sae_fail(errbuf, SAE_ERR_NOMEM,
                        "trainer: cannot allocate the workspace for batch size %zu", batch);
    }
    return SAE_OK;
}

void sae_workspace_release(sae_workspace_t *ws)
{
    void *bufs[] = {ws->xin,     ws->gather,   ws->h,        ws->hd,
                    ws->drop_scale, ws->out,   ws->dh,       ws->extra,
                    ws->grad,    ws->row_sum,  ws->col_sum,  ws->col_active, ws->fired, ws->idle, ws->row_coef,
                    ws->col_coef, ws->scr.buf,
                    ws->aux_dead, ws->aux_cand, ws->aux_sel, ws->aux.row_ptr, ws->aux.idx,
                    ws->aux.val, ws->aux_dval, ws->aux_res, ws->aux_grad, ws->bias_est,
                    ws->bias_work};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        sae_aligned_free(bufs[i]);
    if (ws->pass)
        ws->pass->ws_release(ws);
    memset(ws, 0, sizeof *ws);
}
