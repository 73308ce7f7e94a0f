/* Model creation, parameter layout, inference and tensor access.
 * SPDX-License-Identifier: MIT */
#include "model/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/gemm.h"
#include "core/parallel.h"
#include "core/rng.h"
#include "layers/activation.h"
#include "layers/threshold.h"
#include "optim/unit_norm.h"
#include "code/topk.h"

/* Rows per inference chunk: bounds scratch memory for any batch size. */
#define INFER_CHUNK 512

int sae_model_threads(const sae_model_t *m)
{
    int t = (int)sae_cfg_int(m->cfg, SAE_P_THREADS);
#ifdef _OPENMP
    if (t <= 0)
        t = omp_get_max_threads();
#endif
    return t <= 0 ? 1 : (t > 64 ? 64 : t);
}

void sae_model_add_tensor(sae_model_t *m, const char *name, size_t rows, size_t cols,
                          int is_weight, int is_encoder)
{
    sae_tensor_desc_t *t = &m->tensors[m->n_tensors++];
    t->name = name;
    t->rows = rows;
    t->cols = cols;
    t->offset = m->n_params;
    t->is_weight = is_weight;
    t->is_encoder = is_encoder;
    /* Keep every tensor 64-byte aligned inside the block. */
    m->n_params += (rows * cols + 15) & ~(size_t)15;
}

static sae_status_t alloc_block(sae_model_t *m, char *errbuf)
{
    m->params = sae_aligned_alloc(m->n_params * sizeof(float));
    if (!m->params)
        return sae_fail(errbuf, SAE_ERR_NOMEM, "sae_model_create: cannot allocate %zu parameters",
                        m->n_params);
    memset(m->params, 0, m->n_params * sizeof(float));
    return SAE_OK;
}

/* A model with arch.layers: its tensors are laid out by network.c. */
static sae_status_t alloc_layered(sae_model_t *m, sae_model_t **out, char *errbuf)
{
    sae_status_t st = sae_net_build(m, errbuf);
    if (st == SAE_OK)
        st = alloc_block(m, errbuf);
    if (st != SAE_OK) {
        sae_model_free(m);
        return st;
    }
    sae_net_bind(m);
    *out = m;
    return SAE_OK;
}

sae_status_t sae_model_alloc(const sae_config_t *cfg, sae_model_t **out, char *errbuf)
{
    *out = NULL;
    sae_status_t st = sae_config_validate(cfg, errbuf);
    if (st != SAE_OK)
        return st;
    sae_model_t *m = calloc(1, sizeof *m);
    if (!m)
        return sae_fail(errbuf, SAE_ERR_NOMEM, "sae_model_create: out of memory");
    if (sae_config_clone(cfg, &m->cfg) != SAE_OK) {
        free(m);
        return sae_fail(errbuf, SAE_ERR_NOMEM, "sae_model_create: out of memory");
    }
    if (cfg->layers.n > 0)
        return alloc_layered(m, out, errbuf);
    m->input_dim = (size_t)sae_cfg_int(cfg, SAE_P_INPUT_DIM);
    m->code_dim = (size_t)sae_cfg_int(cfg, SAE_P_HIDDEN_DIM);
    m->tied = (int)sae_cfg_int(cfg, SAE_P_TIED);
    m->has_bias = (int)sae_cfg_int(cfg, SAE_P_BIAS);
    m->hidden_act = (sae_activation_t)sae_cfg_int(cfg, SAE_P_HIDDEN_ACTIVATION);
    m->output_act = (sae_activation_t)sae_cfg_int(cfg, SAE_P_OUTPUT_ACTIVATION);
    m->pre_bias = (int)sae_cfg_int(cfg, SAE_P_PRE_ENCODER_BIAS) && m->has_bias;

    size_t d = m->input_dim, h = m->code_dim;
    sae_model_add_tensor(m, "encoder.weight", h, d, 1, 1);
    if (m->has_bias)
        sae_model_add_tensor(m, "encoder.bias", h, 1, 0, 1);
    if (!m->tied)
        sae_model_add_tensor(m, "decoder.weight", h, d, 1, 0);
    if (m->has_bias)
        sae_model_add_tensor(m, "decoder.bias", d, 1, 0, 0);

    st = alloc_block(m, errbuf);
    if (st != SAE_OK) {
        sae_model_free(m);
        return st;
    }
    if (sae_cfg_int(cfg, SAE_P_TOPK_K) > 0) {
        m->infer_k = sae_topk_k_infer(cfg, h);
        m->infer_select = malloc(2 * h * sizeof *m->infer_select);
        if (!m->infer_select) {
            sae_model_free(m);
            return sae_fail(errbuf, SAE_ERR_NOMEM, "sae_model_create: out of memory");
        }
    }
    if (m->pre_bias) {
        m->center = sae_aligned_alloc(SAE_CENTER_ROWS * d * sizeof(float));
        if (!m->center) {
            sae_model_free(m);
            return sae_fail(errbuf, SAE_ERR_NOMEM, "sae_model_create: out of memory");
        }
    }
    for (size_t i = 0; i < m->n_tensors; i++) {
        float *p = m->params + m->tensors[i].offset;
        const char *n = m->tensors[i].name;
        if (!strcmp(n, "encoder.weight"))
            m->enc_w = p;
        else if (!strcmp(n, "encoder.bias"))
            m->enc_b = p;
        else if (!strcmp(n, "decoder.weight"))
            m->dec_w = p;
        else
            m->dec_b = p;
    }
    *out = m;
    return SAE_OK;
}

void sae_model_init_params(sae_model_t *m, uint64_t seed)
{
    sae_rng_t rng;
    sae_rng_seed(&rng, seed);
    if (m->net) {
        sae_net_init_params(m, &rng);
        return;
    }
    /* Glorot & Bengio (2010): variance 2 / (fan_in + fan_out), drawn
     * uniformly on +-sqrt(6 / (fan_in + fan_out)) or from a normal of
     * standard deviation sqrt(2 / (fan_in + fan_out)) (the rank-ordered
     * autoencoder's N(0, sqrt(2/316)), E4). */
    int normal = sae_cfg_int(m->cfg, SAE_P_INIT) == SAE_INIT_GLOROT_NORMAL;
    float r = (float)(sae_cfg_float(m->cfg, SAE_P_INIT_SCALE) *
                      sqrt((normal ? 2.0 : 6.0) / (double)(m->input_dim + m->code_dim)));
    int fan_in = sae_cfg_int(m->cfg, SAE_P_INIT) == SAE_INIT_FAN_IN_UNIFORM;
    for (size_t i = 0; i < m->n_tensors; i++) {
        const sae_tensor_desc_t *t = &m->tensors[i];
        float *p = m->params + t->offset;
        size_t n = t->rows * t->cols;
        if (fan_in) {
            /* torch.nn.Linear: the encoder reads D inputs, the decoder H. */
            double fi = (double)(t->is_encoder ? m->input_dim : m->code_dim);
            double rf = (t->is_weight ? sae_cfg_float(m->cfg, SAE_P_INIT_SCALE) : 1.0) / sqrt(fi);
            for (size_t k = 0; k < n; k++)
                p[k] = (float)(rf * (2.0 * (double)sae_rng_uniform(&rng) - 1.0));
        } else if (t->is_weight && normal)
            for (size_t k = 0; k < n; k++)
                p[k] = r * (float)sae_rng_normal(&rng);
        else if (t->is_weight)
            for (size_t k = 0; k < n; k++)
                p[k] = r * (2.0f * sae_rng_uniform(&rng) - 1.0f);
        else
            memset(p, 0, n * sizeof *p);
    }
    /* Gao et al. 2024: unit-norm atoms, and the encoder started as the
     * decoder's transpose (in our row layout: equal to it). */
    float *atoms = (float *)sae_model_decoder_rows(m);
    if (sae_cfg_int(m->cfg, SAE_P_UNIT_NORM_DECODER))
        sae_rows_normalize(atoms, m->code_dim, m->input_dim);
    if (sae_cfg_int(m->cfg, SAE_P_ENCODER_FROM_DECODER) && !m->tied)
        memcpy(m->enc_w, m->dec_w, m->code_dim * m->input_dim * sizeof(float));
}

sae_status_t sae_model_create(const sae_config_t *cfg, sae_model_t **out)
{
    char err[SAE_ERRMSG_SIZE];
    if (!out)
        return sae_fail_global(SAE_ERR_NULL, "sae_model_create: out is NULL");
    *out = NULL;
    if (!cfg)
        return sae_fail_global(SAE_ERR_NULL, "sae_model_create: cfg is NULL");
    sae_model_t *m;
    sae_status_t st = sae_model_alloc(cfg, &m, err);
    if (st != SAE_OK) {
        sae_set_global_error(err);
        return st;
    }
    sae_model_init_params(m, (uint64_t)sae_cfg_int(cfg, SAE_P_SEED));
    m->bias_init_pending = m->has_bias && sae_cfg_int(cfg, SAE_P_BIAS_INIT) != SAE_BIAS_INIT_ZERO;
    *out = m;
    return SAE_OK;
}

void sae_model_free(sae_model_t *m)
{
    if (!m)
        return;
    sae_config_free(m->cfg);
    sae_aligned_free(m->params);
    sae_aligned_free(m->scratch);
    sae_aligned_free(m->center);
    free(m->infer_select);
    free(m->net);
    free(m);
}

const char *sae_model_errmsg(const sae_model_t *m)
{
    return m ? m->errmsg : "";
}

const sae_config_t *sae_model_config(const sae_model_t *m)
{
    return m ? m->cfg : NULL;
}

size_t sae_model_input_dim(const sae_model_t *m)
{
    return m ? m->input_dim : 0;
}

size_t sae_model_code_dim(const sae_model_t *m)
{
    return m ? m->code_dim : 0;
}

float sae_model_encoder_scale(const sae_model_t *m)
{
    /* RankOrderedAutoencoder.py's execute(): output_raw /= weights.shape[0]. */
    if (sae_cfg_int(m->cfg, SAE_P_ALGORITHM) == SAE_ALGO_RANK_ORDER)
        return 1.0f / (float)m->input_dim;
    return 1.0f;
}

const float *sae_model_center_input(const sae_model_t *m, const float *x, size_t rows)
{
    if (!m->pre_bias)
        return x;
    size_t d = m->input_dim;
    for (size_t b = 0; b < rows; b++)
        for (size_t i = 0; i < d; i++)
            m->center[b * d + i] = x[b * d + i] - m->dec_b[i];
    return m->center;
}

void sae_model_forward_encoder(const sae_model_t *m, const float *x, size_t rows, float *code)
{
    sae_reduce_scratch_t scr = {NULL, sae_model_threads(m)};
    size_t d = m->input_dim, h = m->code_dim;
    size_t step = m->pre_bias ? SAE_CENTER_ROWS : rows;
    for (size_t r = 0; r < rows; r += step) {
        size_t n = rows - r < step ? rows - r : step;
        const float *xin = sae_model_center_input(m, x + r * d, n);
        sae_gemm(0, 1, n, h, d, sae_model_encoder_scale(m), xin, d, m->enc_w, d, 0.0f,
                 code + r * h, h);
    }
    sae_bias_act_forward(m->hidden_act, code, rows, m->code_dim, m->enc_b, NULL, &scr);
    if (m->infer_k > 0)
        sae_topk_rows(code, rows, m->code_dim, m->infer_k, m->infer_select);
    /* Neural sparse coding's code is the thresholded A^T y (train/nsc.c). */
    if (sae_cfg_int(m->cfg, SAE_P_ALGORITHM) == SAE_ALGO_NSC)
        sae_hard_threshold(code, rows * m->code_dim, (float)sae_cfg_float(m->cfg, SAE_P_NSC_TAU));
}

/* The decoder's weight, one row per code unit: [code x input]. Tied
 * models share the encoder's. */
const float *sae_model_decoder_rows(const sae_model_t *m)
{
    return m->tied ? m->enc_w : m->dec_w;
}

void sae_model_forward_decoder_pre(const sae_model_t *m, const float *h, size_t rows, float *out)
{
    sae_gemm(0, 0, rows, m->input_dim, m->code_dim, 1.0f, h, m->code_dim,
             sae_model_decoder_rows(m), m->input_dim, 0.0f, out, m->input_dim);
}

static void decode_rows(const sae_model_t *m, const float *h, size_t rows, float *x_hat)
{
    sae_reduce_scratch_t scr = {NULL, sae_model_threads(m)};
    sae_model_forward_decoder_pre(m, h, rows, x_hat);
    sae_bias_act_forward(m->output_act, x_hat, rows, m->input_dim, m->dec_b, NULL, &scr);
}

/* Common argument checks of the inference calls. */
sae_status_t sae_model_check_io(sae_model_t *m, const char *fn, const float *in, size_t rows,
                                size_t in_dim, const void *out)
{
    if (!m)
        return sae_fail_global(SAE_ERR_NULL, "%s: model is NULL", fn);
    if (rows == 0)
        return SAE_OK;
    if (!in || !out)
        return sae_fail(m->errmsg, SAE_ERR_NULL, "%s: %s is NULL", fn, !in ? "input" : "output");
    if (rows > SIZE_MAX / sizeof(float) / (in_dim > m->code_dim ? in_dim : m->code_dim) ||
        rows > ((size_t)1 << 31))
        return sae_fail(m->errmsg, SAE_ERR_DIMENSION, "%s: %zu rows is too many", fn, rows);
    if (!sae_all_finite(in, rows * in_dim))
        return sae_fail(m->errmsg, SAE_ERR_NONFINITE, "%s: input holds NaN or Inf", fn);
    return SAE_OK;
}

sae_status_t sae_model_encode(sae_model_t *m, const float *x, size_t rows, float *code)
{
    sae_status_t st = sae_model_check_io(m, "sae_model_encode", x, rows,
                                         m ? m->input_dim : 0, code);
    if (st != SAE_OK || rows == 0)
        return st;
    if (m->net)
        return sae_net_run(m, x, rows, 0, m->net->code, code);
    for (size_t r = 0; r < rows; r += INFER_CHUNK) {
        size_t n = rows - r < INFER_CHUNK ? rows - r : INFER_CHUNK;
        sae_model_forward_encoder(m, x + r * m->input_dim, n, code + r * m->code_dim);
    }
    return SAE_OK;
}

sae_status_t sae_model_decode(sae_model_t *m, const float *code, size_t rows, float *x_hat)
{
    sae_status_t st = sae_model_check_io(m, "sae_model_decode", code, rows,
                                         m ? m->code_dim : 0, x_hat);
    if (st != SAE_OK || rows == 0)
        return st;
    if (m->net)
        return sae_net_run(m, code, rows, m->net->code + 1, m->net->n - 1, x_hat);
    for (size_t r = 0; r < rows; r += INFER_CHUNK) {
        size_t n = rows - r < INFER_CHUNK ? rows - r : INFER_CHUNK;
        decode_rows(m, code + r * m->code_dim, n, x_hat + r * m->input_dim);
    }
    return SAE_OK;
}

float *sae_model_scratch(sae_model_t *m, size_t floats)
{
    if (m->scratch_size < floats) {
        float *p = sae_aligned_alloc(floats * sizeof(float));
        if (!p)
            return NULL;
        sae_aligned_free(m->scratch);
        m->scratch = p;
        m->scratch_size = floats;
    }
    return m->scratch;
}

sae_status_t sae_model_reconstruct(sae_model_t *m, const float *x, size_t rows, float *x_hat)
{
    sae_status_t st = sae_model_check_io(m, "sae_model_reconstruct", x, rows,
                                         m ? m->input_dim : 0, x_hat);
    if (st != SAE_OK || rows == 0)
        return st;
    if (m->net)
        return sae_net_run(m, x, rows, 0, m->net->n - 1, x_hat);
    float *h = sae_model_scratch(m, INFER_CHUNK * m->code_dim);
    if (!h)
        return sae_fail(m->errmsg, SAE_ERR_NOMEM, "sae_model_reconstruct: out of memory");
    for (size_t r = 0; r < rows; r += INFER_CHUNK) {
        size_t n = rows - r < INFER_CHUNK ? rows - r : INFER_CHUNK;
        sae_model_forward_encoder(m, x + r * m->input_dim, n, h);
        decode_rows(m, h, n, x_hat + r * m->input_dim);
    }
    return SAE_OK;
}

size_t sae_model_tensor_count(const sae_model_t *m)
{
    return m ? m->n_tensors : 0;
}

sae_status_t sae_model_tensor(const sae_model_t *m, size_t index, const char **name, size_t *rows,
                              size_t *cols, const float **data)
{
    if (!m)
        return sae_fail_global(SAE_ERR_NULL, "sae_model_tensor: model is NULL");
    if (index >= m->n_tensors)
        return sae_fail_global(SAE_ERR_RANGE, "sae_model_tensor: index %zu past the last (%zu)",
                               index, m->n_tensors);
    const sae_tensor_desc_t *t = &m->tensors[index];
    if (name)
        *name = t->name;
    if (rows)
        *rows = t->rows;
    if (cols)
        *cols = t->cols;
    if (data)
        *data = m->params + t->offset;
    return SAE_OK;
}

sae_status_t sae_model_tensor_by_name(const sae_model_t *m, const char *name, size_t *rows,
                                      size_t *cols, const float **data)
{
    if (!m || !name)
        return sae_fail_global(SAE_ERR_NULL, "sae_model_tensor_by_name: NULL argument");
    for (size_t i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i].name, name))
            return sae_model_tensor(m, i, NULL, rows, cols, data);
    return sae_fail_global(SAE_ERR_UNKNOWN_KEY, "model has no tensor '%s'", name);
}
