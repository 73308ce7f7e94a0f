/* SPDX-License-Identifier: MIT */
/* sae train: a model from data files. The configuration (file, --set,
 * --threads) is checked by the library before any data is read; the data's
 * headers then give arch.input_dim, and a model made from the whole config
 * is checked before the rows are read. The rows are read into memory, or
 * with --shuffle-buffer streamed from the mapped files (stream.c).
 * Checkpoints: every --checkpoint-every steps, and on SIGINT or SIGTERM;
 * --resume continues one to the run's total (--steps or --epochs). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "progress.h"
#include "stream.h"

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
    OPT_RESUME
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig) { interrupted = sig; }

typedef struct run {
    sae_trainer_t *trainer;
    cli_progress_t progress;
    uint64_t dead_after;
    const char *ckpt;    /* --checkpoint */
    uint64_t ckpt_every; /* 0: none */
    int ckpt_failed;
} run_t;

static int on_progress(sae_progress_kind_t kind, const sae_stats_t *s, void *user)
{
    run_t *r = user;
    if (kind == SAE_PROGRESS_STEP) {
        double dead = -1;
        if (sae_trainer_unit_activity(r->trainer, NULL, 0, r->dead_after, &dead) != SAE_OK)
            dead = -1;
        cli_progress_step(&r->progress, s, dead);
        if (r->ckpt_every && s->step % r->ckpt_every == 0 &&
            sae_trainer_save_checkpoint(r->trainer, r->ckpt) != SAE_OK) {
            r->ckpt_failed = 1;
            return 1;
        }
    }
    return interrupted ? 1 : 0;
}

/* Statuses of model creation that mean the configuration is at fault. */
static int config_status(sae_status_t s)
{
    return s == SAE_ERR_RANGE || s == SAE_ERR_STATE || s == SAE_ERR_BAD_VALUE ||
           s == SAE_ERR_UNKNOWN_KEY || s == SAE_ERR_TYPE || s == SAE_ERR_DIMENSION ||
           s == SAE_ERR_UNSUPPORTED;
}

int cmd_train(int argc, char **argv)
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
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        CLI_DATA_LONGOPTS,
        {NULL, 0, NULL, 0}};
    const char *cmd = "train", *out = NULL, *config = NULL, *log_path = NULL, *ckpt = NULL,
               *resume = NULL;
    uint64_t shuffle = 0, ckpt_every = 0;
    char *ckpt_default = NULL;
    cli_stream_t stream;
    int streaming = 0;
    memset(&stream, 0, sizeof stream);
    const char **data = calloc((size_t)argc, sizeof *data);
    const char **sets = calloc((size_t)argc, sizeof *sets);
    size_t n_data = 0, n_sets = 0;
    uint64_t epochs = 0, steps = 0, threads = 0, log_every = 1;
    int quiet = 0, have_threads = 0, rc = CLI_USAGE, opt;
    sd_options_t dopt = {0};
    sae_config_t *cfg = NULL;
    sae_model_t *model = NULL;
    sae_trainer_t *trainer = NULL;
    sd_set_t set = {0};
    float *x = NULL;
    cli_out_t log = {0}, probe = {0};
    run_t run;
    memset(&run, 0, sizeof run);
    if (!data || !sets) {
        rc = cli_fail(cmd, "out of memory");
        goto done;
    }
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":d:o:c:s:j:qh", longopts, NULL)) != -1) {
        int d = cli_data_option(cmd, opt, optarg, &dopt);
        if (d < 0)
            goto done;
        if (d)
            continue;
        switch (opt) {
        case 'd': data[n_data++] = optarg; break;
        case 'o': out = optarg; break;
        case 'c': config = optarg; break;
        case 's': sets[n_sets++] = optarg; break;
        case 'q': quiet = 1; break;
        case 'h':
            fputs(train_help, stdout);
            rc = CLI_OK;
            goto done;
        case 'j':
            if (cli_parse_size(cmd, "--threads", optarg, 0, 1024, &threads) < 0)
                goto done;
            have_threads = 1;
            break;
        case OPT_EPOCHS:
            if (cli_parse_size(cmd, "--epochs", optarg, 1, UINT32_MAX, &epochs) < 0)
                goto done;
            break;
        case OPT_STEPS:
            if (cli_parse_size(cmd, "--steps", optarg, 1, UINT64_MAX >> 1, &steps) < 0)
                goto done;
            break;
        case OPT_LOG: log_path = optarg; break;
        case OPT_SHUFFLE:
            if (cli_parse_size(cmd, "--shuffle-buffer", optarg, 1, (uint64_t)1 << 40, &shuffle) <
                0)
                goto done;
            break;
        case OPT_CKPT: ckpt = optarg; break;
        case OPT_CKPT_EVERY:
            if (cli_parse_size(cmd, "--checkpoint-every", optarg, 1, UINT64_MAX >> 1,
                               &ckpt_every) < 0)
                goto done;
            break;
        case OPT_RESUME: resume = optarg; break;
        case OPT_LOG_EVERY:
            if (cli_parse_size(cmd, "--log-every", optarg, 1, UINT64_MAX >> 1, &log_every) < 0)
                goto done;
            break;
        case ':':
            cli_usage(cmd, "option '%s' needs a value", argv[optind - 1]);
            goto done;
        default:
            cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
            goto done;
        }
    }
    if (optind < argc) {
        cli_usage(cmd, "unexpected argument '%s' (data files go after --data)", argv[optind]);
        goto done;
    }
    if (n_data == 0 || !out) {
        cli_usage(cmd, "--data and --out are required");
        goto done;
    }
    if (epochs && steps) {
        cli_usage(cmd, "--epochs and --steps cannot both be given");
        goto done;
    }
    if (!epochs && !steps)
        epochs = 1;
    if (ckpt_every && !ckpt) {
        cli_usage(cmd, "--checkpoint-every needs --checkpoint FILE");
        goto done;
    }
    if (resume && (config || n_sets || have_threads)) {
        cli_usage(cmd, "--resume takes the configuration from the checkpoint: no --config, "
                       "--set or --threads");
        goto done;
    }
    if (!ckpt) {
        ckpt_default = malloc(strlen(out) + 6);
        if (!ckpt_default) {
            rc = cli_fail(cmd, "out of memory");
            goto done;
        }
        strcpy(ckpt_default, out);
        strcat(ckpt_default, ".ckpt");
    }
    const char *ckpt_path = ckpt ? ckpt : ckpt_default;

    /* The configuration, all of it checked before any data is read. */
    if (sae_config_create(&cfg) != SAE_OK) {
        rc = cli_fail(cmd, "%s", sae_last_error());
        goto done;
    }
    if (resume) {
        sae_status_t ls = sae_trainer_load_checkpoint(resume, &model, &trainer);
        if (ls != SAE_OK) {
            rc = cli_fail(cmd, "--resume %s: %s", resume, sae_last_error());
            goto done;
        }
        sae_config_free(cfg);
        cfg = NULL;
        if (sae_config_clone(sae_model_config(model), &cfg) != SAE_OK) {
            rc = cli_fail(cmd, "%s", sae_last_error());
            goto done;
        }
    }
    if (config && (rc = cli_config_file(cmd, cfg, config)) != CLI_OK)
        goto done;
    for (size_t i = 0; i < n_sets; i++)
        if ((rc = cli_config_set(cmd, cfg, sets[i], "--set")) != CLI_OK)
            goto done;
    if (have_threads && sae_config_set_int(cfg, SAE_P_THREADS, (int64_t)threads) != SAE_OK) {
        rc = cli_usage(cmd, "--threads: %s", sae_config_errmsg(cfg));
        goto done;
    }
    /* The outputs' folders must take a file before hours of training. */
    if (cli_out_open(&probe, out) < 0) {
        rc = cli_fail(cmd, "cannot write %s: %s", out, strerror(errno));
        goto done;
    }
    cli_out_abort(&probe);
    if (log_path && cli_out_open(&log, log_path) < 0) {
        rc = cli_fail(cmd, "cannot write %s: %s", log_path, strerror(errno));
        goto done;
    }

    /* The data's headers give the input dimension. */
    if ((rc = cli_data_open(cmd, &set, data, n_data, &dopt)) != CLI_OK)
        goto done;
    char layers[16];
    int layered = sae_config_get(cfg, "arch.layers", layers, sizeof layers) == SAE_OK &&
                  layers[0] != 0;
    if (!layered && !resume) {
        int64_t given = 0, dflt = 0;
        sae_config_t *fresh = NULL;
        if (sae_config_create(&fresh) == SAE_OK) {
            sae_config_get_int(fresh, SAE_P_INPUT_DIM, &dflt);
            sae_config_free(fresh);
        }
        sae_config_get_int(cfg, SAE_P_INPUT_DIM, &given);
        if (given != dflt && (uint64_t)given != set.dim) {
            rc = cli_usage(cmd, "arch.input_dim = %lld, but the data's rows hold %zu values "
                           "(leave the key out: it comes from the data)", (long long)given,
                           set.dim);
            goto done;
        }
        if (sae_config_set_int(cfg, SAE_P_INPUT_DIM, (int64_t)set.dim) != SAE_OK) {
            rc = cli_usage(cmd, "the data's rows hold %zu values: %s", set.dim,
                           sae_config_errmsg(cfg));
            goto done;
        }
    }
    sae_status_t s = SAE_OK;
    if (!resume && (s = sae_model_create(cfg, &model)) != SAE_OK) {
        rc = config_status(s) ? cli_usage(cmd, "%s", sae_last_error())
                              : cli_fail(cmd, "%s", sae_last_error());
        goto done;
    }
    if (sae_model_input_dim(model) != set.dim) {
        rc = resume ? cli_fail(cmd, "the checkpoint's model takes rows of %zu values, the "
                               "data's hold %zu", sae_model_input_dim(model), set.dim)
                    : cli_usage(cmd, "the model's input holds %zu values (arch.layers), the "
                                "data's rows %zu", sae_model_input_dim(model), set.dim);
        goto done;
    }
    if (!resume && (s = sae_trainer_create(model, &trainer)) != SAE_OK) {
        rc = cli_fail(cmd, "%s", sae_last_error());
        goto done;
    }
    if (shuffle) {
        int64_t seed = 0;
        sae_config_get_int(cfg, SAE_P_SEED, &seed);
        if (cli_stream_init(&stream, &set, (size_t)shuffle, (uint64_t)seed) < 0) {
            rc = cli_fail(cmd, "%s", sd_errmsg());
            goto done;
        }
        streaming = 1;
    } else if ((rc = cli_data_load(cmd, &set, &x)) != CLI_OK) {
        goto done;
    }

    int64_t batch = 1;
    sae_config_get_int(cfg, SAE_P_BATCH_SIZE, &batch);
    uint64_t per_epoch = (set.rows + (uint64_t)batch - 1) / (uint64_t)batch;
    char optim[16] = "";
    if (sae_config_get(cfg, "optim.type", optim, sizeof optim) == SAE_OK &&
        strcmp(optim, "lbfgs") == 0)
        per_epoch = 1; /* an L-BFGS iteration is a step and an epoch */
    /* The run's total in steps; a resumed run trains what is left. */
    uint64_t total = steps ? steps : epochs * per_epoch, done_steps = sae_trainer_steps(trainer);
    run.trainer = trainer;
    run.dead_after = set.rows < 10000000 ? set.rows : 10000000;
    run.progress.log = log.fp;
    run.progress.log_every = log_every;
    run.ckpt = ckpt;
    run.ckpt_every = ckpt_every;
    cli_progress_init(&run.progress, quiet, total, done_steps);
    sae_trainer_set_callback(trainer, on_progress, &run);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (done_steps >= total)
        s = SAE_OK;
    else if (streaming)
        s = sae_trainer_fit_source(trainer, cli_stream_ops(), &stream, 0, total - done_steps);
    else
        s = sae_trainer_fit_steps(trainer, x, set.rows, total - done_steps);
    cli_progress_end(&run.progress);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (log.fp && cli_out_commit(&log) < 0)
        fprintf(stderr, "sae train: the log %s could not be written: %s\n", log_path,
                strerror(errno));
    if (s == SAE_ERR_CANCELLED && run.ckpt_failed) {
        rc = cli_fail(cmd, "checkpoint %s: %s", ckpt, sae_trainer_errmsg(trainer));
        goto done;
    }
    if (s == SAE_ERR_CANCELLED && interrupted) {
        const char *sig = interrupted == SIGINT ? "SIGINT" : "SIGTERM";
        unsigned long long at = (unsigned long long)sae_trainer_steps(trainer);
        if (sae_trainer_save_checkpoint(trainer, ckpt_path) != SAE_OK) {
            rc = cli_fail(cmd, "interrupted by %s at step %llu of %llu; the checkpoint %s "
                          "could not be written: %s", sig, at, (unsigned long long)total,
                          ckpt_path, sae_trainer_errmsg(trainer));
            goto done;
        }
        rc = cli_fail(cmd, "interrupted by %s at step %llu of %llu; %s not written; checkpoint "
                      "in %s (continue with: sae train --resume %s and the same --data, data "
                      "options, --shuffle-buffer and --steps/--epochs)", sig, at,
                      (unsigned long long)total, out, ckpt_path, ckpt_path);
        goto done;
    }
    if (s != SAE_OK) {
        rc = cli_fail(cmd, "%s", sae_trainer_errmsg(trainer));
        goto done;
    }
    if (sae_model_save(model, out) != SAE_OK) {
        rc = cli_fail(cmd, "%s", sae_model_errmsg(model));
        goto done;
    }
    if (!quiet)
        printf("%s: %zu -> %zu, %llu steps on %zu rows in %.1f s\n", out,
               sae_model_input_dim(model), sae_model_code_dim(model),
               (unsigned long long)sae_trainer_steps(trainer), set.rows,
               cli_now() - run.progress.t0);
    rc = CLI_OK;
done:
    cli_out_abort(&log);
    cli_stream_free(&stream);
    free(ckpt_default);
    free(x);
    sd_set_close(&set);
    sae_trainer_free(trainer);
    sae_model_free(model);
    sae_config_free(cfg);
    free(data);
    free(sets);
    return rc;
}
