/* SPDX-License-Identifier: MIT */
/* Raw little-endian rows: the file is nothing but rows of dim values, so the
 * only header to check is the file's length. */
#include "sd.h"

int sd_parse_raw(size_t len, size_t dim, sd_dtype_t t, sd_layout_t *out)
{
    if (dim == 0)
        return sd_fail("raw file: --dim is needed (the values a row holds)");
    if (t != SD_F32 && t != SD_BF16 && t != SD_F16 && t != SD_U8)
        return sd_fail("raw file: unsupported element type");
    size_t es = sd_dtype_size(t);
    if (dim > SIZE_MAX / es)
        return sd_fail("raw file: --dim %zu is too large", dim);
    size_t row = dim * es;
    if (len == 0)
        return sd_fail("raw file: empty");
    if (len % row != 0)
        return sd_fail("raw file: %zu bytes is not a whole number of %zu-value %s rows "
                       "(%zu bytes each)", len, dim, sd_dtype_name(t), row);
    out->offset = 0;
    out->rows = len / row;
    out->dim = dim;
    out->dtype = t;
    return 0;
}
