/* The planted-dictionary generator of the examples (examples/common/
 * planted.c): seeded, unit-norm features, the firing rates it promises,
 * correlated pairs, the noise level, and the recovery measure on known
 * answers. SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/planted.h"
#include "testutil.h"

static ex_planted_spec spec(uint64_t seed)
{
    ex_planted_spec s = {32, 40, 20000, 4.0, 0.5, 5, 0.5, 0.01, seed};
    return s;
}

static void test_seeded_and_unit(void **state)
{
    (void)state;
    ex_planted_spec s = spec(7);
    ex_planted a, b, c;
    assert_true(ex_planted_make(&s, &a));
    assert_true(ex_planted_make(&s, &b));
    s.seed = 8;
    assert_true(ex_planted_make(&s, &c));
    assert_memory_equal(a.x, b.x, s.rows * s.dim * sizeof(float));
    assert_true(memcmp(a.x, c.x, s.rows * s.dim * sizeof(float)) != 0);
    for (size_t i = 0; i < s.n_features; i++) {
        double ss = 0.0;
        for (size_t k = 0; k < s.dim; k++)
            ss += (double)a.features[i * s.dim + k] * a.features[i * s.dim + k];
        assert_true(fabs(ss - 1.0) < 1e-5);
    }
    ex_planted_free(&a);
    ex_planted_free(&b);
    ex_planted_free(&c);
    ex_planted_spec empty = spec(1);
    empty.rows = 0;
    assert_false(ex_planted_make(&empty, &a));
    assert_null(a.x);
}

/* The measured mean L0 is the sum of the promised marginal rates (pairs
 * included) within sampling error, and the rates fall as a power law. */
static void test_rates(void **state)
{
    (void)state;
    ex_planted_spec s = spec(3);
    ex_planted p;
    assert_true(ex_planted_make(&s, &p));
    double want = 0.0;
    for (size_t i = 0; i < s.n_features; i++)
        want += p.freq[i];
    print_message("planted L0 %.4f, promised %.4f\n", p.l0, want);
    assert_true(fabs(p.l0 - want) < 0.05);
    /* Power law: p_i (i + 1)^alpha is the same constant away from pairs. */
    for (size_t i = 2 * s.n_pairs; i + 1 < s.n_features; i++)
        assert_true(fabs(p.freq[i] * sqrt((double)(i + 1)) -
                         p.freq[i + 1] * sqrt((double)(i + 2))) < 1e-12);
    /* A pair's partner fires more often than its own rate. */
    assert_true(p.freq[1] > p.freq[0] / sqrt(2.0) * 1.0001);
    ex_planted_free(&p);
}

/* With no features firing, rows are the noise: its measured std. */
static void test_noise(void **state)
{
    (void)state;
    ex_planted_spec s = spec(5);
    s.mean_l0 = 0.0;
    s.n_pairs = 0;
    s.noise_std = 0.3;
    ex_planted p;
    assert_true(ex_planted_make(&s, &p));
    double ss = 0.0;
    for (size_t i = 0; i < s.rows * s.dim; i++)
        ss += (double)p.x[i] * p.x[i];
    double sd = sqrt(ss / (double)(s.rows * s.dim));
    print_message("planted noise std %.4f (0.3)\n", sd);
    assert_true(fabs(sd - 0.3) < 0.005);
    assert_true(p.l0 == 0.0);
    ex_planted_free(&p);
}

/* The true dictionary recovers itself (cosine 1), scaled atoms too; a
 * dictionary of negated atoms recovers nothing above 0.9. */
static void test_recovery(void **state)
{
    (void)state;
    ex_planted_spec s = spec(9);
    s.rows = 10;
    ex_planted p;
    assert_true(ex_planted_make(&s, &p));
    size_t n = s.n_features * s.dim;
    float *atoms = malloc(n * sizeof *atoms);
    for (size_t i = 0; i < n; i++)
        atoms[i] = 3.0f * p.features[i];
    double cos, frac;
    ex_planted_recovery(&p, &s, atoms, s.n_features, 0.9, &cos, &frac);
    assert_true(fabs(cos - 1.0) < 1e-6 && frac == 1.0);
    for (size_t i = 0; i < n; i++)
        atoms[i] = -p.features[i];
    ex_planted_recovery(&p, &s, atoms, s.n_features, 0.9, &cos, &frac);
    assert_true(frac == 0.0 && cos < 0.9);
    free(atoms);
    ex_planted_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seeded_and_unit),
        cmocka_unit_test(test_rates),
        cmocka_unit_test(test_noise),
        cmocka_unit_test(test_recovery),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
