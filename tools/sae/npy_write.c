/* SPDX-License-Identifier: MIT */
/* .npy output (numpy.lib.format version 1.0): the header is padded so that
 * the data starts at a multiple of 64 bytes, as numpy writes it. */
#include "cli.h"

#include <string.h>

int cli_npy_header(FILE *fp, const char *descr, size_t rows, size_t cols)
{
    char dict[192];
    int n = snprintf(dict, sizeof dict,
                     "{'descr': '%s', 'fortran_order': False, 'shape': (%zu, %zu), }", descr,
                     rows, cols);
    if (n < 0 || (size_t)n + 64 >= sizeof dict)
        return -1;
    size_t len = (size_t)n;
    while ((10 + len + 1) % 64)
        dict[len++] = ' ';
    dict[len++] = '\n';
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(len & 0xff),
                             (unsigned char)(len >> 8)};
    return fwrite(pre, 1, 10, fp) == 10 && fwrite(dict, 1, len, fp) == len ? 0 : -1;
}
