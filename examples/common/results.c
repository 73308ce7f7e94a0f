/* SPDX-License-Identifier: MIT */
#include "common/results.h"

#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"

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
