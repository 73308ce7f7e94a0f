/* SPDX-License-Identifier: MIT */
/* Fixed-seed shuffles and train / validation / test splits. */
#ifndef EX_SPLIT_H
#define EX_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "common/dataset.h"

/* Fills idx with a permutation of 0..n-1 drawn from seed (Fisher-Yates). */
void ex_permutation(size_t *idx, size_t n, uint64_t seed);

/* Shuffles all's rows with seed and copies the first n_train of them into
 * train, the next n_val into val and the next n_test into test. The three
 * counts may not add up to more than all->rows (EX_ERR_ARG). */
ex_status ex_split3(const ex_dataset *all, uint64_t seed, size_t n_train, size_t n_val,
                    size_t n_test, ex_dataset *train, ex_dataset *val, ex_dataset *test);

#endif /* EX_SPLIT_H */
