/* Top-k selection of a code batch. SPDX-License-Identifier: MIT */
#include "code/topk.h"

#include <math.h>
#include <string.h>

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
