/* Decoder rows kept at unit norm (Gao et al. 2024, "Scaling and evaluating
 * sparse autoencoders", arXiv 2406.04093, section 2: the decoder's columns
 * in their notation, our rows): the component of each row's gradient
 * parallel to the row is removed before the update, and the row scaled
 * back to unit length after it. SPDX-License-Identifier: MIT */
#ifndef SAE_OPTIM_UNIT_NORM_H
#define SAE_OPTIM_UNIT_NORM_H

#include <stddef.h>

/* Scales every row of w [rows x cols] to unit Euclidean norm (rows that are
 * all zero are left as they are). */
void sae_rows_normalize(float *w, size_t rows, size_t cols);

/* g_j -= (g_j . w_j) w_j for every row j; w's rows must have unit norm. */
void sae_rows_project_out(float *g, const float *w, size_t rows, size_t cols);

#endif
