/* SPDX-License-Identifier: MIT */
/* Internal pieces shared by the safetensors reader and writer (and, later,
 * checkpoints): format constants, little-endian byte packing, and a writer
 * for a list of named float32 tensors. docs/file-format.md describes the
 * format these produce and accept. */
#ifndef SAE_IO_SAFETENSORS_H
#define SAE_IO_SAFETENSORS_H

#include <float.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/state.h"
#include "sae.h"

/* Data is written as the bytes of IEEE binary32 values; a platform whose
 * float is anything else could not read or write these files faithfully. */
_Static_assert(sizeof(float) == 4 && FLT_RADIX == 2 && FLT_MANT_DIG == 24 && FLT_MAX_EXP == 128,
               "libsae model files need IEEE 754 binary32 floats");

#define SAE_ST_FORMAT         "libsae"
#define SAE_ST_FORMAT_VERSION "1"
/* decoder.weight's layout, recorded since 0.4: one row per code unit,
 * [hidden_dim, input_dim]. */
#define SAE_ST_DECODER_LAYOUT "unit_rows"
/* The most floats a file's train.batch_size may ask a trainer for, as
 * batch_size * (input_dim + hidden_dim): 2^28 (1 GiB per batch buffer). */
#define SAE_ST_MAX_BATCH_FLOATS ((uint64_t)1 << 28)
/* Largest JSON header accepted. A libsae header is about 2 KiB; the cap
 * keeps a hostile length field from making the loader allocate gigabytes
 * (the safetensors reference reader uses 100 MB for general files). */
#define SAE_ST_MAX_HEADER ((uint64_t)16 << 20)
/* Tensor data is moved through a buffer of this many bytes at a time, so
 * neither side ever needs a second full copy of the parameters. */
#define SAE_ST_CHUNK 16384u

/* One tensor to write. ndim is 1 or 2. Model tensors are F32; a
 * checkpoint's trainer state also uses F64, U8, U32 and U64 (core/state.h;
 * dtype 0 is F32). */
typedef struct sae_st_tensor {
    const char *name;
    const void *data;
    size_t ndim;
    size_t shape[2];
    sae_dtype_t dtype;
} sae_st_tensor_t;

/* One "__metadata__" entry; safetensors allows string values only. */
typedef struct sae_st_meta {
    const char *key;
    const char *value;
} sae_st_meta_t;

/* Writes the tensors (data in the given order, contiguous) and metadata to
 * path, adding "checksum": "crc32:<8 hex>" over the data section. Atomic:
 * the bytes go to a new temporary file next to path, which is flushed,
 * fsync'ed and renamed over path; on any failure the temporary file is
 * removed and path is untouched. Errors (SAE_ERR_IO, SAE_ERR_NOMEM,
 * SAE_ERR_RANGE for sizes beyond the format) are written into errbuf
 * (SAE_ERRMSG_SIZE bytes). */
sae_status_t sae_st_save(const char *path, const sae_st_tensor_t *tensors, size_t n_tensors,
                         const sae_st_meta_t *meta, size_t n_meta, char *errbuf);

/* sae_model_save's file with more: extra tensors after the model's and
 * extra metadata entries (at most 4), the message into errmsg. A
 * checkpoint is this (io/checkpoint.c), so that both go through one
 * writer and one atomic replacement. */
struct sae_model;
sae_status_t sae_model_save_with(const struct sae_model *model, const char *path,
                                 const sae_st_tensor_t *extra, size_t n_extra,
                                 const sae_st_meta_t *extra_meta, size_t n_extra_meta,
                                 char *errmsg);

/* Little-endian packing done with shifts, so that the same code is right on
 * any host byte order; on little-endian hosts compilers reduce it to plain
 * loads and stores. */
static inline void sae_st_store_u64le(unsigned char *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
}

static inline uint64_t sae_st_load_u64le(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}

static inline void sae_st_encode_f32(const float *src, size_t n, unsigned char *dst)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &src[i], sizeof u);
        dst[4 * i + 0] = (unsigned char)u;
        dst[4 * i + 1] = (unsigned char)(u >> 8);
        dst[4 * i + 2] = (unsigned char)(u >> 16);
        dst[4 * i + 3] = (unsigned char)(u >> 24);
    }
}

static inline void sae_st_decode_f32(const unsigned char *src, size_t n, float *dst)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)src[4 * i] | (uint32_t)src[4 * i + 1] << 8 |
                     (uint32_t)src[4 * i + 2] << 16 | (uint32_t)src[4 * i + 3] << 24;
        memcpy(&dst[i], &u, sizeof u);
    }
}

/* Any element type, little-endian byte by byte (as the f32 pair above). */
static inline void sae_st_encode(sae_dtype_t dt, const void *src, size_t n, unsigned char *dst)
{
    size_t w = sae_dtype_size(dt);
    if (dt == SAE_DT_F32) {
        sae_st_encode_f32(src, n, dst);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t u = 0;
        if (w == 8)
            memcpy(&u, (const unsigned char *)src + 8 * i, 8);
        else if (w == 4) {
            uint32_t v;
            memcpy(&v, (const unsigned char *)src + 4 * i, 4);
            u = v;
        } else
            u = ((const unsigned char *)src)[i];
        for (size_t b = 0; b < w; b++)
            dst[w * i + b] = (unsigned char)(u >> (8 * b));
    }
}

static inline void sae_st_decode(sae_dtype_t dt, const unsigned char *src, size_t n, void *dst)
{
    size_t w = sae_dtype_size(dt);
    if (dt == SAE_DT_F32) {
        sae_st_decode_f32(src, n, dst);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t u = 0;
        for (size_t b = 0; b < w; b++)
            u |= (uint64_t)src[w * i + b] << (8 * b);
        if (w == 8)
            memcpy((unsigned char *)dst + 8 * i, &u, 8);
        else if (w == 4) {
            uint32_t v = (uint32_t)u;
            memcpy((unsigned char *)dst + 4 * i, &v, 4);
        } else
            ((unsigned char *)dst)[i] = (unsigned char)u;
    }
}

#endif
