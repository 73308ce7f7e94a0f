/* Trainer checkpoints: the model's file (same writer, same atomic
 * replacement, same checks on load) with the trainer's state after the
 * model's tensors, as the state table (train/state.c) lists it, and
 * "checkpoint_version" in the metadata (docs/file-format.md).
 * SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/safetensors.h"
#include "io/st_read.h"
#include "train/state.h"
#include "train/trainer.h"

#define MAX_CURSOR ((size_t)1 << 30)

/* The live source's position, asked of it now (between batches). */
static sae_status_t take_cursor(sae_trainer_t *t)
{
    free(t->src_cursor);
    t->src_cursor = NULL;
    t->src_cursor_len = 0;
    if (t->data_kind != SAE_DATA_SOURCE || t->pos == 0 || !t->has_src || !t->src.save_cursor)
        return SAE_OK;
    size_t n = t->src.cursor_size(t->src_user);
    if (n == 0)
        return SAE_OK;
    if (n > MAX_CURSOR)
        return sae_fail(t->errmsg, SAE_ERR_SOURCE,
                        "data source: cursor_size gave %zu bytes, more than 2^30", n);
    unsigned char *buf = malloc(n);
    if (!buf)
        return sae_fail(t->errmsg, SAE_ERR_NOMEM, "checkpoint: out of memory for the cursor");
    int rc = t->src.save_cursor(t->src_user, buf, n);
    if (rc != 0) {
        free(buf);
        const char *msg = t->src.errmsg ? t->src.errmsg(t->src_user) : NULL;
        return sae_fail(t->errmsg, SAE_ERR_SOURCE, "data source: save_cursor failed (%d)%s%.200s",
                        rc, msg && *msg ? ": " : "", msg ? msg : "");
    }
    t->src_cursor = buf;
    t->src_cursor_len = n;
    return SAE_OK;
}

sae_status_t sae_trainer_save_checkpoint(sae_trainer_t *t, const char *path)
{
    if (!t)
        return sae_fail_global(SAE_ERR_NULL, "sae_trainer_save_checkpoint: trainer is NULL");
    if (!path)
        return sae_fail(t->errmsg, SAE_ERR_NULL, "sae_trainer_save_checkpoint: path is NULL");
    if (t->model->cfg->n_user_regs)
        return sae_fail(t->errmsg, SAE_ERR_UNSUPPORTED,
                        "sae_trainer_save_checkpoint: user regularizers are not stored in files, "
                        "so a resumed run could not compute them");
    /* A trainer loaded from a checkpoint and not yet fit keeps the cursor
     * it read; any other asks its source. */
    sae_status_t st = t->src_restore ? SAE_OK : take_cursor(t);
    if (st != SAE_OK)
        return st;
    sae_state_list_t *l = malloc(sizeof *l);
    sae_st_tensor_t *extra = malloc(SAE_STATE_MAX * sizeof *extra);
    if (!l || !extra)
        st = sae_fail(t->errmsg, SAE_ERR_NOMEM, "checkpoint: out of memory");
    if (st == SAE_OK) {
        sae_trainer_state_pack(t);
        st = sae_trainer_state_list(t, l, t->errmsg);
    }
    if (st == SAE_OK) {
        for (size_t i = 0; i < l->n; i++) {
            extra[i].name = l->e[i].name;
            extra[i].data = l->e[i].data;
            extra[i].dtype = l->e[i].dtype;
            extra[i].ndim = l->e[i].ndim;
            extra[i].shape[0] = l->e[i].shape[0];
            extra[i].shape[1] = l->e[i].shape[1];
        }
        char steps[24];
        snprintf(steps, sizeof steps, "%" PRIu64, t->steps);
        const sae_st_meta_t meta[] = {
            {"checkpoint_version", SAE_CKPT_VERSION},
            {"trainer_steps", steps},
        };
        st = sae_model_save_with(t->model, path, extra, l->n, meta, 2, t->errmsg);
    }
    if (!t->src_restore) {
        free(t->src_cursor);
        t->src_cursor = NULL;
        t->src_cursor_len = 0;
    }
    free(l);
    free(extra);
    return st;
}

static void format_shape(const uint64_t *shape, size_t ndim, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "[");
    for (size_t d = 0; d < ndim && used < size; d++)
        used += (size_t)snprintf(buf + used, size - used, "%s%" PRIu64, d ? "," : "", shape[d]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

/* Each array the trainer's table lists must be in the file under its name,
 * with its type and shape (or, for a resizable one, a vector whose length
 * sizes it); every "trainer." tensor of the file must be one of them. */
static sae_status_t match_state(st_load_t *ld, sae_state_list_t *l)
{
    unsigned char used[MAX_ENTRIES] = {0};
    for (size_t k = 0; k < l->n; k++) {
        sae_state_entry_t *s = &l->e[k];
        st_entry_t *e = NULL;
        for (size_t i = 0; i < ld->n_entries && !e; i++)
            if (ld->entries[i].tensor == SIZE_MAX && strcmp(ld->entries[i].name, s->name) == 0) {
                e = &ld->entries[i];
                used[i] = 1;
            }
        if (!e)
            return sae_st_fail(ld, SAE_ERR_FORMAT, "tensor '%s' is missing", s->name);
        if (e->dtype != s->dtype)
            return sae_st_fail(ld, SAE_ERR_FORMAT, "tensor '%s' has dtype %s; the trainer's is %s",
                               s->name, sae_dtype_name(e->dtype), sae_dtype_name(s->dtype));
        uint64_t want[2] = {s->shape[0], s->shape[1]};
        if (s->resize && e->ndim == 1)
            want[0] = e->shape[0];
        int same = e->ndim == s->ndim;
        for (size_t d = 0; same && d < s->ndim; d++)
            same = e->shape[d] == want[d];
        if (!same) {
            char got[96], exp[64];
            format_shape(e->shape, e->ndim, got, sizeof got);
            format_shape(want, s->ndim, exp, sizeof exp);
            return sae_st_fail(ld, SAE_ERR_FORMAT,
                               "tensor '%s' shape %s does not match the trainer's %s", s->name,
                               got, exp);
        }
        if (s->resize) {
            s->data = s->resize(s->ctx, (size_t)e->shape[0]);
            s->shape[0] = (size_t)e->shape[0];
            if (!s->data)
                return sae_st_fail(ld, SAE_ERR_NOMEM, "out of memory for tensor '%s'", s->name);
        }
        e->dest = s->data;
    }
    for (size_t i = 0; i < ld->n_entries; i++)
        if (ld->entries[i].tensor == SIZE_MAX && !used[i])
            return sae_st_fail(ld, SAE_ERR_FORMAT, "unexpected tensor '%.64s' for this trainer",
                               ld->entries[i].name);
    return SAE_OK;
}

/* Optimizer moments and the like are floats a step computes with: a NaN
 * there would poison the resumed run. */
static sae_status_t check_finite(st_load_t *ld, const sae_state_list_t *l)
{
    for (size_t k = 0; k < l->n; k++) {
        const sae_state_entry_t *s = &l->e[k];
        size_t n = s->shape[0] * (s->ndim == 2 ? s->shape[1] : 1);
        if (s->dtype == SAE_DT_F32 && !sae_all_finite(s->data, n))
            return sae_st_fail(ld, SAE_ERR_FORMAT, "tensor '%s' holds NaN or Inf", s->name);
        if (s->dtype == SAE_DT_F64)
            for (size_t i = 0; i < n; i++) {
                double v = ((const double *)s->data)[i];
                if (!(v - v == 0.0))
                    return sae_st_fail(ld, SAE_ERR_FORMAT, "tensor '%s' holds NaN or Inf",
                                       s->name);
            }
    }
    return SAE_OK;
}

sae_status_t sae_trainer_load_checkpoint(const char *path, sae_model_t **model_out,
                                         sae_trainer_t **trainer_out)
{
    if (model_out)
        *model_out = NULL;
    if (trainer_out)
        *trainer_out = NULL;
    if (!path || !model_out || !trainer_out)
        return sae_fail_global(SAE_ERR_NULL, "sae_trainer_load_checkpoint: %s is NULL",
                               !path ? "path" : !model_out ? "model" : "trainer");
    st_load_t *ld = calloc(1, sizeof *ld);
    sae_state_list_t *l = malloc(sizeof *l);
    if (!ld || !l) {
        free(ld);
        free(l);
        return sae_fail_global(SAE_ERR_NOMEM, "sae_trainer_load_checkpoint: out of memory");
    }
    ld->path = path;
    ld->want_checkpoint = 1;
    sae_trainer_t *t = NULL;
    char err[SAE_ERRMSG_SIZE];
    sae_status_t st = sae_st_open_model(ld);
    if (st == SAE_OK && (st = sae_trainer_create(ld->model, &t)) != SAE_OK)
        st = sae_st_fail(ld, st, "%s", sae_last_error());
    if (st == SAE_OK && (st = sae_trainer_state_list(t, l, err)) != SAE_OK)
        st = sae_st_fail(ld, st, "%s", err);
    if (st == SAE_OK)
        st = match_state(ld, l);
    if (st == SAE_OK)
        st = sae_st_read_data(ld);
    if (st == SAE_OK)
        st = check_finite(ld, l);
    if (st == SAE_OK && (st = sae_trainer_state_unpack(t, err)) != SAE_OK)
        st = sae_st_fail(ld, st, "%s", err);
    sae_st_close(ld);
    if (st == SAE_OK) {
        *model_out = ld->model;
        *trainer_out = t;
    } else {
        sae_trainer_free(t);
        sae_model_free(ld->model);
    }
    free(ld);
    free(l);
    return st;
}
