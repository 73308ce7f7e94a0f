/* Deterministic random numbers: xoshiro256** seeded with splitmix64.
 * Same seed => same stream on every platform. SPDX-License-Identifier: MIT */
#ifndef SAE_CORE_RNG_H
#define SAE_CORE_RNG_H

#include <stdint.h>

typedef struct sae_rng {
    uint64_t s[4];
} sae_rng_t;

void sae_rng_seed(sae_rng_t *rng, uint64_t seed);
uint64_t sae_rng_next(sae_rng_t *rng);
/* Uniform in [0, 1), 24 random bits. */
float sae_rng_uniform(sae_rng_t *rng);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint64_t sae_rng_below(sae_rng_t *rng, uint64_t n);
/* Standard normal (Box-Muller). */
double sae_rng_normal(sae_rng_t *rng);
/* Two independent standard normals (Marsaglia's polar method: no
 * trigonometry, one log and one square root per pair). */
void sae_rng_normal_pair(sae_rng_t *rng, float *a, float *b);

#endif
