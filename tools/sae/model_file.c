/* SPDX-License-Identifier: MIT */
/* Loading a model for a subcommand, with the library's message. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

/* A libsae file, or another tool's SAE (sae_model_import detects which). */
int cli_model_load(const char *cmd, const char *path, sae_model_t **model)
{
    sae_status_t s = sae_model_import(path, NULL, model);
    if (s != SAE_OK)
        return cli_fail(cmd, "%s", sae_last_error()[0] ? sae_last_error() : sae_status_str(s));
    return CLI_OK;
}

#include <stdarg.h>

/* cli_fail, or nothing when cmd is NULL (a quiet probe). */
static void say(const char *cmd, const char *fmt, ...)
{
    if (!cmd)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sae %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* The JSON header of a safetensors file, read with its length checked
 * against the file's size first. NULL and a message when it is not one. */
cJSON *cli_safetensors_header(const char *cmd, const char *path, uint64_t *file_size)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        say(cmd, "%s: %s", path, strerror(errno));
        return NULL;
    }
    unsigned char len8[8];
    cJSON *root = NULL;
    char *text = NULL;
    if (fseek(fp, 0, SEEK_END) != 0) {
        say(cmd, "%s: not a seekable file", path);
        goto out;
    }
    long size = ftell(fp);
    rewind(fp);
    if (size < 8 || fread(len8, 1, 8, fp) != 8) {
        say(cmd, "%s: too short for a safetensors file", path);
        goto out;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | len8[i];
    if (hlen > (uint64_t)size - 8 || hlen > (100u << 20)) {
        say(cmd, "%s: not a safetensors file (a header of %llu bytes in a %ld-byte file)", path,
            (unsigned long long)hlen, size);
        goto out;
    }
    text = malloc((size_t)hlen + 1);
    if (!text || fread(text, 1, (size_t)hlen, fp) != hlen) {
        say(cmd, "%s: cannot read the header", path);
        goto out;
    }
    root = cJSON_ParseWithLength(text, (size_t)hlen);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        root = NULL;
        say(cmd, "%s: the safetensors header is not a JSON object", path);
        goto out;
    }
    *file_size = (uint64_t)size;
out:
    free(text);
    fclose(fp);
    return root;
}
