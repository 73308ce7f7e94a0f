/* The learning-rate schedule (schedule.h). SPDX-License-Identifier: MIT */
#include "train/schedule.h"

#include <math.h>

double sae_schedule_factor(const sae_config_t *cfg, uint64_t step)
{
    double f = 1.0;
    uint64_t warm = (uint64_t)sae_cfg_int(cfg, SAE_P_SCHEDULE_WARMUP);
    if (step < warm)
        f = (double)(step + 1) / (double)warm;
    int64_t type = sae_cfg_int(cfg, SAE_P_SCHEDULE_TYPE);
    if (type == SAE_SCHEDULE_STEP) {
        int64_t every = sae_cfg_int(cfg, SAE_P_LR_DECAY_EVERY);
        if (every > 0)
            f *= pow(sae_cfg_float(cfg, SAE_P_LR_DECAY_FACTOR), (double)(step / (uint64_t)every));
        return f;
    }
    if (type == SAE_SCHEDULE_CONSTANT)
        return f;
    uint64_t start = (uint64_t)sae_cfg_int(cfg, SAE_P_SCHEDULE_DECAY_START);
    uint64_t total = (uint64_t)sae_cfg_int(cfg, SAE_P_SCHEDULE_TOTAL);
    double lo = sae_cfg_float(cfg, SAE_P_SCHEDULE_MIN_FACTOR);
    if (step < start || total <= start)
        return f;
    if (step >= total)
        return f * lo;
    double p = (double)(step - start) / (double)(total - start);
    double shape = type == SAE_SCHEDULE_COSINE ? 0.5 * (1.0 + cos(M_PI * p)) : 1.0 - p;
    return f * (lo + (1.0 - lo) * shape);
}

double sae_schedule_rate(const sae_config_t *cfg, double base, uint64_t step)
{
    return base * sae_schedule_factor(cfg, step);
}
