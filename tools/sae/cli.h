/* SPDX-License-Identifier: MIT */
/* What the sae subcommands share: exit statuses, messages, the data-file
 * options, atomic output files. */
#ifndef SAE_CLI_H
#define SAE_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <sae.h>

#include "files.h"

/* Exit statuses (docs/cli.md). */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* "sae CMD: message" on stderr, then "Try 'sae CMD --help'."; returns
 * CLI_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* "sae CMD: message" on stderr; returns CLI_FAIL. */
int cli_fail(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Whole-number option values: a usage error unless s is all digits (and
 * within [lo, hi]). */
int cli_parse_size(const char *cmd, const char *opt, const char *s, uint64_t lo, uint64_t hi,
                   uint64_t *out);

/* ---- data files (data_opts.c) ------------------------------------------ */

/* getopt_long ids of the data options, above any short option. */
enum {
    CLI_OPT_FORMAT = 1000,
    CLI_OPT_DIM,
    CLI_OPT_DTYPE,
    CLI_OPT_TENSOR,
    CLI_OPT_SCALE_U8,
    CLI_OPT_FIRST_FREE /* the subcommands' own long-only options start here */
};
/* The long options of data files, to copy into a subcommand's table. */
#define CLI_DATA_LONGOPTS                                                                          \
    {"format", required_argument, NULL, CLI_OPT_FORMAT},                                           \
        {"dim", required_argument, NULL, CLI_OPT_DIM},                                             \
        {"dtype", required_argument, NULL, CLI_OPT_DTYPE},                                         \
        {"tensor", required_argument, NULL, CLI_OPT_TENSOR},                                       \
    {                                                                                              \
        "scale-u8", no_argument, NULL, CLI_OPT_SCALE_U8                                            \
    }
#define CLI_DATA_HELP                                                                              \
    "Data files (.npy, IDX, safetensors, raw; see sae(1)):\n"                                      \
    "      --format F     npy, idx, safetensors or raw (default: from the file)\n"                 \
    "      --dim D        values a row, for raw files\n"                                           \
    "      --dtype T      raw files' element type: f32 (default) or bf16\n"                        \
    "      --tensor NAME  the tensor of a safetensors file holding several\n"                      \
    "      --scale-u8     divide uint8 values by 255 (to [0,1])\n"

/* Handles one of the options above; 1 if opt was one, 0 if not, -1 after
 * a usage error (printed). */
int cli_data_option(const char *cmd, int opt, const char *arg, sd_options_t *o);
/* Opens paths as one set of rows; prints the error and returns CLI_FAIL. */
int cli_data_open(const char *cmd, sd_set_t *set, const char *const *paths, size_t n,
                  const sd_options_t *o);
/* All rows of the set as floats (malloc'd, *out; NULL and CLI_FAIL with a
 * message when they do not fit in memory). */
int cli_data_load(const char *cmd, const sd_set_t *set, float **out);

/* ---- output files (atomic.c, npy_write.c) ------------------------------ */

/* A file written to a temporary name in the target's folder, then flushed,
 * synced and renamed over the target: no reader ever sees half of it. */
typedef struct cli_out {
    FILE *fp;
    char *path;
    char *tmp;
} cli_out_t;

int cli_out_open(cli_out_t *o, const char *path);
/* Flushes, syncs, renames; 0 or -1 (errno kept). Closes in both cases. */
int cli_out_commit(cli_out_t *o);
/* Closes and removes the temporary file. NULL-safe and idempotent. */
void cli_out_abort(cli_out_t *o);

/* Writes a .npy header (version 1.0, C order) for rows x cols values of
 * descr ("<f4" or "|u1"); the data follows with fwrite. */
int cli_npy_header(FILE *fp, const char *descr, size_t rows, size_t cols);

/* ---- configuration (config_file.c) ------------------------------------- */

/* Applies a config file to cfg: a JSON object of keys (values strings,
 * numbers or booleans) or `key = value` lines with # comments. On a bad
 * key or value prints the library's message with the file and line, and
 * returns CLI_USAGE; CLI_FAIL when the file cannot be read. */
int cli_config_file(const char *cmd, sae_config_t *cfg, const char *path);
/* Applies one "key=value" (--set). */
int cli_config_set(const char *cmd, sae_config_t *cfg, const char *kv, const char *where);

/* Loads a model file; prints the library's message and returns CLI_FAIL. */
int cli_model_load(const char *cmd, const char *path, sae_model_t **model);
/* Which other tool's SAE path holds ("saelens", "sparsify", "gemmascope",
 * "llamascope"; the rules of sae_model_import's detection), with its
 * weights file in weights (n bytes); NULL for anything else (a libsae file).
 * (foreign_info.c) */
const char *cli_foreign_format(const char *path, char *weights, size_t n);
/* sae info's summary of such an SAE: format, dtype, architecture, k or
 * thresholds, dimensions, tensors; *out is the imported model. */
int cli_foreign_info(const char *cmd, const char *path, const char *format, const char *weights,
                     sae_model_t **out);

/* The JSON header of a safetensors file (cJSON_Delete it), read after its
 * length is checked against the file's size; NULL after a message (none
 * when cmd is NULL). */
typedef struct cJSON cJSON;
/* The shortest "%.Ng" form of v (N = 15, 16 or 17) that reads back as
 * exactly v (Python's repr of the same double, in practice). */
#define CLI_NUMBER_SIZE 32
const char *cli_shortest(double v, char buf[CLI_NUMBER_SIZE]);
/* A JSON number that reads back as exactly v (cJSON's own printing may
 * lose the last ulp); null for NaN and infinities. */
cJSON *cli_json_number(double v);
/* Adds it to object under key: 0, or -1 when out of memory. */
int cli_json_add_number(cJSON *object, const char *key, double v);

cJSON *cli_safetensors_header(const char *cmd, const char *path, uint64_t *file_size);

/* ---- the subcommands ----------------------------------------------------- */

int cmd_train(int argc, char **argv);
int cmd_encode(int argc, char **argv);
int cmd_decode(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_viz(int argc, char **argv);

#endif /* SAE_CLI_H */
