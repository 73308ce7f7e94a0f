/* SPDX-License-Identifier: MIT */
/* A progress line on stderr for sae_trainer_fit*, and the per-epoch loss
 * history the examples plot. Redrawn in place on a terminal; on a pipe or
 * log file, a plain line every tenth of the run. */
#ifndef EX_PROGRESS_H
#define EX_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#include <sae.h>

typedef struct ex_progress {
    const char *label;    /* shown at the start of the line */
    int tty;              /* stderr is a terminal */
    double start;         /* monotonic seconds at init */
    double last_draw;
    uint64_t last_tenth;  /* for plain output: the last tenth reported */
    int line_open;        /* a \r line is on screen without its newline */
    /* One entry per completed epoch, in order. */
    double *epoch_loss;   /* total objective */
    double *epoch_recon;  /* reconstruction loss alone */
    double *epoch_index;  /* 1, 2, ... (x values for a chart) */
    size_t n_epochs, cap;
    int oom;              /* history stopped growing: memory ran out */
} ex_progress;

void ex_progress_init(ex_progress *p, const char *label);

/* The sae_progress_fn to hand to sae_trainer_set_callback with p as its
 * user data. It never cancels training. */
int ex_progress_callback(sae_progress_kind_t kind, const sae_stats_t *stats, void *user_data);

/* Ends the line (a newline after an in-place line) and returns the seconds
 * since ex_progress_init. */
double ex_progress_finish(ex_progress *p);

void ex_progress_free(ex_progress *p);

/* Monotonic seconds, for timing runs. */
double ex_now(void);

#endif /* EX_PROGRESS_H */
