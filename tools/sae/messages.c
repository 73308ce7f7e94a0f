/* SPDX-License-Identifier: MIT */
/* Messages and whole-number option values. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

static void vsay(const char *cmd, const char *fmt, va_list ap)
{
    fprintf(stderr, "sae%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(cmd, fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try 'sae %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
    return CLI_USAGE;
}

int cli_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(cmd, fmt, ap);
    va_end(ap);
    return CLI_FAIL;
}

int cli_parse_size(const char *cmd, const char *opt, const char *s, uint64_t lo, uint64_t hi,
                   uint64_t *out)
{
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9') {
        cli_usage(cmd, "%s: '%s' is not a whole number", opt, s);
        return -1;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno) {
        cli_usage(cmd, "%s: '%s' is not a whole number", opt, s);
        return -1;
    }
    if (v < lo || v > hi) {
        cli_usage(cmd, "%s: %llu is out of range [%llu, %llu]", opt, v,
                  (unsigned long long)lo, (unsigned long long)hi);
        return -1;
    }
    *out = v;
    return 0;
}
