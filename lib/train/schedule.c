/* Step decay of a learning rate. SPDX-License-Identifier: MIT */
#include "train/schedule.h"

#include <math.h>

double sae_schedule_rate(const sae_config_t *cfg, double base, uint64_t step)
{
    double rate = base;
    int64_t every = sae_cfg_int(cfg, SAE_P_LR_DECAY_EVERY);
    if (every > 0)
        rate *= pow(sae_cfg_float(cfg, SAE_P_LR_DECAY_FACTOR), (double)(step / (uint64_t)every));
    return rate;
}
