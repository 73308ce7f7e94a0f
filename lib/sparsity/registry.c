/* The generic adapter over the built-in code terms' fused form, and the
 * user-regularizer stack of a config.
 * SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sparsity/regularizer.h"

double sae_builtin_penalty(const sae_term_t *reg, const sae_config_t *cfg, const float *h,
                           size_t rows, size_t units, float weight, float *grad)
{
    if (reg->dense)
        return reg->dense(cfg, h, rows, units, weight, grad);
    double *row_sum = calloc(rows ? rows : 1, sizeof(double));
    double *col_sum = calloc(units ? units : 1, sizeof(double));
    float *row_coef = calloc(rows ? rows : 1, sizeof(float));
    float *col_coef = calloc(units ? units : 1, sizeof(float));
    double result = NAN;
    if (!row_sum || !col_sum || !row_coef || !col_coef)
        goto out;
    sae_code_stats_t st = {row_sum, col_sum, 0.0, 0.0, NULL, NULL};
    for (size_t b = 0; b < rows; b++)
        for (size_t j = 0; j < units; j++) {
            double v = (double)h[b * units + j];
            row_sum[b] += v;
            col_sum[j] += v;
            st.abs_sum += fabs(v);
        }
    sae_reg_coefs_t co = {row_coef, col_coef, 0.0f, 0.0f};
    result = reg->fused(cfg, &st, rows, units, weight, grad ? &co : NULL);
    if (grad)
        for (size_t b = 0; b < rows; b++)
            for (size_t j = 0; j < units; j++) {
                float v = h[b * units + j];
                float sg = (float)((v > 0.0f) - (v < 0.0f));
                grad[b * units + j] += row_coef[b] + col_coef[j] + co.sign_coef * sg;
            }
out:
    free(row_sum);
    free(col_sum);
    free(row_coef);
    free(col_coef);
    return result;
}

sae_status_t sae_config_add_regularizer(sae_config_t *cfg, const sae_regularizer_ops_t *ops,
                                        void *user_data, float weight)
{
    if (!cfg)
        return sae_fail_global(SAE_ERR_NULL, "sae_config_add_regularizer: cfg is NULL");
    if (!ops)
        return sae_fail(cfg->errmsg, SAE_ERR_NULL, "sae_config_add_regularizer: ops is NULL");
    if (ops->struct_size < sizeof(sae_regularizer_ops_t))
        return sae_fail(cfg->errmsg, SAE_ERR_RANGE,
                        "sae_config_add_regularizer: ops->struct_size %u is smaller than %zu",
                        ops->struct_size, sizeof(sae_regularizer_ops_t));
    if (!ops->penalty)
        return sae_fail(cfg->errmsg, SAE_ERR_NULL,
                        "sae_config_add_regularizer: ops->penalty is NULL");
    if (!ops->name || !ops->name[0])
        return sae_fail(cfg->errmsg, SAE_ERR_BAD_VALUE,
                        "sae_config_add_regularizer: ops->name is empty");
    if (!(weight >= 0.0f) || !isfinite(weight))
        return sae_fail(cfg->errmsg, SAE_ERR_RANGE,
                        "sae_config_add_regularizer: weight %g must be finite and >= 0",
                        (double)weight);
    if (cfg->n_user_regs >= SAE_MAX_USER_REGS)
        return sae_fail(cfg->errmsg, SAE_ERR_RANGE,
                        "sae_config_add_regularizer: at most %d user regularizers",
                        SAE_MAX_USER_REGS);
    sae_user_reg_t *ur = calloc(1, sizeof *ur);
    if (!ur)
        return sae_fail(cfg->errmsg, SAE_ERR_NOMEM, "sae_config_add_regularizer: out of memory");
    memcpy(&ur->ops, ops, sizeof ur->ops);
    ur->ops.struct_size = (uint32_t)sizeof ur->ops;
    ur->user_data = user_data;
    ur->refs = 1;
    cfg->user_regs[cfg->n_user_regs] = ur;
    cfg->user_weights[cfg->n_user_regs] = weight;
    cfg->n_user_regs++;
    return SAE_OK;
}
