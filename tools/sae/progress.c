/* SPDX-License-Identifier: MIT */
#include "progress.h"

#include "cli.h"

#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_progress_init(cli_progress_t *p, int quiet, uint64_t total, uint64_t first_step)
{
    FILE *log = p->log;
    uint64_t log_every = p->log_every;
    memset(p, 0, sizeof *p);
    p->log = log;
    p->log_every = log_every ? log_every : 1;
    p->mode = quiet ? 0 : isatty(STDOUT_FILENO) ? 1 : 2;
    p->total = total;
    p->first_step = first_step;
    p->every = total > first_step && (total - first_step) / 20 > 0 ? (total - first_step) / 20 : 1;
    p->t0 = cli_now();
}

static void terms(const sae_stats_t *s, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "recon %.4g", s->recon_loss);
    for (uint32_t i = 0; i < s->n_terms && used < size; i++)
        if (s->term_name[i] && strcmp(s->term_name[i], "recon") != 0 &&
            strcmp(s->term_name[i], "mse") != 0 && strcmp(s->term_name[i], "bce") != 0)
            used += (size_t)snprintf(buf + used, size - used, " %s %.4g", s->term_name[i],
                                     s->term_loss[i]);
}

static void log_line(cli_progress_t *p, const sae_stats_t *s, double dead, double secs, double rate)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *t = cJSON_CreateObject();
    if (!o || !t) {
        cJSON_Delete(o);
        cJSON_Delete(t);
        return;
    }
    cli_json_add_number(o, "step", (double)s->step);
    cli_json_add_number(o, "epoch", (double)s->epoch);
    if (isfinite(s->loss))
        cli_json_add_number(o, "loss", s->loss);
    else
        cJSON_AddNullToObject(o, "loss");
    cli_json_add_number(o, "recon_loss", isfinite(s->recon_loss) ? s->recon_loss : 0);
    for (uint32_t i = 0; i < s->n_terms; i++)
        if (s->term_name[i] && isfinite(s->term_loss[i]))
            cli_json_add_number(t, s->term_name[i], s->term_loss[i]);
    cJSON_AddItemToObject(o, "terms", t);
    cli_json_add_number(o, "learning_rate", s->learning_rate);
    cli_json_add_number(o, "l0", s->l0);
    cli_json_add_number(o, "mean_activation", s->mean_activation);
    if (dead >= 0)
        cli_json_add_number(o, "dead_fraction", dead);
    cli_json_add_number(o, "rows_per_s", rate);
    cli_json_add_number(o, "seconds", secs);
    char *line = cJSON_PrintUnformatted(o);
    if (line) {
        fprintf(p->log, "%s\n", line);
        cJSON_free(line);
    }
    cJSON_Delete(o);
}

void cli_progress_step(cli_progress_t *p, const sae_stats_t *s, double dead)
{
    double now = cli_now(), secs = now - p->t0;
    p->rows += s->samples;
    double rate = secs > 0 ? (double)p->rows / secs : 0;
    if (p->log && (s->step % p->log_every == 0 || s->step == p->total))
        log_line(p, s, dead, secs, rate);
    int last = s->step >= p->total;
    if (p->mode == 0)
        return;
    char t[256];
    if (p->mode == 1) {
        if (!last && now - p->last_draw < 0.1)
            return;
        p->last_draw = now;
        double frac = p->total ? (double)s->step / (double)p->total : 1;
        uint64_t done = s->step - p->first_step, left = p->total - s->step;
        double eta = done ? secs / (double)done * (double)left : 0;
        char bar[21];
        int fill = (int)(frac * 20);
        for (int i = 0; i < 20; i++)
            bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
        bar[20] = 0;
        terms(s, t, sizeof t);
        printf("\r\033[K%llu/%llu [%s] %.0f rows/s ETA %d:%02d loss %.4g (%s) L0 %.1f",
               (unsigned long long)s->step, (unsigned long long)p->total, bar, rate,
               (int)(eta / 60), (int)fmod(eta, 60), s->loss, t, s->l0);
        if (dead >= 0)
            printf(" dead %.1f%%", 100 * dead);
        fflush(stdout);
        return;
    }
    if (!last && (s->step - p->first_step) % p->every != 0)
        return;
    terms(s, t, sizeof t);
    printf("step %llu/%llu epoch %llu loss %.6g (%s) l0 %.2f", (unsigned long long)s->step,
           (unsigned long long)p->total, (unsigned long long)s->epoch, s->loss, t, s->l0);
    if (dead >= 0)
        printf(" dead %.4f", dead);
    printf(" rows/s %.0f\n", rate);
    fflush(stdout);
}

void cli_progress_end(cli_progress_t *p)
{
    if (p->mode == 1) {
        printf("\n");
        fflush(stdout);
    }
}
