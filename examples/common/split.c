/* SPDX-License-Identifier: MIT */
#include "common/split.h"

#include <stdlib.h>
#include <string.h>

#include "common/rng.h"

void ex_permutation(size_t *idx, size_t n, uint64_t seed)
{
    if (!idx)
        return;
    ex_rng rng;
    ex_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = ex_rng_below(&rng, i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

ex_status ex_split3(const ex_dataset *all, uint64_t seed, size_t n_train, size_t n_val,
                    size_t n_test, ex_dataset *train, ex_dataset *val, ex_dataset *test)
{
    if (!all || !train || !val || !test)
        return ex_fail(EX_ERR_ARG, "ex_split3: NULL argument");
    memset(train, 0, sizeof *train);
    memset(val, 0, sizeof *val);
    memset(test, 0, sizeof *test);
    if (n_train > all->rows || n_val > all->rows - n_train ||
        n_test > all->rows - n_train - n_val)
        return ex_fail(EX_ERR_ARG, "a split of %zu + %zu + %zu rows needs more than %zu", n_train,
                       n_val, n_test, all->rows);
    size_t *idx = malloc((all->rows ? all->rows : 1) * sizeof *idx);
    if (!idx)
        return ex_fail(EX_ERR_NOMEM, "no memory");
    ex_permutation(idx, all->rows, seed);
    ex_status st = ex_dataset_subset(all, idx, n_train, train);
    if (st == EX_OK)
        st = ex_dataset_subset(all, idx + n_train, n_val, val);
    if (st == EX_OK)
        st = ex_dataset_subset(all, idx + n_train + n_val, n_test, test);
    free(idx);
    if (st != EX_OK) {
        ex_dataset_free(train);
        ex_dataset_free(val);
        ex_dataset_free(test);
    }
    return st;
}
