/* Every allocation failure, one at a time (as sqlite's test suite does):
 * for each public operation, the Nth allocation made while it runs fails,
 * for N = 1, 2, 3, ... until the operation runs without reaching N. Each
 * time the call must return SAE_ERR_NOMEM with a message (or succeed, when
 * the failed allocation was optional), the handles stay usable (the same
 * call then succeeds) and nothing leaks (valgrind and LeakSanitizer stages
 * of tools/test.sh).
 *
 * The library's calls reach the counter through the linker's --wrap and
 * cJSON's through cJSON_InitHooks; plain builds (not sanitizer builds,
 * whose runtime owns malloc) also define malloc and its relatives in this
 * program, so that libc's own allocations (fopen's stream, opendir's
 * buffer, realpath) fail in turn too.
 * SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "testutil.h"

/* 0: no fault armed; otherwise the number of the allocation that fails. */
static atomic_long fault_at;
static atomic_long n_seen;
static atomic_int injected;

static int should_fail(void)
{
    long at = atomic_load(&fault_at);
    if (at == 0)
        return 0;
    if (atomic_fetch_add(&n_seen, 1) + 1 != at)
        return 0;
    atomic_store(&injected, 1);
    errno = ENOMEM;
    return 1;
}

static void arm(long n)
{
    atomic_store(&n_seen, 0);
    atomic_store(&injected, 0);
    atomic_store(&fault_at, n);
}

static void disarm(void)
{
    atomic_store(&fault_at, 0);
}

/* The library's own calls, through the linker's --wrap (tests/meson.build),
 * and cJSON's, through its hooks. */
void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
int __real_posix_memalign(void **p, size_t align, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
int __wrap_posix_memalign(void **p, size_t align, size_t size);

#ifdef SAE_FAULT_INTERPOSE
/* Plain builds also replace malloc itself (glibc allows a program to), so
 * that libc's own allocations fail in turn; the __libc_* entry points are
 * the real allocator underneath. Under valgrind, whose allocator replaces
 * these definitions, the --wrap path above still injects. */
void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void *__libc_memalign(size_t align, size_t size);
void *memalign(size_t align, size_t size);

/* The BLAS library's own allocations are left alone: OpenBLAS's small-matrix
 * kernels (sgemm_small_kernel_*, chosen on AVX-512 machines) malloc a buffer
 * on every call and use it unchecked, so failing it crashes in OpenBLAS,
 * outside the library's control. They are not counted either. */
static int blas_caller(const void *ret)
{
    Dl_info info;
    return atomic_load(&fault_at) != 0 && dladdr(ret, &info) && info.dli_fname &&
           strstr(info.dli_fname, "blas") != NULL;
}

#define SHOULD_FAIL() (!blas_caller(__builtin_return_address(0)) && should_fail())

void *malloc(size_t size)
{
    return SHOULD_FAIL() ? NULL : __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    return SHOULD_FAIL() ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    return SHOULD_FAIL() ? NULL : __libc_realloc(p, size);
}

void *memalign(size_t align, size_t size)
{
    return SHOULD_FAIL() ? NULL : __libc_memalign(align, size);
}

void *aligned_alloc(size_t align, size_t size)
{
    return SHOULD_FAIL() ? NULL : __libc_memalign(align, size);
}

int posix_memalign(void **p, size_t align, size_t size)
{
    if (SHOULD_FAIL())
        return ENOMEM;
    void *q = __libc_memalign(align, size);
    if (!q)
        return ENOMEM;
    *p = q;
    return 0;
}

/* The wrapped calls go straight to the allocator: one count per call. */
#define REAL_MALLOC __libc_malloc
#define REAL_CALLOC __libc_calloc
#define REAL_REALLOC __libc_realloc
static int real_posix_memalign(void **p, size_t align, size_t size)
{
    void *q = __libc_memalign(align, size);
    if (!q)
        return ENOMEM;
    *p = q;
    return 0;
}
#else
#define REAL_MALLOC __real_malloc
#define REAL_CALLOC __real_calloc
#define REAL_REALLOC __real_realloc
#define real_posix_memalign __real_posix_memalign
#endif

void *__wrap_malloc(size_t size)
{
    return should_fail() ? NULL : REAL_MALLOC(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : REAL_CALLOC(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
    return should_fail() ? NULL : REAL_REALLOC(p, size);
}

int __wrap_posix_memalign(void **p, size_t align, size_t size)
{
    return should_fail() ? ENOMEM : real_posix_memalign(p, align, size);
}

static void install_hooks(void)
{
    /* The test's own choice: the library never installs cJSON hooks. */
    cJSON_Hooks hooks = {__wrap_malloc, free};
    cJSON_InitHooks(&hooks);
}

/* ------------------------------------------------------------------------ */
/* The sweep                                                                */
/* ------------------------------------------------------------------------ */

typedef struct fixture {
    const char *layers; /* NULL: the one-hidden-layer kind */
    sae_config_t *cfg;
    sae_model_t *model;
    sae_trainer_t *trainer;
    sae_model_t *loaded;
    float *x, *out;
    size_t rows, in_dim, code_dim;
    char dir[256], path[512];
    char msg[512]; /* the config's message, copied before it is freed */
    char ckpt[512];            /* a checkpoint of trainer */
    sae_trainer_t *loaded_t;   /* the trainer of a loaded checkpoint */
    size_t src_pos;            /* the data source's cursor (rows given this epoch) */
    /* Models SAELens's and sparsify's formats can hold (the dense kind
     * only), and the folders they are exported to. */
    sae_model_t *sl_model, *sp_model;
    char sl_dir[512], sp_dir[512];
} fixture_t;

typedef struct op {
    const char *name;
    void (*setup)(fixture_t *f);                  /* not counted */
    sae_status_t (*run)(fixture_t *f);            /* counted */
    const char *(*message)(const fixture_t *f);   /* the message of a failed run */
    void (*undo)(fixture_t *f);                   /* after each run, not counted */
} op_t;

/* A one-hidden-layer model that export can write: relu (SAELens's
 * standard) or top-k with the pre-encoder bias (sparsify). */
static sae_model_t *export_model(int topk)
{
    sae_config_t *cfg = NULL;
    assert_int_equal(sae_config_create(&cfg), SAE_OK);
    const char *set[][2] = {{"arch.input_dim", "10"}, {"arch.hidden_dim", "16"},
                            {"arch.hidden_activation", "relu"}};
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
        tu_assert_status(sae_config_set(cfg, set[i][0], set[i][1]), SAE_OK);
    if (topk) {
        tu_assert_status(sae_config_set(cfg, "topk.k", "3"), SAE_OK);
        tu_assert_status(sae_config_set(cfg, "arch.pre_encoder_bias", "true"), SAE_OK);
    }
    sae_model_t *m = NULL;
    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    sae_config_free(cfg);
    return m;
}

static sae_config_t *make_config(const char *layers)
{
    sae_config_t *cfg = NULL;
    assert_int_equal(sae_config_create(&cfg), SAE_OK);
    if (layers) {
        tu_assert_status(sae_config_set_layers(cfg, layers), SAE_OK);
    } else {
        assert_int_equal(sae_config_set(cfg, "arch.input_dim", "20"), SAE_OK);
        assert_int_equal(sae_config_set(cfg, "arch.hidden_dim", "12"), SAE_OK);
        assert_int_equal(sae_config_set(cfg, "kl.weight", "0.1"), SAE_OK);
    }
    assert_int_equal(sae_config_set(cfg, "train.batch_size", "8"), SAE_OK);
    return cfg;
}

static void fixture_init(fixture_t *f, const char *layers)
{
    memset(f, 0, sizeof *f);
    f->layers = layers;
    f->cfg = make_config(layers);
    assert_int_equal(sae_model_create(f->cfg, &f->model), SAE_OK);
    assert_int_equal(sae_trainer_create(f->model, &f->trainer), SAE_OK);
    f->in_dim = sae_model_input_dim(f->model);
    f->code_dim = sae_model_code_dim(f->model);
    f->rows = 24;
    f->x = malloc(f->rows * f->in_dim * sizeof *f->x);
    size_t wide = f->in_dim > f->code_dim ? f->in_dim : f->code_dim;
    f->out = malloc(f->rows * wide * sizeof *f->out);
    assert_non_null(f->x);
    assert_non_null(f->out);
    tu_fill_uniform(f->x, f->rows * f->in_dim, 0, 1, 7);
    snprintf(f->dir, sizeof f->dir, "%s", tu_tmpdir());
    snprintf(f->path, sizeof f->path, "%s/m.safetensors", f->dir);
    assert_int_equal(sae_model_save(f->model, f->path), SAE_OK);
    assert_int_equal(sae_trainer_fit(f->trainer, f->x, f->rows, 1), SAE_OK);
    snprintf(f->ckpt, sizeof f->ckpt, "%s/c.safetensors", f->dir);
    tu_assert_status(sae_trainer_save_checkpoint(f->trainer, f->ckpt), SAE_OK);
    if (!layers) {
        f->sl_model = export_model(0);
        f->sp_model = export_model(1);
        snprintf(f->sl_dir, sizeof f->sl_dir, "%s/saelens", f->dir);
        snprintf(f->sp_dir, sizeof f->sp_dir, "%s/sparsify", f->dir);
        tu_assert_status(sae_model_export(f->sl_model, f->sl_dir, "saelens"), SAE_OK);
        tu_assert_status(sae_model_export(f->sp_model, f->sp_dir, "sparsify"), SAE_OK);
    }
}

/* Removes a folder's files, then the folder. */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    char p[1024];
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    closedir(d);
    rmdir(dir);
}

static void fixture_free(fixture_t *f)
{
    sae_trainer_free(f->trainer);
    sae_trainer_free(f->loaded_t);
    sae_model_free(f->model);
    sae_model_free(f->loaded);
    sae_model_free(f->sl_model);
    sae_model_free(f->sp_model);
    sae_config_free(f->cfg);
    free(f->x);
    free(f->out);
    unlink(f->path);
    unlink(f->ckpt);
    if (!f->layers) {
        remove_dir(f->sl_dir);
        remove_dir(f->sp_dir);
    }
    rmdir(f->dir);
}

/* Files in folder dir that are not among the names given: a failed save
 * must leave no temporary behind. */
static int strays_in(const char *dir, const char *const *names)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        int known = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
        for (size_t i = 0; !known && names[i]; i++)
            known = !strcmp(e->d_name, names[i]);
        n += !known;
    }
    closedir(d);
    return n;
}

static int stray_files(const fixture_t *f)
{
    static const char *const top[] = {"m.safetensors", "c.safetensors", "saelens", "sparsify",
                                      NULL};
    static const char *const sl[] = {"cfg.json", "sae_weights.safetensors", NULL};
    static const char *const sp[] = {"cfg.json", "sae.safetensors", NULL};
    return strays_in(f->dir, top) + (f->layers ? 0 : strays_in(f->sl_dir, sl) +
                                                     strays_in(f->sp_dir, sp));
}

/* Runs op with allocation N failing, N = 1, 2, ...; returns how many
 * allocations the operation makes. */
static long sweep(fixture_t *f, const op_t *op)
{
    for (long n = 1;; n++) {
        if (op->setup)
            op->setup(f);
        arm(n);
        sae_status_t st = op->run(f);
        disarm();
        int hit = atomic_load(&injected);
        if (!hit) {
            if (st != SAE_OK)
                fail_msg("%s: %s without a fault (%s)", op->name, sae_status_str(st),
                         op->message(f));
            if (op->undo)
                op->undo(f);
            return n - 1;
        }
        if (st != SAE_OK && st != SAE_ERR_NOMEM)
            fail_msg("%s: allocation %ld failed, status %s: %s", op->name, n, sae_status_str(st),
                     op->message(f));
        if (st == SAE_ERR_NOMEM && op->message(f)[0] == '\0')
            fail_msg("%s: allocation %ld failed with no message", op->name, n);
        if (stray_files(f) != 0)
            fail_msg("%s: allocation %ld failed, a temporary file is left", op->name, n);
        /* The handles stay usable: the same call on the same handles now
         * succeeds (after a success, what it made is undone first). */
        if (st == SAE_OK && op->undo)
            op->undo(f);
        if (st == SAE_OK && op->setup)
            op->setup(f);
        st = op->run(f);
        if (st != SAE_OK)
            fail_msg("%s: retry after allocation %ld failed: %s", op->name, n, op->message(f));
        if (op->undo)
            op->undo(f);
    }
}

/* ------------------------------------------------------------------------ */
/* Operations                                                               */
/* ------------------------------------------------------------------------ */

static const char *global_msg(const fixture_t *f)
{
    (void)f;
    return sae_last_error();
}

static const char *model_msg(const fixture_t *f)
{
    return sae_model_errmsg(f->model);
}

static const char *trainer_msg(const fixture_t *f)
{
    return sae_trainer_errmsg(f->trainer);
}

static sae_status_t run_config(fixture_t *f)
{
    sae_config_t *cfg = NULL, *copy = NULL;
    sae_status_t st = sae_config_create(&cfg);
    const char *msg = sae_last_error();
    if (st == SAE_OK && f->layers) {
        st = sae_config_set_layers(cfg, f->layers);
        msg = sae_config_errmsg(cfg);
    }
    if (st == SAE_OK) {
        st = sae_config_set(cfg, "kl.rho", "0.05");
        msg = sae_config_errmsg(cfg);
    }
    if (st == SAE_OK) {
        st = sae_config_clone(cfg, &copy);
        msg = sae_last_error();
    }
    snprintf(f->msg, sizeof f->msg, "%s", st == SAE_OK ? "" : msg);
    sae_config_free(copy);
    sae_config_free(cfg);
    return st;
}

static const char *config_msg(const fixture_t *f)
{
    return f->msg;
}

static sae_status_t run_model_create(fixture_t *f)
{
    return sae_model_create(f->cfg, &f->loaded);
}

static void undo_loaded(fixture_t *f)
{
    sae_model_free(f->loaded);
    f->loaded = NULL;
}

static sae_status_t run_trainer_create(fixture_t *f)
{
    sae_trainer_t *t = NULL;
    sae_status_t st = sae_trainer_create(f->model, &t);
    sae_trainer_free(t);
    return st;
}

/* A fresh trainer each time: a first fit sizes its buffers. */
static void setup_fresh_trainer(fixture_t *f)
{
    sae_trainer_free(f->trainer);
    f->trainer = NULL;
    assert_int_equal(sae_trainer_create(f->model, &f->trainer), SAE_OK);
}

static sae_status_t run_fit(fixture_t *f)
{
    return sae_trainer_fit(f->trainer, f->x, f->rows, 2);
}

static sae_status_t run_step_evaluate(fixture_t *f)
{
    sae_stats_t s;
    sae_status_t st = sae_trainer_step(f->trainer, f->x, 8, &s);
    if (st == SAE_OK)
        st = sae_trainer_evaluate(f->trainer, f->x, f->rows, &s);
    return st;
}

static sae_status_t run_save(fixture_t *f)
{
    return sae_model_save(f->model, f->path);
}

static sae_status_t run_load(fixture_t *f)
{
    return sae_model_load(f->path, &f->loaded);
}

static sae_status_t run_inference(fixture_t *f)
{
    sae_status_t st = sae_model_encode(f->model, f->x, f->rows, f->out);
    if (st == SAE_OK)
        st = sae_model_reconstruct(f->model, f->x, f->rows, f->out);
    if (st == SAE_OK)
        st = sae_model_decode(f->model, f->x, 2, f->out); /* any code values */
    double nmse = 0;
    if (st == SAE_OK)
        st = sae_model_reconstruction_error(f->model, f->x, f->rows, &nmse, NULL);
    uint8_t bits[24 * 64];
    if (st == SAE_OK && f->code_dim <= 64)
        st = sae_model_encode_binary(f->model, f->x, f->rows, 2, bits);
    if (st == SAE_OK && !f->layers) { /* the one-hidden-layer kind's own calls */
        const size_t ks[2] = {1, 3};
        double errors[2];
        st = sae_model_prefix_errors(f->model, f->x, f->rows, ks, 2, errors);
        if (st == SAE_OK)
            st = sae_model_init_decoder_bias(f->model, f->x, f->rows, SAE_BIAS_INIT_GEOMETRIC_MEDIAN);
    }
    return st;
}

/* The first calls on a fresh model make its inference context (scratch,
 * code-operator state, centred rows). */
static void setup_fresh_model(fixture_t *f)
{
    sae_model_free(f->loaded);
    f->loaded = NULL;
    assert_int_equal(sae_model_create(f->cfg, &f->loaded), SAE_OK);
}

static sae_status_t run_first_inference(fixture_t *f)
{
    sae_status_t st = sae_model_reconstruct(f->loaded, f->x, f->rows, f->out);
    if (st == SAE_OK)
        st = sae_model_encode(f->loaded, f->x, f->rows, f->out);
    return st;
}

static const char *loaded_msg(const fixture_t *f)
{
    return sae_model_errmsg(f->loaded);
}

static sae_status_t run_save_checkpoint(fixture_t *f)
{
    return sae_trainer_save_checkpoint(f->trainer, f->ckpt);
}

static sae_status_t run_load_checkpoint(fixture_t *f)
{
    return sae_trainer_load_checkpoint(f->ckpt, &f->loaded, &f->loaded_t);
}

static void undo_checkpoint(fixture_t *f)
{
    sae_trainer_free(f->loaded_t);
    f->loaded_t = NULL;
    undo_loaded(f);
}

/* A data source over the fixture's rows, with a cursor (so that a
 * checkpoint of a source fit asks it). */
static int src_next(void *ud, float *rows_out, size_t max_rows, size_t dim, size_t *rows)
{
    fixture_t *f = ud;
    size_t n = f->rows - f->src_pos < max_rows ? f->rows - f->src_pos : max_rows;
    memcpy(rows_out, f->x + f->src_pos * dim, n * dim * sizeof *rows_out);
    f->src_pos += n;
    *rows = n;
    return 0;
}

static int src_reset(void *ud, uint64_t epoch)
{
    (void)epoch;
    ((fixture_t *)ud)->src_pos = 0;
    return 0;
}

static size_t src_cursor_size(void *ud)
{
    (void)ud;
    return sizeof(size_t);
}

static int src_save(void *ud, void *buf, size_t size)
{
    memcpy(buf, &((fixture_t *)ud)->src_pos, size);
    return 0;
}

static int src_restore(void *ud, const void *buf, size_t size)
{
    memcpy(&((fixture_t *)ud)->src_pos, buf, size);
    return 0;
}

static const sae_source_ops_t source_ops = {sizeof(sae_source_ops_t), src_next, src_reset, NULL,
                                            src_cursor_size, src_save, src_restore, NULL};

static sae_status_t run_fit_source(fixture_t *f)
{
    sae_status_t st = sae_trainer_fit_source(f->trainer, &source_ops, f, 2, 0);
    if (st == SAE_OK) /* the source's cursor saved with the trainer's state */
        st = sae_trainer_save_checkpoint(f->trainer, f->ckpt);
    return st;
}

static sae_status_t run_export(fixture_t *f)
{
    /* export reports through sae_last_error() (the model is const) */
    sae_status_t st = sae_model_export(f->sl_model, f->sl_dir, "saelens");
    if (st == SAE_OK)
        st = sae_model_export(f->sp_model, f->sp_dir, "sparsify");
    return st;
}

static sae_status_t import_one(fixture_t *f, const char *dir, const char *format)
{
    sae_status_t st = sae_model_import(dir, format, &f->loaded);
    undo_loaded(f);
    return st;
}

static sae_status_t run_import(fixture_t *f)
{
    sae_status_t st = import_one(f, f->sl_dir, "saelens");
    if (st == SAE_OK)
        st = import_one(f, f->sp_dir, "auto");
    return st;
}

static const op_t ops_dense_io[] = {
    {"export: saelens, sparsify", NULL, run_export, global_msg, NULL},
    {"import: saelens, sparsify", NULL, run_import, global_msg, NULL},
};

static const op_t ops[] = {
    {"config create, set, clone", NULL, run_config, config_msg, NULL},
    {"model create", NULL, run_model_create, global_msg, undo_loaded},
    {"trainer create", NULL, run_trainer_create, global_msg, NULL},
    {"fit", setup_fresh_trainer, run_fit, trainer_msg, NULL},
    {"step, evaluate", setup_fresh_trainer, run_step_evaluate, trainer_msg, NULL},
    {"save", NULL, run_save, model_msg, NULL},
    {"load", NULL, run_load, global_msg, undo_loaded},
    {"inference calls, bias init", NULL, run_inference, model_msg, NULL},
    {"first inference on a fresh model", setup_fresh_model, run_first_inference, loaded_msg,
     undo_loaded},
    {"checkpoint save", NULL, run_save_checkpoint, trainer_msg, NULL},
    {"checkpoint load", NULL, run_load_checkpoint, global_msg, undo_checkpoint},
    {"fit_source, checkpoint", setup_fresh_trainer, run_fit_source, trainer_msg, NULL},
};

static void sweep_all(const char *layers)
{
    fixture_t f;
    fixture_init(&f, layers);
    /* Once without faults first: the OpenMP and BLAS runtimes set
     * themselves up on first use, and abort on failure, outside the
     * library's control. */
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        if (ops[i].setup)
            ops[i].setup(&f);
        assert_int_equal(ops[i].run(&f), SAE_OK);
        if (ops[i].undo)
            ops[i].undo(&f);
    }
    long total = 0;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        long n = sweep(&f, &ops[i]);
        print_message("%-36s %4ld allocations, each failed once\n", ops[i].name, n);
        total += n;
    }
    for (size_t i = 0; !layers && i < sizeof ops_dense_io / sizeof ops_dense_io[0]; i++) {
        assert_int_equal(ops_dense_io[i].run(&f), SAE_OK);
        long n = sweep(&f, &ops_dense_io[i]);
        print_message("%-36s %4ld allocations, each failed once\n", ops_dense_io[i].name, n);
        total += n;
    }
    assert_true(total > 0);
    fixture_free(&f);
}

#ifdef SAE_FAULTS_SAEDATA
/* The sae tool's data readers (tools/sae/data): each kind of file opened,
 * read and closed, as `sae train` does, with every allocation failing in
 * turn; a failure must say "memory" (not call a good file malformed). */
#include <zlib.h>

#include "files.h"

typedef struct data_files {
    char dir[256], npy[2][320], raw[320], idx[320], st[320];
} data_files_t;

static data_files_t df;

static void write_bytes(const char *path, const void *a, size_t na, const void *b, size_t nb)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(a, 1, na, f), na);
    if (nb)
        assert_int_equal(fwrite(b, 1, nb, f), nb);
    assert_int_equal(fclose(f), 0);
}

/* 4 rows of 5 values in each format. */
static void make_data_files(void)
{
    static float v[20];
    for (int i = 0; i < 20; i++)
        v[i] = (float)i / 20.0f;
    snprintf(df.dir, sizeof df.dir, "%s", tu_tmpdir());
    /* NPY 1.0: magic, header length, the dict padded so data starts at 128 */
    char npy[128];
    memset(npy, ' ', sizeof npy);
    memcpy(npy, "\x93NUMPY\x01\x00\x76\x00", 10);
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 5), }";
    memcpy(npy + 10, dict, strlen(dict));
    npy[127] = '\n';
    for (int k = 0; k < 2; k++) {
        snprintf(df.npy[k], sizeof df.npy[k], "%s/shard%d.npy", df.dir, k);
        write_bytes(df.npy[k], npy, sizeof npy, v, sizeof v);
    }
    snprintf(df.raw, sizeof df.raw, "%s/rows.f32", df.dir);
    write_bytes(df.raw, v, sizeof v, NULL, 0);
    /* safetensors: one F32 tensor [4, 5] */
    const char *hdr = "{\"x\":{\"dtype\":\"F32\",\"shape\":[4,5],\"data_offsets\":[0,80]}}";
    uint8_t st[8 + 64];
    memset(st, ' ', sizeof st);
    uint64_t hl = 64;
    for (int i = 0; i < 8; i++)
        st[i] = (uint8_t)(hl >> (8 * i));
    memcpy(st + 8, hdr, strlen(hdr));
    snprintf(df.st, sizeof df.st, "%s/x.safetensors", df.dir);
    write_bytes(df.st, st, sizeof st, v, sizeof v);
    /* IDX, gzip-compressed: u8 [4 x 1 x 5] */
    uint8_t idx[4 + 12 + 20] = {0, 0, 8, 3, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 5};
    for (int i = 0; i < 20; i++)
        idx[16 + i] = (uint8_t)(i * 12);
    snprintf(df.idx, sizeof df.idx, "%s/images-idx3-ubyte.gz", df.dir);
    gzFile gz = gzopen(df.idx, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, idx, sizeof idx), (int)sizeof idx);
    assert_int_equal(gzclose(gz), Z_OK);
}

static void remove_data_files(void)
{
    unlink(df.npy[0]);
    unlink(df.npy[1]);
    unlink(df.raw);
    unlink(df.st);
    unlink(df.idx);
    rmdir(df.dir);
}

static sae_status_t read_set(fixture_t *f, const char *const *paths, size_t n,
                             const sd_options_t *opt, size_t rows)
{
    sd_set_t set;
    float out[8 * 5];
    int rc = sd_set_open(&set, paths, n, opt);
    if (rc == 0) {
        if (set.rows != rows || set.dim != 5)
            fail_msg("%s: %zu rows of %zu, not %zu of 5", paths[0], set.rows, set.dim, rows);
        rc = sd_set_read(&set, 0, rows, out);
        sd_set_close(&set);
        if (rc == 0 && fabsf(out[1] - (opt->format == SD_FMT_IDX ? 12.0f / 255.0f : 0.05f)) > 1e-6f)
            fail_msg("%s: read %g", paths[0], (double)out[1]);
    }
    snprintf(f->msg, sizeof f->msg, "%s", rc == 0 ? "" : sd_errmsg());
    if (rc == 0)
        return SAE_OK;
    /* An allocation failed: the message must say so. */
    return strstr(f->msg, "memory") ? SAE_ERR_NOMEM : SAE_ERR_IO;
}

static sae_status_t run_read_npy_shards(fixture_t *f)
{
    const char *paths[2] = {df.npy[0], df.npy[1]};
    sd_options_t opt = {SD_FMT_AUTO, 0, SD_F32, NULL, 0};
    return read_set(f, paths, 2, &opt, 8);
}

static sae_status_t run_read_raw(fixture_t *f)
{
    const char *paths[1] = {df.raw};
    sd_options_t opt = {SD_FMT_RAW, 5, SD_F32, NULL, 0};
    return read_set(f, paths, 1, &opt, 4);
}

static sae_status_t run_read_idx_gz(fixture_t *f)
{
    const char *paths[1] = {df.idx};
    sd_options_t opt = {SD_FMT_IDX, 0, SD_F32, NULL, 1};
    return read_set(f, paths, 1, &opt, 4);
}

static sae_status_t run_read_safetensors(fixture_t *f)
{
    const char *paths[1] = {df.st};
    sd_options_t opt = {SD_FMT_AUTO, 0, SD_F32, NULL, 0};
    return read_set(f, paths, 1, &opt, 4);
}

static const op_t ops_readers[] = {
    {"sae data: npy, two shards", NULL, run_read_npy_shards, config_msg, NULL},
    {"sae data: raw f32", NULL, run_read_raw, config_msg, NULL},
    {"sae data: idx gzip", NULL, run_read_idx_gz, config_msg, NULL},
    {"sae data: safetensors", NULL, run_read_safetensors, config_msg, NULL},
};

static void test_cli_readers(void **state)
{
    (void)state;
    fixture_t f;
    memset(&f, 0, sizeof f);
    snprintf(f.dir, sizeof f.dir, "%s", tu_tmpdir());
    f.layers = "none"; /* no export folders to look into */
    make_data_files();
    for (size_t i = 0; i < sizeof ops_readers / sizeof ops_readers[0]; i++) {
        assert_int_equal(ops_readers[i].run(&f), SAE_OK);
        long n = sweep(&f, &ops_readers[i]);
        print_message("%-36s %4ld allocations, each failed once\n", ops_readers[i].name, n);
    }
    remove_data_files();
    rmdir(f.dir);
}
#endif

static void test_dense(void **state)
{
    (void)state;
    sweep_all(NULL);
}

static void test_layered(void **state)
{
    (void)state;
    sweep_all("input 1x6x6; conv2d 3 k3 relu; maxpool2d k2 s1; dense 5 sigmoid code;"
              "dense 36 sigmoid");
}

int main(void)
{
    install_hooks();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense),
        cmocka_unit_test(test_layered),
#ifdef SAE_FAULTS_SAEDATA
        cmocka_unit_test(test_cli_readers),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
