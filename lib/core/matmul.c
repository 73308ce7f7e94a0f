/* The oneDNN matmul engine (core/matmul.h). SPDX-License-Identifier: MIT */
#include "core/matmul.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/bf16.h"
#include "core/error.h"
#include "core/gemm.h"

#if defined(SAE_HAVE_ONEDNN)
#include <oneapi/dnnl/dnnl.h>

void omp_set_num_threads(int n);

/* Enough for every shape of a dense pass (five products, a smaller last
 * batch, the gradient check's single rows) without evicting. */
#define PLANS 24
#define WEIGHT_SLOTS 4

typedef struct plan_key {
    int ta, tb, accumulate;
    size_t m, n, k, lda, ldb, ldc;
    float alpha;
} plan_key_t;

typedef struct plan {
    plan_key_t key;
    int used;
    uint64_t last_use;
    dnnl_primitive_t prim;
    dnnl_memory_t a, b, c;
    const char *impl; /* owned by the primitive descriptor */
    dnnl_primitive_desc_t pd;
} plan_t;

/* A weight operand's bf16 copy, keyed by the fp32 address. */
typedef struct weight_slot {
    const float *src;
    size_t rows, cols, ld;
    uint16_t *bf;
    size_t cap;
    int valid;
    uint64_t last_use;
} weight_slot_t;

struct sae_mm {
    sae_mm_kind_t kind;
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    plan_t plans[PLANS];
    weight_slot_t weights[WEIGHT_SLOTS];
    uint16_t *scratch[2]; /* activations' bf16 copies, operand A and B */
    size_t scratch_cap[2];
    uint64_t clock;
    size_t fallbacks;
    const char *last_impl;
};

int sae_mm_available(sae_mm_kind_t kind, char *why)
{
    if (kind == SAE_MM_ONEDNN_BF16 && sae_cpu_bf16_isa() == SAE_BF16_ISA_NONE) {
        sae_fail(why, SAE_ERR_UNSUPPORTED,
                 "train.precision = bf16 needs a CPU with AVX512-BF16 or AMX-BF16; this one has "
                 "neither (oneDNN would emulate bf16 products more slowly than fp32 ones)");
        return 0;
    }
    return 1;
}

sae_status_t sae_mm_create(sae_mm_kind_t kind, sae_mm_t **out, char *errbuf)
{
    *out = NULL;
    if (kind == SAE_MM_BLAS)
        return SAE_OK;
    if (!sae_mm_available(kind, errbuf))
        return SAE_ERR_UNSUPPORTED;
    sae_mm_t *mm = calloc(1, sizeof *mm);
    if (!mm)
        return sae_fail(errbuf, SAE_ERR_NOMEM, "out of memory for the matmul engine");
    mm->kind = kind;
    mm->last_impl = "cblas";
    if (dnnl_engine_create(&mm->engine, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&mm->stream, mm->engine, dnnl_stream_default_flags) != dnnl_success) {
        sae_mm_free(mm);
        return sae_fail(errbuf, SAE_ERR_NOMEM, "oneDNN could not create its CPU engine");
    }
    *out = mm;
    return SAE_OK;
}

static void plan_release(plan_t *p)
{
    if (p->prim)
        dnnl_primitive_destroy(p->prim);
    if (p->pd)
        dnnl_primitive_desc_destroy(p->pd);
    if (p->a)
        dnnl_memory_destroy(p->a);
    if (p->b)
        dnnl_memory_destroy(p->b);
    if (p->c)
        dnnl_memory_destroy(p->c);
    memset(p, 0, sizeof *p);
}

void sae_mm_free(sae_mm_t *mm)
{
    if (!mm)
        return;
    for (int i = 0; i < PLANS; i++)
        plan_release(&mm->plans[i]);
    for (int i = 0; i < WEIGHT_SLOTS; i++)
        free(mm->weights[i].bf);
    free(mm->scratch[0]);
    free(mm->scratch[1]);
    if (mm->stream)
        dnnl_stream_destroy(mm->stream);
    if (mm->engine)
        dnnl_engine_destroy(mm->engine);
    free(mm);
}

void sae_mm_new_weights(sae_mm_t *mm)
{
    if (!mm)
        return;
    for (int i = 0; i < WEIGHT_SLOTS; i++)
        mm->weights[i].valid = 0;
}

size_t sae_mm_fallbacks(const sae_mm_t *mm)
{
    return mm ? mm->fallbacks : 0;
}

const char *sae_mm_impl(const sae_mm_t *mm)
{
    return mm ? mm->last_impl : "cblas";
}

void sae_mm_set_threads(int threads)
{
    if (threads > 0)
        omp_set_num_threads(threads);
}

/* A stored matrix of rows x cols with leading dimension ld. */
static void to_bf16(const float *src, size_t rows, size_t cols, size_t ld, uint16_t *dst)
{
    if (ld == cols) {
        sae_f32_to_bf16(src, dst, rows * cols);
        return;
    }
    for (size_t r = 0; r < rows; r++)
        sae_f32_to_bf16(src + r * ld, dst + r * ld, cols);
}

static int grow(uint16_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 1;
    uint16_t *p = realloc(*buf, need * sizeof *p);
    if (!p)
        return 0;
    *buf = p;
    *cap = need;
    return 1;
}

/* The bf16 copy of an operand stored as rows x cols (ld); NULL when out of
 * memory. Weights are looked up in their slots (least recently used goes). */
static const uint16_t *operand_bf16(sae_mm_t *mm, int which, const float *src, size_t rows,
                                    size_t cols, size_t ld, int weight)
{
    size_t extent = (rows - 1) * ld + cols;
    if (!weight) {
        if (!grow(&mm->scratch[which], &mm->scratch_cap[which], extent))
            return NULL;
        to_bf16(src, rows, cols, ld, mm->scratch[which]);
        return mm->scratch[which];
    }
    weight_slot_t *slot = NULL, *oldest = &mm->weights[0];
    for (int i = 0; i < WEIGHT_SLOTS; i++) {
        weight_slot_t *w = &mm->weights[i];
        if (w->src == src && w->rows == rows && w->cols == cols && w->ld == ld) {
            slot = w;
            break;
        }
        if (w->last_use < oldest->last_use)
            oldest = w;
    }
    if (!slot) {
        slot = oldest;
        slot->src = src;
        slot->rows = rows;
        slot->cols = cols;
        slot->ld = ld;
        slot->valid = 0;
    }
    slot->last_use = ++mm->clock;
    if (!slot->valid) {
        if (!grow(&slot->bf, &slot->cap, extent)) {
            slot->src = NULL;
            return NULL;
        }
        to_bf16(src, rows, cols, ld, slot->bf);
        slot->valid = 1;
    }
    return slot->bf;
}

static int key_equal(const plan_key_t *x, const plan_key_t *y)
{
    return x->ta == y->ta && x->tb == y->tb && x->accumulate == y->accumulate && x->m == y->m &&
           x->n == y->n && x->k == y->k && x->lda == y->lda && x->ldb == y->ldb &&
           x->ldc == y->ldc && x->alpha == y->alpha;
}

/* oneDNN's matmul computes dst[M x N] = src[M x K] weights[K x N]; op(A)
 * and op(B) are told by strides, so no transposed copy is made. */
static int plan_create(sae_mm_t *mm, plan_t *p, const plan_key_t *key)
{
    dnnl_data_type_t dt = mm->kind == SAE_MM_ONEDNN_BF16 ? dnnl_bf16 : dnnl_f32;
    dnnl_dims_t a_dims = {(dnnl_dim_t)key->m, (dnnl_dim_t)key->k};
    dnnl_dims_t b_dims = {(dnnl_dim_t)key->k, (dnnl_dim_t)key->n};
    dnnl_dims_t c_dims = {(dnnl_dim_t)key->m, (dnnl_dim_t)key->n};
    dnnl_dims_t a_str = {(dnnl_dim_t)key->lda, 1}, b_str = {(dnnl_dim_t)key->ldb, 1};
    dnnl_dims_t c_str = {(dnnl_dim_t)key->ldc, 1};
    if (key->ta) {
        a_str[0] = 1;
        a_str[1] = (dnnl_dim_t)key->lda;
    }
    if (key->tb) {
        b_str[0] = 1;
        b_str[1] = (dnnl_dim_t)key->ldb;
    }
    dnnl_memory_desc_t a_md, b_md, c_md;
    dnnl_matmul_desc_t desc;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    int ok = dnnl_memory_desc_init_by_strides(&a_md, 2, a_dims, dt, a_str) == dnnl_success &&
             dnnl_memory_desc_init_by_strides(&b_md, 2, b_dims, dt, b_str) == dnnl_success &&
             dnnl_memory_desc_init_by_strides(&c_md, 2, c_dims, dnnl_f32, c_str) == dnnl_success &&
             dnnl_matmul_desc_init(&desc, &a_md, &b_md, NULL, &c_md) == dnnl_success &&
             dnnl_primitive_attr_create(&attr) == dnnl_success;
    if (ok && key->alpha != 1.0f)
        ok = dnnl_primitive_attr_set_output_scales(attr, 1, 0, &key->alpha) == dnnl_success;
    if (ok && key->accumulate)
        ok = dnnl_post_ops_create(&ops) == dnnl_success &&
             dnnl_post_ops_append_sum(ops, 1.0f) == dnnl_success &&
             dnnl_primitive_attr_set_post_ops(attr, ops) == dnnl_success;
    if (ok)
        ok = dnnl_primitive_desc_create(&p->pd, &desc, attr, mm->engine, NULL) == dnnl_success &&
             dnnl_primitive_create(&p->prim, p->pd) == dnnl_success &&
             dnnl_memory_create(&p->a, &a_md, mm->engine, DNNL_MEMORY_NONE) == dnnl_success &&
             dnnl_memory_create(&p->b, &b_md, mm->engine, DNNL_MEMORY_NONE) == dnnl_success &&
             dnnl_memory_create(&p->c, &c_md, mm->engine, DNNL_MEMORY_NONE) == dnnl_success;
    if (ops)
        dnnl_post_ops_destroy(ops);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    if (!ok) {
        plan_release(p);
        return 0;
    }
    if (dnnl_primitive_desc_query(p->pd, dnnl_query_impl_info_str, 0, &p->impl) != dnnl_success)
        p->impl = "?";
    p->key = *key;
    p->used = 1;
    return 1;
}

static plan_t *plan_get(sae_mm_t *mm, const plan_key_t *key)
{
    plan_t *oldest = &mm->plans[0];
    for (int i = 0; i < PLANS; i++) {
        plan_t *p = &mm->plans[i];
        if (p->used && key_equal(&p->key, key)) {
            p->last_use = ++mm->clock;
            return p;
        }
        if (!p->used || (oldest->used && p->last_use < oldest->last_use))
            oldest = p;
    }
    plan_release(oldest);
    if (!plan_create(mm, oldest, key))
        return NULL;
    oldest->last_use = ++mm->clock;
    return oldest;
}

void sae_mm_gemm(sae_mm_t *mm, int ta, int tb, size_t m, size_t n, size_t k, float alpha,
                 const float *a, size_t lda, int a_weight, const float *b, size_t ldb,
                 int b_weight, float beta, float *c, size_t ldc)
{
    if (m == 0 || n == 0)
        return;
    if (!mm || k == 0 || (beta != 0.0f && beta != 1.0f))
        goto fallback;
    plan_key_t key = {ta, tb, beta != 0.0f, m, n, k, lda, ldb, ldc, alpha};
    plan_t *p = plan_get(mm, &key);
    if (!p)
        goto fallback;
    const void *ah = a, *bh = b;
    if (mm->kind == SAE_MM_ONEDNN_BF16) {
        /* Stored shapes: op(A) is m x k, so A is k x m when transposed. */
        ah = operand_bf16(mm, 0, a, ta ? k : m, ta ? m : k, lda, a_weight);
        bh = operand_bf16(mm, 1, b, tb ? n : k, tb ? k : n, ldb, b_weight);
        if (!ah || !bh)
            goto fallback;
    }
    dnnl_memory_set_data_handle(p->a, (void *)ah);
    dnnl_memory_set_data_handle(p->b, (void *)bh);
    dnnl_memory_set_data_handle(p->c, c);
    dnnl_exec_arg_t args[3] = {
        {DNNL_ARG_SRC, p->a}, {DNNL_ARG_WEIGHTS, p->b}, {DNNL_ARG_DST, p->c}};
    if (dnnl_primitive_execute(p->prim, mm->stream, 3, args) != dnnl_success ||
        dnnl_stream_wait(mm->stream) != dnnl_success)
        goto fallback;
    mm->last_impl = p->impl;
    return;
fallback:
    if (mm)
        mm->fallbacks++;
    sae_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

int sae_mm_gemm_bf16w(sae_mm_t *mm, int tb, size_t m, size_t n, size_t k, float alpha,
                      const float *a, size_t lda, const uint16_t *b, size_t ldb, float *c,
                      size_t ldc)
{
    if (!mm || mm->kind != SAE_MM_ONEDNN_BF16 || m == 0 || n == 0 || k == 0)
        return 0;
    plan_key_t key = {0, tb, 0, m, n, k, lda, ldb, ldc, alpha};
    plan_t *p = plan_get(mm, &key);
    const uint16_t *ah = p ? operand_bf16(mm, 0, a, m, k, lda, 0) : NULL;
    if (!ah)
        return 0;
    dnnl_memory_set_data_handle(p->a, (void *)ah);
    dnnl_memory_set_data_handle(p->b, (void *)b);
    dnnl_memory_set_data_handle(p->c, c);
    dnnl_exec_arg_t args[3] = {
        {DNNL_ARG_SRC, p->a}, {DNNL_ARG_WEIGHTS, p->b}, {DNNL_ARG_DST, p->c}};
    if (dnnl_primitive_execute(p->prim, mm->stream, 3, args) != dnnl_success ||
        dnnl_stream_wait(mm->stream) != dnnl_success)
        return 0;
    mm->last_impl = p->impl;
    return 1;
}

#else /* no oneDNN in this build */

int sae_mm_gemm_bf16w(sae_mm_t *mm, int tb, size_t m, size_t n, size_t k, float alpha,
                      const float *a, size_t lda, const uint16_t *b, size_t ldb, float *c,
                      size_t ldc)
{
    (void)mm, (void)tb, (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)lda, (void)b;
    (void)ldb, (void)c, (void)ldc;
    return 0;
}

int sae_mm_available(sae_mm_kind_t kind, char *why)
{
    if (kind == SAE_MM_BLAS)
        return 1;
    sae_fail(why, SAE_ERR_UNSUPPORTED,
             "this libsae was built without oneDNN (-Donednn=enabled and libdnnl-dev give it "
             "train.precision = bf16 and train.gemm = onednn)");
    return 0;
}

sae_status_t sae_mm_create(sae_mm_kind_t kind, sae_mm_t **out, char *errbuf)
{
    *out = NULL;
    return sae_mm_available(kind, errbuf) ? SAE_OK : SAE_ERR_UNSUPPORTED;
}

void sae_mm_free(sae_mm_t *mm)
{
    (void)mm;
}

void sae_mm_new_weights(sae_mm_t *mm)
{
    (void)mm;
}

void sae_mm_gemm(sae_mm_t *mm, int ta, int tb, size_t m, size_t n, size_t k, float alpha,
                 const float *a, size_t lda, int a_weight, const float *b, size_t ldb,
                 int b_weight, float beta, float *c, size_t ldc)
{
    (void)mm;
    (void)a_weight;
    (void)b_weight;
    sae_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

size_t sae_mm_fallbacks(const sae_mm_t *mm)
{
    (void)mm;
    return 0;
}

const char *sae_mm_impl(const sae_mm_t *mm)
{
    (void)mm;
    return "cblas";
}

void sae_mm_set_threads(int threads)
{
    (void)threads;
}

#endif

/* CBLAS, though oneDNN's fp32 matmul was measured 1.3-2x faster on an
 * AVX-512 Zen 4: oneDNN does not survive a failed allocation in its own
 * code (tests/test_faults.c crashes in dnnl_engine_create), and the
 * library promises a status for those; docs/precision.md. */
sae_mm_kind_t sae_mm_fp32_auto(void)
{
    return SAE_MM_BLAS;
}
