/* SPDX-License-Identifier: MIT */
/* What the benchmarks share: a monotonic clock, the median of the
 * repetitions' timings, and Fashion-MNIST's training images. Header-only
 * (static inline); SAE_BENCH_CACHE is the data cache, set by meson.build. */
#ifndef SAE_BENCH_UTIL_H
#define SAE_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/idx.h"

/* Monotonic seconds. */
static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v [n], n >= 1; sorts v. */
static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Prints the machine a run was measured on, as two figure lines: the CPU's
 * model name (/proc/cpuinfo) and the widest vector and matrix instruction
 * sets it offers (machines of one project differ: AVX2-only AMD EPYC, AVX-512
 * and AMX Intel Xeon). */
static inline void bench_print_machine(void)
{
    char line[4096], model[256] = "unknown", flags[4096] = "";
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f)) {
        char *v = strchr(line, ':');
        if (!v)
            continue;
        v += v[1] == ' ' ? 2 : 1;
        v[strcspn(v, "\n")] = '\0';
        if (!strncmp(line, "model name", 10) && !strcmp(model, "unknown"))
            snprintf(model, sizeof model, "%s", v);
        else if (!strncmp(line, "flags", 5) && !flags[0])
            snprintf(flags, sizeof flags, " %s ", v);
    }
    if (f)
        fclose(f);
    static const char *const isa[] = {"avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16",
                                      "amx_tile"};
    char have[256] = "";
    for (size_t i = 0; i < sizeof isa / sizeof isa[0]; i++) {
        char word[32];
        snprintf(word, sizeof word, " %s ", isa[i]);
        if (strstr(flags, word))
            snprintf(have + strlen(have), sizeof have - strlen(have), "%s%s", have[0] ? " " : "",
                     isa[i]);
    }
    printf("cpu: %s\n", model);
    printf("isa: %s\n", have[0] ? have : "baseline x86-64");
}

/* Loads Fashion-MNIST's 60,000 training images and labels from the first
 * of $SAE_DATA, the data cache's fashion-mnist/ and Debian's
 * dataset-fashion-mnist that holds them. Returns 1 on success, 0 when none
 * does or the files there cannot be read. */
static inline int bench_load_fashion_mnist(ex_dataset *ds)
{
    const char *dirs[] = {getenv("SAE_DATA"), SAE_BENCH_CACHE "/fashion-mnist",
                          "/usr/share/datasets/fashion-mnist"};
    char img[4096], lab[4096];
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (dirs[i] && ex_idx_find(dirs[i], "train-images-idx3-ubyte", img, sizeof img) &&
            ex_idx_find(dirs[i], "train-labels-idx1-ubyte", lab, sizeof lab))
            return ex_idx_load(img, lab, ds) == EX_OK;
    return 0;
}

#endif /* SAE_BENCH_UTIL_H */
