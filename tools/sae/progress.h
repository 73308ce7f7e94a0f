/* SPDX-License-Identifier: MIT */
/* Training progress: a one-line bar redrawn in place when stdout is a
 * terminal, plain lines every few steps when it is not, nothing with
 * --quiet; and the --log file, one JSON object a line. */
#ifndef SAE_CLI_PROGRESS_H
#define SAE_CLI_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

#include <sae.h>

typedef struct cli_progress {
    int mode;           /* 0 quiet, 1 terminal bar, 2 plain lines */
    uint64_t total;     /* the run's total steps */
    uint64_t every;     /* plain lines: one every this many steps */
    uint64_t first_step;/* the step count when this run started */
    double t0;          /* monotonic seconds at the start */
    double last_draw;
    uint64_t rows;      /* rows trained on in this run */
    FILE *log;          /* --log, or NULL */
    uint64_t log_every;
} cli_progress_t;

double cli_now(void);
void cli_progress_init(cli_progress_t *p, int quiet, uint64_t total, uint64_t first_step);
/* One step's statistics (dead: the fraction of dead latents, < 0 unknown). */
void cli_progress_step(cli_progress_t *p, const sae_stats_t *s, double dead);
/* Ends the bar's line. */
void cli_progress_end(cli_progress_t *p);

#endif /* SAE_CLI_PROGRESS_H */
