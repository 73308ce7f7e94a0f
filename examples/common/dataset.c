/* SPDX-License-Identifier: MIT */
#include "common/dataset.h"

#include <stdlib.h>
#include <string.h>

void ex_dataset_free(ex_dataset *d)
{
    if (!d)
        return;
    free(d->x);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

ex_status ex_dataset_subset(const ex_dataset *src, const size_t *idx, size_t n, ex_dataset *dst)
{
    if (!src || !dst || (!idx && n))
        return ex_fail(EX_ERR_ARG, "ex_dataset_subset: NULL argument");
    memset(dst, 0, sizeof *dst);
    for (size_t i = 0; i < n; i++)
        if (idx[i] >= src->rows)
            return ex_fail(EX_ERR_ARG, "row %zu is outside a set of %zu rows", idx[i], src->rows);
    float *x = malloc((n ? n : 1) * src->dim * sizeof *x);
    uint8_t *labels = src->labels ? malloc(n ? n : 1) : NULL;
    if (!x || (src->labels && !labels)) {
        free(x);
        free(labels);
        return ex_fail(EX_ERR_NOMEM, "no memory for a subset of %zu rows", n);
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(x + i * src->dim, src->x + idx[i] * src->dim, src->dim * sizeof *x);
        if (labels)
            labels[i] = src->labels[idx[i]];
    }
    dst->x = x;
    dst->labels = labels;
    dst->rows = n;
    dst->dim = src->dim;
    dst->width = src->width;
    dst->height = src->height;
    return EX_OK;
}

ex_status ex_dataset_range(const ex_dataset *src, size_t first, size_t n, ex_dataset *dst)
{
    if (!src || !dst)
        return ex_fail(EX_ERR_ARG, "ex_dataset_range: NULL argument");
    if (first > src->rows || n > src->rows - first)
        return ex_fail(EX_ERR_ARG, "rows [%zu, %zu) are outside a set of %zu rows", first,
                       first + n, src->rows);
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx)
        return ex_fail(EX_ERR_NOMEM, "no memory");
    for (size_t i = 0; i < n; i++)
        idx[i] = first + i;
    ex_status st = ex_dataset_subset(src, idx, n, dst);
    free(idx);
    return st;
}

size_t ex_dataset_first_per_class(const ex_dataset *d, size_t per_class, size_t n_classes,
                                  size_t *idx)
{
    if (!d || !d->labels || !idx)
        return 0;
    size_t found = 0;
    for (size_t c = 0; c < n_classes; c++) {
        size_t got = 0;
        for (size_t r = 0; r < d->rows && got < per_class; r++) {
            if (d->labels[r] == c) {
                idx[found++] = r;
                got++;
            }
        }
    }
    return found;
}
