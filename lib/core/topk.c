/* Quickselect over an index array with a strict total order (value
 * descending, then index ascending), so results never depend on the
 * pivot sequence. Expected O(n). SPDX-License-Identifier: MIT */
#include "core/topk.h"

/* a ranks before b */
static int before(const float *v, uint32_t a, uint32_t b)
{
    return v[a] > v[b] || (v[a] == v[b] && a < b);
}

static void swap(uint32_t *x, uint32_t *y)
{
    uint32_t t = *x;
    *x = *y;
    *y = t;
}

void sae_topk_select(const float *v, size_t n, size_t k, uint32_t *idx)
{
    for (size_t i = 0; i < n; i++)
        idx[i] = (uint32_t)i;
    if (k == 0 || k >= n)
        return;
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        /* Median of three as pivot, moved to hi. */
        size_t mid = lo + (hi - lo) / 2;
        if (before(v, idx[mid], idx[lo]))
            swap(&idx[mid], &idx[lo]);
        if (before(v, idx[hi], idx[lo]))
            swap(&idx[hi], &idx[lo]);
        if (before(v, idx[mid], idx[hi]))
            swap(&idx[mid], &idx[hi]);
        uint32_t pivot = idx[hi];
        size_t store = lo;
        for (size_t i = lo; i < hi; i++)
            if (before(v, idx[i], pivot))
                swap(&idx[i], &idx[store++]);
        swap(&idx[store], &idx[hi]);
        /* idx[lo..store) rank before the pivot, now at store. */
        if (store == k - 1 || store == k)
            return;
        if (store > k)
            hi = store - 1;
        else
            lo = store + 1;
    }
}
