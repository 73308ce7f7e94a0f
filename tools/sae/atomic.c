/* SPDX-License-Identifier: MIT */
/* Output files written atomically: a temporary file beside the target,
 * flushed, fsync'ed and renamed over it (as sae_model_save does). */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_out_open(cli_out_t *o, const char *path)
{
    memset(o, 0, sizeof *o);
    size_t n = strlen(path);
    o->path = strdup(path);
    o->tmp = malloc(n + 16);
    if (!o->path || !o->tmp) {
        cli_out_abort(o);
        errno = ENOMEM;
        return -1;
    }
    memcpy(o->tmp, path, n);
    memcpy(o->tmp + n, ".tmp-XXXXXX", 12);
    int fd = mkstemp(o->tmp);
    if (fd < 0) {
        int e = errno;
        free(o->tmp);
        o->tmp = NULL;
        cli_out_abort(o);
        errno = e;
        return -1;
    }
    o->fp = fdopen(fd, "wb");
    if (!o->fp) {
        int e = errno;
        close(fd);
        cli_out_abort(o);
        errno = e;
        return -1;
    }
    return 0;
}

int cli_out_commit(cli_out_t *o)
{
    int ok = o->fp && !ferror(o->fp) && fflush(o->fp) == 0 && fsync(fileno(o->fp)) == 0;
    int e = errno;
    if (o->fp && fclose(o->fp) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    o->fp = NULL;
    if (ok && rename(o->tmp, o->path) != 0) {
        ok = 0;
        e = errno;
    }
    if (!ok) {
        cli_out_abort(o);
        errno = e ? e : EIO;
        return -1;
    }
    free(o->tmp);
    free(o->path);
    o->tmp = o->path = NULL;
    return 0;
}

void cli_out_abort(cli_out_t *o)
{
    if (o->fp)
        fclose(o->fp);
    if (o->tmp)
        unlink(o->tmp);
    free(o->tmp);
    free(o->path);
    memset(o, 0, sizeof *o);
}
