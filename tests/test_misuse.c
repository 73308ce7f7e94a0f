/* Mistakes a new user makes, and what the library says (issue 14, "Misuse
 * and messages"): each call gets the specific status and a message that
 * names the real problem. SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "testutil.h"

static void expect_msg(const char *msg, const char *want)
{
    if (!strstr(msg, want))
        fail_msg("message '%s' lacks '%s'", msg, want);
}

/* A layered model's double gradient check is a limit of the model, not of
 * the build, and the status string says so. */
static void test_unsupported_says_model(void **state)
{
    (void)state;
    sae_config_t *cfg = NULL;
    assert_int_equal(sae_config_create(&cfg), SAE_OK);
    tu_assert_status(sae_config_set_layers(cfg, "input 1x4x4; dense 3 sigmoid code; dense 16 sigmoid"),
                     SAE_OK);
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    float x[16 * 2];
    tu_fill_uniform(x, 32, 0, 1, 2);
    double rel = 0;
    tu_assert_status(sae_trainer_gradcheck_double(t, x, 2, &rel, NULL), SAE_ERR_UNSUPPORTED);
    expect_msg(sae_trainer_errmsg(t), "arch.layers");
    expect_msg(sae_status_str(SAE_ERR_UNSUPPORTED), "for this model");
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

static void test_clone_null_sets_out(void **state)
{
    (void)state;
    sae_config_t *c = (sae_config_t *)&c; /* anything but NULL */
    tu_assert_status(sae_config_clone(NULL, &c), SAE_ERR_NULL);
    assert_null(c);
}

static void test_unit_activity_reports_through_trainer(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(8, 6);
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    double freq[5];
    tu_assert_status(sae_trainer_unit_activity(t, freq, 5, 0, NULL), SAE_ERR_DIMENSION);
    expect_msg(sae_trainer_errmsg(t), "5 units asked, the code has 6");
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

static void test_config_messages(void **state)
{
    (void)state;
    sae_config_t *cfg = NULL;
    assert_int_equal(sae_config_create(&cfg), SAE_OK);
    /* Integer bounds as integers. */
    tu_assert_status(sae_config_set(cfg, "topk.k", "16777217"), SAE_ERR_RANGE);
    expect_msg(sae_config_errmsg(cfg), "16777216");
    assert_null(strstr(sae_config_errmsg(cfg), "e+"));
    /* An integer too large for any type is out of range, not unparseable. */
    tu_assert_status(sae_config_set(cfg, "topk.k", "99999999999999999999999"), SAE_ERR_RANGE);
    expect_msg(sae_config_errmsg(cfg), "out of range");
    tu_assert_status(sae_config_set(cfg, "topk.k", "12abc"), SAE_ERR_BAD_VALUE);
    /* Non-finite floats are refused, and the message says why. */
    const char *nonfinite[] = {"nan", "inf", "-infinity", "1e999"};
    for (int i = 0; i < 4; i++) {
        tu_assert_status(sae_config_set(cfg, "kl.rho", nonfinite[i]), SAE_ERR_BAD_VALUE);
        expect_msg(sae_config_errmsg(cfg), "not a finite number");
    }
    /* A typo gets the nearest key. */
    tu_assert_status(sae_config_set(cfg, "kl.rhoo", "0.1"), SAE_ERR_UNKNOWN_KEY);
    expect_msg(sae_config_errmsg(cfg), "did you mean kl.rho?");
    tu_assert_status(sae_config_set(cfg, "optim.lr_", "0.1"), SAE_ERR_UNKNOWN_KEY);
    expect_msg(sae_config_errmsg(cfg), "did you mean optim.lr?");
    tu_assert_status(sae_config_set(cfg, "zzzzzzzz", "0.1"), SAE_ERR_UNKNOWN_KEY);
    assert_null(strstr(sae_config_errmsg(cfg), "did you mean"));
    /* The key-matching aliases are the same ids. */
    assert_int_equal(sae_config_set_int(cfg, SAE_P_ENCODE_K, 3), SAE_OK);
    assert_int_equal(sae_config_set_float(cfg, SAE_P_DECAY_L2, 1e-4), SAE_OK);
    assert_int_equal(sae_config_set_float(cfg, SAE_P_CORRUPT_NOISE_STD, 0.1), SAE_OK);
    assert_int_equal(sae_config_set_int(cfg, SAE_P_OPTIM_TYPE, 0), SAE_OK);
    char buf[32];
    assert_int_equal(sae_config_get(cfg, "encode.k", buf, sizeof buf), SAE_OK);
    assert_string_equal(buf, "3");
    sae_config_free(cfg);
}

static void test_layer_messages(void **state)
{
    (void)state;
    sae_config_t *cfg = NULL;
    assert_int_equal(sae_config_create(&cfg), SAE_OK);
    tu_assert_status(sae_config_set_layers(cfg, "input 1x8x8; conv2d 100000 k3 relu code;"
                                                "convt2d 1 k3 sigmoid"),
                     SAE_ERR_RANGE);
    expect_msg(sae_config_errmsg(cfg), "100000 output channels is out of range");
    tu_assert_status(sae_config_set_layers(cfg, "input 1x100000x100000; dense 4 relu code;"
                                                "dense 10 sigmoid"),
                     SAE_ERR_RANGE);
    expect_msg(sae_config_errmsg(cfg), "input 1x100000x100000 is out of range");
    tu_assert_status(sae_config_set_layers(cfg, "input 1x8x8; conv2d 4 k99999 relu code;"
                                                "convt2d 1 k3 sigmoid"),
                     SAE_ERR_RANGE);
    expect_msg(sae_config_errmsg(cfg), "'k99999' is out of range");
    /* Words that say the same thing twice. */
    const char *twice[] = {"input 1x8x8; dense 4 relu relu code; dense 64 sigmoid",
                           "input 1x8x8; dense 4 relu code code; dense 64 sigmoid",
                           "input 1x8x8; dense 4 relu tanh code; dense 64 sigmoid",
                           "input 1x8x8; conv2d 2 k3 k3 relu code; convt2d 1 k3 sigmoid"};
    for (int i = 0; i < 4; i++) {
        tu_assert_status(sae_config_set_layers(cfg, twice[i]), SAE_ERR_BAD_VALUE);
        expect_msg(sae_config_errmsg(cfg), "says again what an earlier word said");
    }
    sae_config_free(cfg);
}

/* Binary cross-entropy against 0..255 pixels trained "successfully" to a
 * negative loss; now it is refused before any step. */
static void test_bce_targets(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(8, 6);
    assert_int_equal(sae_config_set(cfg, "loss.type", "bce"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "arch.output_activation", "sigmoid"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "train.batch_size", "4"), SAE_OK);
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    float x[32];
    tu_fill_uniform(x, 32, 0, 255, 1);
    sae_stats_t s = {.struct_size = sizeof s};
    tu_assert_status(sae_trainer_fit(t, x, 4, 1), SAE_ERR_RANGE);
    expect_msg(sae_trainer_errmsg(t), "needs data in [0, 1]");
    tu_assert_status(sae_trainer_step(t, x, 4, &s), SAE_ERR_RANGE);
    tu_assert_status(sae_trainer_evaluate(t, x, 4, &s), SAE_ERR_RANGE);
    assert_int_equal(sae_trainer_steps(t), 0);
    for (int i = 0; i < 32; i++)
        x[i] /= 255.0f;
    tu_assert_status(sae_trainer_step(t, x, 4, &s), SAE_OK);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}


/* ------------------------------------------------------------------------ */
/* Model files that ask too much or are ambiguous                           */
/* ------------------------------------------------------------------------ */

/* Rewrites the model file at path with edit() applied to its JSON header
 * (the data section, which the checksum covers, is kept). */
static void edit_header(const char *path, void (*edit)(cJSON *header))
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    size_t size = (size_t)ftell(f);
    rewind(f);
    unsigned char *bytes = malloc(size);
    assert_int_equal(fread(bytes, 1, size, f), size);
    fclose(f);
    size_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | bytes[i];
    cJSON *header = cJSON_ParseWithLength((const char *)bytes + 8, hlen);
    assert_non_null(header);
    edit(header);
    char *text = cJSON_PrintUnformatted(header);
    size_t n = strlen(text), padded = (n + 7) & ~(size_t)7;
    f = fopen(path, "wb");
    unsigned char len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)(padded >> (8 * i));
    fwrite(len, 1, 8, f);
    fwrite(text, 1, n, f);
    for (size_t i = n; i < padded; i++)
        fputc(' ', f);
    fwrite(bytes + 8 + hlen, 1, size - 8 - hlen, f);
    fclose(f);
    free(text);
    cJSON_Delete(header);
    free(bytes);
}

static void set_meta(cJSON *header, const char *key, const char *value)
{
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(header, "__metadata__");
    cJSON_DeleteItemFromObjectCaseSensitive(meta, key);
    if (value)
        cJSON_AddStringToObject(meta, key, value);
}

static void huge_batch(cJSON *header)
{
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(header, "__metadata__");
    cJSON *cfg = cJSON_Parse(cJSON_GetObjectItemCaseSensitive(meta, "config")->valuestring);
    cJSON_ReplaceItemInObjectCaseSensitive(cfg, "train.batch_size", cJSON_CreateString("16777216"));
    char *text = cJSON_PrintUnformatted(cfg);
    set_meta(header, "config", text);
    free(text);
    cJSON_Delete(cfg);
}

static void old_square(cJSON *header)
{
    set_meta(header, "decoder_layout", NULL);
    set_meta(header, "library_version", "0.1.0");
}

static void other_layout(cJSON *header)
{
    set_meta(header, "decoder_layout", "input_rows");
}

static void test_files_that_ask_too_much(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/m.safetensors", tu_tmpdir());
    sae_config_t *cfg = tu_config(6, 6); /* square, untied */
    sae_model_t *m = NULL, *back = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    /* A fresh file records its layout and loads. */
    assert_int_equal(sae_model_save(m, path), SAE_OK);
    assert_int_equal(sae_model_load(path, &back), SAE_OK);
    sae_model_free(back);

    /* 2^24 rows of 40 + 24 units: 4 GiB per batch buffer. */
    sae_config_t *wide_cfg = tu_config(40, 24);
    sae_model_t *wide = NULL;
    assert_int_equal(sae_model_create(wide_cfg, &wide), SAE_OK);
    assert_int_equal(sae_model_save(wide, path), SAE_OK);
    edit_header(path, huge_batch);
    tu_assert_status(sae_model_load(path, &back), SAE_ERR_FORMAT);
    expect_msg(sae_last_error(), "train.batch_size 16777216");
    sae_model_free(wide);
    sae_config_free(wide_cfg);

    assert_int_equal(sae_model_save(m, path), SAE_OK);
    edit_header(path, old_square);
    tu_assert_status(sae_model_load(path, &back), SAE_ERR_VERSION);
    expect_msg(sae_last_error(), "square");

    assert_int_equal(sae_model_save(m, path), SAE_OK);
    edit_header(path, other_layout);
    tu_assert_status(sae_model_load(path, &back), SAE_ERR_VERSION);
    expect_msg(sae_last_error(), "decoder_layout 'input_rows'");

    /* A 0.1 file whose decoder is not square is not ambiguous (its shape
     * says which) and still loads: the golden file. */
    assert_int_equal(sae_model_load(tu_data_path("golden-v1-untied.safetensors"), &back), SAE_OK);
    sae_model_free(back);
    unlink(path);
    sae_model_free(m);
    sae_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clone_null_sets_out),
        cmocka_unit_test(test_unsupported_says_model),
        cmocka_unit_test(test_unit_activity_reports_through_trainer),
        cmocka_unit_test(test_config_messages),
        cmocka_unit_test(test_layer_messages),
        cmocka_unit_test(test_bce_targets),
        cmocka_unit_test(test_files_that_ask_too_much),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
