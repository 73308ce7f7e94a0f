/* The table of the objective's terms, the pass over the code terms and
 * the statistics they are reported in. SPDX-License-Identifier: MIT */
#include "sparsity/terms.h"

#include <math.h>
#include <string.h>

#include "sparsity/builtin.h"
#include "sparsity/terms_double.h"

const sae_term_t sae_terms[SAE_N_BUILTIN_TERMS] = {
    [SAE_TERM_RECON] = {"recon", SAE_TERM_AT_OUTPUT, SAE_TERM_NO_WEIGHT, 0, NULL},
    [SAE_TERM_KL] = {"kl", SAE_TERM_AT_CODE, SAE_P_KL_WEIGHT, SAE_COEF_COL, sae_kl_fused,
                     sae_kl_double, SAE_P_KL_SQUASH, 0, .warms_up = 1},
    [SAE_TERM_L1] = {"l1", SAE_TERM_AT_CODE, SAE_P_L1_WEIGHT, SAE_COEF_SIGN, sae_l1_fused,
                     sae_l1_double, SAE_P_L1_DECODER_NORM, 0, NULL, 1},
    [SAE_TERM_SAMPLE] = {"sample", SAE_TERM_AT_CODE, SAE_P_SAMPLE_WEIGHT, SAE_COEF_ROW,
                         sae_sample_fused, sae_sample_double},
    [SAE_TERM_BATCH] = {"batch", SAE_TERM_AT_CODE, SAE_P_BATCH_WEIGHT, SAE_COEF_COL,
                        sae_batch_fused, sae_batch_double},
    /* AuxK (Gao et al. 2024, sec. 2.4): the dead units' fit of the residual. */
    [SAE_TERM_AUXK] = {"auxk", SAE_TERM_AT_OUTPUT, SAE_P_AUXK_ALPHA, 0, NULL},
    [SAE_TERM_L2] = {"l2", SAE_TERM_ON_WEIGHTS, SAE_P_WEIGHT_DECAY, 0, NULL},
    /* L0 through a step's straight-through estimator (Rajamanoharan et al.
     * 2024, eq. 11): the operator turns step_coef into its gradient. */
    [SAE_TERM_L0] = {"l0", SAE_TERM_AT_CODE, SAE_P_L0_WEIGHT, SAE_COEF_STEP, sae_l0_fused,
                     sae_l0_double, .warms_up = 1},
    /* The gated SAE's auxiliary reconstruction from relu(pi_gate) through
     * the frozen decoder (Rajamanoharan et al. 2024, arXiv 2404.16014,
     * eq. 8): computed by the operator (code/gated.c). */
    [SAE_TERM_GATED_AUX] = {"gated_aux", SAE_TERM_AT_OUTPUT, SAE_TERM_NO_WEIGHT, 0, NULL},
    /* Anthropic's April 2024 update: |h_j| weighted by ||W_dec row j||. */
    [SAE_TERM_L1_DECNORM] = {"l1", SAE_TERM_AT_CODE, SAE_P_L1_WEIGHT, SAE_COEF_COL,
                             sae_l1_decnorm_fused, sae_l1_decnorm_double,
                             SAE_P_L1_DECODER_NORM, 1, sae_l1_decnorm_atoms, 1},
    /* KL on sigmoid-squashed batch means: each element's gradient has its
     * own factor sigmoid'(h_bj), so it reads the code (the dense hook). */
    [SAE_TERM_KL_SIGMOID] = {"kl", SAE_TERM_AT_CODE, SAE_P_KL_WEIGHT, SAE_COEF_DENSE, NULL,
                             NULL, SAE_P_KL_SQUASH, 1, .warms_up = 1,
                             .dense = sae_kl_sigmoid_dense, .dense_d = sae_kl_sigmoid_double},
};

int sae_term_at_code(size_t id)
{
    return id < SAE_N_BUILTIN_TERMS && (sae_terms[id].fused || sae_terms[id].dense);
}

size_t sae_term_by_weight(sae_param_t key)
{
    size_t id = 0;
    while (id < SAE_N_BUILTIN_TERMS && (key == SAE_TERM_NO_WEIGHT || sae_terms[id].weight != key))
        id++;
    return id;
}

size_t sae_terms_count(const sae_config_t *cfg)
{
    return SAE_N_BUILTIN_TERMS + cfg->n_user_regs;
}

const char *sae_term_name(const sae_config_t *cfg, size_t id)
{
    if (id < SAE_N_BUILTIN_TERMS)
        return sae_terms[id].name;
    return cfg->user_regs[id - SAE_N_BUILTIN_TERMS]->ops.name;
}

float sae_term_weight(const sae_config_t *cfg, size_t id)
{
    if (id >= SAE_N_BUILTIN_TERMS)
        return cfg->user_weights[id - SAE_N_BUILTIN_TERMS];
    if (sae_terms[id].gate && (sae_cfg_int(cfg, sae_terms[id].gate) != 0) != sae_terms[id].gate_on)
        return 0.0f;
    if (sae_terms[id].weight == SAE_TERM_NO_WEIGHT)
        return 1.0f;
    return (float)sae_cfg_float(cfg, sae_terms[id].weight);
}

/* A built-in code term the config turns on. */
static int code_builtin_on(const sae_config_t *cfg, size_t id)
{
    return sae_term_at_code(id) && sae_term_weight(cfg, id) > 0.0f;
}

unsigned sae_terms_code_coefs(const sae_config_t *cfg)
{
    unsigned coefs = cfg->n_user_regs > 0 ? SAE_COEF_DENSE : 0u;
    for (size_t id = 0; id < SAE_N_BUILTIN_TERMS; id++)
        if (code_builtin_on(cfg, id))
            coefs |= sae_terms[id].coefs;
    return coefs;
}

sae_status_t sae_terms_at_code(const sae_config_t *cfg, const sae_code_stats_t *cs,
                               const float *h, size_t rows, size_t units,
                               const sae_term_bufs_t *bufs, int grad, sae_code_grad_terms_t *out,
                               double *sums, char *errbuf)
{
    unsigned coefs = sae_terms_code_coefs(cfg);
    int own_extra = (coefs & SAE_COEF_DENSE) && !bufs->extra_is_grad;
    if (grad) {
        if (coefs & SAE_COEF_ROW)
            memset(bufs->row_coef, 0, rows * sizeof(float));
        if (coefs & SAE_COEF_COL)
            memset(bufs->col_coef, 0, units * sizeof(float));
        if (own_extra)
            memset(bufs->extra, 0, rows * units * sizeof(float));
    }
    sae_reg_coefs_t co = {bufs->row_coef, bufs->col_coef, 0.0f, 0.0f};
    for (size_t id = 0; id < SAE_N_BUILTIN_TERMS; id++) {
        float w = sae_term_at_code(id) ? sae_term_weight(cfg, id) : 0.0f;
        if (w <= 0.0f || (bufs->skip && sae_terms[id].weight == bufs->skip))
            continue;
        if (sae_terms[id].warms_up)
            w *= 1.0f - bufs->warmup_left;
        if (sae_terms[id].dense)
            sums[id] += (double)w * sae_terms[id].dense(cfg, h, rows, units, w,
                                                         grad ? bufs->extra : NULL);
        else
            sums[id] += (double)w * sae_terms[id].fused(cfg, cs, rows, units, w,
                                                         grad ? &co : NULL);
    }
    for (unsigned u = 0; u < cfg->n_user_regs; u++) {
        const sae_user_reg_t *ur = cfg->user_regs[u];
        float w = cfg->user_weights[u];
        double p = ur->ops.penalty(ur->user_data, h, rows, units, w, grad ? bufs->extra : NULL);
        if (!isfinite(p))
            return sae_fail(errbuf, SAE_ERR_DIVERGED,
                            "user regularizer '%s' returned a non-finite penalty", ur->ops.name);
        sums[SAE_N_BUILTIN_TERMS + u] += (double)w * p;
    }
    out->row_coef = coefs & SAE_COEF_ROW ? bufs->row_coef : NULL;
    out->col_coef = coefs & SAE_COEF_COL ? bufs->col_coef : NULL;
    out->sign_coef = co.sign_coef;
    out->step_coef = co.step_coef;
    out->extra = own_extra ? bufs->extra : NULL;
    return SAE_OK;
}

int sae_terms_read_atoms(const sae_config_t *cfg)
{
    for (size_t id = 0; id < SAE_N_BUILTIN_TERMS; id++)
        if (sae_terms[id].atoms_grad && sae_term_weight(cfg, id) > 0.0f)
            return 1;
    return 0;
}

void sae_terms_atom_norms(const float *atoms, size_t units, size_t dim, float *norm)
{
    for (size_t j = 0; j < units; j++) {
        const float *r = atoms + j * dim;
        double ss = 0.0;
        for (size_t i = 0; i < dim; i++)
            ss += (double)r[i] * (double)r[i];
        norm[j] = (float)sqrt(ss);
    }
}

float sae_terms_warmup_factor(const sae_config_t *cfg, uint64_t step)
{
    uint64_t n = (uint64_t)sae_cfg_int(cfg, SAE_P_SPARSITY_WARMUP);
    return n == 0 || step >= n ? 1.0f : (float)((double)step / (double)n);
}

void sae_terms_atoms_grad(const sae_config_t *cfg, const sae_code_stats_t *st, size_t rows,
                          size_t units, const float *atoms, size_t dim, float warmup_left,
                          float *grad)
{
    for (size_t id = 0; id < SAE_N_BUILTIN_TERMS; id++) {
        float w = sae_terms[id].atoms_grad ? sae_term_weight(cfg, id) : 0.0f;
        if (sae_terms[id].warms_up)
            w *= 1.0f - warmup_left;
        if (w > 0.0f)
            sae_terms[id].atoms_grad(cfg, st, rows, units, w, atoms, dim, grad);
    }
}

void sae_terms_report_code(const sae_config_t *cfg, const double *sums, sae_stats_t *s)
{
    size_t n = sae_terms_count(cfg);
    for (size_t id = 0; id < n; id++)
        if (id >= SAE_N_BUILTIN_TERMS || code_builtin_on(cfg, id))
            sae_stats_add_term(s, sae_term_name(cfg, id), sums[id]);
}

void sae_terms_report_one(sae_stats_t *s, sae_term_id_t id, double value)
{
    if (id == SAE_TERM_RECON) {
        s->recon_loss = value;
        s->loss += value;
        return;
    }
    sae_stats_add_term(s, sae_terms[id].name, value);
}

void sae_stats_add_term(sae_stats_t *s, const char *name, double value)
{
    if (s->n_terms < SAE_MAX_TERMS) {
        s->term_name[s->n_terms] = name;
        s->term_loss[s->n_terms] = value;
        s->n_terms++;
    }
    s->loss += value;
}

void sae_stats_start(sae_stats_t *s, size_t rows)
{
    memset(s, 0, sizeof *s);
    s->struct_size = (uint32_t)sizeof *s;
    s->samples = rows;
}

void sae_stats_code(sae_stats_t *s, const sae_code_stats_t *cs, size_t rows, size_t units)
{
    double sum = 0.0;
    for (size_t j = 0; j < units; j++)
        sum += cs->col_sum[j];
    s->mean_activation = sum / ((double)rows * (double)units);
    s->l0 = cs->active / (double)rows;
}
