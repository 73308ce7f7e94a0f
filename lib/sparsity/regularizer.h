/* The built-in code terms, each written once in "fused" form (terms.h's
 * sae_term_fused_fn): from the batch statistics gathered in the forward
 * pass it returns its penalty and adds its gradient as per-row, per-column
 * or sign coefficients, so that the backward kernel applies every built-in
 * term in the same pass as the activation derivative. The generic form of
 * the public sae_regularizer_ops_t (used by gradient checks) is derived
 * from the fused one by sae_builtin_penalty. SPDX-License-Identifier: MIT */
#ifndef SAE_SPARSITY_REGULARIZER_H
#define SAE_SPARSITY_REGULARIZER_H

#include <stddef.h>

#include "sparsity/terms.h"

double sae_kl_fused(const sae_config_t *cfg, const sae_code_stats_t *st, size_t rows,
                    size_t units, float weight, sae_reg_coefs_t *co);
double sae_l1_fused(const sae_config_t *cfg, const sae_code_stats_t *st, size_t rows,
                    size_t units, float weight, sae_reg_coefs_t *co);
/* Target mean activity per row (sample) and per column (batch): activity.c. */
double sae_sample_fused(const sae_config_t *cfg, const sae_code_stats_t *st, size_t rows,
                        size_t units, float weight, sae_reg_coefs_t *co);
double sae_batch_fused(const sae_config_t *cfg, const sae_code_stats_t *st, size_t rows,
                       size_t units, float weight, sae_reg_coefs_t *co);

/* The built-in code terms' table entries by name. */
#define sae_reg_kl (sae_terms[SAE_TERM_KL])
#define sae_reg_l1 (sae_terms[SAE_TERM_L1])
#define sae_reg_sample (sae_terms[SAE_TERM_SAMPLE])
#define sae_reg_batch (sae_terms[SAE_TERM_BATCH])

/* Generic form of a built-in code term: penalty of h and dense gradient
 * added to grad (may be NULL). Computes the statistics itself. */
double sae_builtin_penalty(const sae_term_t *reg, const sae_config_t *cfg, const float *h,
                           size_t rows, size_t units, float weight, float *grad);

#endif
