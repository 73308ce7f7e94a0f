/* The model handle: what every kind of model has (the config, the
 * dimensions, the parameter block and its tensor layout, the inference
 * scratch), the kind that gives it its shape (model/kind.h), and that
 * kind's state. All weights live in one contiguous float block so that
 * optimizers, checksums and files treat them as one vector.
 * SPDX-License-Identifier: MIT */
#ifndef SAE_MODEL_MODEL_H
#define SAE_MODEL_MODEL_H

#include <stdatomic.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/matmul.h"
#include "config/config.h"
#include "code/code_op.h"
#include "layers/activation.h"
#include "sae.h"

#define SAE_MAX_TENSORS (2 * SAE_MAX_LAYERS)

typedef struct sae_tensor_desc {
    const char *name;
    size_t rows, cols;
    size_t offset; /* in floats, from model->params */
    int is_weight; /* 1 for matrices (weight decay applies), 0 for biases */
    int is_encoder;
    int role;     /* SAE_TENSOR_* (code/code_op.h); 0 for weights and biases */
    int optional; /* a file may lack it (left zero): a code operator's tensor
                     added after files were written without it */
} sae_tensor_desc_t;

typedef struct sae_model_kind sae_model_kind_t;

struct sae_model {
    sae_config_t *cfg; /* owned copy */
    const sae_model_kind_t *kind;
    /* The kind's own state: sae_dense_t (model/dense.h) or sae_net_t
     * (model/network.h), reached through sae_dense(m) / sae_net(m). */
    void *state;
    size_t input_dim, code_dim;
    /* The code's activation (what the code statistics count as active)
     * and the output's (what the loss applies). */
    sae_activation_t hidden_act, output_act;

    float *weights; /* n_weights floats, 64-byte aligned: every tensor */
    size_t n_weights;
    sae_tensor_desc_t tensors[SAE_MAX_TENSORS];
    size_t n_tensors;
    /* Scratch for calls made outside an inference context (training),
     * grown on demand; inference calls use their context's
     * (model/infer_ctx.h). */
    float *scratch;
    size_t scratch_size;
    /* Non-NULL: the matrices are held in bf16 for inference
     * (model/bf16_weights.h) and m->weights holds the vectors only. */
    struct sae_bf16_weights *bf16;
    /* Trainers made on the model and not freed: its weights may not
     * change storage under them. */
    int trainers;
    /* Free inference contexts, and the spin lock that guards the list. */
    struct sae_infer_ctx *infer_pool;
    atomic_int infer_lock;

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
/* Scratch of at least `floats` floats: the calling thread's inference
 * context's inside an inference call, else the model's own
 * (model/infer_ctx.c). */
float *sae_model_scratch(sae_model_t *m, size_t floats);
/* The calling thread's inference context's centred-rows buffer and code
 * operator state (one-hidden-layer kind), or the model's own outside an
 * inference call; and freeing the model's pool of contexts
 * (model/infer_ctx.c). */
float *sae_infer_center(const sae_model_t *m);
void *sae_infer_code_state(const sae_model_t *m);
void sae_infer_pool_free(sae_model_t *m);
/* The calling thread's inference context's oneDNN engine of kind
 * (sae_mm_kind_t; made on first use; NULL outside an inference call or
 * when none can be made), and, for bf16 weights, a widening buffer of at
 * least `floats` floats (NULL when out of memory; outside an inference
 * call, the bf16 state's own) (model/infer_ctx.c). */
sae_mm_t *sae_infer_mm(const sae_model_t *m, sae_mm_kind_t kind);
float *sae_infer_wide(const sae_model_t *m, size_t floats);
/* SAE_ERR_STATE with a message naming fn when m holds bf16 weights
 * (sae_model_set_weight_precision), else SAE_OK; and freeing that state
 * (model/bf16_weights.c). */
sae_status_t sae_model_need_fp32(sae_model_t *m, const char *fn);
void sae_bf16_weights_free(struct sae_bf16_weights *b);
/* Tensor index (a weight) of a bf16 model set from data, rounded. */
void sae_bf16_set_matrix(sae_model_t *m, size_t index, const float *data);
/* encode.k, with 0 resolved to 5% of the code (at least 1). */
size_t sae_model_default_k(const sae_model_t *m);
/* Argument checks shared by the inference calls. */
sae_status_t sae_model_check_io(sae_model_t *m, const char *fn, const float *in, size_t rows,
                                size_t in_dim, const void *out);
#endif
