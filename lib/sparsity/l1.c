/* L1 activation penalty, averaged over every code element:
 *   P = (1 / (B H)) sum |h_bj|,   dP/dh_bj = sign(h_bj) / (B H)
 * SPDX-License-Identifier: MIT */
#include <math.h>

#include "sparsity/builtin.h"
#include "sparsity/terms_double.h"

double sae_l1_fused(const sae_config_t *cfg, const sae_code_stats_t *st, size_t rows,
                    size_t units, float weight, sae_reg_coefs_t *co)
{
    (void)cfg;
    double inv_n = 1.0 / ((double)rows * (double)units);
    if (co)
        co->sign_coef += (float)((double)weight * inv_n);
    return st->abs_sum * inv_n;
}

/* The same in double from the code itself. */
double sae_l1_double(const sae_config_t *cfg, const double *h, size_t rows, size_t units,
                     double *row_c, double *col_c, double *sign_c)
{
    (void)cfg, (void)row_c, (void)col_c;
    double inv_n = 1.0 / ((double)rows * (double)units), a = 0.0;
    for (size_t i = 0; i < rows * units; i++)
        a += fabs(h[i]);
    *sign_c += inv_n;
    return a * inv_n;
}
