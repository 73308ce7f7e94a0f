/* The training pass of each model kind, and the one door to it.
 * SPDX-License-Identifier: MIT */
#include "train/pass.h"

#include "train/trainer.h"

static const sae_pass_t *const passes[] = {&sae_pass_dense, &sae_pass_layered};

const sae_pass_t *sae_pass_for(const sae_model_t *m)
{
    for (size_t i = 0; i < sizeof passes / sizeof passes[0]; i++)
        if (passes[i]->kind == m->kind)
            return passes[i];
    return &sae_pass_dense;
}

sae_status_t sae_forward_backward(sae_trainer_t *t, const float *x, size_t rows, int corrupt,
                                  int grad, sae_stats_t *stats)
{
    return t->ws.pass->forward_backward(t, x, rows, corrupt, grad, stats);
}
