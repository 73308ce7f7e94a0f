/* SPDX-License-Identifier: MIT */
/* CRC-32 (IEEE 802.3, the zlib/PNG one) over the data section of model
 * files. It catches bit rot and truncation-with-padding, not tampering: a
 * file's integrity against an attacker is not something a checksum in the
 * same file can give. */
#ifndef SAE_IO_CHECKSUM_H
#define SAE_IO_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* Continues a CRC-32 over n more bytes. Start with crc = 0; the value
 * returned after the last piece is the CRC of the concatenation, so data
 * can be fed in chunks (zlib's crc32() convention). */
uint32_t sae_crc32_update(uint32_t crc, const void *data, size_t n);

/* The CRC-32 of one buffer: sae_crc32("123456789", 9) == 0xCBF43926. */
uint32_t sae_crc32(const void *data, size_t n);

#endif
