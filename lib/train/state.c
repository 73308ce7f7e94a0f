/* The trainer's checkpoint table (train/state.h). SPDX-License-Identifier: MIT */
#include "train/state.h"

#include <stdlib.h>
#include <string.h>

#include "code/code_op.h"
#include "model/dense.h"
#include "model/kind.h"
#include "sparsity/terms.h"
#include "train/method.h"
#include "train/trainer.h"

static void *resize_order(void *ctx, size_t n)
{
    sae_trainer_t *t = ctx;
    free(t->order);
    t->order = malloc((n ? n : 1) * sizeof *t->order);
    t->order_len = t->order ? n : 0;
    return t->order;
}

static void *resize_cursor(void *ctx, size_t n)
{
    sae_trainer_t *t = ctx;
    free(t->src_cursor);
    t->src_cursor = malloc(n ? n : 1);
    t->src_cursor_len = t->src_cursor ? n : 0;
    return t->src_cursor;
}

/* Step and epoch counts and the random stream (corruption, sampling). */
static sae_status_t counters(sae_trainer_t *t, sae_state_list_t *l)
{
    sae_status_t st = sae_state_add(l, "trainer.step", NULL, SAE_DT_U64, &t->steps, 1, 0);
    if (st == SAE_OK)
        st = sae_state_add(l, "trainer.epoch", NULL, SAE_DT_U64, &t->epochs, 1, 0);
    if (st == SAE_OK)
        st = sae_state_add(l, "trainer.rng", NULL, SAE_DT_U64, t->rng.s, 4, 0);
    return st;
}

/* Where the data stands: the position in the epoch, the epoch's
 * permutation, its running sums (rank_order's rate rule reads their mean),
 * and a source's cursor. */
static sae_status_t data_position(sae_trainer_t *t, sae_state_list_t *l)
{
    struct sae_state_pack *p = &t->pack;
    sae_status_t st = sae_state_add(l, "trainer.data.position", NULL, SAE_DT_U64, p->position,
                                    4, 0);
    if (st == SAE_OK)
        st = sae_state_add(l, "trainer.data.order", NULL, SAE_DT_U32, t->order, t->order_len, 0);
    if (st == SAE_OK) {
        sae_state_resizable(l, resize_order, t);
        st = sae_state_add(l, "trainer.data.epoch_sums", NULL, SAE_DT_F64, p->sums,
                           5 + SAE_MAX_TERMS, 0);
    }
    if (st == SAE_OK)
        st = sae_state_add(l, "trainer.data.epoch_counts", NULL, SAE_DT_U64, p->counts, 3, 0);
    if (st == SAE_OK)
        st = sae_state_add(l, "trainer.data.epoch_terms", NULL, SAE_DT_U32, p->terms,
                           SAE_MAX_TERMS, 0);
    if (st == SAE_OK) {
        st = sae_state_add(l, "trainer.source.cursor", NULL, SAE_DT_U8, t->src_cursor,
                           (size_t)t->src_cursor_len, 0);
        sae_state_resizable(l, resize_cursor, t);
    }
    return st;
}

/* Gao et al.'s dead latents: rows each unit fired in, rows since it last
 * fired (AuxK's choice of dead units reads these). */
static sae_status_t activity(sae_trainer_t *t, sae_state_list_t *l)
{
    size_t h = t->model->code_dim;
    sae_status_t st = sae_state_add(l, "trainer.activity.fired", NULL, SAE_DT_U64, t->ws.fired,
                                    h, 0);
    if (st == SAE_OK)
        st = sae_state_add(l, "trainer.activity.idle", NULL, SAE_DT_U64, t->ws.idle, h, 0);
    if (st == SAE_OK)
        st = sae_state_add(l, "trainer.activity.rows_seen", NULL, SAE_DT_U64, &t->ws.rows_seen,
                           1, 0);
    return st;
}

/* What the model holds for its trainer: a decoder bias still waiting for
 * the first rows (arch.bias_init). */
static sae_status_t model_flags(sae_trainer_t *t, sae_state_list_t *l)
{
    return sae_state_add(l, "trainer.model.flags", NULL, SAE_DT_U64, t->pack.model, 1, 0);
}

static sae_status_t method(sae_trainer_t *t, sae_state_list_t *l)
{
    return t->method->state ? t->method->state(t, l) : SAE_OK;
}

static sae_status_t code_op(sae_trainer_t *t, sae_state_list_t *l)
{
    if (t->model->kind != &sae_kind_dense || !t->ws.dense.code_state)
        return SAE_OK;
    const sae_code_op_t *op = sae_dense(t->model)->code_op;
    return op->checkpoint ? op->checkpoint(t->ws.dense.code_state, t->model->cfg, l) : SAE_OK;
}

/* The table. A new part of the trainer's state is a row (or an entry of
 * its method's or code operator's hook). */
static sae_status_t (*const table[])(sae_trainer_t *, sae_state_list_t *) = {
    counters, data_position, activity, model_flags, method, code_op,
};

sae_status_t sae_trainer_state_list(sae_trainer_t *t, sae_state_list_t *l, char *errbuf)
{
    l->n = 0;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i](t, l) != SAE_OK)
            return sae_fail(errbuf, SAE_ERR_RANGE,
                            "checkpoint: the trainer's state has more than %d arrays, or a name "
                            "longer than %d bytes",
                            SAE_STATE_MAX, SAE_STATE_NAME - 1);
    return SAE_OK;
}

static int dense_pending(const sae_trainer_t *t)
{
    return t->model->kind == &sae_kind_dense && sae_dense(t->model)->bias_init_pending;
}

void sae_trainer_state_pack(sae_trainer_t *t)
{
    struct sae_state_pack *p = &t->pack;
    const sae_stats_t *a = &t->epoch_acc;
    memset(p, 0, sizeof *p);
    p->position[0] = (uint64_t)t->data_kind;
    p->position[1] = t->pos;
    p->position[2] = t->data_rows;
    p->position[3] = t->src_cursor != NULL;
    double head[5] = {a->loss, a->recon_loss, a->mean_activation, a->l0, a->learning_rate};
    memcpy(p->sums, head, sizeof head);
    const sae_config_t *cfg = t->model->cfg;
    size_t n_ids = sae_terms_count(cfg);
    for (uint32_t i = 0; i < a->n_terms && i < SAE_MAX_TERMS; i++) {
        p->sums[5 + i] = a->term_loss[i];
        for (size_t id = 0; id < n_ids; id++)
            if (a->term_name[i] == sae_term_name(cfg, id))
                p->terms[i] = (uint32_t)id;
    }
    p->counts[0] = a->samples;
    p->counts[1] = a->n_terms;
    p->counts[2] = a->step;
    p->model[0] = (uint64_t)dense_pending(t);
}

/* Rows the batch loop's position may run past the data's end by: a batch
 * with replacement sampling is always full. */
sae_status_t sae_trainer_state_unpack(sae_trainer_t *t, char *errbuf)
{
    struct sae_state_pack *p = &t->pack;
    uint64_t kind = p->position[0], pos = p->position[1], rows = p->position[2];
    if (kind > SAE_DATA_SOURCE)
        return sae_fail(errbuf, SAE_ERR_FORMAT, "checkpoint: data kind %llu is not known",
                        (unsigned long long)kind);
    if (kind == SAE_DATA_MEMORY && (rows == 0 || rows > UINT32_MAX || pos >= rows + t->ws.batch))
        return sae_fail(errbuf, SAE_ERR_FORMAT,
                        "checkpoint: position %llu in an epoch of %llu rows is not possible",
                        (unsigned long long)pos, (unsigned long long)rows);
    if (kind != SAE_DATA_MEMORY && (rows != 0 || (kind == SAE_DATA_NONE && pos != 0)))
        return sae_fail(errbuf, SAE_ERR_FORMAT, "checkpoint: inconsistent data position");
    /* A shuffled epoch under way needs its permutation; a stale one (of an
     * earlier fit) is kept, as the trainer keeps it. */
    if (kind == SAE_DATA_MEMORY && pos > 0 &&
        sae_cfg_int(t->model->cfg, SAE_P_SAMPLING) == SAE_SAMPLE_SHUFFLE && t->order_len != rows)
        return sae_fail(errbuf, SAE_ERR_FORMAT,
                        "checkpoint: a permutation of %zu rows for an epoch of %llu",
                        t->order_len, (unsigned long long)rows);
    if (t->order_len) {
        unsigned char *seen = calloc(t->order_len, 1);
        if (!seen)
            return sae_fail(errbuf, SAE_ERR_NOMEM, "checkpoint: out of memory");
        size_t i = 0;
        for (; i < t->order_len && t->order[i] < t->order_len && !seen[t->order[i]]; i++)
            seen[t->order[i]] = 1;
        free(seen);
        if (i < t->order_len)
            return sae_fail(errbuf, SAE_ERR_FORMAT,
                            "checkpoint: trainer.data.order is not a permutation");
    }
    if ((p->position[3] != 0) != (t->src_cursor_len != 0) || p->position[3] > 1 ||
        (t->src_cursor_len && (kind != SAE_DATA_SOURCE || t->src_cursor_len > ((size_t)1 << 30))))
        return sae_fail(errbuf, SAE_ERR_FORMAT, "checkpoint: inconsistent source cursor");
    const sae_config_t *cfg = t->model->cfg;
    if (p->counts[1] > SAE_MAX_TERMS)
        return sae_fail(errbuf, SAE_ERR_FORMAT, "checkpoint: %llu terms in the epoch's sums",
                        (unsigned long long)p->counts[1]);
    for (size_t i = 0; i < p->counts[1]; i++)
        if (p->terms[i] >= sae_terms_count(cfg))
            return sae_fail(errbuf, SAE_ERR_FORMAT, "checkpoint: term id %u is not known",
                            (unsigned)p->terms[i]);
    if (p->model[0] > 1 || (p->model[0] && (t->model->kind != &sae_kind_dense ||
                                            !sae_dense(t->model)->has_bias)))
        return sae_fail(errbuf, SAE_ERR_FORMAT, "checkpoint: trainer.model.flags is not possible");
    if (!(t->rng.s[0] | t->rng.s[1] | t->rng.s[2] | t->rng.s[3]))
        return sae_fail(errbuf, SAE_ERR_FORMAT, "checkpoint: trainer.rng is all zero");

    t->data_kind = (int)kind;
    t->pos = pos;
    t->data_rows = rows;
    if (!t->src_cursor_len) {
        free(t->src_cursor);
        t->src_cursor = NULL;
    }
    t->src_restore = kind == SAE_DATA_SOURCE;
    sae_stats_t *a = &t->epoch_acc;
    memset(a, 0, sizeof *a);
    a->loss = p->sums[0];
    a->recon_loss = p->sums[1];
    a->mean_activation = p->sums[2];
    a->l0 = p->sums[3];
    a->learning_rate = p->sums[4];
    a->samples = p->counts[0];
    a->n_terms = (uint32_t)p->counts[1];
    a->step = p->counts[2];
    for (uint32_t i = 0; i < a->n_terms; i++) {
        a->term_loss[i] = p->sums[5 + i];
        a->term_name[i] = sae_term_name(cfg, p->terms[i]);
    }
    if (t->model->kind == &sae_kind_dense)
        sae_dense(t->model)->bias_init_pending = (int)p->model[0];
    return SAE_OK;
}
