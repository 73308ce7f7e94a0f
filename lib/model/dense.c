/* The one-hidden-layer model, the "dense" kind: input -> dense + code
 * operator -> code -> dense + output activation, tied or untied, with
 * its fused training pass (train/dense_pass.c). Its tensors are
 * encoder.weight [H x D], encoder.bias [H], decoder.weight [H x D] (one
 * atom per row; absent when tied) and decoder.bias [D].
 * SPDX-License-Identifier: MIT */
#include "model/dense.h"
#include "model/input_scale.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/gemm.h"
#include "model/kind.h"
#include "optim/unit_norm.h"

/* Rows per inference chunk: bounds scratch memory for any batch size. */
#define INFER_CHUNK 512

static int selects(const sae_config_t *cfg)
{
    (void)cfg;
    return 1;
}

/* The pre-encoder bias, its data init and AuxK (Gao et al. 2024) are
 * defined for a backprop-trained model whose decoder bias lives in the
 * data's space (a linear output), and AuxK for top-k codes. */
static sae_status_t validate_gao(const sae_config_t *cfg, char *errbuf)
{
    int pre = (int)sae_cfg_int(cfg, SAE_P_PRE_ENCODER_BIAS);
    int64_t init = sae_cfg_int(cfg, SAE_P_BIAS_INIT);
    int64_t algo = sae_cfg_int(cfg, SAE_P_ALGORITHM);
    int linear_out = sae_cfg_int(cfg, SAE_P_OUTPUT_ACTIVATION) == SAE_ACT_LINEAR;
    const char *what = pre ? "arch.pre_encoder_bias" : "arch.bias_init";
    if (pre || init != SAE_BIAS_INIT_ZERO) {
        if (!sae_cfg_int(cfg, SAE_P_BIAS))
            return sae_fail(errbuf, SAE_ERR_STATE,
                            "%s needs arch.bias = true (it acts on decoder.bias)", what);
        if (algo != SAE_ALGO_BACKPROP)
            return sae_fail(errbuf, SAE_ERR_STATE,
                            "%s needs train.algorithm = backprop (nsc and rank_order have no "
                            "biases)",
                            what);
        if (!linear_out)
            return sae_fail(errbuf, SAE_ERR_STATE,
                            "%s needs arch.output_activation = linear (decoder.bias must be a "
                            "point of the input space)",
                            what);
    }
    int64_t ka = sae_cfg_int(cfg, SAE_P_AUXK_K);
    if (ka == 0)
        return SAE_OK;
    int64_t hidden = sae_cfg_int(cfg, SAE_P_HIDDEN_DIM);
    if (sae_cfg_int(cfg, SAE_P_TOPK_K) == 0)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "auxk.k > 0 needs topk.k > 0 (AuxK revives the dead units of a top-k "
                        "code)");
    if (ka > hidden)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "auxk.k = %" PRId64 " must not exceed arch.hidden_dim = %" PRId64, ka,
                        hidden);
    if (sae_cfg_int(cfg, SAE_P_LOSS) != SAE_LOSS_MSE || !linear_out)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "auxk.k > 0 needs loss.type = mse and arch.output_activation = linear "
                        "(the dead units reconstruct the residual x - x_hat)");
    if (sae_cfg_int(cfg, SAE_P_OPTIMIZER) == SAE_OPT_LBFGS)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "auxk.k > 0 cannot be combined with optim.type = lbfgs (its residual "
                        "is held constant, so it is no objective for a line search)");
    return SAE_OK;
}

static sae_status_t validate(const sae_config_t *cfg, char *errbuf)
{
    int64_t hidden = sae_cfg_int(cfg, SAE_P_HIDDEN_DIM);
    if (sae_cfg_int(cfg, SAE_P_LOSS) == SAE_LOSS_BCE &&
        sae_cfg_int(cfg, SAE_P_OUTPUT_ACTIVATION) != SAE_ACT_SIGMOID)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "loss.type = bce needs arch.output_activation = sigmoid (the loss is "
                        "computed from the logits)");
    if (sae_cfg_int(cfg, SAE_P_KWTA_K) > hidden)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "encode.k = %" PRId64 " is larger than arch.hidden_dim = %" PRId64,
                        sae_cfg_int(cfg, SAE_P_KWTA_K), hidden);
    const sae_code_op_t *op = sae_code_op_for(cfg);
    sae_status_t st = op->validate(cfg, (size_t)hidden, errbuf);
    if (st != SAE_OK)
        return st;
    /* A step term (l0) has a gradient only through an operator's step. */
    if (sae_cfg_float(cfg, SAE_P_L0_WEIGHT) > 0.0 && !op->has_step)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "l0.weight > 0 needs arch.hidden_activation = jumprelu (the L0 penalty "
                        "is trained through the JumpReLU threshold's straight-through estimator; "
                        "the '%s' code has no step to give it a gradient)",
                        op->name);
    if (sae_cfg_int(cfg, SAE_P_ENCODER_FROM_DECODER) && sae_cfg_int(cfg, SAE_P_TIED))
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "arch.encoder_from_decoder needs an untied model (a tied model's encoder "
                        "is its decoder already)");
    /* Work buffers are indexed with 32-bit offsets and BLAS int sizes. */
    int64_t batch = sae_cfg_int(cfg, SAE_P_BATCH_SIZE);
    int64_t wide = sae_cfg_int(cfg, SAE_P_INPUT_DIM) > hidden ? sae_cfg_int(cfg, SAE_P_INPUT_DIM)
                                                              : hidden;
    if ((uint64_t)batch * (uint64_t)wide >= ((uint64_t)1 << 31))
        return sae_fail(errbuf, SAE_ERR_RANGE,
                        "train.batch_size x max(input_dim, hidden_dim) = %" PRId64 " x %" PRId64
                        " reaches 2^31 elements",
                        batch, wide);
    int64_t in = sae_cfg_int(cfg, SAE_P_INPUT_DIM);
    if ((uint64_t)in * (uint64_t)hidden > ((uint64_t)1 << 31))
        return sae_fail(errbuf, SAE_ERR_RANGE,
                        "arch.input_dim x arch.hidden_dim = %" PRId64 " x %" PRId64
                        " exceeds 2^31 weights",
                        in, hidden);
    return validate_gao(cfg, errbuf);
}

static sae_status_t build(sae_model_t *m, char *errbuf)
{
    const sae_config_t *cfg = m->cfg;
    sae_dense_t *dn = calloc(1, sizeof *dn);
    if (!dn)
        return sae_fail(errbuf, SAE_ERR_NOMEM, "sae_model_create: out of memory");
    m->state = dn;
    dn->code_op = sae_code_op_for(cfg);
    m->input_dim = (size_t)sae_cfg_int(cfg, SAE_P_INPUT_DIM);
    m->code_dim = (size_t)sae_cfg_int(cfg, SAE_P_HIDDEN_DIM);
    dn->tied = (int)sae_cfg_int(cfg, SAE_P_TIED);
    dn->has_bias = (int)sae_cfg_int(cfg, SAE_P_BIAS);
    m->hidden_act = dn->code_op->activation
                        ? dn->code_op->activation(cfg)
                        : (sae_activation_t)sae_cfg_int(cfg, SAE_P_HIDDEN_ACTIVATION);
    m->output_act = (sae_activation_t)sae_cfg_int(cfg, SAE_P_OUTPUT_ACTIVATION);
    dn->pre_bias = (int)sae_cfg_int(cfg, SAE_P_PRE_ENCODER_BIAS) && dn->has_bias;
    /* The rank-ordered autoencoder encodes z = x W / D (Bertens 2016; its
     * code's execute() divides by the weights' first dimension). */
    dn->enc_scale = sae_cfg_int(cfg, SAE_P_ALGORITHM) == SAE_ALGO_RANK_ORDER
                       ? 1.0f / (float)m->input_dim
                       : 1.0f;

    size_t d = m->input_dim, h = m->code_dim;
    sae_model_add_tensor(m, "encoder.weight", h, d, 1, 1);
    if (dn->has_bias)
        sae_model_add_tensor(m, "encoder.bias", h, 1, 0, 1);
    if (!dn->tied)
        sae_model_add_tensor(m, "decoder.weight", h, d, 1, 0);
    if (dn->has_bias)
        sae_model_add_tensor(m, "decoder.bias", d, 1, 0, 0);
    /* The code operator's own tensors follow (code/code_op.h). */
    dn->op_tensor0 = m->n_tensors;
    for (size_t i = 0; i < dn->code_op->n_tensors; i++) {
        const sae_code_tensor_t *ct = &dn->code_op->tensors[i];
        sae_model_add_tensor(m, ct->name, ct->per_unit ? h : 1, 1, 0, 1);
        m->tensors[m->n_tensors - 1].role = ct->role;
        m->tensors[m->n_tensors - 1].optional = ct->optional;
    }
    return SAE_OK;
}

void sae_dense_code_params(const sae_model_t *m, sae_code_params_t *p)
{
    const sae_dense_t *dn = sae_dense(m);
    memset(p, 0, sizeof *p);
    for (size_t i = 0; i < dn->code_op->n_tensors; i++)
        p->value[i] = m->weights + m->tensors[dn->op_tensor0 + i].offset;
}

static sae_status_t bind(sae_model_t *m, char *errbuf)
{
    sae_dense_t *dn = sae_dense(m);
    if (dn->code_op->create(m->cfg, m->code_dim, 0, &dn->code_infer) != SAE_OK)
        return sae_fail(errbuf, SAE_ERR_NOMEM, "sae_model_create: out of memory");
    if (dn->pre_bias) {
        dn->center = sae_aligned_alloc(SAE_CENTER_ROWS * m->input_dim * sizeof(float));
        if (!dn->center)
            return sae_fail(errbuf, SAE_ERR_NOMEM, "sae_model_create: out of memory");
    }
    sae_dense_rebind(m);
    return SAE_OK;
}

void sae_dense_rebind(sae_model_t *m)
{
    sae_dense_t *dn = sae_dense(m);
    for (size_t i = 0; i < dn->op_tensor0; i++) {
        /* bf16 weights: the matrices are not in the block. */
        float *p = m->weights + m->tensors[i].offset;
        const char *n = m->tensors[i].name;
        if (!strcmp(n, "encoder.weight"))
            dn->enc_w = m->bf16 ? NULL : p;
        else if (!strcmp(n, "encoder.bias"))
            dn->enc_b = p;
        else if (!strcmp(n, "decoder.weight"))
            dn->dec_w = m->bf16 ? NULL : p;
        else
            dn->dec_b = p;
    }
    if (dn->code_op->bind) {
        sae_code_params_t p;
        sae_dense_code_params(m, &p);
        dn->code_op->bind(dn->code_infer, &p);
    }
}

static void init(sae_model_t *m, sae_rng_t *rng)
{
    sae_dense_t *dn = sae_dense(m);
    /* Glorot & Bengio (2010): variance 2 / (fan_in + fan_out), drawn
     * uniformly on +-sqrt(6 / (fan_in + fan_out)) or from a normal of
     * standard deviation sqrt(2 / (fan_in + fan_out)) (the rank-ordered
     * autoencoder's N(0, sqrt(2/316)), Bertens 2016). */
    int normal = sae_cfg_int(m->cfg, SAE_P_INIT) == SAE_INIT_GLOROT_NORMAL;
    float r = (float)(sae_cfg_float(m->cfg, SAE_P_INIT_SCALE) *
                      sqrt((normal ? 2.0 : 6.0) / (double)(m->input_dim + m->code_dim)));
    int fan_in = sae_cfg_int(m->cfg, SAE_P_INIT) == SAE_INIT_FAN_IN_UNIFORM;
    for (size_t i = 0; i < dn->op_tensor0; i++) {
        const sae_tensor_desc_t *t = &m->tensors[i];
        float *p = m->weights + t->offset;
        size_t n = t->rows * t->cols;
        if (fan_in) {
            /* torch.nn.Linear: the encoder reads D inputs, the decoder H. */
            double fi = (double)(t->is_encoder ? m->input_dim : m->code_dim);
            double rf = (t->is_weight ? sae_cfg_float(m->cfg, SAE_P_INIT_SCALE) : 1.0) / sqrt(fi);
            for (size_t k = 0; k < n; k++)
                p[k] = (float)(rf * (2.0 * (double)sae_rng_uniform(rng) - 1.0));
        } else if (t->is_weight && normal)
            for (size_t k = 0; k < n; k++)
                p[k] = r * (float)sae_rng_normal(rng);
        else if (t->is_weight)
            for (size_t k = 0; k < n; k++)
                p[k] = r * (2.0f * sae_rng_uniform(rng) - 1.0f);
        else
            memset(p, 0, n * sizeof *p);
    }
    /* The code operator's tensors start at their own values. */
    for (size_t i = 0; i < dn->code_op->n_tensors; i++) {
        const sae_tensor_desc_t *t = &m->tensors[dn->op_tensor0 + i];
        float v = dn->code_op->tensors[i].init ? (float)dn->code_op->tensors[i].init(m->cfg)
                                               : 0.0f;
        for (size_t k = 0; k < t->rows * t->cols; k++)
            m->weights[t->offset + k] = v;
    }
    /* Gao et al. 2024: unit-norm atoms, and the encoder started as the
     * decoder's transpose (in our row layout: equal to it). */
    float *atoms = (float *)sae_model_decoder_rows(m);
    if (sae_cfg_int(m->cfg, SAE_P_UNIT_NORM_DECODER))
        sae_rows_normalize(atoms, m->code_dim, m->input_dim);
    if (sae_cfg_int(m->cfg, SAE_P_ENCODER_FROM_DECODER) && !dn->tied)
        memcpy(dn->enc_w, dn->dec_w, m->code_dim * m->input_dim * sizeof(float));
    /* arch.bias_init: decoder.bias waits for the trainer's first rows. */
    dn->bias_init_pending = dn->has_bias && sae_cfg_int(m->cfg, SAE_P_BIAS_INIT) != SAE_BIAS_INIT_ZERO;
}

static void release(sae_model_t *m)
{
    sae_dense_t *dn = sae_dense(m);
    if (!dn)
        return;
    dn->code_op->destroy(dn->code_infer);
    sae_aligned_free(dn->center);
    free(dn);
}

/* A decoder.bias the caller gave is kept: arch.bias_init must not replace
 * it at the first fit. */
static void tensor_set(sae_model_t *m, size_t index)
{
    sae_dense_t *dn = sae_dense(m);
    if (dn->dec_b && m->weights + m->tensors[index].offset == dn->dec_b)
        dn->bias_init_pending = 0;
}

const float *sae_model_center_input(const sae_model_t *m, const float *x, size_t rows)
{
    sae_dense_t *dn = sae_dense(m);
    if (!dn->pre_bias)
        return x;
    size_t d = m->input_dim;
    /* With an input scale s the encoder reads s x - b = s (x - b / s). */
    float inv = 1.0f / sae_model_input_scale(m);
    float *center = sae_infer_center(m);
    for (size_t b = 0; b < rows; b++)
        for (size_t i = 0; i < d; i++)
            center[b * d + i] = x[b * d + i] - dn->dec_b[i] * inv;
    return center;
}

/* The engine of an inference call's fp32 products, as train.gemm says
 * (docs/precision.md); NULL: CBLAS (also outside inference calls). */
static sae_mm_t *fp32_engine(const sae_model_t *m)
{
    sae_gemm_engine_t g = (sae_gemm_engine_t)sae_cfg_int(m->cfg, SAE_P_GEMM);
    sae_mm_kind_t kind = g == SAE_GEMM_BLAS     ? SAE_MM_BLAS
                         : g == SAE_GEMM_ONEDNN ? SAE_MM_ONEDNN_F32
                                                : sae_mm_fp32_auto();
    return sae_infer_mm(m, kind);
}

void sae_model_forward_encoder(const sae_model_t *m, const float *x, size_t rows, float *code)
{
    sae_dense_t *dn = sae_dense(m);
    size_t d = m->input_dim, h = m->code_dim;
    size_t step = dn->pre_bias ? SAE_CENTER_ROWS : rows;
    for (size_t r = 0; r < rows; r += step) {
        size_t n = rows - r < step ? rows - r : step;
        const float *xin = sae_model_center_input(m, x + r * d, n);
        float alpha = dn->enc_scale * sae_model_input_scale(m);
        if (m->bf16)
            sae_bf16_encoder_gemm(m, n, alpha, xin, code + r * h);
        else
            sae_mm_gemm(fp32_engine(m), 0, 1, n, h, d, alpha, xin, d, 0, dn->enc_w, d, 1, 0.0f,
                        code + r * h, h);
    }
    dn->code_op->infer(sae_infer_code_state(m), m->hidden_act, code, dn->enc_b, rows, h,
                      sae_model_threads(m));
}

/* The decoder's weight, one row per code unit: [code x input]. Tied
 * models share the encoder's. */
const float *sae_model_decoder_rows(const sae_model_t *m)
{
    sae_dense_t *dn = sae_dense(m);
    return dn->tied ? dn->enc_w : dn->dec_w;
}

void sae_model_forward_decoder_pre(const sae_model_t *m, const float *h, size_t rows, float *out)
{
    if (m->bf16) {
        sae_bf16_decoder_gemm(m, rows, h, out);
        return;
    }
    sae_mm_gemm(fp32_engine(m), 0, 0, rows, m->input_dim, m->code_dim, 1.0f, h, m->code_dim, 0,
                sae_model_decoder_rows(m), m->input_dim, 1, 0.0f, out, m->input_dim);
}

static void decode_rows(const sae_model_t *m, const float *h, size_t rows, float *x_hat)
{
    sae_reduce_scratch_t scr = {NULL, sae_model_threads(m)};
    sae_model_forward_decoder_pre(m, h, rows, x_hat);
    sae_bias_act_forward(m->output_act, x_hat, rows, m->input_dim, sae_dense(m)->dec_b, NULL, &scr);
    float s = sae_model_input_scale(m); /* back to the caller's scale */
    if (s != 1.0f)
        for (size_t i = 0; i < rows * m->input_dim; i++)
            x_hat[i] /= s;
}

static sae_status_t encode(sae_model_t *m, const float *x, size_t rows, float *code)
{
    for (size_t r = 0; r < rows; r += INFER_CHUNK) {
        size_t n = rows - r < INFER_CHUNK ? rows - r : INFER_CHUNK;
        sae_model_forward_encoder(m, x + r * m->input_dim, n, code + r * m->code_dim);
    }
    return SAE_OK;
}

static sae_status_t decode(sae_model_t *m, const float *code, size_t rows, float *x_hat)
{
    for (size_t r = 0; r < rows; r += INFER_CHUNK) {
        size_t n = rows - r < INFER_CHUNK ? rows - r : INFER_CHUNK;
        decode_rows(m, code + r * m->code_dim, n, x_hat + r * m->input_dim);
    }
    return SAE_OK;
}

static sae_status_t reconstruct(sae_model_t *m, const float *x, size_t rows, float *x_hat)
{
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

static size_t layer_count(const sae_model_t *m)
{
    (void)m;
    return 0; /* no layer list */
}

const sae_model_kind_t sae_kind_dense = {
    .name = "dense",
    .selects = selects,
    .validate = validate,
    .build = build,
    .bind = bind,
    .init = init,
    .release = release,
    .tensor_set = tensor_set,
    .encode = encode,
    .decode = decode,
    .reconstruct = reconstruct,
    .layer_count = layer_count,
    .layer_shape = NULL,
    .no_ranked_decoder = NULL,
    .no_decoder_bias = NULL,
};
