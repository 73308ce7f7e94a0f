/* SPDX-License-Identifier: MIT */
/* results.json: the numbers an example measured, for scripts and docs. */
#ifndef EX_RESULTS_H
#define EX_RESULTS_H

#include <cjson/cJSON.h>

#include "common/status.h"

/* Writes root as indented JSON to path, atomically (never a partial file),
 * with a trailing newline. */
ex_status ex_results_write(const char *path, const cJSON *root);

#endif /* EX_RESULTS_H */
