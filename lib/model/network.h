/* A layered model (arch.layers): a list of Conv2D, ConvTranspose2D,
 * MaxPool2D and dense layers, one of whose outputs is the code. Its
 * tensors live in the model's one parameter block like the one-hidden-
 * layer model's. SPDX-License-Identifier: MIT */
#ifndef SAE_MODEL_NETWORK_H
#define SAE_MODEL_NETWORK_H

#include <stdint.h>

#include "core/rng.h"
#include "layers/activation.h"
#include "config/netspec.h"

#include "model/model.h"

typedef struct sae_net_layer {
    sae_layer_spec_t spec;
    sae_conv_geom_t g;
    size_t in_size, out_size; /* values per sample */
    size_t fan_in;            /* for the initialisation */
    size_t n_weights;         /* entries of w */
    float *w, *b;             /* views into the parameter block (b NULL without bias) */
} sae_net_layer_t;

typedef struct sae_net {
    size_t n, code;
    sae_net_layer_t layer[SAE_MAX_LAYERS];
    char names[2 * SAE_MAX_LAYERS][24]; /* "layers.3.weight" */
    size_t max_size;                    /* largest in/out size per sample */
    int threads;                        /* the convolutions' (train.threads, 0: every core) */
} sae_net_t;

/* The layered model's state (m->state). */
static inline sae_net_t *sae_net(const sae_model_t *m)
{
    return (sae_net_t *)m->state;
}

/* Buffers of one forward pass over up to `rows` rows. */
typedef struct sae_net_buffers {
    float *out[SAE_MAX_LAYERS];       /* [rows x out_size] per layer */
    uint32_t *argmax[SAE_MAX_LAYERS]; /* pooling layers only */
    float *scratch;                   /* im2col */
} sae_net_buffers_t;

/* Biases of a layer: one per output channel, or per dense unit. */
size_t sae_net_bias_count(const sae_net_layer_t *l);
/* Lays out the tensors of cfg's layer list in m (before the block is
 * allocated); sae_net_bind sets the views once it is. */
sae_status_t sae_net_build(sae_model_t *m, char *errbuf);
void sae_net_bind(sae_model_t *m);
/* Weights drawn as arch.init says, per layer (fan_in / fan_out of each). */
void sae_net_init_params(sae_model_t *m, sae_rng_t *rng);
/* Floats of scratch for the im2col of `rows` rows through every layer. */
size_t sae_net_scratch_floats(const sae_net_t *net, size_t rows);
/* Forward of layers first..last on rows of in (the input of layer first):
 * every layer's output into buf->out[i], after its activation, except
 * that the last layer of the model keeps its pre-activation when
 * `logits` is set (the loss applies the activation itself). */
void sae_net_forward(const sae_net_t *net, const float *in, size_t rows, size_t first,
                     size_t last, int logits, sae_net_buffers_t *buf, const sae_reduce_scratch_t *scr);
/* The inference calls for a layered model (from model.c): layers 0..code,
 * code+1..n-1, or all of them, in chunks of the model's scratch. */
sae_status_t sae_net_run(sae_model_t *m, const float *in, size_t rows, size_t first, size_t last,
                         float *out);

#endif
