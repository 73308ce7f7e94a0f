/* Data-parallel training through a reducer (sae_trainer_set_reducer): ranks
 * simulated by threads sharing an in-process reducer train the model one
 * process trains on the same global batches (within float rounding),
 * bitwise equal across ranks; a non-finite loss on one rank stops all; a
 * mismatched config is refused; a failing reducer gives SAE_ERR_REDUCER.
 * SPDX-License-Identifier: MIT */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define MAX_RANKS 4

/* The in-process engine: each rank posts its buffer, rank 0 sums them in
 * rank order (as a deterministic MPI_Allreduce would), all copy back. */
typedef struct group {
    int ranks;
    pthread_barrier_t bar;
    void *slot[MAX_RANKS];
    double *dsum;
    float *fsum;
    size_t cap;
} group_t;

typedef struct rank_ctx {
    group_t *g;
    int rank;
    int fail_at; /* this call (1-based) fails, 0: never */
    int calls;
} rank_ctx_t;

static int ar_float(void *u, float *buf, size_t n)
{
    rank_ctx_t *c = u;
    group_t *g = c->g;
    if (++c->calls == c->fail_at)
        return 7;
    assert_true(n <= g->cap);
    g->slot[c->rank] = buf;
    pthread_barrier_wait(&g->bar);
    if (c->rank == 0)
        for (size_t i = 0; i < n; i++) {
            float s = 0.0f;
            for (int r = 0; r < g->ranks; r++)
                s += ((float *)g->slot[r])[i];
            g->fsum[i] = s;
        }
    pthread_barrier_wait(&g->bar);
    memcpy(buf, g->fsum, n * sizeof *buf);
    pthread_barrier_wait(&g->bar);
    return 0;
}

static int ar_double(void *u, double *buf, size_t n)
{
    rank_ctx_t *c = u;
    group_t *g = c->g;
    if (++c->calls == c->fail_at)
        return 7;
    assert_true(n <= g->cap);
    g->slot[c->rank] = buf;
    pthread_barrier_wait(&g->bar);
    if (c->rank == 0)
        for (size_t i = 0; i < n; i++) {
            double s = 0.0;
            for (int r = 0; r < g->ranks; r++)
                s += ((double *)g->slot[r])[i];
            g->dsum[i] = s;
        }
    pthread_barrier_wait(&g->bar);
    memcpy(buf, g->dsum, n * sizeof *buf);
    pthread_barrier_wait(&g->bar);
    return 0;
}

static int bcast(void *u, void *buf, size_t bytes)
{
    rank_ctx_t *c = u;
    group_t *g = c->g;
    if (++c->calls == c->fail_at)
        return 7;
    g->slot[c->rank] = buf;
    pthread_barrier_wait(&g->bar);
    if (c->rank != 0)
        memcpy(buf, g->slot[0], bytes);
    pthread_barrier_wait(&g->bar);
    return 0;
}

static const char *red_msg(void *u)
{
    (void)u;
    return "peer 1 is gone";
}

static sae_reducer_ops_t ops_for(int rank, int ranks)
{
    sae_reducer_ops_t o = {
        .struct_size = sizeof(sae_reducer_ops_t),
        .rank = rank,
        .ranks = ranks,
        .allreduce_float = ar_float,
        .allreduce_double = ar_double,
        .broadcast = bcast,
        .errmsg = red_msg,
    };
    return o;
}

static void group_init(group_t *g, int ranks)
{
    memset(g, 0, sizeof *g);
    g->ranks = ranks;
    g->cap = 1 << 16;
    g->dsum = malloc(g->cap * sizeof *g->dsum);
    g->fsum = malloc(g->cap * sizeof *g->fsum);
    pthread_barrier_init(&g->bar, NULL, (unsigned)ranks);
}

static void group_free(group_t *g)
{
    pthread_barrier_destroy(&g->bar);
    free(g->dsum);
    free(g->fsum);
}

/* One rank's run: its own model from cfg, its shard, steps steps. */
typedef struct job {
    rank_ctx_t ctx;
    const sae_config_t *cfg;
    const float *x;
    size_t rows;
    uint64_t steps;
    sae_model_t *model;
    sae_trainer_t *trainer;
    sae_status_t set_st, fit_st;
    char msg[512];
    sae_stats_t last;
} job_t;

static int keep_last(sae_progress_kind_t kind, const sae_stats_t *s, void *u)
{
    if (kind == SAE_PROGRESS_STEP)
        ((job_t *)u)->last = *s;
    return 0;
}

static void *run_rank(void *p)
{
    job_t *j = p;
    if (!j->model) {
        assert_int_equal(sae_model_create(j->cfg, &j->model), SAE_OK);
        assert_int_equal(sae_trainer_create(j->model, &j->trainer), SAE_OK);
    }
    sae_reducer_ops_t o = ops_for(j->ctx.rank, j->ctx.g->ranks);
    j->set_st = sae_trainer_set_reducer(j->trainer, &o, &j->ctx);
    j->fit_st = j->set_st;
    sae_trainer_set_callback(j->trainer, keep_last, j);
    if (j->set_st == SAE_OK)
        j->fit_st = sae_trainer_fit_steps(j->trainer, j->x, j->rows, j->steps);
    snprintf(j->msg, sizeof j->msg, "%s", sae_trainer_errmsg(j->trainer));
    return NULL;
}

/* Rows of x in blocks of b, dealt to the ranks in turn (block i to rank
 * i mod ranks): sequential batches of b rows on each rank then make the
 * global batches of ranks x b consecutive rows one process takes. */
static float *shard(const float *x, size_t rows, size_t d, size_t b, int rank, int ranks,
                    size_t *out_rows)
{
    float *s = malloc(rows * d * sizeof *s);
    size_t n = 0;
    for (size_t blk = (size_t)rank; blk * b < rows; blk += (size_t)ranks) {
        size_t k = rows - blk * b < b ? rows - blk * b : b;
        memcpy(s + n * d, x + blk * b * d, k * d * sizeof *s);
        n += k;
    }
    *out_rows = n;
    return s;
}

/* The model's tensors, one after the other, into a new array. */
static float *weights(const sae_model_t *m, size_t *n)
{
    const char *name;
    size_t r, c, total = 0;
    const float *p;
    for (size_t i = 0; i < sae_model_tensor_count(m); i++) {
        assert_int_equal(sae_model_tensor(m, i, &name, &r, &c, &p), SAE_OK);
        total += r * c;
    }
    float *w = malloc(total * sizeof *w);
    total = 0;
    for (size_t i = 0; i < sae_model_tensor_count(m); i++) {
        assert_int_equal(sae_model_tensor(m, i, &name, &r, &c, &p), SAE_OK);
        memcpy(w + total, p, r * c * sizeof *w);
        total += r * c;
    }
    *n = total;
    return w;
}

static sae_config_t *config(const char *code, size_t batch)
{
    sae_config_t *cfg = tu_config(12, 24);
    char b[32];
    snprintf(b, sizeof b, "%zu", batch);
    assert_int_equal(sae_config_set(cfg, "train.batch_size", b), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "train.sampling", "sequential"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "optim.type", "adam"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "optim.lr", "0.01"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "train.threads", "1"), SAE_OK);
    if (strcmp(code, "l1") == 0) {
        assert_int_equal(sae_config_set(cfg, "arch.hidden_activation", "relu"), SAE_OK);
        assert_int_equal(sae_config_set(cfg, "l1.weight", "0.01"), SAE_OK);
        assert_int_equal(sae_config_set(cfg, "decay.l2", "0.001"), SAE_OK);
    } else {
        assert_int_equal(sae_config_set(cfg, "arch.hidden_activation", "relu"), SAE_OK);
        assert_int_equal(sae_config_set(cfg, "topk.k", "4"), SAE_OK);
        assert_int_equal(sae_config_set(cfg, "arch.unit_norm_decoder", "true"), SAE_OK);
    }
    return cfg;
}

/* ranks threads on shards of b rows per step against one process on
 * batches of ranks x b rows: rows not a multiple of the global batch, so
 * that the last steps are short (and a rank takes part with none). */
static void check_equal_to_one_process(const char *code, int ranks, size_t b, size_t rows,
                                       uint64_t steps)
{
    size_t d = 12;
    float *x = malloc(rows * d * sizeof *x);
    tu_fill_uniform(x, rows * d, 0.0f, 1.0f, 5);
    sae_config_t *one_cfg = config(code, b * (size_t)ranks), *cfg = config(code, b);
    sae_model_t *m1;
    sae_trainer_t *t1;
    assert_int_equal(sae_model_create(one_cfg, &m1), SAE_OK);
    assert_int_equal(sae_trainer_create(m1, &t1), SAE_OK);
    assert_int_equal(sae_trainer_fit_steps(t1, x, rows, steps), SAE_OK);
    sae_stats_t one_eval;
    assert_int_equal(sae_trainer_evaluate(t1, x, rows, &one_eval), SAE_OK);

    group_t g;
    group_init(&g, ranks);
    job_t jobs[MAX_RANKS];
    pthread_t th[MAX_RANKS];
    float *shards[MAX_RANKS];
    memset(jobs, 0, sizeof jobs);
    for (int r = 0; r < ranks; r++) {
        shards[r] = shard(x, rows, d, b, r, ranks, &jobs[r].rows);
        jobs[r].x = shards[r];
        jobs[r].ctx.g = &g;
        jobs[r].ctx.rank = r;
        jobs[r].cfg = cfg;
        jobs[r].steps = steps;
        pthread_create(&th[r], NULL, run_rank, &jobs[r]);
    }
    for (int r = 0; r < ranks; r++)
        pthread_join(th[r], NULL);
    for (int r = 0; r < ranks; r++)
        if (jobs[r].fit_st != SAE_OK)
            fail_msg("rank %d: %s", r, jobs[r].msg);
    size_t n1, n;
    float *w1 = weights(m1, &n1), *w0 = weights(jobs[0].model, &n);
    assert_int_equal(n, n1);
    /* The ranks' models are the same to the bit. */
    for (int r = 1; r < ranks; r++) {
        size_t nr;
        float *wr = weights(jobs[r].model, &nr);
        assert_memory_equal(w0, wr, n * sizeof *w0);
        free(wr);
        assert_int_equal(sae_trainer_steps(jobs[r].trainer), steps);
        assert_int_equal(sae_trainer_epochs(jobs[r].trainer), sae_trainer_epochs(t1));
    }
    /* ... and one process's within float rounding: the gradient's sum
     * order differs (ranks' partial sums), and Adam's steps amplify it a
     * little over the run. */
    double maxrel = 0.0;
    for (size_t i = 0; i < n; i++) {
        double den = fabs(w1[i]) > 1e-3 ? fabs(w1[i]) : 1e-3;
        double rel = fabs((double)w0[i] - w1[i]) / den;
        maxrel = rel > maxrel ? rel : maxrel;
    }
    printf("# %s, %d ranks x %zu rows vs 1 x %zu, %llu steps: max rel diff %.3g\n", code, ranks,
           b, b * (size_t)ranks, (unsigned long long)steps, maxrel);
    assert_true(maxrel < 1e-3);
    free(w0);
    free(w1);
    /* The statistics are the global batch's on every rank. */
    assert_true(jobs[0].last.samples == jobs[1].last.samples);
    assert_true(jobs[0].last.loss == jobs[ranks - 1].last.loss);
    /* The activity counts agree with the one process's. */
    double f1[24], fr[24];
    assert_int_equal(sae_trainer_unit_activity(t1, f1, 24, 0, NULL), SAE_OK);
    assert_int_equal(sae_trainer_unit_activity(jobs[ranks - 1].trainer, fr, 24, 0, NULL), SAE_OK);
    for (size_t j = 0; j < 24; j++)
        assert_true(fabs(f1[j] - fr[j]) <= 0.02);
    for (int r = 0; r < ranks; r++) {
        sae_trainer_free(jobs[r].trainer);
        sae_model_free(jobs[r].model);
        free(shards[r]);
    }
    group_free(&g);
    sae_trainer_free(t1);
    sae_model_free(m1);
    sae_config_free(one_cfg);
    sae_config_free(cfg);
    free(x);
}

static void test_two_ranks_l1(void **state)
{
    (void)state;
    check_equal_to_one_process("l1", 2, 8, 250, 200);
}

static void test_three_ranks_topk(void **state)
{
    (void)state;
    /* 250 rows in blocks of 8: the 11th global step has blocks 30 and 31
     * (2 rows) only: rank 2 takes part with none. */
    check_equal_to_one_process("topk", 3, 8, 250, 200);
}

/* One rank's rows overflow the loss: every rank stops with
 * SAE_ERR_DIVERGED at the same step, with the same weights. */
static void test_nonfinite_on_one_rank_stops_all(void **state)
{
    (void)state;
    size_t d = 12, rows = 64;
    float *x0 = malloc(rows * d * sizeof *x0), *x1 = malloc(rows * d * sizeof *x1);
    tu_fill_uniform(x0, rows * d, 0.0f, 1.0f, 1);
    tu_fill_uniform(x1, rows * d, 0.0f, 1.0f, 2);
    for (size_t i = 40 * d; i < 48 * d; i++)
        x1[i] = 3e37f; /* the squared error overflows */
    sae_config_t *cfg = config("l1", 8);
    group_t g;
    group_init(&g, 2);
    job_t jobs[2];
    memset(jobs, 0, sizeof jobs);
    pthread_t th[2];
    const float *xs[2] = {x0, x1};
    for (int r = 0; r < 2; r++) {
        jobs[r] = (job_t){.ctx = {&g, r, 0, 0}, .cfg = cfg, .x = xs[r], .rows = rows, .steps = 20};
        pthread_create(&th[r], NULL, run_rank, &jobs[r]);
    }
    for (int r = 0; r < 2; r++)
        pthread_join(th[r], NULL);
    assert_int_equal(jobs[0].fit_st, SAE_ERR_DIVERGED);
    assert_int_equal(jobs[1].fit_st, SAE_ERR_DIVERGED);
    assert_non_null(strstr(jobs[0].msg, "on 1 of the 2 ranks"));
    assert_non_null(strstr(jobs[1].msg, "loss became"));
    /* Step 6 found it; train.rollback took both back to step 4. */
    assert_int_equal(sae_trainer_steps(jobs[0].trainer), 4);
    assert_int_equal(sae_trainer_steps(jobs[1].trainer), 4);
    size_t n;
    float *w0 = weights(jobs[0].model, &n), *w1 = weights(jobs[1].model, &n);
    assert_memory_equal(w0, w1, n * sizeof *w0);
    free(w0);
    free(w1);
    for (int r = 0; r < 2; r++) {
        sae_trainer_free(jobs[r].trainer);
        sae_model_free(jobs[r].model);
    }
    group_free(&g);
    sae_config_free(cfg);
    free(x0);
    free(x1);
}

/* Ranks with other settings are refused before any step, on every rank. */
static void test_mismatched_config_refused(void **state)
{
    (void)state;
    size_t d = 12, rows = 32;
    float *x = malloc(rows * d * sizeof *x);
    tu_fill_uniform(x, rows * d, 0.0f, 1.0f, 1);
    sae_config_t *c0 = config("l1", 8), *c1 = config("l1", 8);
    assert_int_equal(sae_config_set(c1, "l1.weight", "0.02"), SAE_OK);
    /* The thread count is each rank's own. */
    assert_int_equal(sae_config_set(c0, "train.threads", "2"), SAE_OK);
    group_t g;
    group_init(&g, 2);
    job_t jobs[2];
    pthread_t th[2];
    const sae_config_t *cs[2] = {c0, c1};
    for (int r = 0; r < 2; r++) {
        jobs[r] = (job_t){.ctx = {&g, r, 0, 0}, .cfg = cs[r], .x = x, .rows = rows, .steps = 3};
        pthread_create(&th[r], NULL, run_rank, &jobs[r]);
    }
    for (int r = 0; r < 2; r++)
        pthread_join(th[r], NULL);
    for (int r = 0; r < 2; r++) {
        assert_int_equal(jobs[r].set_st, SAE_ERR_MISMATCH);
        assert_int_equal(sae_trainer_steps(jobs[r].trainer), 0);
    }
    assert_non_null(strstr(jobs[0].msg, "another rank's configuration"));
    assert_non_null(strstr(jobs[1].msg, "this rank's configuration"));
    /* Same settings but the thread count: accepted. */
    assert_int_equal(sae_config_set(c1, "l1.weight", "0.01"), SAE_OK);
    for (int r = 0; r < 2; r++) {
        sae_trainer_free(jobs[r].trainer);
        sae_model_free(jobs[r].model);
        jobs[r] = (job_t){.ctx = {&g, r, 0, 0}, .cfg = cs[r], .x = x, .rows = rows, .steps = 3};
        pthread_create(&th[r], NULL, run_rank, &jobs[r]);
    }
    for (int r = 0; r < 2; r++)
        pthread_join(th[r], NULL);
    for (int r = 0; r < 2; r++) {
        assert_int_equal(jobs[r].fit_st, SAE_OK);
        sae_trainer_free(jobs[r].trainer);
        sae_model_free(jobs[r].model);
    }
    group_free(&g);
    sae_config_free(c0);
    sae_config_free(c1);
    free(x);
}

/* A reducer that fails at its n-th call: SAE_ERR_REDUCER with its message,
 * the weights those of the last completed step. */
static void test_reducer_failure(void **state)
{
    (void)state;
    size_t d = 12, rows = 32;
    float *x = malloc(rows * d * sizeof *x);
    tu_fill_uniform(x, rows * d, 0.0f, 1.0f, 1);
    sae_config_t *cfg = config("l1", 8);
    group_t g;
    group_init(&g, 1);
    for (int at = 1; at <= 8; at++) {
        job_t j = {.ctx = {&g, 0, at, 0}, .cfg = cfg, .x = x, .rows = rows, .steps = 3};
        run_rank(&j);
        sae_status_t st = at <= 2 ? j.set_st : j.fit_st;
        assert_int_equal(st, SAE_ERR_REDUCER);
        assert_non_null(strstr(j.msg, "peer 1 is gone"));
        assert_non_null(strstr(j.msg, "rank 0 of 1"));
        sae_trainer_free(j.trainer);
        sae_model_free(j.model);
    }
    group_free(&g);
    sae_config_free(cfg);
    free(x);
}

/* A checkpoint (rank 0's) resumed on both ranks continues bit-identically.
 * The in-memory data position is rank 0's: the shards have the same rows
 * (docs/distributed.md). */
static void test_resume(void **state)
{
    (void)state;
    size_t d = 12, rows = 96, b = 8;
    float *x = malloc(rows * d * sizeof *x);
    tu_fill_uniform(x, rows * d, 0.0f, 1.0f, 9);
    sae_config_t *cfg = config("l1", b);
    float *sh[2];
    size_t sr[2];
    for (int r = 0; r < 2; r++)
        sh[r] = shard(x, rows, d, b, r, 2, &sr[r]);
    group_t g;
    group_init(&g, 2);
    job_t full[2], part[2];
    pthread_t th[2];
    for (int r = 0; r < 2; r++) {
        full[r] = (job_t){.ctx = {&g, r, 0, 0}, .cfg = cfg, .x = sh[r], .rows = sr[r], .steps = 20};
        pthread_create(&th[r], NULL, run_rank, &full[r]);
    }
    for (int r = 0; r < 2; r++)
        pthread_join(th[r], NULL);
    for (int r = 0; r < 2; r++) {
        part[r] = (job_t){.ctx = {&g, r, 0, 0}, .cfg = cfg, .x = sh[r], .rows = sr[r], .steps = 9};
        pthread_create(&th[r], NULL, run_rank, &part[r]);
    }
    for (int r = 0; r < 2; r++)
        pthread_join(th[r], NULL);
    char path[512];
    snprintf(path, sizeof path, "%s/r.ckpt", tu_tmpdir());
    assert_int_equal(sae_trainer_save_checkpoint(part[0].trainer, path), SAE_OK);
    for (int r = 0; r < 2; r++) {
        assert_int_equal(part[r].fit_st, SAE_OK);
        sae_trainer_free(part[r].trainer);
        sae_model_free(part[r].model);
        part[r] = (job_t){.ctx = {&g, r, 0, 0}, .cfg = cfg, .x = sh[r], .rows = sr[r], .steps = 11};
        assert_int_equal(sae_trainer_load_checkpoint(path, &part[r].model, &part[r].trainer),
                         SAE_OK);
        pthread_create(&th[r], NULL, run_rank, &part[r]);
    }
    for (int r = 0; r < 2; r++)
        pthread_join(th[r], NULL);
    size_t n;
    for (int r = 0; r < 2; r++) {
        assert_int_equal(part[r].fit_st, SAE_OK);
        float *a = weights(full[r].model, &n), *c = weights(part[r].model, &n);
        assert_memory_equal(a, c, n * sizeof *a);
        free(a);
        free(c);
        sae_trainer_free(full[r].trainer);
        sae_model_free(full[r].model);
        sae_trainer_free(part[r].trainer);
        sae_model_free(part[r].model);
        free(sh[r]);
    }
    group_free(&g);
    sae_config_free(cfg);
    free(x);
}

static void test_errors(void **state)
{
    (void)state;
    sae_config_t *cfg = config("l1", 8);
    sae_model_t *m;
    sae_trainer_t *t;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    group_t g;
    group_init(&g, 1);
    rank_ctx_t c = {&g, 0, 0, 0};
    sae_reducer_ops_t o = ops_for(0, 1);
    tu_assert_status(sae_trainer_set_reducer(NULL, &o, &c), SAE_ERR_NULL);
    o.struct_size = 8;
    tu_assert_status(sae_trainer_set_reducer(t, &o, &c), SAE_ERR_RANGE);
    assert_non_null(strstr(sae_trainer_errmsg(t), "struct_size"));
    o = ops_for(1, 1);
    tu_assert_status(sae_trainer_set_reducer(t, &o, &c), SAE_ERR_RANGE);
    o = ops_for(0, 0);
    tu_assert_status(sae_trainer_set_reducer(t, &o, &c), SAE_ERR_RANGE);
    o = ops_for(0, 1);
    o.broadcast = NULL;
    tu_assert_status(sae_trainer_set_reducer(t, &o, &c), SAE_ERR_BAD_VALUE);
    assert_non_null(strstr(sae_trainer_errmsg(t), "broadcast"));
    o = ops_for(0, 1);
    tu_assert_status(sae_trainer_set_reducer(t, &o, &c), SAE_OK);
    tu_assert_status(sae_trainer_set_reducer(t, NULL, NULL), SAE_OK);
    sae_trainer_free(t);
    sae_model_free(m);
    /* A method without a gradient step. */
    sae_config_free(cfg);
    cfg = tu_config(12, 24);
    assert_int_equal(sae_config_set(cfg, "arch.tied", "true"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "arch.bias", "false"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "arch.hidden_activation", "linear"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "train.algorithm", "nsc"), SAE_OK);
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    tu_assert_status(sae_trainer_set_reducer(t, &o, &c), SAE_ERR_STATE);
    assert_string_equal(sae_status_str(SAE_ERR_REDUCER),
                        "the reducer reported a failure (a peer or the network)");
    assert_string_equal(sae_status_str(SAE_ERR_MISMATCH),
                        "the ranks of a data-parallel run disagree");
    sae_trainer_free(t);
    sae_model_free(m);
    group_free(&g);
    sae_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_ranks_l1),
        cmocka_unit_test(test_three_ranks_topk),
        cmocka_unit_test(test_nonfinite_on_one_rank_stops_all),
        cmocka_unit_test(test_mismatched_config_refused),
        cmocka_unit_test(test_reducer_failure),
        cmocka_unit_test(test_resume),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
