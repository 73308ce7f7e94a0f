/* The one way the library writes a file (models, checkpoints, ...):
 * atomically, so that the target path always holds either its old content
 * or the complete new one, whatever kills the process when (docs/
 * file-format.md, "Saving"). SPDX-License-Identifier: MIT */
#ifndef SAE_CORE_ATOMIC_FILE_H
#define SAE_CORE_ATOMIC_FILE_H

#include <stddef.h>

#include "sae.h"

/* Writes the file's whole content to fd (sae_write_all helps); returns 0,
 * or -1 with errno set. */
typedef int (*sae_file_writer_fn)(int fd, void *ctx);

/* Replaces the file at path with what writer writes, through a temporary
 * "<path>.tmp.XXXXXX" in the same folder that is written, fsynced, given
 * the old file's mode (and owner, where permitted) and renamed over it.
 * - A symbolic link is followed: the file it names is replaced and the link
 *   kept (a link to a missing file is refused).
 * - An existing target that is not a regular file (a directory, a device, a
 *   FIFO, a socket) is refused, as is one the caller may not write
 *   (access(2) W_OK: root may); nothing is created then.
 * - Temporaries left by killed writers to the same path are removed first:
 *   a writer holds an flock(2) on its temporary for as long as it lives, so
 *   a temporary nobody holds is stale.
 * what names the file in messages ("model", "checkpoint"). Statuses:
 * SAE_ERR_IO with the reason, SAE_ERR_NOMEM when an allocation (ours or
 * libc's, errno ENOMEM) failed; the message goes to errbuf. */
sae_status_t sae_atomic_write(const char *path, const char *what, sae_file_writer_fn writer,
                              void *ctx, char *errbuf);

/* write(2) until all n bytes are written (retrying EINTR and short writes);
 * 0, or -1 with errno set. */
int sae_write_all(int fd, const void *buf, size_t n);

#endif
