/* SPDX-License-Identifier: MIT */
/* A planted dictionary: synthetic data whose true sparse features are
 * known, for measuring whether an SAE finds them (the idea of SAELens's
 * synthetic benchmark, and of Sharkey, Braun & Millidge's 2022 toy data).
 * Each row is
 *     x = sum_i a_i f_i + noise
 * over n unit-norm random directions f_i in R^dim (Gaussian, normalised),
 * where feature i fires independently with probability p_i following a
 * power law p_i ~ (i + 1)^-alpha, scaled so that the expected number of
 * firing features per row is mean_l0; the second feature of each of the
 * first n_pairs pairs (2k, 2k+1) also fires with probability pair_prob
 * whenever the first does (correlated features); a firing feature's
 * magnitude a_i is uniform in [0.5, 1.5]; noise is Gaussian with standard
 * deviation noise_std per coordinate. Everything comes from one seed. */
#ifndef EX_PLANTED_H
#define EX_PLANTED_H

#include <stddef.h>
#include <stdint.h>

typedef struct ex_planted_spec {
    size_t dim;        /* D */
    size_t n_features; /* the true dictionary's size */
    size_t rows;
    double mean_l0;    /* expected firing features per row, before pairs */
    double alpha;      /* power-law exponent of the firing frequencies */
    size_t n_pairs;    /* correlated pairs (2k, 2k+1), k < n_pairs */
    double pair_prob;  /* P(2k+1 fires | 2k fires), besides its own rate */
    double noise_std;
    uint64_t seed;
} ex_planted_spec;

typedef struct ex_planted {
    float *x;        /* [rows x dim] */
    float *features; /* [n_features x dim], unit rows */
    double *freq;    /* [n_features] firing probability (marginal of the pair
                        partners included) */
    double l0;       /* mean firing features per row, measured */
} ex_planted;

/* Fills *out (buffers malloc'ed; ex_planted_free releases them). Returns 0
 * when memory runs out or the spec is empty (nothing allocated then). */
int ex_planted_make(const ex_planted_spec *spec, ex_planted *out);
void ex_planted_free(ex_planted *p);

/* Recovery of the true features by a learned dictionary atoms [units x
 * dim] (rows need not be unit-norm): for each true feature, the largest
 * cosine with any atom; their mean into *mean_max_cos and the fraction
 * above threshold into *fraction_above. */
void ex_planted_recovery(const ex_planted *p, const ex_planted_spec *spec, const float *atoms,
                         size_t units, double threshold, double *mean_max_cos,
                         double *fraction_above);

#endif /* EX_PLANTED_H */
