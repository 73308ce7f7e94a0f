/* L1 of the code weighted by the decoder rows' norms (Anthropic, "Circuits
 * Updates - April 2024", the SAELens "standard" SAE): with n_j = ||W_dec
 * row j||, averaged over every code element as the plain L1 term is,
 *   P = (1 / (B H)) sum_bj |h_bj| n_j
 *   dP/dh_bj = n_j / (B H)                          (h_bj > 0)
 *   dP/dW_dec[j] = (1 / (B H)) (sum_b |h_bj|) W_dec[j] / n_j
 * The penalty can then no longer be lowered by shrinking the code and
 * growing the atoms, so no unit-norm constraint is needed. It is defined
 * on nonnegative codes only (relu, sigmoid, trelu: config/recipes.c refuses
 * the others), where |h| = h: the column sums of pass A are the sums of
 * |h|, and the code gradient is a per-column coefficient.
 * SPDX-License-Identifier: MIT */
#include <math.h>

#include "sparsity/builtin.h"
#include "sparsity/terms_double.h"

static double norm_of(const sae_code_stats_t *st, size_t j)
{
    return st->atom_norm ? (double)st->atom_norm[j] : 1.0;
}

double sae_l1_decnorm_fused(const sae_config_t *cfg, const sae_code_stats_t *st, size_t rows,
                            size_t units, float weight, sae_reg_coefs_t *co)
{
    (void)cfg;
    double inv_n = 1.0 / ((double)rows * (double)units), p = 0.0;
    for (size_t j = 0; j < units; j++) {
        double n = norm_of(st, j);
        p += st->col_sum[j] * n;
        if (co)
            co->col_coef[j] += (float)((double)weight * inv_n * n);
    }
    return p * inv_n;
}

void sae_l1_decnorm_atoms(const sae_config_t *cfg, const sae_code_stats_t *st, size_t rows,
                          size_t units, float weight, const float *atoms, size_t dim,
                          float *grad)
{
    (void)cfg;
    double inv_n = 1.0 / ((double)rows * (double)units);
    for (size_t j = 0; j < units; j++) {
        double n = norm_of(st, j);
        /* At a zero atom the penalty's subgradient 0 is taken. */
        if (!(n > 0.0) || st->col_sum[j] == 0.0)
            continue;
        float c = (float)((double)weight * inv_n * st->col_sum[j] / n);
        const float *a = atoms + j * dim;
        float *g = grad + j * dim;
        for (size_t i = 0; i < dim; i++)
            g[i] += c * a[i];
    }
}

/* The code side in double, every norm 1: sum h / (B H) on a nonnegative
 * code, a coefficient 1 / (B H) per column. */
double sae_l1_decnorm_double(const sae_config_t *cfg, const double *h, size_t rows,
                             size_t units, double *row_c, double *col_c, double *sign_c)
{
    (void)cfg, (void)row_c, (void)sign_c;
    double inv_n = 1.0 / ((double)rows * (double)units), a = 0.0;
    for (size_t i = 0; i < rows * units; i++)
        a += h[i];
    for (size_t j = 0; j < units; j++)
        col_c[j] += inv_n;
    return a * inv_n;
}
