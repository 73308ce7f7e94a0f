/* The rank-ordered autoencoder (Bertens 2016, arXiv 1605.01749) as a
 * training algorithm, chosen by train.algorithm = rank_order; the formulas
 * are in docs/algorithms/rank-order.md. SPDX-License-Identifier: MIT */
#ifndef SAE_TRAIN_RANK_ORDER_H
#define SAE_TRAIN_RANK_ORDER_H

#include "core/rank.h"
#include "train/trainer.h"

/* Whether m trains with the rank-order rule. */
int sae_rank_order_enabled(const sae_model_t *m);

/* TReLU's custom derivative (E4; RankOrderedAutoencoder.py's forward_prop):
 * the part of the error e reaching a unit of pre-activation z that passes
 * to its encoder weights. It passes only where its sign differs from z's,
 * i.e. where it moves z towards 0, and never by more than |z|:
 *   z > 0: min(0, max(e, -z))     z < 0: max(0, min(e, -z))     z = 0: e */
float sae_rank_order_gate(float z, float e);

/* Scales each of n vectors of len floats (rows of v) whose Euclidean norm
 * exceeds max_norm down to norm max_norm; max_norm 0 leaves v as it is. */
void sae_rank_order_clip(float *v, size_t n, size_t len, float max_norm);

/* Prefix reconstructions, residuals and statistics of a batch x [rows x D]
 * with the weights unchanged (sae_trainer_evaluate). grad != 0 is
 * SAE_ERR_STATE: the rule follows no gradient of an objective. */
sae_status_t sae_rank_order_forward(sae_trainer_t *t, const float *x, size_t rows, int grad,
                                    sae_stats_t *stats);

/* One update on a batch x [rows x D], rows <= batch size. */
sae_status_t sae_rank_order_step(sae_trainer_t *t, const float *x, size_t rows, sae_stats_t *stats);

/* The epoch bookkeeping of the learning-rate rule, called by the trainer
 * after each full epoch with its mean training error. */
void sae_rank_order_epoch_end(sae_trainer_t *t, double error);

/* The learning rate the next step will use. */
double sae_rank_order_rate(const sae_trainer_t *t);

#endif
