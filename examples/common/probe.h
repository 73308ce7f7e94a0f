/* SPDX-License-Identifier: MIT */
/* A linear probe: multinomial softmax regression trained with minibatch
 * SGD, to measure how much of the class a representation (pixels, a code)
 * makes linearly readable. E5 runs it on the codes of each autoencoder.
 *
 * Each feature is standardised on the training rows, z = (x - mean) /
 * sqrt(max(var, floor)), floor = EX_PROBE_VAR_FLOOR times the median
 * variance of the features (their mean when the median is 0), so that one
 * rate suits pixels in [0, 1] and codes of any scale, and a feature lit in
 * a handful of training rows (a corner pixel, a nearly dead unit) is not
 * blown up to huge values. A constant feature is
 * then 0. The model is p(c | z) = softmax(W z + b)_c, W [classes x dim]
 * starting at 0, trained on the mean cross-entropy plus (l2 / 2) ||W||^2
 * with plain SGD (no momentum): each epoch visits the rows in a fresh
 * seeded order in batches, the rate falling linearly from lr in the first
 * epoch to lr / 10 in the last. */
#ifndef EX_PROBE_H
#define EX_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define EX_PROBE_VAR_FLOOR 0.01

typedef struct ex_probe_opts {
    size_t epochs; /* passes over the training rows, >= 1 */
    size_t batch;  /* rows per step, >= 1 */
    double lr;     /* rate of the first epoch, > 0 */
    double l2;     /* weight decay on W (not b), >= 0 */
    uint64_t seed; /* order of the rows */
} ex_probe_opts;

typedef struct ex_probe {
    size_t dim, classes;
    float *mean;       /* [dim] */
    float *scale;      /* [dim]: 1 / sqrt(max(var, floor)) */
    float *w;          /* [classes x dim] */
    float *b;          /* [classes] */
    double train_loss; /* mean cross-entropy on the training rows after training */
} ex_probe;

/* The settings E5 uses: 30 epochs, batches of 100, lr 0.1, l2 1e-4. */
ex_probe_opts ex_probe_defaults(uint64_t seed);

/* Trains a probe on x [rows x dim] with labels in 0..classes-1. Errors:
 * EX_ERR_ARG (NULL pointers, rows, dim or classes 0, classes above 256,
 * bad options), EX_ERR_RANGE (a label >= classes, a non-finite value),
 * EX_ERR_NOMEM. On failure *p is zeroed. */
ex_status ex_probe_train(ex_probe *p, const float *x, const uint8_t *labels, size_t rows,
                         size_t dim, size_t classes, const ex_probe_opts *opts);

/* The most probable class of each row of x [rows x p->dim] (ties to the
 * lower class). */
void ex_probe_predict(const ex_probe *p, const float *x, size_t rows, uint8_t *pred);

/* Fraction of the rows whose predicted class is their label; 0 for rows 0. */
double ex_probe_accuracy(const ex_probe *p, const float *x, const uint8_t *labels, size_t rows);

/* Mean cross-entropy of the rows (natural log). */
double ex_probe_loss(const ex_probe *p, const float *x, const uint8_t *labels, size_t rows);

/* Frees the buffers and zeroes *p; NULL is fine. */
void ex_probe_free(ex_probe *p);

#endif /* EX_PROBE_H */
