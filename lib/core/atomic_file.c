/* Atomic file replacement: temporary, fsync, rename (core/atomic_file.h).
 * SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/error.h"

#define TMP_SUFFIX ".tmp."
#define TMP_RANDOM 6

int sae_write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (k == 0) {
            errno = EIO;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* ENOMEM from libc (realpath, opendir, a stream) is out of memory, not an
 * I/O failure. */
static sae_status_t fail_errno(char *errbuf, int err, const char *what, const char *path)
{
    return sae_fail(errbuf, err == ENOMEM ? SAE_ERR_NOMEM : SAE_ERR_IO,
                    "cannot save %s to '%s': %s", what, path, strerror(err));
}

static const char *kind_of(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

/* Decides what file is replaced: path itself, or the file a symbolic link
 * names (*real, allocated). *exists and *sb describe the current file. */
static sae_status_t resolve_target(const char *path, const char *what, char **real, int *exists,
                                   struct stat *sb, char *errbuf)
{
    *real = NULL;
    *exists = 0;
    if (lstat(path, sb) != 0) {
        if (errno == ENOENT)
            return SAE_OK;
        return fail_errno(errbuf, errno, what, path);
    }
    const char *target = path;
    if (S_ISLNK(sb->st_mode)) {
        *real = realpath(path, NULL);
        if (!*real) {
            int err = errno;
            if (err == ENOENT)
                return sae_fail(errbuf, SAE_ERR_IO,
                                "cannot save %s to '%s': it is a symbolic link to a missing file",
                                what, path);
            return fail_errno(errbuf, err, what, path);
        }
        target = *real;
        if (stat(target, sb) != 0) {
            if (errno == ENOENT)
                return SAE_OK;
            return fail_errno(errbuf, errno, what, path);
        }
    }
    if (!S_ISREG(sb->st_mode))
        return sae_fail(errbuf, SAE_ERR_IO,
                        "cannot save %s to '%s': it exists and is %s, not a regular file", what,
                        path, kind_of(sb->st_mode));
    if (faccessat(AT_FDCWD, target, W_OK, AT_EACCESS) != 0)
        return sae_fail(errbuf, errno == ENOMEM ? SAE_ERR_NOMEM : SAE_ERR_IO,
                        "cannot save %s to '%s': the existing file is not writable (%s)", what,
                        path, strerror(errno));
    *exists = 1;
    return SAE_OK;
}

/* Splits path into its folder (allocated; "." when there is no slash) and
 * its last component. NULL when out of memory. */
static char *folder_of(const char *path, const char **base)
{
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    size_t n = !slash ? 1 : slash == path ? 1 : (size_t)(slash - path);
    char *dir = malloc(n + 1);
    if (!dir)
        return NULL;
    memcpy(dir, slash ? path : ".", n);
    dir[n] = '\0';
    return dir;
}

/* Removes "<base>.tmp.XXXXXX" files in dir that no live writer holds:
 * every writer keeps an exclusive flock on its temporary from creation to
 * rename, and a killed process's locks are released by the kernel. Best
 * effort: a temporary that cannot be opened or locked is left alone. */
static void remove_stale_temps(const char *dir, const char *base)
{
    size_t blen = strlen(base);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return;
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return;
    }
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        const char *name = e->d_name;
        if (strlen(name) != blen + sizeof TMP_SUFFIX - 1 + TMP_RANDOM ||
            strncmp(name, base, blen) != 0 ||
            strncmp(name + blen, TMP_SUFFIX, sizeof TMP_SUFFIX - 1) != 0)
            continue;
        int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
            continue;
        struct stat held, now;
        if (fstat(fd, &held) == 0 && S_ISREG(held.st_mode) && flock(fd, LOCK_EX | LOCK_NB) == 0 &&
            fstatat(dfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_dev == held.st_dev &&
            now.st_ino == held.st_ino)
            (void)unlinkat(dfd, name, 0);
        close(fd);
    }
    closedir(d);
}

/* Creates "<target>.tmp.XXXXXX" exclusively and locks it. mkstemp's
 * algorithm, but with mode 0666 so that the umask applies as it would for
 * any new file (mkstemp's 0600 would hide models from the group against the
 * user's umask). A name a cleaner removed between creation and lock is
 * detected (the locked file is no longer at its name) and retried. */
static int create_temp(const char *target, char **tmp_out)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    static _Thread_local uint64_t counter;
    size_t n = strlen(target);
    char *tmp = malloc(n + sizeof TMP_SUFFIX + TMP_RANDOM);
    if (!tmp) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(tmp, target, n);
    memcpy(tmp + n, TMP_SUFFIX, sizeof TMP_SUFFIX - 1);
    size_t at = n + sizeof TMP_SUFFIX - 1;

    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    uint64_t state = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
                     ((uint64_t)getpid() << 16) ^ (uint64_t)(uintptr_t)tmp;
    for (int attempt = 0; attempt < 100; attempt++) {
        /* splitmix64: names need only differ; O_EXCL makes a collision a
         * retry, never a hazard. */
        uint64_t z = (state += 0x9e3779b97f4a7c15u) + ++counter;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        z ^= z >> 31;
        for (size_t i = 0; i < TMP_RANDOM; i++) {
            tmp[at + i] = alphabet[z % (sizeof alphabet - 1)];
            z /= sizeof alphabet - 1;
        }
        tmp[at + TMP_RANDOM] = '\0';
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0) {
            if (errno == EEXIST)
                continue;
            break;
        }
        struct stat mine, named;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &mine) == 0 &&
            stat(tmp, &named) == 0 && mine.st_dev == named.st_dev && mine.st_ino == named.st_ino) {
            *tmp_out = tmp;
            return fd;
        }
        close(fd); /* a cleaner took it: it removes the name */
    }
    int err = errno;
    free(tmp);
    errno = err;
    return -1;
}

/* After the rename, syncing the folder makes the new entry itself durable.
 * Best effort: some file systems refuse fsync on folders, and the file is
 * complete and in place either way. */
static void sync_folder(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* The new file takes the old one's owner (where permitted: root, or a
 * group the caller is in) and mode; chown first, since it may clear the
 * set-id bits. */
static int keep_owner_and_mode(int fd, const struct stat *old)
{
    struct stat now;
    if (fstat(fd, &now) != 0)
        return -1;
    if (now.st_uid != old->st_uid || now.st_gid != old->st_gid)
        (void)fchown(fd, old->st_uid, old->st_gid);
    return fchmod(fd, old->st_mode & 07777);
}

sae_status_t sae_atomic_write(const char *path, const char *what, sae_file_writer_fn writer,
                              void *ctx, char *errbuf)
{
    char *real = NULL;
    int exists = 0;
    struct stat old;
    sae_status_t st = resolve_target(path, what, &real, &exists, &old, errbuf);
    if (st != SAE_OK) {
        free(real);
        return st;
    }
    const char *target = real ? real : path;
    const char *base = NULL;
    char *dir = folder_of(target, &base);
    if (!dir) {
        free(real);
        return fail_errno(errbuf, ENOMEM, what, path);
    }
    remove_stale_temps(dir, base);

    char *tmp = NULL;
    int fd = create_temp(target, &tmp);
    if (fd < 0) {
        int err = errno;
        free(dir);
        free(real);
        return fail_errno(errbuf, err, what, path);
    }
    errno = 0;
    int ok = writer(fd, ctx) == 0 && (!exists || keep_owner_and_mode(fd, &old) == 0) &&
             fsync(fd) == 0 && rename(tmp, target) == 0;
    int err = errno ? errno : EIO;
    if (!ok)
        unlink(tmp);
    /* Closed only now: the lock marks the temporary as live until it is
     * renamed or removed. After a successful fsync a close error cannot
     * lose data. */
    close(fd);
    if (ok)
        sync_folder(dir);
    free(tmp);
    free(dir);
    free(real);
    return ok ? SAE_OK : fail_errno(errbuf, err, what, path);
}
