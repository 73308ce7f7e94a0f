/* A trainer's state as a list of named, typed arrays: what a checkpoint
 * saves and fills on load (train/state.c lists them, io/checkpoint.c writes
 * and reads them). Kept in core so that every layer with state of its own
 * (a code operator's estimate, a method's memory) can add its entries.
 * SPDX-License-Identifier: MIT */
#ifndef SAE_CORE_STATE_H
#define SAE_CORE_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "sae.h"

/* Element types, as safetensors names them (io/safetensors.h). */
typedef enum sae_dtype {
    SAE_DT_F32 = 0,
    SAE_DT_F64 = 1,
    SAE_DT_U8 = 2,
    SAE_DT_U32 = 3,
    SAE_DT_U64 = 4
} sae_dtype_t;

size_t sae_dtype_size(sae_dtype_t dt);
const char *sae_dtype_name(sae_dtype_t dt); /* "F32", ... */
/* 0 and *dt set for a known name, -1 otherwise. */
int sae_dtype_parse(const char *name, sae_dtype_t *dt);

#define SAE_STATE_NAME 96
#define SAE_STATE_MAX 160

/* One array of state. On load the file's array must have this name, type
 * and shape, except that with resize the first dimension is the file's:
 * resize(ctx, n) then gives the buffer to fill (NULL: out of memory). */
typedef struct sae_state_entry {
    char name[SAE_STATE_NAME];
    sae_dtype_t dtype;
    void *data;
    size_t ndim;     /* 1 or 2 */
    size_t shape[2];
    void *(*resize)(void *ctx, size_t n);
    void *ctx;
} sae_state_entry_t;

typedef struct sae_state_list {
    sae_state_entry_t e[SAE_STATE_MAX];
    size_t n;
} sae_state_list_t;

/* Appends an entry of shape [rows] (cols = 0) or [rows x cols]; the name is
 * prefix followed by suffix (suffix may be NULL). SAE_ERR_RANGE when the
 * list is full or the name too long. */
sae_status_t sae_state_add(sae_state_list_t *l, const char *prefix, const char *suffix,
                           sae_dtype_t dt, void *data, size_t rows, size_t cols);
/* The last entry's first dimension comes from the file (see resize). */
void sae_state_resizable(sae_state_list_t *l, void *(*resize)(void *ctx, size_t n), void *ctx);

#endif
