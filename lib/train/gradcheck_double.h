/* The double-precision gradient check, with the float gradient it is held
 * against given by the caller (tests hand it a damaged one).
 * SPDX-License-Identifier: MIT */
#ifndef SAE_TRAIN_GRADCHECK_DOUBLE_H
#define SAE_TRAIN_GRADCHECK_DOUBLE_H

#include <stddef.h>

#include "sae.h"

/* As sae_trainer_gradcheck_double, with float_grad (the model's n_weights
 * layout, weight decay included) standing for the library's backward pass;
 * float_grad and float_rel_diff may be NULL (no float comparison). The
 * arguments are assumed checked. */
sae_status_t sae_gradcheck_double_run(sae_trainer_t *t, const float *x, size_t rows,
                                      const float *float_grad, double *rel_diff,
                                      double *float_rel_diff);

#endif
