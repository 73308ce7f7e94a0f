/* Layered models (arch.layers): the layer list's grammar and checks,
 * shapes, the whole model's gradient against central differences, training,
 * inference and save/load. SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* E2's convolutional autoencoder (EXPERIMENTS.md). */
static const char e2_layers[] =
    "input 1x28x28; conv2d 8 k3 relu; conv2d 16 k5 relu; conv2d 32 k5 s2 relu;\n"
    "maxpool2d k2 code; convt2d 16 k3 s2 relu; convt2d 8 k5 s2 relu; convt2d 1 k8 sigmoid";

/* A small stack with every kind of layer, odd sizes, stride, padding and
 * output padding, for gradient checks. */
static const char small_layers[] =
    "input 2x7x6; conv2d 3 k3 s2 p1 tanh penalize; maxpool2d k2 s1; dense 5 sigmoid code;"
    "dense 12 relu; dense 24 tanh; dense 84 sigmoid";
static const char conv_only_layers[] =
    "input 1x9x7; conv2d 4 k3 p1 sigmoid; conv2d 3 k3 s2 sigmoid code;"
    "convt2d 2 k3 s2 p1 op0 tanh; convt2d 1 k3 p0 sigmoid";

static sae_config_t *layered(const char *layers)
{
    sae_config_t *cfg;
    assert_int_equal(sae_config_create(&cfg), SAE_OK);
    tu_assert_status(sae_config_set_layers(cfg, layers), SAE_OK);
    return cfg;
}

static void test_e2_shapes(void **state)
{
    (void)state;
    sae_config_t *cfg = layered(e2_layers);
    sae_model_t *m;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_model_layer_count(m), 7);
    assert_int_equal(sae_model_input_dim(m), 784);
    assert_int_equal(sae_model_code_dim(m), 32 * 4 * 4);
    /* torch: 28 -> 26 -> 22 -> 9 -> 4 -> 9 -> 21 -> 28 */
    const size_t want[7][3] = {{8, 26, 26}, {16, 22, 22}, {32, 9, 9}, {32, 4, 4},
                               {16, 9, 9},  {8, 21, 21},  {1, 28, 28}};
    for (size_t i = 0; i < 7; i++) {
        size_t c, h, w;
        assert_int_equal(sae_model_layer_shape(m, i, &c, &h, &w), SAE_OK);
        assert_int_equal(c, want[i][0]);
        assert_int_equal(h, want[i][1]);
        assert_int_equal(w, want[i][2]);
    }
    tu_assert_status(sae_model_layer_shape(m, 7, NULL, NULL, NULL), SAE_ERR_RANGE);
    /* torch's weight layouts: Conv2d [out, in, k, k], ConvTranspose2d [in, out, k, k]. */
    size_t rows, cols;
    assert_int_equal(sae_model_tensor_by_name(m, "layers.1.weight", &rows, &cols, NULL), SAE_OK);
    assert_int_equal(rows, 16);
    assert_int_equal(cols, 8 * 25);
    assert_int_equal(sae_model_tensor_by_name(m, "layers.5.weight", &rows, &cols, NULL), SAE_OK);
    assert_int_equal(rows, 16);
    assert_int_equal(cols, 8 * 25);
    assert_int_equal(sae_model_tensor_by_name(m, "layers.3.weight", NULL, NULL, NULL),
                     SAE_ERR_UNKNOWN_KEY); /* pooling has no weights */
    assert_int_equal(sae_model_tensor_count(m), 12);
    sae_model_free(m);
    sae_config_free(cfg);
}

static void test_canonical_text_round_trip(void **state)
{
    (void)state;
    sae_config_t *cfg = layered(e2_layers);
    char a[1024], b[1024];
    assert_int_equal(sae_config_get_layers(cfg, a, sizeof a), SAE_OK);
    assert_non_null(strstr(a, "maxpool2d k2 s2 code"));
    assert_non_null(strstr(a, "convt2d 1 k8 s1 p0 op0 sigmoid"));
    sae_config_t *c2;
    assert_int_equal(sae_config_create(&c2), SAE_OK);
    assert_int_equal(sae_config_set(c2, "arch.layers", a), SAE_OK);
    assert_int_equal(sae_config_get(c2, "arch.layers", b, sizeof b), SAE_OK);
    assert_string_equal(a, b);
    tu_assert_status(sae_config_get_layers(cfg, a, 20), SAE_ERR_RANGE);
    /* An empty list goes back to the one-hidden-layer model. */
    assert_int_equal(sae_config_set_layers(c2, ""), SAE_OK);
    assert_int_equal(sae_config_get_layers(c2, b, sizeof b), SAE_OK);
    assert_string_equal(b, "");
    sae_config_free(c2);
    sae_config_free(cfg);
}

static void expect_bad(const char *text, sae_status_t status, const char *msg_part)
{
    sae_config_t *cfg = layered(small_layers);
    char before[512], after[512];
    assert_int_equal(sae_config_get_layers(cfg, before, sizeof before), SAE_OK);
    tu_assert_status(sae_config_set_layers(cfg, text), status);
    if (!strstr(sae_config_errmsg(cfg), msg_part))
        fail_msg("message '%s' lacks '%s'", sae_config_errmsg(cfg), msg_part);
    assert_int_equal(sae_config_get_layers(cfg, after, sizeof after), SAE_OK);
    assert_string_equal(before, after); /* unchanged on failure */
    sae_config_free(cfg);
}

static void test_bad_layer_lists(void **state)
{
    (void)state;
    expect_bad("conv2d 8 k3 code; convt2d 1 k3", SAE_ERR_BAD_VALUE, "must start with 'input");
    expect_bad("input 1x28; dense 4 code; dense 28", SAE_ERR_BAD_VALUE, "input CxHxW");
    expect_bad("input 1x4x4; pool k2 code; dense 16", SAE_ERR_BAD_VALUE, "unknown kind 'pool'");
    expect_bad("input 1x4x4; conv2d k3 code; dense 16", SAE_ERR_BAD_VALUE, "output channels");
    expect_bad("input 1x4x4; conv2d 2 code; dense 16", SAE_ERR_BAD_VALUE, "needs a kernel size");
    expect_bad("input 1x4x4; conv2d 2 k3 q4 code; dense 16", SAE_ERR_BAD_VALUE,
               "cannot read 'q4'");
    expect_bad("input 1x4x4; dense 3; dense 16", SAE_ERR_BAD_VALUE, "exactly one layer");
    expect_bad("input 1x4x4; dense 3 code; dense 16 code", SAE_ERR_BAD_VALUE, "exactly one layer");
    expect_bad("input 1x4x4; dense 3; dense 16 code", SAE_ERR_BAD_VALUE, "cannot be the last");
    expect_bad("input 1x4x4; dense 3 code; dense 15", SAE_ERR_DIMENSION, "not the input's");
    expect_bad("input 1x4x4; conv2d 2 k5 code; convt2d 1 k5", SAE_ERR_DIMENSION,
               "gives no output");
    expect_bad("input 1x4x4; conv2d 2 k3 s2 code; convt2d 1 k3 s2 op2", SAE_ERR_BAD_VALUE,
               "smaller than the stride");
    expect_bad("input 1x4x4", SAE_ERR_BAD_VALUE, "no layer after the input");
    expect_bad("input 1x4x4; maxpool2d k2 relu code; dense 16", SAE_ERR_BAD_VALUE,
               "cannot read 'relu'");
}

static void test_conflicting_settings_refused(void **state)
{
    (void)state;
    struct {
        const char *key, *value, *msg;
    } cases[] = {
        {"arch.tied", "true", "arch.tied = false"},
        {"topk.k", "3", "topk.k = 0"},
        {"train.algorithm", "nsc", "train.algorithm = backprop"},
        {"corrupt.hidden_keep", "0.5", "corrupt.hidden_keep = 1"},
        {"loss.type", "bce", "last layer of arch.layers to be sigmoid"},
        {"arch.bias_init", "mean", "arch.bias_init = zero"},
        {"arch.pre_encoder_bias", "true", "arch.pre_encoder_bias = false"},
        {"optim.type", "lbfgs", "optim.type = sgd or adam"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sae_config_t *cfg = layered("input 1x4x4; dense 3 relu code; dense 16 relu");
        assert_int_equal(sae_config_set(cfg, cases[i].key, cases[i].value), SAE_OK);
        sae_model_t *m = NULL;
        tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_STATE);
        assert_null(m);
        if (!strstr(sae_last_error(), cases[i].msg))
            fail_msg("'%s' lacks '%s'", sae_last_error(), cases[i].msg);
        sae_config_free(cfg);
    }
}

static double model_gradcheck(sae_config_t *cfg, size_t rows)
{
    sae_model_t *m;
    sae_trainer_t *t;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    size_t d = sae_model_input_dim(m);
    float *x = malloc(rows * d * sizeof *x);
    tu_fill_uniform(x, rows * d, 0.05f, 0.95f, 7);
    double err = 1.0;
    assert_int_equal(sae_trainer_gradcheck(t, x, rows, &err), SAE_OK);
    print_message("layered gradcheck: %.3g\n", err);
    free(x);
    sae_trainer_free(t);
    sae_model_free(m);
    return err;
}

static void test_gradcheck_dense_conv_pool(void **state)
{
    (void)state;
    sae_config_t *cfg = layered(small_layers);
    assert_int_equal(sae_config_set(cfg, "arch.init", "fan_in_uniform"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "loss.type", "bce"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "arch.penalize", "hidden"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "kl.weight", "0.05"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "kl.rho", "0.2"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "decay.l2", "0.01"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "batch.weight", "0.1"), SAE_OK);
    assert_true(model_gradcheck(cfg, 3) < 1e-3);
    sae_config_free(cfg);
}

static void test_gradcheck_conv_transpose(void **state)
{
    (void)state;
    sae_config_t *cfg = layered(conv_only_layers);
    assert_int_equal(sae_config_set(cfg, "arch.init", "fan_in_uniform"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "arch.penalize", "marked"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "sample.weight", "0.3"), SAE_OK);
    assert_true(model_gradcheck(cfg, 2) < 1e-3);
    /* Marked layers only: this list marks none, so the penalty is absent. */
    sae_config_free(cfg);
    cfg = layered(conv_only_layers);
    assert_int_equal(sae_config_set(cfg, "arch.penalize", "code"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "kl.weight", "0.1"), SAE_OK);
    assert_true(model_gradcheck(cfg, 2) < 1e-3);
    sae_config_free(cfg);
}

/* A dense layer whose output takes a shape feeds a transposed convolution. */
static void test_shaped_dense(void **state)
{
    (void)state;
    sae_config_t *cfg = layered("input 1x6x6; dense 2x3x3 tanh code; convt2d 1 k2 s2 sigmoid");
    char text[256];
    assert_int_equal(sae_config_get_layers(cfg, text, sizeof text), SAE_OK);
    assert_non_null(strstr(text, "dense 2x3x3 tanh code"));
    sae_model_t *m;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    size_t c, h, w, rows, cols;
    assert_int_equal(sae_model_layer_shape(m, 0, &c, &h, &w), SAE_OK);
    assert_true(c == 2 && h == 3 && w == 3);
    assert_int_equal(sae_model_tensor_by_name(m, "layers.0.bias", &rows, &cols, NULL), SAE_OK);
    assert_int_equal(rows, 18); /* one bias per dense unit */
    assert_int_equal(sae_model_code_dim(m), 18);
    sae_model_free(m);
    assert_int_equal(sae_config_set(cfg, "l1.weight", "0.1"), SAE_OK);
    assert_true(model_gradcheck(cfg, 3) < 1e-3);
    sae_config_free(cfg);
}

/* The regularizer's term counts every penalised layer: "hidden" sums over
 * all but the last, "code" takes the code layer alone. */
static void test_penalize_targets(void **state)
{
    (void)state;
    double l1[3];
    const char *modes[3] = {"code", "hidden", "marked"};
    float x[4 * 84];
    tu_fill_uniform(x, 4 * 84, 0.0f, 1.0f, 3);
    for (int i = 0; i < 3; i++) {
        sae_config_t *cfg = layered(small_layers);
        assert_int_equal(sae_config_set(cfg, "arch.penalize", modes[i]), SAE_OK);
        assert_int_equal(sae_config_set(cfg, "l1.weight", "1"), SAE_OK);
        sae_model_t *m;
        sae_trainer_t *t;
        assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
        assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
        sae_stats_t s;
        assert_int_equal(sae_trainer_evaluate(t, x, 4, &s), SAE_OK);
        assert_int_equal(s.n_terms, 1);
        assert_string_equal(s.term_name[0], "l1");
        l1[i] = s.term_loss[0];
        /* The code is sigmoid: its mean |h| is its mean activation. */
        if (i == 0)
            assert_true(fabs(l1[0] - s.mean_activation) < 1e-6);
        sae_trainer_free(t);
        sae_model_free(m);
        sae_config_free(cfg);
    }
    assert_true(l1[1] > l1[0] + 0.1); /* five layers' means, not one */
    assert_true(l1[2] > 0.0 && l1[2] < l1[1]);
}

static void test_train_save_load(void **state)
{
    (void)state;
    sae_config_t *cfg = layered(conv_only_layers);
    assert_int_equal(sae_config_set(cfg, "arch.init", "fan_in_uniform"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "loss.type", "bce"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "optim.lr", "0.01"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "train.batch_size", "16"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "l1.weight", "0.001"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "arch.penalize", "hidden"), SAE_OK);
    const size_t n = 64, d = 63;
    float *x = malloc(n * d * sizeof *x);
    /* Bars: each image a horizontal or vertical stripe, a learnable set. */
    for (size_t r = 0; r < n; r++)
        for (size_t p = 0; p < d; p++) {
            size_t i = p / 7, j = p % 7;
            x[r * d + p] = (r % 2 ? i == r % 9 : j == r % 7) ? 0.9f : 0.1f;
        }
    sae_model_t *m;
    sae_trainer_t *t;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    sae_stats_t before, after;
    assert_int_equal(sae_trainer_evaluate(t, x, n, &before), SAE_OK);
    assert_int_equal(sae_trainer_fit(t, x, n, 60), SAE_OK);
    assert_int_equal(sae_trainer_evaluate(t, x, n, &after), SAE_OK);
    print_message("layered loss %.4f -> %.4f\n", before.recon_loss, after.recon_loss);
    assert_true(after.recon_loss < 0.8 * before.recon_loss);

    /* encode then decode is reconstruct. */
    size_t h = sae_model_code_dim(m);
    float *code = malloc(n * h * sizeof *code), *y1 = malloc(n * d * sizeof *y1),
          *y2 = malloc(n * d * sizeof *y2);
    assert_int_equal(sae_model_encode(m, x, n, code), SAE_OK);
    assert_int_equal(sae_model_decode(m, code, n, y1), SAE_OK);
    assert_int_equal(sae_model_reconstruct(m, x, n, y2), SAE_OK);
    assert_memory_equal(y1, y2, n * d * sizeof *y1);
    uint8_t *bits = malloc(n * h);
    assert_int_equal(sae_model_encode_binary(m, x, n, 2, bits), SAE_OK);
    size_t ones = 0;
    for (size_t i = 0; i < n * h; i++)
        ones += bits[i];
    assert_int_equal(ones, 2 * n);
    double errs[1];
    size_t ks[1] = {1};
    tu_assert_status(sae_model_prefix_errors(m, x, n, ks, 1, errs), SAE_ERR_STATE);

    /* Save and load: same config text, bit-identical reconstructions. */
    char path[512];
    snprintf(path, sizeof path, "%s/layered.safetensors", tu_tmpdir());
    assert_int_equal(sae_model_save(m, path), SAE_OK);
    sae_model_t *m2;
    if (sae_model_load(path, &m2) != SAE_OK)
        fail_msg("load: %s", sae_last_error());
    char a[512], b[512];
    assert_int_equal(sae_config_get_layers(sae_model_config(m), a, sizeof a), SAE_OK);
    assert_int_equal(sae_config_get_layers(sae_model_config(m2), b, sizeof b), SAE_OK);
    assert_string_equal(a, b);
    assert_int_equal(sae_model_reconstruct(m2, x, n, y1), SAE_OK);
    assert_memory_equal(y1, y2, n * d * sizeof *y1);
    remove(path);
    free(bits);
    free(code);
    free(y1);
    free(y2);
    free(x);
    sae_model_free(m2);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

static unsigned char *read_all(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return b;
}

static sae_status_t load_bytes(const char *path, const unsigned char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
    sae_model_t *m = NULL;
    sae_status_t st = sae_model_load(path, &m);
    if (st == SAE_OK)
        sae_model_free(m);
    else
        assert_null(m);
    return st;
}

/* A layered model's file truncated anywhere, or whose layer list no longer
 * matches its tensors, is refused. */
static void test_hostile_layered_files(void **state)
{
    (void)state;
    sae_config_t *cfg = layered(conv_only_layers);
    sae_model_t *m;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    char path[512], bad[512];
    snprintf(path, sizeof path, "%s/good.safetensors", tu_tmpdir());
    snprintf(bad, sizeof bad, "%s/bad.safetensors", tu_tmpdir());
    assert_int_equal(sae_model_save(m, path), SAE_OK);
    size_t n;
    unsigned char *b = read_all(path, &n);
    assert_int_equal(load_bytes(bad, b, n), SAE_OK);
    for (size_t len = 0; len < n; len++) {
        sae_status_t st = load_bytes(bad, b, len);
        if (st != SAE_ERR_FORMAT && st != SAE_ERR_IO)
            fail_msg("truncated at %zu of %zu: status %d", len, n, (int)st);
    }
    /* "conv2d 4 k3" -> "conv2d 5 k3": same length, other shapes. */
    unsigned char *hit = NULL;
    for (size_t i = 0; i + 11 <= n && !hit; i++)
        if (!memcmp(b + i, "conv2d 4 k3", 11))
            hit = b + i;
    assert_non_null(hit);
    hit[7] = '5';
    tu_assert_status(load_bytes(bad, b, n), SAE_ERR_FORMAT);
    if (!strstr(sae_last_error(), "layers"))
        fail_msg("message '%s' does not name the layers", sae_last_error());
    hit[7] = '0'; /* 0 channels: the list itself is refused */
    tu_assert_status(load_bytes(bad, b, n), SAE_ERR_FORMAT);
    remove(path);
    remove(bad);
    free(b);
    sae_model_free(m);
    sae_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e2_shapes),
        cmocka_unit_test(test_canonical_text_round_trip),
        cmocka_unit_test(test_bad_layer_lists),
        cmocka_unit_test(test_conflicting_settings_refused),
        cmocka_unit_test(test_gradcheck_dense_conv_pool),
        cmocka_unit_test(test_gradcheck_conv_transpose),
        cmocka_unit_test(test_shaped_dense),
        cmocka_unit_test(test_penalize_targets),
        cmocka_unit_test(test_train_save_load),
        cmocka_unit_test(test_hostile_layered_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
