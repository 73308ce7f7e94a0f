/* The decoder's bias started from data (Gao et al. 2024, "Scaling and
 * evaluating sparse autoencoders", arXiv 2406.04093, sec. 2: b_pre set to
 * the geometric median of the data): the mean, or the geometric median by
 * Weiszfeld's iteration. SPDX-License-Identifier: MIT */
#ifndef SAE_MODEL_BIAS_INIT_H
#define SAE_MODEL_BIAS_INIT_H

#include <stddef.h>

#include "sae.h"

/* Weiszfeld stops when a step moves the estimate by at most this times the
 * rows' mean distance to their mean, or after the cap. */
#define SAE_GEOMEDIAN_TOL      1e-9
#define SAE_GEOMEDIAN_MAX_ITER 1000
/* Rows a trainer uses for arch.bias_init, at most: evenly spaced over the
 * first call's rows. */
#define SAE_BIAS_INIT_MAX_ROWS 16384

/* The n rows floor(i rows / n), i < n, of x [rows x d] (n <= rows): mean
 * into est [d]. */
void sae_rows_mean(const float *x, size_t rows, size_t d, size_t n, double *est);
/* Their geometric median into est [d] (work: d doubles). Returns the
 * iterations run. */
unsigned sae_rows_geometric_median(const float *x, size_t rows, size_t d, size_t n, double *est,
                                   double *work);
/* decoder.bias of m from those rows by method (est, work: d doubles each);
 * clears the dense model's bias_init_pending. */
void sae_model_set_bias_from(sae_model_t *m, const float *x, size_t rows, size_t n,
                             sae_bias_init_t method, double *est, double *work);

#endif
