/* SPDX-License-Identifier: MIT */
#include "common/rng.h"

void ex_rng_seed(ex_rng *rng, uint64_t seed)
{
    rng->state = seed;
}

/* SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
 * generators", OOPSLA 2014): one 64-bit word of state, full period, and
 * good enough statistics for shuffling data. */
uint64_t ex_rng_next(ex_rng *rng)
{
    uint64_t z = (rng->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

size_t ex_rng_below(ex_rng *rng, size_t n)
{
    /* Reject the top partial copy of [0, n) so every value is equally
     * likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % (uint64_t)n;
    uint64_t r;
    do {
        r = ex_rng_next(rng);
    } while (r >= limit);
    return (size_t)(r % (uint64_t)n);
}

double ex_rng_uniform(ex_rng *rng)
{
    return (double)(ex_rng_next(rng) >> 11) * 0x1.0p-53;
}
