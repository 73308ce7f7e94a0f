/* Hard thresholding of a code: the decoding step of neural sparse coding
 * (Arora, Ge, Ma & Moitra 2015, threshold_{C/2} in their Algorithm).
 * SPDX-License-Identifier: MIT */
#ifndef SAE_LAYERS_THRESHOLD_H
#define SAE_LAYERS_THRESHOLD_H

#include <stddef.h>

/* Sets x[i] = 0 wherever |x[i]| < tau, keeps the rest unchanged. tau = 0
 * changes nothing. */
void sae_hard_threshold(float *x, size_t n, float tau);

#endif
