/* The layer list of a layered model (arch.layers): its parsed form, the
 * text form that configs and model files keep, and the shapes that follow
 * from the input shape. SPDX-License-Identifier: MIT */
#ifndef SAE_CONFIG_NETSPEC_H
#define SAE_CONFIG_NETSPEC_H

#include <stddef.h>
#include <stdint.h>

#include "layers/conv.h"
#include "sae.h"

#define SAE_MAX_LAYERS 16

typedef enum sae_layer_kind {
    SAE_LAYER_CONV2D = 0,
    SAE_LAYER_CONVT2D = 1,
    SAE_LAYER_MAXPOOL2D = 2,
    SAE_LAYER_DENSE = 3
} sae_layer_kind_t;

typedef struct sae_layer_spec {
    sae_layer_kind_t kind;
    size_t out;      /* output channels (conv, convt) or units (dense) */
    size_t out_h, out_w; /* dense only: the output read as out x out_h x
                            out_w ("dense 4x7x7"), else 1 x 1 */
    size_t kernel, stride, padding, output_padding;
    sae_activation_t act;
    int is_code;     /* this layer's output is the code */
    int penalize;    /* marked for the regularizers (net.penalize = marked) */
} sae_layer_spec_t;

typedef struct sae_netspec {
    size_t n;        /* layers; 0 = no layer list (the one-hidden-layer model) */
    size_t in_c, in_h, in_w;
    sae_layer_spec_t layer[SAE_MAX_LAYERS];
} sae_netspec_t;

/* Parses text into spec and checks it: shapes valid at every layer, one
 * code layer that is not the last, output shape equal to the input shape.
 * An empty text gives n = 0. Returns SAE_OK or SAE_ERR_BAD_VALUE /
 * SAE_ERR_DIMENSION with the reason in errbuf. */
sae_status_t sae_netspec_parse(const char *text, sae_netspec_t *spec, char *errbuf);
/* The canonical text of spec (every field spelled out); "" for n = 0.
 * Returns the length it needs (snprintf's rule). */
size_t sae_netspec_format(const sae_netspec_t *spec, char *buf, size_t size);
/* Geometry of layer i: its input shape from the previous layer. */
sae_conv_geom_t sae_netspec_geom(const sae_netspec_t *spec, size_t i);
/* Elements per sample of layer i's output (i = n-1: the reconstruction). */
size_t sae_netspec_out_size(const sae_netspec_t *spec, size_t i);
/* Index of the code layer. */
size_t sae_netspec_code_layer(const sae_netspec_t *spec);
/* Weights (not biases) of every layer: what a model file must hold at least. */
uint64_t sae_netspec_weight_count(const sae_netspec_t *spec);
const char *sae_layer_kind_name(sae_layer_kind_t kind);

#endif
