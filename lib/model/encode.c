/* The inference calls: encode, decode, reconstruct and k-winners-take-all
 * binary codes, each in an inference context of its own
 * (model/infer_ctx.h). SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "core/select.h"
#include "model/infer_ctx.h"
#include "model/kind.h"
#include "model/model.h"

#define KWTA_CHUNK 256

size_t sae_model_default_k(const sae_model_t *m)
{
    size_t k = (size_t)sae_cfg_int(m->cfg, SAE_P_KWTA_K);
    if (k == 0) {
        k = (m->code_dim * 5 + 99) / 100; /* 5% of the code, rounded up */
        if (k == 0)
            k = 1;
    }
    return k;
}

sae_status_t sae_model_encode_binary(sae_model_t *m, const float *x, size_t rows, size_t k,
                                     uint8_t *bits)
{
    sae_status_t st = sae_model_check_io(m, "sae_model_encode_binary", x, rows,
                                         m ? m->input_dim : 0, bits);
    if (st != SAE_OK)
        return st;
    if (k == 0)
        k = sae_model_default_k(m);
    if (k > m->code_dim)
        return sae_fail(m->errmsg, SAE_ERR_RANGE,
                        "sae_model_encode_binary: k = %zu is larger than the code (%zu units)", k,
                        m->code_dim);
    if (rows == 0)
        return SAE_OK;
    size_t h = m->code_dim;
    /* The chunk's code is our own: a kind's encoder may use the
     * context's scratch itself. */
    float *code = malloc(KWTA_CHUNK * h * sizeof *code);
    uint32_t *idx = malloc(h * sizeof *idx);
    if (!code || !idx) {
        free(idx);
        free(code);
        return sae_fail(m->errmsg, SAE_ERR_NOMEM, "sae_model_encode_binary: out of memory");
    }
    sae_infer_call_t call;
    st = sae_infer_begin(m, &call);
    for (size_t r = 0; st == SAE_OK && r < rows; r += KWTA_CHUNK) {
        size_t n = rows - r < KWTA_CHUNK ? rows - r : KWTA_CHUNK;
        st = m->kind->encode(m, x + r * m->input_dim, n, code);
        if (st != SAE_OK)
            break;
        for (size_t i = 0; i < n; i++) {
            uint8_t *out = bits + (r + i) * h;
            memset(out, 0, h);
            sae_topk_select(code + i * h, h, k, idx);
            for (size_t j = 0; j < k; j++)
                out[idx[j]] = 1;
        }
    }
    sae_infer_end(m, &call); /* also after a failed begin: a no-op */
    free(idx);
    free(code);
    return st;
}

/* The three inference calls: checks, then the kind's form. */
typedef enum { INFER_ENCODE, INFER_DECODE, INFER_RECONSTRUCT } infer_t;

static sae_status_t infer(sae_model_t *m, infer_t what, const char *fn, const float *in,
                          size_t rows, float *out)
{
    size_t in_dim = !m ? 0 : (what == INFER_DECODE ? m->code_dim : m->input_dim);
    sae_status_t st = sae_model_check_io(m, fn, in, rows, in_dim, out);
    if (st != SAE_OK || rows == 0)
        return st;
    sae_infer_call_t call;
    st = sae_infer_begin(m, &call);
    if (st != SAE_OK)
        return st;
    switch (what) {
    case INFER_ENCODE:
        st = m->kind->encode(m, in, rows, out);
        break;
    case INFER_DECODE:
        st = m->kind->decode(m, in, rows, out);
        break;
    case INFER_RECONSTRUCT:
        st = m->kind->reconstruct(m, in, rows, out);
        break;
    }
    sae_infer_end(m, &call);
    return st;
}

sae_status_t sae_model_encode(sae_model_t *m, const float *x, size_t rows, float *code)
{
    return infer(m, INFER_ENCODE, "sae_model_encode", x, rows, code);
}

sae_status_t sae_model_decode(sae_model_t *m, const float *code, size_t rows, float *x_hat)
{
    return infer(m, INFER_DECODE, "sae_model_decode", code, rows, x_hat);
}

sae_status_t sae_model_reconstruct(sae_model_t *m, const float *x, size_t rows, float *x_hat)
{
    return infer(m, INFER_RECONSTRUCT, "sae_model_reconstruct", x, rows, x_hat);
}
