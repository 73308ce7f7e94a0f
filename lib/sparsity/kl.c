/* Bernoulli KL sparsity (Ng, CS294A notes, "Sparse autoencoder", sec. 2.2):
 *   P = sum_j rho log(rho / rho_hat_j) + (1 - rho) log((1 - rho) / (1 - rho_hat_j))
 *   rho_hat_j = (1/B) sum_b h_bj
 *   dP/dh_bj = (1/B) (-rho / rho_hat_j + (1 - rho) / (1 - rho_hat_j))
 * Outside [1e-6, 1 - 1e-6] (rho_hat of ReLU codes can exceed 1) the
 * penalty continues along its tangent at the nearest bound c:
 *   P(rho_hat) = KL(c) + KL'(c) (rho_hat - c),
 * so the penalty stays finite and its gradient, KL'(c), is its derivative. SPDX-License-Identifier: MIT */
#include <math.h>

#include "sparsity/builtin.h"
#include "sparsity/terms_double.h"

#define KL_EPS 1e-6

double sae_kl_fused(const sae_config_t *cfg, const sae_code_stats_t *st, size_t rows,
                    size_t units, float weight, sae_reg_coefs_t *co)
{
    double rho = sae_cfg_float(cfg, SAE_P_KL_RHO);
    double inv_b = 1.0 / (double)rows;
    double total = 0.0;
    for (size_t j = 0; j < units; j++) {
        double mean = st->col_sum[j] * inv_b;
        double rh = mean < KL_EPS ? KL_EPS : (mean > 1.0 - KL_EPS ? 1.0 - KL_EPS : mean);
        double slope = -rho / rh + (1.0 - rho) / (1.0 - rh); /* dKL/d rho_hat at rh */
        total += rho * log(rho / rh) + (1.0 - rho) * log((1.0 - rho) / (1.0 - rh)) +
                 slope * (mean - rh);
        if (co)
            co->col_coef[j] += (float)((double)weight * inv_b * slope);
    }
    return total;
}

/* The same in double from the code itself: rho_hat_j as the column mean of
 * h, the same tangent beyond the bounds. */
double sae_kl_double(const sae_config_t *cfg, const double *h, size_t rows, size_t units,
                     double *row_c, double *col_c, double *sign_c)
{
    (void)row_c, (void)sign_c;
    double rho = sae_cfg_float(cfg, SAE_P_KL_RHO);
    double inv_b = 1.0 / (double)rows;
    double total = 0.0;
    for (size_t j = 0; j < units; j++) {
        double mean = 0.0;
        for (size_t b = 0; b < rows; b++)
            mean += h[b * units + j];
        mean *= inv_b;
        double rh = mean < KL_EPS ? KL_EPS : (mean > 1.0 - KL_EPS ? 1.0 - KL_EPS : mean);
        double slope = -rho / rh + (1.0 - rho) / (1.0 - rh);
        total += rho * log(rho / rh) + (1.0 - rho) * log((1.0 - rho) / (1.0 - rh)) +
                 slope * (mean - rh);
        col_c[j] += inv_b * slope;
    }
    return total;
}
