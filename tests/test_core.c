/* Core: CBLAS path against the naive reference, RNG determinism, the fast
 * exp/log against libm, top-k selection. SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/fastmath.h"
#include "core/gemm.h"
#include "core/rng.h"
#include "core/select.h"
#include "testutil.h"

static void check_gemm(int ta, int tb, size_t m, size_t n, size_t k, float beta)
{
    size_t lda = ta ? m : k, ldb = tb ? k : n;
    float *a = malloc(m * k * sizeof *a), *b = malloc(k * n * sizeof *b);
    float *c1 = malloc(m * n * sizeof *c1), *c2 = malloc(m * n * sizeof *c2);
    tu_fill_uniform(a, m * k, -1, 1, 1);
    tu_fill_uniform(b, k * n, -1, 1, 2);
    tu_fill_uniform(c1, m * n, -1, 1, 3);
    memcpy(c2, c1, m * n * sizeof *c1);
    sae_gemm(ta, tb, m, n, k, 0.75f, a, lda, b, ldb, beta, c1, n);
    sae_gemm_ref(ta, tb, m, n, k, 0.75f, a, lda, b, ldb, beta, c2, n);
    for (size_t i = 0; i < m * n; i++)
        assert_true(fabsf(c1[i] - c2[i]) <= 1e-4f * (1.0f + (float)k * 0.05f));
    free(a);
    free(b);
    free(c1);
    free(c2);
}

static void test_gemm_matches_reference(void **state)
{
    (void)state;
    const size_t shapes[][3] = {{1, 1, 1}, {7, 5, 3}, {33, 17, 65}, {64, 100, 31}};
    for (size_t s = 0; s < 4; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                check_gemm(ta, tb, shapes[s][0], shapes[s][1], shapes[s][2], 0.0f);
                check_gemm(ta, tb, shapes[s][0], shapes[s][1], shapes[s][2], 1.0f);
            }
}

static void test_rng_deterministic(void **state)
{
    (void)state;
    sae_rng_t a, b, c;
    sae_rng_seed(&a, 42);
    sae_rng_seed(&b, 42);
    sae_rng_seed(&c, 43);
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = sae_rng_next(&a);
        assert_true(x == sae_rng_next(&b));
        differ |= x != sae_rng_next(&c);
    }
    assert_true(differ);
    /* Moments of the normal and uniform draws. */
    double s = 0, s2 = 0, u = 0;
    for (int i = 0; i < 200000; i++) {
        double z = sae_rng_normal(&a);
        s += z;
        s2 += z * z;
        float v = sae_rng_uniform(&a);
        assert_true(v >= 0.0f && v < 1.0f);
        u += v;
        assert_true(sae_rng_below(&a, 7) < 7);
    }
    assert_true(fabs(s / 200000) < 0.01);
    assert_true(fabs(s2 / 200000 - 1.0) < 0.02);
    assert_true(fabs(u / 200000 - 0.5) < 0.005);
}

static void test_fast_exp_accuracy(void **state)
{
    (void)state;
    for (float x = -80.0f; x < 80.0f; x += 0.01337f) {
        double ref = exp((double)x);
        assert_true(fabs((double)sae_fast_expf(x) - ref) <= 4e-7 * ref);
    }
    for (float e = 0.0f; e <= 1.0f; e += 0.001f)
        assert_true(fabs((double)sae_log1p_unit(e) - log1p((double)e)) <= 2e-7);
    assert_true(sae_fast_sigmoid(-200.0f) >= 0.0f && sae_fast_sigmoid(-200.0f) < 1e-30f);
    assert_true(sae_fast_sigmoid(200.0f) == 1.0f);
    assert_true(fabsf(sae_fast_tanh(0.5f) - tanhf(0.5f)) < 1e-6f);
}

static int cmp_desc(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

static void test_topk_select(void **state)
{
    (void)state;
    enum { N = 257 };
    float v[N], sorted[N];
    uint32_t idx[N];
    for (uint64_t seed = 0; seed < 20; seed++) {
        tu_fill_uniform(v, N, 0, 1, seed);
        if (seed % 3 == 0)
            for (int i = 0; i < N; i++)
                v[i] = floorf(v[i] * 8.0f); /* many ties */
        memcpy(sorted, v, sizeof v);
        qsort(sorted, N, sizeof(float), cmp_desc);
        for (size_t k = 1; k <= N; k += 37) {
            sae_topk_select(v, N, k, idx);
            uint8_t seen[N] = {0};
            float kth = sorted[k - 1];
            size_t strictly_above = 0, at_kth = 0;
            for (size_t i = 0; i < k; i++) {
                assert_false(seen[idx[i]]);
                seen[idx[i]] = 1;
                assert_true(v[idx[i]] >= kth);
                strictly_above += v[idx[i]] > kth;
                at_kth += v[idx[i]] == kth;
            }
            /* Among tied values at the boundary, the lowest indices win. */
            for (uint32_t j = 0; j < N; j++)
                if (!seen[j] && v[j] == kth)
                    for (size_t i = 0; i < k; i++)
                        if (v[idx[i]] == kth)
                            assert_true(idx[i] < j);
            assert_int_equal(strictly_above + at_kth, k);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_matches_reference),
        cmocka_unit_test(test_rng_deterministic),
        cmocka_unit_test(test_fast_exp_accuracy),
        cmocka_unit_test(test_topk_select),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
