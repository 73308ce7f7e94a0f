/* Concurrent inference: one model read by 8 threads at once through every
 * inference call gives, bit for bit, what serial calls give (dense and
 * convolutional models); and 8 threads training 8 models give what
 * training them one after another gives. tools/test.sh runs this under
 * ThreadSanitizer too. SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define THREADS 8
#define ROUNDS 6
#define ROWS 37 /* not a multiple of any chunk size */

typedef struct expected {
    float *code, *x_hat, *decoded;
    uint8_t *bits;
    double nmse, ev, prefix[3];
} expected_t;

typedef struct shared {
    sae_model_t *model;
    const float *x; /* [THREADS * ROWS x D] */
    size_t d, h;
    int has_prefix;
    expected_t want[THREADS];
    int mismatches;
    pthread_mutex_t lock;
} shared_t;

static const size_t ks[3] = {0, 1, 3};

/* Every inference call on slice `slice` of the rows. */
static int infer_all(sae_model_t *m, const shared_t *sh, size_t slice, expected_t *out)
{
    const float *x = sh->x + slice * ROWS * sh->d;
    int bad = 0;
    bad |= sae_model_encode(m, x, ROWS, out->code) != SAE_OK;
    bad |= sae_model_reconstruct(m, x, ROWS, out->x_hat) != SAE_OK;
    bad |= sae_model_decode(m, out->code, ROWS, out->decoded) != SAE_OK;
    bad |= sae_model_encode_binary(m, x, ROWS, 3, out->bits) != SAE_OK;
    bad |= sae_model_reconstruction_error(m, x, ROWS, &out->nmse, &out->ev) != SAE_OK;
    if (sh->has_prefix)
        bad |= sae_model_prefix_errors(m, x, ROWS, ks, 3, out->prefix) != SAE_OK;
    return bad;
}

static void alloc_expected(expected_t *e, size_t d, size_t h)
{
    e->code = malloc(ROWS * h * sizeof *e->code);
    e->x_hat = malloc(ROWS * d * sizeof *e->x_hat);
    e->decoded = malloc(ROWS * d * sizeof *e->decoded);
    e->bits = malloc(ROWS * h);
    assert_non_null(e->code);
    assert_non_null(e->x_hat);
    assert_non_null(e->decoded);
    assert_non_null(e->bits);
    memset(e->prefix, 0, sizeof e->prefix);
}

static void free_expected(expected_t *e)
{
    free(e->code);
    free(e->x_hat);
    free(e->decoded);
    free(e->bits);
}

static int same(const expected_t *a, const expected_t *b, size_t d, size_t h)
{
    return !memcmp(a->code, b->code, ROWS * h * sizeof(float)) &&
           !memcmp(a->x_hat, b->x_hat, ROWS * d * sizeof(float)) &&
           !memcmp(a->decoded, b->decoded, ROWS * d * sizeof(float)) &&
           !memcmp(a->bits, b->bits, ROWS * h) && !memcmp(&a->nmse, &b->nmse, sizeof a->nmse) &&
           !memcmp(&a->ev, &b->ev, sizeof a->ev) && !memcmp(a->prefix, b->prefix, sizeof a->prefix);
}

typedef struct worker {
    shared_t *sh;
    size_t id;
} worker_t;

static void *infer_worker(void *arg)
{
    worker_t *w = arg;
    shared_t *sh = w->sh;
    expected_t got;
    alloc_expected(&got, sh->d, sh->h);
    int bad = 0;
    for (int r = 0; r < ROUNDS; r++) {
        /* Each thread walks over every slice, starting at its own. */
        size_t slice = (w->id + (size_t)r) % THREADS;
        bad += infer_all(sh->model, sh, slice, &got) || !same(&got, &sh->want[slice], sh->d, sh->h);
    }
    free_expected(&got);
    pthread_mutex_lock(&sh->lock);
    sh->mismatches += bad;
    pthread_mutex_unlock(&sh->lock);
    return NULL;
}

static void run_shared_model(sae_config_t *cfg, int has_prefix)
{
    shared_t sh;
    memset(&sh, 0, sizeof sh);
    pthread_mutex_init(&sh.lock, NULL);
    assert_int_equal(sae_model_create(cfg, &sh.model), SAE_OK);
    sh.d = sae_model_input_dim(sh.model);
    sh.h = sae_model_code_dim(sh.model);
    sh.has_prefix = has_prefix;
    float *x = malloc(THREADS * ROWS * sh.d * sizeof *x);
    assert_non_null(x);
    tu_fill_uniform(x, THREADS * ROWS * sh.d, 0, 1, 17);
    sh.x = x;
    /* A few training steps so that the biases are not zero. */
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_trainer_create(sh.model, &t), SAE_OK);
    assert_int_equal(sae_trainer_fit_steps(t, x, THREADS * ROWS, 3), SAE_OK);
    sae_trainer_free(t);

    for (size_t s = 0; s < THREADS; s++) {
        alloc_expected(&sh.want[s], sh.d, sh.h);
        assert_int_equal(infer_all(sh.model, &sh, s, &sh.want[s]), 0);
    }
    pthread_t th[THREADS];
    worker_t w[THREADS];
    for (size_t i = 0; i < THREADS; i++) {
        w[i] = (worker_t){&sh, i};
        assert_int_equal(pthread_create(&th[i], NULL, infer_worker, &w[i]), 0);
    }
    for (size_t i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    print_message("%d threads x %d rounds of every inference call: %d mismatches\n", THREADS,
                  ROUNDS, sh.mismatches);
    assert_int_equal(sh.mismatches, 0);
    for (size_t s = 0; s < THREADS; s++)
        free_expected(&sh.want[s]);
    free(x);
    sae_model_free(sh.model);
    pthread_mutex_destroy(&sh.lock);
}

static sae_config_t *config(const char *layers)
{
    sae_config_t *cfg = NULL;
    assert_int_equal(sae_config_create(&cfg), SAE_OK);
    if (layers) {
        tu_assert_status(sae_config_set_layers(cfg, layers), SAE_OK);
    } else {
        assert_int_equal(sae_config_set(cfg, "arch.input_dim", "40"), SAE_OK);
        assert_int_equal(sae_config_set(cfg, "arch.hidden_dim", "24"), SAE_OK);
    }
    assert_int_equal(sae_config_set(cfg, "train.batch_size", "32"), SAE_OK);
    /* Element-wise kernels in the calling thread: the threads here are
     * the callers'. */
    assert_int_equal(sae_config_set(cfg, "train.threads", "1"), SAE_OK);
    return cfg;
}

static void test_dense_shared(void **state)
{
    (void)state;
    sae_config_t *cfg = config(NULL);
    run_shared_model(cfg, 1);
    assert_int_equal(sae_config_set(cfg, "arch.hidden_activation", "relu"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "arch.tied", "1"), SAE_OK);
    run_shared_model(cfg, 1);
    /* Top-k's selection buffers and the pre-encoder bias's centred rows. */
    assert_int_equal(sae_config_set(cfg, "arch.tied", "0"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "topk.k", "5"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "arch.pre_encoder_bias", "1"), SAE_OK);
    run_shared_model(cfg, 1);
    sae_config_free(cfg);
    /* The code operators with parameters of their own (0.4). */
    cfg = config(NULL);
    assert_int_equal(sae_config_set(cfg, "arch.hidden_activation", "jumprelu"), SAE_OK);
    run_shared_model(cfg, 0);
    sae_config_free(cfg);
    cfg = config(NULL);
    assert_int_equal(sae_config_set(cfg, "arch.hidden_activation", "relu"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "arch.gated", "1"), SAE_OK);
    run_shared_model(cfg, 0);
    sae_config_free(cfg);
}

static void test_conv_shared(void **state)
{
    (void)state;
    sae_config_t *cfg = config("input 2x7x6; conv2d 3 k3 s2 p1 relu; maxpool2d k2 s1; dense 5 "
                               "sigmoid code; dense 12 relu; dense 84 sigmoid");
    run_shared_model(cfg, 0);
    sae_config_free(cfg);
    cfg = config("input 1x9x7; conv2d 4 k3 p1 relu; conv2d 3 k3 s2 sigmoid code;"
                 "convt2d 2 k3 s2 p1 op0 relu; convt2d 1 k3 p0 sigmoid");
    run_shared_model(cfg, 0);
    sae_config_free(cfg);
}

/* ------------------------------------------------------------------------ */
/* 8 threads training 8 models                                              */
/* ------------------------------------------------------------------------ */

typedef struct train_job {
    const char *layers;
    int seed;
    float *weights; /* every tensor, concatenated */
    size_t n;
    int status;
} train_job_t;

static void *train_worker(void *arg)
{
    train_job_t *j = arg;
    sae_config_t *cfg = NULL;
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    j->status = -100;
    if (sae_config_create(&cfg) != SAE_OK)
        return NULL;
    int ok = (j->layers ? sae_config_set_layers(cfg, j->layers) == SAE_OK
                        : sae_config_set(cfg, "arch.input_dim", "30") == SAE_OK &&
                              sae_config_set(cfg, "arch.hidden_dim", "20") == SAE_OK &&
                              sae_config_set(cfg, "kl.weight", "0.1") == SAE_OK) &&
             sae_config_set(cfg, "train.batch_size", "16") == SAE_OK &&
             sae_config_set(cfg, "train.threads", "1") == SAE_OK &&
             sae_config_set_int(cfg, SAE_P_SEED, j->seed) == SAE_OK &&
             sae_model_create(cfg, &m) == SAE_OK && sae_trainer_create(m, &t) == SAE_OK;
    if (ok) {
        size_t d = sae_model_input_dim(m), rows = 64;
        float *x = malloc(rows * d * sizeof *x);
        tu_fill_uniform(x, rows * d, 0, 1, (uint64_t)j->seed);
        j->status = sae_trainer_fit(t, x, rows, 3);
        free(x);
        j->n = 0;
        for (size_t i = 0; i < sae_model_tensor_count(m); i++) {
            size_t r, c;
            sae_model_tensor(m, i, NULL, &r, &c, NULL);
            j->n += r * c;
        }
        j->weights = malloc(j->n * sizeof *j->weights);
        float *p = j->weights;
        for (size_t i = 0; i < sae_model_tensor_count(m); i++) {
            size_t r, c;
            const float *w;
            sae_model_tensor(m, i, NULL, &r, &c, &w);
            memcpy(p, w, r * c * sizeof *w);
            p += r * c;
        }
    }
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
    return NULL;
}

static void test_training_in_parallel(void **state)
{
    (void)state;
    const char *conv = "input 1x8x8; conv2d 3 k3 relu; maxpool2d k2 s2; dense 6 sigmoid code;"
                       "dense 64 sigmoid";
    train_job_t serial[THREADS], par[THREADS];
    for (int i = 0; i < THREADS; i++) {
        serial[i] = (train_job_t){i % 2 ? conv : NULL, 100 + i, NULL, 0, 0};
        par[i] = serial[i];
        train_worker(&serial[i]);
        assert_int_equal(serial[i].status, SAE_OK);
    }
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, train_worker, &par[i]), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(par[i].status, SAE_OK);
        assert_int_equal(par[i].n, serial[i].n);
        assert_memory_equal(par[i].weights, serial[i].weights, par[i].n * sizeof(float));
        free(par[i].weights);
        free(serial[i].weights);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense_shared),
        cmocka_unit_test(test_conv_shared),
        cmocka_unit_test(test_training_in_parallel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
