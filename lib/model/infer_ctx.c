/* Inference contexts (model/infer_ctx.h). SPDX-License-Identifier: MIT */
#include <stdatomic.h>
#include <stdlib.h>

#include "code/code_op.h"
#include "core/alloc.h"
#include "core/matmul.h"
#include "model/bf16_weights.h"
#include "model/dense.h"
#include "model/infer_ctx.h"
#include "model/kind.h"
#include "model/model.h"

struct sae_infer_ctx {
    sae_infer_ctx_t *next; /* in the model's pool */
    float *scratch;
    size_t scratch_size;
    float *center;    /* one-hidden-layer kind with a pre-encoder bias */
    void *code_state; /* one-hidden-layer kind: its code operator's */
    /* bf16 weights (model/bf16_weights.c): oneDNN engine, widening buffer. */
    sae_mm_t *mm;
    sae_mm_kind_t mm_kind; /* of mm, or of the failed try */
    int mm_tried;
    float *wide;
    size_t wide_size;
};

/* The calling thread's context, and whose it is. */
static _Thread_local const sae_model_t *tl_model;
static _Thread_local sae_infer_ctx_t *tl_ctx;

/* The pool's lock: a spin lock held for a pointer swap (uncontended: one
 * atomic exchange per call). */
static void lock(sae_model_t *m)
{
    while (atomic_exchange_explicit(&m->infer_lock, 1, memory_order_acquire))
        ;
}

static void unlock(sae_model_t *m)
{
    atomic_store_explicit(&m->infer_lock, 0, memory_order_release);
}

static void ctx_free(sae_model_t *m, sae_infer_ctx_t *c)
{
    if (!c)
        return;
    if (m->kind == &sae_kind_dense) {
        sae_dense_t *dn = sae_dense(m);
        dn->code_op->destroy(c->code_state);
    }
    sae_mm_free(c->mm);
    sae_aligned_free(c->wide);
    sae_aligned_free(c->center);
    sae_aligned_free(c->scratch);
    free(c);
}

static sae_infer_ctx_t *ctx_new(sae_model_t *m)
{
    sae_infer_ctx_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (m->kind == &sae_kind_dense) {
        sae_dense_t *dn = sae_dense(m);
        if (dn->code_op->create(m->cfg, m->code_dim, 0, &c->code_state) != SAE_OK) {
            free(c);
            return NULL;
        }
        /* The operator's own parameters (JumpReLU's thresholds, gated's
         * gate), as the model's own inference state has them. */
        if (dn->code_op->bind) {
            sae_code_params_t p;
            sae_dense_code_params(m, &p);
            dn->code_op->bind(c->code_state, &p);
        }
        if (dn->pre_bias) {
            c->center = sae_aligned_alloc(SAE_CENTER_ROWS * m->input_dim * sizeof(float));
            if (!c->center) {
                ctx_free(m, c);
                return NULL;
            }
        }
    }
    return c;
}

sae_status_t sae_infer_begin(sae_model_t *m, sae_infer_call_t *call)
{
    call->prev_model = tl_model;
    call->prev_ctx = tl_ctx;
    call->ctx = NULL;
    if (tl_model == m && tl_ctx)
        return SAE_OK; /* nested: the outer call's context */
    lock(m);
    sae_infer_ctx_t *c = m->infer_pool;
    if (c)
        m->infer_pool = c->next;
    unlock(m);
    if (!c) {
        c = ctx_new(m);
        if (!c)
            return sae_fail(m->errmsg, SAE_ERR_NOMEM, "out of memory for an inference context");
    }
    call->ctx = c;
    tl_model = m;
    tl_ctx = c;
    return SAE_OK;
}

void sae_infer_end(sae_model_t *m, sae_infer_call_t *call)
{
    sae_infer_ctx_t *c = call->ctx;
    if (c) {
        lock(m);
        c->next = m->infer_pool;
        m->infer_pool = c;
        unlock(m);
    }
    tl_model = call->prev_model;
    tl_ctx = call->prev_ctx;
}

static sae_infer_ctx_t *current(const sae_model_t *m)
{
    return tl_model == m ? tl_ctx : NULL;
}

/* A buffer of at least floats floats in *buf (grown, contents dropped). */
static float *grow(float **buf, size_t *size, size_t floats)
{
    if (*size < floats) {
        float *p = sae_aligned_alloc(floats * sizeof(float));
        if (!p)
            return NULL;
        sae_aligned_free(*buf);
        *buf = p;
        *size = floats;
    }
    return *buf;
}

float *sae_model_scratch(sae_model_t *m, size_t floats)
{
    sae_infer_ctx_t *c = current(m);
    if (c)
        return grow(&c->scratch, &c->scratch_size, floats);
    return grow(&m->scratch, &m->scratch_size, floats);
}

float *sae_infer_center(const sae_model_t *m)
{
    sae_infer_ctx_t *c = current(m);
    return c ? c->center : sae_dense(m)->center;
}

void *sae_infer_code_state(const sae_model_t *m)
{
    sae_infer_ctx_t *c = current(m);
    return c ? c->code_state : sae_dense(m)->code_infer;
}

void sae_infer_pool_free(sae_model_t *m)
{
    sae_infer_ctx_t *c = m->infer_pool;
    while (c) {
        sae_infer_ctx_t *next = c->next;
        ctx_free(m, c);
        c = next;
    }
    m->infer_pool = NULL;
}

sae_mm_t *sae_infer_mm(const sae_model_t *m, sae_mm_kind_t kind)
{
    sae_infer_ctx_t *c = current(m);
    if (!c || kind == SAE_MM_BLAS)
        return NULL; /* training's calls, one-off: CBLAS or widening */
    if (c->mm_tried && c->mm_kind != kind) {
        sae_mm_free(c->mm); /* the model's weights changed precision */
        c->mm = NULL;
        c->mm_tried = 0;
    }
    if (!c->mm_tried) {
        char why[SAE_ERRMSG_SIZE];
        c->mm_tried = 1;
        c->mm_kind = kind;
        if (sae_mm_create(kind, &c->mm, why) != SAE_OK)
            c->mm = NULL;
    }
    return c->mm;
}

float *sae_infer_wide(const sae_model_t *m, size_t floats)
{
    sae_infer_ctx_t *c = current(m);
    sae_bf16_weights_t *b = m->bf16;
    return c ? grow(&c->wide, &c->wide_size, floats) : grow(&b->wide, &b->wide_size, floats);
}
