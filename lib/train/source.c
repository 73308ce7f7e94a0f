/* Training from a data source (sae_source_ops_t): batches pulled into the
 * workspace's gather buffer, epochs ended by the source, and the source's
 * position restored on resume from its cursor or by replaying the epoch.
 * SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "train/method.h"
#include "train/reducer.h"
#include "train/trainer.h"

/* The end of the 0.4 struct's fields a caller must have. */
#define NEED_SIZE (offsetof(sae_source_ops_t, reset) + sizeof(((sae_source_ops_t *)0)->reset))

static sae_status_t source_fail(sae_trainer_t *t, const char *what, int rc)
{
    const char *msg = t->src.errmsg ? t->src.errmsg(t->src_user) : NULL;
    return sae_fail(t->errmsg, SAE_ERR_SOURCE, "data source: %s failed (%d)%s%.200s", what, rc,
                    msg && *msg ? ": " : "", msg ? msg : "");
}

static sae_status_t take_ops(sae_trainer_t *t, const sae_source_ops_t *ops, void *user)
{
    if (ops->struct_size < NEED_SIZE)
        return sae_fail(t->errmsg, SAE_ERR_RANGE,
                        "sae_trainer_fit_source: ops->struct_size %u is smaller than the %zu "
                        "bytes of next_batch and reset",
                        (unsigned)ops->struct_size, (size_t)NEED_SIZE);
    sae_source_ops_t o;
    memset(&o, 0, sizeof o);
    memcpy(&o, ops, ops->struct_size < sizeof o ? ops->struct_size : sizeof o);
    if (!o.next_batch || !o.reset)
        return sae_fail(t->errmsg, SAE_ERR_BAD_VALUE, "sae_trainer_fit_source: ops->%s is NULL",
                        o.next_batch ? "reset" : "next_batch");
    int cursors = !!o.cursor_size + !!o.save_cursor + !!o.restore_cursor;
    if (cursors != 0 && cursors != 3)
        return sae_fail(t->errmsg, SAE_ERR_BAD_VALUE,
                        "sae_trainer_fit_source: cursor_size, save_cursor and restore_cursor "
                        "go together (all or none)");
    t->src = o;
    t->src_user = user;
    t->has_src = 1;
    return SAE_OK;
}

static sae_status_t pull(sae_trainer_t *t, size_t *n)
{
    *n = 0;
    int rc = t->src.next_batch(t->src_user, t->ws.gather, t->ws.batch, t->model->input_dim, n);
    if (rc != 0)
        return source_fail(t, "next_batch", rc);
    if (*n > t->ws.batch)
        return sae_fail(t->errmsg, SAE_ERR_DIMENSION,
                        "data source: next_batch gave %zu rows for at most %zu", *n, t->ws.batch);
    return SAE_OK;
}

static sae_status_t reset(sae_trainer_t *t)
{
    int rc = t->src.reset(t->src_user, t->epochs);
    return rc == 0 ? SAE_OK : source_fail(t, "reset", rc);
}

/* Puts the source where the checkpoint's epoch was: its own cursor when it
 * has one and the checkpoint holds one, else the same rows pulled again
 * after the same reset and dropped. */
static sae_status_t restore(sae_trainer_t *t)
{
    if (t->pos == 0)
        return SAE_OK; /* no epoch begun: the loop resets */
    if (t->src_cursor && t->src.restore_cursor) {
        int rc = t->src.restore_cursor(t->src_user, t->src_cursor, (size_t)t->src_cursor_len);
        return rc == 0 ? SAE_OK : source_fail(t, "restore_cursor", rc);
    }
    sae_status_t st = reset(t);
    for (uint64_t left = t->pos; st == SAE_OK && left > 0;) {
        size_t n;
        st = pull(t, &n);
        if (st == SAE_OK && (n == 0 || n > left))
            st = sae_fail(t->errmsg, SAE_ERR_DIMENSION,
                          "data source: replaying the interrupted epoch gave %s rows than the "
                          "%llu it had used; a source without a cursor must give the same rows "
                          "after the same reset",
                          n == 0 ? "fewer" : "other batches of", (unsigned long long)t->pos);
        left -= st == SAE_OK ? n : 0;
    }
    return st;
}

sae_status_t sae_trainer_fit_source(sae_trainer_t *t, const sae_source_ops_t *ops, void *user,
                                    uint64_t epochs, uint64_t steps)
{
    if (!t)
        return sae_fail_global(SAE_ERR_NULL, "sae_trainer_fit_source: trainer is NULL");
    if (!ops)
        return sae_fail(t->errmsg, SAE_ERR_NULL, "sae_trainer_fit_source: ops is NULL");
    if (epochs == 0 && steps == 0)
        return sae_fail(t->errmsg, SAE_ERR_RANGE,
                        "sae_trainer_fit_source: neither epochs nor steps bounds the fit");
    if (t->method->fit || !t->method->step)
        return sae_fail(t->errmsg, SAE_ERR_STATE,
                        "sae_trainer_fit_source: %s trains on the whole data set in memory: use "
                        "sae_trainer_fit",
                        t->method->selected_by);
    sae_status_t st = take_ops(t, ops, user);
    if (st != SAE_OK)
        return st;
    sae_loop_use(t, SAE_DATA_SOURCE, 0);
    if (t->src_restore) {
        st = restore(t);
        if (st != SAE_OK)
            return st;
        t->src_restore = 0;
        free(t->src_cursor);
        t->src_cursor = NULL;
        t->src_cursor_len = 0;
    }
    /* The statistics' total: the step bound, or the epochs' when the
     * source knows its size. */
    uint64_t total = steps;
    uint64_t per_rows = t->src.row_count ? t->src.row_count(user) : 0;
    if (!total && per_rows) {
        uint64_t per_epoch = (per_rows + t->ws.batch - 1) / t->ws.batch;
        total = epochs <= UINT64_MAX / per_epoch ? epochs * per_epoch : 0;
    }
    size_t d = t->model->input_dim;
    uint64_t done = 0, ends = 0;
    /* With a reducer: this rank's source gave its epoch's last rows, and
     * it takes part with none until every rank's has (train/reduce.h). */
    int drained = 0;
    for (;;) {
        if (steps && done == steps)
            return SAE_OK;
        if (t->pos == 0 && (st = reset(t)) != SAE_OK)
            return st;
        size_t n = 0;
        if (!drained && (st = pull(t, &n)) != SAE_OK)
            return st;
        uint64_t global = n;
        if ((st = sae_reduce_rows(t->red, n, &global, t->steps + 1, t->errmsg)) != SAE_OK)
            return st;
        drained = n == 0 && global > 0;
        if (global == 0) {
            drained = 0;
            uint64_t used = t->pos;
            if ((st = sae_reduce_rows(t->red, t->pos, &used, t->steps + 1, t->errmsg)) != SAE_OK)
                return st;
            if (used == 0)
                return sae_fail(t->errmsg, SAE_ERR_DIMENSION,
                                "data source: epoch %llu gave no rows",
                                (unsigned long long)t->epochs);
            if ((st = sae_loop_epoch_end(t, total)) != SAE_OK)
                return st;
            if (epochs && ++ends == epochs)
                return SAE_OK;
            continue;
        }
        if (n > 0 && !sae_all_finite(t->ws.gather, n * d))
            return sae_fail(t->errmsg, SAE_ERR_NONFINITE,
                            "data source: a batch of epoch %llu holds NaN or Inf",
                            (unsigned long long)t->epochs);
        if (n > 0)
            sae_trainer_init_bias(t, t->ws.gather, n);
        if ((st = sae_loop_step(t, t->ws.gather, n, total)) != SAE_OK)
            return st;
        done++;
    }
}
