/* The dense layers' work restricted to a sparse code (top-k codes, Makhzani & Frey
 * 2013; Gao et al. 2024):
 * with k of H units active per row, decoding, the code gradient and both
 * weight gradients cost rows*k*D instead of rows*H*D. Weights are read as
 * [H x D] rows, one row per unit (the decoder's weight, or the encoder's
 * when tied). SPDX-License-Identifier: MIT */
#ifndef SAE_LAYERS_SPARSE_DENSE_H
#define SAE_LAYERS_SPARSE_DENSE_H

#include <stddef.h>

#include "layers/activation.h"
#include <stdint.h>

/* A sparse code, row by row (CSR): the active units of each row and their
 * values. */
typedef struct sae_sparse_code {
    uint32_t *row_ptr; /* [rows + 1]: row b's entries are [row_ptr[b], row_ptr[b+1]) */
    uint32_t *idx;     /* unit of each entry */
    float *val;        /* code value of each entry */
} sae_sparse_code_t;

/* out[b,:] = sum over b's entries s of val[s] * wt[idx[s],:] (gather). */
void sae_sparse_decode(const sae_sparse_code_t *sc, size_t rows, const float *wt, size_t d,
                       float *out);

/* dval[s] = dout[b,:] . wt[idx[s],:], the gradient at each active unit. */
void sae_sparse_code_grad(const sae_sparse_code_t *sc, size_t rows, const float *dout,
                          const float *wt, size_t d, float *dval);

/* g[idx[s],:] += coef[s] * a[b,:] (scatter-add): the weight gradient of a
 * product with a sparse factor. */
void sae_sparse_scatter(const sae_sparse_code_t *sc, size_t rows, const float *coef,
                        const float *a, size_t d, float *g);

/* The activation backward at the active units only: dval[s] becomes
 * (dval[s] + terms at (b, idx[s])) * act'(val[s]); dbias[j] (zeroed here)
 * collects them per unit. units: the code width (for terms->extra). */
void sae_sparse_act_backward(sae_activation_t act, const sae_sparse_code_t *sc, size_t rows,
                             size_t units, const sae_code_grad_terms_t *terms, float *dval,
                             float *dbias);

#endif
