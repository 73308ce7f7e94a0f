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

static sae_status_t create(const sae_config_t *cfg, size_t units, size_t rows, void **state)
{
    (void)units, (void)rows;
    *state = (void *)cfg; /* nsc.tau is read from the model's config */
    return SAE_OK;
}

static void forward(void *state, const sae_code_ctx_t *cx, float *z, const float *bias,
                    size_t rows, size_t units, sae_code_stats_t *st)
{
    const sae_config_t *cfg = state;
    sae_bias_act_forward(cx->act, z, rows, units, bias, NULL, cx->scr);
    sae_hard_threshold(z, rows * units, (float)sae_cfg_float(cfg, SAE_P_NSC_TAU));
    sae_code_stats(cx->act, z, rows, units, st, cx->scr);
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
    .validate = sae_code_no_keys, /* train.algorithm = nsc's needs: config/validate.c */
    .create = create,
    .destroy = sae_code_free_nothing,
    .forward = forward,
    .backward = NULL,
    .support = sae_code_dense,
    .max_active = sae_code_unbounded,
    .infer = infer,
};
