/* A model kind's training pass: the forward and backward of the
 * objective over a batch, and the workspace buffers only that kind needs.
 * One table per kind of model/kind.h, found by sae_pass_for; the
 * one-hidden-layer pass is train/dense_pass.c, the layered one train/layered_pass.c.
 * SPDX-License-Identifier: MIT */
#ifndef SAE_TRAIN_PASS_H
#define SAE_TRAIN_PASS_H

#include <stddef.h>

#include "model/kind.h"
#include "sae.h"

typedef struct sae_workspace sae_workspace_t;

typedef struct sae_pass {
    const sae_model_kind_t *kind;
    /* The kind's own buffers of a workspace for `batch` rows; release
     * frees them (and tolerates a half-made workspace). */
    sae_status_t (*ws_init)(sae_workspace_t *ws, const sae_model_t *m, size_t batch,
                            int threads);
    void (*ws_release)(sae_workspace_t *ws);
    /* Forward (and backward when grad) of the objective on rows of x;
     * corrupt: apply training corruption. Fills stats; when grad,
     * ws->grad receives the gradient of everything but weight decay. */
    sae_status_t (*forward_backward)(sae_trainer_t *t, const float *x, size_t rows, int corrupt,
                                     int grad, sae_stats_t *stats);
} sae_pass_t;

extern const sae_pass_t sae_pass_dense;   /* train/dense_pass.c */
extern const sae_pass_t sae_pass_layered; /* train/layered_pass.c */

/* The pass of m's kind. */
const sae_pass_t *sae_pass_for(const sae_model_t *m);

#endif
