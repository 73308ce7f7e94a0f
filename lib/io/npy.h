/* SPDX-License-Identifier: MIT */
/* The header of a NumPy .npy array (numpy/lib/format.py's documented
 * format): magic "\x93NUMPY", version 1.0 (2-byte header length), 2.0 or
 * 3.0 (4-byte), then a Python dict literal {'descr': '<f4',
 * 'fortran_order': False, 'shape': (a, b), } padded with spaces and a
 * newline. Only what float arrays need is accepted; everything is checked
 * against the bytes there are. */
#ifndef SAE_IO_NPY_H
#define SAE_IO_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "sae.h"

#define NPY_MAX_DIMS 4
/* numpy writes headers of a few hundred bytes; more is refused. */
#define NPY_MAX_HEADER 65536u

typedef struct npy_info {
    char descr[8];  /* as written, e.g. "<f4" */
    int elem;       /* 4 (float32) or 2 (float16) when the descr is one of
                       '<f4', '<f2' (or '|'/'=' on little-endian hosts);
                       0 for any other type */
    int fortran;    /* fortran_order: True */
    size_t ndim;
    uint64_t shape[NPY_MAX_DIMS];
    uint64_t count;       /* product of shape */
    size_t header_bytes;  /* magic to the end of the dict: where data starts */
} npy_info_t;

/* Parses the header at buf[0..len) (len may exceed the header). On error
 * the reason goes into why (at least 128 bytes) and SAE_ERR_FORMAT is
 * returned; SAE_ERR_RANGE when buf is too short to hold the header it
 * announces (read more and call again). */
sae_status_t sae_npy_parse(const unsigned char *buf, size_t len, npy_info_t *out, char *why);

#endif
