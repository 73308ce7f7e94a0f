/* sae_model_prefix_errors: the reconstruction error from a model's k
 * top-ranked code units, the rank-ordered autoencoder's "error using the top
 * k units" (Bertens 2016,
 * the original's get_reconstruction_error_vector), for any model: the units
 * of a row are ranked by pre-activation, largest first (core/rank.c), and
 * the k-th prefix reconstruction is g(b + sum_{i<=k} h_{r_i} Wd[:, r_i]).
 * For a rank_order model (g = TReLU, no bias) that is the R_k its training
 * uses. SPDX-License-Identifier: MIT */
#include <math.h>
#include <string.h>

#include "core/gemm.h"
#include "core/rank.h"
#include "layers/activation.h"
#include "model/dense.h"
#include "model/input_scale.h"
#include "model/infer_ctx.h"
#include "model/kind.h"

/* Rows encoded at a time: bounds the scratch memory. */
#define CHUNK 256
_Static_assert(CHUNK <= SAE_CENTER_ROWS, "a chunk is centred in one call");

/* s += v * (decoder column of unit j): row j of decoder.weight [H x D], or
 * of encoder.weight when tied. */
static void add_column(const sae_model_t *m, size_t j, float v, float *s)
{
    sae_dense_t *dn = sae_dense(m);
    size_t d = m->input_dim;
    const float *w = (dn->tied ? dn->enc_w : dn->dec_w) + j * d;
    for (size_t i = 0; i < d; i++)
        s[i] += v * w[i];
}

/* ||x - g(s + b)|| with out[D] as scratch. */
static double residual_norm(const sae_model_t *m, const float *x, const float *s, float *out)
{
    size_t d = m->input_dim;
    memcpy(out, s, d * sizeof *out);
    sae_bias_act_forward(m->output_act, out, 1, d, sae_dense(m)->dec_b, NULL, NULL);
    double sq = 0.0;
    for (size_t i = 0; i < d; i++) {
        double e = (double)x[i] - (double)out[i];
        sq += e * e;
    }
    return sqrt(sq);
}

/* One row: adds ||x - x^_k|| for every k of ks into errors. */
static void row_errors(const sae_model_t *m, const float *x, const float *z, const float *code,
                       const size_t *ks, size_t n_ks, size_t k_max, sae_ranked_t *rk, float *s,
                       float *out, double *errors)
{
    size_t h = m->code_dim;
    sae_rank_units(z, h, 0, rk);
    memset(s, 0, m->input_dim * sizeof *s);
    for (size_t k = 0; k <= k_max; k++) {
        if (k > 0 && code[rk[k - 1].unit] != 0.0f)
            add_column(m, rk[k - 1].unit, code[rk[k - 1].unit], s);
        for (size_t i = 0; i < n_ks; i++)
            if (ks[i] == k)
                errors[i] += residual_norm(m, x, s, out);
    }
}

sae_status_t sae_model_prefix_errors(sae_model_t *m, const float *x, size_t rows, const size_t *ks,
                                     size_t n_ks, double *errors)
{
    static const char fn[] = "sae_model_prefix_errors";
    if (!m)
        return sae_fail_global(SAE_ERR_NULL, "%s: model is NULL", fn);
    if (n_ks > 0 && (!ks || !errors))
        return sae_fail(m->errmsg, SAE_ERR_NULL, "%s: %s is NULL", fn, !ks ? "ks" : "errors");
    if (m->kind->no_ranked_decoder)
        return sae_fail(m->errmsg, SAE_ERR_STATE, "%s: %s", fn, m->kind->no_ranked_decoder);
    if (m->bf16)
        return sae_model_need_fp32(m, fn);
    if (rows == 0)
        return sae_fail(m->errmsg, SAE_ERR_DIMENSION, "%s: no rows", fn);
    if (sae_model_input_scale(m) != 1.0f)
        return sae_fail(m->errmsg, SAE_ERR_STATE,
                        "%s: the model scales its input (arch.normalize_input): call "
                        "sae_model_fold_input_scale first",
                        fn);
    size_t d = m->input_dim, h = m->code_dim, k_max = 0;
    for (size_t i = 0; i < n_ks; i++) {
        if (ks[i] > h)
            return sae_fail(m->errmsg, SAE_ERR_RANGE,
                            "%s: ks[%zu] = %zu exceeds the code's %zu units", fn, i, ks[i], h);
        k_max = ks[i] > k_max ? ks[i] : k_max;
    }
    sae_status_t st = sae_model_check_io(m, fn, x, rows, d, x);
    if (st != SAE_OK)
        return st;
    const sae_dense_t *dn = sae_dense(m);
    /* z and the code of a chunk, s and out of a row, the ranked units (two
     * floats' room each). */
    sae_infer_call_t call;
    st = sae_infer_begin(m, &call);
    float *z = st == SAE_OK ? sae_model_scratch(m, 2 * CHUNK * h + 2 * d + 2 * h) : NULL;
    if (!z) {
        sae_infer_end(m, &call);
        return st != SAE_OK ? st : sae_fail(m->errmsg, SAE_ERR_NOMEM, "%s: out of memory", fn);
    }
    float *code = z + CHUNK * h, *s = code + CHUNK * h, *out = s + d;
    sae_ranked_t *rk = (sae_ranked_t *)(out + d);
    for (size_t i = 0; i < n_ks; i++)
        errors[i] = 0.0;
    for (size_t r = 0; r < rows; r += CHUNK) {
        size_t n = rows - r < CHUNK ? rows - r : CHUNK;
        const float *xc = x + r * d;
        sae_model_forward_encoder(m, xc, n, code);
        /* The encoder's input (x - decoder.bias with arch.pre_encoder_bias);
         * the errors are against x itself. CHUNK <= SAE_CENTER_ROWS. */
        const float *xe = sae_model_center_input(m, xc, n);
        sae_gemm(0, 1, n, h, d, dn->enc_scale, xe, d, dn->enc_w, d, 0.0f, z, h);
        if (dn->enc_b)
            for (size_t b = 0; b < n; b++)
                for (size_t j = 0; j < h; j++)
                    z[b * h + j] += dn->enc_b[j];
        for (size_t b = 0; b < n; b++)
            row_errors(m, xc + b * d, z + b * h, code + b * h, ks, n_ks, k_max, rk, s, out, errors);
    }
    sae_infer_end(m, &call);
    for (size_t i = 0; i < n_ks; i++)
        errors[i] /= (double)rows;
    return SAE_OK;
}
