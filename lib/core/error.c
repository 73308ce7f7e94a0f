/* Status strings and error-message plumbing. SPDX-License-Identifier: MIT */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char global_errmsg[SAE_ERRMSG_SIZE];

const char *sae_status_str(sae_status_t status)
{
    switch (status) {
    case SAE_OK: return "success";
    case SAE_ERR_NULL: return "a required pointer argument was NULL";
    case SAE_ERR_NOMEM: return "out of memory";
    case SAE_ERR_RANGE: return "value out of range";
    case SAE_ERR_UNKNOWN_KEY: return "unknown parameter or name";
    case SAE_ERR_BAD_VALUE: return "value could not be parsed";
    case SAE_ERR_DIMENSION: return "dimensions do not match";
    case SAE_ERR_NONFINITE: return "input holds NaN or Inf";
    case SAE_ERR_IO: return "input/output error";
    case SAE_ERR_FORMAT: return "malformed file";
    case SAE_ERR_CHECKSUM: return "checksum mismatch";
    case SAE_ERR_VERSION: return "unsupported format version";
    case SAE_ERR_CANCELLED: return "cancelled by callback";
    case SAE_ERR_STATE: return "invalid state or inconsistent configuration";
    case SAE_ERR_UNSUPPORTED: return "not supported (by this build, or for this model)";
    case SAE_ERR_DIVERGED: return "training diverged (non-finite loss)";
    case SAE_ERR_TYPE: return "parameter has another type";
    case SAE_ERR_SOURCE: return "the data source reported a failure";
    case SAE_ERR_REDUCER: return "the reducer reported a failure (a peer or the network)";
    case SAE_ERR_MISMATCH: return "the ranks of a data-parallel run disagree";
    }
    return "unknown status";
}

static void vformat(char *buf, const char *fmt, va_list ap)
{
    vsnprintf(buf, SAE_ERRMSG_SIZE, fmt, ap);
}

sae_status_t sae_fail(char *buf, sae_status_t status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vformat(buf, fmt, ap);
    va_end(ap);
    return status;
}

sae_status_t sae_fail_global(sae_status_t status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vformat(global_errmsg, fmt, ap);
    va_end(ap);
    return status;
}

void sae_set_global_error(const char *msg)
{
    snprintf(global_errmsg, sizeof global_errmsg, "%s", msg ? msg : "");
}

void sae_clear_global_error(void)
{
    global_errmsg[0] = '\0';
}

const char *sae_last_error(void)
{
    return global_errmsg;
}
