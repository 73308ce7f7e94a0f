/* Neural sparse coding (Arora, Ge, Ma & Moitra 2015) as a training
 * algorithm, chosen by train.algorithm = nsc. SPDX-License-Identifier: MIT */
#ifndef SAE_TRAIN_NSC_H
#define SAE_TRAIN_NSC_H

#include "train/trainer.h"

/* Whether m trains with neural sparse coding. */
int sae_nsc_enabled(const sae_model_t *m);

/* Code, residual and statistics of a batch y [rows x D], A unchanged (for
 * sae_trainer_evaluate). grad != 0 is SAE_ERR_STATE: the rule descends no
 * objective, so there is no gradient to give or check. */
sae_status_t sae_nsc_forward(sae_trainer_t *t, const float *y, size_t rows, int grad,
                             sae_stats_t *stats);

/* nsc.eta at step `step` (0-based) under the config's step decay. */
double sae_nsc_eta(const sae_config_t *cfg, uint64_t step);

/* One dictionary update on a batch y [rows x D], rows <= batch size. */
sae_status_t sae_nsc_step(sae_trainer_t *t, const float *y, size_t rows, sae_stats_t *stats);

#endif
