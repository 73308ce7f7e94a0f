/* Error messages: each handle keeps its own, handle-less calls use a
 * thread-local one (sae_last_error). SPDX-License-Identifier: MIT */
#ifndef SAE_CORE_ERROR_H
#define SAE_CORE_ERROR_H

#include "sae.h"

#define SAE_ERRMSG_SIZE 256

/* Formats a message into buf (SAE_ERRMSG_SIZE bytes) and returns status, so
 * that `return sae_fail(m->errmsg, SAE_ERR_RANGE, "...", ...);` reads well. */
sae_status_t sae_fail(char *buf, sae_status_t status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same into the thread-local buffer behind sae_last_error(). */
sae_status_t sae_fail_global(sae_status_t status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Copies a handle's message to the thread-local buffer. */
void sae_set_global_error(const char *msg);
void sae_clear_global_error(void);

#endif
