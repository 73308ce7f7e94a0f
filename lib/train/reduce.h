/* Data-parallel training through a reducer (sae_reducer_ops_t): the
 * trainer's side of the contract, called by the batch loops and the
 * backprop step (train/reduce.c; docs/distributed.md).
 * SPDX-License-Identifier: MIT */
#ifndef SAE_TRAIN_REDUCE_H
#define SAE_TRAIN_REDUCE_H

#include "optim/optimizer.h"
#include "train/reducer.h"

/* Before a step's pass: rank 0's weights (with its bias initialisation and
 * input scale) once after the reducer was set. */
sae_status_t sae_reduce_begin_step(sae_trainer_t *t);

/* After a step's pass (local status pass_st: SAE_OK or SAE_ERR_DIVERGED;
 * rows may be 0): sums the statistics, activity counts and divergence
 * flags, then the gradient weighted by rows over the global rows. stats
 * and ws.col_active become the global batch's. Returns SAE_ERR_DIVERGED
 * on every rank when any rank's loss was non-finite. */
sae_status_t sae_reduce_step(sae_trainer_t *t, size_t rows, sae_status_t pass_st,
                             sae_stats_t *stats);

/* After a dead-unit resampling: rank 0's weights, moments and recipe
 * state. */
sae_status_t sae_reduce_after_resample(sae_trainer_t *t, sae_optim_t *opt);

#endif
