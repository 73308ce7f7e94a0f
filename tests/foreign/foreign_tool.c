/* SPDX-License-Identifier: MIT */
/* The C side of tests/foreign/test_foreign.py: imports an SAE of another
 * tool, encodes and decodes rows the script wrote, exports, and checks
 * round trips. Prints "status N" and the message when a call fails. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sae.h"

static int failed(sae_status_t st)
{
    printf("status %d\n%s\n", (int)st, sae_last_error());
    return 3;
}

static float *read_floats(const char *path, size_t n)
{
    FILE *f = fopen(path, "rb");
    float *x = malloc(n * sizeof *x);
    if (!f || !x || fread(x, sizeof *x, n, f) != n) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    fclose(f);
    return x;
}

static void write_floats(const char *path, const float *x, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(x, sizeof *x, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
}

/* Every tensor of a and b has the same name, shape and bits. */
static int same_bits(const sae_model_t *a, const sae_model_t *b)
{
    size_t n = sae_model_tensor_count(a);
    if (n != sae_model_tensor_count(b))
        return 0;
    for (size_t i = 0; i < n; i++) {
        const char *na, *nb;
        size_t ra, ca, rb, cb;
        const float *da, *db;
        sae_model_tensor(a, i, &na, &ra, &ca, &da);
        sae_model_tensor(b, i, &nb, &rb, &cb, &db);
        if (strcmp(na, nb) || ra != rb || ca != cb || memcmp(da, db, ra * ca * sizeof *da)) {
            printf("tensor %s differs\n", na);
            return 0;
        }
    }
    return 1;
}

/* A libsae model file to export: a per-row or BatchTopK top-k model
 * (theta set as training would have estimated it) or a JumpReLU one,
 * random weights. */
static int make_model(const char *kind, const char *path)
{
    sae_config_t *cfg;
    sae_model_t *m;
    int batch = strcmp(kind, "batchtopk") == 0, jr = strcmp(kind, "jumprelu") == 0;
    if (sae_config_create(&cfg) || sae_config_set(cfg, "arch.input_dim", "12") ||
        sae_config_set(cfg, "arch.hidden_dim", "40") ||
        sae_config_set(cfg, "arch.hidden_activation", jr ? "jumprelu" : "relu") ||
        sae_config_set(cfg, "arch.tied", "false") ||
        sae_config_set(cfg, "arch.pre_encoder_bias", "true") ||
        (!jr && sae_config_set(cfg, "topk.k", "4")) ||
        (batch && sae_config_set(cfg, "topk.mode", "batch")) ||
        (strcmp(kind, "alpha") == 0 && sae_config_set(cfg, "topk.alpha", "1.5")) ||
        sae_model_create(cfg, &m))
        return failed(SAE_ERR_STATE);
    float theta = 0.3f, n = 17.0f;
    sae_status_t st = SAE_OK;
    if (batch)
        st = sae_model_set_tensor(m, "topk.threshold", 1, 1, &theta);
    if (st == SAE_OK && batch)
        st = sae_model_set_tensor(m, "topk.threshold_batches", 1, 1, &n);
    if (st == SAE_OK && jr) {
        float lt[40];
        for (int j = 0; j < 40; j++)
            lt[j] = -2.5f + 0.05f * (float)j;
        st = sae_model_set_tensor(m, "jumprelu.log_threshold", 40, 1, lt);
    }
    if (st == SAE_OK)
        st = sae_model_save(m, path);
    sae_model_free(m);
    sae_config_free(cfg);
    return st == SAE_OK ? 0 : failed(st);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "make") == 0)
        return make_model(argv[2], argv[3]);
    if (argc < 3) {
        fprintf(stderr, "usage: foreign_tool import PATH FORMAT [X ROWS CODE RECON] | "
                        "export PATH FORMAT OUT [OUTFORMAT] | roundtrip PATH FORMAT TMPDIR [OUTFORMAT]\n");
        return 2;
    }
    const char *fmt = argc > 3 && strcmp(argv[3], "-") ? argv[3] : NULL;
    sae_model_t *m = NULL;
    sae_status_t st = sae_model_import(argv[2], fmt, &m);
    if (st != SAE_OK)
        return failed(st);
    int rc = 0;
    const char *outfmt = argc > 5 ? argv[5] : "saelens";
    if (strcmp(argv[1], "import") == 0 && argc == 8) {
        size_t rows = (size_t)atol(argv[5]), d = sae_model_input_dim(m), h = sae_model_code_dim(m);
        float *x = read_floats(argv[4], rows * d);
        float *code = malloc(rows * h * sizeof *code), *rec = malloc(rows * d * sizeof *rec);
        st = sae_model_encode(m, x, rows, code);
        if (st == SAE_OK)
            st = sae_model_decode(m, code, rows, rec);
        if (st != SAE_OK)
            rc = failed(st);
        else {
            write_floats(argv[6], code, rows * h);
            write_floats(argv[7], rec, rows * d);
        }
        free(x);
        free(code);
        free(rec);
    } else if (strcmp(argv[1], "export") == 0 && (argc == 5 || argc == 6)) {
        st = sae_model_export(m, argv[4], outfmt);
        if (st != SAE_OK)
            rc = failed(st);
    } else if (strcmp(argv[1], "roundtrip") == 0 && (argc == 5 || argc == 6)) {
        sae_model_t *b = NULL;
        st = sae_model_export(m, argv[4], outfmt);
        if (st == SAE_OK)
            st = sae_model_import(argv[4], outfmt, &b);
        if (st != SAE_OK)
            rc = failed(st);
        else if (!same_bits(m, b))
            rc = 1;
        else
            printf("bitwise equal\n");
        sae_model_free(b);
    } else if (strcmp(argv[1], "import") == 0 && argc == 4) {
        printf("ok %zu %zu\n", sae_model_input_dim(m), sae_model_code_dim(m));
    } else {
        fprintf(stderr, "bad arguments\n");
        rc = 2;
    }
    sae_model_free(m);
    return rc;
}
