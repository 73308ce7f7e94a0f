/* SPDX-License-Identifier: MIT */
#include "common/report.h"

#include <stdio.h>
#include <stdlib.h>

int ex_saved(const char *prog, ex_status st, const char *path)
{
    if (st != EX_OK) {
        fprintf(stderr, "%s: cannot write %s: %s\n", prog, path, ex_error_detail());
        return 0;
    }
    printf("  %s\n", path);
    return 1;
}

void ex_die(const char *prog, const char *what)
{
    if (what)
        fprintf(stderr, "%s: %s: %s\n", prog, what, ex_error_detail());
    else
        fprintf(stderr, "%s: %s\n", prog, ex_error_detail());
    exit(1);
}

void *ex_xmalloc(const char *prog, size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "%s: out of memory (%zu bytes)\n", prog, bytes);
        exit(1);
    }
    return p;
}
