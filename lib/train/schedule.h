/* The learning-rate schedule: step decay (schedule.decay_every,
 * schedule.decay_factor) of a base rate, the same rule for optim.lr and
 * nsc.eta. SPDX-License-Identifier: MIT */
#ifndef SAE_TRAIN_SCHEDULE_H
#define SAE_TRAIN_SCHEDULE_H

#include <stdint.h>

#include "config/config.h"

/* base * decay_factor^floor(step / decay_every) at step `step` (0-based);
 * base itself when decay_every is 0. */
double sae_schedule_rate(const sae_config_t *cfg, double base, uint64_t step);

#endif
