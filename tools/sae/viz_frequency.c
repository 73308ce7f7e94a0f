/* SPDX-License-Identifier: MIT */
/* sae viz: the latents' firing-frequency histogram. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "common/plot.h"
#include "viz.h"

int viz_frequency(const char *cmd, sae_model_t *model, const sd_set_t *set, const char *dir)
{
    size_t in = sae_model_input_dim(model), units = sae_model_code_dim(model);
    if (set->dim != in)
        return cli_fail(cmd, "the data's rows hold %zu values, the model takes %zu", set->dim, in);
    char act[32] = "";
    sae_config_get(sae_model_config(model), "arch.hidden_activation", act, sizeof act);
    float thr = strcmp(act, "sigmoid") == 0 || strcmp(act, "tanh") == 0 ? 1e-3f : 0.0f;
    enum { CHUNK = 1024, BINS_PER_DECADE = 4 };
    size_t ch = set->rows < CHUNK ? set->rows : CHUNK;
    float *x = malloc(ch * in * sizeof *x), *h = malloc(ch * units * sizeof *h);
    double *count = calloc(units, sizeof *count);
    int rc = CLI_OK;
    if (!x || !h || !count) {
        rc = cli_fail(cmd, "out of memory");
        goto done;
    }
    for (size_t r = 0; r < set->rows; r += ch) {
        size_t n = set->rows - r < ch ? set->rows - r : ch;
        if (sd_set_read(set, r, n, x) < 0 || sae_model_encode(model, x, n, h) != SAE_OK) {
            rc = cli_fail(cmd, "%s", sd_errmsg()[0] ? sd_errmsg() : sae_model_errmsg(model));
            goto done;
        }
        for (size_t i = 0; i < n * units; i++)
            count[i % units] += fabsf(h[i]) > thr;
    }
    /* Bins of a quarter decade from the rarest live latent's decade to 1;
     * dead latents (never active) in a bar of their own. */
    double lo = 0, dead = 0;
    for (size_t j = 0; j < units; j++) {
        if (count[j] == 0)
            dead++;
        else
            lo = fmin(lo, floor(log10(count[j] / (double)set->rows)));
    }
    size_t nbins = (size_t)(-lo * BINS_PER_DECADE) + 1;
    double *bins = calloc(nbins, sizeof *bins);
    if (!bins) {
        rc = cli_fail(cmd, "out of memory");
        goto done;
    }
    for (size_t j = 0; j < units; j++) {
        if (count[j] == 0)
            continue;
        double l = log10(count[j] / (double)set->rows);
        size_t b = (size_t)floor((l - lo) * BINS_PER_DECADE);
        bins[b < nbins ? b : nbins - 1]++;
    }
    char path[4096], title[160];
    snprintf(path, sizeof path, "%s/firing_frequency.png", dir);
    snprintf(title, sizeof title, "firing frequency of %zu latents over %zu rows (%.0f dead)",
             units, set->rows, dead);
    ex_bars bars = {title,
                    "log10 of the fraction of rows a latent is active on",
                    "latents",
                    bins,
                    nbins,
                    lo,
                    1.0 / BINS_PER_DECADE,
                    "dead",
                    dead,
                    EX_RGB(31, 119, 180)};
    if (ex_bars_save(path, &bars) != EX_OK)
        rc = cli_fail(cmd, "%s", ex_error_detail());
    else
        printf("%s\n", path);
    free(bins);
done:
    free(x);
    free(h);
    free(count);
    return rc;
}
