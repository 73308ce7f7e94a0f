/* SPDX-License-Identifier: MIT */
#include "common/patches.h"

size_t ex_patch_positions(const ex_region *r, size_t side)
{
    if (r->width < side || r->height < side)
        return 0;
    return (r->width - side + 1) * (r->height - side + 1);
}

void ex_patch_copy(const ex_region *r, size_t side, size_t top, size_t left, float *out)
{
    for (size_t i = 0; i < side; i++) {
        const uint8_t *row = r->rgb + ((top + i) * r->stride + left) * 3;
        for (size_t k = 0; k < side * 3; k++)
            *out++ = (float)row[k] / 256.0f;
    }
}

void ex_patch_random(const ex_region *r, size_t side, ex_rng *rng, float *out)
{
    size_t top = ex_rng_below(rng, r->height - side + 1);
    size_t left = ex_rng_below(rng, r->width - side + 1);
    ex_patch_copy(r, side, top, left, out);
}

void ex_patches_pooled(const ex_region *regs, size_t n_regs, size_t side, size_t n, ex_rng *rng,
                       float *out)
{
    size_t total = 0;
    for (size_t i = 0; i < n_regs; i++)
        total += ex_patch_positions(&regs[i], side);
    for (size_t p = 0; p < n; p++) {
        /* One position among all of them, then the region that holds it. */
        size_t pick = ex_rng_below(rng, total), i = 0;
        while (pick >= ex_patch_positions(&regs[i], side))
            pick -= ex_patch_positions(&regs[i++], side);
        size_t across = regs[i].width - side + 1;
        ex_patch_copy(&regs[i], side, pick / across, pick % across, out + p * side * side * 3);
    }
}
