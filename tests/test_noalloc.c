/* Training allocates nothing per step: every buffer comes from the
 * trainer's workspace. The library's calls to the allocator are routed
 * through counters with the linker's --wrap (see tests/meson.build).
 * SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "testutil.h"

static int counting;
static size_t n_alloc;

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
int __real_posix_memalign(void **p, size_t align, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
int __wrap_posix_memalign(void **p, size_t align, size_t size);

void *__wrap_malloc(size_t size)
{
    n_alloc += counting;
    return __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
    n_alloc += counting;
    return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
    n_alloc += counting;
    return __real_realloc(p, size);
}

int __wrap_posix_memalign(void **p, size_t align, size_t size)
{
    n_alloc += counting;
    return __real_posix_memalign(p, align, size);
}

static void train_without_allocating(const char *activation, int corrupt, int tied)
{
    sae_config_t *cfg = tu_config(64, 48);
    assert_int_equal(sae_config_set(cfg, "arch.hidden_activation", activation), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "train.batch_size", "32"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "kl.weight", "0.1"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "sample.weight", "1"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "decay.l2", "1e-4"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "arch.tied", tied ? "1" : "0"), SAE_OK);
    if (corrupt) {
        assert_int_equal(sae_config_set(cfg, "corrupt.noise_std", "0.1"), SAE_OK);
        assert_int_equal(sae_config_set(cfg, "corrupt.input_keep", "0.8"), SAE_OK);
        assert_int_equal(sae_config_set(cfg, "corrupt.hidden_keep", "0.5"), SAE_OK);
    }
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    size_t rows = 200;
    float *x = malloc(rows * 64 * sizeof *x);
    tu_fill_uniform(x, rows * 64, 0, 1, 3);
    sae_stats_t s;
    /* The first fit sizes the shuffle order once; after that, nothing. */
    assert_int_equal(sae_trainer_fit(t, x, rows, 1), SAE_OK);
    n_alloc = 0;
    counting = 1;
    for (int i = 0; i < 10; i++)
        assert_int_equal(sae_trainer_step(t, x + (size_t)(i % 6) * 32 * 64, 32, &s), SAE_OK);
    assert_int_equal(sae_trainer_fit(t, x, rows, 3), SAE_OK);
    assert_int_equal(sae_trainer_fit_steps(t, x, rows, 17), SAE_OK);
    assert_int_equal(sae_trainer_evaluate(t, x, rows, &s), SAE_OK);
    counting = 0;
    assert_int_equal(n_alloc, 0);
    free(x);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

static void test_no_allocation_in_training_loop(void **state)
{
    (void)state;
    train_without_allocating("sigmoid", 0, 0);
    train_without_allocating("relu", 1, 0);
    train_without_allocating("tanh", 1, 1);
}

/* Gao et al.'s recipe: the decoder bias set from the first rows (the
 * geometric median, inside the first counted call), the pre-encoder bias
 * and AuxK, on both top-k paths. */
static void test_no_allocation_with_auxk(void **state)
{
    (void)state;
    for (int sparse = 0; sparse < 2; sparse++) {
        sae_config_t *cfg = tu_config(64, 48);
        const char *kv[] = {"arch.hidden_activation", "relu", "topk.k", "4",
                            "topk.sparse_path", sparse ? "on" : "off", "auxk.k", "6",
                            "auxk.dead_after", "64", "arch.pre_encoder_bias", "1",
                            "arch.bias_init", "geometric_median", "arch.unit_norm_decoder", "1",
                            "train.batch_size", "32", "train.sampling", "sequential", NULL};
        for (int i = 0; kv[i]; i += 2)
            assert_int_equal(sae_config_set(cfg, kv[i], kv[i + 1]), SAE_OK);
        sae_model_t *m = NULL;
        sae_trainer_t *t = NULL;
        assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
        assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
        size_t rows = 200;
        float *x = malloc(rows * 64 * sizeof *x);
        tu_fill_uniform(x, rows * 64, 0, 1, 3);
        sae_stats_t s;
        n_alloc = 0;
        counting = 1;
        assert_int_equal(sae_trainer_fit(t, x, rows, 3), SAE_OK);
        for (int i = 0; i < 10; i++)
            assert_int_equal(sae_trainer_step(t, x + (size_t)(i % 6) * 32 * 64, 32, &s), SAE_OK);
        assert_int_equal(sae_trainer_fit_steps(t, x, rows, 17), SAE_OK);
        assert_int_equal(sae_trainer_evaluate(t, x, rows, &s), SAE_OK);
        counting = 0;
        assert_int_equal(n_alloc, 0);
        free(x);
        sae_trainer_free(t);
        sae_model_free(m);
        sae_config_free(cfg);
    }
}

/* Neural sparse coding's step (train/nsc.c) works in the same workspace. */
static void test_no_allocation_with_nsc(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(64, 48);
    assert_int_equal(sae_config_set(cfg, "arch.tied", "1"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "arch.bias", "0"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "arch.hidden_activation", "linear"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "train.algorithm", "nsc"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "nsc.tau", "0.1"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "train.batch_size", "32"), SAE_OK);
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    size_t rows = 200;
    float *x = malloc(rows * 64 * sizeof *x);
    tu_fill_uniform(x, rows * 64, 0, 1, 3);
    sae_stats_t s;
    assert_int_equal(sae_trainer_fit(t, x, rows, 1), SAE_OK);
    n_alloc = 0;
    counting = 1;
    assert_int_equal(sae_trainer_step(t, x, 32, &s), SAE_OK);
    assert_int_equal(sae_trainer_fit_steps(t, x, rows, 17), SAE_OK);
    assert_int_equal(sae_trainer_evaluate(t, x, rows, &s), SAE_OK);
    counting = 0;
    assert_int_equal(n_alloc, 0);
    free(x);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

/* Allocations made by steps of step_rows, a 2-epoch fit and an evaluation,
 * after a first 1-epoch fit (which sizes the shuffle order once), on rows
 * random rows of dim values; the last statistics into s. */
static size_t count_after_warm_up(const sae_config_t *cfg, size_t dim, size_t rows,
                                  size_t step_rows, sae_stats_t *s)
{
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    float *x = malloc(rows * dim * sizeof *x);
    tu_fill_uniform(x, rows * dim, 0, 1, 3);
    assert_int_equal(sae_trainer_fit(t, x, rows, 1), SAE_OK);
    n_alloc = 0;
    counting = 1;
    for (size_t i = 0; i + step_rows <= rows && i < 5 * step_rows; i += step_rows)
        assert_int_equal(sae_trainer_step(t, x + i * dim, step_rows, s), SAE_OK);
    assert_int_equal(sae_trainer_fit(t, x, rows, 2), SAE_OK);
    assert_int_equal(sae_trainer_evaluate(t, x, rows, s), SAE_OK);
    counting = 0;
    free(x);
    sae_trainer_free(t);
    sae_model_free(m);
    return n_alloc;
}

/* The rank-ordered autoencoder's step (train/rank_order.c) too, ranking
 * and all. */
static void test_no_allocation_with_rank_order(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(64, 300);
    const char *kv[] = {"arch.tied", "1", "arch.bias", "0", "arch.hidden_activation", "trelu",
                        "arch.output_activation", "trelu", "train.algorithm", "rank_order",
                        "train.batch_size", "4", NULL};
    for (int i = 0; kv[i]; i += 2)
        assert_int_equal(sae_config_set(cfg, kv[i], kv[i + 1]), SAE_OK);
    sae_stats_t s;
    assert_int_equal(count_after_warm_up(cfg, 64, 40, 4, &s), 0);
    assert_true(s.l0 > 0.0);
    sae_config_free(cfg);
}

/* A layered model (conv, pooling, transposed conv, dense) with the
 * regularizers on every hidden layer, corruption and decay. */
static void test_no_allocation_with_layers(void **state)
{
    (void)state;
    sae_config_t *cfg = NULL;
    assert_int_equal(sae_config_create(&cfg), SAE_OK);
    const char *kv[] = {"arch.layers",
                        "input 1x8x8; conv2d 4 k3 p1 relu; maxpool2d k2; dense 10 sigmoid code;"
                        "dense 4x4x4 relu; convt2d 2 k3 s2 p1 op1 relu; conv2d 1 k3 p1 sigmoid",
                        "arch.penalize", "hidden", "kl.weight", "0.1", "l1.weight", "0.01",
                        "loss.type", "bce", "decay.l2", "1e-4", "corrupt.noise_std", "0.1",
                        "train.batch_size", "32", NULL};
    for (int i = 0; kv[i]; i += 2)
        assert_int_equal(sae_config_set(cfg, kv[i], kv[i + 1]), SAE_OK);
    sae_stats_t s;
    assert_int_equal(count_after_warm_up(cfg, 64, 100, 20, &s), 0);
    sae_config_free(cfg);
}

/* A data source's fit: the batches go into the workspace's buffer. */
typedef struct src {
    const float *x;
    size_t rows, pos;
} src_t;

static int src_next(void *u, float *out, size_t max_rows, size_t dim, size_t *rows)
{
    src_t *s = u;
    size_t n = s->rows - s->pos < max_rows ? s->rows - s->pos : max_rows;
    for (size_t i = 0; i < n * dim; i++)
        out[i] = s->x[s->pos * dim + i];
    s->pos += n;
    *rows = n;
    return 0;
}

static int src_reset(void *u, uint64_t epoch)
{
    (void)epoch;
    ((src_t *)u)->pos = 0;
    return 0;
}

static void test_no_allocation_from_a_source(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(64, 48);
    assert_int_equal(sae_config_set(cfg, "train.batch_size", "32"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "topk.k", "5"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "auxk.k", "4"), SAE_OK);
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    float *x = malloc(100 * 64 * sizeof *x);
    tu_fill_uniform(x, 100 * 64, 0, 1, 3);
    src_t src = {x, 100, 0};
    sae_source_ops_t ops = {.struct_size = sizeof ops, .next_batch = src_next,
                            .reset = src_reset};
    n_alloc = 0;
    counting = 1;
    assert_int_equal(sae_trainer_fit_source(t, &ops, &src, 3, 0), SAE_OK);
    counting = 0;
    assert_int_equal(n_alloc, 0);
    assert_int_equal(sae_trainer_steps(t), 12);
    free(x);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

/* The oneDNN engine (train.precision = bf16, train.gemm = onednn): its
 * primitives and bf16 copies are made in the first fit, for the shapes a
 * batch size gives, and reused after. Skipped where the build or the CPU
 * lacks it. */
static void test_no_allocation_with_onednn(void **state)
{
    (void)state;
    const char *settings[][2] = {{"train.precision", "bf16"}, {"train.gemm", "onednn"}};
    for (int e = 0; e < 2; e++)
        for (int sparse = 0; sparse < 2; sparse++) {
            sae_config_t *cfg = tu_config(64, 48);
            const char *kv[] = {"arch.hidden_activation", "relu", "topk.k", sparse ? "4" : "0",
                                "train.batch_size", "32", settings[e][0], settings[e][1], NULL};
            for (int i = 0; kv[i]; i += 2)
                assert_int_equal(sae_config_set(cfg, kv[i], kv[i + 1]), SAE_OK);
            sae_model_t *m = NULL;
            sae_trainer_t *t = NULL;
            assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
            if (sae_trainer_create(m, &t) == SAE_ERR_UNSUPPORTED) {
                sae_model_free(m);
                sae_config_free(cfg);
                continue;
            }
            size_t rows = 200;
            float *x = malloc(rows * 64 * sizeof *x);
            tu_fill_uniform(x, rows * 64, 0, 1, 3);
            sae_stats_t s;
            assert_int_equal(sae_trainer_fit(t, x, rows, 1), SAE_OK);
            assert_int_equal(sae_trainer_evaluate(t, x, rows, &s), SAE_OK);
            n_alloc = 0;
            counting = 1;
            for (int i = 0; i < 10; i++)
                assert_int_equal(sae_trainer_step(t, x + (size_t)(i % 6) * 32 * 64, 32, &s),
                                 SAE_OK);
            assert_int_equal(sae_trainer_fit(t, x, rows, 3), SAE_OK);
            assert_int_equal(sae_trainer_evaluate(t, x, rows, &s), SAE_OK);
            counting = 0;
            assert_int_equal(n_alloc, 0);
            free(x);
            sae_trainer_free(t);
            sae_model_free(m);
            sae_config_free(cfg);
        }
}

/* The 0.4 code operators: JumpReLU on both paths, BatchTopK with its
 * threshold estimate, gated with its auxiliary reconstruction. */
static void test_no_allocation_with_code_operators(void **state)
{
    (void)state;
    const char *configs[][12] = {
        {"arch.hidden_activation", "jumprelu", "l0.weight", "0.01", "jumprelu.threshold_init",
         "0.3", "topk.sparse_path", "on", NULL},
        {"arch.hidden_activation", "jumprelu", "l0.weight", "0.01", "topk.sparse_path", "off",
         NULL},
        {"arch.hidden_activation", "relu", "topk.k", "4", "topk.mode", "batch", NULL},
        {"arch.hidden_activation", "relu", "arch.gated", "1", "l1.weight", "0.01", NULL},
    };
    for (size_t c = 0; c < sizeof configs / sizeof configs[0]; c++) {
        sae_config_t *cfg = tu_config(64, 48);
        assert_int_equal(sae_config_set(cfg, "arch.output_activation", "linear"), SAE_OK);
        assert_int_equal(sae_config_set(cfg, "train.batch_size", "32"), SAE_OK);
        for (int i = 0; configs[c][i]; i += 2)
            assert_int_equal(sae_config_set(cfg, configs[c][i], configs[c][i + 1]), SAE_OK);
        sae_model_t *m = NULL;
        sae_trainer_t *t = NULL;
        assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
        assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
        size_t rows = 200;
        float *x = malloc(rows * 64 * sizeof *x);
        tu_fill_uniform(x, rows * 64, 0, 1, 3);
        sae_stats_t s;
        assert_int_equal(sae_trainer_fit(t, x, rows, 1), SAE_OK);
        n_alloc = 0;
        counting = 1;
        for (int i = 0; i < 10; i++)
            assert_int_equal(sae_trainer_step(t, x + (size_t)(i % 6) * 32 * 64, 32, &s), SAE_OK);
        assert_int_equal(sae_trainer_fit(t, x, rows, 2), SAE_OK);
        assert_int_equal(sae_trainer_evaluate(t, x, rows, &s), SAE_OK);
        counting = 0;
        assert_int_equal(n_alloc, 0);
        free(x);
        sae_trainer_free(t);
        sae_model_free(m);
        sae_config_free(cfg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_allocation_from_a_source),
        cmocka_unit_test(test_no_allocation_in_training_loop),
        cmocka_unit_test(test_no_allocation_with_auxk),
        cmocka_unit_test(test_no_allocation_with_nsc),
        cmocka_unit_test(test_no_allocation_with_rank_order),
        cmocka_unit_test(test_no_allocation_with_layers),
        cmocka_unit_test(test_no_allocation_with_onednn),
        cmocka_unit_test(test_no_allocation_with_code_operators),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
