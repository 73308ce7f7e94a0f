/* Aligned allocation and the finiteness scan every entry point uses.
 * SPDX-License-Identifier: MIT */
#ifndef SAE_CORE_ALLOC_H
#define SAE_CORE_ALLOC_H

#include <stddef.h>

/* 64-byte aligned (a cache line, one AVX-512 vector); free with
 * sae_aligned_free. NULL when out of memory. */
void *sae_aligned_alloc(size_t bytes);
void sae_aligned_free(void *p);
/* *p = a zeroed sae_aligned_alloc of bytes; 1 on success, 0 (and *p NULL)
 * when out of memory. Workspaces chain it: ok = ok && sae_aligned_grab(...). */
int sae_aligned_grab(void **p, size_t bytes);

/* 1 when the n floats of x are all finite. */
int sae_all_finite(const float *x, size_t n);
/* The same, and the smallest and largest value in *lo and *hi (the same
 * pass: binary cross-entropy's targets must lie in [0, 1]). */
int sae_finite_range(const float *x, size_t n, float *lo, float *hi);

#endif
