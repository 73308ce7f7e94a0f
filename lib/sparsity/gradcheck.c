/* Gradient check of regularizers against central differences in double.
 * SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdlib.h>

#include "core/rng.h"
#include "sparsity/regularizer.h"

/* Either a user ops table or a built-in with its config. */
typedef struct reg_ref {
    const sae_regularizer_ops_t *ops;
    void *user_data;
    const sae_term_t *builtin;
    const sae_config_t *cfg;
} reg_ref_t;

static double reg_eval(const reg_ref_t *r, const float *h, size_t rows, size_t units,
                       float *grad)
{
    if (r->ops)
        return r->ops->penalty(r->user_data, h, rows, units, 1.0f, grad);
    return sae_builtin_penalty(r->builtin, r->cfg, h, rows, units, 1.0f, grad);
}

/* The step is large enough that float rounding of the inputs stays far
 * below the difference, small enough for the smooth terms' curvature. */
#define GC_EPS 1e-3f

static sae_status_t check_one(const reg_ref_t *r, size_t rows, size_t units, uint64_t seed,
                              double *max_rel_err)
{
    size_t n = rows * units;
    float *h = malloc(n * sizeof *h);
    float *g = calloc(n, sizeof *g);
    if (!h || !g) {
        free(h);
        free(g);
        return sae_fail_global(SAE_ERR_NOMEM, "gradient check: out of memory");
    }
    sae_rng_t rng;
    sae_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++)
        h[i] = 0.05f + 0.9f * sae_rng_uniform(&rng);
    double base = reg_eval(r, h, rows, units, g);
    sae_status_t st = SAE_OK;
    if (!isfinite(base)) {
        st = sae_fail_global(SAE_ERR_DIVERGED, "gradient check: penalty is not finite");
        goto out;
    }
    double diff2 = 0.0, sum2 = 0.0;
    for (size_t i = 0; i < n; i++) {
        float keep = h[i];
        h[i] = keep + GC_EPS;
        double up = reg_eval(r, h, rows, units, NULL);
        h[i] = keep - GC_EPS;
        double down = reg_eval(r, h, rows, units, NULL);
        h[i] = keep;
        /* Divide by the step actually taken in float. */
        double step = (double)(keep + GC_EPS) - (double)(keep - GC_EPS);
        double num = (up - down) / step, ana = (double)g[i];
        diff2 += (num - ana) * (num - ana);
        sum2 += (num + ana) * (num + ana);
    }
    /* ||num - ana|| / ||num + ana||, the UFLDL measure. */
    double worst = sum2 > 0.0 ? sqrt(diff2 / sum2) : sqrt(diff2);
    if (isnan(worst))
        worst = INFINITY;
    if (worst > *max_rel_err)
        *max_rel_err = worst;
out:
    free(h);
    free(g);
    return st;
}

sae_status_t sae_regularizer_gradcheck(const sae_regularizer_ops_t *ops, void *user_data,
                                       size_t rows, size_t units, uint64_t seed,
                                       double *max_rel_err)
{
    if (!ops || !max_rel_err)
        return sae_fail_global(SAE_ERR_NULL, "sae_regularizer_gradcheck: NULL argument");
    if (!ops->penalty)
        return sae_fail_global(SAE_ERR_NULL, "sae_regularizer_gradcheck: ops->penalty is NULL");
    if (rows == 0 || units == 0 || rows > 4096 || units > 4096 || rows * units > 65536)
        return sae_fail_global(SAE_ERR_RANGE,
                               "sae_regularizer_gradcheck: rows x units must be 1..65536");
    *max_rel_err = 0.0;
    reg_ref_t r = {ops, user_data, NULL, NULL};
    return check_one(&r, rows, units, seed, max_rel_err);
}

sae_status_t sae_config_gradcheck_regularizers(const sae_config_t *cfg, size_t rows,
                                               uint64_t seed, double *max_rel_err)
{
    if (!cfg || !max_rel_err)
        return sae_fail_global(SAE_ERR_NULL, "sae_config_gradcheck_regularizers: NULL argument");
    size_t units = (size_t)sae_cfg_int(cfg, SAE_P_HIDDEN_DIM);
    if (rows == 0 || units == 0 || rows > 4096 || rows > 65536 / units)
        return sae_fail_global(SAE_ERR_RANGE,
                               "sae_config_gradcheck_regularizers: rows x hidden_dim must be "
                               "1..65536");
    *max_rel_err = 0.0;
    for (size_t id = 0; id < SAE_N_BUILTIN_TERMS; id++) {
        if (!sae_term_at_code(id) || sae_term_weight(cfg, id) <= 0.0f)
            continue;
        reg_ref_t r = {NULL, NULL, &sae_terms[id], cfg};
        sae_status_t st = check_one(&r, rows, units, seed, max_rel_err);
        if (st != SAE_OK)
            return st;
    }
    for (unsigned i = 0; i < cfg->n_user_regs; i++) {
        reg_ref_t r = {&cfg->user_regs[i]->ops, cfg->user_regs[i]->user_data, NULL, NULL};
        sae_status_t st = check_one(&r, rows, units, seed, max_rel_err);
        if (st != SAE_OK)
            return st;
    }
    return SAE_OK;
}
