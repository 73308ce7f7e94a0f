/* bfloat16: the upper half of an IEEE float32 (8 exponent bits, 7 stored
 * mantissa bits), the operand type of the CPU matrix engines (AVX512-BF16's
 * VDPBF16PS, AMX-BF16's TDPBF16PS). Conversions and the CPU's support.
 * SPDX-License-Identifier: MIT */
#ifndef SAE_CORE_BF16_H
#define SAE_CORE_BF16_H

#include <stddef.h>
#include <stdint.h>

/* fp32 -> bf16, rounding to nearest, ties to even; NaNs stay (quiet) NaNs,
 * infinities stay infinities, subnormals are rounded like any value (no
 * flush to zero), so the result is the same on every CPU. */
void sae_f32_to_bf16(const float *src, uint16_t *dst, size_t n);
/* bf16 -> fp32, exact. */
void sae_bf16_to_f32(const uint16_t *src, float *dst, size_t n);

/* What the CPU offers for bf16 products, best first. */
typedef enum sae_bf16_isa {
    SAE_BF16_ISA_NONE = 0,    /* neither: bf16 would be emulated */
    SAE_BF16_ISA_AVX512 = 1,  /* AVX512-BF16 (Cooper Lake, Zen 4 and later) */
    SAE_BF16_ISA_AMX = 2      /* AMX-BF16 tiles (Sapphire Rapids and later) */
} sae_bf16_isa_t;

/* Read once from CPUID (and, for AMX, whether the kernel lets this process
 * use the tile state). */
sae_bf16_isa_t sae_cpu_bf16_isa(void);
/* "amx-bf16", "avx512-bf16" or "none". */
const char *sae_bf16_isa_name(sae_bf16_isa_t isa);

#endif
