/* matryoshka.prefixes: the nested dictionary sizes of a Matryoshka SAE
 * (Bussmann et al. 2025, arXiv 2503.17547), as text "64,256,1024,4096":
 * integers separated by commas (spaces around them allowed), strictly
 * increasing, each in [1, 2^24], at most SAE_MAX_PREFIXES of them; "" (or
 * only spaces) clears the setting. That the last one is arch.hidden_dim is
 * checked when a model is made (config/recipes.c), since the two keys may
 * be set in either order. SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "config/config.h"

sae_status_t sae_config_set_prefixes(sae_config_t *cfg, const char *text)
{
    uint32_t v[SAE_MAX_PREFIXES];
    unsigned n = 0;
    const char *p = text;
    while (isspace((unsigned char)*p))
        p++;
    while (*p) {
        if (n == SAE_MAX_PREFIXES)
            return sae_fail(cfg->errmsg, SAE_ERR_BAD_VALUE,
                            "matryoshka.prefixes: at most %d sizes", SAE_MAX_PREFIXES);
        if (!isdigit((unsigned char)*p))
            return sae_fail(cfg->errmsg, SAE_ERR_BAD_VALUE,
                            "matryoshka.prefixes: '%.40s' is not a list of positive integers "
                            "separated by commas",
                            text);
        errno = 0;
        char *end = NULL;
        unsigned long long x = strtoull(p, &end, 10);
        if (errno || x < 1 || x > (1ull << 24))
            return sae_fail(cfg->errmsg, SAE_ERR_RANGE,
                            "matryoshka.prefixes: size %.20s is out of range: must be in [1, "
                            "16777216]",
                            p);
        if (n > 0 && x <= v[n - 1])
            return sae_fail(cfg->errmsg, SAE_ERR_BAD_VALUE,
                            "matryoshka.prefixes: sizes must increase strictly (%llu after %u)",
                            x, (unsigned)v[n - 1]);
        v[n++] = (uint32_t)x;
        p = end;
        while (isspace((unsigned char)*p))
            p++;
        if (*p == ',') {
            p++;
            while (isspace((unsigned char)*p))
                p++;
            if (!*p)
                return sae_fail(cfg->errmsg, SAE_ERR_BAD_VALUE,
                                "matryoshka.prefixes: '%.40s' ends with a comma", text);
        } else if (*p) {
            return sae_fail(cfg->errmsg, SAE_ERR_BAD_VALUE,
                            "matryoshka.prefixes: '%.40s' is not a list of positive integers "
                            "separated by commas",
                            text);
        }
    }
    for (unsigned i = 0; i < n; i++)
        cfg->prefixes[i] = v[i];
    cfg->n_prefixes = n;
    return SAE_OK;
}

size_t sae_config_format_prefixes(const sae_config_t *cfg, char *buf, size_t size)
{
    size_t used = 0;
    if (size > 0)
        buf[0] = '\0';
    for (unsigned i = 0; i < cfg->n_prefixes; i++) {
        char one[16];
        int k = snprintf(one, sizeof one, "%s%u", i ? "," : "", (unsigned)cfg->prefixes[i]);
        if (used + (size_t)k < size)
            snprintf(buf + used, size - used, "%s", one);
        used += (size_t)k;
    }
    return used;
}
