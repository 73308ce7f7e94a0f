/* SPDX-License-Identifier: MIT */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const format_names[] = {"auto", "npy", "idx", "safetensors", "raw"};

int sd_format_parse(const char *s, sd_format_t *f)
{
    for (int i = 0; i < 5; i++)
        if (strcmp(s, format_names[i]) == 0) {
            *f = (sd_format_t)i;
            return 0;
        }
    return sd_fail("unknown data format '%s' (npy, idx, safetensors or raw)", s);
}

const char *sd_format_name(sd_format_t f)
{
    return (unsigned)f < 5 ? format_names[f] : "?";
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Magic bytes first (they cannot lie about the kind of file), then the
 * name, then --dim for raw files. */
static sd_format_t detect(const uint8_t *b, size_t len, const char *path, const sd_options_t *o)
{
    if (len >= 6 && memcmp(b, "\x93NUMPY", 6) == 0)
        return SD_FMT_NPY;
    if (len >= 2 && b[0] == 0x1f && b[1] == 0x8b)
        return SD_FMT_IDX;
    if (ends_with(path, ".safetensors"))
        return SD_FMT_SAFETENSORS;
    if (ends_with(path, ".npy"))
        return SD_FMT_NPY;
    if (ends_with(path, "-ubyte") || ends_with(path, ".idx"))
        return SD_FMT_IDX;
    if (o->dim)
        return SD_FMT_RAW;
    if (len >= 9 && b[8] == '{')
        return SD_FMT_SAFETENSORS;
    if (len >= 4 && b[0] == 0 && b[1] == 0 && (b[2] == 0x08 || b[2] == 0x0D))
        return SD_FMT_IDX;
    return SD_FMT_AUTO;
}

int sd_file_open(sd_file_t *f, const char *path, const sd_options_t *o)
{
    memset(f, 0, sizeof *f);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sd_fail("%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return sd_fail("%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return sd_fail("%s: empty file", path);
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        close(fd);
        return sd_fail("%s: too large to map", path);
    }
    f->map_len = (size_t)st.st_size;
    f->map = mmap(NULL, f->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (f->map == MAP_FAILED) {
        f->map = NULL;
        return sd_fail("%s: cannot map: %s", path, strerror(errno));
    }
    f->bytes = f->map;
    f->len = f->map_len;
    f->path = strdup(path);
    if (!f->path) {
        sd_file_close(f);
        return sd_fail("out of memory");
    }
    f->format = o->format != SD_FMT_AUTO ? o->format : detect(f->bytes, f->len, path, o);
    int rc;
    switch (f->format) {
    case SD_FMT_NPY:
        rc = sd_parse_npy(f->bytes, f->len, &f->lay);
        break;
    case SD_FMT_IDX:
        if (f->len >= 2 && f->bytes[0] == 0x1f && f->bytes[1] == 0x8b) {
            size_t n;
            if (sd_gunzip_idx(f->bytes, f->len, &f->owned, &n) < 0) {
                rc = -1;
                break;
            }
            munmap(f->map, f->map_len);
            f->map = NULL;
            f->bytes = f->owned;
            f->len = n;
        }
        rc = sd_parse_idx(f->bytes, f->len, &f->lay);
        break;
    case SD_FMT_SAFETENSORS:
        rc = sd_parse_safetensors(f->bytes, f->len, o->tensor, &f->lay);
        break;
    case SD_FMT_RAW:
        rc = sd_parse_raw(f->len, o->dim, o->raw_dtype, &f->lay);
        break;
    default:
        rc = sd_fail("cannot tell the format (give --format npy|idx|safetensors|raw; raw "
                     "files need --dim)");
        break;
    }
    if (rc < 0) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", sd_errmsg());
        sd_file_close(f);
        return sd_fail("%s: %s", path, msg);
    }
    if (f->map)
        madvise(f->map, f->map_len, MADV_SEQUENTIAL);
    return 0;
}

void sd_file_close(sd_file_t *f)
{
    if (f->map)
        munmap(f->map, f->map_len);
    free(f->owned);
    free(f->path);
    memset(f, 0, sizeof *f);
}

int sd_set_open(sd_set_t *s, const char *const *paths, size_t n, const sd_options_t *o)
{
    memset(s, 0, sizeof *s);
    s->u8_divisor = o->scale_u8 ? 255.0f : 1.0f;
    if (n == 0)
        return sd_fail("no data file");
    s->files = calloc(n, sizeof *s->files);
    if (!s->files)
        return sd_fail("out of memory");
    for (size_t i = 0; i < n; i++) {
        if (sd_file_open(&s->files[i], paths[i], o) < 0)
            goto fail;
        s->n = i + 1;
        const sd_layout_t *l = &s->files[i].lay;
        if (i == 0) {
            s->dim = l->dim;
        } else if (l->dim != s->dim) {
            sd_fail("%s: rows of %zu values, but %s has rows of %zu", paths[i], l->dim,
                    paths[0], s->dim);
            goto fail;
        }
        if (l->rows > SIZE_MAX - s->rows) {
            sd_fail("%s: too many rows in all", paths[i]);
            goto fail;
        }
        s->rows += l->rows;
    }
    return 0;
fail:
    sd_set_close(s);
    return -1;
}

int sd_set_read(const sd_set_t *s, size_t first, size_t count, float *out)
{
    if (first > s->rows || count > s->rows - first)
        return sd_fail("rows %zu..%zu are past the data's %zu rows", first, first + count,
                       s->rows);
    size_t i = 0;
    while (count) {
        const sd_file_t *f = &s->files[i];
        if (first >= f->lay.rows) {
            first -= f->lay.rows;
            i++;
            continue;
        }
        size_t take = f->lay.rows - first < count ? f->lay.rows - first : count;
        size_t es = sd_dtype_size(f->lay.dtype);
        sd_convert(f->bytes + f->lay.offset + first * f->lay.dim * es, f->lay.dtype,
                   take * f->lay.dim, s->u8_divisor, out);
        out += take * f->lay.dim;
        count -= take;
        first = 0;
        i++;
    }
    return 0;
}

void sd_set_release(const sd_set_t *s, size_t first, size_t count)
{
    long page = sysconf(_SC_PAGESIZE);
    for (size_t i = 0; i < s->n && count; i++) {
        const sd_file_t *f = &s->files[i];
        if (first >= f->lay.rows) {
            first -= f->lay.rows;
            continue;
        }
        size_t take = f->lay.rows - first < count ? f->lay.rows - first : count;
        if (f->map && page > 0) {
            size_t row = f->lay.dim * sd_dtype_size(f->lay.dtype);
            size_t a = f->lay.offset + first * row, b = a + take * row;
            /* Whole pages inside the range only: a neighbour's rows stay. */
            size_t pa = (a + (size_t)page - 1) / (size_t)page * (size_t)page;
            size_t pb = b / (size_t)page * (size_t)page;
            if (pb > pa)
                madvise((char *)f->map + pa, pb - pa, MADV_DONTNEED);
        }
        count -= take;
        first = 0;
    }
}

void sd_set_close(sd_set_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        sd_file_close(&s->files[i]);
    free(s->files);
    memset(s, 0, sizeof *s);
}
