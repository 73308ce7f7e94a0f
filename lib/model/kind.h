/* The kinds of model behind one sae_model_t handle, the way libinput's
 * evdev_dispatch_interface serves many device kinds behind one device:
 * each kind lays out its tensors, checks the config, initialises its
 * weights and runs inference through this table, and keeps its own state
 * struct (model/dense.h, model/network.h). The public calls of model.c
 * dispatch through m->kind once; a kind's training pass is the matching
 * entry of train/pass.h. Adding a kind: its file(s), one line in kinds.c.
 * SPDX-License-Identifier: MIT */
#ifndef SAE_MODEL_KIND_H
#define SAE_MODEL_KIND_H

#include <stddef.h>

#include "config/config.h"
#include "core/rng.h"
#include "sae.h"

typedef struct sae_model_kind {
    const char *name; /* "dense", "layered" */
    /* 1 when cfg describes a model of this kind (the first kind of the
     * registry that says so is taken). */
    int (*selects)(const sae_config_t *cfg);
    /* The checks across keys that only this kind knows (the per-key
     * bounds are the config's; the kind-independent ones are
     * sae_config_validate's). */
    sae_status_t (*validate)(const sae_config_t *cfg, char *errbuf);
    /* Sets input_dim, code_dim, the activations, and lays out the tensors
     * (sae_model_add_tensor) before the block is allocated; allocates the
     * kind's state. */
    sae_status_t (*build)(sae_model_t *m, char *errbuf);
    /* Once the parameter block exists: the kind's views into it and its
     * inference buffers. */
    sae_status_t (*bind)(sae_model_t *m, char *errbuf);
    /* Weights drawn as arch.init says; biases zero. */
    void (*init)(sae_model_t *m, sae_rng_t *rng);
    /* Frees the kind's state (the block is the model's). */
    void (*release)(sae_model_t *m);
    /* Optional (NULL: nothing to do): tensor index was just overwritten
     * by sae_model_set_tensor, for state that depends on who gave the
     * values (the dense kind's pending bias init). */
    void (*tensor_set)(sae_model_t *m, size_t index);

    /* Inference on rows already checked by model.c (rows > 0). */
    sae_status_t (*encode)(sae_model_t *m, const float *x, size_t rows, float *code);
    sae_status_t (*decode)(sae_model_t *m, const float *code, size_t rows, float *x_hat);
    sae_status_t (*reconstruct)(sae_model_t *m, const float *x, size_t rows, float *x_hat);

    /* Layers as sae_model_layer_count / _shape report them (0 layers: the
     * kind has no layer list). */
    size_t (*layer_count)(const sae_model_t *m);
    void (*layer_shape)(const sae_model_t *m, size_t index, size_t *c, size_t *h, size_t *w);

    /* What the kind cannot give, as the end of a refusal message ("...: %s"),
     * or NULL when it can: a decoder whose rows the code's units rank
     * (sae_model_prefix_errors), a single decoder.bias (bias init). */
    const char *no_ranked_decoder;
    const char *no_decoder_bias;
} sae_model_kind_t;

extern const sae_model_kind_t sae_kind_dense;   /* model/dense.c */
extern const sae_model_kind_t sae_kind_layered; /* model/network.c */

/* The kind cfg describes (never NULL: the dense model is the default). */
const sae_model_kind_t *sae_model_kind_for(const sae_config_t *cfg);

#endif
