/* The layered model, the "layered" kind (arch.layers): a list of Conv2D,
 * ConvTranspose2D, MaxPool2D and dense layers, one of whose outputs is the
 * code (model/network.c builds and runs it; train/layered_pass.c trains
 * it). SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdlib.h>

#include "model/kind.h"
#include "model/model.h"
#include "model/network.h"

static int selects(const sae_config_t *cfg)
{
    return cfg->layers.n > 0;
}

/* What the one-hidden-layer machinery does that a layer list cannot use;
 * refused rather than silently ignored. NULL when none is set. */
static const char *layered_conflict(const sae_config_t *cfg)
{
    if (sae_cfg_int(cfg, SAE_P_ALGORITHM) != SAE_ALGO_BACKPROP)
        return "train.algorithm = backprop (nsc and rank_order are one-matrix algorithms)";
    if (sae_cfg_int(cfg, SAE_P_TIED))
        return "arch.tied = false (each layer has its own weights)";
    if (sae_cfg_int(cfg, SAE_P_TOPK_K) > 0)
        return "topk.k = 0 (top-k codes are for the one-hidden-layer model)";
    if (sae_cfg_int(cfg, SAE_P_UNIT_NORM_DECODER) || sae_cfg_int(cfg, SAE_P_ENCODER_FROM_DECODER))
        return "arch.unit_norm_decoder = false and arch.encoder_from_decoder = false";
    if (sae_cfg_float(cfg, SAE_P_HIDDEN_KEEP) < 1.0)
        return "corrupt.hidden_keep = 1 (hidden dropout acts on the one-hidden-layer code)";
    if (sae_cfg_int(cfg, SAE_P_OPTIMIZER) == SAE_OPT_LBFGS)
        return "optim.type = sgd or adam";
    if (sae_cfg_int(cfg, SAE_P_PRE_ENCODER_BIAS) || sae_cfg_int(cfg, SAE_P_BIAS_INIT) != 0)
        return "arch.pre_encoder_bias = false and arch.bias_init = zero (decoder.bias is the "
               "one-hidden-layer model's)";
    if (sae_cfg_int(cfg, SAE_P_AUXK_K) > 0)
        return "auxk.k = 0 (AuxK needs a top-k code)";
    if (sae_cfg_int(cfg, SAE_P_HIDDEN_ACTIVATION) == SAE_ACT_JUMPRELU ||
        sae_cfg_float(cfg, SAE_P_L0_WEIGHT) > 0.0 || sae_cfg_int(cfg, SAE_P_GATED))
        return "arch.hidden_activation other than jumprelu, l0.weight = 0 and arch.gated = false "
               "(the JumpReLU and gated codes are the one-hidden-layer model's)";
    return NULL;
}

static sae_status_t validate(const sae_config_t *cfg, char *errbuf)
{
    const sae_netspec_t *s = &cfg->layers;
    const char *why = layered_conflict(cfg);
    if (why)
        return sae_fail(errbuf, SAE_ERR_STATE, "a model with arch.layers needs %s", why);
    const sae_layer_spec_t *last = &s->layer[s->n - 1];
    if (sae_cfg_int(cfg, SAE_P_LOSS) == SAE_LOSS_BCE &&
        (last->act != SAE_ACT_SIGMOID || last->kind == SAE_LAYER_MAXPOOL2D))
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "loss.type = bce needs the last layer of arch.layers to be sigmoid (the "
                        "loss is computed from the logits)");
    size_t code = sae_netspec_out_size(s, sae_netspec_code_layer(s));
    if ((uint64_t)sae_cfg_int(cfg, SAE_P_KWTA_K) > code)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "encode.k = %" PRId64 " is larger than the code's %zu values",
                        sae_cfg_int(cfg, SAE_P_KWTA_K), code);
    /* Work buffers are indexed with 32-bit offsets and BLAS int sizes. */
    uint64_t batch = (uint64_t)sae_cfg_int(cfg, SAE_P_BATCH_SIZE);
    for (size_t i = 0; i < s->n; i++) {
        sae_conv_geom_t g = sae_netspec_geom(s, i);
        uint64_t out = (uint64_t)g.out_c * g.out_h * g.out_w;
        uint64_t in = (uint64_t)g.in_c * g.in_h * g.in_w;
        uint64_t w = s->layer[i].kind == SAE_LAYER_DENSE ? in * out
                                                         : (uint64_t)g.in_c * g.out_c * g.kernel *
                                                               g.kernel;
        if (batch * (out > in ? out : in) >= ((uint64_t)1 << 31) || w >= ((uint64_t)1 << 31))
            return sae_fail(errbuf, SAE_ERR_RANGE,
                            "arch.layers: layer %zu with train.batch_size = %" PRIu64
                            " reaches 2^31 elements",
                            i, batch);
    }
    return SAE_OK;
}

static sae_status_t bind(sae_model_t *m, char *errbuf)
{
    (void)errbuf;
    sae_net_bind(m);
    return SAE_OK;
}

static void release(sae_model_t *m)
{
    free(sae_net(m));
}

static sae_status_t encode(sae_model_t *m, const float *x, size_t rows, float *code)
{
    return sae_net_run(m, x, rows, 0, sae_net(m)->code, code);
}

static sae_status_t decode(sae_model_t *m, const float *code, size_t rows, float *x_hat)
{
    return sae_net_run(m, code, rows, sae_net(m)->code + 1, sae_net(m)->n - 1, x_hat);
}

static sae_status_t reconstruct(sae_model_t *m, const float *x, size_t rows, float *x_hat)
{
    return sae_net_run(m, x, rows, 0, sae_net(m)->n - 1, x_hat);
}

static size_t layer_count(const sae_model_t *m)
{
    return sae_net(m)->n;
}

static void layer_shape(const sae_model_t *m, size_t index, size_t *c, size_t *h, size_t *w)
{
    const sae_conv_geom_t *g = &sae_net(m)->layer[index].g;
    *c = g->out_c;
    *h = g->out_h;
    *w = g->out_w;
}

const sae_model_kind_t sae_kind_layered = {
    .name = "layered",
    .selects = selects,
    .validate = validate,
    .build = sae_net_build,
    .bind = bind,
    .init = sae_net_init_params,
    .release = release,
    .tensor_set = NULL,
    .encode = encode,
    .decode = decode,
    .reconstruct = reconstruct,
    .layer_count = layer_count,
    .layer_shape = layer_shape,
    .no_ranked_decoder = "a model with arch.layers has no ranked decoder columns",
    .no_decoder_bias = "a model with arch.layers has no single decoder.bias",
};
