/* The model: encoder (dense + activation) -> code -> decoder (dense +
 * output activation), tied or untied. All parameters live in one contiguous
 * float block so that optimizers, checksums and files treat them as one
 * vector. SPDX-License-Identifier: MIT */
#ifndef SAE_MODEL_MODEL_H
#define SAE_MODEL_MODEL_H

#include "core/alloc.h"
#include "core/error.h"
#include "config/config.h"
#include "model/network.h"
#include "sae.h"

#define SAE_MAX_TENSORS (2 * SAE_MAX_LAYERS)

typedef struct sae_tensor_desc {
    const char *name;
    size_t rows, cols;
    size_t offset; /* in floats, from model->params */
    int is_weight; /* 1 for matrices (weight decay applies), 0 for biases */
    int is_encoder;
} sae_tensor_desc_t;

struct sae_model {
    sae_config_t *cfg; /* owned copy */
    size_t input_dim, code_dim;
    int tied, has_bias;
    sae_activation_t hidden_act, output_act;

    float *params; /* n_params floats, 64-byte aligned */
    size_t n_params;
    sae_tensor_desc_t tensors[SAE_MAX_TENSORS];
    size_t n_tensors;
    /* Views into params; dec_w is NULL when tied, biases NULL without bias. */
    float *enc_w; /* [code x input] */
    float *enc_b; /* [code] */
    float *dec_w; /* [code x input]: one row per unit, the dictionary atoms */
    float *dec_b; /* [input] */
    /* The layer list of a layered model (arch.layers), else NULL: then the
     * four views above are NULL and input_dim / code_dim come from it. */
    sae_net_t *net;

    /* Units kept per row at inference (topk.alpha x topk.k), 0 = all, and
     * the selection scratch for it (2 x code_dim entries). */
    size_t infer_k;
    uint32_t *infer_select;
    /* arch.pre_encoder_bias (Gao et al. 2024): the encoder reads x - dec_b;
     * the centred rows of inference calls go to center [SAE_CENTER_ROWS x
     * input], allocated with the model. */
    int pre_bias;
    float *center;
    /* arch.bias_init is not zero and decoder.bias has not been set from
     * data yet: the trainer does it on the first rows it is given. Set by
     * sae_model_create only (a loaded model keeps its bias). */
    int bias_init_pending;
    /* Scratch for inference calls, grown on demand. */
    float *scratch;
    size_t scratch_size;

    char errmsg[SAE_ERRMSG_SIZE];
};

/* Appends a tensor of rows x cols to the parameter block's layout. */
void sae_model_add_tensor(sae_model_t *m, const char *name, size_t rows, size_t cols,
                          int is_weight, int is_encoder);
/* Allocates a model for cfg (copied) with zeroed parameters; no init. */
sae_status_t sae_model_alloc(const sae_config_t *cfg, sae_model_t **out, char *errbuf);
/* Weights drawn from seed as arch.init says (Glorot uniform or normal),
 * zero biases. */
void sae_model_init_params(sae_model_t *m, uint64_t seed);

/* Rows centred per call of sae_model_center_input. */
#define SAE_CENTER_ROWS 256
/* x itself, or (arch.pre_encoder_bias) x - dec_b written into m->center;
 * rows <= SAE_CENTER_ROWS. */
const float *sae_model_center_input(const sae_model_t *m, const float *x, size_t rows);

/* Forward of the encoder on clean rows: code[rows x H] = act(x' W^T + b),
 * x' = x - dec_b with arch.pre_encoder_bias, else x. */
void sae_model_forward_encoder(const sae_model_t *m, const float *x, size_t rows, float *code);
/* The decoder's weight as [code x input] rows (the encoder's when tied). */
const float *sae_model_decoder_rows(const sae_model_t *m);
/* Output pre-activation (logits for BCE): out[rows x D] = h W_dec (no bias). */
void sae_model_forward_decoder_pre(const sae_model_t *m, const float *h, size_t rows, float *out);

/* Threads for element-wise kernels, from train.threads (0 = OpenMP's). */
int sae_model_threads(const sae_model_t *m);
/* Scratch of at least `floats` floats owned by the model. */
float *sae_model_scratch(sae_model_t *m, size_t floats);
/* encode.k, with 0 resolved to 5% of the code (at least 1). */
size_t sae_model_default_k(const sae_model_t *m);
/* Factor of the encoder's pre-activation: 1/D for the rank-ordered
 * autoencoder (E4: z = x W / D), 1 otherwise. */
float sae_model_encoder_scale(const sae_model_t *m);
/* Argument checks shared by the inference calls. */
sae_status_t sae_model_check_io(sae_model_t *m, const char *fn, const float *in, size_t rows,
                                size_t in_dim, const void *out);
#endif
