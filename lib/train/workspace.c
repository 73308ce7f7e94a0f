/* The trainer's workspace: allocated once, never inside the training loop.
 * What every kind's pass uses is allocated here; each kind's own buffers
 * by its pass's ws_init (train/pass.h). SPDX-License-Identifier: MIT */
#include <string.h>

#include "core/alloc.h"
#include "train/pass.h"
#include "train/precision.h"
#include "train/trainer.h"


sae_status_t sae_workspace_init(sae_workspace_t *ws, const sae_model_t *m, size_t batch,
                                int threads, char *errbuf)
{
    memset(ws, 0, sizeof *ws);
    sae_status_t st = sae_train_engine_create(m, &ws->mm, errbuf);
    if (st != SAE_OK)
        return st;
    size_t d = m->input_dim, h = m->code_dim, wide = d > h ? d : h;
    size_t bd = batch * d * sizeof(float);
    ws->batch = batch;
    ws->model = m;
    ws->pass = sae_pass_for(m);
    ws->scr.threads = threads;
    int ok = sae_aligned_grab((void **)&ws->xin, bd) && sae_aligned_grab((void **)&ws->gather, bd) &&
             sae_aligned_grab((void **)&ws->grad, m->n_weights * sizeof(float)) &&
             sae_aligned_grab((void **)&ws->row_sum, batch * sizeof(double)) &&
             sae_aligned_grab((void **)&ws->col_sum, h * sizeof(double)) &&
             sae_aligned_grab((void **)&ws->col_active, h * sizeof(double)) &&
             sae_aligned_grab((void **)&ws->fired, h * sizeof(uint64_t)) &&
             sae_aligned_grab((void **)&ws->idle, h * sizeof(uint64_t)) &&
             sae_aligned_grab((void **)&ws->scr.buf, (size_t)threads * wide * sizeof(double)) &&
             ws->pass->ws_init(ws, m, batch, threads) == SAE_OK;
    if (!ok) {
        sae_workspace_release(ws);
        return sae_fail(errbuf, SAE_ERR_NOMEM,
                        "trainer: cannot allocate the workspace for batch size %zu", batch);
    }
    return SAE_OK;
}

void sae_workspace_release(sae_workspace_t *ws)
{
    void *bufs[] = {ws->xin,        ws->gather, ws->grad, ws->row_sum, ws->col_sum,
                    ws->col_active, ws->fired,  ws->idle, ws->scr.buf};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        sae_aligned_free(bufs[i]);
    if (ws->pass)
        ws->pass->ws_release(ws);
    sae_mm_free(ws->mm);
    memset(ws, 0, sizeof *ws);
}
