/* SPDX-License-Identifier: MIT */
/* Whole-file reads with a size cap, atomic whole-file writes, mkdir -p. */
#ifndef EX_FILEIO_H
#define EX_FILEIO_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

/* Reads all of path into a new buffer (freed by the caller with free()),
 * NUL-terminated one byte past *len so text can be parsed in place. Files
 * larger than max_bytes give EX_ERR_TOO_BIG before any large allocation. */
ex_status ex_read_file(const char *path, size_t max_bytes, uint8_t **data, size_t *len);

/* Writes data to path so that path never holds a partial file: a temporary
 * file in the same folder is written, flushed, synced and renamed over it. */
ex_status ex_write_file_atomic(const char *path, const void *data, size_t len);

/* Creates path and its missing parents, like `mkdir -p`. */
ex_status ex_mkdir_p(const char *path);

/* 1 if path names an existing regular file (after symlinks), else 0. */
int ex_is_file(const char *path);

/* 1 if path names an existing folder (after symlinks), else 0. */
int ex_is_dir(const char *path);

#endif /* EX_FILEIO_H */
