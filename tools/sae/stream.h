/* SPDX-License-Identifier: MIT */
/* A data source (sae_source_ops_t) over memory-mapped data files with a
 * shuffle buffer, for training on more rows than memory holds. The rows
 * are cut into consecutive chunks of `buffer` rows; each epoch visits the
 * chunks in a shuffled order, reads each one (a sequential read of the
 * mapped shards) into the buffer and gives its rows in a shuffled order.
 * Memory: the buffer (buffer x dim floats) and two index arrays, whatever
 * the data's size. The permutations are drawn from (seed, epoch, chunk), so
 * the position is three numbers: the cursor in checkpoints is 64 bytes and a
 * resumed run reads exactly the rows the interrupted one would have. */
#ifndef SAE_CLI_STREAM_H
#define SAE_CLI_STREAM_H

#include <sae.h>

#include "files.h"

typedef struct cli_stream {
    const sd_set_t *set;
    size_t buffer; /* rows a chunk (the shuffle buffer) */
    uint64_t seed;
    size_t n_chunks;
    size_t *order; /* the epoch's chunk order [n_chunks] */
    size_t *perm;  /* the current chunk's row order [buffer] */
    float *rows;   /* the current chunk's rows [buffer x dim] */
    uint64_t epoch;
    size_t chunk;  /* index into order */
    size_t offset; /* rows of the current chunk given */
    size_t loaded; /* chunk index + 1 whose rows are in `rows`, 0 none */
    char err[256];
} cli_stream_t;

/* 0, or -1 with a message in sd_errmsg() (no memory). */
int cli_stream_init(cli_stream_t *s, const sd_set_t *set, size_t buffer, uint64_t seed);
void cli_stream_free(cli_stream_t *s);
/* The ops to give sae_trainer_fit_source with s as user_data. */
const sae_source_ops_t *cli_stream_ops(void);

/* p = a permutation of 0..n-1 drawn from seed (Fisher-Yates over
 * splitmix64), and a seed mixed from three numbers: shared with the shard
 * source of --mpi (shard.c). */
void cli_permute(size_t *p, size_t n, uint64_t seed);
uint64_t cli_mix(uint64_t a, uint64_t b, uint64_t c);

#endif /* SAE_CLI_STREAM_H */
