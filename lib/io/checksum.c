/* SPDX-License-Identifier: MIT */
#include "io/checksum.h"

/* Reflected polynomial 0xEDB88320 applied to every 4-bit value. A 16-entry
 * table keeps the code small and free of run-time initialisation (so no
 * thread-safety question) while being fast enough for model files, which
 * are read and written far less often than they are trained. */
static const uint32_t crc_nibble[16] = {
    0x00000000u, 0x1db71064u, 0x3b6e20c8u, 0x26d930acu, 0x76dc4190u, 0x6b6b51f4u,
    0x4db26158u, 0x5005713cu, 0xedb88320u, 0xf00f9344u, 0xd6d6a3e8u, 0xcb61b38cu,
    0x9b64c2b0u, 0x86d3d2d4u, 0xa00ae278u, 0xbdbdf21cu,
};

uint32_t sae_crc32_update(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;
    /* The register is kept inverted between calls so that chunks chain. */
    uint32_t c = ~crc;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        c = (c >> 4) ^ crc_nibble[c & 0xfu];
        c = (c >> 4) ^ crc_nibble[c & 0xfu];
    }
    return ~c;
}

uint32_t sae_crc32(const void *data, size_t n)
{
    return sae_crc32_update(0, data, n);
}
