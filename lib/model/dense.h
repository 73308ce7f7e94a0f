/* The one-hidden-layer model's calls beyond its kind table (model/dense.c),
 * for its training pass and the model-level tools (prefix errors, bias
 * initialisation). SPDX-License-Identifier: MIT */
#ifndef SAE_MODEL_DENSE_H
#define SAE_MODEL_DENSE_H

#include "code/code_op.h"
#include "model/model.h"

/* The one-hidden-layer model's state (m->state). */
typedef struct sae_dense {
    /* The code operator (code/code_op.h) and its inference state. */
    const sae_code_op_t *code_op;
    void *code_infer;
    int tied, has_bias;
    float enc_scale; /* factor of x W^T: 1/D for the rank-ordered autoencoder */
    /* Views into the weights; dec_w is NULL when tied, biases NULL without
     * bias. */
    float *enc_w; /* [code x input] */
    float *enc_b; /* [code] */
    float *dec_w; /* [code x input]: one row per unit, the dictionary atoms */
    float *dec_b; /* [input] */
    /* arch.pre_encoder_bias (Gao et al. 2024): the encoder reads x - dec_b;
     * the centred rows of inference calls go to center [SAE_CENTER_ROWS x
     * input]. */
    int pre_bias;
    float *center;
    /* arch.bias_init is not zero and decoder.bias has not been set from
     * data yet: the trainer does it on the first rows it is given. Set at
     * creation only (a loaded model keeps its bias); cleared once the bias
     * is given (sae_model_init_decoder_bias, sae_model_set_tensor). */
    int bias_init_pending;
    /* The code operator's own tensors (code_op->tensors) are the model's
     * tensors from this index on, in the operator's order. */
    size_t op_tensor0;
} sae_dense_t;

static inline sae_dense_t *sae_dense(const sae_model_t *m)
{
    return (sae_dense_t *)m->state;
}

/* The views into m->weights again, after the block moved (bf16 weights:
 * enc_w and dec_w NULL), and the operator's inference state bound anew. */
void sae_dense_rebind(sae_model_t *m);
/* With bf16 weights (model/bf16_weights.c): z[rows x H] = alpha x W_enc^T
 * and out[rows x D] = h W_dec. */
void sae_bf16_encoder_gemm(const sae_model_t *m, size_t rows, float alpha, const float *x,
                           float *z);
void sae_bf16_decoder_gemm(const sae_model_t *m, size_t rows, const float *h, float *out);

/* The places of the code operator's tensors in m's block (grad: NULL). */
void sae_dense_code_params(const sae_model_t *m, sae_code_params_t *p);

/* Rows centred per call of sae_model_center_input. */
#define SAE_CENTER_ROWS 256
/* x itself, or (arch.pre_encoder_bias) x - dec_b written into the model's center;
 * rows <= SAE_CENTER_ROWS. */
const float *sae_model_center_input(const sae_model_t *m, const float *x, size_t rows);

/* Forward of the encoder on clean rows with the code operator's inference
 * form: code[rows x H] = op(enc_scale * x' W^T + b), x' = x - dec_b with
 * arch.pre_encoder_bias, else x. */
void sae_model_forward_encoder(const sae_model_t *m, const float *x, size_t rows, float *code);
/* The decoder's weight as [code x input] rows (the encoder's when tied). */
const float *sae_model_decoder_rows(const sae_model_t *m);
/* Output pre-activation (logits for BCE): out[rows x D] = h W_dec (no bias). */
void sae_model_forward_decoder_pre(const sae_model_t *m, const float *h, size_t rows, float *out);

#endif
