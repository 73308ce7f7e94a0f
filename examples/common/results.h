/* SPDX-License-Identifier: MIT */
/* results.json: the numbers an example measured, for scripts and docs. */
#ifndef EX_RESULTS_H
#define EX_RESULTS_H

#include <cjson/cJSON.h>

#include "common/args.h"
#include "common/status.h"

/* Writes root as indented JSON to path, atomically (never a partial file),
 * with a trailing newline. */
ex_status ex_results_write(const char *path, const cJSON *root);

/* A new results object holding the fields every example's results.json
 * starts with, in this order: "experiment", "variant" (only when variant
 * is not NULL), "library_version" (pass sae_version_string()), "data",
 * and args' "seed" and "quick". NULL when memory runs out. */
cJSON *ex_results_begin(const char *experiment, const char *variant, const char *library_version,
                        const char *data, const ex_args *args);

/* Writes root to out_dir/results.json, reports it as ex_saved does (prog
 * prefixes an error) and deletes root. Returns 1 when it was written. */
int ex_results_save(const char *prog, const char *out_dir, cJSON *root);

#endif /* EX_RESULTS_H */
