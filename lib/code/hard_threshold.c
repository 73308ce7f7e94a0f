/* The code of neural sparse coding (Arora, Ge, Ma & Moitra 2015): the
 * linear response A^T y with every entry below nsc.tau in magnitude set to
 * zero (their threshold_{C/2}). The rule that trains it descends no loss,
 * so the operator has an inference form and a forward, and no backward.
 * SPDX-License-Identifier: MIT */
#include "code/code_op.h"
#include "layers/threshold.h"

static int selects(const sae_config_t *cfg)
{
    return sae_cfg_int(cfg, SAE_P_ALGORITHM) == SAE_ALGO_NSC;
}

static sae_status_t validate(const sae_config_t *cfg, size_t units, char *errbuf)
{
    (void)cfg, (void)units, (void)errbuf;
    return SAE_OK; /* train.algorithm = nsc's needs are config/validate.c's */
}

static sae_status_t create(const sae_config_t *cfg, size_t units, size_t rows, void **state)
{
    (void)units, (void)rows;
    *state = (void *)cfg;
    return SAE_OK;
}

static void destroy(void *state)
{
    (void)state;
}

static void forward(void *state, const sae_code_ctx_t *cx, float *z, const float *bias,
                    size_t rows, size_t units, sae_code_stats_t *st)
{
    const sae_config_t *cfg = state;
    sae_bias_act_forward(cx->act, z, rows, units, bias, NULL, cx->scr);
    sae_hard_threshold(z, rows * units, (float)sae_cfg_float(cfg, SAE_P_NSC_TAU));
    sae_code_stats(cx->act, z, rows, units, st, cx->scr);
}

/* Not reached: the nsc method has no objective to differentiate. */
static void backward(void *state, const sae_code_ctx_t *cx, const float *h, float *dh,
                     size_t rows, size_t units, const sae_code_grad_terms_t *terms, float *dbias)
{
    (void)state;
    sae_act_backward(cx->act, h, dh, rows, units, terms, dbias, cx->scr);
}

static const sae_sparse_code_t *support(const void *state)
{
    (void)state;
    return NULL;
}

static size_t max_active(const sae_config_t *cfg)
{
    (void)cfg;
    return 0;
}

static void infer(void *state, sae_activation_t act, float *z, const float *bias, size_t rows,
                  size_t units, int threads)
{
    const sae_config_t *cfg = state;
    sae_reduce_scratch_t scr = {NULL, threads};
    sae_bias_act_forward(act, z, rows, units, bias, NULL, &scr);
    sae_hard_threshold(z, rows * units, (float)sae_cfg_float(cfg, SAE_P_NSC_TAU));
}

const sae_code_op_t sae_code_threshold = {
    .name = "hard_threshold",
    .selects = selects,
    .validate = validate,
    .create = create,
    .destroy = destroy,
    .forward = forward,
    .backward = backward,
    .support = support,
    .max_active = max_active,
    .infer = infer,
};
