/* SPDX-License-Identifier: MIT */
/* sae info: what a model file holds: its format and version, dimensions,
 * every config key and value, every tensor with dtype and shape (from the
 * file's header), and whether the data matches the checksum (the library's
 * loader checks it). */
#include <getopt.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

static const char info_help[] =
    "Usage: sae info MODEL\n"
    "Prints a model file's format, version, dimensions, configuration, tensors\n"
    "and checksum status. Exit status 1 when the file does not load (a bad\n"
    "checksum, version or header); what could be read is printed first.\n"
    "MODEL may also be another tool's SAE (a SAELens or sparsify folder, a Gemma\n"
    "Scope params.npz or params.safetensors, a Llama Scope folder): its format,\n"
    "stored dtype, architecture, k or thresholds, dimensions, the configuration\n"
    "it imports as, and the imported tensors.\n\n"
    "  -h, --help            this help\n";

static const char *meta(const cJSON *m, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, key);
    return cJSON_IsString(v) ? v->valuestring : "(absent)";
}

static void tensors(const cJSON *root)
{
    printf("tensors:\n");
    for (const cJSON *t = root->child; t; t = t->next) {
        if (!t->string || strcmp(t->string, "__metadata__") == 0)
            continue;
        const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(t, "dtype");
        const cJSON *shape = cJSON_GetObjectItemCaseSensitive(t, "shape");
        printf("  %-24s %-5s [", t->string, cJSON_IsString(dtype) ? dtype->valuestring : "?");
        int first = 1;
        for (const cJSON *d = cJSON_IsArray(shape) ? shape->child : NULL; d; d = d->next) {
            printf("%s%.0f", first ? "" : ", ", cJSON_IsNumber(d) ? d->valuedouble : -1.0);
            first = 0;
        }
        printf("]\n");
    }
}

static void config(const sae_config_t *cfg)
{
    printf("config:\n");
    sae_param_t p;
    for (size_t i = 0; sae_param_at(i, &p) == SAE_OK; i++) {
        const char *name = sae_param_name(p);
        char value[4096];
        if (name && sae_config_get(cfg, name, value, sizeof value) == SAE_OK)
            printf("  %-28s %s\n", name, value);
    }
}

int cmd_info(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    const char *cmd = "info";
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (opt == 'h') {
            fputs(info_help, stdout);
            return CLI_OK;
        }
        return cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
    }
    if (argc - optind != 1)
        return cli_usage(cmd, "one model file is needed");
    const char *path = argv[optind];
    char weights[4096];
    const char *format = cli_foreign_format(path, weights, sizeof weights);
    if (format) {
        sae_model_t *fm = NULL;
        int rc = cli_foreign_info(cmd, path, format, weights, &fm);
        if (rc == CLI_OK)
            config(sae_model_config(fm));
        sae_model_free(fm);
        return rc;
    }
    uint64_t size = 0;
    cJSON *root = cli_safetensors_header(cmd, path, &size);
    if (!root)
        return CLI_FAIL;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "__metadata__");
    printf("file:            %s (%llu bytes)\n", path, (unsigned long long)size);
    printf("format:          %s, version %s (written by libsae %s)\n", meta(m, "format"),
           meta(m, "format_version"), meta(m, "library_version"));
    if (cJSON_GetObjectItemCaseSensitive(m, "checkpoint_version"))
        printf("checkpoint:      version %s, step %s (trainer.* tensors: the trainer's state)\n",
               meta(m, "checkpoint_version"), meta(m, "trainer_steps"));
    sae_model_t *model = NULL;
    sae_status_t s = sae_model_load(path, &model);
    if (s != SAE_OK) {
        tensors(root);
        printf("checksum:        %s %s\n", meta(m, "checksum"),
               s == SAE_ERR_CHECKSUM ? "MISMATCH" : "not checked");
        cJSON_Delete(root);
        return cli_fail(cmd, "%s", sae_last_error());
    }
    printf("input_dim:       %zu\n", sae_model_input_dim(model));
    printf("code_dim:        %zu\n", sae_model_code_dim(model));
    size_t layers = sae_model_layer_count(model);
    for (size_t i = 0; i < layers; i++) {
        size_t c, h, w;
        if (sae_model_layer_shape(model, i, &c, &h, &w) == SAE_OK)
            printf("layer %-3zu       %zu x %zu x %zu\n", i, c, h, w);
    }
    config(sae_model_config(model));
    tensors(root);
    printf("checksum:        %s ok\n", meta(m, "checksum"));
    cJSON_Delete(root);
    sae_model_free(model);
    return CLI_OK;
}
