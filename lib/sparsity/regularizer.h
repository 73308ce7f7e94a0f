/* Built-in sparsity regularizers. Each is written once, in "fused" form:
 * from the batch statistics gathered in the forward pass it returns its
 * penalty and adds its gradient as per-row, per-column or sign
 * coefficients, so that the backward kernel applies every built-in term in
 * the same pass as the activation derivative. The generic form of the
 * public sae_regularizer_ops_t (used by gradient checks) is derived from
 * the fused one by sae_builtin_penalty. SPDX-License-Identifier: MIT */
#ifndef SAE_SPARSITY_REGULARIZER_H
#define SAE_SPARSITY_REGULARIZER_H

#include <stddef.h>

#include "layers/activation.h"
#include "config/config.h"

typedef struct sae_reg_coefs {
    float *row_coef; /* [rows], added to */
    float *col_coef; /* [units], added to */
    float sign_coef; /* added to */
} sae_reg_coefs_t;

typedef struct sae_builtin_reg {
    const char *name;
    sae_param_t weight_param;
    /* Unweighted penalty of the batch; adds weight * gradient coefficients
     * into co when co is not NULL. */
    double (*fused)(const sae_config_t *cfg, const sae_code_stats_t *st, size_t rows,
                    size_t units, float weight, sae_reg_coefs_t *co);
} sae_builtin_reg_t;

extern const sae_builtin_reg_t sae_reg_kl;
extern const sae_builtin_reg_t sae_reg_l1;
extern const sae_builtin_reg_t sae_reg_sample;
extern const sae_builtin_reg_t sae_reg_batch;

#define SAE_N_BUILTIN_REGS 4
extern const sae_builtin_reg_t *const sae_builtin_regs[SAE_N_BUILTIN_REGS];

/* The weight of a built-in in cfg (0 = off). */
float sae_builtin_weight(const sae_config_t *cfg, const sae_builtin_reg_t *reg);

/* Generic form of a built-in: penalty of h and dense gradient added to grad
 * (may be NULL). Computes the statistics itself. */
double sae_builtin_penalty(const sae_builtin_reg_t *reg, const sae_config_t *cfg, const float *h,
                           size_t rows, size_t units, float weight, float *grad);

#endif
