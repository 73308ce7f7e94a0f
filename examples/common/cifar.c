/* SPDX-License-Identifier: MIT */
#include "common/cifar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"

#define PLANE (EX_CIFAR_SIDE * EX_CIFAR_SIDE)
/* A batch file of the official archive holds 10,000 records. */
#define MAX_RECORDS 10000

ex_status ex_cifar_parse(const uint8_t *buf, size_t len, ex_cifar *set)
{
    if (!set || (!buf && len))
        return ex_fail(EX_ERR_ARG, "NULL argument");
    if (len == 0 || len % EX_CIFAR_RECORD != 0)
        return ex_fail(EX_ERR_FORMAT, "%zu bytes is not a whole number of %d-byte CIFAR-10 records",
                       len, EX_CIFAR_RECORD);
    size_t n = len / EX_CIFAR_RECORD;
    for (size_t r = 0; r < n; r++)
        if (buf[r * EX_CIFAR_RECORD] > 9)
            return ex_fail(EX_ERR_FORMAT, "record %zu has label %u, not 0..9", r,
                           (unsigned)buf[r * EX_CIFAR_RECORD]);
    size_t total = set->n + n;
    uint8_t *rgb = realloc(set->rgb, total * 3 * PLANE);
    if (!rgb)
        return ex_fail(EX_ERR_NOMEM, "no memory for %zu CIFAR-10 images", total);
    set->rgb = rgb;
    uint8_t *labels = realloc(set->labels, total);
    if (!labels)
        return ex_fail(EX_ERR_NOMEM, "no memory for %zu CIFAR-10 labels", total);
    set->labels = labels;
    for (size_t r = 0; r < n; r++) {
        const uint8_t *rec = buf + r * EX_CIFAR_RECORD;
        uint8_t *img = set->rgb + (set->n + r) * 3 * PLANE;
        set->labels[set->n + r] = rec[0];
        /* Planes R, G, B to interleaved pixels. */
        for (size_t p = 0; p < PLANE; p++)
            for (size_t c = 0; c < 3; c++)
                img[3 * p + c] = rec[1 + c * PLANE + p];
    }
    set->n = total;
    return EX_OK;
}

ex_status ex_cifar_load(const char *path, ex_cifar *set)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    ex_status st = ex_read_file(path, (size_t)MAX_RECORDS * EX_CIFAR_RECORD, &buf, &len);
    if (st != EX_OK)
        return st;
    st = ex_cifar_parse(buf, len, set);
    free(buf);
    if (st != EX_OK) {
        char why[256];
        snprintf(why, sizeof why, "%s", ex_error_detail());
        return ex_fail(st, "%s: %s", path, why);
    }
    return EX_OK;
}

int ex_cifar_find(const char *dir, char *path, size_t size)
{
    const char *subs[2] = {"", "/cifar-10-batches-bin"};
    for (int i = 0; i < 2; i++) {
        char probe[4200];
        if ((size_t)snprintf(path, size, "%s%s", dir, subs[i]) >= size ||
            (size_t)snprintf(probe, sizeof probe, "%s/data_batch_1.bin", path) >= sizeof probe)
            return 0;
        if (ex_is_file(probe))
            return 1;
    }
    return 0;
}

void ex_cifar_free(ex_cifar *set)
{
    if (!set)
        return;
    free(set->rgb);
    free(set->labels);
    memset(set, 0, sizeof *set);
}
