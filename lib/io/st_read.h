/* The model file reader's stages, shared with the checkpoint reader
 * (io/checkpoint.c): open and check everything up to the model's tensors,
 * then stream the data section into the model and into the destinations
 * the caller set on the other entries. SPDX-License-Identifier: MIT */
#ifndef SAE_IO_ST_READ_H
#define SAE_IO_ST_READ_H

#include <stdint.h>
#include <stdio.h>

#include <cJSON.h>

#include "core/state.h"
#include "model/model.h"
#include "sae.h"

#define SAE_CKPT_VERSION "1"

/* A model has at most SAE_MAX_TENSORS tensors and a checkpoint adds at
 * most SAE_STATE_MAX arrays; a few more are parsed so that an extra tensor
 * is reported by name rather than by count. */
#define MAX_ENTRIES (SAE_MAX_TENSORS + SAE_STATE_MAX + 4)
/* Generic safetensors files may hold tensors of any rank; shapes are
 * validated up to this rank before being compared with the model's. */
#define MAX_DIMS 8
/* JSON numbers are doubles; integers above 2^53 are not exact in them. */
#define MAX_JSON_INT ((uint64_t)1 << 53)

typedef struct st_entry {
    const char *name; /* points into the parsed header */
    sae_dtype_t dtype;
    size_t ndim;
    uint64_t shape[MAX_DIMS];
    uint64_t begin, end; /* byte offsets into the data section */
    size_t tensor;       /* index of the model tensor it fills, or SIZE_MAX */
    void *dest;          /* else: where its elements go (NULL: checksummed only) */
} st_entry_t;

typedef struct st_load {
    const char *path;
    int want_checkpoint; /* set by the caller: the file must be a checkpoint */
    int checkpoint;      /* the file says it is one (checkpoint_version) */
    FILE *f;
    uint64_t file_size, header_len, data_size;
    cJSON *header;
    const cJSON *meta;
    const char *config_text;
    uint32_t crc;
    st_entry_t entries[MAX_ENTRIES];
    size_t n_entries;
    const st_entry_t *by_offset[MAX_ENTRIES];
    sae_config_t *cfg;
    sae_model_t *model;
} st_load_t;

/* The message starts with the file's name; into sae_last_error(). */
__attribute__((format(printf, 3, 4))) sae_status_t sae_st_fail(const st_load_t *ld,
                                                               sae_status_t status,
                                                               const char *fmt, ...);
/* Everything up to the model's tensors matched (ld->model allocated). */
sae_status_t sae_st_open_model(st_load_t *ld);
/* The data section, checksum and the model's finiteness. */
sae_status_t sae_st_read_data(st_load_t *ld);
/* Closes the file and frees the header and config (not the model). */
void sae_st_close(st_load_t *ld);

#endif
