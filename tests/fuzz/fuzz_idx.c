/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the examples' IDX parser (examples/common/idx.c).
 *
 * Build with clang (meson does so when the compiler is clang), then fuzz:
 *   ./fuzz_idx -max_len=4096 corpus/
 * The first input byte picks the image or the label parser, so one corpus
 * covers both. Every input must be refused cleanly or parsed with the
 * dimensions it announces, never read out of bounds or allocate more than
 * four bytes per input byte. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int labels = data[0] & 1;
    data++;
    size--;
    if (labels) {
        uint8_t *l = NULL;
        size_t count = 0;
        if (ex_idx_parse_labels(data, size, &l, &count) == EX_OK) {
            /* An accepted file is exactly its header plus one byte a label. */
            if (count + 8 != size)
                abort();
            free(l);
        }
        return 0;
    }
    ex_dataset d;
    if (ex_idx_parse_images(data, size, &d) == EX_OK) {
        if (d.rows * d.dim + 16 != size || d.dim != d.width * d.height)
            abort();
        /* Every pixel is a byte scaled to [0,1]. */
        for (size_t i = 0; i < d.rows * d.dim; i++)
            if (!(d.x[i] >= 0.0f && d.x[i] <= 1.0f))
                abort();
        ex_dataset_free(&d);
    }
    return 0;
}
