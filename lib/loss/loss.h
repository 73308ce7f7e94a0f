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

#endif
