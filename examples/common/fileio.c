/* SPDX-License-Identifier: MIT */
#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

ex_status ex_read_file(const char *path, size_t max_bytes, uint8_t **data, size_t *len)
{
    if (!path || !data || !len)
        return ex_fail(EX_ERR_ARG, "ex_read_file: NULL argument");
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return ex_fail(EX_ERR_IO, "cannot open %s: %s", path, strerror(errno));

    /* Grow as bytes actually arrive rather than trusting a size from stat:
     * the cap then bounds memory even for pipes and files that change. */
    size_t cap = 0, n = 0;
    uint8_t *buf = NULL;
    for (;;) {
        if (n == cap) {
            if (cap > max_bytes) {
                free(buf);
                fclose(f);
                return ex_fail(EX_ERR_TOO_BIG, "%s is larger than %zu bytes", path, max_bytes);
            }
            size_t ncap = cap ? cap * 2 : 65536;
            if (ncap > max_bytes + 1)
                ncap = max_bytes + 1;
            uint8_t *nb = realloc(buf, ncap + 1);
            if (!nb) {
                free(buf);
                fclose(f);
                return ex_fail(EX_ERR_NOMEM, "no memory to read %s", path);
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return ex_fail(EX_ERR_IO, "cannot read %s", path);
    }
    if (n > max_bytes) {
        free(buf);
        return ex_fail(EX_ERR_TOO_BIG, "%s is larger than %zu bytes", path, max_bytes);
    }
    buf[n] = 0;
    *data = buf;
    *len = n;
    return EX_OK;
}

ex_status ex_write_file_atomic(const char *path, const void *data, size_t len)
{
    if (!path || (!data && len))
        return ex_fail(EX_ERR_ARG, "ex_write_file_atomic: NULL argument");
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp)
        return ex_fail(EX_ERR_NOMEM, "no memory to write %s", path);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        ex_status st = ex_fail(EX_ERR_IO, "cannot create a temporary file next to %s: %s", path,
                               strerror(errno));
        free(tmp);
        return st;
    }
    /* mkstemp makes the file 0600; results and pictures are meant to be
     * shared like any file the user writes, so apply the umask instead. */
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);

    const uint8_t *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto fail;
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto fail;
    free(tmp);
    return EX_OK;

fail:;
    int e = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    free(tmp);
    return ex_fail(EX_ERR_IO, "cannot write %s: %s", path, strerror(e));
}

ex_status ex_mkdir_p(const char *path)
{
    if (!path || !*path)
        return ex_fail(EX_ERR_ARG, "ex_mkdir_p: empty path");
    size_t n = strlen(path);
    char *p = malloc(n + 1);
    if (!p)
        return ex_fail(EX_ERR_NOMEM, "no memory");
    memcpy(p, path, n + 1);
    /* Create each prefix ending at a '/', then the whole path. */
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            ex_status st = ex_fail(EX_ERR_IO, "cannot create folder %s: %s", p, strerror(errno));
            free(p);
            return st;
        }
        p[i] = c;
    }
    int ok = ex_is_dir(path);
    free(p);
    return ok ? EX_OK : ex_fail(EX_ERR_IO, "%s exists and is not a folder", path);
}

int ex_is_file(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int ex_is_dir(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}
