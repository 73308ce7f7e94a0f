/* Full-batch L-BFGS (optim.type = lbfgs) through liblbfgs, when the build
 * has it (meson option lbfgs). SPDX-License-Identifier: MIT */
#ifndef SAE_OPTIM_LBFGS_H
#define SAE_OPTIM_LBFGS_H

#include <stddef.h>
#include <stdint.h>

#include "sae.h"

/* 1 when this library was built with liblbfgs. */
int sae_lbfgs_available(void);

/* Runs up to `iterations` L-BFGS iterations on the objective over all rows
 * of x at once (checked by the caller), starting from the model's weights.
 * Each iteration counts as one step and one epoch. SAE_ERR_UNSUPPORTED
 * without liblbfgs. */
sae_status_t sae_lbfgs_fit(sae_trainer_t *t, const float *x, size_t rows, uint64_t iterations);

#endif
