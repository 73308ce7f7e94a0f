/* The top-k (k-sparse) code of Makhzani & Frey, "k-Sparse Autoencoders"
 * (arXiv 1312.5663): keep the k largest units of each row (or the rows*k
 * largest of the batch), zero the rest, and let gradients through the kept
 * support only. The kept units are also listed row by row (CSR) for the
 * sparse decoder path. SPDX-License-Identifier: MIT */
#ifndef SAE_CODE_TOPK_H
#define SAE_CODE_TOPK_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "layers/sparse_dense.h"

/* The top-k keys checked against the code's width (both operators). */
sae_status_t sae_topk_validate(const sae_config_t *cfg, size_t units, char *errbuf);

/* Largest k a config can ask for at any step (0 when top-k is off). */
size_t sae_topk_k_max(const sae_config_t *cfg);
/* k in effect at training step `step`: linear from topk.k_start to topk.k
 * over topk.anneal_steps steps (Makhzani & Frey anneal k the same way). */
size_t sae_topk_k_at(const sae_config_t *cfg, uint64_t step);
/* Units kept per row at inference: round(alpha * k), within [1, units]. */
size_t sae_topk_k_infer(const sae_config_t *cfg, size_t units);

/* Keeps the top-k of h [rows x units] in place (zeroing the rest) and lists
 * them in sc. batch_mode: the rows*k largest over the whole batch.
 * scratch: units (per-row) or rows*units (batch) entries. */
void sae_topk_apply(int batch_mode, float *h, size_t rows, size_t units, size_t k,
                    uint32_t *scratch, sae_sparse_code_t *sc);

/* Keeps the k largest units of each row of h in place, zeroing the others
 * (inference). scratch: 2 * units entries. */
void sae_topk_rows(float *h, size_t rows, size_t units, size_t k, uint32_t *scratch);

/* Zeroes g [rows x units] outside the support of sc, in place; dbias (if
 * not NULL) receives the column sums of the result. keep: scratch of
 * row_ptr[rows] floats. */
void sae_topk_mask_grad(float *g, size_t rows, size_t units, const sae_sparse_code_t *sc,
                        float *keep, float *dbias);

#endif
