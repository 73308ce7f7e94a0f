/* Ranking of a code row's units by value, largest first: the order of the
 * rank-ordered autoencoder's prefix reconstructions (train/rank_order.c,
 * model/prefix.c). SPDX-License-Identifier: MIT */
#ifndef SAE_CORE_RANK_H
#define SAE_CORE_RANK_H

#include <stddef.h>
#include <stdint.h>

/* One unit of a ranked row: its value and index. */
typedef struct sae_ranked {
    float z;
    uint32_t unit;
} sae_ranked_t;

/* Ranks the units of z[h] by value, largest first; ties go to the higher
 * index first, as the rank-ordered autoencoder's code orders them (numpy's
 * stable argsort read backwards). With positive_only, only the units with
 * z > 0 are ranked. Writes them into out[h] and returns how many. */
size_t sae_rank_units(const float *z, size_t h, int positive_only, sae_ranked_t *out);

#endif
