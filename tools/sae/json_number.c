/* SPDX-License-Identifier: MIT */
/* Numbers, in text and JSON, that read back as the same double. cJSON 1.7.15 prints a
 * number with "%1.15g" and keeps that form when it reads back within one
 * DBL_EPSILON (relative), so a value can come out one ulp off (sae eval's
 * rel_bias 0.9544490688513959 printed as 0.954449068851396). "%.17g"
 * round-trips every double; the shortest form that does is used. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

const char *cli_shortest(double v, char buf[CLI_NUMBER_SIZE])
{
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, CLI_NUMBER_SIZE, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

cJSON *cli_json_number(double v)
{
    if (!isfinite(v))
        return cJSON_CreateNull(); /* JSON has no NaN or infinity */
    char buf[CLI_NUMBER_SIZE];
    return cJSON_CreateRaw(cli_shortest(v, buf));
}

int cli_json_add_number(cJSON *object, const char *key, double v)
{
    cJSON *item = cli_json_number(v);
    return item && cJSON_AddItemToObject(object, key, item) ? 0 : -1;
}
