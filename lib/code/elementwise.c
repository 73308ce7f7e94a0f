/* The element-wise code: h = f(z + b) for arch.hidden_activation f
 * (sigmoid, relu, tanh, trelu, linear), through the fused kernels of
 * layers/activation.c, which gather the statistics in the same pass; its
 * double form, for the double-precision gradient check, through libm's in
 * layers/activation_double.c.
 * SPDX-License-Identifier: MIT */
#include "code/code_op.h"
#include "layers/activation_double.h"

static int selects(const sae_config_t *cfg)
{
    (void)cfg;
    return 1; /* the default: last in the registry */
}

static void forward(void *state, const sae_code_ctx_t *cx, float *z, const float *bias,
                    size_t rows, size_t units, sae_code_stats_t *st)
{
    (void)state;
    sae_bias_act_forward(cx->act, z, rows, units, bias, st, cx->scr);
}

static void backward(void *state, const sae_code_ctx_t *cx, const float *h, float *dh,
                     size_t rows, size_t units, const sae_code_grad_terms_t *terms, float *dbias)
{
    (void)state;
    sae_act_backward(cx->act, h, dh, rows, units, terms, dbias, cx->scr);
}

static void infer(void *state, sae_activation_t act, float *z, const float *bias, size_t rows,
                  size_t units, int threads)
{
    (void)state;
    sae_reduce_scratch_t scr = {NULL, threads};
    sae_bias_act_forward(act, z, rows, units, bias, NULL, &scr);
}

static void forward_d(const sae_config_t *cfg, sae_activation_t act, const double *z, double *h,
                      size_t n)
{
    (void)cfg;
    for (size_t i = 0; i < n; i++)
        h[i] = sae_act_d(act, z[i]);
}

const sae_code_op_t sae_code_activation = {
    .name = "activation",
    .selects = selects,
    .validate = sae_code_no_keys,
    .create = sae_code_no_state,
    .destroy = sae_code_free_nothing,
    .forward = forward,
    .backward = backward,
    .support = sae_code_dense,
    .max_active = sae_code_unbounded,
    .infer = infer,
    .forward_d = forward_d,
    .deriv_d = sae_act_deriv_d,
};
