/* Aligned allocation and finiteness checks. SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

void *sae_aligned_alloc(size_t bytes)
{
    void *p = NULL;
    /* 64 bytes: a cache line and a full AVX-512 vector. */
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0)
        return NULL;
    return p;
}

void sae_aligned_free(void *p)
{
    free(p);
}

int sae_aligned_grab(void **p, size_t bytes)
{
    *p = sae_aligned_alloc(bytes);
    if (*p)
        memset(*p, 0, bytes);
    return *p != NULL;
}

int sae_all_finite(const float *x, size_t n)
{
    /* Branch-free accumulation; x*0 is NaN for Inf/NaN. The simd
     * reduction lets the compiler reorder the sum (any order gives 0 or
     * NaN), which it may not do for a plain float sum: without it the loop
     * runs one add at a time (0.94 ms for 1.6 M floats, against a 0.45 ms
     * memcpy of them). */
    float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
    for (size_t i = 0; i < n; i++)
        acc += x[i] * 0.0f;
    return acc == 0.0f;
}

int sae_finite_range(const float *x, size_t n, float *lo, float *hi)
{
    /* One pass: the finiteness accumulation of sae_all_finite, plus the
     * extremes (NaN compares false, so it never becomes an extreme; the
     * accumulation catches it). */
    float acc = 0.0f, mn = n ? x[0] : 0.0f, mx = mn;
#pragma omp simd reduction(+ : acc) reduction(min : mn) reduction(max : mx)
    for (size_t i = 0; i < n; i++) {
        acc += x[i] * 0.0f;
        mn = x[i] < mn ? x[i] : mn;
        mx = x[i] > mx ? x[i] : mx;
    }
    *lo = mn;
    *hi = mx;
    return acc == 0.0f;
}
