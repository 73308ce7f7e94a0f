/* Target mean activity, the "sample" and "batch" sparsity of the universal
 * sparse encoder (jakebruce/universal-sparse-encoder, model.py): one formula
 * on either axis of the code h [B x H]. Per row ("sample", n = B, m = H):
 *   s_b = (1/H) sum_j h_bj,  P = (1/B) sum_b (s_b - t)^2
 * per column ("batch", n = H, m = B):
 *   c_j = (1/B) sum_b h_bj,  P = (1/H) sum_j (c_j - t)^2
 * and in both dP/dh_bj = 2 (mean - t) / (B H), one coefficient per row or
 * per column. SPDX-License-Identifier: MIT */
#include "sparsity/builtin.h"
#include "sparsity/terms_double.h"

/* sums [n] are the sums over the other axis, of length m. */
static double activity(const double *sums, size_t n, size_t m, double t, size_t rows,
                       size_t units, float weight, float *coef)
{
    double inv_m = 1.0 / (double)m, total = 0.0;
    double g = 2.0 * (double)weight / ((double)rows * (double)units);
    for (size_t i = 0; i < n; i++) {
        double d = sums[i] * inv_m - t;
        total += d * d;
        if (coef)
            coef[i] += (float)(g * d);
    }
    return total / (double)n;
}

double sae_sample_fused(const sae_config_t *cfg, const sae_code_stats_t *st, size_t rows,
                        size_t units, float weight, sae_reg_coefs_t *co)
{
    return activity(st->row_sum, rows, units, sae_cfg_float(cfg, SAE_P_SAMPLE_TARGET), rows,
                    units, weight, co ? co->row_coef : NULL);
}

double sae_batch_fused(const sae_config_t *cfg, const sae_code_stats_t *st, size_t rows,
                       size_t units, float weight, sae_reg_coefs_t *co)
{
    return activity(st->col_sum, units, rows, sae_cfg_float(cfg, SAE_P_BATCH_TARGET), rows,
                    units, weight, co ? co->col_coef : NULL);
}

/* The same in double from the code itself: by_row 1 for the per-row means
 * (sample), 0 for the per-column ones (batch); coef [rows] or [units]. */
static double activity_d(const double *h, size_t rows, size_t units, int by_row, double t,
                         double *coef)
{
    size_t n = by_row ? rows : units, m = by_row ? units : rows;
    double g = 2.0 / ((double)rows * (double)units), total = 0.0;
    for (size_t i = 0; i < n; i++) {
        double mean = 0.0;
        for (size_t k = 0; k < m; k++)
            mean += by_row ? h[i * units + k] : h[k * units + i];
        double d = mean / (double)m - t;
        total += d * d;
        coef[i] += g * d;
    }
    return total / (double)n;
}

double sae_sample_double(const sae_config_t *cfg, const double *h, size_t rows, size_t units,
                         double *row_c, double *col_c, double *sign_c)
{
    (void)col_c, (void)sign_c;
    return activity_d(h, rows, units, 1, sae_cfg_float(cfg, SAE_P_SAMPLE_TARGET), row_c);
}

double sae_batch_double(const sae_config_t *cfg, const double *h, size_t rows, size_t units,
                        double *row_c, double *col_c, double *sign_c)
{
    (void)row_c, (void)sign_c;
    return activity_d(h, rows, units, 0, sae_cfg_float(cfg, SAE_P_BATCH_TARGET), col_c);
}
