/* Full-batch L-BFGS as a training method (optim.type = lbfgs): Nocedal's
 * limited-memory BFGS ("Updating quasi-Newton matrices with limited
 * storage", Math. Comp. 1980) through liblbfgs (Okazaki's C port, Debian
 * package liblbfgs-dev), which owns the loop; this file is the adapter
 * between its double vectors and the model's float parameter block.
 *
 * A sparse autoencoder in the UFLDL form minimises its objective with
 * L-BFGS over the whole data set: the KL term's rho_hat is the mean
 * activation over all m samples, and a line search needs the same function
 * at every evaluation. So one evaluation here is one forward/backward pass
 * (sae_forward_backward) over every row at once, without corruption, plus
 * weight decay; the workspace is widened to the row count for the duration
 * of the fit when train.batch_size is smaller. L-BFGS iterates in double
 * (its memory vectors and line search); the objective and gradient are the
 * library's float ones, accumulated in double where the pass does.
 * SPDX-License-Identifier: MIT */
#include "train/lbfgs.h"

#include "sparsity/terms.h"
#include "train/method.h"
#include "train/trainer.h"
#include "train/schedule.h"

/* What evaluation reports: optim.lr under the schedule, as backprop. */
static double rate(const sae_trainer_t *t)
{
    const sae_config_t *cfg = t->model->cfg;
    return sae_schedule_rate(cfg, sae_cfg_float(cfg, SAE_P_LEARNING_RATE), t->steps);
}

static sae_status_t evaluate_chunk(sae_trainer_t *t, const float *x, size_t rows,
                                   sae_stats_t *stats)
{
    return sae_forward_backward(t, x, rows, 0, 0, stats);
}

#ifdef SAE_HAVE_LBFGS

#include <lbfgs.h>
#include <limits.h>
#include <math.h>
#include <string.h>

/* What an evaluation returns when the objective is not finite: a value no
 * real objective reaches, which makes the line search shorten its step
 * (liblbfgs' interpolation copes with large values, not with Inf or NaN). */
#define NONFINITE_VALUE 1e300

typedef struct lbfgs_run {
    sae_trainer_t *t;
    const float *x;
    size_t rows;
    uint64_t iterations;  /* asked for */
    uint64_t done;        /* completed */
    sae_stats_t last;     /* statistics of the last evaluation */
    int last_finite;      /* whether the last evaluation was finite */
    sae_status_t failure; /* an evaluation's error other than divergence */
    int cancelled;
} lbfgs_run_t;

static void to_model(sae_model_t *m, const lbfgsfloatval_t *p)
{
    for (size_t k = 0; k < m->n_weights; k++)
        m->weights[k] = (float)p[k];
}

static lbfgsfloatval_t evaluate(void *instance, const lbfgsfloatval_t *p, lbfgsfloatval_t *g,
                                const int n, const lbfgsfloatval_t step)
{
    (void)step;
    lbfgs_run_t *run = instance;
    sae_trainer_t *t = run->t;
    sae_model_t *m = t->model;
    to_model(m, p);
    sae_stats_t *s = &run->last;
    sae_status_t st = sae_forward_backward(t, run->x, run->rows, 0, 1, s);
    if (st != SAE_OK) {
        run->last_finite = 0;
        if (st != SAE_ERR_DIVERGED && run->failure == SAE_OK)
            run->failure = st; /* t->errmsg says why */
        memset(g, 0, (size_t)n * sizeof *g);
        return NONFINITE_VALUE;
    }
    if (sae_cfg_float(m->cfg, SAE_P_WEIGHT_DECAY) > 0.0) {
        sae_terms_report_one(s, SAE_TERM_L2, sae_backprop_l2_penalty(t));
        sae_backprop_l2_grad(t, t->ws.grad);
    }
    run->last_finite = isfinite(s->loss);
    const float *fg = t->ws.grad;
    for (int k = 0; k < n; k++)
        g[k] = (lbfgsfloatval_t)fg[k];
    return run->last_finite ? (lbfgsfloatval_t)s->loss : NONFINITE_VALUE;
}

/* Called by liblbfgs after each iteration, at the accepted point: the last
 * evaluation of a line search is the one it accepts, so run->last holds
 * that point's statistics. */
static int progress(void *instance, const lbfgsfloatval_t *p, const lbfgsfloatval_t *g,
                    const lbfgsfloatval_t fx, const lbfgsfloatval_t xnorm,
                    const lbfgsfloatval_t gnorm, const lbfgsfloatval_t step, int n, int k, int ls)
{
    (void)g, (void)fx, (void)xnorm, (void)gnorm, (void)n, (void)k, (void)ls;
    lbfgs_run_t *run = instance;
    sae_trainer_t *t = run->t;
    to_model(t->model, p); /* the callback may read or save the model */
    run->done++;
    t->steps++;
    t->epochs++;
    sae_stats_t s = run->last;
    s.step = t->steps;
    s.epoch = t->epochs;
    s.total_steps = run->iterations;
    s.learning_rate = step; /* the line search's step along the direction */
    if (t->callback && (t->callback(SAE_PROGRESS_STEP, &s, t->callback_data) ||
                        t->callback(SAE_PROGRESS_EPOCH, &s, t->callback_data))) {
        run->cancelled = 1;
        return 1;
    }
    return 0;
}

/* Corruption would make every evaluation a different function. */
static int deterministic(const sae_config_t *cfg)
{
    return sae_cfg_float(cfg, SAE_P_NOISE_STDDEV) == 0.0 &&
           sae_cfg_float(cfg, SAE_P_INPUT_KEEP) == 1.0 &&
           sae_cfg_float(cfg, SAE_P_HIDDEN_KEEP) == 1.0;
}

static sae_status_t minimise(lbfgs_run_t *run)
{
    sae_trainer_t *t = run->t;
    sae_model_t *m = t->model;
    int n = (int)m->n_weights; /* a multiple of 16, as liblbfgs' SSE path needs */
    lbfgsfloatval_t *p = lbfgs_malloc(n);
    if (!p)
        return sae_fail(t->errmsg, SAE_ERR_NOMEM, "lbfgs: cannot allocate %d parameters", n);
    for (int k = 0; k < n; k++)
        p[k] = (lbfgsfloatval_t)m->weights[k];

    lbfgs_parameter_t param;
    lbfgs_parameter_init(&param);
    param.m = (int)sae_cfg_int(m->cfg, SAE_P_LBFGS_MEMORY);
    param.epsilon = sae_cfg_float(m->cfg, SAE_P_LBFGS_TOLERANCE);
    param.max_iterations = (int)run->iterations;
    int ret = lbfgs(n, p, NULL, evaluate, progress, run, &param);
    /* liblbfgs leaves p at the last accepted point (it reverts a failed
     * line search), not necessarily where it last evaluated. */
    to_model(m, p);
    lbfgs_free(p);

    if (run->failure != SAE_OK)
        return run->failure;
    if (run->cancelled)
        return sae_fail(t->errmsg, SAE_ERR_CANCELLED,
                        "training cancelled by the callback after L-BFGS iteration %llu",
                        (unsigned long long)run->done);
    if (ret == LBFGSERR_OUTOFMEMORY)
        return sae_fail(t->errmsg, SAE_ERR_NOMEM, "lbfgs: out of memory (lbfgs.memory = %d)",
                        param.m);
    if (!run->last_finite && (run->done == 0 || ret < 0))
        return sae_fail(t->errmsg, SAE_ERR_DIVERGED,
                        "the objective became non-finite after %llu L-BFGS iterations (the "
                        "model holds the last point where it was finite)",
                        (unsigned long long)run->done);
    /* A line search that fails before the first iteration did nothing:
     * say so rather than report success. */
    if (ret < 0 && ret != LBFGSERR_MAXIMUMITERATION && run->done == 0)
        return sae_fail(t->errmsg, SAE_ERR_DIVERGED,
                        "lbfgs: the first line search failed (liblbfgs status %d): the objective "
                        "did not decrease along its gradient",
                        ret);
    /* Converged (LBFGS_SUCCESS), already minimal, out of iterations, or a
     * line search that could not lower the objective any further at float
     * precision: all leave the model at the best point found. */
    if (ret >= 0 || ret == LBFGSERR_MAXIMUMITERATION || ret == LBFGSERR_ROUNDING_ERROR ||
        ret == LBFGSERR_MINIMUMSTEP || ret == LBFGSERR_MAXIMUMSTEP ||
        ret == LBFGSERR_MAXIMUMLINESEARCH || ret == LBFGSERR_WIDTHTOOSMALL ||
        ret == LBFGSERR_INCREASEGRADIENT)
        return SAE_OK;
    return sae_fail(t->errmsg, SAE_ERR_STATE, "lbfgs: liblbfgs failed with status %d", ret);
}

int sae_lbfgs_available(void)
{
    return 1;
}

/* Up to `iterations` iterations on the objective over all rows of x at once
 * (checked by the trainer), starting from the model's weights. Each
 * iteration counts as one step and one epoch. */
static sae_status_t fit(sae_trainer_t *t, const float *x, size_t rows, uint64_t iterations)
{
    if (iterations == 0)
        return SAE_OK;
    if (iterations > INT_MAX)
        return sae_fail(t->errmsg, SAE_ERR_RANGE, "lbfgs: at most %d iterations per call", INT_MAX);
    sae_model_t *m = t->model;
    if (sae_cfg_int(m->cfg, SAE_P_ALGORITHM) != SAE_ALGO_BACKPROP)
        return sae_fail(t->errmsg, SAE_ERR_STATE,
                        "optim.type = lbfgs minimises the objective: it needs train.algorithm "
                        "= backprop");
    if (!deterministic(m->cfg))
        return sae_fail(t->errmsg, SAE_ERR_STATE,
                        "optim.type = lbfgs needs the same objective at every evaluation: set "
                        "corrupt.noise_std = 0, corrupt.input_keep = 1, corrupt.hidden_keep = 1");
    if (m->n_weights > INT_MAX)
        return sae_fail(t->errmsg, SAE_ERR_RANGE, "lbfgs: %zu parameters is too many", m->n_weights);
    /* Every row in one pass: rho_hat and the other batch statistics are
     * those of the whole data set. */
    sae_workspace_t narrow = t->ws;
    int widened = 0;
    if (rows > t->ws.batch) {
        char err[SAE_ERRMSG_SIZE];
        sae_workspace_t wide;
        sae_status_t st = sae_workspace_init(&wide, m, rows, t->threads, err);
        if (st != SAE_OK)
            return sae_fail(t->errmsg, st, "lbfgs: %s (all %zu rows at once)", err, rows);
        t->ws = wide;
        widened = 1;
    }
    lbfgs_run_t run;
    memset(&run, 0, sizeof run);
    run.t = t;
    run.x = x;
    run.rows = rows;
    run.iterations = iterations;
    run.last_finite = 1;
    sae_status_t st = minimise(&run);
    if (widened) {
        sae_workspace_release(&t->ws);
        t->ws = narrow;
    }
    return st;
}

/* Nothing to set up: liblbfgs allocates its memory per fit. */
#define SETUP NULL

#else /* !SAE_HAVE_LBFGS */

int sae_lbfgs_available(void)
{
    return 0;
}

/* sae_trainer_create fails here, so fit is never reached. */
static sae_status_t setup(sae_trainer_t *t, char *errbuf)
{
    (void)t;
    return sae_fail(errbuf, SAE_ERR_UNSUPPORTED,
                    "optim.type = lbfgs: this libsae was built without liblbfgs (meson "
                    "option -Dlbfgs=enabled, package liblbfgs-dev)");
}
#define SETUP setup

static sae_status_t fit(sae_trainer_t *t, const float *x, size_t rows, uint64_t iterations)
{
    (void)x, (void)rows, (void)iterations;
    return sae_fail(t->errmsg, SAE_ERR_UNSUPPORTED,
                    "optim.type = lbfgs: this libsae was built without liblbfgs");
}

#endif

const sae_method_t sae_method_lbfgs = {
    .name = "lbfgs",
    .selected_by = "optim.type = lbfgs",
    .setup = SETUP,
    .release = NULL,
    .fit = fit,
    .step = NULL, /* one step is a pass over every row: sae_trainer_fit only */
    .evaluate = evaluate_chunk,
    .epoch_end = NULL,
    .rate = rate,
    .has_objective = 1,
};
