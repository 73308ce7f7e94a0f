/* A training method: how a trainer turns batches into weight updates.
 * Backprop (SGD / Adam), full-batch L-BFGS, neural sparse coding and the
 * rank-ordered autoencoder each fill one table; the trainer calls through
 * t->method and never asks which one it holds. SPDX-License-Identifier: MIT */
#ifndef SAE_TRAIN_METHOD_H
#define SAE_TRAIN_METHOD_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/state.h"
#include "sae.h"

typedef struct sae_method {
    const char *name;        /* "backprop", "lbfgs", "nsc", "rank_order" */
    const char *selected_by; /* the setting that chose it, for messages */
    /* Per-trainer state into t->method_state (NULL: none). */
    sae_status_t (*setup)(sae_trainer_t *t, char *errbuf);
    void (*release)(sae_trainer_t *t);
    /* A whole fit of `steps` steps when the method owns the loop; NULL:
     * the trainer's batch loop calls step. */
    sae_status_t (*fit)(sae_trainer_t *t, const float *x, size_t rows, uint64_t steps);
    /* One update on a batch of rows <= batch size; NULL: the method trains
     * on the whole data set only (sae_trainer_step refuses). */
    sae_status_t (*step)(sae_trainer_t *t, const float *batch, size_t rows, sae_stats_t *stats);
    /* Statistics of one chunk of rows <= batch size, weights unchanged. */
    sae_status_t (*evaluate)(sae_trainer_t *t, const float *x, size_t rows, sae_stats_t *stats);
    /* After each full epoch of the batch loop, with its mean statistics
     * (NULL: nothing to do). */
    void (*epoch_end)(sae_trainer_t *t, const sae_stats_t *epoch);
    /* The learning rate the next step uses. */
    double (*rate)(const sae_trainer_t *t);
    /* 0: the method descends no objective, so gradient checks are refused. */
    int has_objective;
    /* Its state a checkpoint holds (optimizer moments, rate memory), added
     * to l as entries "trainer.<method>...." (NULL: none; core/state.h). */
    sae_status_t (*state)(sae_trainer_t *t, sae_state_list_t *l);
} sae_method_t;

extern const sae_method_t sae_method_backprop;   /* train/backprop.c */
extern const sae_method_t sae_method_lbfgs;      /* train/lbfgs.c */
extern const sae_method_t sae_method_nsc;        /* train/nsc.c */
extern const sae_method_t sae_method_rank_order; /* train/rank_order.c */

/* The method cfg selects (train.algorithm, then optim.type). */
const sae_method_t *sae_method_for(const sae_config_t *cfg);

/* SAE_ERR_STATE for a gradient asked of a method without an objective. */
sae_status_t sae_method_no_gradient(sae_trainer_t *t);

/* Coupled L2 weight decay (decay.l2 on the tensors decay.encoder and
 * decay.decoder name), which backprop's update fuses and which L-BFGS and
 * the gradient checks add to the objective: the penalty lambda/2 sum W^2,
 * and lambda W added into grad (the model's layout). */
double sae_backprop_l2_penalty(const sae_trainer_t *t);
void sae_backprop_l2_grad(const sae_trainer_t *t, float *grad);

#endif
