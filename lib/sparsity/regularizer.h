/* The built-in code terms as regularizers: their table entries by name
 * and the generic form of the public sae_regularizer_ops_t (a penalty with
 * a dense gradient, used by the gradient checks), derived from the fused
 * one (builtin.h) by sae_builtin_penalty. SPDX-License-Identifier: MIT */
#ifndef SAE_SPARSITY_REGULARIZER_H
#define SAE_SPARSITY_REGULARIZER_H

#include <stddef.h>

#include "sparsity/terms.h"

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
