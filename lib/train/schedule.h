/* The learning-rate schedule of a base rate (optim.lr, nsc.eta): a linear
 * warm-up over schedule.warmup_steps, times a shape by schedule.type:
 *   step      decay_factor^floor(s / decay_every) (0.1's step decay; the
 *             default, so that configs of 0.3 train as before)
 *   constant  1
 *   cosine    m + (1 - m) (1 + cos(pi p)) / 2      (Loshchilov & Hutter,
 *             SGDR, arXiv 1608.03983, without restarts)
 *   linear    m + (1 - m) (1 - p)
 * with p = (s - decay_start) / (total_steps - decay_start) in [0, 1]: 1
 * before decay_start, the floor m = min_factor from total_steps on.
 * Warm-up: step s < w uses (s + 1) / w of the rate (the first step moves,
 * the w-th uses the whole rate). SPDX-License-Identifier: MIT */
#ifndef SAE_TRAIN_SCHEDULE_H
#define SAE_TRAIN_SCHEDULE_H

#include <stdint.h>

#include "config/config.h"

/* schedule.type's values. */
enum { SAE_SCHEDULE_STEP, SAE_SCHEDULE_CONSTANT, SAE_SCHEDULE_COSINE, SAE_SCHEDULE_LINEAR };

/* The factor of the base rate at training step `step` (0-based). */
double sae_schedule_factor(const sae_config_t *cfg, uint64_t step);
/* base * sae_schedule_factor(cfg, step). */
double sae_schedule_rate(const sae_config_t *cfg, double base, uint64_t step);

#endif
