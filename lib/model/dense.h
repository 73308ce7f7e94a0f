/* The one-hidden-layer model's calls beyond its kind table (model/dense.c),
 * for its training pass and the model-level tools (prefix errors, bias
 * initialisation). SPDX-License-Identifier: MIT */
#ifndef SAE_MODEL_DENSE_H
#define SAE_MODEL_DENSE_H

#include "model/model.h"

/* Rows centred per call of sae_model_center_input. */
#define SAE_CENTER_ROWS 256
/* x itself, or (arch.pre_encoder_bias) x - dec_b written into m->center;
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
