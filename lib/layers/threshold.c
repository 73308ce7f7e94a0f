/* Hard thresholding of a code. SPDX-License-Identifier: MIT */
#include "layers/threshold.h"

#include <math.h>

void sae_hard_threshold(float *x, size_t n, float tau)
{
    /* A select rather than a branch, so that the loop vectorises. Entries
     * equal to tau are kept: the paper zeroes |x| < C/2 only. */
    for (size_t i = 0; i < n; i++)
        x[i] = fabsf(x[i]) < tau ? 0.0f : x[i];
}
