/* The trainer: workspace, training method, sampling and the training loop.
 * SPDX-License-Identifier: MIT */
#ifndef SAE_TRAIN_TRAINER_H
#define SAE_TRAIN_TRAINER_H

#include "core/matmul.h"
#include "core/rng.h"
#include "layers/activation.h"
#include "layers/sparse_dense.h"
#include "model/model.h"

/* AuxK's buffers (train/auxk.c; Gao et al. 2024), when auxk.k > 0. */
typedef struct sae_auxk_ws {
    size_t k;              /* auxk.k */
    uint32_t *dead;        /* [H] the dead units of this step */
    size_t n_dead;
    float *cand;           /* [H] a row's dead units' activations */
    uint32_t *sel;         /* [H] selection scratch */
    sae_sparse_code_t code; /* CSR of each row's aux units, [B x k] */
    float *dval;           /* [B x k] gradient at the aux units */
    float *res;            /* [B x D] the main residual e = x - x_hat */
    float *grad;           /* [B x D] e^, then dL_aux / de^ */
    double norm;           /* sum ||e_b||^2 */
    int frozen;            /* keep res and norm (gradient check) */
} sae_auxk_ws_t;

/* The one-hidden-layer pass's buffers (train/dense_pass.c allocates
 * them; the dense kind's methods, nsc and rank_order, use them too). */
typedef struct sae_dense_ws {
    float *h;          /* [B x H] code after activation, before dropout */
    float *hd;         /* [B x H] code after hidden dropout */
    float *drop_scale; /* [B x H] hidden dropout mask: 0 or 1/keep */
    float *out;        /* [B x D] output pre-activation, then its gradient */
    float *dh;         /* [B x H] gradient at the code */
    float *extra;      /* [B x H] user regularizers' gradient (if any) */
    float *row_coef;   /* [B] */
    float *col_coef;   /* [H] */
    /* The code operator's training state (code/code_op.h) and, when it
     * bounds the active units per row, the sparse path's buffers. */
    void *code_state;
    size_t max_active; /* most active units per row at any step, 0: dense */
    int sparse_path;   /* decode and backpropagate through active units only */
    float *dval;       /* [B x max_active] gradient at the active units */
    sae_auxk_ws_t aux;
    /* [H] the decoder rows' norms, when a term reads them (l1.decoder_norm). */
    float *atom_norm;
    /* [B x D] the batch times arch.input_scale (arch.normalize_input), or NULL. */
    float *xs;
    /* matryoshka.prefixes: the prefixes' buffers (train/matryoshka.h), or NULL. */
    struct sae_matryoshka_ws *mat;
    /* arch.bias_init: the estimate and Weiszfeld's sums, [D] doubles each. */
    double *bias_est, *bias_work;
} sae_dense_ws_t;

/* Every buffer a step needs, allocated once for the configured batch size:
 * what every pass uses here, each kind's own in its part (ws_init of
 * train/pass.h). */
typedef struct sae_workspace {
    size_t batch;      /* capacity in rows */
    float *xin;        /* [B x D] corrupted input */
    float *gather;     /* [B x D] rows gathered from the data set */
    float *grad;       /* [n_weights] */
    double *row_sum;   /* [B] statistics of the code */
    double *col_sum;   /* [H] */
    double *col_active; /* [H] rows in which each unit was active */
    /* Unit activity over training (backprop steps): rows in which each unit
     * fired, and rows since it last fired (Gao et al.'s dead latents). */
    uint64_t *fired;   /* [H] */
    uint64_t *idle;    /* [H] */
    uint64_t rows_seen;
    sae_reduce_scratch_t scr; /* threads x max(D, H) doubles */
    sae_dense_ws_t dense;   /* the one-hidden-layer pass's (train/dense_pass.c) */
    sae_mm_t *mm;           /* its products' engine, NULL: CBLAS (train/precision.c) */
    struct sae_net_ws *net; /* a layered model's (train/layered_pass.c) */
    const struct sae_pass *pass; /* the model kind's pass (train/pass.h) */
    const sae_model_t *model;    /* whose workspace this is */
} sae_workspace_t;

sae_status_t sae_workspace_init(sae_workspace_t *ws, const sae_model_t *m, size_t batch,
                                int threads, char *errbuf);
void sae_workspace_release(sae_workspace_t *ws);

enum { SAE_DATA_NONE = 0, SAE_DATA_MEMORY = 1, SAE_DATA_SOURCE = 2 };
/* Per-trainer state of the training recipes (issue 9), in one place so
 * that a checkpoint saves it whole. Fields:
 *   resample_events  dead-unit resamplings done (train/resample.c)
 *   resampled_units  units given new directions by them, in all
 *   last_resample    the step after which the last one ran (0: none)
 * Nothing else is kept: the rate schedule and the sparsity warm-up read
 * t->steps only, resampling draws from t->rng and reads ws.idle, and the
 * input scale lives in the model's config (arch.input_scale). */
typedef struct sae_recipe_state {
    uint64_t resample_events;
    uint64_t resampled_units;
    uint64_t last_resample;
} sae_recipe_state_t;

struct sae_trainer {
    sae_model_t *model;
    sae_workspace_t ws;
    /* How batches become updates (train/method.h), and its own state. */
    const struct sae_method *method;
    void *method_state;
    sae_rng_t rng; /* corruption and sampling */
    int threads;
    uint64_t steps;
    uint64_t epochs;
    uint32_t *order; /* permutation of data rows (shuffle sampling) */
    size_t order_len;
    /* The data position, kept across fit calls so that a fit (or a
     * checkpoint's resume) continues the epoch the last one left. */
    int data_kind;       /* SAE_DATA_NONE, _MEMORY or _SOURCE: what pos counts in */
    uint64_t pos;        /* rows of the current epoch trained on; 0: not begun */
    uint64_t data_rows;  /* rows of the in-memory data the epoch runs over */
    sae_stats_t epoch_acc; /* the current epoch's row-weighted sums */
    /* The last data source (sae_trainer_fit_source), for its cursor. */
    sae_source_ops_t src;
    void *src_user;
    int has_src;
    /* Set by a checkpoint's load: the next source fit first restores the
     * source to pos (from the cursor, or by replaying the epoch). */
    int src_restore;
    unsigned char *src_cursor;
    uint64_t src_cursor_len;
    /* What the checkpoint's table (train/state.c) packs from fields of
     * other types before a save and unpacks after a load. */
    struct sae_state_pack {
        uint64_t position[4];  /* data_kind, pos, data_rows, source cursor held */
        double sums[5 + SAE_MAX_TERMS]; /* epoch: loss, recon, mean act., l0, lr, terms */
        uint64_t counts[3];    /* epoch: samples, n_terms, step */
        uint32_t terms[SAE_MAX_TERMS]; /* epoch: the terms' ids (sparsity/terms.h) */
        uint64_t model[1];     /* bias_init_pending of the dense kind */
    } pack;
    sae_recipe_state_t recipe;
    /* The data-parallel reducer (train/reduce.h), NULL: one process. */
    struct sae_reduce *red;
    sae_progress_fn callback;
    void *callback_data;
    char errmsg[SAE_ERRMSG_SIZE];
};

/* Applies the config's noise and input dropout to x into ws->xin; returns
 * the buffer to use as input (x itself when there is no corruption). */
const float *sae_corrupt_input(sae_trainer_t *t, const float *x, size_t rows);
/* Hidden dropout on the decoder path: ws->hd and ws->drop_scale from ws->h.
 * Returns the code the decoder reads (ws->h when keep == 1). */
const float *sae_corrupt_hidden(sae_trainer_t *t, size_t rows);

/* Forward (and backward when grad) of the objective on rows of x.
 * corrupt: apply training corruption. Fills stats (terms, means). When grad,
 * ws->grad receives the gradient of everything but weight decay. */
sae_status_t sae_forward_backward(sae_trainer_t *t, const float *x, size_t rows, int corrupt,
                                  int grad, sae_stats_t *stats);

/* Sets decoder.bias from x as arch.bias_init says when the model still
 * waits for it (at most SAE_BIAS_INIT_MAX_ROWS rows, evenly spaced). */
void sae_trainer_init_bias(sae_trainer_t *t, const float *x, size_t rows);

/* The batch loop's parts, shared by the in-memory fit and the source fit
 * (train/source.c). use: the data is now of this kind (and row count); a
 * change begins a new epoch. step: the method's step on n rows, the epoch's
 * sums, pos, the STEP callback. epoch_end: epochs, the method's epoch_end,
 * the EPOCH callback, pos = 0. */
void sae_loop_use(sae_trainer_t *t, int kind, uint64_t rows);
sae_status_t sae_loop_step(sae_trainer_t *t, const float *batch, size_t n, uint64_t total_steps);
sae_status_t sae_loop_epoch_end(sae_trainer_t *t, uint64_t total_steps);

#endif
