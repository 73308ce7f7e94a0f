/* SPDX-License-Identifier: MIT */
/* sae train in three parts: its options (train_args.c), the model and
 * trainer they make (train_setup.c), the run (cmd_train.c). */
#ifndef SAE_CLI_TRAIN_H
#define SAE_CLI_TRAIN_H

#include "cli.h"

typedef struct train_opts {
    const char **data; /* --data, n_data of them */
    size_t n_data;
    const char **sets; /* --set, in order */
    size_t n_sets;
    const char *out, *config, *log_path, *ckpt, *resume;
    char *ckpt_default; /* MODEL.ckpt, for a signal without --checkpoint */
    uint64_t epochs, steps, threads, log_every, shuffle, ckpt_every;
    int quiet, have_threads;
    int mpi; /* --mpi: one rank of a data-parallel run (mpi.h) */
    sd_options_t dopt;
} train_opts_t;

/* Parses argv into o (train_opts_free it): -1 to go on, else the exit
 * status (0 after --help, 2 after a usage error, printed). */
int train_parse(int argc, char **argv, train_opts_t *o);
void train_opts_free(train_opts_t *o);
/* Where a signal's checkpoint goes: --checkpoint, else MODEL.ckpt. */
const char *train_ckpt_path(const train_opts_t *o);

/* The configuration, checked by the library before any data is read: from
 * --config, --set and --threads into a new *cfg; or with --resume the
 * checkpoint's model, trainer and config. CLI_OK or the exit status after a
 * message. */
int train_config(const train_opts_t *o, sae_config_t **cfg, sae_model_t **model,
                 sae_trainer_t **trainer);
/* The model and trainer for the data's rows (arch.input_dim from them),
 * unless --resume made them; a configuration the model refuses is a usage
 * error. */
int train_model(const train_opts_t *o, sae_config_t *cfg, const sd_set_t *set, sae_model_t **model,
                sae_trainer_t **trainer);

#endif /* SAE_CLI_TRAIN_H */
