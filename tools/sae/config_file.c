/* SPDX-License-Identifier: MIT */
/* Configuration for sae train: a file (a JSON object of keys, or
 * `key = value` lines with # comments) and --set key=value. Each value goes
 * through sae_config_set, so every check and message is the library's. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* Config files are a few lines; this bounds what is read. */
#define CONFIG_MAX_BYTES (1 << 20)

static int set_one(const char *cmd, sae_config_t *cfg, const char *key, const char *value,
                   const char *where)
{
    sae_status_t s = sae_config_set(cfg, key, value);
    if (s != SAE_OK)
        return cli_usage(cmd, "%s: %s", where, sae_config_errmsg(cfg));
    return CLI_OK;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    return s;
}

int cli_config_set(const char *cmd, sae_config_t *cfg, const char *kv, const char *where)
{
    const char *eq = strchr(kv, '=');
    if (!eq)
        return cli_usage(cmd, "%s: '%s' is not key=value", where, kv);
    size_t klen = (size_t)(eq - kv);
    char *key = malloc(klen + 1), *value = strdup(eq + 1);
    if (!key || !value) {
        free(key);
        free(value);
        return cli_fail(cmd, "out of memory");
    }
    memcpy(key, kv, klen);
    key[klen] = 0;
    int rc = set_one(cmd, cfg, trim(key), trim(value), where);
    free(key);
    free(value);
    return rc;
}

static int from_json(const char *cmd, sae_config_t *cfg, const char *path, const char *text,
                     size_t len)
{
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return cli_usage(cmd, "%s: not a JSON object of keys (JSON error near byte %zu)", path,
                         root ? (size_t)0 : (size_t)(cJSON_GetErrorPtr() - text));
    }
    int rc = CLI_OK;
    for (const cJSON *it = root->child; it && rc == CLI_OK; it = it->next) {
        char value[64], where[512];
        const char *v = value;
        snprintf(where, sizeof where, "%s: key \"%s\"", path, it->string);
        if (cJSON_IsString(it))
            v = it->valuestring;
        else if (cJSON_IsBool(it))
            v = cJSON_IsTrue(it) ? "true" : "false";
        else if (cJSON_IsNumber(it) && fabs(it->valuedouble) < 9e15 &&
                 it->valuedouble == floor(it->valuedouble))
            snprintf(value, sizeof value, "%.0f", it->valuedouble);
        else if (cJSON_IsNumber(it))
            snprintf(value, sizeof value, "%.17g", it->valuedouble);
        else {
            rc = cli_usage(cmd, "%s: the value must be a string, number or boolean", where);
            break;
        }
        rc = set_one(cmd, cfg, it->string, v, where);
    }
    cJSON_Delete(root);
    return rc;
}

static int from_lines(const char *cmd, sae_config_t *cfg, const char *path, char *text)
{
    int line = 0;
    for (char *s = text, *next; s; s = next) {
        line++;
        next = strchr(s, '\n');
        if (next)
            *next++ = 0;
        char *hash = strchr(s, '#');
        if (hash)
            *hash = 0;
        s = trim(s);
        if (!*s)
            continue;
        char where[512];
        snprintf(where, sizeof where, "%s:%d", path, line);
        int rc = cli_config_set(cmd, cfg, s, where);
        if (rc != CLI_OK)
            return rc;
    }
    return CLI_OK;
}

int cli_config_file(const char *cmd, sae_config_t *cfg, const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return cli_usage(cmd, "--config %s: %s", path, strerror(errno));
    char *text = malloc(CONFIG_MAX_BYTES + 1);
    if (!text) {
        fclose(fp);
        return cli_fail(cmd, "out of memory");
    }
    size_t n = fread(text, 1, CONFIG_MAX_BYTES + 1, fp);
    int err = ferror(fp);
    fclose(fp);
    if (err || n > CONFIG_MAX_BYTES) {
        free(text);
        return cli_usage(cmd, "--config %s: %s", path,
                         err ? "read error" : "larger than 1 MB: not a config file");
    }
    text[n] = 0;
    if (memchr(text, 0, n)) {
        free(text);
        return cli_usage(cmd, "--config %s: a binary file, not a config file", path);
    }
    const char *p = text;
    while (isspace((unsigned char)*p))
        p++;
    int rc = *p == '{' ? from_json(cmd, cfg, path, text, n) : from_lines(cmd, cfg, path, text);
    free(text);
    return rc;
}
