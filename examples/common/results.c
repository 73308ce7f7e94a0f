/* SPDX-License-Identifier: MIT */
#include "common/results.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "common/report.h"

ex_status ex_results_write(const char *path, const cJSON *root)
{
    if (!path || !root)
        return ex_fail(EX_ERR_ARG, "ex_results_write: NULL argument");
    char *text = cJSON_Print(root);
    if (!text)
        return ex_fail(EX_ERR_NOMEM, "cJSON could not print the results");
    size_t n = strlen(text);
    char *withnl = malloc(n + 2);
    if (!withnl) {
        cJSON_free(text);
        return ex_fail(EX_ERR_NOMEM, "no memory");
    }
    memcpy(withnl, text, n);
    withnl[n] = '\n';
    withnl[n + 1] = '\0';
    cJSON_free(text);
    ex_status st = ex_write_file_atomic(path, withnl, n + 1);
    free(withnl);
    return st;
}

cJSON *ex_results_begin(const char *experiment, const char *variant, const char *library_version,
                        const char *data, const ex_args *args)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "experiment", experiment);
    if (variant)
        cJSON_AddStringToObject(o, "variant", variant);
    cJSON_AddStringToObject(o, "library_version", library_version);
    cJSON_AddStringToObject(o, "data", data);
    cJSON_AddNumberToObject(o, "seed", (double)args->seed);
    cJSON_AddBoolToObject(o, "quick", args->quick);
    return o;
}

int ex_results_save(const char *prog, const char *out_dir, cJSON *root)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/results.json", out_dir);
    int ok = ex_saved(prog, ex_results_write(path, root), path);
    cJSON_Delete(root);
    return ok;
}
