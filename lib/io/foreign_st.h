/* SPDX-License-Identifier: MIT */
/* A reader for safetensors files written by other tools (SAELens,
 * sparsify, Gemma Scope 2, Llama Scope): any tensor names, no libsae
 * metadata, tensors of dtype F32, F16 or BF16 converted to float on read
 * (exactly: every F16 and BF16 value is a float). The file is hostile
 * until checked: header size, JSON, every dtype, shape and offset are
 * validated against the file size before any allocation or read
 * (docs/formats.md). */
#ifndef SAE_IO_FOREIGN_ST_H
#define SAE_IO_FOREIGN_ST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sae.h"

/* Element types the reader converts; any other dtype string is kept as
 * FST_OTHER so that a message can name it when the tensor is used. */
typedef enum fst_dtype { FST_F32, FST_F16, FST_BF16, FST_OTHER } fst_dtype_t;

#define FST_MAX_DIMS 4
#define FST_MAX_TENSORS 64
#define FST_NAME_MAX 96

typedef struct fst_tensor {
    char name[FST_NAME_MAX];
    char dtype_name[16];
    fst_dtype_t dtype;
    size_t ndim;
    uint64_t shape[FST_MAX_DIMS];
    uint64_t count;      /* product of shape */
    uint64_t begin, end; /* byte offsets into the data section */
} fst_tensor_t;

typedef struct fst_file {
    const char *path;
    FILE *f;
    uint64_t data_offset, data_size;
    fst_tensor_t tensors[FST_MAX_TENSORS];
    size_t n;
} fst_file_t;

/* Opens and validates path; messages into sae_last_error(), each starting
 * with the path. SAE_ERR_IO, SAE_ERR_FORMAT, SAE_ERR_NOMEM. */
sae_status_t sae_fst_open(fst_file_t *sf, const char *path);
void sae_fst_close(fst_file_t *sf);
/* The tensor called name, or NULL. */
const fst_tensor_t *sae_fst_find(const fst_file_t *sf, const char *name);
/* Reads the tensor's count elements as floats into dst. SAE_ERR_UNSUPPORTED
 * for a dtype other than F32, F16 and BF16, SAE_ERR_IO, SAE_ERR_FORMAT for
 * a truncated file. */
sae_status_t sae_fst_read(fst_file_t *sf, const fst_tensor_t *t, float *dst);

/* Exact conversions of IEEE binary16 and bfloat16 bit patterns. */
float sae_f16_to_f32(uint16_t h);
float sae_bf16_bits_to_f32(uint16_t h);

#endif
