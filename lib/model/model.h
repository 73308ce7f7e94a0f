/* The model handle: what every kind of model has (the config, the
 * dimensions, the parameter block and its tensor layout, the inference
 * scratch), the kind that gives it its shape (model/kind.h), and that
 * kind's state. All weights live in one contiguous float block so that
 * optimizers, checksums and files treat them as one vector.
 * SPDX-License-Identifier: MIT */
#ifndef SAE_MODEL_MODEL_H
#define SAE_MODEL_MODEL_H

#include "core/alloc.h"
#include "core/error.h"
#include "config/config.h"
#include "code/code_op.h"
#include "sae.h"

#define SAE_MAX_TENSORS (2 * SAE_MAX_LAYERS)

typedef struct sae_tensor_desc {
    const char *name;
    size_t rows, cols;
    size_t offset; /* in floats, from model->params */
    int is_weight; /* 1 for matrices (weight decay applies), 0 for biases */
    int is_encoder;
} sae_tensor_desc_t;

typedef struct sae_model_kind sae_model_kind_t;
typedef struct sae_net sae_net_t;

struct sae_model {
    sae_config_t *cfg; /* owned copy */
    const sae_model_kind_t *kind;
    /* The code operator and its inference state (dense kind). */
    const sae_code_op_t *code_op;
    void *code_infer;
    float enc_scale; /* factor of x W^T: 1/D for the rank-ordered autoencoder */
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

/* Threads for element-wise kernels, from train.threads (0 = OpenMP's). */
int sae_model_threads(const sae_model_t *m);
/* Scratch of at least `floats` floats owned by the model. */
float *sae_model_scratch(sae_model_t *m, size_t floats);
/* encode.k, with 0 resolved to 5% of the code (at least 1). */
size_t sae_model_default_k(const sae_model_t *m);
/* Argument checks shared by the inference calls. */
sae_status_t sae_model_check_io(sae_model_t *m, const char *fn, const float *in, size_t rows,
                                size_t in_dim, const void *out);
#endif
