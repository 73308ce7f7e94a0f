/* Saving (core/atomic_file.c, docs/file-format.md "Saving"): what the
 * target may be (regular files, symbolic links followed; directories,
 * devices, FIFOs, sockets refused), permissions kept, temporaries of killed
 * saves removed, and the kill test: a child saving two models in turn to
 * one path, SIGKILLed at seeded random moments; the path always loads as
 * one of the two, and at most one temporary is ever left.
 * SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/rng.h"
#include "testutil.h"

typedef struct fx {
    char dir[256];
    char path[512];
    sae_model_t *a, *b;
} fx_t;

static sae_model_t *model_with_seed(size_t in, size_t hidden, int seed)
{
    sae_config_t *cfg = tu_config(in, hidden);
    assert_int_equal(sae_config_set_int(cfg, SAE_P_SEED, seed), SAE_OK);
    sae_model_t *m = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    sae_config_free(cfg);
    return m;
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "%s", tu_tmpdir());
    snprintf(f->path, sizeof f->path, "%s/m.safetensors", f->dir);
    f->a = model_with_seed(16, 8, 1);
    f->b = model_with_seed(16, 8, 2);
    *state = f;
    return 0;
}

/* Removes the folder and everything in it (one level, plus subfolders
 * left empty by a test). */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    char p[1024];
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (unlink(p) != 0)
            rmdir(p);
    }
    closedir(d);
    rmdir(dir);
}

static int teardown(void **state)
{
    fx_t *f = *state;
    sae_model_free(f->a);
    sae_model_free(f->b);
    remove_dir(f->dir);
    free(f);
    return 0;
}

/* 1 when the two models hold bitwise equal tensors. */
static int same_model(const sae_model_t *x, const sae_model_t *y)
{
    size_t n = sae_model_tensor_count(x);
    if (n != sae_model_tensor_count(y))
        return 0;
    for (size_t i = 0; i < n; i++) {
        const char *nx, *ny;
        size_t rx, cx, ry, cy;
        const float *dx, *dy;
        assert_int_equal(sae_model_tensor(x, i, &nx, &rx, &cx, &dx), SAE_OK);
        assert_int_equal(sae_model_tensor(y, i, &ny, &ry, &cy, &dy), SAE_OK);
        if (strcmp(nx, ny) || rx != ry || cx != cy || memcmp(dx, dy, rx * cx * sizeof *dx))
            return 0;
    }
    return 1;
}

/* Which of the fixture's models the file holds: 1 (a), 2 (b), 0 neither;
 * -1 when it does not load. */
static int which(const fx_t *f, const char *path)
{
    sae_model_t *m = NULL;
    if (sae_model_load(path, &m) != SAE_OK)
        return -1;
    int w = same_model(m, f->a) ? 1 : same_model(m, f->b) ? 2 : 0;
    sae_model_free(m);
    return w;
}

static int count_temps(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

static void test_refuses_directory(void **state)
{
    fx_t *f = *state;
    assert_int_equal(mkdir(f->path, 0755), 0);
    tu_assert_status(sae_model_save(f->a, f->path), SAE_ERR_IO);
    assert_non_null(strstr(sae_model_errmsg(f->a), "a directory"));
    struct stat sb;
    assert_int_equal(lstat(f->path, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(count_temps(f->dir), 0);
}

static void test_refuses_fifo(void **state)
{
    fx_t *f = *state;
    assert_int_equal(mkfifo(f->path, 0644), 0);
    tu_assert_status(sae_model_save(f->a, f->path), SAE_ERR_IO);
    assert_non_null(strstr(sae_model_errmsg(f->a), "a FIFO"));
    struct stat sb;
    assert_int_equal(lstat(f->path, &sb), 0);
    assert_true(S_ISFIFO(sb.st_mode));
    assert_int_equal(count_temps(f->dir), 0);
}

static void test_refuses_socket(void **state)
{
    fx_t *f = *state;
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(f->path) >= sizeof addr.sun_path) {
        close(s);
        skip();
    }
    strcpy(addr.sun_path, f->path);
    assert_int_equal(bind(s, (struct sockaddr *)&addr, sizeof addr), 0);
    tu_assert_status(sae_model_save(f->a, f->path), SAE_ERR_IO);
    assert_non_null(strstr(sae_model_errmsg(f->a), "a socket"));
    struct stat sb;
    assert_int_equal(lstat(f->path, &sb), 0);
    assert_true(S_ISSOCK(sb.st_mode));
    close(s);
}

/* /dev/null through a symbolic link: the link is followed, and what it
 * names is a device, so nothing is replaced (as root, a plain rename over
 * the link would have replaced it; over /dev/null itself, the device). */
static void test_refuses_device(void **state)
{
    fx_t *f = *state;
    tu_assert_status(sae_model_save(f->a, "/dev/null"), SAE_ERR_IO);
    assert_non_null(strstr(sae_model_errmsg(f->a), "a device"));
    assert_int_equal(symlink("/dev/null", f->path), 0);
    tu_assert_status(sae_model_save(f->a, f->path), SAE_ERR_IO);
    struct stat sb;
    assert_int_equal(stat("/dev/null", &sb), 0);
    assert_true(S_ISCHR(sb.st_mode));
    assert_int_equal(lstat(f->path, &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
}

/* A symbolic link is followed: the file it names is replaced, atomically
 * in its own folder, and the link stays a link. */
static void test_follows_symlink(void **state)
{
    fx_t *f = *state;
    char sub[600], real[700];
    snprintf(sub, sizeof sub, "%s/sub", f->dir);
    snprintf(real, sizeof real, "%s/real.safetensors", sub);
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(sae_model_save(f->a, real), SAE_OK);
    assert_int_equal(symlink("sub/real.safetensors", f->path), 0);
    assert_int_equal(sae_model_save(f->b, f->path), SAE_OK);
    struct stat sb;
    assert_int_equal(lstat(f->path, &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
    assert_int_equal(which(f, real), 2);
    assert_int_equal(which(f, f->path), 2);
    assert_int_equal(count_temps(sub), 0);
    unlink(real);
    /* A link to a missing file is refused rather than guessed at. */
    tu_assert_status(sae_model_save(f->a, f->path), SAE_ERR_IO);
    assert_non_null(strstr(sae_model_errmsg(f->a), "symbolic link to a missing file"));
    assert_int_equal(access(real, F_OK), -1);
}

/* The new file keeps the old one's mode; a file the caller may not write
 * is refused (root may write any file, as with open(2), and then only the
 * mode is checked). */
static void test_keeps_mode(void **state)
{
    fx_t *f = *state;
    assert_int_equal(sae_model_save(f->a, f->path), SAE_OK);
    assert_int_equal(chmod(f->path, 0640), 0);
    assert_int_equal(sae_model_save(f->b, f->path), SAE_OK);
    struct stat sb;
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0640);
    assert_int_equal(chmod(f->path, 0444), 0);
    if (geteuid() != 0) {
        tu_assert_status(sae_model_save(f->a, f->path), SAE_ERR_IO);
        assert_non_null(strstr(sae_model_errmsg(f->a), "not writable"));
        assert_int_equal(which(f, f->path), 2);
    } else {
        assert_int_equal(sae_model_save(f->a, f->path), SAE_OK);
        assert_int_equal(which(f, f->path), 1);
    }
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0444);
}

/* Temporaries left by killed saves (no process holds them) are removed by
 * the next save to the same path; other files are not touched. */
static void test_removes_stale_temps(void **state)
{
    fx_t *f = *state;
    char p[700];
    const char *names[] = {"m.safetensors.tmp.abc123", "m.safetensors.tmp.ZZZZZZ",
                           "m.safetensors.tmp.toolong1", "other.safetensors.tmp.abc123"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", f->dir, names[i]);
        int fd = open(p, O_WRONLY | O_CREAT, 0644);
        assert_true(fd >= 0);
        close(fd);
    }
    assert_int_equal(count_temps(f->dir), 4);
    assert_int_equal(sae_model_save(f->a, f->path), SAE_OK);
    assert_int_equal(count_temps(f->dir), 2); /* the two that are not ours */
    /* One held by a live writer (locked) stays. */
    snprintf(p, sizeof p, "%s/%s", f->dir, names[0]);
    int fd = open(p, O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        /* A separate process holding the lock, as a live writer would. */
        int cfd = open(p, O_RDONLY);
        if (cfd < 0 || flock(cfd, LOCK_EX) != 0)
            _exit(1);
        pause();
        _exit(0);
    }
    /* Wait until the child holds the lock. */
    for (int i = 0; i < 1000; i++) {
        if (flock(fd, LOCK_EX | LOCK_NB) != 0)
            break;
        flock(fd, LOCK_UN);
        usleep(1000);
    }
    assert_int_equal(sae_model_save(f->b, f->path), SAE_OK);
    assert_int_equal(access(p, F_OK), 0);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    close(fd);
    assert_int_equal(sae_model_save(f->a, f->path), SAE_OK);
    assert_int_equal(access(p, F_OK), -1);
}

/* ------------------------------------------------------------------------ */
/* The kill test                                                            */
/* ------------------------------------------------------------------------ */

static void test_killed_saves(void **state)
{
    fx_t *f = *state;
    /* Two models of about 2 MB each, so that a kill often lands inside the
     * writing of the data. */
    sae_model_t *a = model_with_seed(784, 320, 11), *b = model_with_seed(784, 320, 12);
    sae_model_free(f->a);
    sae_model_free(f->b);
    f->a = a;
    f->b = b;
    assert_int_equal(sae_model_save(a, f->path), SAE_OK);

    /* How long one save takes here: the kill times spread over it. */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(sae_model_save(i % 2 ? a : b, f->path), SAE_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double save_us = ((double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3) / 4;
    if (save_us < 200)
        save_us = 200;

    sae_rng_t rng;
    sae_rng_seed(&rng, 20261205);
    const int kills = 200;
    int seen[3] = {0, 0, 0}, most_temps = 0;
    for (int k = 0; k < kills; k++) {
        pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0) {
            for (unsigned i = 0;; i++)
                if (sae_model_save(i % 2 ? a : b, f->path) != SAE_OK)
                    _exit(1);
        }
        /* Between a tenth of a save and three saves. */
        double wait_us = save_us * (0.1 + 2.9 * sae_rng_uniform(&rng));
        usleep((useconds_t)wait_us);
        assert_int_equal(kill(child, SIGKILL), 0);
        int status = 0;
        assert_int_equal(waitpid(child, &status, 0), child);
        if (!WIFSIGNALED(status))
            fail_msg("kill %d: the saving child exited by itself (status %d)", k, status);
        int w = which(f, f->path);
        if (w <= 0)
            fail_msg("kill %d after %.0f us: the path %s (%s)", k, wait_us,
                     w < 0 ? "does not load" : "holds neither model", sae_last_error());
        seen[w]++;
        int temps = count_temps(f->dir);
        if (temps > most_temps)
            most_temps = temps;
        if (temps > 1)
            fail_msg("kill %d: %d temporary files left", k, temps);
    }
    print_message("%d kills (one save: %.0f us): model a %d times, b %d times, at most %d "
                  "temporary left\n",
                  kills, save_us, seen[1], seen[2], most_temps);
    /* The next save cleans up after the last kill. */
    assert_int_equal(sae_model_save(a, f->path), SAE_OK);
    assert_int_equal(count_temps(f->dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refuses_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_fifo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_socket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_follows_symlink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keeps_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_removes_stale_temps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_saves, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
