/* SPDX-License-Identifier: MIT */
#include "common/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double ex_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void ex_progress_init(ex_progress *p, const char *label)
{
    memset(p, 0, sizeof *p);
    p->label = label ? label : "train";
    p->tty = isatty(STDERR_FILENO);
    p->start = ex_now();
    p->last_draw = -1.0;
}

static void record_epoch(ex_progress *p, const sae_stats_t *s)
{
    if (p->oom)
        return;
    if (p->n_epochs == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        double *a = realloc(p->epoch_loss, cap * sizeof *a);
        if (a)
            p->epoch_loss = a;
        double *b = a ? realloc(p->epoch_recon, cap * sizeof *b) : NULL;
        if (b)
            p->epoch_recon = b;
        double *x = b ? realloc(p->epoch_index, cap * sizeof *x) : NULL;
        if (x)
            p->epoch_index = x;
        if (!a || !b || !x) {
            p->oom = 1;
            return;
        }
        p->cap = cap;
    }
    p->epoch_loss[p->n_epochs] = s->loss;
    p->epoch_recon[p->n_epochs] = s->recon_loss;
    p->epoch_index[p->n_epochs] = (double)(p->n_epochs + 1);
    p->n_epochs++;
}

static void format_eta(double seconds, char *buf, size_t size)
{
    if (!(seconds >= 0) || seconds > 359999)
        seconds = 0;
    unsigned s = (unsigned)(seconds + 0.5);
    snprintf(buf, size, "%u:%02u", s / 60, s % 60);
}

int ex_progress_callback(sae_progress_kind_t kind, const sae_stats_t *stats, void *user_data)
{
    ex_progress *p = user_data;
    if (!p || !stats)
        return 0;
    if (kind == SAE_PROGRESS_EPOCH) {
        record_epoch(p, stats);
        return 0;
    }
    double now = ex_now(), elapsed = now - p->start;
    uint64_t total = stats->total_steps ? stats->total_steps : 1;
    uint64_t done = stats->step <= total ? stats->step : total;
    double frac = (double)done / (double)total;
    char eta[16];
    format_eta(frac > 0 ? elapsed * (1.0 - frac) / frac : 0.0, eta, sizeof eta);
    int last = done == total;
    if (p->tty) {
        /* Ten redraws a second are plenty to read and cost nothing. */
        if (!last && now - p->last_draw < 0.1)
            return 0;
        p->last_draw = now;
        /* Kept under 80 columns: a wrapped line cannot be redrawn by \r. */
        fprintf(stderr, "\r%s %llu/%llu %3.0f%% loss %.4f recon %.4f lr %.2g eta %s\033[K",
                p->label, (unsigned long long)done, (unsigned long long)total, 100.0 * frac,
                stats->loss, stats->recon_loss, stats->learning_rate, eta);
        p->line_open = 1;
    } else {
        uint64_t tenth = done * 10 / total;
        if (tenth <= p->last_tenth)
            return 0;
        p->last_tenth = tenth;
        fprintf(stderr, "%s: step %llu/%llu (%.0f%%)  loss %.5f  recon %.5f  lr %.2g  %.1fs\n",
                p->label, (unsigned long long)done, (unsigned long long)total, 100.0 * frac,
                stats->loss, stats->recon_loss, stats->learning_rate, elapsed);
    }
    fflush(stderr);
    return 0;
}

double ex_progress_finish(ex_progress *p)
{
    if (p->line_open) {
        fputc('\n', stderr);
        p->line_open = 0;
    }
    return ex_now() - p->start;
}

void ex_progress_free(ex_progress *p)
{
    if (!p)
        return;
    free(p->epoch_loss);
    free(p->epoch_recon);
    free(p->epoch_index);
    memset(p, 0, sizeof *p);
}
