/* SPDX-License-Identifier: MIT */
/* How an example program reports on stderr and stdout what the helpers
 * did: a file written (or not), a fatal helper failure, memory that ran
 * out. prog is the program's name, the prefix of every message. */
#ifndef EX_REPORT_H
#define EX_REPORT_H

#include <stddef.h>

#include "common/status.h"

/* After writing path with status st: on success prints "  path" on stdout
 * and returns 1; on failure prints "prog: cannot write path: detail" on
 * stderr and returns 0. */
int ex_saved(const char *prog, ex_status st, const char *path);

/* Prints "prog: what: detail" ("prog: detail" when what is NULL), the
 * detail being ex_error_detail(), on stderr and exits with status 1. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noreturn))
#endif
void ex_die(const char *prog, const char *what);

/* malloc(bytes), at least one byte; prints "prog: out of memory (N bytes)"
 * and exits with status 1 when that fails. */
void *ex_xmalloc(const char *prog, size_t bytes);

#endif /* EX_REPORT_H */
