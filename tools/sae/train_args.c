/* SPDX-License-Identifier: MIT */
/* sae train's options. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "train.h"

static const char train_help[] =
    "Usage: sae train --data FILE... --out MODEL [OPTIONS]\n"
    "Trains a sparse autoencoder on the rows of the data files (shards, in order)\n"
    "and saves it to MODEL (a safetensors file, written atomically).\n\n"
    "  -d, --data FILE       a data file; give several for shards (same row size)\n"
    "  -o, --out MODEL       the model file to write\n"
    "  -c, --config FILE     keys from a file: a JSON object, or key = value lines\n"
    "  -s, --set KEY=VALUE   one key (after the file's; in order); any libsae key\n"
    "      --epochs N        passes over the data (default 1)\n"
    "      --steps N         batches to train on, instead of --epochs\n"
    "      --log FILE        one JSON object a line of training statistics\n"
    "      --log-every N     a log line every N steps (default 1)\n"
    "  -j, --threads N       threads (train.threads; 0 = the library's choice)\n"
    "      --shuffle-buffer N  stream the rows from the files through a shuffle\n"
    "                        buffer of N rows instead of reading them all into memory\n"
    "      --checkpoint FILE  where checkpoints go (default on a signal: MODEL.ckpt)\n"
    "      --checkpoint-every N  a checkpoint every N steps\n"
    "      --resume FILE     continue the run of a checkpoint (same --data and data\n"
    "                        options; --steps/--epochs are the run's total)\n"
    "      --mpi             one rank of a data-parallel run under mpirun: each rank\n"
    "                        trains on its own blocks of train.batch_size rows (the\n"
    "                        global batch is ranks x batch size); rank 0 writes the\n"
    "                        model, logs and checkpoints (docs/distributed.md)\n"
    "  -q, --quiet           print nothing but errors\n"
    "  -h, --help            this help\n\n" CLI_DATA_HELP
    "\narch.input_dim comes from the data. SIGINT or SIGTERM writes a checkpoint and\n"
    "stops. Exit status: 0 done, 1 a run-time error or an interruption, 2 a usage\n"
    "error (a bad option, key or value); see sae(1).\n";

enum {
    OPT_EPOCHS = CLI_OPT_FIRST_FREE,
    OPT_STEPS,
    OPT_LOG,
    OPT_LOG_EVERY,
    OPT_SHUFFLE,
    OPT_CKPT,
    OPT_CKPT_EVERY,
    OPT_RESUME,
    OPT_MPI
};

int train_parse(int argc, char **argv, train_opts_t *o)
{
    static const struct option longopts[] = {
        {"data", required_argument, NULL, 'd'},
        {"out", required_argument, NULL, 'o'},
        {"config", required_argument, NULL, 'c'},
        {"set", required_argument, NULL, 's'},
        {"epochs", required_argument, NULL, OPT_EPOCHS},
        {"steps", required_argument, NULL, OPT_STEPS},
        {"log", required_argument, NULL, OPT_LOG},
        {"log-every", required_argument, NULL, OPT_LOG_EVERY},
        {"threads", required_argument, NULL, 'j'},
        {"shuffle-buffer", required_argument, NULL, OPT_SHUFFLE},
        {"checkpoint", required_argument, NULL, OPT_CKPT},
        {"checkpoint-every", required_argument, NULL, OPT_CKPT_EVERY},
        {"resume", required_argument, NULL, OPT_RESUME},
        {"mpi", no_argument, NULL, OPT_MPI},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        CLI_DATA_LONGOPTS,
        {NULL, 0, NULL, 0}};
    const char *cmd = "train";
    int opt;
    memset(o, 0, sizeof *o);
    o->log_every = 1;
    o->data = calloc((size_t)argc, sizeof *o->data);
    o->sets = calloc((size_t)argc, sizeof *o->sets);
    if (!o->data || !o->sets)
        return cli_fail(cmd, "out of memory");
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":d:o:c:s:j:qh", longopts, NULL)) != -1) {
        int d = cli_data_option(cmd, opt, optarg, &o->dopt);
        if (d < 0)
            return CLI_USAGE;
        if (d)
            continue;
        switch (opt) {
        case 'd': o->data[o->n_data++] = optarg; break;
        case 'o': o->out = optarg; break;
        case 'c': o->config = optarg; break;
        case 's': o->sets[o->n_sets++] = optarg; break;
        case 'q': o->quiet = 1; break;
        case 'h': fputs(train_help, stdout); return CLI_OK;
        case 'j':
            if (cli_parse_size(cmd, "--threads", optarg, 0, 1024, &o->threads) < 0)
                return CLI_USAGE;
            o->have_threads = 1;
            break;
        case OPT_EPOCHS:
            if (cli_parse_size(cmd, "--epochs", optarg, 1, UINT32_MAX, &o->epochs) < 0)
                return CLI_USAGE;
            break;
        case OPT_STEPS:
            if (cli_parse_size(cmd, "--steps", optarg, 1, UINT64_MAX >> 1, &o->steps) < 0)
                return CLI_USAGE;
            break;
        case OPT_LOG: o->log_path = optarg; break;
        case OPT_SHUFFLE:
            if (cli_parse_size(cmd, "--shuffle-buffer", optarg, 1, (uint64_t)1 << 40, &o->shuffle) <
                0)
                return CLI_USAGE;
            break;
        case OPT_CKPT: o->ckpt = optarg; break;
        case OPT_CKPT_EVERY:
            if (cli_parse_size(cmd, "--checkpoint-every", optarg, 1, UINT64_MAX >> 1,
                               &o->ckpt_every) < 0)
                return CLI_USAGE;
            break;
        case OPT_RESUME: o->resume = optarg; break;
        case OPT_MPI: o->mpi = 1; break;
        case OPT_LOG_EVERY:
            if (cli_parse_size(cmd, "--log-every", optarg, 1, UINT64_MAX >> 1, &o->log_every) < 0)
                return CLI_USAGE;
            break;
        case ':': return cli_usage(cmd, "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage(cmd, "unexpected argument '%s' (data files go after --data)",
                         argv[optind]);
    if (o->n_data == 0 || !o->out)
        return cli_usage(cmd, "--data and --out are required");
    if (o->epochs && o->steps)
        return cli_usage(cmd, "--epochs and --steps cannot both be given");
    if (!o->epochs && !o->steps)
        o->epochs = 1;
    if (o->mpi && o->shuffle)
        return cli_usage(cmd, "--mpi reads each rank's blocks of rows from the files: no "
                              "--shuffle-buffer (train.sampling = shuffle permutes the blocks)");
    if (o->ckpt_every && !o->ckpt)
        return cli_usage(cmd, "--checkpoint-every needs --checkpoint FILE");
    if (o->resume && (o->config || o->n_sets || o->have_threads))
        return cli_usage(cmd, "--resume takes the configuration from the checkpoint: no --config, "
                              "--set or --threads");
    if (!o->ckpt) {
        o->ckpt_default = malloc(strlen(o->out) + 6);
        if (!o->ckpt_default)
            return cli_fail(cmd, "out of memory");
        strcpy(o->ckpt_default, o->out);
        strcat(o->ckpt_default, ".ckpt");
    }
    return -1;
}

void train_opts_free(train_opts_t *o)
{
    free(o->data);
    free(o->sets);
    free(o->ckpt_default);
    memset(o, 0, sizeof *o);
}

const char *train_ckpt_path(const train_opts_t *o)
{
    return o->ckpt ? o->ckpt : o->ckpt_default;
}
