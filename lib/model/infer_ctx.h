/* Inference contexts: what one inference call writes (scratch, the centred
 * rows, the code operator's inference state), so that any number of
 * threads can run inference on one model at once and get what serial calls
 * give (as zstd's contexts share one dictionary). The model keeps a pool:
 * a call takes a free context or makes one, and gives it back, so a model
 * used from one thread allocates once, and from N threads at most N times.
 * The public inference calls bracket their work with sae_infer_begin and
 * sae_infer_end; the kind code below them asks for its buffers with
 * sae_model_scratch, sae_infer_center and sae_infer_code_state, which
 * answer from the calling thread's context (or, outside any call, from the
 * model's own buffers, which training uses). SPDX-License-Identifier: MIT */
#ifndef SAE_MODEL_INFER_CTX_H
#define SAE_MODEL_INFER_CTX_H

#include <stddef.h>

#include "sae.h"

typedef struct sae_infer_ctx sae_infer_ctx_t;

/* One public call's hold on a context (on the caller's stack). */
typedef struct sae_infer_call {
    const sae_model_t *prev_model; /* the thread's context before this call */
    sae_infer_ctx_t *prev_ctx;
    sae_infer_ctx_t *ctx;          /* taken by this call; NULL when nested */
} sae_infer_call_t;

/* Gives the calling thread a context of m until sae_infer_end; a call made
 * inside another on the same model keeps the outer one. SAE_ERR_NOMEM
 * (message in m) when a new context cannot be made. */
sae_status_t sae_infer_begin(sae_model_t *m, sae_infer_call_t *call);
void sae_infer_end(sae_model_t *m, sae_infer_call_t *call);

/* sae_infer_center, sae_infer_code_state and sae_infer_pool_free are
 * declared in model/model.h, for the kind code below this file. */

#endif
