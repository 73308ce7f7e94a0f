/* SPDX-License-Identifier: MIT */
/* CIFAR-10 binary batches (data_batch_1.bin ... data_batch_5.bin,
 * test_batch.bin of cifar-10-binary.tar.gz): records of 1 label byte and
 * 3072 pixel bytes, the 1024 red values of the 32x32 image row by row, then
 * the green, then the blue. */
#ifndef EX_CIFAR_H
#define EX_CIFAR_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define EX_CIFAR_SIDE   32
#define EX_CIFAR_RECORD (1 + 3 * EX_CIFAR_SIDE * EX_CIFAR_SIDE)

/* Images in memory as 8-bit RGB, pixel by pixel (height x width x 3, the
 * layout of a PNG's rows and of numpy's dstack). */
typedef struct ex_cifar {
    uint8_t *rgb;    /* n x 32 x 32 x 3 */
    uint8_t *labels; /* n, each 0..9 */
    size_t n;
} ex_cifar;

/* Parses a whole batch held in memory and appends its images to *set
 * (zeroed before the first call). A length that is not a positive multiple
 * of 3073 bytes, or a label above 9, is EX_ERR_FORMAT; nothing is appended
 * then. */
ex_status ex_cifar_parse(const uint8_t *buf, size_t len, ex_cifar *set);

/* Reads and appends one batch file (at most 10,000 records). */
ex_status ex_cifar_load(const char *path, ex_cifar *set);

/* Finds the folder of the binary batches: dir itself when it holds
 * data_batch_1.bin, else dir/cifar-10-batches-bin. Writes it into path and
 * returns 1, or returns 0. */
int ex_cifar_find(const char *dir, char *path, size_t size);

void ex_cifar_free(ex_cifar *set);

#endif /* EX_CIFAR_H */
