/* Selection of the k largest entries of a vector, ties to the lower index.
 * Shared by K-winners-take-all codes and top-k sparse codes.
 * SPDX-License-Identifier: MIT */
#ifndef SAE_CORE_SELECT_H
#define SAE_CORE_SELECT_H

#include <stddef.h>
#include <stdint.h>

/* Puts the indices of the k largest values of v[0..n) into idx[0..k), in
 * no particular order; ties go to the lower index. idx must hold n entries
 * (scratch); only idx[0..k) is meaningful afterwards. k <= n. */
void sae_topk_select(const float *v, size_t n, size_t k, uint32_t *idx);

#endif
