/* Changing the learning rate of a live trainer: how training continues
 * after SAE_ERR_DIVERGED (train/backprop.c rolls the weights back to the
 * last step with a finite loss). SPDX-License-Identifier: MIT */
#include "core/error.h"
#include "model/model.h"
#include "train/trainer.h"

sae_status_t sae_trainer_set_learning_rate(sae_trainer_t *t, double lr)
{
    if (!t)
        return sae_fail_global(SAE_ERR_NULL, "sae_trainer_set_learning_rate: trainer is NULL");
    /* The model's own config copy: the rate is part of what the model
     * was trained with, and is saved with it. */
    sae_status_t st = sae_config_set_float(t->model->cfg, SAE_P_LEARNING_RATE, lr);
    if (st != SAE_OK)
        return sae_fail(t->errmsg, st, "sae_trainer_set_learning_rate: %s",
                        sae_config_errmsg(t->model->cfg));
    return SAE_OK;
}
