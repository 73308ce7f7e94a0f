/* SPDX-License-Identifier: MIT */
/* MNIST IDX files (LeCun's format, also used by Fashion-MNIST): a big-endian
 * header (magic 0x00000803 for images n x rows x cols, 0x00000801 for
 * labels n), then unsigned bytes. Read gzip-compressed or plain. */
#ifndef EX_IDX_H
#define EX_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "common/dataset.h"

#define EX_IDX_MAGIC_IMAGES 0x00000803u
#define EX_IDX_MAGIC_LABELS 0x00000801u

/* Largest (decompressed) IDX file accepted; MNIST's biggest is 47 MB. This
 * also stops a small gzip bomb from filling memory. */
#define EX_IDX_MAX_BYTES ((size_t)1 << 30)

/* Parses an image file held in memory into out: rows of rows*cols floats,
 * the bytes divided by 255; no labels. Errors: EX_ERR_TRUNCATED (shorter
 * than the header, or than the data it announces), EX_ERR_MAGIC,
 * EX_ERR_DIMENSION (a zero dimension, a product that overflows, or bytes
 * left over after the data), EX_ERR_NOMEM. Nothing is allocated before the
 * header has been checked against len. */
ex_status ex_idx_parse_images(const uint8_t *buf, size_t len, ex_dataset *out);

/* Parses a label file held in memory; *labels is freed by the caller.
 * Errors as for images. */
ex_status ex_idx_parse_labels(const uint8_t *buf, size_t len, uint8_t **labels, size_t *count);

/* Reads a whole file, decompressing it when it is gzip, into memory
 * (at most max_bytes of decompressed data, else EX_ERR_TOO_BIG). */
ex_status ex_idx_read_file(const char *path, size_t max_bytes, uint8_t **data, size_t *len);

/* Loads an image file and its label file into one labelled set; the counts
 * must agree (EX_ERR_DIMENSION otherwise). */
ex_status ex_idx_load(const char *images_path, const char *labels_path, ex_dataset *out);

/* Finds dir/base or dir/base.gz, writing the path found into path.
 * Returns 1 when one exists, 0 otherwise. */
int ex_idx_find(const char *dir, const char *base, char *path, size_t size);

#endif /* EX_IDX_H */
