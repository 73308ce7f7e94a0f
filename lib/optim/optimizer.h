/* Optimizers on a plain float array: SGD with momentum and Adam, each one
 * fused pass per segment that also applies coupled L2 weight decay (to the
 * segments that ask for it) and measures sum W^2. A leaf: it knows nothing
 * of models, configs or trainers. SPDX-License-Identifier: MIT */
#ifndef SAE_OPTIM_OPTIMIZER_H
#define SAE_OPTIM_OPTIMIZER_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* A run of the array (one tensor) and whether weight decay applies to it. */
typedef struct sae_segment {
    size_t offset, length;
    int decay;
    float lr_scale; /* the segment's rate is lr * lr_scale */
} sae_segment_t;

/* The hyperparameters of one update. Kept in double: Adam's bias
 * corrections are computed from them in double, then rounded to float. */
typedef struct sae_optim_hparams {
    int adam;        /* 1: Adam, 0: SGD with momentum */
    double lr;
    double momentum; /* SGD */
    double beta1, beta2, eps; /* Adam */
    double lambda;   /* L2 weight decay of the decayed segments */
} sae_optim_hparams_t;

typedef struct sae_optim {
    float *m;   /* momentum / Adam first moment, n floats */
    float *v;   /* Adam second moment, n floats (NULL for SGD) */
    uint64_t t; /* updates applied */
} sae_optim_t;

/* Zeroed moments for an array of n floats. */
sae_status_t sae_optim_init(sae_optim_t *o, int adam, size_t n, char *errbuf);
void sae_optim_release(sae_optim_t *o);

/* One update of w with g (same layout) over the segments, each split over
 * up to `threads` threads. Returns lambda/2 sum W^2 over the decayed
 * segments, of the weights before the update. */
double sae_optim_update(sae_optim_t *o, const sae_optim_hparams_t *hp, float *w, const float *g,
                        const sae_segment_t *seg, size_t n_seg, int threads);

/* lambda/2 sum W^2 over the decayed segments (no update). */
double sae_optim_l2_penalty(const float *w, const sae_segment_t *seg, size_t n_seg,
                            double lambda);

/* Adds lambda W of the decayed segments into g (for gradient checks and
 * full-batch methods). */
void sae_optim_l2_grad(float *g, const float *w, const sae_segment_t *seg, size_t n_seg,
                       float lambda);

#endif
