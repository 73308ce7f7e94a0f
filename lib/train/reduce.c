/* Data-parallel training through a reducer (sae_reducer_ops_t): the
 * ranks' agreement before training (configuration hash), rank 0's weights
 * broadcast before the first step, and per step one sum of the statistics
 * and one of the gradient block, so that every rank applies the update of
 * the global batch (the sum of the ranks' batches) and the models stay
 * bitwise identical (docs/distributed.md). As PyTorch's DDP, the mean over
 * the global batch is the ranks' row-weighted sum; unlike it, the weights
 * are the rows actually seen, so a rank's short last batch counts as much
 * as its rows. SPDX-License-Identifier: MIT */
#include "train/reduce.h"

#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "sparsity/terms.h"
#include "train/method.h"
#include "train/trainer.h"

/* The statistics vector: rows, non-finite flags, loss, recon, mean
 * activation, l0, then the terms, then col_active [H]. */
enum { R_ROWS, R_BAD, R_LOSS, R_RECON, R_ACT, R_L0, SAE_REDUCE_HEAD };

#define NEED_SIZE                                                                                  \
    (offsetof(sae_reducer_ops_t, broadcast) + sizeof(((sae_reducer_ops_t *)0)->broadcast))

static sae_status_t reducer_fail(sae_trainer_t *t, const char *what, int rc)
{
    return sae_reduce_fail(t->red, t->errmsg, what, rc, t->steps + 1);
}

/* FNV-1a over bytes. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* What every rank must share: the settings but the thread count (a rank's
 * own) and the input scale (estimated, then broadcast), the text keys, the
 * user regularizers' count and the model's shape. */
static uint64_t config_hash(const sae_model_t *m)
{
    const sae_config_t *cfg = m->cfg;
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < sae_param_table_len; i++) {
        sae_param_t id = sae_param_table[i].id;
        if (id == SAE_P_THREADS || id == SAE_P_INPUT_SCALE)
            continue;
        h = fnv(h, &id, sizeof id);
        h = fnv(h, &cfg->values[i], sizeof cfg->values[i]);
    }
    char text[4096];
    for (size_t i = 0; i < sae_text_keys_len; i++) {
        size_t n = sae_text_keys[i].format(cfg, text, sizeof text);
        h = fnv(h, text, n < sizeof text ? n : sizeof text - 1);
    }
    uint64_t shape[4] = {cfg->n_user_regs, m->input_dim, m->code_dim, m->n_weights};
    return fnv(h, shape, sizeof shape);
}

/* Every rank learns whether any rank's flag is set. */
static sae_status_t agree(sae_trainer_t *t, double *flag, const char *what)
{
    int rc = t->red->ops.allreduce_double(t->red->user, flag, 1);
    return rc == 0 ? SAE_OK : reducer_fail(t, what, rc);
}

static sae_status_t check_peers(sae_trainer_t *t)
{
    sae_reduce_t *r = t->red;
    uint64_t mine = config_hash(t->model), root = mine;
    int rc = r->ops.broadcast(r->user, &root, sizeof root);
    if (rc != 0)
        return reducer_fail(t, "broadcast of the configuration's hash", rc);
    double differ = root != mine;
    sae_status_t st = agree(t, &differ, "agreement on the configuration");
    if (st != SAE_OK)
        return st;
    if (differ > 0.0)
        return sae_fail(t->errmsg, SAE_ERR_MISMATCH,
                        "data-parallel run: %s (%.0f of %d ranks differ from rank 0 in the "
                        "configuration or the model's shape; every rank needs the same settings "
                        "but train.threads)",
                        root != mine ? "this rank's configuration is not rank 0's"
                                     : "another rank's configuration is not rank 0's",
                        differ, r->ops.ranks);
    return SAE_OK;
}

sae_status_t sae_trainer_set_reducer(sae_trainer_t *t, const sae_reducer_ops_t *ops, void *user)
{
    if (!t)
        return sae_fail_global(SAE_ERR_NULL, "sae_trainer_set_reducer: trainer is NULL");
    if (!ops) {
        sae_reduce_free(t->red);
        t->red = NULL;
        return SAE_OK;
    }
    if (ops->struct_size < NEED_SIZE)
        return sae_fail(t->errmsg, SAE_ERR_RANGE,
                        "sae_trainer_set_reducer: ops->struct_size %u is smaller than the %zu "
                        "bytes up to broadcast",
                        (unsigned)ops->struct_size, (size_t)NEED_SIZE);
    sae_reducer_ops_t o;
    memset(&o, 0, sizeof o);
    memcpy(&o, ops, ops->struct_size < sizeof o ? ops->struct_size : sizeof o);
    if (o.ranks < 1 || o.rank < 0 || o.rank >= o.ranks)
        return sae_fail(t->errmsg, SAE_ERR_RANGE,
                        "sae_trainer_set_reducer: rank %d of %d ranks is not a rank", o.rank,
                        o.ranks);
    if (!o.allreduce_float || !o.allreduce_double || !o.broadcast)
        return sae_fail(t->errmsg, SAE_ERR_BAD_VALUE, "sae_trainer_set_reducer: ops->%s is NULL",
                        !o.allreduce_float ? "allreduce_float"
                        : !o.allreduce_double ? "allreduce_double"
                                              : "broadcast");
    if (t->method != &sae_method_backprop)
        return sae_fail(t->errmsg, SAE_ERR_STATE,
                        "sae_trainer_set_reducer: %s has no gradient step to reduce; "
                        "data-parallel training needs train.algorithm = backprop with sgd or adam",
                        t->method->selected_by);
    sae_reduce_t *r = calloc(1, sizeof *r);
    size_t len = SAE_REDUCE_HEAD + SAE_MAX_TERMS + t->model->code_dim;
    double *buf = r ? malloc(len * sizeof *buf) : NULL;
    if (!buf) {
        free(r);
        return sae_fail(t->errmsg, SAE_ERR_NOMEM, "sae_trainer_set_reducer: out of memory");
    }
    r->ops = o;
    r->user = user;
    r->buf = buf;
    r->buf_len = len;
    sae_reduce_free(t->red);
    t->red = r;
    sae_status_t st = check_peers(t);
    if (st != SAE_OK) {
        sae_reduce_free(t->red);
        t->red = NULL;
    }
    return st;
}

/* Rank 0's weights, and its input scale (arch.normalize_input, estimated
 * from its first batch), so that every rank starts from the same point
 * whatever its own seed or data did. */
static sae_status_t broadcast_model(sae_trainer_t *t, const char *what)
{
    sae_reduce_t *r = t->red;
    sae_model_t *m = t->model;
    int rc = r->ops.broadcast(r->user, m->weights, m->n_weights * sizeof *m->weights);
    int slot = sae_param_index(SAE_P_INPUT_SCALE);
    if (rc == 0 && slot >= 0)
        rc = r->ops.broadcast(r->user, &m->cfg->values[slot], sizeof m->cfg->values[slot]);
    return rc == 0 ? SAE_OK : reducer_fail(t, what, rc);
}

sae_status_t sae_reduce_begin_step(sae_trainer_t *t)
{
    if (!t->red || t->red->synced)
        return SAE_OK;
    sae_status_t st = broadcast_model(t, "broadcast of rank 0's initial weights");
    if (st == SAE_OK)
        t->red->synced = 1;
    return st;
}

sae_status_t sae_reduce_step(sae_trainer_t *t, size_t rows, sae_status_t pass_st,
                             sae_stats_t *stats)
{
    sae_reduce_t *r = t->red;
    const sae_model_t *m = t->model;
    size_t h = m->code_dim, nt = SAE_MAX_TERMS;
    double *b = r->buf, w = (double)rows;
    memset(b, 0, r->buf_len * sizeof *b);
    int bad = pass_st == SAE_ERR_DIVERGED;
    if (rows > 0 && !bad) {
        b[R_LOSS] = w * stats->loss;
        b[R_RECON] = w * stats->recon_loss;
        b[R_ACT] = w * stats->mean_activation;
        b[R_L0] = w * stats->l0;
        for (uint32_t i = 0; i < stats->n_terms; i++)
            b[SAE_REDUCE_HEAD + i] = w * stats->term_loss[i];
        memcpy(b + SAE_REDUCE_HEAD + nt, t->ws.col_active, h * sizeof *b);
        memcpy(r->names, stats->term_name, stats->n_terms * sizeof *r->names);
        r->n_names = stats->n_terms;
    }
    b[R_ROWS] = w;
    b[R_BAD] = bad;
    int rc = r->ops.allreduce_double(r->user, b, r->buf_len);
    if (rc != 0)
        return reducer_fail(t, "allreduce of the step's statistics", rc);
    if (b[R_BAD] > 0.0) {
        if (!bad)
            sae_fail(t->errmsg, SAE_ERR_DIVERGED,
                     "step %llu: the loss became non-finite on %.0f of the %d ranks (this "
                     "rank's was finite): lower the learning rate?",
                     (unsigned long long)t->steps + 1, b[R_BAD], r->ops.ranks);
        return SAE_ERR_DIVERGED;
    }
    double n = b[R_ROWS];
    sae_stats_start(stats, (size_t)n);
    double inv = n > 0.0 ? 1.0 / n : 0.0;
    stats->loss = b[R_LOSS] * inv;
    stats->recon_loss = b[R_RECON] * inv;
    stats->mean_activation = b[R_ACT] * inv;
    stats->l0 = b[R_L0] * inv;
    stats->n_terms = r->n_names;
    for (uint32_t i = 0; i < r->n_names; i++) {
        stats->term_name[i] = r->names[i];
        stats->term_loss[i] = b[SAE_REDUCE_HEAD + i] * inv;
    }
    memcpy(t->ws.col_active, b + SAE_REDUCE_HEAD + nt, h * sizeof *b);
    /* The pass gave the mean over this rank's rows: times rows / N, the
     * ranks' sum is the mean over the global batch. */
    float *g = t->ws.grad;
    size_t len = m->n_weights;
    float f = (float)(w * inv);
    if (rows == 0)
        memset(g, 0, len * sizeof *g);
    else if (f != 1.0f)
        for (size_t i = 0; i < len; i++)
            g[i] *= f;
    rc = r->ops.allreduce_float(r->user, g, len);
    if (rc != 0)
        return reducer_fail(t, "allreduce of the gradient", rc);
    return SAE_OK;
}

sae_status_t sae_reduce_after_resample(sae_trainer_t *t, sae_optim_t *opt)
{
    sae_reduce_t *r = t->red;
    size_t n = t->model->n_weights;
    sae_status_t st = broadcast_model(t, "broadcast of the resampled weights");
    int rc = 0;
    if (st == SAE_OK)
        rc = r->ops.broadcast(r->user, opt->m, n * sizeof *opt->m);
    if (rc == 0 && st == SAE_OK && opt->v)
        rc = r->ops.broadcast(r->user, opt->v, n * sizeof *opt->v);
    if (rc == 0 && st == SAE_OK)
        rc = r->ops.broadcast(r->user, &t->recipe, sizeof t->recipe);
    if (rc != 0)
        return reducer_fail(t, "broadcast of the resampled state", rc);
    return st;
}
