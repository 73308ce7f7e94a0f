/* Dead-latent resampling (Bricken et al. 2023, "Towards Monosemanticity",
 * section "Neuron Resampling"): every resample.every steps, the units that
 * have not fired for resample.dead_after training rows get new directions.
 * From the step's batch, each row's reconstruction loss l_b = ||x_b -
 * x_hat_b||^2 is measured; for each dead unit a row is drawn with
 * probability proportional to l_b^2, and with v its unit-norm direction:
 *   decoder row j = v,   encoder row j = c * mean alive ||W_enc row|| * v,
 *   encoder bias j = 0,  their optimizer moments = 0,
 * c = resample.encoder_scale (0.2 in the paper). The paper draws from a
 * large sample of the data; here the batch of the resampling step is the
 * sample (larger batches approach the paper's rule). The option beside AuxK
 * (Gao et al. 2024), which revives dead units through a loss instead.
 * SPDX-License-Identifier: MIT */
#ifndef SAE_TRAIN_RESAMPLE_H
#define SAE_TRAIN_RESAMPLE_H

#include "optim/optimizer.h"
#include "train/trainer.h"

/* After a backprop step on batch x [rows x D] (t->steps already counted):
 * resamples when resample.every says so. opt's moments of the resampled
 * rows are zeroed. */
sae_status_t sae_resample_after_step(sae_trainer_t *t, const float *x, size_t rows,
                                     sae_optim_t *opt);

#endif
