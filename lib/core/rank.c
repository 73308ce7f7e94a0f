/* Ranking of a code row's units, largest value first. A heap sort: in
 * place and O(n log n), so a training step neither allocates (glibc's
 * qsort takes heap memory for arrays above 1 KiB) nor recurses; the order
 * is total, so the result does not depend on the algorithm.
 * SPDX-License-Identifier: MIT */
#include "core/rank.h"

/* a ranks before b: z descending, then the higher unit first, as
 * RankOrderedAutoencoder.py's np.argsort(z, kind='mergesort')[::-1] (a
 * stable ascending sort, lower index first among equals, read backwards). */
static int before(const sae_ranked_t *a, const sae_ranked_t *b)
{
    return a->z > b->z || (a->z == b->z && a->unit > b->unit);
}

/* Sifts v[i] down the heap v[0..n) whose root is the entry ranked last. */
static void sift_down(sae_ranked_t *v, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, last = i;
        if (l < n && before(&v[last], &v[l]))
            last = l;
        if (r < n && before(&v[last], &v[r]))
            last = r;
        if (last == i)
            return;
        sae_ranked_t tmp = v[i];
        v[i] = v[last];
        v[last] = tmp;
        i = last;
    }
}

size_t sae_rank_units(const float *z, size_t h, int positive_only, sae_ranked_t *out)
{
    size_t n = 0;
    for (size_t j = 0; j < h; j++)
        if (!positive_only || z[j] > 0.0f) {
            out[n].z = z[j];
            out[n].unit = (uint32_t)j;
            n++;
        }
    for (size_t i = n / 2; i-- > 0;)
        sift_down(out, n, i);
    for (size_t end = n; end > 1; end--) {
        sae_ranked_t tmp = out[0];
        out[0] = out[end - 1];
        out[end - 1] = tmp;
        sift_down(out, end - 1, 0);
    }
    return n;
}
