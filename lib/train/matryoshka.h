/* The Matryoshka SAE's reconstruction (Bussmann, Nabeshima, Karvonen &
 * Nanda 2025, "Learning Multi-Level Features with Matryoshka Sparse
 * Autoencoders", arXiv 2503.17547; Nabeshima 2024): the dictionary's
 * nested prefixes m_1 < ... < m_n = H each reconstruct the input on their
 * own, from the first m_i units of the code:
 *
 *     L = w sum_i loss(x, h[:, :m_i] W_dec[:m_i] + b_dec),   w = 1 or 1/n
 *
 * Forward: segment s (units m_{s-1}..m_s) decodes into its own buffer,
 * and prefix sums of those give every prefix's output; each becomes its
 * loss's gradient g_i in place. Backward: the units of segment s are read
 * by prefixes s..n, so they see G_s = sum_{i >= s} w g_i (suffix sums):
 *     dh[:, seg s] = G_s W[seg s]^T,   dW[seg s] = h[:, seg s]^T G_s,
 *     db_dec = sum_i w (column sums of g_i).
 * The GEMMs over the segments add up to the plain decoder's, and on the
 * sparse path each active unit reads its segment's G_s only.
 * SPDX-License-Identifier: MIT */
#ifndef SAE_TRAIN_MATRYOSHKA_H
#define SAE_TRAIN_MATRYOSHKA_H

#include "train/trainer.h"

typedef struct sae_matryoshka_ws {
    unsigned n;                     /* prefixes */
    size_t ends[SAE_MAX_PREFIXES];  /* their sizes, the last = H */
    float weight;                   /* 1 (sum) or 1/n (mean) */
    uint8_t *seg;                   /* [H] the segment of each unit */
    size_t stride;                  /* floats between the g_i: batch x D */
    float *g;                       /* [n x batch x D] outputs, then gradients */
    float *db;                      /* [D] one prefix's bias gradient */
} sae_matryoshka_ws_t;

/* ws->mat for a model whose config sets matryoshka.prefixes (left NULL
 * otherwise). 0 on allocation failure. */
int sae_matryoshka_ws_init(sae_dense_ws_t *ws, const sae_model_t *m, size_t batch);
void sae_matryoshka_ws_release(sae_dense_ws_t *ws);

/* The prefixes' outputs from the code hd (dense) or sc (sparse path, when
 * not NULL), their weighted losses against x (returned) and, when grad, the
 * suffix sums G_s and the decoder bias's gradient into g_dec_b (may be
 * NULL). ws->out receives the whole dictionary's output pre-activation
 * (AuxK's residual reads it). */
double sae_matryoshka_forward(sae_trainer_t *t, const float *x, const float *hd,
                              const sae_sparse_code_t *sc, size_t rows, int grad,
                              float *g_dec_b);
/* Decoder-side gradients from G_s: the decoder rows' into g_dec
 * (overwritten) and the code's into dh [rows x H] (overwritten). */
void sae_matryoshka_grad_dense(sae_trainer_t *t, const float *hd, size_t rows, float *g_dec,
                               float *dh);
/* The same through the active units: g_dec (zeroed by the caller) gains
 * h_bj G_s[b] at each, dval[s] = G_s[b] . W[j]. */
void sae_matryoshka_grad_sparse(sae_trainer_t *t, const sae_sparse_code_t *sc, size_t rows,
                                float *g_dec, float *dval);

#endif
