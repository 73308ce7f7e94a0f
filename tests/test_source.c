/* Data sources (sae_trainer_fit_source): the same training as the in-memory
 * fit from the same batches, epochs and resets, positions kept across
 * calls, and every error path. SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* A source over an array, rows in order; counts its calls. */
typedef struct arr_src {
    const float *x;
    size_t rows, dim, pos;
    uint64_t resets, last_epoch;
    int fail_next;     /* next_batch returns this when not 0 */
    size_t extra_rows; /* next_batch claims this many rows more */
    int nan_at;        /* a NaN in the batch starting at this row + 1 */
} arr_src_t;

static int arr_next(void *u, float *out, size_t max_rows, size_t dim, size_t *rows)
{
    arr_src_t *s = u;
    if (s->fail_next)
        return s->fail_next;
    assert_int_equal(dim, s->dim);
    size_t n = s->rows - s->pos < max_rows ? s->rows - s->pos : max_rows;
    memcpy(out, s->x + s->pos * dim, n * dim * sizeof *out);
    if (s->nan_at && s->pos + 1 == (size_t)s->nan_at && n > 0)
        out[0] = NAN;
    s->pos += n;
    *rows = n + s->extra_rows;
    return 0;
}

static int arr_reset(void *u, uint64_t epoch)
{
    arr_src_t *s = u;
    s->pos = 0;
    s->resets++;
    s->last_epoch = epoch;
    return 0;
}

static uint64_t arr_count(void *u)
{
    return ((arr_src_t *)u)->rows;
}

static size_t arr_size(void *u)
{
    (void)u;
    return 8;
}

static const char *arr_msg(void *u)
{
    (void)u;
    return "the disk went away";
}

static const sae_source_ops_t arr_ops = {
    .struct_size = sizeof(sae_source_ops_t),
    .next_batch = arr_next,
    .reset = arr_reset,
    .row_count = arr_count,
    .errmsg = arr_msg,
};

static float *data(size_t rows, size_t dim)
{
    float *x = malloc(rows * dim * sizeof *x);
    tu_fill_uniform(x, rows * dim, 0.0f, 1.0f, 77);
    return x;
}

static sae_config_t *config(void)
{
    sae_config_t *cfg = tu_config(10, 6);
    assert_int_equal(sae_config_set(cfg, "train.batch_size", "8"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "train.sampling", "sequential"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "optim.type", "adam"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "optim.lr", "0.01"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "kl.weight", "0.1"), SAE_OK);
    return cfg;
}

static void make(sae_config_t *cfg, sae_model_t **m, sae_trainer_t **t)
{
    assert_int_equal(sae_model_create(cfg, m), SAE_OK);
    assert_int_equal(sae_trainer_create(*m, t), SAE_OK);
}

static void weights(const sae_model_t *m, float *out, size_t *n)
{
    size_t total = 0;
    for (size_t i = 0; i < sae_model_tensor_count(m); i++) {
        const char *name;
        size_t r, c;
        const float *p;
        assert_int_equal(sae_model_tensor(m, i, &name, &r, &c, &p), SAE_OK);
        memcpy(out + total, p, r * c * sizeof(float));
        total += r * c;
    }
    *n = total;
}

typedef struct counts {
    int steps, epochs;
    uint64_t last_total;
    int cancel_at;
} counts_t;

static int count_cb(sae_progress_kind_t kind, const sae_stats_t *s, void *u)
{
    counts_t *c = u;
    if (kind == SAE_PROGRESS_STEP)
        c->steps++;
    else
        c->epochs++;
    c->last_total = s->total_steps;
    return c->cancel_at && c->steps == c->cancel_at;
}

/* 37 rows in batches of 8: 5 steps per epoch, the last of 5 rows. The
 * source gives the batches sequential sampling gives: the same model to
 * the bit. */
static void test_source_equals_memory_fit(void **state)
{
    (void)state;
    size_t rows = 37, dim = 10;
    float *x = data(rows, dim);
    sae_config_t *cfg = config();
    sae_model_t *ma, *mb;
    sae_trainer_t *ta, *tb;
    make(cfg, &ma, &ta);
    make(cfg, &mb, &tb);
    assert_int_equal(sae_trainer_fit(ta, x, rows, 3), SAE_OK);

    arr_src_t src = {.x = x, .rows = rows, .dim = dim};
    counts_t c = {0};
    assert_int_equal(sae_trainer_set_callback(tb, count_cb, &c), SAE_OK);
    assert_int_equal(sae_trainer_fit_source(tb, &arr_ops, &src, 3, 0), SAE_OK);
    assert_int_equal(c.steps, 15);
    assert_int_equal(c.epochs, 3);
    assert_int_equal(c.last_total, 15); /* from row_count */
    assert_int_equal(src.resets, 3);
    assert_int_equal(src.last_epoch, 2);
    assert_int_equal(sae_trainer_steps(tb), 15);

    float *wa = malloc(4096 * sizeof *wa), *wb = malloc(4096 * sizeof *wb);
    size_t na, nb;
    weights(ma, wa, &na);
    weights(mb, wb, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(wa, wb, na * sizeof *wa);
    free(wa);
    free(wb);
    sae_trainer_free(ta);
    sae_trainer_free(tb);
    sae_model_free(ma);
    sae_model_free(mb);
    sae_config_free(cfg);
    free(x);
}

/* Steps bounds split a run anywhere; the epoch goes on in the next call,
 * in memory (fit_steps) as from a source. */
static void test_split_fits_continue_the_epoch(void **state)
{
    (void)state;
    size_t rows = 37, dim = 10;
    float *x = data(rows, dim);
    sae_config_t *cfg = config();
    assert_int_equal(sae_config_set(cfg, "train.sampling", "shuffle"), SAE_OK);
    sae_model_t *ma, *mb, *mc;
    sae_trainer_t *ta, *tb, *tc;
    make(cfg, &ma, &ta);
    make(cfg, &mb, &tb);
    assert_int_equal(sae_config_set(cfg, "train.sampling", "sequential"), SAE_OK);
    make(cfg, &mc, &tc);
    /* 2 epochs of 5 steps: whole, and as 3 + 4 + 3 steps. */
    assert_int_equal(sae_trainer_fit(ta, x, rows, 2), SAE_OK);
    assert_int_equal(sae_trainer_fit_steps(tb, x, rows, 3), SAE_OK);
    assert_int_equal(sae_trainer_fit_steps(tb, x, rows, 4), SAE_OK);
    assert_int_equal(sae_trainer_fit_steps(tb, x, rows, 3), SAE_OK);
    assert_int_equal(sae_trainer_steps(tb), 10);
    float *wa = malloc(4096 * sizeof *wa), *wb = malloc(4096 * sizeof *wb);
    size_t na, nb;
    weights(ma, wa, &na);
    weights(mb, wb, &nb);
    assert_memory_equal(wa, wb, na * sizeof *wa);

    /* A source: 2 steps, then 8 more with an epoch bound of 2. */
    sae_model_t *md;
    sae_trainer_t *td;
    make(cfg, &md, &td);
    assert_int_equal(sae_trainer_fit(tc, x, rows, 2), SAE_OK);
    arr_src_t src = {.x = x, .rows = rows, .dim = dim};
    assert_int_equal(sae_trainer_fit_source(td, &arr_ops, &src, 0, 2), SAE_OK);
    assert_int_equal(sae_trainer_fit_source(td, &arr_ops, &src, 2, 0), SAE_OK);
    assert_int_equal(sae_trainer_steps(td), 10);
    assert_int_equal(src.resets, 2);
    weights(mc, wa, &na);
    weights(md, wb, &nb);
    assert_memory_equal(wa, wb, na * sizeof *wa);
    free(wa);
    free(wb);
    sae_trainer_free(ta);
    sae_trainer_free(tb);
    sae_trainer_free(tc);
    sae_trainer_free(td);
    sae_model_free(ma);
    sae_model_free(mb);
    sae_model_free(mc);
    sae_model_free(md);
    sae_config_free(cfg);
    free(x);
}

static void test_source_errors(void **state)
{
    (void)state;
    size_t rows = 20, dim = 10;
    float *x = data(rows, dim);
    sae_config_t *cfg = config();
    sae_model_t *m;
    sae_trainer_t *t;
    make(cfg, &m, &t);
    arr_src_t src = {.x = x, .rows = rows, .dim = dim};

    tu_assert_status(sae_trainer_fit_source(NULL, &arr_ops, &src, 1, 0), SAE_ERR_NULL);
    tu_assert_status(sae_trainer_fit_source(t, NULL, &src, 1, 0), SAE_ERR_NULL);
    tu_assert_status(sae_trainer_fit_source(t, &arr_ops, &src, 0, 0), SAE_ERR_RANGE);
    sae_source_ops_t ops = arr_ops;
    ops.struct_size = 8;
    tu_assert_status(sae_trainer_fit_source(t, &ops, &src, 1, 0), SAE_ERR_RANGE);
    ops = arr_ops;
    ops.reset = NULL;
    tu_assert_status(sae_trainer_fit_source(t, &ops, &src, 1, 0), SAE_ERR_BAD_VALUE);
    assert_non_null(strstr(sae_trainer_errmsg(t), "reset"));
    ops = arr_ops;
    ops.cursor_size = arr_size;
    tu_assert_status(sae_trainer_fit_source(t, &ops, &src, 1, 0), SAE_ERR_BAD_VALUE);
    assert_non_null(strstr(sae_trainer_errmsg(t), "together"));
    src.fail_next = 5;
    tu_assert_status(sae_trainer_fit_source(t, &arr_ops, &src, 1, 0), SAE_ERR_SOURCE);
    assert_non_null(strstr(sae_trainer_errmsg(t), "the disk went away"));
    src.fail_next = 0;
    src.extra_rows = 1;
    tu_assert_status(sae_trainer_fit_source(t, &arr_ops, &src, 1, 0), SAE_ERR_DIMENSION);
    src.extra_rows = 0;
    arr_src_t empty = {.x = x, .rows = 0, .dim = dim};
    tu_assert_status(sae_trainer_fit_source(t, &arr_ops, &empty, 1, 0), SAE_ERR_DIMENSION);
    assert_non_null(strstr(sae_trainer_errmsg(t), "no rows"));
    src.nan_at = 9; /* the second batch */
    tu_assert_status(sae_trainer_fit_source(t, &arr_ops, &src, 1, 0), SAE_ERR_NONFINITE);
    src.nan_at = 0;
    assert_int_equal(sae_trainer_steps(t), 1);

    counts_t c = {.cancel_at = 2};
    assert_int_equal(sae_trainer_set_callback(t, count_cb, &c), SAE_OK);
    tu_assert_status(sae_trainer_fit_source(t, &arr_ops, &src, 3, 0), SAE_ERR_CANCELLED);
    assert_int_equal(c.steps, 2);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_source_equals_memory_fit),
        cmocka_unit_test(test_split_fits_continue_the_epoch),
        cmocka_unit_test(test_source_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
