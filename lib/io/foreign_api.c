/* SPDX-License-Identifier: MIT */
/* sae_model_import and sae_model_export: the format named or detected
 * from what the path holds (docs/formats.md). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "io/foreign.h"
#include "model/model.h"

static int is_file(const char *dir, const char *name)
{
    char path[4096];
    struct stat sb;
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return 0;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static sae_status_t detect(const char *path, const char **format)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return sae_fail_global(SAE_ERR_IO, "sae_model_import: '%s' does not exist", path);
    size_t n = strlen(path);
    if (S_ISDIR(sb.st_mode) && is_file(path, "cfg.json") &&
        is_file(path, "sae_weights.safetensors"))
        *format = "saelens";
    else if (S_ISDIR(sb.st_mode) && is_file(path, "cfg.json") && is_file(path, "sae.safetensors"))
        *format = "sparsify";
    else if (S_ISDIR(sb.st_mode) && is_file(path, "hyperparams.json"))
        *format = "llamascope";
    else if (S_ISDIR(sb.st_mode) && (is_file(path, "params.npz") ||
                                     is_file(path, "params.safetensors")))
        *format = "gemmascope";
    else if (S_ISREG(sb.st_mode) && n >= 4 && strcmp(path + n - 4, ".npz") == 0)
        *format = "gemmascope";
    else if (S_ISREG(sb.st_mode) && n >= 18 && strcmp(path + n - 18, "params.safetensors") == 0)
        *format = "gemmascope";
    else if (S_ISREG(sb.st_mode))
        *format = "libsae"; /* sae_model_load says what else it may be */
    if (*format)
        return SAE_OK;
    return sae_fail_global(SAE_ERR_FORMAT,
                           "sae_model_import: '%s' is no SAE folder or file that libsae "
                           "recognises (SAELens: a folder with cfg.json and "
                           "sae_weights.safetensors; sparsify: cfg.json and sae.safetensors; "
                           "Llama Scope: hyperparams.json; Gemma Scope: params.npz or "
                           "params.safetensors, or a folder holding one)",
                           path);
}

sae_status_t sae_model_import(const char *path, const char *format, sae_model_t **out)
{
    if (!path || !out)
        return sae_fail_global(SAE_ERR_NULL, "sae_model_import: %s is NULL", !path ? "path" : "out");
    *out = NULL;
    if (!format || strcmp(format, "auto") == 0) {
        format = NULL;
        sae_status_t st = detect(path, &format);
        if (st != SAE_OK)
            return st;
    }
    if (strcmp(format, "libsae") == 0)
        return sae_model_load(path, out);
    if (strcmp(format, "saelens") == 0)
        return sae_saelens_import(path, out);
    if (strcmp(format, "sparsify") == 0)
        return sae_sparsify_import(path, out);
    if (strcmp(format, "llamascope") == 0)
        return sae_llamascope_import(path, out);
    if (strcmp(format, "gemmascope") == 0) {
        /* A folder: its params.npz, else its params.safetensors. */
        struct stat sb;
        char file[4096];
        if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            const char *name = is_file(path, "params.npz") ? "params.npz" : "params.safetensors";
            if (snprintf(file, sizeof file, "%s/%s", path, name) >= (int)sizeof file)
                return sae_fail_global(SAE_ERR_IO, "sae_model_import: path too long");
            return sae_gemmascope_import(file, out);
        }
        return sae_gemmascope_import(path, out);
    }
    return sae_fail_global(SAE_ERR_BAD_VALUE,
                           "sae_model_import: unknown format '%.40s' (auto, libsae, saelens, "
                           "sparsify, gemmascope, llamascope)",
                           format);
}

sae_status_t sae_model_export(const sae_model_t *model, const char *path, const char *format)
{
    if (!model || !path || !format)
        return sae_fail_global(SAE_ERR_NULL, "sae_model_export: %s is NULL",
                               !model ? "model" : !path ? "path" : "format");
    if (model->bf16)
        return sae_model_need_fp32((sae_model_t *)model, "sae_model_export");
    if (strcmp(format, "saelens") == 0)
        return sae_saelens_export(model, path);
    if (strcmp(format, "sparsify") == 0)
        return sae_sparsify_export(model, path);
    return sae_fail_global(SAE_ERR_BAD_VALUE,
                           "sae_model_export: unknown format '%.40s' (saelens, sparsify)", format);
}
