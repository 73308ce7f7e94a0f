/* SPDX-License-Identifier: MIT */
/* sae train: a model from data files. The configuration (file, --set,
 * --threads) is checked by the library before any data is read; the data's
 * headers then give arch.input_dim, and a model made from the whole config
 * is checked before the rows are read. The rows are read into memory, or
 * with --shuffle-buffer streamed from the mapped files (stream.c).
 * Checkpoints: every --checkpoint-every steps, and on SIGINT or SIGTERM;
 * --resume continues one to the run's total (--steps or --epochs). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "progress.h"
#include "stream.h"
#include "train.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    interrupted = sig;
}

/* After SIGINT or SIGTERM: a checkpoint, and how to go on. */
static int on_interrupt(const train_opts_t *o, sae_trainer_t *trainer, uint64_t total)
{
    const char *sig = interrupted == SIGINT ? "SIGINT" : "SIGTERM", *path = train_ckpt_path(o);
    unsigned long long at = (unsigned long long)sae_trainer_steps(trainer);
    if (sae_trainer_save_checkpoint(trainer, path) != SAE_OK)
        return cli_fail("train",
                        "interrupted by %s at step %llu of %llu; the checkpoint %s "
                        "could not be written: %s",
                        sig, at, (unsigned long long)total, path, sae_trainer_errmsg(trainer));
    return cli_fail("train",
                    "interrupted by %s at step %llu of %llu; %s not written; "
                    "checkpoint in %s (continue with: sae train --resume %s and the "
                    "same --data, data options, --shuffle-buffer and --steps/--epochs)",
                    sig, at, (unsigned long long)total, o->out, path, path);
}

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

/* The total in steps: --steps, or --epochs of ceil(rows / batch size)
 * steps (an L-BFGS iteration is a step and an epoch). */
static uint64_t total_steps(const train_opts_t *o, const sae_config_t *cfg, size_t rows)
{
    int64_t batch = 1;
    sae_config_get_int(cfg, SAE_P_BATCH_SIZE, &batch);
    uint64_t per_epoch = (rows + (uint64_t)batch - 1) / (uint64_t)batch;
    char optim[16] = "";
    if (sae_config_get(cfg, "optim.type", optim, sizeof optim) == SAE_OK &&
        strcmp(optim, "lbfgs") == 0)
        per_epoch = 1;
    return o->steps ? o->steps : o->epochs * per_epoch;
}

int cmd_train(int argc, char **argv)
{
    const char *cmd = "train";
    train_opts_t o;
    cli_stream_t stream;
    memset(&stream, 0, sizeof stream);
    sae_config_t *cfg = NULL;
    sae_model_t *model = NULL;
    sae_trainer_t *trainer = NULL;
    sd_set_t set = {0};
    float *x = NULL;
    cli_out_t log = {0}, probe = {0};
    run_t run;
    memset(&run, 0, sizeof run);
    int rc = train_parse(argc, argv, &o);
    if (rc >= 0)
        goto done;
    /* The configuration, all of it checked before any data is read. */
    if ((rc = train_config(&o, &cfg, &model, &trainer)) != CLI_OK)
        goto done;
    /* The outputs' folders must take a file before hours of training. */
    if (cli_out_open(&probe, o.out) < 0) {
        rc = cli_fail(cmd, "cannot write %s: %s", o.out, strerror(errno));
        goto done;
    }
    cli_out_abort(&probe);
    if (o.log_path && cli_out_open(&log, o.log_path) < 0) {
        rc = cli_fail(cmd, "cannot write %s: %s", o.log_path, strerror(errno));
        goto done;
    }
    /* The data's headers give the input dimension. */
    if ((rc = cli_data_open(cmd, &set, o.data, o.n_data, &o.dopt)) != CLI_OK ||
        (rc = train_model(&o, cfg, &set, &model, &trainer)) != CLI_OK)
        goto done;
    int streaming = o.shuffle > 0;
    if (streaming) {
        int64_t seed = 0;
        sae_config_get_int(cfg, SAE_P_SEED, &seed);
        if (cli_stream_init(&stream, &set, (size_t)o.shuffle, (uint64_t)seed) < 0) {
            rc = cli_fail(cmd, "%s", sd_errmsg());
            goto done;
        }
    } else if ((rc = cli_data_load(cmd, &set, &x)) != CLI_OK) {
        goto done;
    }

    /* A resumed run trains what is left of the total. */
    uint64_t total = total_steps(&o, cfg, set.rows), done_steps = sae_trainer_steps(trainer);
    run.trainer = trainer;
    run.dead_after = set.rows < 10000000 ? set.rows : 10000000;
    run.progress.log = log.fp;
    run.progress.log_every = o.log_every;
    run.ckpt = o.ckpt;
    run.ckpt_every = o.ckpt_every;
    cli_progress_init(&run.progress, o.quiet, total, done_steps);
    sae_trainer_set_callback(trainer, on_progress, &run);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sae_status_t s = SAE_OK;
    if (done_steps < total)
        s = streaming
                ? sae_trainer_fit_source(trainer, cli_stream_ops(), &stream, 0, total - done_steps)
                : sae_trainer_fit_steps(trainer, x, set.rows, total - done_steps);
    cli_progress_end(&run.progress);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (log.fp && cli_out_commit(&log) < 0)
        fprintf(stderr, "sae train: the log %s could not be written: %s\n", o.log_path,
                strerror(errno));
    if (s == SAE_ERR_CANCELLED && run.ckpt_failed) {
        rc = cli_fail(cmd, "checkpoint %s: %s", o.ckpt, sae_trainer_errmsg(trainer));
        goto done;
    }
    if (s == SAE_ERR_CANCELLED && interrupted) {
        rc = on_interrupt(&o, trainer, total);
        goto done;
    }
    if (s != SAE_OK) {
        rc = cli_fail(cmd, "%s", sae_trainer_errmsg(trainer));
        goto done;
    }
    if (sae_model_save(model, o.out) != SAE_OK) {
        rc = cli_fail(cmd, "%s", sae_model_errmsg(model));
        goto done;
    }
    if (!o.quiet)
        printf("%s: %zu -> %zu, %llu steps on %zu rows in %.1f s\n", o.out,
               sae_model_input_dim(model), sae_model_code_dim(model),
               (unsigned long long)sae_trainer_steps(trainer), set.rows,
               cli_now() - run.progress.t0);
    rc = CLI_OK;
done:
    cli_out_abort(&log);
    cli_stream_free(&stream);
    free(x);
    sd_set_close(&set);
    sae_trainer_free(trainer);
    sae_model_free(model);
    sae_config_free(cfg);
    train_opts_free(&o);
    return rc;
}
