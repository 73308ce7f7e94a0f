/* The built-in code terms, each written once in "fused" form: from the
 * batch statistics gathered in the forward pass it returns its penalty and
 * adds its gradient as per-row, per-column or sign coefficients, so that
 * the backward kernel applies every built-in term in the same pass as the
 * activation derivative (their table is terms.c).
 * SPDX-License-Identifier: MIT */
#ifndef SAE_SPARSITY_BUILTIN_H
#define SAE_SPARSITY_BUILTIN_H

#include <stddef.h>

#include "config/config.h"
#include "layers/activation.h"

typedef struct sae_reg_coefs {
    float *row_coef; /* [rows], added to */
    float *col_coef; /* [units], added to */
    float sign_coef; /* added to */
    float step_coef; /* added to: dP/dH per active unit (l0) */
} sae_reg_coefs_t;

/* A built-in code term from the code's statistics, in O(rows + units):
 * returns the unweighted penalty and, when co is not NULL, adds weight
 * times its gradient as the coefficients its flags name. */
typedef double (*sae_term_fused_fn)(const sae_config_t *cfg, const sae_code_stats_t *st,
                                    size_t rows, size_t units, float weight,
                                    sae_reg_coefs_t *co);

double sae_kl_fused(const sae_config_t *cfg, const sae_code_stats_t *st, size_t rows,
                    size_t units, float weight, sae_reg_coefs_t *co);
/* A built-in code term that needs every element of the code h [rows x
 * units], not only its statistics: returns the unweighted penalty and,
 * when grad is not NULL, adds weight * dP/dh into grad (the user
 * regularizers' contract, sae_regularizer_ops_t). */
typedef double (*sae_term_dense_fn)(const sae_config_t *cfg, const float *h, size_t rows,
                                    size_t units, float weight, float *grad);
/* KL on sigmoid-squashed batch means (kl.squash = sigmoid): kl.c. */
double sae_kl_sigmoid_dense(const sae_config_t *cfg, const float *h, size_t rows, size_t units,
                            float weight, float *grad);
double sae_l1_fused(const sae_config_t *cfg, const sae_code_stats_t *st, size_t rows,
                    size_t units, float weight, sae_reg_coefs_t *co);
/* Target mean activity per row (sample) and per column (batch): activity.c. */
double sae_sample_fused(const sae_config_t *cfg, const sae_code_stats_t *st, size_t rows,
                        size_t units, float weight, sae_reg_coefs_t *co);
double sae_batch_fused(const sae_config_t *cfg, const sae_code_stats_t *st, size_t rows,
                       size_t units, float weight, sae_reg_coefs_t *co);
/* L0 of the code, mean over rows (a step coefficient): l0.c. */
double sae_l0_fused(const sae_config_t *cfg, const sae_code_stats_t *st, size_t rows,
                    size_t units, float weight, sae_reg_coefs_t *co);

/* L1 weighted by the decoder rows' norms: l1_decoder_norm.c. */
double sae_l1_decnorm_fused(const sae_config_t *cfg, const sae_code_stats_t *st, size_t rows,
                            size_t units, float weight, sae_reg_coefs_t *co);
void sae_l1_decnorm_atoms(const sae_config_t *cfg, const sae_code_stats_t *st, size_t rows,
                          size_t units, float weight, const float *atoms, size_t dim,
                          float *grad);

#endif
