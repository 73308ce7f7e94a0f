/* Trainer checkpoints: a run interrupted at several points and resumed
 * from checkpoints gives the uninterrupted run's model file byte for byte
 * (each code operator, SGD and Adam, corruption, every sampling, the
 * training methods with state, in memory and from a source with and
 * without a cursor); the checkpoint is a model file for sae_model_load;
 * and every hostile file is refused with its own status.
 * SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#include "io/safetensors.h"
#include "train/state.h"
#include "train/trainer.h"

enum { ROWS = 37, DIM = 10, TOTAL = 23 };

static float *data(void)
{
    float *x = malloc(ROWS * DIM * sizeof *x);
    tu_fill_uniform(x, ROWS * DIM, 0.0f, 1.0f, 1234);
    return x;
}

static void set(sae_config_t *cfg, const char *k, const char *v)
{
    if (sae_config_set(cfg, k, v) != SAE_OK)
        fail_msg("set %s=%s: %s", k, v, sae_config_errmsg(cfg));
}

/* ------------------------------------------------------------------------ */
/* A source that shuffles each epoch by its number, with or without cursor  */
/* ------------------------------------------------------------------------ */

typedef struct shuf_src {
    const float *x;
    uint32_t perm[ROWS];
    uint64_t epoch, pos;
} shuf_src_t;

static void permute(shuf_src_t *s, uint64_t epoch)
{
    uint64_t r = 0x9E3779B97F4A7C15ull * (epoch + 1);
    for (uint32_t i = 0; i < ROWS; i++)
        s->perm[i] = i;
    for (uint32_t i = ROWS - 1; i > 0; i--) {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        uint32_t j = (uint32_t)(r % (i + 1)), tmp = s->perm[i];
        s->perm[i] = s->perm[j];
        s->perm[j] = tmp;
    }
    s->epoch = epoch;
    s->pos = 0;
}

static int src_next(void *u, float *out, size_t max_rows, size_t dim, size_t *rows)
{
    shuf_src_t *s = u;
    size_t n = ROWS - s->pos < max_rows ? ROWS - s->pos : max_rows;
    for (size_t i = 0; i < n; i++)
        memcpy(out + i * dim, s->x + (size_t)s->perm[s->pos + i] * dim, dim * sizeof *out);
    s->pos += n;
    *rows = n;
    return 0;
}

static int src_reset(void *u, uint64_t epoch)
{
    permute(u, epoch);
    return 0;
}

static size_t src_cursor_size(void *u)
{
    (void)u;
    return 2 * sizeof(uint64_t);
}

static int src_save(void *u, void *buf, size_t size)
{
    shuf_src_t *s = u;
    assert_int_equal(size, 2 * sizeof(uint64_t));
    uint64_t c[2] = {s->epoch, s->pos};
    memcpy(buf, c, sizeof c);
    return 0;
}

static int src_restore(void *u, const void *buf, size_t size)
{
    shuf_src_t *s = u;
    uint64_t c[2];
    if (size != sizeof c)
        return 1;
    memcpy(c, buf, sizeof c);
    permute(s, c[0]);
    s->pos = c[1];
    return 0;
}

static const sae_source_ops_t ops_cursor = {
    .struct_size = sizeof(sae_source_ops_t),
    .next_batch = src_next,
    .reset = src_reset,
    .cursor_size = src_cursor_size,
    .save_cursor = src_save,
    .restore_cursor = src_restore,
};

static const sae_source_ops_t ops_replay = {
    .struct_size = sizeof(sae_source_ops_t),
    .next_batch = src_next,
    .reset = src_reset,
};

/* ------------------------------------------------------------------------ */
/* Runs                                                                     */
/* ------------------------------------------------------------------------ */

enum feed { MEMORY, SOURCE_CURSOR, SOURCE_REPLAY };

typedef struct stopper {
    sae_trainer_t *t;
    uint64_t stop_at;
    int save_in_callback;
    const char *ckpt;
} stopper_t;

static int stop_cb(sae_progress_kind_t kind, const sae_stats_t *s, void *u)
{
    stopper_t *c = u;
    if (kind != SAE_PROGRESS_STEP || s->step != c->stop_at)
        return 0;
    if (c->save_in_callback)
        tu_assert_status(sae_trainer_save_checkpoint(c->t, c->ckpt), SAE_OK);
    return 1;
}

static sae_status_t fit(sae_trainer_t *t, enum feed feed, const float *x, shuf_src_t *src,
                        uint64_t steps)
{
    if (feed == MEMORY)
        return sae_trainer_fit_steps(t, x, ROWS, steps);
    return sae_trainer_fit_source(t, feed == SOURCE_CURSOR ? &ops_cursor : &ops_replay, src, 0,
                                  steps);
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len + 1);
    assert_int_equal(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

/* The uninterrupted run's file, then the same run stopped at each of stops
 * (alternately saved from the callback and after the cancelled fit),
 * everything freed, and resumed from the checkpoint; the two final model
 * files must be the same bytes. */
static void check_resume(sae_config_t *cfg, enum feed feed, const uint64_t *stops, size_t n_stops)
{
    const char *dir = tu_tmpdir();
    char whole[512], parts[512], ckpt[512];
    snprintf(whole, sizeof whole, "%s/whole.safetensors", dir);
    snprintf(parts, sizeof parts, "%s/parts.safetensors", dir);
    snprintf(ckpt, sizeof ckpt, "%s/run.ckpt", dir);
    float *x = data();
    shuf_src_t src = {.x = x};

    sae_model_t *m;
    sae_trainer_t *t;
    if (sae_model_create(cfg, &m) != SAE_OK)
        fail_msg("sae_model_create: %s", sae_last_error());
    tu_assert_status(sae_trainer_create(m, &t), SAE_OK);
    tu_assert_status(fit(t, feed, x, &src, TOTAL), SAE_OK);
    tu_assert_status(sae_model_save(m, whole), SAE_OK);
    uint64_t whole_epochs = sae_trainer_epochs(t);
    sae_trainer_free(t);
    sae_model_free(m);

    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    tu_assert_status(sae_trainer_create(m, &t), SAE_OK);
    for (size_t i = 0; i < n_stops; i++) {
        stopper_t c = {t, stops[i], (int)(i % 2), ckpt};
        tu_assert_status(sae_trainer_set_callback(t, stop_cb, &c), SAE_OK);
        tu_assert_status(fit(t, feed, x, &src, TOTAL - sae_trainer_steps(t)), SAE_ERR_CANCELLED);
        assert_int_equal(sae_trainer_steps(t), stops[i]);
        if (!c.save_in_callback)
            tu_assert_status(sae_trainer_save_checkpoint(t, ckpt), SAE_OK);
        sae_trainer_free(t);
        sae_model_free(m);
        memset(&src, 0xA5, sizeof src); /* a fresh source knows nothing */
        src.x = x;
        tu_assert_status(sae_trainer_load_checkpoint(ckpt, &m, &t), SAE_OK);
        assert_int_equal(sae_trainer_steps(t), stops[i]);
    }
    tu_assert_status(fit(t, feed, x, &src, TOTAL - sae_trainer_steps(t)), SAE_OK);
    assert_int_equal(sae_trainer_steps(t), TOTAL);
    assert_int_equal(sae_trainer_epochs(t), whole_epochs);
    tu_assert_status(sae_model_save(m, parts), SAE_OK);
    sae_trainer_free(t);
    sae_model_free(m);

    size_t na, nb;
    unsigned char *a = slurp(whole, &na), *b = slurp(parts, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    free(a);
    free(b);
    free(x);
    unlink(whole);
    unlink(parts);
    unlink(ckpt);
}

/* 37 rows in batches of 8: epochs of 5 steps. Stops inside epochs, at the
 * last step of one (its end is then pending), and twice in a row. */
static const uint64_t stops[] = {3, 5, 6, 11, 17};
#define N_STOPS (sizeof stops / sizeof stops[0])

static sae_config_t *base(const char *optim)
{
    sae_config_t *cfg = tu_config(DIM, 6);
    set(cfg, "train.batch_size", "8");
    set(cfg, "optim.type", optim);
    set(cfg, "optim.lr", strcmp(optim, "adam") == 0 ? "0.01" : "0.1");
    set(cfg, "train.seed", "7");
    return cfg;
}

static void all_feeds(sae_config_t *cfg)
{
    check_resume(cfg, MEMORY, stops, N_STOPS);
    check_resume(cfg, SOURCE_CURSOR, stops, N_STOPS);
    check_resume(cfg, SOURCE_REPLAY, stops, N_STOPS);
    sae_config_free(cfg);
}

static void test_resume_sigmoid_kl_sgd_corrupted(void **state)
{
    (void)state;
    sae_config_t *cfg = base("sgd");
    set(cfg, "arch.hidden_activation", "sigmoid");
    set(cfg, "kl.weight", "0.1");
    set(cfg, "corrupt.noise_std", "0.1");
    set(cfg, "corrupt.input_keep", "0.8");
    set(cfg, "corrupt.hidden_keep", "0.9");
    set(cfg, "schedule.decay_every", "4");
    all_feeds(cfg);
}

static void test_resume_relu_l1_adam(void **state)
{
    (void)state;
    sae_config_t *cfg = base("adam");
    set(cfg, "arch.hidden_activation", "relu");
    set(cfg, "l1.weight", "0.01");
    set(cfg, "decay.l2", "0.001");
    set(cfg, "arch.pre_encoder_bias", "true");
    set(cfg, "arch.bias_init", "geometric_median");
    all_feeds(cfg);
}

/* E1's recipe (the K-winners-take-all codes of encode.k come from the
 * model, so equal files give equal codes): replacement sampling, noise and
 * both dropouts, the per-sample and per-unit terms, encoder decay. */
static void test_resume_e1_kwta_replacement(void **state)
{
    (void)state;
    sae_config_t *cfg = base("sgd");
    set(cfg, "train.sampling", "replacement");
    set(cfg, "sample.weight", "0.1");
    set(cfg, "batch.weight", "0.1");
    set(cfg, "corrupt.noise_std", "0.25");
    set(cfg, "corrupt.input_keep", "0.8");
    set(cfg, "corrupt.hidden_keep", "0.5");
    set(cfg, "decay.l2", "1e-5");
    set(cfg, "decay.decoder", "false");
    set(cfg, "encode.k", "2");
    check_resume(cfg, MEMORY, stops, N_STOPS);
    set(cfg, "train.sampling", "sequential");
    check_resume(cfg, MEMORY, stops, N_STOPS);
    sae_config_free(cfg);
}

static void test_resume_topk_auxk_adam(void **state)
{
    (void)state;
    sae_config_t *cfg = base("adam");
    set(cfg, "arch.hidden_activation", "relu");
    set(cfg, "topk.k", "2");
    set(cfg, "topk.k_start", "5");
    set(cfg, "topk.anneal_steps", "10");
    set(cfg, "auxk.k", "2");
    set(cfg, "auxk.dead_after", "16");
    set(cfg, "arch.unit_norm_decoder", "true");
    all_feeds(cfg);
}

static void test_resume_batch_topk_sgd(void **state)
{
    (void)state;
    sae_config_t *cfg = base("sgd");
    set(cfg, "arch.hidden_activation", "relu");
    set(cfg, "topk.k", "2");
    set(cfg, "topk.mode", "batch");
    all_feeds(cfg);
}

static void test_resume_rank_order_and_nsc(void **state)
{
    (void)state;
    sae_config_t *cfg = base("sgd");
    set(cfg, "train.algorithm", "rank_order");
    set(cfg, "arch.hidden_activation", "trelu");
    set(cfg, "arch.output_activation", "trelu");
    set(cfg, "arch.tied", "true");
    set(cfg, "arch.bias", "false");
    all_feeds(cfg);
    cfg = base("sgd");
    set(cfg, "train.algorithm", "nsc");
    set(cfg, "arch.hidden_activation", "linear");
    set(cfg, "arch.output_activation", "linear");
    set(cfg, "arch.tied", "true");
    set(cfg, "arch.bias", "false");
    set(cfg, "nsc.tau", "0.1");
    all_feeds(cfg);
}

/* bf16 products (train.precision, oneDNN): whatever the engine caches is
 * made from the fp32 master weights the checkpoint holds. Skipped where the
 * build or the CPU lacks the engine. */
static void test_resume_bf16(void **state)
{
    (void)state;
    sae_config_t *cfg = base("adam");
    set(cfg, "arch.hidden_activation", "relu");
    set(cfg, "topk.k", "3");
    if (sae_config_set(cfg, "train.precision", "bf16") != SAE_OK) {
        sae_config_free(cfg);
        skip();
    }
    sae_model_t *m;
    sae_trainer_t *t;
    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    sae_status_t st = sae_trainer_create(m, &t);
    sae_trainer_free(t);
    sae_model_free(m);
    if (st == SAE_ERR_UNSUPPORTED) {
        sae_config_free(cfg);
        skip();
    }
    all_feeds(cfg);
}

/* A layered model: its own tensors and pass, the same table. */
static void test_resume_layered_conv(void **state)
{
    (void)state;
    sae_config_t *cfg = base("adam");
    tu_assert_status(sae_config_set_layers(cfg, "input 1x2x5; conv2d 3 k2 relu; "
                                                "dense 6 sigmoid code; dense 10 sigmoid"),
                     SAE_OK);
    set(cfg, "kl.weight", "0.05");
    set(cfg, "corrupt.noise_std", "0.05");
    all_feeds(cfg);
}

/* The control: resumed from the model file alone (a fresh trainer: Adam's
 * moments, counters, RNG and data position lost), the run differs, so the
 * byte equality above is the checkpoint's doing. */
static void test_resume_without_state_differs(void **state)
{
    (void)state;
    sae_config_t *cfg = base("adam");
    set(cfg, "corrupt.noise_std", "0.1");
    const char *dir = tu_tmpdir();
    char whole[512], parts[512];
    snprintf(whole, sizeof whole, "%s/w.safetensors", dir);
    snprintf(parts, sizeof parts, "%s/p.safetensors", dir);
    float *x = data();
    sae_model_t *m;
    sae_trainer_t *t;
    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    tu_assert_status(sae_trainer_create(m, &t), SAE_OK);
    tu_assert_status(sae_trainer_fit_steps(t, x, ROWS, TOTAL), SAE_OK);
    tu_assert_status(sae_model_save(m, whole), SAE_OK);
    sae_trainer_free(t);
    sae_model_free(m);
    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    tu_assert_status(sae_trainer_create(m, &t), SAE_OK);
    tu_assert_status(sae_trainer_fit_steps(t, x, ROWS, 11), SAE_OK);
    tu_assert_status(sae_model_save(m, parts), SAE_OK);
    sae_trainer_free(t);
    sae_model_free(m);
    tu_assert_status(sae_model_load(parts, &m), SAE_OK);
    tu_assert_status(sae_trainer_create(m, &t), SAE_OK);
    tu_assert_status(sae_trainer_fit_steps(t, x, ROWS, TOTAL - 11), SAE_OK);
    tu_assert_status(sae_model_save(m, parts), SAE_OK);
    sae_trainer_free(t);
    sae_model_free(m);
    size_t na, nb;
    unsigned char *a = slurp(whole, &na), *b = slurp(parts, &nb);
    assert_int_equal(na, nb);
    assert_true(memcmp(a, b, na) != 0);
    free(a);
    free(b);
    free(x);
    sae_config_free(cfg);
}

/* ------------------------------------------------------------------------ */
/* The file                                                                 */
/* ------------------------------------------------------------------------ */

/* A trained trainer of the Adam topk config, mid-epoch, shuffled. */
static void trained(sae_model_t **m, sae_trainer_t **t)
{
    sae_config_t *cfg = base("adam");
    set(cfg, "topk.k", "2");
    set(cfg, "arch.hidden_activation", "relu");
    tu_assert_status(sae_model_create(cfg, m), SAE_OK);
    tu_assert_status(sae_trainer_create(*m, t), SAE_OK);
    float *x = data();
    tu_assert_status(sae_trainer_fit_steps(*t, x, ROWS, 7), SAE_OK);
    free(x);
    sae_config_free(cfg);
}

static void test_checkpoint_is_a_model_file(void **state)
{
    (void)state;
    sae_model_t *m, *back, *m2;
    sae_trainer_t *t, *t2;
    trained(&m, &t);
    char path[512];
    snprintf(path, sizeof path, "%s/c.ckpt", tu_tmpdir());
    tu_assert_status(sae_trainer_save_checkpoint(t, path), SAE_OK);
    tu_assert_status(sae_model_load(path, &back), SAE_OK);
    tu_assert_status(sae_trainer_load_checkpoint(path, &m2, &t2), SAE_OK);
    assert_int_equal(sae_trainer_steps(t2), 7);
    assert_int_equal(sae_trainer_epochs(t2), 1);
    for (size_t i = 0; i < sae_model_tensor_count(m); i++) {
        const char *na, *nb, *nc;
        size_t ra, ca, rb, cb, rc, cc;
        const float *pa, *pb, *pc;
        tu_assert_status(sae_model_tensor(m, i, &na, &ra, &ca, &pa), SAE_OK);
        tu_assert_status(sae_model_tensor(back, i, &nb, &rb, &cb, &pb), SAE_OK);
        tu_assert_status(sae_model_tensor(m2, i, &nc, &rc, &cc, &pc), SAE_OK);
        assert_string_equal(na, nb);
        assert_memory_equal(pa, pb, ra * ca * sizeof *pa);
        assert_memory_equal(pa, pc, ra * ca * sizeof *pa);
    }
    /* A model file is no checkpoint. */
    char model_path[512];
    snprintf(model_path, sizeof model_path, "%s/m.safetensors", tu_tmpdir());
    tu_assert_status(sae_model_save(m, model_path), SAE_OK);
    sae_model_t *mx = (sae_model_t *)1;
    sae_trainer_t *tx = (sae_trainer_t *)1;
    tu_assert_status(sae_trainer_load_checkpoint(model_path, &mx, &tx), SAE_ERR_FORMAT);
    assert_null(mx);
    assert_null(tx);
    assert_non_null(strstr(sae_last_error(), "not a checkpoint"));
    /* NULLs and a missing file. */
    tu_assert_status(sae_trainer_save_checkpoint(NULL, path), SAE_ERR_NULL);
    tu_assert_status(sae_trainer_save_checkpoint(t, NULL), SAE_ERR_NULL);
    tu_assert_status(sae_trainer_load_checkpoint(NULL, &mx, &tx), SAE_ERR_NULL);
    tu_assert_status(sae_trainer_load_checkpoint(path, NULL, &tx), SAE_ERR_NULL);
    tu_assert_status(sae_trainer_load_checkpoint(path, &mx, NULL), SAE_ERR_NULL);
    char nowhere[512];
    snprintf(nowhere, sizeof nowhere, "%s/none/c.ckpt", tu_tmpdir());
    tu_assert_status(sae_trainer_load_checkpoint(nowhere, &mx, &tx), SAE_ERR_IO);
    tu_assert_status(sae_trainer_save_checkpoint(t, nowhere), SAE_ERR_IO);
    unlink(path);
    unlink(model_path);
    sae_trainer_free(t);
    sae_trainer_free(t2);
    sae_model_free(m);
    sae_model_free(m2);
    sae_model_free(back);
}

/* A checkpoint written through the library's own writer with one change
 * to the trainer's state list (the way a buggy or hostile writer would
 * make it: every other part of the file well formed). */
enum change { DROP, RESHAPE, RETYPE, EXTRA, VERSION, NAN_MOMENT, BAD_ORDER, BAD_POSITION };

static void write_changed(sae_trainer_t *t, const char *path, enum change change,
                          const char *victim)
{
    static sae_state_list_t l;
    static sae_st_tensor_t ex[SAE_STATE_MAX + 1];
    static float nan_copy[4096];
    char err[SAE_ERRMSG_SIZE];
    sae_trainer_state_pack(t);
    tu_assert_status(sae_trainer_state_list(t, &l, err), SAE_OK);
    size_t n = 0;
    static uint32_t order_copy[ROWS];
    static uint64_t pos_copy[4];
    for (size_t i = 0; i < l.n; i++) {
        const sae_state_entry_t *e = &l.e[i];
        int hit = strcmp(e->name, victim) == 0;
        if (hit && change == DROP)
            continue;
        sae_st_tensor_t *o = &ex[n++];
        o->name = e->name;
        o->data = e->data;
        o->dtype = e->dtype;
        o->ndim = e->ndim;
        o->shape[0] = e->shape[0];
        o->shape[1] = e->shape[1];
        if (!hit)
            continue;
        if (change == RESHAPE)
            o->shape[0] -= 1;
        if (change == RETYPE)
            o->dtype = SAE_DT_U32; /* U64 [k] read as U32 [k] */
        if (change == NAN_MOMENT) {
            memcpy(nan_copy, e->data, e->shape[0] * (e->ndim == 2 ? e->shape[1] : 1) * 4);
            nan_copy[1] = NAN;
            o->data = nan_copy;
        }
        if (change == BAD_ORDER) {
            memcpy(order_copy, e->data, sizeof order_copy);
            order_copy[0] = order_copy[1];
            o->data = order_copy;
        }
        if (change == BAD_POSITION) {
            memcpy(pos_copy, e->data, sizeof pos_copy);
            pos_copy[1] = 1000; /* rows into an epoch of 37 */
            o->data = pos_copy;
        }
    }
    if (change == EXTRA) {
        ex[n] = ex[0];
        ex[n].name = "trainer.surprise";
        n++;
    }
    const sae_st_meta_t meta[] = {
        {"checkpoint_version", change == VERSION ? "2" : "1"},
    };
    tu_assert_status(sae_model_save_with(t->model, path, ex, n, meta, 1, err), SAE_OK);
}

static void expect_refused(sae_trainer_t *t, enum change change, const char *victim,
                           sae_status_t status, const char *words)
{
    char path[512];
    snprintf(path, sizeof path, "%s/bad.ckpt", tu_tmpdir());
    write_changed(t, path, change, victim);
    sae_model_t *m = (sae_model_t *)1;
    sae_trainer_t *tr = (sae_trainer_t *)1;
    tu_assert_status(sae_trainer_load_checkpoint(path, &m, &tr), status);
    assert_null(m);
    assert_null(tr);
    if (!strstr(sae_last_error(), words))
        fail_msg("'%s' lacks '%s'", sae_last_error(), words);
    unlink(path);
}

static void test_hostile_checkpoints(void **state)
{
    (void)state;
    sae_model_t *m;
    sae_trainer_t *t;
    trained(&m, &t);
    expect_refused(t, DROP, "trainer.optim.v.encoder.weight", SAE_ERR_FORMAT,
                   "tensor 'trainer.optim.v.encoder.weight' is missing");
    expect_refused(t, DROP, "trainer.rng", SAE_ERR_FORMAT, "'trainer.rng' is missing");
    expect_refused(t, RESHAPE, "trainer.optim.m.encoder.weight", SAE_ERR_FORMAT,
                   "shape [5,10] does not match the trainer's [6,10]");
    expect_refused(t, RESHAPE, "trainer.activity.idle", SAE_ERR_FORMAT, "does not match");
    expect_refused(t, RETYPE, "trainer.step", SAE_ERR_FORMAT, "has dtype U32; the trainer's is U64");
    expect_refused(t, EXTRA, "", SAE_ERR_FORMAT, "unexpected tensor 'trainer.surprise'");
    expect_refused(t, VERSION, "", SAE_ERR_VERSION, "checkpoint_version '2'");
    expect_refused(t, NAN_MOMENT, "trainer.optim.m.encoder.weight", SAE_ERR_FORMAT,
                   "holds NaN or Inf");
    expect_refused(t, BAD_ORDER, "trainer.data.order", SAE_ERR_FORMAT, "not a permutation");
    expect_refused(t, BAD_POSITION, "trainer.data.position", SAE_ERR_FORMAT,
                   "position 1000 in an epoch of 37 rows");

    /* Truncated anywhere, and a flipped data byte. */
    char path[512], cut[512];
    snprintf(path, sizeof path, "%s/good.ckpt", tu_tmpdir());
    snprintf(cut, sizeof cut, "%s/cut.ckpt", tu_tmpdir());
    tu_assert_status(sae_trainer_save_checkpoint(t, path), SAE_OK);
    size_t n;
    unsigned char *bytes = slurp(path, &n);
    size_t lens[] = {0, 7, 8, 100, n / 2, n - 1};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        FILE *f = fopen(cut, "wb");
        assert_int_equal(fwrite(bytes, 1, lens[i], f), lens[i]);
        fclose(f);
        sae_model_t *mx;
        sae_trainer_t *tx;
        tu_assert_status(sae_trainer_load_checkpoint(cut, &mx, &tx), SAE_ERR_FORMAT);
    }
    bytes[n - 3] ^= 0x10; /* inside the last state tensor */
    FILE *f = fopen(cut, "wb");
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    fclose(f);
    sae_model_t *mx;
    sae_trainer_t *tx;
    tu_assert_status(sae_trainer_load_checkpoint(cut, &mx, &tx), SAE_ERR_CHECKSUM);
    tu_assert_status(sae_model_load(cut, &mx), SAE_ERR_CHECKSUM);
    free(bytes);
    unlink(path);
    unlink(cut);
    sae_trainer_free(t);
    sae_model_free(m);
}

/* The committed checkpoint (tests/data/ckpt-v1-small.safetensors, 4-3
 * relu top-2, Adam, 3 steps on 10 rows) still loads: a new row of the
 * state table must either accept files without it or come with a new
 * checkpoint_version (and this file made again). */
static void test_committed_checkpoint_loads(void **state)
{
    (void)state;
    sae_model_t *m;
    sae_trainer_t *t;
    const char *path = tu_data_path("ckpt-v1-small.safetensors");
    if (sae_trainer_load_checkpoint(path, &m, &t) != SAE_OK)
        fail_msg("%s", sae_last_error());
    assert_int_equal(sae_trainer_steps(t), 3);
    float x[40];
    for (int i = 0; i < 40; i++)
        x[i] = (float)((i * 37) % 11) / 11.0f;
    tu_assert_status(sae_trainer_fit_steps(t, x, 10, 2), SAE_OK);
    assert_int_equal(sae_trainer_steps(t), 5);
    sae_trainer_free(t);
    sae_model_free(m);
}

static double penalty(void *u, const float *h, size_t rows, size_t units, float w, float *g)
{
    (void)u;
    double s = 0;
    for (size_t i = 0; i < rows * units; i++) {
        s += w * h[i];
        if (g)
            g[i] = w;
    }
    return s;
}

static void test_user_regularizers_are_refused(void **state)
{
    (void)state;
    sae_config_t *cfg = base("sgd");
    sae_regularizer_ops_t ops = {sizeof ops, "mine", penalty, NULL};
    tu_assert_status(sae_config_add_regularizer(cfg, &ops, NULL, 0.1f), SAE_OK);
    sae_model_t *m;
    sae_trainer_t *t;
    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    tu_assert_status(sae_trainer_create(m, &t), SAE_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/u.ckpt", tu_tmpdir());
    tu_assert_status(sae_trainer_save_checkpoint(t, path), SAE_ERR_UNSUPPORTED);
    assert_int_equal(access(path, F_OK), -1);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_sigmoid_kl_sgd_corrupted),
        cmocka_unit_test(test_resume_relu_l1_adam),
        cmocka_unit_test(test_resume_e1_kwta_replacement),
        cmocka_unit_test(test_resume_topk_auxk_adam),
        cmocka_unit_test(test_resume_batch_topk_sgd),
        cmocka_unit_test(test_resume_rank_order_and_nsc),
        cmocka_unit_test(test_resume_layered_conv),
        cmocka_unit_test(test_resume_bf16),
        cmocka_unit_test(test_resume_without_state_differs),
        cmocka_unit_test(test_checkpoint_is_a_model_file),
        cmocka_unit_test(test_hostile_checkpoints),
        cmocka_unit_test(test_user_regularizers_are_refused),
        cmocka_unit_test(test_committed_checkpoint_loads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
