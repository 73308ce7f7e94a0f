/* SPDX-License-Identifier: MIT */
#include "shard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"

size_t cli_shard_rows(size_t rows, size_t b, int rank, int ranks)
{
    size_t n = 0;
    for (size_t blk = (size_t)rank; blk * b < rows; blk += (size_t)ranks)
        n += rows - blk * b < b ? rows - blk * b : b;
    return n;
}

int cli_shard_init(cli_shard_t *s, const sd_set_t *set, size_t b, int rank, int ranks,
                   int shuffle, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->set = set;
    s->b = b;
    s->n_blocks = (set->rows + b - 1) / b;
    s->rank = rank;
    s->ranks = ranks;
    s->shuffle = shuffle;
    s->seed = seed;
    s->order = malloc((s->n_blocks ? s->n_blocks : 1) * sizeof *s->order);
    if (!s->order)
        return sd_fail("no memory for the order of %zu blocks", s->n_blocks);
    return 0;
}

void cli_shard_free(cli_shard_t *s)
{
    free(s->order);
    s->order = NULL;
}

static void start(cli_shard_t *s, uint64_t epoch)
{
    s->epoch = epoch;
    s->k = 0;
    if (s->shuffle)
        cli_permute(s->order, s->n_blocks, cli_mix(s->seed, epoch, 0x5a4d));
    else
        for (size_t i = 0; i < s->n_blocks; i++)
            s->order[i] = i;
}

static int next_batch(void *u, float *out, size_t max_rows, size_t dim, size_t *rows)
{
    cli_shard_t *s = u;
    *rows = 0;
    size_t i = (size_t)s->k * (size_t)s->ranks + (size_t)s->rank;
    if (i >= s->n_blocks)
        return 0; /* this rank's part of the epoch is over */
    size_t first = s->order[i] * s->b;
    size_t n = s->set->rows - first < s->b ? s->set->rows - first : s->b;
    if (n > max_rows || dim != s->set->dim) {
        snprintf(s->err, sizeof s->err, "a block of %zu rows of %zu values for batches of %zu",
                 n, s->set->dim, max_rows);
        return -1;
    }
    if (sd_set_read(s->set, first, n, out) < 0) {
        snprintf(s->err, sizeof s->err, "rows %zu..%zu: %s", first, first + n, sd_errmsg());
        return -1;
    }
    s->k++;
    *rows = n;
    return 0;
}

static int reset(void *u, uint64_t epoch)
{
    start(u, epoch);
    return 0;
}

static uint64_t row_count(void *u)
{
    const cli_shard_t *s = u;
    return cli_shard_rows(s->set->rows, s->b, s->rank, s->ranks);
}

static size_t cursor_size(void *u)
{
    (void)u;
    return 40;
}

/* epoch, k, the rows, the block size and the ranks: a checkpoint of other
 * data, other batches or another rank count is refused on resume. */
static int save_cursor(void *u, void *buf, size_t size)
{
    const cli_shard_t *s = u;
    uint64_t c[5] = {s->epoch, s->k, s->set->rows, s->b, (uint64_t)s->ranks};
    if (size != sizeof c)
        return -1;
    memcpy(buf, c, sizeof c);
    return 0;
}

static int restore_cursor(void *u, const void *buf, size_t size)
{
    cli_shard_t *s = u;
    uint64_t c[5];
    if (size != sizeof c) {
        snprintf(s->err, sizeof s->err, "the checkpoint's data position is not --mpi's");
        return -1;
    }
    memcpy(c, buf, sizeof c);
    if (c[2] != s->set->rows || c[3] != s->b || c[4] != (uint64_t)s->ranks) {
        snprintf(s->err, sizeof s->err,
                 "the checkpoint was training on %llu rows in blocks of %llu over %llu ranks; "
                 "this run has %zu rows in blocks of %zu over %d ranks (resume with the same "
                 "data and number of ranks)",
                 (unsigned long long)c[2], (unsigned long long)c[3], (unsigned long long)c[4],
                 s->set->rows, s->b, s->ranks);
        return -1;
    }
    start(s, c[0]);
    s->k = c[1];
    return 0;
}

static const char *errmsg(void *u)
{
    return ((cli_shard_t *)u)->err;
}

static const sae_source_ops_t ops = {
    .struct_size = sizeof(sae_source_ops_t),
    .next_batch = next_batch,
    .reset = reset,
    .row_count = row_count,
    .cursor_size = cursor_size,
    .save_cursor = save_cursor,
    .restore_cursor = restore_cursor,
    .errmsg = errmsg,
};

const sae_source_ops_t *cli_shard_ops(void)
{
    return &ops;
}
