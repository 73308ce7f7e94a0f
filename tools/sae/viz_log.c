/* SPDX-License-Identifier: MIT */
/* sae viz: loss curves from a `sae train --log` file. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/plot.h"
#include "viz.h"

/* Series of a --log file: loss, recon_loss and each term, per step. */
#define MAX_SERIES 10
int viz_log(const char *cmd, const char *log, const char *dir)
{
    FILE *fp = fopen(log, "r");
    if (!fp)
        return cli_fail(cmd, "%s: %s", log, strerror(errno));
    char *names[MAX_SERIES] = {0};
    double *ys[MAX_SERIES] = {0}, *steps = NULL;
    size_t n = 0, cap = 0, n_series = 2, line_no = 0;
    int rc = CLI_OK;
    names[0] = strdup("loss");
    names[1] = strdup("reconstruction");
    char line[8192];
    while (fgets(line, sizeof line, fp)) {
        line_no++;
        cJSON *o = cJSON_Parse(line);
        const cJSON *step = cJSON_GetObjectItemCaseSensitive(o, "step");
        if (!cJSON_IsNumber(step)) {
            cJSON_Delete(o);
            rc = cli_fail(cmd, "%s:%zu: not a line of 'sae train --log'", log, line_no);
            goto done;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            double *p = realloc(steps, cap * sizeof *p);
            if (!p) {
                cJSON_Delete(o);
                rc = cli_fail(cmd, "out of memory");
                goto done;
            }
            steps = p;
            for (size_t s = 0; s < MAX_SERIES; s++) {
                double *q = realloc(ys[s], cap * sizeof *q);
                if (!q) {
                    cJSON_Delete(o);
                    rc = cli_fail(cmd, "out of memory");
                    goto done;
                }
                ys[s] = q;
            }
        }
        steps[n] = step->valuedouble;
        for (size_t s = 0; s < MAX_SERIES; s++)
            ys[s][n] = NAN;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "loss");
        ys[0][n] = cJSON_IsNumber(v) ? v->valuedouble : NAN;
        v = cJSON_GetObjectItemCaseSensitive(o, "recon_loss");
        ys[1][n] = cJSON_IsNumber(v) ? v->valuedouble : NAN;
        const cJSON *terms = cJSON_GetObjectItemCaseSensitive(o, "terms");
        for (const cJSON *t = cJSON_IsObject(terms) ? terms->child : NULL; t; t = t->next) {
            if (!cJSON_IsNumber(t) || strcmp(t->string, "recon") == 0)
                continue;
            size_t s = 2;
            while (s < n_series && strcmp(names[s], t->string) != 0)
                s++;
            if (s == n_series) {
                if (n_series == MAX_SERIES)
                    continue;
                names[n_series++] = strdup(t->string);
            }
            ys[s][n] = t->valuedouble;
        }
        cJSON_Delete(o);
        n++;
    }
    if (n == 0) {
        rc = cli_fail(cmd, "%s: no lines", log);
        goto done;
    }
    static const ex_color palette[MAX_SERIES] = {
        {31, 119, 180}, {255, 127, 14},  {44, 160, 44},   {214, 39, 40},  {148, 103, 189},
        {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
    ex_series series[MAX_SERIES];
    int positive = 1;
    for (size_t s = 0; s < n_series; s++) {
        series[s] = (ex_series){names[s], steps, ys[s], n, palette[s], s >= 2};
        for (size_t i = 0; i < n; i++)
            if (isfinite(ys[s][i]) && ys[s][i] <= 0)
                positive = 0;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/loss_curves.png", dir);
    ex_chart chart = {"training loss and its terms",
                      "step",
                      positive ? "value (log scale)" : "value",
                      positive,
                      1,
                      0,
                      0};
    if (ex_linechart_save(path, &chart, series, n_series) != EX_OK)
        rc = cli_fail(cmd, "%s", ex_error_detail());
    else
        printf("%s\n", path);
done:
    fclose(fp);
    free(steps);
    for (size_t s = 0; s < MAX_SERIES; s++) {
        free(ys[s]);
        free(names[s]);
    }
    return rc;
}
