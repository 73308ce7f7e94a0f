/* SPDX-License-Identifier: MIT */
#include "common/status.h"

#include <stdarg.h>
#include <stdio.h>

/* Thread-local so that helpers used from several threads (a test runner, a
 * data loader thread) never mix up each other's messages. */
static _Thread_local char detail[512];

const char *ex_status_str(ex_status status)
{
    switch (status) {
    case EX_OK: return "ok";
    case EX_ERR_ARG: return "invalid argument";
    case EX_ERR_IO: return "input/output error";
    case EX_ERR_NOMEM: return "out of memory";
    case EX_ERR_MAGIC: return "bad magic number";
    case EX_ERR_TRUNCATED: return "truncated file";
    case EX_ERR_DIMENSION: return "bad dimensions";
    case EX_ERR_TOO_BIG: return "file too big";
    case EX_ERR_JSON: return "malformed JSON";
    case EX_ERR_COUNT: return "wrong number of values";
    case EX_ERR_RANGE: return "value out of range";
    case EX_ERR_FORMAT: return "unsupported image format";
    }
    return "unknown status";
}

const char *ex_error_detail(void)
{
    return detail;
}

ex_status ex_fail(ex_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return status;
}
