/* SPDX-License-Identifier: MIT */
#include "common/digits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/fileio.h"

ex_status ex_digits_parse_json(const char *text, size_t len, uint8_t label, ex_dataset *out)
{
    if (!text || !out)
        return ex_fail(EX_ERR_ARG, "ex_digits_parse_json: NULL argument");
    memset(out, 0, sizeof *out);
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root)
        return ex_fail(EX_ERR_JSON, "not valid JSON");
    ex_status st = EX_OK;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    if (!cJSON_IsObject(root) || !cJSON_IsArray(data)) {
        st = ex_fail(EX_ERR_JSON, "expected an object with a \"data\" array");
        goto done;
    }
    size_t count = (size_t)cJSON_GetArraySize(data);
    if (count == 0 || count % EX_DIGIT_PIXELS != 0) {
        st = ex_fail(EX_ERR_COUNT, "%zu values is not a whole number of %d-pixel digits", count,
                     EX_DIGIT_PIXELS);
        goto done;
    }
    float *x = malloc(count * sizeof *x);
    uint8_t *labels = malloc(count / EX_DIGIT_PIXELS);
    if (!x || !labels) {
        free(x);
        free(labels);
        st = ex_fail(EX_ERR_NOMEM, "no memory for %zu values", count);
        goto done;
    }
    size_t i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, data)
    {
        if (!cJSON_IsNumber(v)) {
            st = ex_fail(EX_ERR_JSON, "value %zu is not a number", i);
            break;
        }
        double d = v->valuedouble;
        /* The negated test also catches NaN, which cJSON never yields but
         * which a later loader change might. */
        if (!(d >= 0.0 && d <= 1.0)) {
            st = ex_fail(EX_ERR_RANGE, "value %zu (%g) is outside [0,1]", i, d);
            break;
        }
        x[i++] = (float)d;
    }
    if (st != EX_OK) {
        free(x);
        free(labels);
        goto done;
    }
    memset(labels, label, count / EX_DIGIT_PIXELS);
    out->x = x;
    out->labels = labels;
    out->rows = count / EX_DIGIT_PIXELS;
    out->dim = EX_DIGIT_PIXELS;
    out->width = EX_DIGIT_SIDE;
    out->height = EX_DIGIT_SIDE;
done:
    cJSON_Delete(root);
    return st;
}

ex_status ex_digits_load_dir(const char *dir, ex_dataset *out)
{
    if (!dir || !out)
        return ex_fail(EX_ERR_ARG, "ex_digits_load_dir: NULL argument");
    memset(out, 0, sizeof *out);
    ex_dataset part[10];
    memset(part, 0, sizeof part);
    ex_status st = EX_OK;
    size_t total = 0;
    char path[4096];
    for (int d = 0; d < 10 && st == EX_OK; d++) {
        snprintf(path, sizeof path, "%s/%d.json", dir, d);
        uint8_t *text = NULL;
        size_t len = 0;
        st = ex_read_file(path, EX_DIGITS_MAX_FILE_BYTES, &text, &len);
        if (st != EX_OK)
            break;
        st = ex_digits_parse_json((const char *)text, len, (uint8_t)d, &part[d]);
        free(text);
        if (st != EX_OK) {
            /* Keep the parser's detail but say which file it was about. */
            char detail[512];
            snprintf(detail, sizeof detail, "%s", ex_error_detail());
            (void)ex_fail(st, "%s: %s", path, detail);
            break;
        }
        total += part[d].rows;
    }
    if (st == EX_OK) {
        out->x = malloc(total * EX_DIGIT_PIXELS * sizeof *out->x);
        out->labels = malloc(total);
        if (!out->x || !out->labels) {
            ex_dataset_free(out);
            st = ex_fail(EX_ERR_NOMEM, "no memory for %zu digits", total);
        }
    }
    if (st == EX_OK) {
        size_t r = 0;
        for (int d = 0; d < 10; d++) {
            memcpy(out->x + r * EX_DIGIT_PIXELS, part[d].x,
                   part[d].rows * EX_DIGIT_PIXELS * sizeof *out->x);
            memcpy(out->labels + r, part[d].labels, part[d].rows);
            r += part[d].rows;
        }
        out->rows = total;
        out->dim = EX_DIGIT_PIXELS;
        out->width = EX_DIGIT_SIDE;
        out->height = EX_DIGIT_SIDE;
    }
    for (int d = 0; d < 10; d++)
        ex_dataset_free(&part[d]);
    return st;
}
