/* The one-hidden-layer pass's workspace buffers: the ws_init and
 * ws_release of sae_pass_dense. SPDX-License-Identifier: MIT */
#ifndef SAE_TRAIN_DENSE_WS_H
#define SAE_TRAIN_DENSE_WS_H

#include "train/trainer.h"

sae_status_t sae_dense_ws_init(sae_workspace_t *ws, const sae_model_t *m, size_t batch,
                               int threads);
void sae_dense_ws_release(sae_workspace_t *ws);

#endif
