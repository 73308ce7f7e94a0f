/* SPDX-License-Identifier: MIT */
/* SAEs of other tools in `sae info` (and `sae convert`): which tool's
 * files a path holds, by the rules sae_model_import's detection follows
 * (docs/interop.md), and a summary of the imported model: architecture,
 * dimensions, the stored dtype (from the weights file's own header), the
 * k or the thresholds. The import itself is the library's. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "cli.h"

static int file_in(const char *dir, const char *name, char *out, size_t n)
{
    struct stat sb;
    if ((size_t)snprintf(out, n, "%s/%s", dir, name) >= n)
        return 0;
    return stat(out, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && strcmp(s + a - b, tail) == 0;
}

const char *cli_foreign_format(const char *path, char *weights, size_t n)
{
    struct stat sb;
    weights[0] = '\0';
    if (stat(path, &sb) != 0)
        return NULL;
    if (S_ISREG(sb.st_mode)) {
        if (ends_with(path, ".npz") || ends_with(path, "params.safetensors")) {
            snprintf(weights, n, "%s", path);
            return "gemmascope";
        }
        return NULL; /* a libsae file, or what sae_model_load says it is not */
    }
    if (!S_ISDIR(sb.st_mode))
        return NULL;
    char cfg[4096];
    if (file_in(path, "cfg.json", cfg, sizeof cfg)) {
        if (file_in(path, "sae_weights.safetensors", weights, n))
            return "saelens";
        if (file_in(path, "sae.safetensors", weights, n))
            return "sparsify";
    }
    if (file_in(path, "hyperparams.json", cfg, sizeof cfg)) {
        if (!file_in(path, "final.safetensors", weights, n))
            file_in(path, "checkpoints/final.safetensors", weights, n);
        return "llamascope";
    }
    if (file_in(path, "params.npz", weights, n) || file_in(path, "params.safetensors", weights, n))
        return "gemmascope";
    weights[0] = '\0';
    return NULL;
}

/* The dtypes of a safetensors file's tensors, e.g. "BF16" or "F32, F16". */
static void stored_dtypes(const char *weights, char *out, size_t n)
{
    uint64_t size;
    snprintf(out, n, "unknown");
    if (!ends_with(weights, ".safetensors")) {
        snprintf(out, n, "npz (each array its own; not read here)");
        return;
    }
    cJSON *root = cli_safetensors_header(NULL, weights, &size);
    if (!root)
        return;
    out[0] = '\0';
    for (const cJSON *t = root->child; t; t = t->next) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(t, "dtype");
        if (!t->string || strcmp(t->string, "__metadata__") == 0 || !cJSON_IsString(d))
            continue;
        if (!strstr(out, d->valuestring)) {
            size_t len = strlen(out);
            snprintf(out + len, n - len, "%s%s", len ? ", " : "", d->valuestring);
        }
    }
    cJSON_Delete(root);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* min, median and max of exp(log_threshold): JumpReLU's theta per latent. */
static void threshold_summary(const sae_model_t *m)
{
    size_t rows, cols;
    const float *lt;
    if (sae_model_tensor_by_name(m, "jumprelu.log_threshold", &rows, &cols, &lt) != SAE_OK)
        return;
    size_t h = rows * cols;
    float *t = malloc(h * sizeof *t);
    if (!t || h == 0) {
        free(t);
        return;
    }
    for (size_t j = 0; j < h; j++)
        t[j] = expf(lt[j]);
    qsort(t, h, sizeof *t, cmp_float);
    printf("threshold:       min %.9g, median %.9g, max %.9g\n", t[0], t[h / 2], t[h - 1]);
    free(t);
}

static void architecture(const sae_model_t *m)
{
    const sae_config_t *cfg = sae_model_config(m);
    char act[32] = "", gated[8] = "", k[32] = "0", inference[16] = "";
    sae_config_get(cfg, "arch.hidden_activation", act, sizeof act);
    sae_config_get(cfg, "arch.gated", gated, sizeof gated);
    sae_config_get(cfg, "topk.k", k, sizeof k);
    sae_config_get(cfg, "topk.inference", inference, sizeof inference);
    if (strcmp(gated, "1") == 0 || strcmp(gated, "true") == 0)
        printf("architecture:    gated\n");
    else if (strcmp(act, "jumprelu") == 0)
        printf("architecture:    jumprelu\n");
    else if (strcmp(k, "0") != 0)
        printf("architecture:    topk\nk:               %s\n", k);
    else
        printf("architecture:    standard (%s)\n", act);
    threshold_summary(m);
}

int cli_foreign_info(const char *cmd, const char *path, const char *format, const char *weights,
                     sae_model_t **out)
{
    sae_model_t *m = NULL;
    *out = NULL;
    printf("path:            %s\n", path);
    printf("format:          %s\n", format);
    if (weights[0])
        printf("weights:         %s\n", weights);
    if (sae_model_import(path, format, &m) != SAE_OK)
        return cli_fail(cmd, "%s", sae_last_error());
    char dtypes[256];
    stored_dtypes(weights, dtypes, sizeof dtypes);
    printf("dtype:           %s\n", dtypes);
    architecture(m);
    printf("input_dim:       %zu\n", sae_model_input_dim(m));
    printf("code_dim:        %zu\n", sae_model_code_dim(m));
    printf("imported tensors:\n");
    for (size_t i = 0; i < sae_model_tensor_count(m); i++) {
        const char *name;
        size_t r, c;
        if (sae_model_tensor(m, i, &name, &r, &c, NULL) == SAE_OK)
            printf("  %-24s F32   [%zu, %zu]\n", name, r, c);
    }
    *out = m;
    return CLI_OK;
}
