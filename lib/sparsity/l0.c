/* L0 of the code, averaged over rows (Rajamanoharan et al. 2024, "Jumping
 * Ahead", arXiv 2407.14435, eq. 10):
 *   P = (1 / B) sum_b ||h_b||_0 = (1 / B) sum_bj H(h_bj active).
 * Its derivative with respect to h is zero wherever it exists, so the term
 * gives no coefficient of h; its gradient is dP/dH_bj = 1 / B for every
 * step H of an operator that has one, which the operator (code/jumprelu.c)
 * turns into a gradient of its thresholds with its straight-through
 * estimator (the paper's eq. 12). The active count is pass A's.
 * SPDX-License-Identifier: MIT */
#include "sparsity/builtin.h"
#include "sparsity/terms_double.h"

double sae_l0_fused(const sae_config_t *cfg, const sae_code_stats_t *st, size_t rows,
                    size_t units, float weight, sae_reg_coefs_t *co)
{
    (void)cfg, (void)units;
    if (co)
        co->step_coef += (float)((double)weight / (double)rows);
    return st->active / (double)rows;
}

/* The same in double from the code itself (nonzero entries: the count of
 * sae_code_stats for relu-like codes). */
double sae_l0_double(const sae_config_t *cfg, const double *h, size_t rows, size_t units,
                     double *row_c, double *col_c, double *sign_c)
{
    (void)cfg, (void)row_c, (void)col_c, (void)sign_c;
    double n = 0.0;
    for (size_t i = 0; i < rows * units; i++)
        n += h[i] != 0.0;
    return n / (double)rows;
}
