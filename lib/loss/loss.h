/* Reconstruction losses, value and gradient in one pass.
 * SPDX-License-Identifier: MIT */
#ifndef SAE_LOSS_LOSS_H
#define SAE_LOSS_LOSS_H

#include <stddef.h>

#include "layers/activation.h"
#include "sae.h"

/* o: the output layer's pre-activation without bias [rows x cols]; x: the
 * clean target. Adds bias, applies the loss and returns the mean loss over
 * rows*cols elements. When grad is set, o is overwritten with dLoss/d(pre-
 * activation) and dbias (if not NULL) gets its column sums.
 *   MSE: mean (act(o+b) - x)^2
 *   BCE: mean softplus(z) - x z, z = o+b, i.e. the binary cross-entropy of
 *        sigmoid(z) against x computed without ever forming log(sigmoid). */
double sae_loss_apply(sae_loss_t loss, sae_activation_t out_act, float *o, const float *x,
                      size_t rows, size_t cols, const float *bias, int grad, float *dbias,
                      const sae_reduce_scratch_t *scr);

/* The same with a choice of reduction (loss.reduction): SAE_REDUCE_MEAN is
 * sae_loss_apply; SAE_REDUCE_SAMPLE_SUM_HALF returns the sum over elements
 * divided by 2 rows, and scales the gradient alike. */
double sae_loss_apply_reduced(sae_loss_t loss, sae_activation_t out_act, float *o,
                              const float *x, size_t rows, size_t cols, const float *bias,
                              int grad, float *dbias, const sae_reduce_scratch_t *scr,
                              sae_loss_reduction_t reduction);

#endif
