/* Weight decay in double, for the double-precision gradient check (the
 * float one is the optimizer's pass over the weights).
 * SPDX-License-Identifier: MIT */
#include "sparsity/terms_double.h"

double sae_l2_double(double lambda, const double *w, size_t n, double *grad)
{
    double s = 0.0;
    for (size_t k = 0; k < n; k++)
        s += w[k] * w[k];
    if (grad)
        for (size_t k = 0; k < n; k++)
            grad[k] += lambda * w[k];
    return 0.5 * lambda * s;
}
