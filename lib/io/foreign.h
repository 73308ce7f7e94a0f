/* SPDX-License-Identifier: MIT */
/* Foreign SAE formats (docs/formats.md): each importer reads its files
 * into an sae_foreign_t in libsae's layout (encoder and decoder weights
 * one row per latent), which one builder turns into a model; exporters
 * read a model back into one. */
#ifndef SAE_IO_FOREIGN_H
#define SAE_IO_FOREIGN_H

#include <stddef.h>

#include <cJSON.h>

#include "io/foreign_st.h"
#include "sae.h"

typedef enum sae_foreign_arch {
    SAE_FA_RELU,     /* h = relu(W(x - c) + b) */
    SAE_FA_TOPK,     /* the k largest of relu(W(x - c) + b) */
    SAE_FA_JUMPRELU, /* relu(z) * 1[z > threshold] */
    SAE_FA_GATED     /* 1[W(x - c) + b_gate > 0] * relu(exp(r_mag) W(x - c) + b_mag) */
} sae_foreign_arch_t;

typedef struct sae_foreign {
    sae_foreign_arch_t arch;
    size_t d_in, d_sae, k;
    int subtract_b_dec; /* the input is x - b_dec (SAELens's apply_b_dec_to_input) */
    float *enc_w;       /* [d_sae x d_in] */
    float *enc_b;       /* [d_sae] (gated: b_gate) */
    float *dec_w;       /* [d_sae x d_in] */
    float *dec_b;       /* [d_in] */
    float *threshold;   /* [d_sae], jumprelu */
    float *r_mag, *b_mag;
} sae_foreign_t;

void sae_foreign_free(sae_foreign_t *fs);
/* Allocates the arrays the architecture needs (zeroed). SAE_ERR_NOMEM. */
sae_status_t sae_foreign_alloc(sae_foreign_t *fs);
/* Builds the model. Gated with subtract_b_dec folds b_dec into the two
 * biases (libsae's gated operator has no pre-encoder bias). */
sae_status_t sae_foreign_build(sae_foreign_t *fs, sae_model_t **out);
/* The reverse, for exporters: SAE_ERR_UNSUPPORTED with a message naming
 * what the model has that the foreign formats cannot say. */
sae_status_t sae_foreign_from_model(const sae_model_t *m, sae_foreign_t *fs);

/* Reads a JSON object from a file of at most 1 MiB. SAE_ERR_IO,
 * SAE_ERR_FORMAT, SAE_ERR_NOMEM. */
sae_status_t sae_foreign_read_json(const char *path, cJSON **out);
/* 1 and *out set when item is a whole JSON number in [min, 1e9] (the
 * sizes and counts of the tools' config files); 0 otherwise. */
int sae_foreign_json_count(const cJSON *item, size_t min, size_t *out);
/* Reads tensor name of sf, which must have exactly the shape given
 * (ndim 1 or 2); transpose: the file holds [cols x rows] and dst gets
 * [rows x cols]. A shape that is the transpose of the expected one is
 * SAE_ERR_DIMENSION with "transposed" in the message. dst NULL: the
 * shape is checked only, which the importers do for the matrices before
 * allocating what a config's sizes ask for (the file's size bounds them). */
sae_status_t sae_foreign_tensor(fst_file_t *sf, const char *name, size_t ndim, size_t rows,
                                size_t cols, int transpose, float *dst);

sae_status_t sae_saelens_import(const char *dir, sae_model_t **out);
sae_status_t sae_saelens_export(const sae_model_t *m, const char *dir);
/* Writes text and a newline to path through a temporary file, fsync and
 * rename. SAE_ERR_IO. */
sae_status_t sae_foreign_write_text(const char *path, const char *text);
sae_status_t sae_sparsify_import(const char *dir, sae_model_t **out);
sae_status_t sae_sparsify_export(const sae_model_t *m, const char *dir);
sae_status_t sae_llamascope_import(const char *dir, sae_model_t **out);
/* params.npz (by its name's .npz) or params.safetensors. */
sae_status_t sae_gemmascope_import(const char *path, sae_model_t **out);

#endif
