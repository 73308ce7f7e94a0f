/* Optimizers over the model's contiguous parameter block: SGD with
 * momentum and Adam, each one fused pass that also applies L2 weight decay
 * and measures its penalty. SPDX-License-Identifier: MIT */
#ifndef SAE_OPTIM_OPTIMIZER_H
#define SAE_OPTIM_OPTIMIZER_H

#include <stdint.h>

#include "model/model.h"

typedef struct sae_optimizer_state {
    sae_optimizer_t kind;
    float *m;       /* momentum / Adam first moment, n_params */
    float *v;       /* Adam second moment, n_params (NULL for SGD) */
    uint64_t t;     /* updates applied */
    int decay[SAE_MAX_TENSORS]; /* weight decay applies to this tensor */
} sae_optimizer_state_t;

sae_status_t sae_optimizer_init(sae_optimizer_state_t *o, const sae_model_t *m, char *errbuf);
void sae_optimizer_release(sae_optimizer_state_t *o);

/* Learning rate of step t (0-based) under the config's step decay. */
double sae_schedule_lr(const sae_config_t *cfg, uint64_t t);

/* L2 penalty lambda/2 sum W^2 over the decayed tensors (no update). */
double sae_weight_decay_penalty(const sae_optimizer_state_t *o, const sae_model_t *m);

/* Adds lambda * W of the decayed tensors into grad (for gradient checks). */
void sae_weight_decay_grad(const sae_optimizer_state_t *o, const sae_model_t *m, float *grad);

/* One update of m->params with grad (same layout), learning rate lr.
 * Returns the L2 penalty of the weights before the update. */
double sae_optimizer_update(sae_optimizer_state_t *o, sae_model_t *m, const float *grad,
                            double lr, int threads);

#endif
