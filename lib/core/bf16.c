/* bfloat16 conversions and CPU detection. SPDX-License-Identifier: MIT */
#include "core/bf16.h"

#include <string.h>

#include "core/simd.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#endif
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

/* Round to nearest even on the bit pattern: adding 0x7fff plus the lowest
 * kept bit carries into the kept half exactly when the dropped half is above
 * one half, or equal to it with an odd kept half. NaNs are kept apart since
 * the carry could turn a NaN whose payload sits in the low half into an
 * infinity. Integer arithmetic, so every CPU gives the same bits. */
SAE_HOT void sae_f32_to_bf16(const float *src, uint16_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &src[i], sizeof u);
        uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
        uint32_t nan = ((u & 0x7fffffffu) > 0x7f800000u);
        dst[i] = (uint16_t)(nan ? ((u >> 16) | 0x40u) : rounded);
    }
}

SAE_HOT void sae_bf16_to_f32(const uint16_t *src, float *dst, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)src[i] << 16;
        memcpy(&dst[i], &u, sizeof u);
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
/* Linux gives a process the AMX tile state only after it asks
 * (arch_prctl ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA, Linux 5.16);
 * oneDNN asks too, and the answer is per process. */
static int amx_permitted(void)
{
#if defined(__linux__) && defined(SYS_arch_prctl)
    const long req_xcomp_perm = 0x1023, xfeature_xtiledata = 18;
    return syscall(SYS_arch_prctl, req_xcomp_perm, xfeature_xtiledata) == 0;
#else
    return 0;
#endif
}

static sae_bf16_isa_t detect(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return SAE_BF16_ISA_NONE;
    int avx512f = (b >> 16) & 1;
    int amx_bf16 = (d >> 22) & 1, amx_tile = (d >> 24) & 1;
    unsigned a1 = 0, b1, c1, d1;
    if (a >= 1)
        __get_cpuid_count(7, 1, &a1, &b1, &c1, &d1);
    int avx512_bf16 = (a1 >> 5) & 1;
    /* The OS must save the AVX-512 state (XCR0 bits 5-7) for either. */
    unsigned a0 = 0, b0 = 0, c0 = 0, d0 = 0;
    __get_cpuid(1, &a0, &b0, &c0, &d0);
    int osxsave = (c0 >> 27) & 1;
    unsigned xcr0 = 0;
    if (osxsave) {
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        xcr0 = lo;
    }
    int os_avx512 = (xcr0 & 0xe6u) == 0xe6u;
    if (!avx512f || !os_avx512)
        return SAE_BF16_ISA_NONE;
    if (amx_bf16 && amx_tile && amx_permitted())
        return SAE_BF16_ISA_AMX;
    return avx512_bf16 ? SAE_BF16_ISA_AVX512 : SAE_BF16_ISA_NONE;
}
#else
static sae_bf16_isa_t detect(void)
{
    return SAE_BF16_ISA_NONE;
}
#endif

sae_bf16_isa_t sae_cpu_bf16_isa(void)
{
    /* Racing first calls compute the same answer. */
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        v = (int)detect();
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return (sae_bf16_isa_t)v;
}

const char *sae_bf16_isa_name(sae_bf16_isa_t isa)
{
    switch (isa) {
    case SAE_BF16_ISA_AMX:
        return "amx-bf16";
    case SAE_BF16_ISA_AVX512:
        return "avx512-bf16";
    default:
        return "none";
    }
}
