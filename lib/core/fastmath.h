/* Vectorisable exp and log1p for the fused element-wise kernels.
 * libm's expf is a call the compiler cannot vectorise; these are plain
 * float arithmetic so loops over them become SIMD. Accuracy: a few ulp over
 * the clamped range, checked against libm in tests/test_core.c.
 * SPDX-License-Identifier: MIT */
#ifndef SAE_CORE_FASTMATH_H
#define SAE_CORE_FASTMATH_H

#include <stdint.h>
#include <string.h>

/* exp(x) for x clamped to [-87, 88]: x = n ln2 + r, |r| <= ln2/2, exp(r) by
 * its degree-6 Taylor polynomial (truncation error < 2e-7 relative), times
 * 2^n built in the exponent bits. */
static inline float sae_fast_expf(float x)
{
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    /* Round x/ln2 to nearest with the 1.5*2^23 trick (no rounding call). */
    float t = x * 1.44269504088896341f + 12582912.0f;
    float n = t - 12582912.0f;
    float r = x - n * 0.693145751953125f;   /* ln2, high part (exact product) */
    r = r - n * 1.428606765330187e-06f;      /* ln2, low part */
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* log(1 + e) for e in [0, 1]: with s = e / (2 + e) <= 1/3,
 * log(1 + e) = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...); seven terms leave an
 * error below 1e-8. */
static inline float sae_log1p_unit(float e)
{
    float s = e / (2.0f + e);
    float s2 = s * s;
    float p = 1.0f / 13.0f;
    p = p * s2 + 1.0f / 11.0f;
    p = p * s2 + 1.0f / 9.0f;
    p = p * s2 + 1.0f / 7.0f;
    p = p * s2 + 1.0f / 5.0f;
    p = p * s2 + 1.0f / 3.0f;
    p = p * s2 + 1.0f;
    return 2.0f * s * p;
}

static inline float sae_fast_sigmoid(float x)
{
    return 1.0f / (1.0f + sae_fast_expf(-x));
}

static inline float sae_fast_tanh(float x)
{
    /* tanh(x) = 2 sigmoid(2x) - 1; fine in float away from 0, and near 0
     * the absolute error stays ~1e-7. */
    return 2.0f / (1.0f + sae_fast_expf(-2.0f * x)) - 1.0f;
}

#endif
