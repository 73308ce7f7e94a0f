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

sae_status_t sae_config_validate_recipes(const sae_config_t *cfg, char *errbuf)
{
    sae_status_t st = check_decoder_norm(cfg, errbuf);
    if (st == SAE_OK)
        st = check_matryoshka(cfg, errbuf);
    return st;
}
