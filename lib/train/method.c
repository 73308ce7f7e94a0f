/* The registry of training methods. SPDX-License-Identifier: MIT */
#include "train/method.h"

#define ANY (-1)

/* First match wins: the rule-based algorithms whatever optim.type says
 * (the config refuses lbfgs with them), then L-BFGS, then backprop. */
static const struct {
    int64_t algorithm, optimizer;
    const sae_method_t *method;
} registry[] = {
    {SAE_ALGO_NSC, ANY, &sae_method_nsc},
    {SAE_ALGO_RANK_ORDER, ANY, &sae_method_rank_order},
    {SAE_ALGO_BACKPROP, SAE_OPT_LBFGS, &sae_method_lbfgs},
    {SAE_ALGO_BACKPROP, ANY, &sae_method_backprop},
};

const sae_method_t *sae_method_for(const sae_config_t *cfg)
{
    int64_t algorithm = sae_cfg_int(cfg, SAE_P_ALGORITHM);
    int64_t optimizer = sae_cfg_int(cfg, SAE_P_OPTIMIZER);
    for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
        if (registry[i].algorithm == algorithm &&
            (registry[i].optimizer == ANY || registry[i].optimizer == optimizer))
            return registry[i].method;
    return &sae_method_backprop;
}
