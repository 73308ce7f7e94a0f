/* The sae tool's numbers (tools/sae/json_number.c) read back as the same
 * double, in text and in JSON. cJSON's own printing does not always: it
 * keeps a 15-digit form within one DBL_EPSILON, so 0.9544490688513959
 * came out as 0.954449068851396 in `sae eval --json`. SPDX-License-Identifier: MIT */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "cli.h"

static const double values[] = {0.9544490688513959,
                                0.0001638522990760085,
                                0.1,
                                1.0 / 3.0,
                                400,
                                0,
                                -0.0,
                                1e-300,
                                DBL_MAX,
                                DBL_MIN,
                                5e-324,
                                -2.5e17};

static void test_text_round_trips(void **state)
{
    (void)state;
    char buf[CLI_NUMBER_SIZE];
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        assert_true(strtod(cli_shortest(values[i], buf), NULL) == values[i]);
    /* the shortest form: Python's repr of the same doubles */
    assert_string_equal(cli_shortest(0.1, buf), "0.1");
    assert_string_equal(cli_shortest(0.9544490688513959, buf), "0.9544490688513959");
    assert_string_equal(cli_shortest(400, buf), "400");
    /* random doubles of every magnitude */
    uint64_t s = 88172645463325252u;
    for (int i = 0; i < 100000; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        double v;
        memcpy(&v, &s, sizeof v);
        if (!isfinite(v))
            continue;
        assert_true(strtod(cli_shortest(v, buf), NULL) == v);
    }
}

static void test_json_round_trips(void **state)
{
    (void)state;
    cJSON *o = cJSON_CreateObject();
    assert_non_null(o);
    char key[16];
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        snprintf(key, sizeof key, "v%zu", i);
        assert_int_equal(cli_json_add_number(o, key, values[i]), 0);
    }
    assert_int_equal(cli_json_add_number(o, "nan", NAN), 0);
    assert_int_equal(cli_json_add_number(o, "inf", INFINITY), 0);
    char *text = cJSON_PrintUnformatted(o);
    assert_non_null(text);
    cJSON *back = cJSON_Parse(text);
    assert_non_null(back); /* still JSON */
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        snprintf(key, sizeof key, "v%zu", i);
        cJSON *item = cJSON_GetObjectItemCaseSensitive(back, key);
        assert_true(cJSON_IsNumber(item));
        assert_true(item->valuedouble == values[i]);
    }
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(back, "nan")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(back, "inf")));
    cJSON_Delete(back);
    cJSON_free(text);
    cJSON_Delete(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_round_trips),
        cmocka_unit_test(test_json_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
