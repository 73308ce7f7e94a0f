/* The rank-ordered autoencoder (Bertens 2016, arXiv 1605.01749) as a
 * training algorithm, chosen by train.algorithm = rank_order
 * (sae_method_rank_order, train/method.h); the formulas are in
 * docs/algorithms/rank-order.md. SPDX-License-Identifier: MIT */
#ifndef SAE_TRAIN_RANK_ORDER_H
#define SAE_TRAIN_RANK_ORDER_H

#include "core/rank.h"
#include "train/trainer.h"

/* TReLU's custom derivative (RankOrderedAutoencoder.py's forward_prop):
 * the part of the error e reaching a unit of pre-activation z that passes
 * to its encoder weights. It passes only where its sign differs from z's,
 * i.e. where it moves z towards 0, and never by more than |z|:
 *   z > 0: min(0, max(e, -z))     z < 0: max(0, min(e, -z))     z = 0: e */
float sae_rank_order_gate(float z, float e);

/* Scales each of n vectors of len floats (rows of v) whose Euclidean norm
 * exceeds max_norm down to norm max_norm; max_norm 0 leaves v as it is. */
void sae_rank_order_clip(float *v, size_t n, size_t len, float max_norm);

/* The epoch bookkeeping of the learning-rate rule, called after each full
 * epoch with its mean training error (the method's epoch_end). */
void sae_rank_order_epoch_end(sae_trainer_t *t, double error);

/* The learning rate the next step will use. */
double sae_rank_order_rate(const sae_trainer_t *t);

#endif
