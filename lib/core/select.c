/* Quickselect over an index array with a strict total order (value
 * descending, then index ascending), so results never depend on the
 * pivot sequence. Expected O(n). SPDX-License-Identifier: MIT */
#include "core/select.h"

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

/* Min-heap of the k best seen so far (root = the worst of them, by
 * `before`): one comparison per element for most of a long vector, so
 * O(n + k log k log(n/k)) when k is much smaller than n. */
static void sift_down(const float *v, uint32_t *heap, size_t k, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, worst = i;
        if (l < k && before(v, heap[worst], heap[l]))
            worst = l;
        if (r < k && before(v, heap[worst], heap[r]))
            worst = r;
        if (worst == i)
            return;
        swap(&heap[i], &heap[worst]);
        i = worst;
    }
}

static void heap_select(const float *v, size_t n, size_t k, uint32_t *idx)
{
    for (size_t i = 0; i < k; i++)
        idx[i] = (uint32_t)i;
    for (size_t i = k / 2; i-- > 0;)
        sift_down(v, idx, k, i);
    for (size_t i = k; i < n; i++) {
        /* Scanning in index order, an equal value never displaces an
         * earlier index: ties go to the lower index, as `before` says. */
        if (v[i] > v[idx[0]]) {
            idx[0] = (uint32_t)i;
            sift_down(v, idx, k, 0);
        }
    }
}

void sae_topk_select(const float *v, size_t n, size_t k, uint32_t *idx)
{
    if (k > 0 && k * 16 <= n) {
        heap_select(v, n, k, idx);
        return;
    }
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
