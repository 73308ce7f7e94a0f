/* Shared helpers for the cmocka suite. SPDX-License-Identifier: MIT */
#ifndef SAE_TESTUTIL_H
#define SAE_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sae.h"

/* Fills x[n] with uniform values in [lo, hi) from a seed. */
void tu_fill_uniform(float *x, size_t n, float lo, float hi, uint64_t seed);
/* A small config: input_dim, hidden_dim, with defaults otherwise. */
sae_config_t *tu_config(size_t input_dim, size_t hidden_dim);
/* Asserts status == expected and that msg is a non-empty string. */
#define tu_assert_status(call, expected)                                        \
    do {                                                                        \
        sae_status_t tu_s_ = (call);                                            \
        if (tu_s_ != (expected))                                                \
            fail_msg("%s gave %d (%s), expected %d", #call, (int)tu_s_,         \
                     sae_status_str(tu_s_), (int)(expected));                   \
    } while (0)
/* Path of a file under tests/data (static buffer). */
const char *tu_data_path(const char *name);
/* A fresh temporary directory path (static buffer), created. */
const char *tu_tmpdir(void);

#endif
