/* The top-k code (Makhzani & Frey 2013; over the batch, Bussmann et al.
 * 2024): its k schedule, the selection kernels, and the two code
 * operators. SPDX-License-Identifier: MIT */
#include "code/topk.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "code/code_op.h"
#include "core/alloc.h"
#include "core/select.h"

size_t sae_topk_k_max(const sae_config_t *cfg)
{
    size_t k = (size_t)sae_cfg_int(cfg, SAE_P_TOPK_K);
    size_t k0 = (size_t)sae_cfg_int(cfg, SAE_P_TOPK_K_START);
    if (k == 0)
        return 0;
    return k0 > k ? k0 : k;
}

size_t sae_topk_k_at(const sae_config_t *cfg, uint64_t step)
{
    size_t k = (size_t)sae_cfg_int(cfg, SAE_P_TOPK_K);
    size_t k0 = (size_t)sae_cfg_int(cfg, SAE_P_TOPK_K_START);
    uint64_t n = (uint64_t)sae_cfg_int(cfg, SAE_P_TOPK_ANNEAL_STEPS);
    if (k == 0 || k0 == 0 || n == 0 || step >= n)
        return k;
    double f = (double)step / (double)n;
    return (size_t)llround((double)k0 + f * ((double)k - (double)k0));
}

size_t sae_topk_k_infer(const sae_config_t *cfg, size_t units)
{
    size_t k = (size_t)sae_cfg_int(cfg, SAE_P_TOPK_K);
    size_t a = (size_t)llround(sae_cfg_float(cfg, SAE_P_TOPK_ALPHA) * (double)k);
    if (a < 1)
        a = 1;
    return a > units ? units : a;
}

/* Lists the units of each row whose value in h survives, as CSR. */
static void per_row(float *h, size_t rows, size_t units, size_t k, uint32_t *scratch,
                    sae_sparse_code_t *sc)
{
    sc->row_ptr[0] = 0;
    for (size_t b = 0; b < rows; b++) {
        float *row = h + b * units;
        sae_topk_select(row, units, k, scratch);
        uint32_t at = sc->row_ptr[b];
        for (size_t s = 0; s < k; s++) {
            sc->idx[at + s] = scratch[s];
            sc->val[at + s] = row[scratch[s]];
        }
        sc->row_ptr[b + 1] = at + (uint32_t)k;
        memset(row, 0, units * sizeof *row);
        for (size_t s = 0; s < k; s++)
            row[sc->idx[at + s]] = sc->val[at + s];
    }
}

static void whole_batch(float *h, size_t rows, size_t units, size_t k, uint32_t *scratch,
                        sae_sparse_code_t *sc)
{
    size_t total = rows * k;
    sae_topk_select(h, rows * units, total, scratch);
    /* Counting sort of the winners by row keeps the CSR layout. */
    memset(sc->row_ptr, 0, (rows + 1) * sizeof *sc->row_ptr);
    for (size_t s = 0; s < total; s++)
        sc->row_ptr[scratch[s] / units + 1]++;
    for (size_t b = 0; b < rows; b++)
        sc->row_ptr[b + 1] += sc->row_ptr[b];
    /* Fill from the front of each row, then restore row_ptr. */
    for (size_t s = 0; s < total; s++) {
        uint32_t flat = scratch[s];
        size_t b = flat / units;
        uint32_t at = sc->row_ptr[b]++;
        sc->idx[at] = (uint32_t)(flat % units);
        sc->val[at] = h[flat];
    }
    for (size_t b = rows; b > 0; b--)
        sc->row_ptr[b] = sc->row_ptr[b - 1];
    sc->row_ptr[0] = 0;
    memset(h, 0, rows * units * sizeof *h);
    for (size_t b = 0; b < rows; b++)
        for (uint32_t s = sc->row_ptr[b]; s < sc->row_ptr[b + 1]; s++)
            h[b * units + sc->idx[s]] = sc->val[s];
}

void sae_topk_apply(int batch_mode, float *h, size_t rows, size_t units, size_t k,
                    uint32_t *scratch, sae_sparse_code_t *sc)
{
    if (k > units)
        k = units;
    if (batch_mode)
        whole_batch(h, rows, units, k, scratch, sc);
    else
        per_row(h, rows, units, k, scratch, sc);
}

void sae_topk_mask_grad(float *g, size_t rows, size_t units, const sae_sparse_code_t *sc,
                        float *keep, float *dbias)
{
    if (dbias)
        memset(dbias, 0, units * sizeof *dbias);
    for (size_t b = 0; b < rows; b++) {
        float *row = g + b * units;
        uint32_t s0 = sc->row_ptr[b], s1 = sc->row_ptr[b + 1];
        for (uint32_t s = s0; s < s1; s++)
            keep[s] = row[sc->idx[s]];
        memset(row, 0, units * sizeof *row);
        for (uint32_t s = s0; s < s1; s++) {
            row[sc->idx[s]] = keep[s];
            if (dbias)
                dbias[sc->idx[s]] += keep[s];
        }
    }
}

void sae_topk_rows(float *h, size_t rows, size_t units, size_t k, uint32_t *scratch)
{
    if (k >= units)
        return;
    for (size_t b = 0; b < rows; b++) {
        float *row = h + b * units;
        sae_topk_select(row, units, k, scratch);
        /* The winners' values wait in the second half of the scratch. */
        float *kept = (float *)(scratch + units);
        for (size_t s = 0; s < k; s++)
            kept[s] = row[scratch[s]];
        memset(row, 0, units * sizeof *row);
        for (size_t s = 0; s < k; s++)
            row[scratch[s]] = kept[s];
    }
}

/* The top-k code as a code operator: the activation, then the k largest
 * of each row (per row) or the rows*k largest of the batch (over the
 * batch, Bussmann et al. 2024's BatchTopK); gradients pass through the
 * kept units only. At inference every row keeps round(topk.alpha * k)
 * (Makhzani & Frey's alpha). */
typedef struct topk_state {
    const sae_config_t *cfg;
    int batch_mode;
    sae_sparse_code_t code; /* the kept units of the last forward */
    uint32_t *select;       /* units (per row) or rows*units (batch) */
    float *keep;            /* rows*k: mask_grad's scratch */
    size_t infer_k;
    uint32_t *infer_select; /* 2 * units */
} topk_state_t;

static int selects_row(const sae_config_t *cfg)
{
    return sae_cfg_int(cfg, SAE_P_TOPK_K) > 0 && sae_cfg_int(cfg, SAE_P_TOPK_MODE) != 1;
}

sae_status_t sae_topk_validate(const sae_config_t *cfg, size_t units, char *errbuf)
{
    int64_t k = sae_cfg_int(cfg, SAE_P_TOPK_K), hidden = (int64_t)units;
    if (k > hidden || sae_cfg_int(cfg, SAE_P_TOPK_K_START) > hidden)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "topk.k = %" PRId64 " and topk.k_start = %" PRId64
                        " must not exceed arch.hidden_dim = %" PRId64,
                        k, sae_cfg_int(cfg, SAE_P_TOPK_K_START), hidden);
    if ((double)k * sae_cfg_float(cfg, SAE_P_TOPK_ALPHA) > (double)hidden + 0.5)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "topk.alpha x topk.k = %g x %" PRId64
                        " keeps more units than arch.hidden_dim = %" PRId64,
                        sae_cfg_float(cfg, SAE_P_TOPK_ALPHA), k, hidden);
    if (sae_cfg_float(cfg, SAE_P_HIDDEN_KEEP) < 1.0)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "topk.k > 0 cannot be combined with corrupt.hidden_keep < 1 (the "
                        "top-k code is already the decoder's dropout)");
    if (sae_cfg_int(cfg, SAE_P_TOPK_INFERENCE) == SAE_TOPK_INFER_THRESHOLD &&
        sae_cfg_int(cfg, SAE_P_TOPK_MODE) != 1)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "topk.inference = threshold needs topk.mode = batch (the threshold is "
                        "BatchTopK's, estimated from the batch selection)");
    return SAE_OK;
}

static void destroy(void *state)
{
    topk_state_t *s = state;
    if (!s)
        return;
    void *bufs[] = {s->code.row_ptr, s->code.idx, s->code.val, s->select, s->keep,
                    s->infer_select};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        sae_aligned_free(bufs[i]);
    free(s);
}


static sae_status_t create(const sae_config_t *cfg, size_t units, size_t rows, void **state)
{
    topk_state_t *s = calloc(1, sizeof *s);
    *state = NULL;
    if (!s)
        return SAE_ERR_NOMEM;
    s->cfg = cfg;
    s->batch_mode = sae_cfg_int(cfg, SAE_P_TOPK_MODE) == 1;
    s->infer_k = sae_topk_k_infer(cfg, units);
    int ok = sae_aligned_grab((void **)&s->infer_select, 2 * units * sizeof(uint32_t));
    if (ok && rows > 0) {
        size_t k = sae_topk_k_max(cfg), sel = s->batch_mode ? rows * units : units;
        ok = sae_aligned_grab((void **)&s->code.row_ptr, (rows + 1) * sizeof(uint32_t)) &&
             sae_aligned_grab((void **)&s->code.idx, rows * k * sizeof(uint32_t)) &&
             sae_aligned_grab((void **)&s->code.val, rows * k * sizeof(float)) &&
             sae_aligned_grab((void **)&s->keep, rows * k * sizeof(float)) &&
             sae_aligned_grab((void **)&s->select, sel * sizeof(uint32_t));
    }
    if (!ok) {
        destroy(s);
        return SAE_ERR_NOMEM;
    }
    *state = s;
    return SAE_OK;
}

static void forward(void *state, const sae_code_ctx_t *cx, float *z, const float *bias,
                    size_t rows, size_t units, sae_code_stats_t *st)
{
    topk_state_t *s = state;
    sae_bias_act_forward(cx->act, z, rows, units, bias, NULL, cx->scr);
    if (cx->before_select)
        cx->before_select(cx->before_data, z, rows);
    sae_topk_apply(s->batch_mode, z, rows, units, sae_topk_k_at(s->cfg, cx->step), s->select,
                   &s->code);
    sae_code_stats(cx->act, z, rows, units, st, cx->scr);
}

static void backward(void *state, const sae_code_ctx_t *cx, const float *h, float *dh,
                     size_t rows, size_t units, const sae_code_grad_terms_t *terms, float *dbias)
{
    topk_state_t *s = state;
    sae_act_backward(cx->act, h, dh, rows, units, terms, NULL, cx->scr);
    sae_topk_mask_grad(dh, rows, units, &s->code, s->keep, dbias);
}

static const sae_sparse_code_t *support(const void *state)
{
    return &((const topk_state_t *)state)->code;
}

static void infer(void *state, sae_activation_t act, float *z, const float *bias, size_t rows,
                  size_t units, int threads)
{
    topk_state_t *s = state;
    sae_reduce_scratch_t scr = {NULL, threads};
    sae_bias_act_forward(act, z, rows, units, bias, NULL, &scr);
    sae_topk_rows(z, rows, units, s->infer_k, s->infer_select);
}

/* The batch mode is read from the config by create: batch_topk.c drives
 * this operator in batch mode and adds the inference threshold. */
const sae_code_op_t sae_code_topk = {
    .name = "topk",
    .selects = selects_row,
    .validate = sae_topk_validate,
    .create = create,
    .destroy = destroy,
    .forward = forward,
    .backward = backward,
    .support = support,
    .max_active = sae_topk_k_max,
    .infer = infer,
};
