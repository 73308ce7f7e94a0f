/* Unit activity over training: firing frequencies and dead units (Gao et
 * al. 2024, "Scaling and evaluating sparse autoencoders", section 2.3: a
 * latent is dead when it has not fired for a given number of tokens).
 * SPDX-License-Identifier: MIT */
#include "train/trainer.h"

sae_status_t sae_trainer_unit_activity(const sae_trainer_t *t, double *frequency, size_t units,
                                       uint64_t dead_after, double *dead_fraction)
{
    if (!t)
        return sae_fail_global(SAE_ERR_NULL, "sae_trainer_unit_activity: trainer is NULL");
    const sae_workspace_t *ws = &t->ws;
    size_t h = t->model->code_dim;
    /* Every trainer call reports through the trainer (the message buffer
     * is the one mutable part of a const handle, as for sae_model_save). */
    if (frequency && units != h)
        return sae_fail(((sae_trainer_t *)t)->errmsg, SAE_ERR_DIMENSION,
                        "sae_trainer_unit_activity: %zu units asked, the code has %zu", units, h);
    size_t dead = 0;
    for (size_t j = 0; j < h; j++) {
        if (frequency)
            frequency[j] = ws->rows_seen ? (double)ws->fired[j] / (double)ws->rows_seen : 0.0;
        dead += dead_after ? ws->idle[j] >= dead_after : ws->fired[j] == 0;
    }
    if (dead_fraction)
        *dead_fraction = ws->rows_seen ? (double)dead / (double)h : 0.0;
    return SAE_OK;
}
