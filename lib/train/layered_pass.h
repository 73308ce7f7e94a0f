/* Forward and backward of a layered model (arch.layers) over a batch: the
 * layers' outputs kept for the backward pass, the regularizers on the
 * penalised layers, the loss on the last layer's logits.
 * SPDX-License-Identifier: MIT */
#ifndef SAE_TRAIN_LAYERED_PASS_H
#define SAE_TRAIN_LAYERED_PASS_H

#include "model/network.h"
#include "sae.h"

typedef struct sae_model sae_model_t;
typedef struct sae_trainer sae_trainer_t;

typedef struct sae_net_ws {
    sae_net_buffers_t buf;     /* every layer's output for the batch */
    float *d0, *d1;            /* gradient ping-pong, [batch x max_size] */
    double *row_sum, *col_sum; /* statistics of a penalised layer */
    float *row_coef, *col_coef;
    sae_reduce_scratch_t scr;  /* threads x max_size */
} sae_net_ws_t;

/* The pass itself is sae_pass_layered (train/pass.h). */

#endif
