/* SPDX-License-Identifier: MIT */
/* Pairwise L1 distances and the "goodness" score of binary codes used by
 * the universal sparse encoder experiment (E1). */
#ifndef EX_GOODNESS_H
#define EX_GOODNESS_H

#include <stddef.h>
#include <stdint.h>

/* dist[i*n + j] = sum_k |x[i,k] - x[j,k]| for the n rows of x [n x dim]. */
void ex_l1_matrix_f32(const float *x, size_t n, size_t dim, double *dist);
/* The same for rows of bytes (binary codes: the Hamming distance). */
void ex_l1_matrix_u8(const uint8_t *x, size_t n, size_t dim, double *dist);

/* The goodness score of E1 from an n x n distance matrix and the rows'
 * labels: (sum_between / 10) / sum_within, see goodness.c. NaN when no two
 * rows share a class or every same-class distance is 0. */
double ex_goodness_score(const double *dist, const uint8_t *labels, size_t n);

#endif /* EX_GOODNESS_H */
