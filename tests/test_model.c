/* Model API: creation errors, dimensions, tensor listing and init,
 * encode/decode/reconstruct against a double-precision reference and their
 * error paths, chunked batches, K-winners-take-all binary codes.
 * SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static void check_msg(const char *msg, const char *needle, const char *where)
{
    if (!msg)
        fail_msg("%s: message is NULL", where);
    if (!msg[0])
        fail_msg("%s: message is empty", where);
    if (needle && !strstr(msg, needle))
        fail_msg("%s: message \"%s\" does not name \"%s\"", where, msg, needle);
}

/* Const-handle calls (tensor lookups) may keep their message on the model
 * or in sae_last_error(); either must name the problem. */
static void check_msg_either(const sae_model_t *m, const char *needle, const char *where)
{
    const char *h = sae_model_errmsg(m), *g = sae_last_error();
    if (h && h[0] && strstr(h, needle))
        return;
    if (g && g[0] && strstr(g, needle))
        return;
    fail_msg("%s: neither model message \"%s\" nor last error \"%s\" names \"%s\"", where,
             h ? h : "(null)", g ? g : "(null)", needle);
}

/* A config of input d, code h, then "key", "value" pairs up to NULL. */
static sae_config_t *config_with(size_t d, size_t h, const char *const *kv)
{
    sae_config_t *cfg = tu_config(d, h);
    for (size_t i = 0; kv && kv[i]; i += 2)
        if (sae_config_set(cfg, kv[i], kv[i + 1]) != SAE_OK)
            fail_msg("%s = %s: %s", kv[i], kv[i + 1], sae_config_errmsg(cfg));
    return cfg;
}

static sae_model_t *model_with(size_t d, size_t h, const char *const *kv)
{
    sae_config_t *cfg = config_with(d, h, kv);
    sae_model_t *m = NULL;
    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    assert_non_null(m);
    sae_config_free(cfg);
    return m;
}

static const float *tensor(const sae_model_t *m, const char *name, size_t *rows, size_t *cols)
{
    const float *p = NULL;
    tu_assert_status(sae_model_tensor_by_name(m, name, rows, cols, &p), SAE_OK);
    assert_non_null(p);
    return p;
}

/* Tests need exact weights (ties, hand-made codes). The tensor views point
 * into the model's own heap block, so writing through them is defined
 * (sae_model_set_tensor, since 0.4, is tested on its own below). */
static float *tensor_rw(sae_model_t *m, const char *name)
{
    size_t r, c;
    return (float *)(uintptr_t)tensor(m, name, &r, &c);
}

static float *alloc_floats(size_t n, float fill)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = fill;
    return p;
}

static double act_ref(sae_activation_t a, double z)
{
    switch (a) {
    case SAE_ACT_SIGMOID: return 1.0 / (1.0 + exp(-z));
    case SAE_ACT_RELU: return z > 0 ? z : 0;
    case SAE_ACT_TANH: return tanh(z);
    case SAE_ACT_TRELU: return z > 0 ? (z < 1 ? z : 1) : 0;
    case SAE_ACT_JUMPRELU: /* tested in test_jumprelu.c */
    case SAE_ACT_LINEAR: break;
    }
    return z;
}

static int64_t cfg_int(const sae_model_t *m, sae_param_t p)
{
    int64_t v = -1;
    tu_assert_status(sae_config_get_int(sae_model_config(m), p, &v), SAE_OK);
    return v;
}

/* code = act(x W^T + b) in double, from the public tensors. */
static void encode_ref(const sae_model_t *m, const float *x, size_t rows, double *code)
{
    size_t d = sae_model_input_dim(m), h = sae_model_code_dim(m), r, c;
    const float *w = tensor(m, "encoder.weight", &r, &c);
    const float *b = NULL;
    if (cfg_int(m, SAE_P_BIAS))
        b = tensor(m, "encoder.bias", &r, &c);
    sae_activation_t a = (sae_activation_t)cfg_int(m, SAE_P_HIDDEN_ACTIVATION);
    for (size_t n = 0; n < rows; n++)
        for (size_t j = 0; j < h; j++) {
            double z = b ? b[j] : 0.0;
            for (size_t i = 0; i < d; i++)
                z += (double)x[n * d + i] * w[j * d + i];
            code[n * h + j] = act_ref(a, z);
        }
}

/* x_hat = out_act(h W_dec + b), W_dec [hidden x input] one row per unit,
 * W_dec = W_enc when tied. */
static void decode_ref(const sae_model_t *m, const float *code, size_t rows, double *x_hat)
{
    size_t d = sae_model_input_dim(m), h = sae_model_code_dim(m), r, c;
    int tied = (int)cfg_int(m, SAE_P_TIED);
    const float *we = tensor(m, "encoder.weight", &r, &c);
    const float *wd = tied ? NULL : tensor(m, "decoder.weight", &r, &c);
    const float *b = NULL;
    if (cfg_int(m, SAE_P_BIAS))
        b = tensor(m, "decoder.bias", &r, &c);
    sae_activation_t a = (sae_activation_t)cfg_int(m, SAE_P_OUTPUT_ACTIVATION);
    for (size_t n = 0; n < rows; n++)
        for (size_t i = 0; i < d; i++) {
            double z = b ? b[i] : 0.0;
            for (size_t j = 0; j < h; j++)
                z += (double)code[n * h + j] * (tied ? we[j * d + i] : wd[j * d + i]);
            x_hat[n * d + i] = act_ref(a, z);
        }
}

static void assert_close(float got, double want, const char *what, size_t i)
{
    if (!(fabs((double)got - want) <= 2e-5 * (1.0 + fabs(want))))
        fail_msg("%s[%zu] = %.9g, reference %.9g", what, i, (double)got, want);
}

/* ------------------------------------------------------------------------ */
/* Creation                                                                 */
/* ------------------------------------------------------------------------ */

static void test_create_errors(void **state)
{
    (void)state;
    sae_model_t *m = (sae_model_t *)(uintptr_t)1; /* must become NULL */
    tu_assert_status(sae_model_create(NULL, &m), SAE_ERR_NULL);
    assert_null(m);
    check_msg(sae_last_error(), "cfg", "create(NULL cfg)");

    sae_config_t *cfg = tu_config(6, 4);
    tu_assert_status(sae_model_create(cfg, NULL), SAE_ERR_NULL);
    check_msg(sae_last_error(), "out", "create(cfg, NULL)");

    /* BCE is computed from logits: it needs a sigmoid output. */
    const char *outs[] = {"linear", "relu", "tanh"};
    for (int i = 0; i < 3; i++) {
        tu_assert_status(sae_config_set(cfg, "loss.type", "bce"), SAE_OK);
        tu_assert_status(sae_config_set(cfg, "arch.output_activation", outs[i]), SAE_OK);
        m = (sae_model_t *)(uintptr_t)1;
        tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_STATE);
        assert_null(m);
        check_msg(sae_last_error(), "output_activation", outs[i]);
    }
    tu_assert_status(sae_config_set(cfg, "arch.output_activation", "sigmoid"), SAE_OK);
    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    sae_model_free(m);

    /* encode.k may equal the code size, not exceed it. */
    tu_assert_status(sae_config_set_int(cfg, SAE_P_KWTA_K, 5), SAE_OK);
    m = (sae_model_t *)(uintptr_t)1;
    tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_STATE);
    assert_null(m);
    check_msg(sae_last_error(), "encode.k", "k > hidden");
    tu_assert_status(sae_config_set_int(cfg, SAE_P_KWTA_K, 4), SAE_OK);
    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    sae_model_free(m);

    /* A model too large to address is refused before allocating. */
    tu_assert_status(sae_config_set_int(cfg, SAE_P_INPUT_DIM, 1 << 16), SAE_OK);
    tu_assert_status(sae_config_set_int(cfg, SAE_P_HIDDEN_DIM, 1 << 16), SAE_OK);
    m = (sae_model_t *)(uintptr_t)1;
    sae_status_t st = sae_model_create(cfg, &m);
    assert_true(st == SAE_ERR_RANGE || st == SAE_ERR_STATE);
    assert_null(m);
    check_msg(sae_last_error(), "hidden_dim", "huge model");
    sae_config_free(cfg);

    sae_model_free(NULL); /* documented no-op */
}

static void test_dims_and_null_getters(void **state)
{
    (void)state;
    sae_model_t *m = model_with(9, 4, NULL);
    assert_int_equal(sae_model_input_dim(m), 9);
    assert_int_equal(sae_model_code_dim(m), 4);
    assert_string_equal(sae_model_errmsg(m), "");
    assert_non_null(sae_model_config(m));
    assert_int_equal(sae_model_input_dim(NULL), 0);
    assert_int_equal(sae_model_code_dim(NULL), 0);
    assert_int_equal(sae_model_tensor_count(NULL), 0);
    assert_null(sae_model_config(NULL));
    assert_string_equal(sae_model_errmsg(NULL), "");
    sae_model_free(m);
}

/* The model keeps its own deep copy of the config. */
static void test_config_is_copied(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(6, 5);
    tu_assert_status(sae_config_set(cfg, "kl.rho", "0.125"), SAE_OK);
    tu_assert_status(sae_config_set(cfg, "train.seed", "77"), SAE_OK);
    sae_model_t *m = NULL;
    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    const sae_config_t *mc = sae_model_config(m);
    assert_ptr_not_equal(mc, cfg);

    /* Same values as the config at creation, for every parameter. */
    for (size_t i = 0;; i++) {
        sae_param_t p;
        if (sae_param_at(i, &p) != SAE_OK)
            break;
        char a[64], b[64];
        tu_assert_status(sae_config_get(cfg, sae_param_name(p), a, sizeof a), SAE_OK);
        tu_assert_status(sae_config_get(mc, sae_param_name(p), b, sizeof b), SAE_OK);
        assert_string_equal(a, b);
    }

    tu_assert_status(sae_config_set(cfg, "kl.rho", "0.5"), SAE_OK);
    tu_assert_status(sae_config_set_int(cfg, SAE_P_HIDDEN_DIM, 50), SAE_OK);
    tu_assert_status(sae_config_set(cfg, "arch.hidden_activation", "relu"), SAE_OK);
    double rho;
    tu_assert_status(sae_config_get_float(mc, SAE_P_KL_RHO, &rho), SAE_OK);
    assert_true(rho == 0.125);
    assert_int_equal(cfg_int(m, SAE_P_HIDDEN_DIM), 5);
    assert_int_equal(cfg_int(m, SAE_P_HIDDEN_ACTIVATION), SAE_ACT_SIGMOID);
    assert_int_equal(sae_model_code_dim(m), 5);

    /* The model works after its source config is gone. */
    sae_config_free(cfg);
    float x[6], code[5];
    tu_fill_uniform(x, 6, 0, 1, 3);
    tu_assert_status(sae_model_encode(m, x, 1, code), SAE_OK);
    for (int j = 0; j < 5; j++)
        assert_true(code[j] > 0.0f && code[j] < 1.0f); /* still sigmoid */
    assert_int_equal(cfg_int(m, SAE_P_SEED), 77);
    sae_model_free(m);
}

/* ------------------------------------------------------------------------ */
/* Tensors and initialisation                                               */
/* ------------------------------------------------------------------------ */

static void check_listing(int tied, int bias)
{
    const size_t d = 5, h = 3;
    const char *kv[] = {"arch.tied", tied ? "1" : "0", "arch.bias", bias ? "1" : "0", NULL};
    sae_model_t *m = model_with(d, h, kv);
    /* sae.h order, skipping what the architecture lacks. */
    struct {
        const char *name;
        size_t rows, cols;
        int present;
    } want[] = {
        {"encoder.weight", h, d, 1},
        {"encoder.bias", h, 1, bias},
        {"decoder.weight", h, d, !tied},
        {"decoder.bias", d, 1, bias},
    };
    size_t n = 0;
    for (int i = 0; i < 4; i++)
        n += (size_t)want[i].present;
    assert_int_equal(sae_model_tensor_count(m), n);

    size_t idx = 0;
    for (int i = 0; i < 4; i++) {
        size_t r = 0, c = 0, r2 = 0, c2 = 0;
        const float *data = NULL, *data2 = NULL;
        if (!want[i].present) {
            sae_status_t st = sae_model_tensor_by_name(m, want[i].name, &r, &c, &data);
            if (st != SAE_ERR_UNKNOWN_KEY)
                fail_msg("tied=%d bias=%d: %s gave %d, expected UNKNOWN_KEY", tied, bias,
                         want[i].name, (int)st);
            check_msg_either(m, want[i].name, "absent tensor");
            continue;
        }
        const char *name = NULL;
        tu_assert_status(sae_model_tensor(m, idx, &name, &r, &c, &data), SAE_OK);
        assert_non_null(name);
        if (strcmp(name, want[i].name) != 0)
            fail_msg("tied=%d bias=%d: tensor %zu is %s, expected %s", tied, bias, idx, name,
                     want[i].name);
        /* Vectors may be listed as [n x 1] or [1 x n]. */
        if (want[i].cols == 1)
            assert_true(r * c == want[i].rows && (r == 1 || c == 1));
        else {
            assert_int_equal(r, want[i].rows);
            assert_int_equal(c, want[i].cols);
        }
        assert_non_null(data);
        tu_assert_status(sae_model_tensor_by_name(m, name, &r2, &c2, &data2), SAE_OK);
        assert_int_equal(r2, r);
        assert_int_equal(c2, c);
        assert_ptr_equal(data2, data);
        idx++;
    }
    /* Past the end. */
    const char *name = NULL;
    tu_assert_status(sae_model_tensor(m, n, &name, NULL, NULL, NULL), SAE_ERR_RANGE);
    check_msg_either(m, "index", "tensor past end");
    tu_assert_status(sae_model_tensor(m, SIZE_MAX, &name, NULL, NULL, NULL), SAE_ERR_RANGE);
    sae_model_free(m);
}

static void test_tensor_listing(void **state)
{
    (void)state;
    for (int tied = 0; tied < 2; tied++)
        for (int bias = 0; bias < 2; bias++)
            check_listing(tied, bias);
}

static void test_tensor_errors(void **state)
{
    (void)state;
    sae_model_t *m = model_with(4, 3, NULL);
    size_t r, c;
    const float *p;
    const char *name;
    tu_assert_status(sae_model_tensor_by_name(m, "encoder.weights", &r, &c, &p),
                     SAE_ERR_UNKNOWN_KEY);
    check_msg_either(m, "encoder.weights", "by_name(unknown)");
    tu_assert_status(sae_model_tensor_by_name(m, "", &r, &c, &p), SAE_ERR_UNKNOWN_KEY);
    tu_assert_status(sae_model_tensor_by_name(m, NULL, &r, &c, &p), SAE_ERR_NULL);
    check_msg_either(m, "NULL", "by_name(NULL name)");
    tu_assert_status(sae_model_tensor_by_name(NULL, "encoder.weight", &r, &c, &p), SAE_ERR_NULL);
    check_msg(sae_last_error(), "NULL", "by_name(NULL model)");
    tu_assert_status(sae_model_tensor(NULL, 0, &name, &r, &c, &p), SAE_ERR_NULL);
    check_msg(sae_last_error(), "NULL", "tensor(NULL model)");
    sae_model_free(m);
}

/* Glorot-uniform weights within +-init_scale*sqrt(6/(fan_in+fan_out)),
 * zero biases, deterministic in the seed. */
static void test_init(void **state)
{
    (void)state;
    const size_t d = 20, h = 12;
    const char *seed7[] = {"train.seed", "7", NULL};
    const char *seed7b[] = {"train.seed", "7", "kl.weight", "3", NULL}; /* unrelated key */
    const char *seed8[] = {"train.seed", "8", NULL};
    const char *half[] = {"train.seed", "7", "arch.init_scale", "0.5", NULL};
    sae_model_t *a = model_with(d, h, seed7), *b = model_with(d, h, seed7b);
    sae_model_t *c = model_with(d, h, seed8), *s = model_with(d, h, half);
    const double lim = sqrt(6.0 / (double)(d + h));
    const char *names[] = {"encoder.weight", "decoder.weight", "encoder.bias", "decoder.bias"};
    for (int t = 0; t < 4; t++) {
        size_t r, cc;
        const float *pa = tensor(a, names[t], &r, &cc);
        const float *pb = tensor(b, names[t], &r, &cc);
        const float *pc = tensor(c, names[t], &r, &cc);
        const float *ps = tensor(s, names[t], &r, &cc);
        size_t n = r * cc;
        assert_memory_equal(pa, pb, n * sizeof *pa); /* same seed: identical */
        if (t < 2) {
            int differ = 0, nonzero = 0;
            double maxabs = 0;
            for (size_t i = 0; i < n; i++) {
                assert_true(fabs(pa[i]) <= lim * (1 + 1e-6));
                assert_true(fabs(ps[i]) <= 0.5 * lim * (1 + 1e-6));
                /* init_scale multiplies the range: same draws, half size. */
                assert_true(fabs(ps[i] - 0.5 * pa[i]) <= 1e-6 * lim);
                differ |= pa[i] != pc[i];
                nonzero += pa[i] != 0.0f;
                maxabs = fmax(maxabs, fabs(pa[i]));
            }
            assert_true(differ);           /* another seed, other weights */
            assert_true(nonzero > (int)n / 2);
            assert_true(maxabs > 0.5 * lim); /* uses the range, not a sliver */
        } else {
            for (size_t i = 0; i < n; i++)
                assert_true(pa[i] == 0.0f && pc[i] == 0.0f);
        }
    }
    /* Encoder and decoder are drawn independently. */
    size_t r, cc;
    const float *we = tensor(a, "encoder.weight", &r, &cc);
    const float *wd = tensor(a, "decoder.weight", &r, &cc);
    assert_memory_not_equal(we, wd, d * h * sizeof *we);
    sae_model_free(a);
    sae_model_free(b);
    sae_model_free(c);
    sae_model_free(s);
}

/* ------------------------------------------------------------------------ */
/* Inference                                                                */
/* ------------------------------------------------------------------------ */

/* arch.init = glorot_normal (E4's N(0, sqrt(2/316)) for D = 147, H = 169):
 * normal draws of standard deviation init_scale * sqrt(2 / (D + H)), mean
 * 0, a share beyond 2 standard deviations near a normal's 4.6%, biases 0. */
static void test_init_glorot_normal(void **state)
{
    (void)state;
    const size_t d = 147, h = 169;
    const char *kv[] = {"arch.init", "glorot_normal", "arch.init_scale", "0.5", NULL};
    sae_model_t *m = model_with(d, h, kv);
    const double sd = 0.5 * sqrt(2.0 / (double)(d + h));
    const char *names[] = {"encoder.weight", "decoder.weight"};
    for (int t = 0; t < 2; t++) {
        size_t r, c;
        const float *w = tensor(m, names[t], &r, &c);
        size_t n = r * c, tail = 0;
        double sum = 0.0, sq = 0.0;
        for (size_t i = 0; i < n; i++) {
            sum += w[i];
            sq += (double)w[i] * w[i];
            tail += fabs(w[i]) > 2.0 * sd;
        }
        double mean = sum / (double)n, std = sqrt(sq / (double)n - mean * mean);
        /* n = 24,843: the sample mean's sd is sd / 158, the std's sd / 223. */
        assert_true(fabs(mean) < 5.0 * sd / 158.0);
        assert_true(fabs(std - sd) < 5.0 * sd / 223.0);
        assert_true(fabs((double)tail / (double)n - 0.0455) < 0.008);
    }
    size_t r, c;
    const float *b = tensor(m, "encoder.bias", &r, &c);
    for (size_t i = 0; i < r * c; i++)
        assert_true(b[i] == 0.0f);
    sae_model_free(m);
}

/* Random biases so the reference check covers them (init leaves zeros). */
static void randomize_biases(sae_model_t *m, uint64_t seed)
{
    if (!cfg_int(m, SAE_P_BIAS))
        return;
    tu_fill_uniform(tensor_rw(m, "encoder.bias"), sae_model_code_dim(m), -0.5f, 0.5f, seed);
    tu_fill_uniform(tensor_rw(m, "decoder.bias"), sae_model_input_dim(m), -0.5f, 0.5f,
                    seed + 1);
}

static void test_encode_decode_reference(void **state)
{
    (void)state;
    const char *acts[] = {"sigmoid", "relu", "tanh", "linear"};
    const size_t d = 11, h = 7, rows = 9;
    float *x = alloc_floats(rows * d, 0);
    tu_fill_uniform(x, rows * d, -1, 1, 11);
    for (int a = 0; a < 4; a++)
        for (int tied = 0; tied < 2; tied++)
            for (int bias = 0; bias < 2; bias++) {
                const char *kv[] = {"arch.hidden_activation", acts[a],
                                    "arch.output_activation", acts[(a + 1) % 4],
                                    "arch.tied", tied ? "true" : "false",
                                    "arch.bias", bias ? "true" : "false",
                                    "arch.init_scale", "2",
                                    NULL};
                sae_model_t *m = model_with(d, h, kv);
                randomize_biases(m, 100 + (uint64_t)a);
                float *code = alloc_floats(rows * h, -9);
                float *xh = alloc_floats(rows * d, -9);
                double *cref = malloc(rows * h * sizeof *cref);
                double *xref = malloc(rows * d * sizeof *xref);
                tu_assert_status(sae_model_encode(m, x, rows, code), SAE_OK);
                encode_ref(m, x, rows, cref);
                for (size_t i = 0; i < rows * h; i++)
                    assert_close(code[i], cref[i], "code", i);
                tu_assert_status(sae_model_decode(m, code, rows, xh), SAE_OK);
                decode_ref(m, code, rows, xref);
                for (size_t i = 0; i < rows * d; i++)
                    assert_close(xh[i], xref[i], "x_hat", i);
                free(code);
                free(xh);
                free(cref);
                free(xref);
                sae_model_free(m);
            }
    free(x);
}

/* Sigmoid codes lie strictly inside (0,1); relu codes are >= 0. */
static void test_code_ranges(void **state)
{
    (void)state;
    const size_t d = 30, h = 25, rows = 40;
    float *x = alloc_floats(rows * d, 0), *code = alloc_floats(rows * h, -1);
    tu_fill_uniform(x, rows * d, 0, 1, 5);
    sae_model_t *m = model_with(d, h, NULL);
    tu_assert_status(sae_model_encode(m, x, rows, code), SAE_OK);
    for (size_t i = 0; i < rows * h; i++)
        assert_true(code[i] > 0.0f && code[i] < 1.0f);
    sae_model_free(m);
    const char *relu[] = {"arch.hidden_activation", "relu", NULL};
    m = model_with(d, h, relu);
    tu_assert_status(sae_model_encode(m, x, rows, code), SAE_OK);
    int pos = 0;
    for (size_t i = 0; i < rows * h; i++) {
        assert_true(code[i] >= 0.0f);
        pos += code[i] > 0.0f;
    }
    assert_true(pos > 0);
    sae_model_free(m);
    free(x);
    free(code);
}

/* Batches above the 512-row inference chunk: the batch result equals
 * encoding each row alone, rows land in their own place, nothing is
 * written past the output. */
static void test_batch_equals_rows(void **state)
{
    (void)state;
    const size_t d = 6, h = 5, rows = 1100, guard = 32;
    const char *kv[] = {"train.seed", "3", NULL};
    sae_model_t *m = model_with(d, h, kv);
    randomize_biases(m, 9);
    float *x = alloc_floats(rows * d, 0);
    tu_fill_uniform(x, rows * d, -1, 1, 21);
    float *code = alloc_floats(rows * h + guard, 1234.5f);
    float *xh = alloc_floats(rows * d + guard, 1234.5f);
    tu_assert_status(sae_model_encode(m, x, rows, code), SAE_OK);
    tu_assert_status(sae_model_decode(m, code, rows, xh), SAE_OK);
    for (size_t i = 0; i < guard; i++) {
        assert_true(code[rows * h + i] == 1234.5f);
        assert_true(xh[rows * d + i] == 1234.5f);
    }
    float one[8], back[8];
    for (size_t r = 0; r < rows; r++) {
        tu_assert_status(sae_model_encode(m, x + r * d, 1, one), SAE_OK);
        for (size_t j = 0; j < h; j++)
            if (fabsf(one[j] - code[r * h + j]) > 1e-6f)
                fail_msg("row %zu unit %zu: batch %.9g, alone %.9g", r, j,
                         (double)code[r * h + j], (double)one[j]);
        tu_assert_status(sae_model_decode(m, code + r * h, 1, back), SAE_OK);
        for (size_t i = 0; i < d; i++)
            if (fabsf(back[i] - xh[r * d + i]) > 1e-5f * (1 + fabsf(back[i])))
                fail_msg("row %zu input %zu: batch %.9g, alone %.9g", r, i,
                         (double)xh[r * d + i], (double)back[i]);
    }
    /* The same batch twice gives the same bits. */
    float *code2 = alloc_floats(rows * h, 0);
    tu_assert_status(sae_model_encode(m, x, rows, code2), SAE_OK);
    assert_memory_equal(code, code2, rows * h * sizeof *code);
    free(x);
    free(code);
    free(code2);
    free(xh);
    sae_model_free(m);
}

/* reconstruct is exactly decode(encode(x)), across chunk boundaries. */
static void test_reconstruct_is_decode_of_encode(void **state)
{
    (void)state;
    const size_t d = 7, h = 4, rows = 1100;
    const char *variants[2][5] = {{"arch.tied", "0", NULL},
                                  {"arch.tied", "1", "arch.output_activation", "sigmoid", NULL}};
    float *x = alloc_floats(rows * d, 0);
    tu_fill_uniform(x, rows * d, 0, 1, 8);
    for (int v = 0; v < 2; v++) {
        sae_model_t *m = model_with(d, h, variants[v]);
        randomize_biases(m, 4);
        float *code = alloc_floats(rows * h, 0);
        float *x1 = alloc_floats(rows * d + 8, 77.0f), *x2 = alloc_floats(rows * d, 0);
        tu_assert_status(sae_model_reconstruct(m, x, rows, x1), SAE_OK);
        tu_assert_status(sae_model_encode(m, x, rows, code), SAE_OK);
        tu_assert_status(sae_model_decode(m, code, rows, x2), SAE_OK);
        assert_memory_equal(x1, x2, rows * d * sizeof *x1);
        for (int i = 0; i < 8; i++)
            assert_true(x1[rows * d + (size_t)i] == 77.0f);
        /* Small batches too. */
        tu_assert_status(sae_model_reconstruct(m, x, 3, x1), SAE_OK);
        tu_assert_status(sae_model_encode(m, x, 3, code), SAE_OK);
        tu_assert_status(sae_model_decode(m, code, 3, x2), SAE_OK);
        assert_memory_equal(x1, x2, 3 * d * sizeof *x1);
        free(code);
        free(x1);
        free(x2);
        sae_model_free(m);
    }
    free(x);
}

static void test_inference_argument_errors(void **state)
{
    (void)state;
    const size_t d = 4, h = 3;
    sae_model_t *m = model_with(d, h, NULL);
    float x[8] = {0}, out[8];
    uint8_t bits[8];

    /* rows = 0 is a no-op, even with NULL buffers. */
    tu_assert_status(sae_model_encode(m, NULL, 0, NULL), SAE_OK);
    tu_assert_status(sae_model_decode(m, NULL, 0, NULL), SAE_OK);
    tu_assert_status(sae_model_reconstruct(m, NULL, 0, NULL), SAE_OK);
    tu_assert_status(sae_model_encode_binary(m, NULL, 0, 1, NULL), SAE_OK);

    /* NULL model. */
    tu_assert_status(sae_model_encode(NULL, x, 1, out), SAE_ERR_NULL);
    check_msg(sae_last_error(), "NULL", "encode(NULL)");
    tu_assert_status(sae_model_decode(NULL, x, 1, out), SAE_ERR_NULL);
    check_msg(sae_last_error(), "NULL", "decode(NULL)");
    tu_assert_status(sae_model_reconstruct(NULL, x, 1, out), SAE_ERR_NULL);
    check_msg(sae_last_error(), "NULL", "reconstruct(NULL)");
    tu_assert_status(sae_model_encode_binary(NULL, x, 1, 1, bits), SAE_ERR_NULL);
    check_msg(sae_last_error(), "NULL", "encode_binary(NULL)");

    /* NULL input or output with rows > 0: the model's message says which. */
    tu_assert_status(sae_model_encode(m, NULL, 2, out), SAE_ERR_NULL);
    check_msg(sae_model_errmsg(m), "input", "encode(NULL x)");
    tu_assert_status(sae_model_encode(m, x, 2, NULL), SAE_ERR_NULL);
    check_msg(sae_model_errmsg(m), "output", "encode(NULL code)");
    tu_assert_status(sae_model_decode(m, NULL, 2, out), SAE_ERR_NULL);
    check_msg(sae_model_errmsg(m), "input", "decode(NULL code)");
    tu_assert_status(sae_model_decode(m, x, 2, NULL), SAE_ERR_NULL);
    check_msg(sae_model_errmsg(m), "output", "decode(NULL x_hat)");
    tu_assert_status(sae_model_reconstruct(m, NULL, 2, out), SAE_ERR_NULL);
    check_msg(sae_model_errmsg(m), "input", "reconstruct(NULL x)");
    tu_assert_status(sae_model_reconstruct(m, x, 2, NULL), SAE_ERR_NULL);
    check_msg(sae_model_errmsg(m), "output", "reconstruct(NULL x_hat)");
    tu_assert_status(sae_model_encode_binary(m, NULL, 2, 1, bits), SAE_ERR_NULL);
    check_msg(sae_model_errmsg(m), "input", "encode_binary(NULL x)");
    tu_assert_status(sae_model_encode_binary(m, x, 2, 1, NULL), SAE_ERR_NULL);
    check_msg(sae_model_errmsg(m), "output", "encode_binary(NULL bits)");
    sae_model_free(m);
}

/* NaN or +-Inf anywhere in the input: SAE_ERR_NONFINITE, a message on the
 * model, and the output untouched. */
static void test_nonfinite_input(void **state)
{
    (void)state;
    const size_t d = 5, h = 4, rows = 3;
    sae_model_t *m = model_with(d, h, NULL);
    const float bad[] = {NAN, INFINITY, -INFINITY};
    float x[3 * 5], code[3 * 4], out[3 * 5], sentinel[3 * 5];
    uint8_t bits[3 * 4], bits_sentinel[3 * 4];
    for (size_t i = 0; i < 15; i++)
        sentinel[i] = -42.0f;
    memset(bits_sentinel, 0xA5, sizeof bits_sentinel);
    for (int b = 0; b < 3; b++) {
        /* Every position of the input, including the last element. */
        for (size_t pos = 0; pos < rows * d; pos++) {
            tu_fill_uniform(x, rows * d, 0, 1, pos);
            x[pos] = bad[b];
            memcpy(code, sentinel, sizeof code);
            tu_assert_status(sae_model_encode(m, x, rows, code), SAE_ERR_NONFINITE);
            check_msg(sae_model_errmsg(m), "NaN", "encode");
            assert_memory_equal(code, sentinel, sizeof code);

            memcpy(out, sentinel, sizeof out);
            tu_assert_status(sae_model_reconstruct(m, x, rows, out), SAE_ERR_NONFINITE);
            check_msg(sae_model_errmsg(m), "NaN", "reconstruct");
            assert_memory_equal(out, sentinel, sizeof out);

            memcpy(bits, bits_sentinel, sizeof bits);
            tu_assert_status(sae_model_encode_binary(m, x, rows, 1, bits), SAE_ERR_NONFINITE);
            check_msg(sae_model_errmsg(m), "NaN", "encode_binary");
            assert_memory_equal(bits, bits_sentinel, sizeof bits);
        }
        for (size_t pos = 0; pos < rows * h; pos++) {
            tu_fill_uniform(code, rows * h, 0, 1, pos);
            code[pos] = bad[b];
            memcpy(out, sentinel, sizeof out);
            tu_assert_status(sae_model_decode(m, code, rows, out), SAE_ERR_NONFINITE);
            check_msg(sae_model_errmsg(m), "NaN", "decode");
            assert_memory_equal(out, sentinel, sizeof out);
        }
    }
    /* The model still works afterwards. */
    tu_fill_uniform(x, rows * d, 0, 1, 1);
    tu_assert_status(sae_model_encode(m, x, rows, code), SAE_OK);
    sae_model_free(m);
}

/* ------------------------------------------------------------------------ */
/* K-winners-take-all                                                       */
/* ------------------------------------------------------------------------ */

/* bits has exactly k ones and they sit on the k largest codes, ties to the
 * lower index. */
static void check_kwta_row(const uint8_t *bits, const float *code, size_t h, size_t k,
                           size_t row)
{
    size_t ones = 0;
    for (size_t j = 0; j < h; j++) {
        if (bits[j] > 1)
            fail_msg("row %zu unit %zu: bit value %u", row, j, bits[j]);
        ones += bits[j];
    }
    if (ones != k)
        fail_msg("row %zu: %zu ones, expected %zu", row, ones, k);
    for (size_t s = 0; s < h; s++) {
        if (!bits[s])
            continue;
        for (size_t u = 0; u < h; u++) {
            if (bits[u])
                continue;
            int ranks_before = code[s] > code[u] || (code[s] == code[u] && s < u);
            if (!ranks_before)
                fail_msg("row %zu: unit %zu (%.9g) chosen over unit %zu (%.9g)", row, s,
                         (double)code[s], u, (double)code[u]);
        }
    }
}

static void test_encode_binary_top_k(void **state)
{
    (void)state;
    const size_t d = 8, h = 40, rows = 1100; /* above the internal chunks */
    sae_model_t *m = model_with(d, h, NULL);
    randomize_biases(m, 2);
    float *x = alloc_floats(rows * d, 0), *code = alloc_floats(rows * h, 0);
    uint8_t *bits = malloc(rows * h + 16);
    assert_non_null(bits);
    tu_fill_uniform(x, rows * d, 0, 1, 17);
    tu_assert_status(sae_model_encode(m, x, rows, code), SAE_OK);
    const size_t ks[] = {1, 2, 7, 20, 39, 40};
    for (size_t t = 0; t < sizeof ks / sizeof ks[0]; t++) {
        memset(bits, 0xEE, rows * h + 16);
        tu_assert_status(sae_model_encode_binary(m, x, rows, ks[t], bits), SAE_OK);
        for (size_t r = 0; r < rows; r++)
            check_kwta_row(bits + r * h, code + r * h, h, ks[t], r);
        for (size_t i = 0; i < 16; i++)
            assert_int_equal(bits[rows * h + i], 0xEE); /* no write past the end */
    }
    free(x);
    free(code);
    free(bits);
    sae_model_free(m);
}

/* All codes equal (zero input, zero biases: every unit is sigmoid(0)):
 * the ones go to the first k units. */
static void test_encode_binary_all_ties(void **state)
{
    (void)state;
    const size_t d = 6, h = 12, rows = 3;
    sae_model_t *m = model_with(d, h, NULL);
    float x[3 * 6] = {0}, code[3 * 12];
    uint8_t bits[3 * 12];
    tu_assert_status(sae_model_encode(m, x, rows, code), SAE_OK);
    for (size_t i = 0; i < rows * h; i++)
        assert_true(code[i] == code[0]);
    for (size_t k = 1; k <= h; k++) {
        tu_assert_status(sae_model_encode_binary(m, x, rows, k, bits), SAE_OK);
        for (size_t r = 0; r < rows; r++)
            for (size_t j = 0; j < h; j++)
                if (bits[r * h + j] != (j < k))
                    fail_msg("k=%zu row %zu unit %zu: %u", k, r, j, bits[r * h + j]);
    }
    sae_model_free(m);
}

/* Partial ties at chosen places, from hand-set weights (linear code, no
 * bias, one input): code = x * w. */
static void test_encode_binary_partial_ties(void **state)
{
    (void)state;
    const char *kv[] = {"arch.hidden_activation", "linear", "arch.bias", "0", NULL};
    sae_model_t *m = model_with(1, 8, kv);
    float *w = tensor_rw(m, "encoder.weight");
    const float wv[8] = {1, 3, 3, 2, 3, 0, 3, -1};
    memcpy(w, wv, sizeof wv);
    /* Expected winners in order of rank, for x = 1 and x = -1. */
    const size_t rank_pos[8] = {1, 2, 4, 6, 3, 0, 5, 7};
    const size_t rank_neg[8] = {7, 5, 0, 3, 1, 2, 4, 6};
    const float xs[2] = {1.0f, -1.0f};
    for (int s = 0; s < 2; s++) {
        const size_t *rank = s == 0 ? rank_pos : rank_neg;
        float code[8];
        tu_assert_status(sae_model_encode(m, &xs[s], 1, code), SAE_OK);
        for (int j = 0; j < 8; j++)
            assert_true(code[j] == xs[s] * wv[j]);
        for (size_t k = 1; k <= 8; k++) {
            uint8_t bits[8], want[8] = {0};
            for (size_t i = 0; i < k; i++)
                want[rank[i]] = 1;
            tu_assert_status(sae_model_encode_binary(m, &xs[s], 1, k, bits), SAE_OK);
            if (memcmp(bits, want, 8) != 0)
                fail_msg("x=%g k=%zu: bits %u%u%u%u%u%u%u%u, expected %u%u%u%u%u%u%u%u",
                         (double)xs[s], k, bits[0], bits[1], bits[2], bits[3], bits[4], bits[5],
                         bits[6], bits[7], want[0], want[1], want[2], want[3], want[4], want[5],
                         want[6], want[7]);
        }
    }
    sae_model_free(m);
}

/* k = 0 takes encode.k, itself 0 = 5% of the code, at least 1. */
static size_t ones_per_row(sae_model_t *m, size_t k)
{
    const size_t d = sae_model_input_dim(m), h = sae_model_code_dim(m), rows = 4;
    float *x = alloc_floats(rows * d, 0);
    uint8_t *bits = malloc(rows * h);
    assert_non_null(bits);
    tu_fill_uniform(x, rows * d, 0, 1, 99);
    tu_assert_status(sae_model_encode_binary(m, x, rows, k, bits), SAE_OK);
    size_t first = 0;
    for (size_t r = 0; r < rows; r++) {
        size_t ones = 0;
        for (size_t j = 0; j < h; j++)
            ones += bits[r * h + j];
        if (r == 0)
            first = ones;
        assert_int_equal(ones, first);
    }
    free(x);
    free(bits);
    return first;
}

static void test_encode_binary_default_k(void **state)
{
    (void)state;
    sae_model_t *m = model_with(3, 500, NULL);
    assert_int_equal(ones_per_row(m, 0), 25);
    assert_int_equal(ones_per_row(m, 60), 60); /* explicit k wins */
    sae_model_free(m);

    m = model_with(3, 10, NULL);
    assert_int_equal(ones_per_row(m, 0), 1);
    sae_model_free(m);
    m = model_with(3, 1, NULL);
    assert_int_equal(ones_per_row(m, 0), 1);
    sae_model_free(m);

    const char *k3[] = {"encode.k", "3", NULL};
    m = model_with(3, 10, k3);
    assert_int_equal(ones_per_row(m, 0), 3);
    assert_int_equal(ones_per_row(m, 4), 4);
    sae_model_free(m);
    const char *kall[] = {"encode.k", "10", NULL};
    m = model_with(3, 10, kall);
    assert_int_equal(ones_per_row(m, 0), 10);
    sae_model_free(m);
}

static void test_encode_binary_k_too_large(void **state)
{
    (void)state;
    sae_model_t *m = model_with(3, 8, NULL);
    float x[2 * 3];
    uint8_t bits[2 * 8], sentinel[2 * 8];
    tu_fill_uniform(x, 6, 0, 1, 1);
    memset(sentinel, 0x5A, sizeof sentinel);
    const size_t ks[] = {9, 100, SIZE_MAX};
    for (size_t i = 0; i < 3; i++) {
        memcpy(bits, sentinel, sizeof bits);
        tu_assert_status(sae_model_encode_binary(m, x, 2, ks[i], bits), SAE_ERR_RANGE);
        check_msg(sae_model_errmsg(m), "k", "k > code");
        assert_memory_equal(bits, sentinel, sizeof bits);
    }
    tu_assert_status(sae_model_encode_binary(m, x, 2, 8, bits), SAE_OK);
    for (size_t i = 0; i < sizeof bits; i++)
        assert_int_equal(bits[i], 1);
    sae_model_free(m);
}

/* ------------------------------------------------------------------------ */
/* Setting tensors                                                          */
/* ------------------------------------------------------------------------ */

#define LAYERED "input 1x6x6; conv2d 2 k3 relu code; convt2d 1 k3 linear"

/* The three shapes of model: untied dense, tied dense, layered. */
static sae_model_t *set_model(int which, const char *seed)
{
    const char *untied[] = {"train.seed", seed, NULL};
    const char *tied[] = {"train.seed", seed, "arch.tied", "1", NULL};
    const char *layered[] = {"train.seed", seed, "arch.layers", LAYERED, NULL};
    const char *const *kv = which == 0 ? untied : which == 1 ? tied : layered;
    return model_with(5, 4, kv);
}

/* Floats in every tensor, in listing order. */
static size_t total_floats(const sae_model_t *m)
{
    size_t n = 0, r, c;
    for (size_t i = 0; i < sae_model_tensor_count(m); i++) {
        tu_assert_status(sae_model_tensor(m, i, NULL, &r, &c, NULL), SAE_OK);
        n += r * c;
    }
    return n;
}

/* A copy of every tensor, concatenated in listing order (caller frees). */
static float *snapshot(const sae_model_t *m)
{
    float *all = alloc_floats(total_floats(m), 0.0f), *p = all;
    for (size_t i = 0; i < sae_model_tensor_count(m); i++) {
        size_t r, c;
        const float *d;
        tu_assert_status(sae_model_tensor(m, i, NULL, &r, &c, &d), SAE_OK);
        memcpy(p, d, r * c * sizeof *d);
        p += r * c;
    }
    return all;
}

static void assert_unchanged(const sae_model_t *m, const float *before, const char *where)
{
    float *now = snapshot(m);
    if (memcmp(now, before, total_floats(m) * sizeof *now))
        fail_msg("%s: the model's tensors changed", where);
    free(now);
}

/* Values whose bits a conversion would lose: -0, a subnormal, extremes. */
static void fill_tricky(float *x, size_t n, uint64_t seed)
{
    static const float tricky[] = {-0.0f, 1e-40f, -3.4e38f, 3.4e38f, 1.17549435e-38f};
    tu_fill_uniform(x, n, -2, 2, seed);
    for (size_t i = 0; i < n && i < sizeof tricky / sizeof tricky[0]; i++)
        x[i * 7 % n] = tricky[i];
}

/* Set then get is bitwise the data, and leaves every other tensor as it
 * was. */
static void test_set_tensor_round_trip(void **state)
{
    (void)state;
    for (int which = 0; which < 3; which++) {
        sae_model_t *m = set_model(which, "3");
        size_t n = sae_model_tensor_count(m);
        assert_true(n >= (which == 1 ? 3u : 4u));
        for (size_t i = 0; i < n; i++) {
            const char *name;
            size_t r, c;
            const float *got;
            tu_assert_status(sae_model_tensor(m, i, &name, &r, &c, NULL), SAE_OK);
            float *want = alloc_floats(r * c, 0.0f), *before = snapshot(m);
            fill_tricky(want, r * c, 100 + i);
            tu_assert_status(sae_model_set_tensor(m, name, r, c, want), SAE_OK);
            tu_assert_status(sae_model_tensor(m, i, NULL, NULL, NULL, &got), SAE_OK);
            if (memcmp(got, want, r * c * sizeof *got))
                fail_msg("model %d: %s does not read back bitwise", which, name);
            /* Only tensor i moved: put its old values back and compare all. */
            size_t off = 0;
            for (size_t j = 0; j < i; j++) {
                size_t rj, cj;
                tu_assert_status(sae_model_tensor(m, j, NULL, &rj, &cj, NULL), SAE_OK);
                off += rj * cj;
            }
            tu_assert_status(sae_model_set_tensor(m, name, r, c, before + off), SAE_OK);
            assert_unchanged(m, before, name);
            /* Its own values, read back and set again, are kept. */
            tu_assert_status(sae_model_set_tensor(m, name, r, c, got), SAE_OK);
            assert_unchanged(m, before, name);
            free(want);
            free(before);
        }
        sae_model_free(m);
    }
}

/* Every refusal names the problem and writes nothing. */
static void test_set_tensor_errors(void **state)
{
    (void)state;
    sae_model_t *m = set_model(1, "1"); /* tied: no decoder.weight */
    size_t r, c;
    tu_assert_status(sae_model_tensor_by_name(m, "encoder.weight", &r, &c, NULL), SAE_OK);
    float *data = alloc_floats(r * c, 0.25f), *before = snapshot(m);

    tu_assert_status(sae_model_set_tensor(NULL, "encoder.weight", r, c, data), SAE_ERR_NULL);
    check_msg(sae_last_error(), "NULL", "set_tensor(NULL model)");
    tu_assert_status(sae_model_set_tensor(m, NULL, r, c, data), SAE_ERR_NULL);
    check_msg(sae_model_errmsg(m), "name", "set_tensor(NULL name)");
    tu_assert_status(sae_model_set_tensor(m, "encoder.weight", r, c, NULL), SAE_ERR_NULL);
    check_msg(sae_model_errmsg(m), "data", "set_tensor(NULL data)");

    tu_assert_status(sae_model_set_tensor(m, "decoder.weight", r, c, data), SAE_ERR_UNKNOWN_KEY);
    check_msg(sae_model_errmsg(m), "model has no tensor 'decoder.weight'", "tied decoder");
    tu_assert_status(sae_model_set_tensor(m, "encoder.weights", r, c, data), SAE_ERR_UNKNOWN_KEY);
    check_msg(sae_model_errmsg(m), "'encoder.weights'", "unknown name");
    tu_assert_status(sae_model_set_tensor(m, "", r, c, data), SAE_ERR_UNKNOWN_KEY);

    /* The transposed shape has the right size but is refused; the message
     * gives the tensor's shape and the data's. */
    tu_assert_status(sae_model_set_tensor(m, "encoder.weight", c, r, data), SAE_ERR_DIMENSION);
    check_msg(sae_model_errmsg(m), "4 x 5", "transposed (tensor's shape)");
    check_msg(sae_model_errmsg(m), "5 x 4", "transposed (data's shape)");
    tu_assert_status(sae_model_set_tensor(m, "encoder.weight", r - 1, c, data), SAE_ERR_DIMENSION);
    tu_assert_status(sae_model_set_tensor(m, "encoder.weight", 0, 0, data), SAE_ERR_DIMENSION);
    tu_assert_status(sae_model_set_tensor(m, "encoder.bias", 1, 4, data), SAE_ERR_DIMENSION);
    check_msg(sae_model_errmsg(m), "encoder.bias", "bias as a row");

    /* One bad value anywhere, even the last, and nothing is written. */
    const float bad[] = {NAN, INFINITY, -INFINITY};
    for (size_t k = 0; k < 3; k++) {
        for (size_t at = 0; at < r * c; at += r * c - 1) {
            data[at] = bad[k];
            tu_assert_status(sae_model_set_tensor(m, "encoder.weight", r, c, data),
                             SAE_ERR_NONFINITE);
            check_msg(sae_model_errmsg(m), "NaN or Inf", "non-finite data");
            data[at] = 0.25f;
        }
    }
    assert_unchanged(m, before, "after every refusal");
    free(before);
    free(data);
    sae_model_free(m);
}

/* A model given another's tensors computes what the other does, to the
 * bit. */
static void test_set_tensor_copies_a_model(void **state)
{
    (void)state;
    for (int which = 0; which < 3; which++) {
        sae_model_t *a = set_model(which, "1"), *b = set_model(which, "2");
        size_t d = sae_model_input_dim(a), h = sae_model_code_dim(a), rows = 9;
        float *x = alloc_floats(rows * d, 0.0f), *ca = alloc_floats(rows * h, 0.0f),
              *cb = alloc_floats(rows * h, 0.0f), *ya = alloc_floats(rows * d, 0.0f),
              *yb = alloc_floats(rows * d, 0.0f);
        tu_fill_uniform(x, rows * d, -1, 1, 5);
        tu_assert_status(sae_model_reconstruct(a, x, rows, ya), SAE_OK);
        tu_assert_status(sae_model_reconstruct(b, x, rows, yb), SAE_OK);
        assert_true(memcmp(ya, yb, rows * d * sizeof *ya) != 0); /* seeds differ */
        for (size_t i = 0; i < sae_model_tensor_count(a); i++) {
            const char *name;
            size_t r, c;
            const float *data;
            tu_assert_status(sae_model_tensor(a, i, &name, &r, &c, &data), SAE_OK);
            tu_assert_status(sae_model_set_tensor(b, name, r, c, data), SAE_OK);
        }
        tu_assert_status(sae_model_encode(a, x, rows, ca), SAE_OK);
        tu_assert_status(sae_model_encode(b, x, rows, cb), SAE_OK);
        assert_memory_equal(ca, cb, rows * h * sizeof *ca);
        tu_assert_status(sae_model_reconstruct(b, x, rows, yb), SAE_OK);
        assert_memory_equal(ya, yb, rows * d * sizeof *ya);
        free(x);
        free(ca);
        free(cb);
        free(ya);
        free(yb);
        sae_model_free(a);
        sae_model_free(b);
    }
}

/* decoder.bias of a model with arch.bias_init = mean after one trainer
 * step. The update is too small to change a float, so what is left is
 * the bias init's doing alone. */
static const float given_bias[5] = {7, -7, 70, 0.5f, 0.25f};

static void bias_after_step(int set_bias, int set_after_create, const float *x, size_t rows,
                            float *out)
{
    const char *kv[] = {"arch.bias_init", "mean", "optim.type", "sgd", "optim.momentum", "0",
                        "optim.lr", "1e-30", NULL};
    sae_model_t *m = model_with(5, 4, kv);
    float w[4 * 5];
    sae_trainer_t *t = NULL;
    if (set_after_create)
        tu_assert_status(sae_trainer_create(m, &t), SAE_OK);
    /* Another tensor set leaves the bias init pending. */
    tu_fill_uniform(w, 20, -1, 1, 8);
    tu_assert_status(sae_model_set_tensor(m, "encoder.weight", 4, 5, w), SAE_OK);
    if (set_bias)
        tu_assert_status(sae_model_set_tensor(m, "decoder.bias", 5, 1, given_bias), SAE_OK);
    if (!t)
        tu_assert_status(sae_trainer_create(m, &t), SAE_OK);
    tu_assert_status(sae_trainer_step(t, x, rows, NULL), SAE_OK);
    size_t r, c;
    memcpy(out, tensor(m, "decoder.bias", &r, &c), 5 * sizeof *out);
    sae_trainer_free(t);
    sae_model_free(m);
}

static void test_set_tensor_keeps_bias_from_bias_init(void **state)
{
    (void)state;
    enum { R = 12 };
    float x[R * 5], b[5];
    tu_fill_uniform(x, R * 5, 2, 3, 21);
    /* Not set: the trainer puts the rows' mean there (in [2, 3)). */
    bias_after_step(0, 0, x, R, b);
    for (size_t i = 0; i < 5; i++)
        if (!(b[i] >= 2.0f && b[i] < 3.0f))
            fail_msg("bias init did not run: decoder.bias[%zu] = %g", i, (double)b[i]);
    /* Set, before or after the trainer exists: kept to the bit. */
    for (int after = 0; after < 2; after++) {
        bias_after_step(1, after, x, R, b);
        if (memcmp(b, given_bias, sizeof b))
            fail_msg("decoder.bias set %s sae_trainer_create was replaced (b[0] = %g)",
                     after ? "after" : "before", (double)b[0]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_errors),
        cmocka_unit_test(test_dims_and_null_getters),
        cmocka_unit_test(test_config_is_copied),
        cmocka_unit_test(test_tensor_listing),
        cmocka_unit_test(test_tensor_errors),
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_init_glorot_normal),
        cmocka_unit_test(test_encode_decode_reference),
        cmocka_unit_test(test_code_ranges),
        cmocka_unit_test(test_batch_equals_rows),
        cmocka_unit_test(test_reconstruct_is_decode_of_encode),
        cmocka_unit_test(test_inference_argument_errors),
        cmocka_unit_test(test_nonfinite_input),
        cmocka_unit_test(test_encode_binary_top_k),
        cmocka_unit_test(test_encode_binary_all_ties),
        cmocka_unit_test(test_encode_binary_partial_ties),
        cmocka_unit_test(test_encode_binary_default_k),
        cmocka_unit_test(test_encode_binary_k_too_large),
        cmocka_unit_test(test_set_tensor_round_trip),
        cmocka_unit_test(test_set_tensor_errors),
        cmocka_unit_test(test_set_tensor_copies_a_model),
        cmocka_unit_test(test_set_tensor_keeps_bias_from_bias_init),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
