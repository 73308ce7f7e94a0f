/* The checks across keys of the modern SAE family's terms and training
 * recipes (decoder-norm L1, Matryoshka prefixes, schedules, warm-ups,
 * input normalisation, resampling), in one place beside validate.c's.
 * SPDX-License-Identifier: MIT */
#ifndef SAE_CONFIG_RECIPES_H
#define SAE_CONFIG_RECIPES_H

#include "config/config.h"

/* SAE_OK, or the first conflict said in errbuf (SAE_ERR_STATE). */
sae_status_t sae_config_validate_recipes(const sae_config_t *cfg, char *errbuf);

#endif
