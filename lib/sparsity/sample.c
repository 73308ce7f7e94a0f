/* Per-sample ("layer") sparsity of the universal sparse encoder (E1,
 * jakebruce/universal-sparse-encoder model.py):
 *   s_b = (1/H) sum_j h_bj,  P = (1/B) sum_b (s_b - t)^2
 *   dP/dh_bj = 2 (s_b - t) / (B H)
 * SPDX-License-Identifier: MIT */
#include "sparsity/regularizer.h"

static double sample_fused(const sae_config_t *cfg, const sae_code_stats_t *st, size_t rows,
                           size_t units, float weight, sae_reg_coefs_t *co)
{
    double t = sae_cfg_float(cfg, SAE_P_SAMPLE_TARGET);
    double inv_h = 1.0 / (double)units, total = 0.0;
    double g = 2.0 * (double)weight / ((double)rows * (double)units);
    for (size_t b = 0; b < rows; b++) {
        double d = st->row_sum[b] * inv_h - t;
        total += d * d;
        if (co)
            co->row_coef[b] += (float)(g * d);
    }
    return total / (double)rows;
}

const sae_builtin_reg_t sae_reg_sample = {"sample", SAE_P_SAMPLE_WEIGHT, sample_fused};
