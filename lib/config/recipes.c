/* The checks across keys of the modern SAE family's terms and recipes
 * (recipes.h). SPDX-License-Identifier: MIT */
#include "config/recipes.h"

/* Decoder-norm L1 weighs |h_j| and is written for codes where |h| = h. */
static sae_status_t check_decoder_norm(const sae_config_t *cfg, char *errbuf)
{
    if (!sae_cfg_int(cfg, SAE_P_L1_DECODER_NORM) || !(sae_cfg_float(cfg, SAE_P_L1_WEIGHT) > 0))
        return SAE_OK;
    if (cfg->layers.n > 0)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "l1.decoder_norm weighs the code by the decoder's rows: it needs the "
                        "one-hidden-layer model, not arch.layers");
    int64_t act = sae_cfg_int(cfg, SAE_P_HIDDEN_ACTIVATION);
    if (act != SAE_ACT_RELU && act != SAE_ACT_SIGMOID && act != SAE_ACT_TRELU)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "l1.decoder_norm needs a nonnegative code: arch.hidden_activation = "
                        "relu, sigmoid or trelu");
    return SAE_OK;
}

/* Matryoshka prefixes: the last is the whole dictionary (the model's
 * code), and the prefixes' reconstructions are the one-hidden-layer pass's. */
static sae_status_t check_matryoshka(const sae_config_t *cfg, char *errbuf)
{
    if (cfg->n_prefixes == 0)
        return SAE_OK;
    if (cfg->layers.n > 0)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "matryoshka.prefixes needs the one-hidden-layer model, not arch.layers");
    int64_t h = sae_cfg_int(cfg, SAE_P_HIDDEN_DIM), last = cfg->prefixes[cfg->n_prefixes - 1];
    if (last != h)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "matryoshka.prefixes must end with the whole dictionary: its last size "
                        "is %lld, arch.hidden_dim = %lld",
                        (long long)last, (long long)h);
    if (sae_cfg_int(cfg, SAE_P_ALGORITHM) != SAE_ALGO_BACKPROP)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "matryoshka.prefixes is a loss: train.algorithm must be backprop");
    if (sae_cfg_float(cfg, SAE_P_HIDDEN_KEEP) < 1.0)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "matryoshka.prefixes cannot be combined with corrupt.hidden_keep < 1");
    return SAE_OK;
}

/* schedule.type 2, 3 (cosine, linear) decay between two steps; methods
 * without a learning rate cannot take a schedule other than 0.3's. */
static sae_status_t check_schedule(const sae_config_t *cfg, char *errbuf)
{
    int64_t type = sae_cfg_int(cfg, SAE_P_SCHEDULE_TYPE);
    int64_t start = sae_cfg_int(cfg, SAE_P_SCHEDULE_DECAY_START);
    int64_t total = sae_cfg_int(cfg, SAE_P_SCHEDULE_TOTAL);
    if ((type == 2 || type == 3) && total <= start)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "schedule.type = %s decays from schedule.decay_start = %lld to "
                        "schedule.total_steps = %lld: total_steps must be larger",
                        type == 2 ? "cosine" : "linear", (long long)start, (long long)total);
    int custom = type != 0 || sae_cfg_int(cfg, SAE_P_SCHEDULE_WARMUP) > 0;
    if (custom && sae_cfg_int(cfg, SAE_P_ALGORITHM) == SAE_ALGO_RANK_ORDER)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "train.algorithm = rank_order has its own rate rule: schedule.type must "
                        "be step and schedule.warmup_steps 0");
    if (custom && sae_cfg_int(cfg, SAE_P_OPTIMIZER) == SAE_OPT_LBFGS)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "optim.type = lbfgs takes no learning rate: schedule.type must be step "
                        "and schedule.warmup_steps 0");
    return SAE_OK;
}

/* Input normalisation scales x on the way in and x_hat on the way out;
 * the fold into the weights needs both sides separate and linear. */
static sae_status_t check_normalize(const sae_config_t *cfg, char *errbuf)
{
    if (!sae_cfg_int(cfg, SAE_P_NORMALIZE_INPUT))
        return SAE_OK;
    const char *why = NULL;
    if (cfg->layers.n > 0)
        why = "the one-hidden-layer model, not arch.layers";
    else if (sae_cfg_int(cfg, SAE_P_TIED))
        why = "an untied model (the fold scales the encoder by s and the decoder by 1/s)";
    else if (sae_cfg_int(cfg, SAE_P_OUTPUT_ACTIVATION) != SAE_ACT_LINEAR ||
             sae_cfg_int(cfg, SAE_P_LOSS) != SAE_LOSS_MSE)
        why = "arch.output_activation = linear and loss.type = mse";
    else if (sae_cfg_int(cfg, SAE_P_ALGORITHM) != SAE_ALGO_BACKPROP)
        why = "train.algorithm = backprop";
    if (why)
        return sae_fail(errbuf, SAE_ERR_STATE, "arch.normalize_input needs %s", why);
    return SAE_OK;
}

/* Resampling writes an encoder and a decoder row per dead unit, through
 * backprop's optimizer state. */
static sae_status_t check_resample(const sae_config_t *cfg, char *errbuf)
{
    if (sae_cfg_int(cfg, SAE_P_RESAMPLE_EVERY) == 0)
        return SAE_OK;
    const char *why = NULL;
    if (cfg->layers.n > 0)
        why = "the one-hidden-layer model, not arch.layers";
    else if (sae_cfg_int(cfg, SAE_P_TIED))
        why = "an untied model (the encoder and decoder rows get different lengths)";
    else if (sae_cfg_int(cfg, SAE_P_ALGORITHM) != SAE_ALGO_BACKPROP ||
             sae_cfg_int(cfg, SAE_P_OPTIMIZER) == SAE_OPT_LBFGS)
        why = "train.algorithm = backprop with optim.type = sgd or adam";
    if (why)
        return sae_fail(errbuf, SAE_ERR_STATE, "resample.every > 0 needs %s", why);
    return SAE_OK;
}

sae_status_t sae_config_validate_recipes(const sae_config_t *cfg, char *errbuf)
{
    sae_status_t (*const checks[])(const sae_config_t *, char *) = {
        check_decoder_norm, check_matryoshka, check_schedule, check_normalize, check_resample,
    };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        sae_status_t st = checks[i](cfg, errbuf);
        if (st != SAE_OK)
            return st;
    }
    return SAE_OK;
}
