/* The one-hidden-layer pass's own buffers (sae_dense_ws_t): the code and
 * its gradient, the output, dropout, the user regularizers' gradient, the
 * built-ins' coefficients, the code operator's training state and the
 * sparse path, AuxK's buffers and the decoder-bias estimate.
 * SPDX-License-Identifier: MIT */
#include "train/dense_ws.h"

#include <string.h>

#include "core/alloc.h"
#include "model/dense.h"
#include "sparsity/terms.h"
#include "train/matryoshka.h"


/* Buffers of the AuxK term (auxk.k > 0). */
static int init_auxk(sae_auxk_ws_t *ax, const sae_model_t *m, size_t batch)
{
    size_t k = (size_t)sae_cfg_int(m->cfg, SAE_P_AUXK_K), h = m->code_dim, d = m->input_dim;
    if (k == 0)
        return 1;
    ax->k = k = k < h ? k : h;
    return sae_aligned_grab((void **)&ax->dead, h * sizeof(uint32_t)) &&
           sae_aligned_grab((void **)&ax->cand, h * sizeof(float)) &&
           sae_aligned_grab((void **)&ax->sel, h * sizeof(uint32_t)) &&
           sae_aligned_grab((void **)&ax->code.row_ptr, (batch + 1) * sizeof(uint32_t)) &&
           sae_aligned_grab((void **)&ax->code.idx, batch * k * sizeof(uint32_t)) &&
           sae_aligned_grab((void **)&ax->code.val, batch * k * sizeof(float)) &&
           sae_aligned_grab((void **)&ax->dval, batch * k * sizeof(float)) &&
           sae_aligned_grab((void **)&ax->res, batch * d * sizeof(float)) &&
           sae_aligned_grab((void **)&ax->grad, batch * d * sizeof(float));
}

/* The sparse path is taken when asked for, or when it pays (auto: at
 * most a quarter of the units active). */
static int init_code(sae_dense_ws_t *dw, const sae_model_t *m, size_t batch, float *ws_grad)
{
    const sae_code_op_t *op = sae_dense(m)->code_op;
    size_t k = op->max_active(m->cfg), h = m->code_dim;
    dw->max_active = k;
    if (k > 0) {
        int64_t path = sae_cfg_int(m->cfg, SAE_P_TOPK_SPARSE_PATH);
        dw->sparse_path = path == 1 || (path == 0 && 4 * k <= h);
        if (!sae_aligned_grab((void **)&dw->dval, batch * k * sizeof(float)))
            return 0;
    }
    if (op->create(m->cfg, h, batch, &dw->code_state) != SAE_OK)
        return 0;
    if (op->bind) {
        sae_code_params_t p;
        sae_dense_code_params(m, &p);
        for (size_t i = 0; i < op->n_tensors; i++)
            p.grad[i] = ws_grad + (p.value[i] - m->weights);
        op->bind(dw->code_state, &p);
    }
    return 1;
}

sae_status_t sae_dense_ws_init(sae_workspace_t *ws, const sae_model_t *m, size_t batch,
                               int threads)
{
    (void)threads;
    sae_dense_ws_t *dw = &ws->dense;
    size_t d = m->input_dim, h = m->code_dim;
    size_t bd = batch * d * sizeof(float), bh = batch * h * sizeof(float);
    int ok = sae_aligned_grab((void **)&dw->h, bh) && sae_aligned_grab((void **)&dw->out, bd) &&
             sae_aligned_grab((void **)&dw->dh, bh) && sae_aligned_grab((void **)&dw->row_coef, batch * sizeof(float)) &&
             sae_aligned_grab((void **)&dw->col_coef, h * sizeof(float));
    if (ok && sae_cfg_float(m->cfg, SAE_P_HIDDEN_KEEP) < 1.0)
        ok = sae_aligned_grab((void **)&dw->hd, bh) && sae_aligned_grab((void **)&dw->drop_scale, bh);
    if (ok && (sae_terms_code_coefs(m->cfg) & SAE_COEF_DENSE))
        ok = sae_aligned_grab((void **)&dw->extra, bh);
    if (ok && sae_cfg_int(m->cfg, SAE_P_NORMALIZE_INPUT))
        ok = sae_aligned_grab((void **)&dw->xs, bd);
    if (ok && sae_terms_read_atoms(m->cfg))
        ok = sae_aligned_grab((void **)&dw->atom_norm, h * sizeof(float));
    ok = ok && init_auxk(&dw->aux, m, batch) && init_code(dw, m, batch, ws->grad) &&
         sae_matryoshka_ws_init(dw, m, batch);
    if (ok && sae_cfg_int(m->cfg, SAE_P_BIAS_INIT) != SAE_BIAS_INIT_ZERO && sae_dense(m)->dec_b)
        ok = sae_aligned_grab((void **)&dw->bias_est, d * sizeof(double)) &&
             sae_aligned_grab((void **)&dw->bias_work, d * sizeof(double));
    return ok ? SAE_OK : SAE_ERR_NOMEM;
}

void sae_dense_ws_release(sae_workspace_t *ws)
{
    sae_dense_ws_t *dw = &ws->dense;
    const sae_auxk_ws_t *ax = &dw->aux;
    void *bufs[] = {dw->h,        dw->hd,        dw->drop_scale,    dw->out,
                    dw->dh,       dw->extra,     dw->row_coef,      dw->col_coef,
                    dw->dval,     ax->dead,      ax->cand,          ax->sel,
                    ax->code.row_ptr, ax->code.idx, ax->code.val,   ax->dval,
                    ax->res,      ax->grad,      dw->bias_est,      dw->bias_work,
                    dw->atom_norm, dw->xs};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        sae_aligned_free(bufs[i]);
    sae_matryoshka_ws_release(dw);
    if (ws->model)
        sae_dense(ws->model)->code_op->destroy(dw->code_state);
}
