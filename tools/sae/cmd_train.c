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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mpi.h"
#include "progress.h"
#include "shard.h"
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
    cli_mpi_t *mpi;      /* --mpi: stops are agreed by all ranks */
    int mpi_failed;
    uint64_t die_at;     /* SAE_MPI_TEST_DIE=RANK:STEP (tests/mpi) */
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
            sae_trainer_save_checkpoint(r->trainer, r->ckpt) != SAE_OK)
            r->ckpt_failed = 1;
    }
    /* The fault test's dying rank (tests/mpi): SIGKILL, as a crash. */
    if (r->mpi && kind == SAE_PROGRESS_STEP && r->die_at && s->step == r->die_at)
        raise(SIGKILL);
    int stop = interrupted || r->ckpt_failed;
    /* Under --mpi every rank stops at the same step, or none does. */
    if (r->mpi) {
        stop = cli_mpi_any(r->mpi, stop);
        r->mpi_failed = stop < 0;
    }
    return stop != 0;
}

/* --mpi: the checks every rank makes together before training (the same
 * data, a block for every rank, the same configuration), then the reducer
 * and the rank's shard. Messages every rank would give come from rank 0. */
static int mpi_setup(cli_mpi_t *mpi, const sae_config_t *cfg, const sd_set_t *set,
                     sae_trainer_t *trainer, cli_shard_t *shard)
{
    const char *cmd = "train";
    int rank0 = mpi->rank == 0;
    unsigned long long rows0 = set->rows;
    if (cli_mpi_bcast_u64(mpi, &rows0) < 0)
        return cli_fail(cmd, "--mpi: %s", mpi->err);
    int differ = cli_mpi_any(mpi, rows0 != set->rows);
    if (differ < 0)
        return cli_fail(cmd, "--mpi: %s", mpi->err);
    if (differ)
        return rows0 != set->rows
                   ? cli_fail(cmd, "--mpi: rank %d has %zu rows of data, rank 0 has %llu: every "
                                   "rank needs the same --data",
                              mpi->rank, set->rows, rows0)
                   : (rank0 ? cli_fail(cmd, "--mpi: the ranks' data differ in rows: every rank "
                                            "needs the same --data")
                            : CLI_FAIL);
    int64_t b = 1;
    sae_config_get_int(cfg, SAE_P_BATCH_SIZE, &b);
    if (cli_shard_rows(set->rows, (size_t)b, mpi->size - 1, mpi->size) == 0) {
        size_t blocks = (set->rows + (size_t)b - 1) / (size_t)b;
        return rank0 ? cli_fail(cmd,
                                "--mpi: %zu rows in blocks of train.batch_size = %lld rows make "
                                "%zu blocks: ranks %zu..%d of %d would have no data (use at most "
                                "%zu ranks or a smaller batch size)",
                                set->rows, (long long)b, blocks, blocks, mpi->size - 1, mpi->size,
                                blocks)
                     : CLI_FAIL;
    }
    sae_reducer_ops_t ops = cli_mpi_ops(mpi);
    sae_status_t st = sae_trainer_set_reducer(trainer, &ops, mpi);
    if (st == SAE_ERR_MISMATCH)
        return cli_fail(cmd, "--mpi: rank %d: %s", mpi->rank, sae_trainer_errmsg(trainer));
    if (st != SAE_OK)
        return cli_fail(cmd, "--mpi: rank %d: %s", mpi->rank, sae_trainer_errmsg(trainer));
    char sampling[32] = "";
    sae_config_get(cfg, "train.sampling", sampling, sizeof sampling);
    int64_t seed = 0;
    sae_config_get_int(cfg, SAE_P_SEED, &seed);
    if (cli_shard_init(shard, set, (size_t)b, mpi->rank, mpi->size,
                       strcmp(sampling, "sequential") != 0, (uint64_t)seed) < 0)
        return cli_fail(cmd, "%s", sd_errmsg());
    return CLI_OK;
}

/* The total in steps: --steps, or --epochs of ceil(rows / batch size)
 * steps (an L-BFGS iteration is a step and an epoch); under --mpi the
 * batch is the ranks' together. */
static uint64_t total_steps(const train_opts_t *o, const sae_config_t *cfg, size_t rows,
                           int ranks)
{
    int64_t batch = 1;
    sae_config_get_int(cfg, SAE_P_BATCH_SIZE, &batch);
    batch *= ranks;
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
    cli_mpi_t mpi;
    memset(&mpi, 0, sizeof mpi);
    mpi.size = 1;
    cli_shard_t shard;
    memset(&shard, 0, sizeof shard);
    int mpi_on = 0, collective_end = 0;
    sae_status_t s = SAE_OK;
    int rc = train_parse(argc, argv, &o);
    if (rc >= 0)
        goto done;
    if (o.mpi) {
        if (cli_mpi_init(&mpi, NULL, NULL, &interrupted) < 0) {
            rc = CLI_FAIL;
            goto done;
        }
        mpi_on = 1;
        /* Rank 0 speaks and writes; the others train. */
        if (mpi.rank != 0) {
            o.quiet = 1;
            o.log_path = NULL;
            o.ckpt_every = 0;
        }
    }
    int rank0 = mpi.rank == 0;
    /* The configuration, all of it checked before any data is read. */
    if ((rc = train_config(&o, &cfg, &model, &trainer)) != CLI_OK)
        goto done;
    /* The outputs' folders must take a file before hours of training. */
    if (rank0 && cli_out_open(&probe, o.out) < 0) {
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
    if (mpi_on && (rc = mpi_setup(&mpi, cfg, &set, trainer, &shard)) != CLI_OK) {
        /* The refusals every rank makes the same: a collective end. */
        collective_end = 1;
        goto done;
    }
    int streaming = o.shuffle > 0;
    if (streaming) {
        int64_t seed = 0;
        sae_config_get_int(cfg, SAE_P_SEED, &seed);
        if (cli_stream_init(&stream, &set, (size_t)o.shuffle, (uint64_t)seed) < 0) {
            rc = cli_fail(cmd, "%s", sd_errmsg());
            goto done;
        }
    } else if (!mpi_on && (rc = cli_data_load(cmd, &set, &x)) != CLI_OK) {
        goto done;
    }

    /* A resumed run trains what is left of the total. */
    uint64_t total = total_steps(&o, cfg, set.rows, mpi.size);
    uint64_t done_steps = sae_trainer_steps(trainer);
    run.trainer = trainer;
    run.dead_after = set.rows < 10000000 ? set.rows : 10000000;
    run.progress.log = log.fp;
    run.progress.log_every = o.log_every;
    run.ckpt = o.ckpt;
    run.ckpt_every = o.ckpt_every;
    run.mpi = mpi_on ? &mpi : NULL;
    const char *die = getenv("SAE_MPI_TEST_DIE");
    int die_rank = -1;
    unsigned long long die_step = 0;
    if (mpi_on && die && sscanf(die, "%d:%llu", &die_rank, &die_step) == 2 &&
        die_rank == mpi.rank)
        run.die_at = die_step;
    cli_progress_init(&run.progress, o.quiet, total, done_steps);
    sae_trainer_set_callback(trainer, on_progress, &run);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    double t_fit = cli_now();
    if (done_steps < total)
        s = mpi_on      ? sae_trainer_fit_source(trainer, cli_shard_ops(), &shard, 0,
                                                 total - done_steps)
            : streaming ? sae_trainer_fit_source(trainer, cli_stream_ops(), &stream, 0,
                                                 total - done_steps)
                        : sae_trainer_fit_steps(trainer, x, set.rows, total - done_steps);
    t_fit = cli_now() - t_fit;
    /* Every rank ends these together (the reducer agreed on them). */
    collective_end = s == SAE_OK || s == SAE_ERR_DIVERGED ||
                     (s == SAE_ERR_CANCELLED && !run.mpi_failed);
    cli_progress_end(&run.progress);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (log.fp && cli_out_commit(&log) < 0)
        fprintf(stderr, "sae train: the log %s could not be written: %s\n", o.log_path,
                strerror(errno));
    if (mpi_on && !rank0 && s == SAE_ERR_CANCELLED && !run.mpi_failed) {
        rc = CLI_FAIL; /* rank 0 tells why */
        goto done;
    }
    if (mpi_on && (run.mpi_failed || s == SAE_ERR_REDUCER)) {
        rc = cli_fail(cmd, "--mpi: rank %d of %d stopped at step %llu: %s%s%s%s", mpi.rank,
                      mpi.size, (unsigned long long)sae_trainer_steps(trainer),
                      run.mpi_failed ? mpi.err : sae_trainer_errmsg(trainer),
                      o.ckpt ? "; the last checkpoint, " : "", o.ckpt ? o.ckpt : "",
                      o.ckpt ? ", is intact" : "");
        goto done;
    }
    if (s == SAE_ERR_CANCELLED && run.ckpt_failed) {
        rc = cli_fail(cmd, "checkpoint %s: %s", o.ckpt, sae_trainer_errmsg(trainer));
        goto done;
    }
    if (s == SAE_ERR_CANCELLED && (interrupted || mpi_on)) {
        if (!interrupted)
            interrupted = SIGTERM; /* another rank's signal */
        rc = on_interrupt(&o, trainer, total);
        goto done;
    }
    if (s != SAE_OK) {
        rc = mpi_on ? cli_fail(cmd, "--mpi: rank %d of %d: %s", mpi.rank, mpi.size,
                               sae_trainer_errmsg(trainer))
                    : cli_fail(cmd, "%s", sae_trainer_errmsg(trainer));
        goto done;
    }
    if (!rank0) {
        /* SAE_MPI_SAVE_ALL=1: every rank writes OUT.rankN, for the test
         * that the ranks' models are the same to the bit. */
        const char *all = getenv("SAE_MPI_SAVE_ALL");
        rc = CLI_OK;
        if (all && strcmp(all, "1") == 0) {
            char path[4096];
            snprintf(path, sizeof path, "%s.rank%d", o.out, mpi.rank);
            if (sae_model_save(model, path) != SAE_OK)
                rc = cli_fail(cmd, "%s", sae_model_errmsg(model));
        }
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
    /* What the run spent waiting on the other ranks (the benchmark reads
     * this line). */
    if (mpi_on && !o.quiet && done_steps < total)
        printf("mpi: %d ranks, %llu steps in %.3f s, %.3f s in collectives (%.1f%%), %.0f "
               "gradient bytes a step\n",
               mpi.size, (unsigned long long)(total - done_steps), t_fit, mpi.comm_seconds,
               t_fit > 0 ? 100.0 * mpi.comm_seconds / t_fit : 0.0,
               (double)mpi.float_bytes / (double)(total - done_steps));
    rc = CLI_OK;
done:
    if (mpi_on)
        cli_mpi_finish(&mpi, collective_end);
    cli_shard_free(&shard);
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
