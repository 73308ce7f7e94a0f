/* Bernoulli KL sparsity (Ng, CS294A notes, "Sparse autoencoder", sec. 2.2):
 *   P = sum_j rho log(rho / rho_hat_j) + (1 - rho) log((1 - rho) / (1 - rho_hat_j))
 *   rho_hat_j = (1/B) sum_b h_bj
 *   dP/dh_bj = (1/B) (-rho / rho_hat_j + (1 - rho) / (1 - rho_hat_j))
 * Outside [1e-6, 1 - 1e-6] (rho_hat of ReLU codes can exceed 1) the
 * penalty continues along its tangent at the nearest bound c:
 *   P(rho_hat) = KL(c) + KL'(c) (rho_hat - c),
 * so the penalty stays finite and its gradient, KL'(c), is its derivative.
 *
 * With kl.squash = sigmoid, rho_hat_j = (1/B) sum_b sigmoid(h_bj), the form
 * PyTorch sparse autoencoders use on unbounded ReLU codes (the batch mean of
 * a ReLU map can exceed 1, where the Bernoulli KL has no meaning):
 *   dP/dh_bj = (1/B) KL'(rho_hat_j) s_bj (1 - s_bj),  s_bj = sigmoid(h_bj),
 * a per-unit slope times a per-element factor, so this form reads the code
 * itself (the term table's per-element hook) instead of its statistics.
 * SPDX-License-Identifier: MIT */
#include <math.h>

#include "sparsity/builtin.h"
#include "sparsity/terms_double.h"

#define KL_EPS 1e-6

/* KL(rho || rh) continued along its tangent outside [eps, 1 - eps]; its
 * derivative at mean into *slope. */
static double kl_tangent(double rho, double mean, double *slope)
{
    double rh = mean < KL_EPS ? KL_EPS : (mean > 1.0 - KL_EPS ? 1.0 - KL_EPS : mean);
    *slope = -rho / rh + (1.0 - rho) / (1.0 - rh);
    return rho * log(rho / rh) + (1.0 - rho) * log((1.0 - rho) / (1.0 - rh)) +
           *slope * (mean - rh);
}

static double sigmoid_d(double v)
{
    return 1.0 / (1.0 + exp(-v));
}

double sae_kl_sigmoid_dense(const sae_config_t *cfg, const float *h, size_t rows, size_t units,
                            float weight, float *grad)
{
    double rho = sae_cfg_float(cfg, SAE_P_KL_RHO);
    double inv_b = 1.0 / (double)rows;
    double total = 0.0;
    /* Column by column: the rows of one column share their cache lines with
     * the next column's, and no per-unit buffer is needed. */
    for (size_t j = 0; j < units; j++) {
        double mean = 0.0, slope;
        for (size_t b = 0; b < rows; b++)
            mean += sigmoid_d((double)h[b * units + j]);
        total += kl_tangent(rho, mean * inv_b, &slope);
        if (!grad)
            continue;
        double c = (double)weight * inv_b * slope;
        for (size_t b = 0; b < rows; b++) {
            double sg = sigmoid_d((double)h[b * units + j]);
            grad[b * units + j] += (float)(c * sg * (1.0 - sg));
        }
    }
    return total;
}

double sae_kl_sigmoid_double(const sae_config_t *cfg, const double *h, size_t rows,
                             size_t units, double *grad)
{
    double rho = sae_cfg_float(cfg, SAE_P_KL_RHO);
    double total = 0.0;
    for (size_t j = 0; j < units; j++) {
        double sum = 0.0, slope;
        for (size_t b = 0; b < rows; b++)
            sum += 1.0 / (1.0 + exp(-h[b * units + j]));
        total += kl_tangent(rho, sum / (double)rows, &slope);
        for (size_t b = 0; b < rows; b++) {
            double e = exp(-h[b * units + j]);
            /* sigmoid'(v) = e^-v / (1 + e^-v)^2, written apart from the float form */
            grad[b * units + j] += slope / (double)rows * e / ((1.0 + e) * (1.0 + e));
        }
    }
    return total;
}

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
