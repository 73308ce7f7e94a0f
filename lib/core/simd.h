/* Hot element-wise kernels are compiled for several x86-64 levels and the
 * best one is picked at load time (GCC/Clang function multiversioning), so
 * a distribution build still runs AVX2/AVX-512 code where the CPU has it.
 * SPDX-License-Identifier: MIT */
#ifndef SAE_CORE_SIMD_H
#define SAE_CORE_SIMD_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(SAE_NO_MULTIVERSION) && defined(__linux__)
#define SAE_HOT __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SAE_HOT
#endif

#endif
