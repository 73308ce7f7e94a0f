/* xoshiro256** (Blackman & Vigna, 2018) seeded through splitmix64.
 * SPDX-License-Identifier: MIT */
#include "core/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void sae_rng_seed(sae_rng_t *rng, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t sae_rng_next(sae_rng_t *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float sae_rng_uniform(sae_rng_t *rng)
{
    return (float)(sae_rng_next(rng) >> 40) * (1.0f / 16777216.0f);
}

uint64_t sae_rng_below(sae_rng_t *rng, uint64_t n)
{
    /* Rejection keeps every value equally likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t r;
    do {
        r = sae_rng_next(rng);
    } while (r >= limit);
    return r % n;
}

double sae_rng_normal(sae_rng_t *rng)
{
    /* Box-Muller; u1 in (0,1] so the log is finite. */
    double u1 = ((double)(sae_rng_next(rng) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    double u2 = (double)(sae_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void sae_rng_normal_pair(sae_rng_t *rng, float *a, float *b)
{
    double u, v, s;
    do {
        u = 2.0 * ((double)(sae_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0)) - 1.0;
        v = 2.0 * ((double)(sae_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0)) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double f = sqrt(-2.0 * log(s) / s);
    *a = (float)(u * f);
    *b = (float)(v * f);
}
