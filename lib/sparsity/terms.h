/* The terms of the objective: one table saying, for each, where it acts,
 * which config key weighs it, the name sae_stats_t reports it under and,
 * for a term at the code, which gradient coefficients it writes; the one
 * function that runs the code terms of a code, and the one that reports
 * them. The user regularizers of a config follow the built-ins, id
 * SAE_N_BUILTIN_TERMS + their index in the stack. SPDX-License-Identifier: MIT */
#ifndef SAE_SPARSITY_TERMS_H
#define SAE_SPARSITY_TERMS_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "layers/activation.h"
#include "sparsity/builtin.h"

typedef enum sae_term_id {
    SAE_TERM_RECON,  /* reported as stats->recon_loss */
    SAE_TERM_KL,
    SAE_TERM_L1,
    SAE_TERM_SAMPLE,
    SAE_TERM_BATCH,
    SAE_TERM_AUXK,
    SAE_TERM_L2,
    SAE_TERM_L0,
    SAE_TERM_GATED_AUX,
    SAE_TERM_L1_DECNORM, /* l1 with l1.decoder_norm: sparsity/l1_decoder_norm.c */
    SAE_TERM_KL_SIGMOID, /* kl with kl.squash = sigmoid: sparsity/kl.c */
    SAE_N_BUILTIN_TERMS
} sae_term_id_t;

/* Every id a config can use, user regularizers included. */
#define SAE_TERMS_MAX (SAE_N_BUILTIN_TERMS + SAE_MAX_USER_REGS)

typedef enum sae_term_site {
    SAE_TERM_AT_CODE,    /* a function of the code h [rows x units] */
    SAE_TERM_ON_WEIGHTS, /* of the parameters (the optimizer's pass) */
    SAE_TERM_AT_OUTPUT   /* of the output or its residual */
} sae_term_site_t;

/* The gradient a code term writes, as activation.h's
 * sae_code_grad_terms_t carries it. */
enum {
    SAE_COEF_ROW = 1u << 0,  /* one coefficient per row */
    SAE_COEF_COL = 1u << 1,  /* one per column */
    SAE_COEF_SIGN = 1u << 2, /* one for sign(h) */
    SAE_COEF_DENSE = 1u << 3, /* a [rows x units] gradient (user terms and
                                 the built-ins with a dense hook) */
    SAE_COEF_STEP = 1u << 4   /* one for each H(h) of the operator's step
                                 (needs an operator with has_step) */
};

/* The term has no weight key (weight 1). */
#define SAE_TERM_NO_WEIGHT ((sae_param_t)0)

/* The same built-in code term in double, from the code h [rows x units]
 * itself (its own statistics, libm): the double-precision gradient check's
 * second implementation. Returns the unweighted penalty and adds its
 * unweighted gradient dP/dh_bj = row_c[b] + col_c[j] + *sign_c sgn(h_bj)
 * into the coefficients its flags name (the others are not touched). */
typedef double (*sae_term_double_fn)(const sae_config_t *cfg, const double *h, size_t rows,
                                     size_t units, double *row_c, double *col_c,
                                     double *sign_c);

/* A code term that also reads the decoder's atoms (rows [units x dim], their
 * norms in st->atom_norm): adds weight times its gradient with respect to
 * the atoms into grad [units x dim]. */
typedef void (*sae_term_atoms_fn)(const sae_config_t *cfg, const sae_code_stats_t *st,
                                  size_t rows, size_t units, float weight, const float *atoms,
                                  size_t dim, float *grad);

/* The double form of a term with a dense hook: returns the unweighted
 * penalty of h [rows x units] and adds its unweighted gradient into grad
 * (same shape). */
typedef double (*sae_term_dense_double_fn)(const sae_config_t *cfg, const double *h,
                                           size_t rows, size_t units, double *grad);

typedef struct sae_term {
    const char *name;      /* in sae_stats_t's term_name */
    sae_term_site_t site;
    sae_param_t weight;    /* the key of its weight, or SAE_TERM_NO_WEIGHT */
    unsigned coefs;        /* SAE_COEF_*: what a code term writes */
    sae_term_fused_fn fused; /* a built-in code term; NULL for the others */
    sae_term_double_fn penalty_d; /* its double form; NULL for the others */
    /* A bool key that switches between two rows sharing one weight (l1 and
     * l1 with decoder norms): the row is on only when gate's value is
     * gate_on. 0: no gate. */
    sae_param_t gate;
    int gate_on;
    /* Its gradient on the decoder's atoms (NULL: the term does not read
     * them); the pass then fills st->atom_norm before the code terms. */
    sae_term_atoms_fn atoms_grad;
    /* 1: a sparsity term whose weight rises over sparsity.warmup_steps. */
    int warms_up;
    /* A code term whose gradient is not of the coefficient form (each
     * element has its own factor, as the squashed KL's sigmoid'(h_bj)):
     * it reads the code itself and adds its gradient into the dense buffer
     * (coefs SAE_COEF_DENSE); fused and penalty_d are then NULL and
     * dense_d is its double form. NULL for the others. */
    sae_term_dense_fn dense;
    sae_term_dense_double_fn dense_d;
} sae_term_t;

extern const sae_term_t sae_terms[SAE_N_BUILTIN_TERMS];

/* Ids from SAE_N_BUILTIN_TERMS on: cfg's user regularizers. */
size_t sae_terms_count(const sae_config_t *cfg);
const char *sae_term_name(const sae_config_t *cfg, size_t id);
/* The term's weight in cfg as the code terms use it (0 = off). */
float sae_term_weight(const sae_config_t *cfg, size_t id);
/* 1 for a built-in term computed at the code (a fused or a dense one). */
int sae_term_at_code(size_t id);
/* SAE_COEF_* of every code term cfg turns on. */
unsigned sae_terms_code_coefs(const sae_config_t *cfg);

/* Where sae_terms_at_code's gradients go. */
typedef struct sae_term_bufs {
    float *row_coef; /* [rows] */
    float *col_coef; /* [units] */
    float *extra;    /* [rows x units]: user regularizers add their gradient */
    /* extra is the gradient at the code itself: it is neither zeroed nor
     * handed on (the caller's gradient already holds the user terms). */
    int extra_is_grad;
    /* A built-in code term the code operator computes itself, by its
     * weight key (code_op.h's own_penalty); 0: none. */
    sae_param_t skip;
    /* 1 - the sparsity warm-up's factor at this step
     * (sae_terms_warmup_factor): the share of the warming terms' weights
     * still missing; 0 (the zeroed default) = full weights. */
    float warmup_left;
} sae_term_bufs_t;

/* The built-in term weighed by key, or SAE_N_BUILTIN_TERMS. */
size_t sae_term_by_weight(sae_param_t key);

/* Runs every code term on the code h [rows x units] with statistics cs:
 * adds each weighted penalty into sums[id]. When grad, the built-ins'
 * coefficients go into the zeroed bufs and the user regularizers' into
 * bufs->extra, and out gets the coefficient arrays in use (NULL for the
 * others; drop_scale untouched). A user penalty that is not finite is
 * SAE_ERR_DIVERGED, said in errbuf. */
sae_status_t sae_terms_at_code(const sae_config_t *cfg, const sae_code_stats_t *cs,
                               const float *h, size_t rows, size_t units,
                               const sae_term_bufs_t *bufs, int grad, sae_code_grad_terms_t *out,
                               double *sums, char *errbuf);

/* min(1, step / sparsity.warmup_steps) (1 when the key is 0): the factor
 * of the weights of the terms that warm up at training step `step`. */
float sae_terms_warmup_factor(const sae_config_t *cfg, uint64_t step);

/* 1 when a term cfg turns on reads the decoder's atoms (atoms_grad). */
int sae_terms_read_atoms(const sae_config_t *cfg);
/* The norms of the atoms' rows [units x dim] into norm [units]. */
void sae_terms_atom_norms(const float *atoms, size_t units, size_t dim, float *norm);
/* Adds the gradients on the atoms of every term that reads them (st as
 * sae_terms_at_code had it, st->atom_norm filled) into grad [units x dim]. */
void sae_terms_atoms_grad(const sae_config_t *cfg, const sae_code_stats_t *st, size_t rows,
                          size_t units, const float *atoms, size_t dim, float warmup_left,
                          float *grad);

/* Reports sums[id] of the code terms: the built-ins that are on in table
 * order, then the user regularizers. */
void sae_terms_report_code(const sae_config_t *cfg, const double *sums, sae_stats_t *s);
/* Reports one built-in term (RECON: stats->recon_loss, added to the loss). */
void sae_terms_report_one(sae_stats_t *s, sae_term_id_t id, double value);

/* Appends a term to s (while there is room) and adds it to the loss. */
void sae_stats_add_term(sae_stats_t *s, const char *name, double value);
/* Clears s for a pass over rows. */
void sae_stats_start(sae_stats_t *s, size_t rows);
/* mean_activation and l0 of a code [rows x units] from its statistics. */
void sae_stats_code(sae_stats_t *s, const sae_code_stats_t *cs, size_t rows, size_t units);

#endif
