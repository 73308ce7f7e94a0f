/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the sae tool's data readers (tools/sae/data): .npy,
 * IDX (plain and gzip), safetensors tensors, raw rows.
 *
 * Build with clang (meson does so when the compiler is clang), then fuzz:
 *   ./fuzz_sae_data -max_len=4096 corpus/
 * The first input byte picks the reader, so one corpus covers them all.
 * An accepted file must announce exactly the data it holds (all of it is
 * then converted, so that ASan sees any over-read of the exact-sized input),
 * and nothing may be allocated beyond what the input holds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "sd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void convert_all(const uint8_t *buf, size_t len, const sd_layout_t *l)
{
    size_t n = l->rows * l->dim, es = sd_dtype_size(l->dtype);
    /* The parsers promise that the data lies inside the buffer. */
    if (n == 0 || l->offset > len || n * es > len - l->offset || n / l->rows != l->dim)
        abort();
    float *x = malloc(n * sizeof *x);
    if (!x)
        abort();
    sd_convert(buf + l->offset, l->dtype, n, 255.0f, x);
    free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned which = data[0] % 5;
    data++;
    size--;
    sd_layout_t l;
    switch (which) {
    case 0:
        if (sd_parse_npy(data, size, &l) == 0)
            convert_all(data, size, &l);
        break;
    case 1:
        if (sd_parse_idx(data, size, &l) == 0)
            convert_all(data, size, &l);
        break;
    case 2: {
        uint8_t *out = NULL;
        size_t n = 0;
        if (sd_gunzip_idx(data, size, &out, &n) == 0) {
            if (sd_parse_idx(out, n, &l) != 0)
                abort(); /* the inflater stops exactly at a valid header's size */
            convert_all(out, n, &l);
        }
        free(out);
        break;
    }
    case 3:
        if (sd_parse_safetensors(data, size, NULL, &l) == 0)
            convert_all(data, size, &l);
        if (sd_parse_safetensors(data, size, "x", &l) == 0)
            convert_all(data, size, &l);
        break;
    default:
        if (size && sd_parse_raw(size, (size_t)data[0] + 1, data[0] & 1 ? SD_BF16 : SD_F32,
                                 &l) == 0)
            convert_all(data, size, &l);
        break;
    }
    return 0;
}
