/* The objective's terms in double: each built-in code term's double form
 * (terms.h's sae_term_double_fn, beside its fused float one in the same
 * file) and weight decay. They are the double-precision gradient check's
 * second implementation, written from the formulas with their own
 * statistics, so they share no arithmetic with the float path.
 * SPDX-License-Identifier: MIT */
#ifndef SAE_SPARSITY_TERMS_DOUBLE_H
#define SAE_SPARSITY_TERMS_DOUBLE_H

#include <stddef.h>

#include "config/config.h"

double sae_kl_double(const sae_config_t *cfg, const double *h, size_t rows, size_t units,
                     double *row_c, double *col_c, double *sign_c);
/* The squashed KL (kl.squash = sigmoid) in double: its gradient, not of the
 * coefficient form, is added into grad [rows x units]. */
double sae_kl_sigmoid_double(const sae_config_t *cfg, const double *h, size_t rows,
                             size_t units, double *grad);
double sae_l1_double(const sae_config_t *cfg, const double *h, size_t rows, size_t units,
                     double *row_c, double *col_c, double *sign_c);
/* l0.c: its gradient with respect to h is zero wherever it exists. */
double sae_l0_double(const sae_config_t *cfg, const double *h, size_t rows, size_t units,
                     double *row_c, double *col_c, double *sign_c);
/* activity.c */
double sae_sample_double(const sae_config_t *cfg, const double *h, size_t rows, size_t units,
                         double *row_c, double *col_c, double *sign_c);
double sae_batch_double(const sae_config_t *cfg, const double *h, size_t rows, size_t units,
                        double *row_c, double *col_c, double *sign_c);

/* l1_decoder_norm.c: with every atom norm 1 (its double form models the
 * code side only; the gradient check of the atoms is the float one). */
double sae_l1_decnorm_double(const sae_config_t *cfg, const double *h, size_t rows,
                             size_t units, double *row_c, double *col_c, double *sign_c);

/* Weight decay, the term on the weights (Ng, CS294A notes, sec. 2.1):
 * returns (lambda/2) sum w_k^2 over n entries and, when grad is not NULL,
 * adds its gradient lambda w_k to grad[k]. */
double sae_l2_double(double lambda, const double *w, size_t n, double *grad);

#endif
