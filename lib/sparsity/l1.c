/* L1 activation penalty, averaged over every code element:
 *   P = (1 / (B H)) sum |h_bj|,   dP/dh_bj = sign(h_bj) / (B H)
 * SPDX-License-Identifier: MIT */
#include "sparsity/regularizer.h"

double sae_l1_fused(const sae_config_t *cfg, const sae_code_stats_t *st, size_t rows,
                    size_t units, float weight, sae_reg_coefs_t *co)
{
    (void)cfg;
    double inv_n = 1.0 / ((double)rows * (double)units);
    if (co)
        co->sign_coef += (float)((double)weight * inv_n);
    return st->abs_sum * inv_n;
}
