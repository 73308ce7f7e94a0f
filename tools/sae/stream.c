/* SPDX-License-Identifier: MIT */
#include "stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* splitmix64 (Steele, Lea and Flood 2014): a seedable stream whose state is
 * one word, so that a permutation is a pure function of its seed. */
static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Fisher-Yates with an unbiased bounded draw (rejection of the top
 * remainder). */
void cli_permute(size_t *p, size_t n, uint64_t seed)
{
    uint64_t st = seed;
    for (size_t i = 0; i < n; i++)
        p[i] = i;
    for (size_t i = n; i > 1; i--) {
        uint64_t bound = i, limit = UINT64_MAX - UINT64_MAX % bound, r;
        do
            r = splitmix(&st);
        while (r >= limit);
        size_t j = (size_t)(r % bound), tmp = p[i - 1];
        p[i - 1] = p[j];
        p[j] = tmp;
    }
}

uint64_t cli_mix(uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t x = a ^ 0x5ae5ae5ae5ae5ae5ULL;
    x = splitmix(&x) ^ b;
    x = splitmix(&x) ^ c;
    return splitmix(&x);
}

int cli_stream_init(cli_stream_t *s, const sd_set_t *set, size_t buffer, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->set = set;
    s->buffer = buffer < set->rows ? buffer : set->rows;
    s->seed = seed;
    s->n_chunks = (set->rows + s->buffer - 1) / s->buffer;
    s->order = malloc(s->n_chunks * sizeof *s->order);
    s->perm = malloc(s->buffer * sizeof *s->perm);
    s->rows = s->buffer <= SIZE_MAX / sizeof(float) / set->dim
                  ? malloc(s->buffer * set->dim * sizeof *s->rows)
                  : NULL;
    if (!s->order || !s->perm || !s->rows) {
        cli_stream_free(s);
        return sd_fail("no memory for a shuffle buffer of %zu rows of %zu values", buffer,
                       set->dim);
    }
    return 0;
}

void cli_stream_free(cli_stream_t *s)
{
    free(s->order);
    free(s->perm);
    free(s->rows);
    s->order = s->perm = NULL;
    s->rows = NULL;
}

static size_t chunk_rows(const cli_stream_t *s, size_t c)
{
    size_t first = c * s->buffer;
    return s->set->rows - first < s->buffer ? s->set->rows - first : s->buffer;
}

static void start_epoch(cli_stream_t *s, uint64_t epoch)
{
    s->epoch = epoch;
    cli_permute(s->order, s->n_chunks, cli_mix(s->seed, epoch, UINT64_MAX));
    s->loaded = 0;
}

static int load(cli_stream_t *s)
{
    size_t c = s->order[s->chunk], n = chunk_rows(s, c);
    if (sd_set_read(s->set, c * s->buffer, n, s->rows) < 0) {
        snprintf(s->err, sizeof s->err, "%s", sd_errmsg());
        return -1;
    }
    sd_set_release(s->set, c * s->buffer, n);
    cli_permute(s->perm, n, cli_mix(s->seed, s->epoch, c));
    s->loaded = c + 1;
    return 0;
}

static int next_batch(void *user, float *out, size_t max_rows, size_t dim, size_t *rows)
{
    cli_stream_t *s = user;
    size_t got = 0;
    if (dim != s->set->dim) {
        snprintf(s->err, sizeof s->err, "the model takes rows of %zu values, the data %zu", dim,
                 s->set->dim);
        return -1;
    }
    while (got < max_rows && s->chunk < s->n_chunks) {
        size_t c = s->order[s->chunk], n = chunk_rows(s, c);
        if (s->offset == n) {
            s->chunk++;
            s->offset = 0;
            continue;
        }
        if (s->loaded != c + 1 && load(s) < 0)
            return -1;
        size_t take = n - s->offset < max_rows - got ? n - s->offset : max_rows - got;
        for (size_t i = 0; i < take; i++)
            memcpy(out + (got + i) * dim, s->rows + s->perm[s->offset + i] * dim,
                   dim * sizeof *out);
        got += take;
        s->offset += take;
    }
    *rows = got;
    return 0;
}

static int reset(void *user, uint64_t epoch)
{
    cli_stream_t *s = user;
    start_epoch(s, epoch);
    s->chunk = 0;
    s->offset = 0;
    return 0;
}

static uint64_t row_count(void *user)
{
    return ((cli_stream_t *)user)->set->rows;
}

/* The cursor: a tag, the source's shape (to refuse resuming on other data
 * or another buffer), and the position. */
enum { CURSOR_WORDS = 8 };
#define CURSOR_TAG 0x3152534553414553ULL /* "SAESRS1" */

static size_t cursor_size(void *user)
{
    (void)user;
    return CURSOR_WORDS * sizeof(uint64_t);
}

static int save_cursor(void *user, void *buf, size_t size)
{
    cli_stream_t *s = user;
    if (size != CURSOR_WORDS * sizeof(uint64_t))
        return -1;
    uint64_t w[CURSOR_WORDS] = {CURSOR_TAG, s->set->rows, s->set->dim, s->buffer,
                                s->seed,    s->epoch,     s->chunk,    s->offset};
    memcpy(buf, w, sizeof w);
    return 0;
}

static int restore_cursor(void *user, const void *buf, size_t size)
{
    cli_stream_t *s = user;
    uint64_t w[CURSOR_WORDS];
    if (size != sizeof w) {
        snprintf(s->err, sizeof s->err, "the checkpoint's data position is not this tool's");
        return -1;
    }
    memcpy(w, buf, sizeof w);
    if (w[0] != CURSOR_TAG || w[1] != s->set->rows || w[2] != s->set->dim || w[3] != s->buffer ||
        w[4] != s->seed) {
        snprintf(s->err, sizeof s->err,
                 "the checkpoint was streaming %llu rows of %llu values through a shuffle "
                 "buffer of %llu rows; this run has %zu rows of %zu through %zu (resume with "
                 "the same --data and --shuffle-buffer)",
                 (unsigned long long)w[1], (unsigned long long)w[2], (unsigned long long)w[3],
                 s->set->rows, s->set->dim, s->buffer);
        return -1;
    }
    if (w[6] > s->n_chunks || (w[6] < s->n_chunks && w[7] > s->buffer)) {
        snprintf(s->err, sizeof s->err, "the checkpoint's data position is past the data");
        return -1;
    }
    start_epoch(s, w[5]);
    s->chunk = (size_t)w[6];
    s->offset = (size_t)w[7];
    return 0;
}

static const char *errmsg(void *user)
{
    return ((cli_stream_t *)user)->err;
}

const sae_source_ops_t *cli_stream_ops(void)
{
    static const sae_source_ops_t ops = {.struct_size = sizeof(sae_source_ops_t),
                                         .next_batch = next_batch,
                                         .reset = reset,
                                         .row_count = row_count,
                                         .cursor_size = cursor_size,
                                         .save_cursor = save_cursor,
                                         .restore_cursor = restore_cursor,
                                         .errmsg = errmsg};
    return &ops;
}
