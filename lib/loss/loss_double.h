/* The reconstruction term in double, beside the float losses of loss.c:
 * the double-precision gradient check's second implementation.
 * SPDX-License-Identifier: MIT */
#ifndef SAE_LOSS_LOSS_DOUBLE_H
#define SAE_LOSS_LOSS_DOUBLE_H

#include <stddef.h>

#include "sae.h"

/* The factor of the loss summed over the elements of a [rows x cols]
 * output: 1 / (rows cols) for SAE_REDUCE_MEAN, 1 / (2 rows) for
 * SAE_REDUCE_SAMPLE_SUM_HALF. */
double sae_loss_scale_double(sae_loss_reduction_t reduction, size_t rows, size_t cols);

/* scale times the loss summed over n elements of the output pre-activation
 * z (bias included) against the target t; when grad is not NULL, grad[i]
 * = scale dLoss/dz_i (grad may be z). MSE applies out_act; BCE reads z as
 * logits. */
double sae_loss_double(sae_loss_t loss, sae_activation_t out_act, const double *z,
                       const double *t, size_t n, double scale, double *grad);

#endif
