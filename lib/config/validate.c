/* The checks across keys that hold whatever the kind of model: corruption,
 * and what each training algorithm needs of the config. A model kind's own
 * checks are its validate entry (model/kind.h); sae_model_create runs
 * those first, then these. SPDX-License-Identifier: MIT */
#include <inttypes.h>

#include "config/config.h"
#include "config/recipes.h"

/* What a training algorithm without a loss (nsc, rank_order) cannot honour:
 * regularizers and decay need an objective, corruption a denoising one.
 * NULL when none is set. */
static const char *loss_free_conflict(const sae_config_t *cfg)
{
    if (sae_cfg_float(cfg, SAE_P_KL_WEIGHT) > 0 || sae_cfg_float(cfg, SAE_P_L1_WEIGHT) > 0 ||
        sae_cfg_float(cfg, SAE_P_SAMPLE_WEIGHT) > 0 || sae_cfg_float(cfg, SAE_P_BATCH_WEIGHT) > 0 ||
        cfg->n_user_regs > 0)
        return "no regularizer (kl, l1, sample and batch weights 0, no user one): it has no "
               "loss to add them to";
    if (sae_cfg_float(cfg, SAE_P_WEIGHT_DECAY) > 0)
        return "decay.l2 = 0 (it uses no optimizer)";
    if (sae_cfg_float(cfg, SAE_P_NOISE_STDDEV) > 0 || sae_cfg_float(cfg, SAE_P_INPUT_KEEP) < 1 ||
        sae_cfg_float(cfg, SAE_P_HIDDEN_KEEP) < 1)
        return "no corruption (corrupt.noise_std = 0, corrupt.input_keep = 1, "
               "corrupt.hidden_keep = 1)";
    return NULL;
}

/* Neural sparse coding (Arora et al. 2015, train/nsc.c) updates A = encoder.weight^T by its
 * own rule, not by descending the objective: the settings it would
 * silently ignore are refused instead. */
static sae_status_t validate_nsc(const sae_config_t *cfg, char *errbuf)
{
    const char *why = NULL;
    if (!sae_cfg_int(cfg, SAE_P_TIED))
        why = "arch.tied = true (the dictionary A is stored once, as encoder.weight = A^T)";
    else if (sae_cfg_int(cfg, SAE_P_BIAS))
        why = "arch.bias = false (the code is A^T y and the reconstruction A x)";
    else if (sae_cfg_int(cfg, SAE_P_HIDDEN_ACTIVATION) != SAE_ACT_LINEAR ||
             sae_cfg_int(cfg, SAE_P_OUTPUT_ACTIVATION) != SAE_ACT_LINEAR)
        why = "arch.hidden_activation = linear and arch.output_activation = linear";
    else
        why = loss_free_conflict(cfg);
    if (!why && sae_cfg_int(cfg, SAE_P_TOPK_K) > 0)
        why = "topk.k = 0 (its code is the thresholded A^T y, not a top-k selection)";
    if (why)
        return sae_fail(errbuf, SAE_ERR_STATE, "train.algorithm = nsc needs %s", why);
    return SAE_OK;
}

/* The rank-order update (train/rank_order.c) is defined for one tied
 * matrix without biases and TReLU on both sides (Bertens 2016); like nsc it descends
 * no objective, so the settings it would silently ignore are refused. */
static sae_status_t validate_rank_order(const sae_config_t *cfg, char *errbuf)
{
    const char *why = NULL;
    if (!sae_cfg_int(cfg, SAE_P_TIED))
        why = "arch.tied = true (one matrix W encodes, x W / D, and decodes, W h)";
    else if (sae_cfg_int(cfg, SAE_P_BIAS))
        why = "arch.bias = false (the update has no bias terms)";
    else if (sae_cfg_int(cfg, SAE_P_HIDDEN_ACTIVATION) != SAE_ACT_TRELU ||
             sae_cfg_int(cfg, SAE_P_OUTPUT_ACTIVATION) != SAE_ACT_TRELU)
        why = "arch.hidden_activation = trelu and arch.output_activation = trelu (the code "
              "and every prefix reconstruction are clipped to [0, 1])";
    else
        why = loss_free_conflict(cfg);
    if (!why && sae_cfg_int(cfg, SAE_P_TOPK_K) > 0)
        why = "topk.k = 0 (every active unit takes part in the ranking)";
    else if (!why && sae_cfg_int(cfg, SAE_P_LR_DECAY_EVERY) > 0)
        why = "schedule.decay_every = 0 (its rate follows rank_order.lr, decayed by "
              "rank_order.decay_factor after epochs of too little progress)";
    if (why)
        return sae_fail(errbuf, SAE_ERR_STATE, "train.algorithm = rank_order needs %s", why);
    return SAE_OK;
}

static sae_status_t check_noise_clip(const sae_config_t *cfg, char *errbuf)
{
    double clip = sae_cfg_float(cfg, SAE_P_NOISE_CLIP);
    if (clip > 0.0 && clip < 0.5)
        return sae_fail(errbuf, SAE_ERR_RANGE,
                        "corrupt.noise_clip = %g: truncation must be 0 (off) or at least 0.5 "
                        "std, else nearly every draw is rejected",
                        clip);
    return SAE_OK;
}


sae_status_t sae_config_validate(const sae_config_t *cfg, char *errbuf)
{
    if (sae_cfg_int(cfg, SAE_P_UNIT_NORM_DECODER) &&
        sae_cfg_int(cfg, SAE_P_OPTIMIZER) == SAE_OPT_LBFGS)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "arch.unit_norm_decoder is a projected update, which optim.type = lbfgs "
                        "does not do: use sgd or adam");
    sae_status_t st = check_noise_clip(cfg, errbuf);
    if (st != SAE_OK)
        return st;
    st = sae_config_validate_recipes(cfg, errbuf);
    if (st != SAE_OK)
        return st;
    int64_t algo = sae_cfg_int(cfg, SAE_P_ALGORITHM);
    if (algo != SAE_ALGO_BACKPROP && sae_cfg_int(cfg, SAE_P_OPTIMIZER) == SAE_OPT_LBFGS)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "optim.type = lbfgs descends an objective: train.algorithm must be "
                        "backprop");
    if (algo != SAE_ALGO_BACKPROP && sae_cfg_int(cfg, SAE_P_UNIT_NORM_DECODER))
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "arch.unit_norm_decoder applies to backprop training; train.algorithm "
                        "= nsc normalises its atoms itself and rank_order does not");
    if (algo == SAE_ALGO_NSC)
        return validate_nsc(cfg, errbuf);
    if (algo == SAE_ALGO_RANK_ORDER)
        return validate_rank_order(cfg, errbuf);
    return SAE_OK;
}
