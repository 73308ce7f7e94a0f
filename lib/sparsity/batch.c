/* Per-unit ("batch") sparsity of the universal sparse encoder (E1):
 *   c_j = (1/B) sum_b h_bj,  P = (1/H) sum_j (c_j - t)^2
 *   dP/dh_bj = 2 (c_j - t) / (H B)
 * SPDX-License-Identifier: MIT */
#include "sparsity/regularizer.h"

static double batch_fused(const sae_config_t *cfg, const sae_code_stats_t *st, size_t rows,
                          size_t units, float weight, sae_reg_coefs_t *co)
{
    double t = sae_cfg_float(cfg, SAE_P_BATCH_TARGET);
    double inv_b = 1.0 / (double)rows, total = 0.0;
    double g = 2.0 * (double)weight / ((double)rows * (double)units);
    for (size_t j = 0; j < units; j++) {
        double d = st->col_sum[j] * inv_b - t;
        total += d * d;
        if (co)
            co->col_coef[j] += (float)(g * d);
    }
    return total / (double)units;
}

const sae_builtin_reg_t sae_reg_batch = {"batch", SAE_P_BATCH_WEIGHT, batch_fused};
