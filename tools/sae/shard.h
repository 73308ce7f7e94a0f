/* SPDX-License-Identifier: MIT */
/* A rank's shard of the data files for sae train --mpi, as a data source
 * (sae_source_ops_t). The rows are cut into blocks of the rank's batch
 * size b; step k of an epoch gives rank r block order[k x ranks + r], read
 * from the mapped files (no rank reads another's rows), so that the ranks'
 * batches of one step are the ranks x b consecutive rows (of the block
 * order) one process would train on with a batch of ranks x b. The block
 * order is the blocks in turn (train.sampling = sequential) or a
 * permutation drawn from (seed, epoch). The cursor, (epoch, k), is the
 * same on every rank: rank 0's checkpoint resumes every rank. */
#ifndef SAE_CLI_SHARD_H
#define SAE_CLI_SHARD_H

#include <sae.h>

#include "files.h"

typedef struct cli_shard {
    const sd_set_t *set;
    size_t b;           /* rows a block (the rank's batch size) */
    size_t n_blocks;
    int rank, ranks;
    int shuffle;        /* permute the blocks each epoch */
    uint64_t seed;
    size_t *order;      /* [n_blocks] the epoch's block order */
    uint64_t epoch, k;  /* the cursor */
    char err[256];
} cli_shard_t;

/* 0, or -1 with a message in sd_errmsg() (no memory). */
int cli_shard_init(cli_shard_t *s, const sd_set_t *set, size_t b, int rank, int ranks,
                   int shuffle, uint64_t seed);
void cli_shard_free(cli_shard_t *s);
/* Rows of rank's shard (for the refusal of a rank with none). */
size_t cli_shard_rows(size_t rows, size_t b, int rank, int ranks);
const sae_source_ops_t *cli_shard_ops(void);

#endif
