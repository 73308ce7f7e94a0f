/* SPDX-License-Identifier: MIT */
/* A small seeded generator for the examples' own choices (shuffles,
 * splits, patch positions), kept apart from the library's RNG so that an
 * example's data split never changes when the library's sampling does. */
#ifndef EX_RNG_H
#define EX_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct ex_rng {
    uint64_t state;
} ex_rng;

void ex_rng_seed(ex_rng *rng, uint64_t seed);
uint64_t ex_rng_next(ex_rng *rng);
/* Uniform in [0, n), without modulo bias; n must be > 0. */
size_t ex_rng_below(ex_rng *rng, size_t n);
/* Uniform in [0, 1). */
double ex_rng_uniform(ex_rng *rng);

#endif /* EX_RNG_H */
