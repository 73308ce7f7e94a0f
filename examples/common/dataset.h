/* SPDX-License-Identifier: MIT */
/* A labelled data set held as one row-major float matrix, the layout libsae
 * trains on. */
#ifndef EX_DATASET_H
#define EX_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

typedef struct ex_dataset {
    float *x;         /* rows x dim, row-major */
    uint8_t *labels;  /* rows class labels, or NULL when there are none */
    size_t rows;
    size_t dim;
    size_t width;     /* image width and height when rows are images, */
    size_t height;    /* with dim == width * height; 0 otherwise */
} ex_dataset;

/* Frees the buffers and zeroes *d; NULL and an empty set are fine. */
void ex_dataset_free(ex_dataset *d);

/* dst = the rows idx[0..n) of src, in that order (a copy). */
ex_status ex_dataset_subset(const ex_dataset *src, const size_t *idx, size_t n, ex_dataset *dst);

/* dst = the rows [first, first + n) of src (a copy). */
ex_status ex_dataset_range(const ex_dataset *src, size_t first, size_t n, ex_dataset *dst);

/* Writes into idx the first per_class rows of each class 0..n_classes-1, in
 * the order they appear in d, grouped by class (class 0 first), and returns
 * how many were found (per_class * n_classes when every class has enough). */
size_t ex_dataset_first_per_class(const ex_dataset *d, size_t per_class, size_t n_classes,
                                  size_t *idx);

#endif /* EX_DATASET_H */
