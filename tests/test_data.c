/* SPDX-License-Identifier: MIT */
/* The examples' data helpers (examples/common): IDX and npm-digits loaders
 * against malformed and hostile input, the fixed-seed split, E1's goodness
 * score on a case worked out by hand, the PNG writer's round trip, and E3's
 * patches: sampling, UFLDL's normalisation, the 1/f whitening filter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "common/cifar.h"
#include "common/digits.h"
#include "common/fileio.h"
#include "common/goodness.h"
#include "common/idx.h"
#include "common/patches.h"
#include "common/gray_patches.h"
#include "common/png.h"
#include "common/probe.h"
#include "common/rng.h"
#include "common/split.h"
#include "common/whiten.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------ */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* An image file of n images rows x cols whose pixel i holds i % 256. The
 * caller frees it. */
static uint8_t *make_images(uint32_t n, uint32_t rows, uint32_t cols, size_t *len)
{
    size_t payload = (size_t)n * rows * cols;
    uint8_t *b = malloc(16 + payload);
    assert_non_null(b);
    put_be32(b, EX_IDX_MAGIC_IMAGES);
    put_be32(b + 4, n);
    put_be32(b + 8, rows);
    put_be32(b + 12, cols);
    for (size_t i = 0; i < payload; i++)
        b[16 + i] = (uint8_t)(i % 256);
    *len = 16 + payload;
    return b;
}

static uint8_t *make_labels(uint32_t n, size_t *len)
{
    uint8_t *b = malloc(8 + n);
    assert_non_null(b);
    put_be32(b, EX_IDX_MAGIC_LABELS);
    put_be32(b + 4, n);
    for (uint32_t i = 0; i < n; i++)
        b[8 + i] = (uint8_t)(i % 10);
    *len = 8 + n;
    return b;
}

static void write_gz(const char *path, const uint8_t *data, size_t len)
{
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, data, (unsigned)len), (int)len);
    assert_int_equal(gzclose(gz), Z_OK);
}

static void write_plain(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Removes every file in dir, then dir (the tests make no sub-folders). */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[1024];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static char *new_tmpdir(void)
{
    const char *t = tu_tmpdir();
    char *copy = malloc(strlen(t) + 1);
    assert_non_null(copy);
    strcpy(copy, t);
    return copy;
}

/* ---- IDX, in memory ----------------------------------------------------- */

static void test_idx_images_ok(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = make_images(3, 2, 5, &len);
    ex_dataset d;
    assert_int_equal(ex_idx_parse_images(b, len, &d), EX_OK);
    assert_int_equal(d.rows, 3);
    assert_int_equal(d.height, 2);
    assert_int_equal(d.width, 5);
    assert_int_equal(d.dim, 10);
    assert_null(d.labels);
    for (size_t i = 0; i < 30; i++)
        assert_float_equal(d.x[i], (float)(i % 256) / 255.0f, 1e-7);
    ex_dataset_free(&d);
    free(b);
}

static void test_idx_bad_magic(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = make_images(2, 2, 2, &len);
    ex_dataset d;
    b[3] = 0x01; /* a label file's magic on an image file */
    assert_int_equal(ex_idx_parse_images(b, len, &d), EX_ERR_MAGIC);
    assert_null(d.x);
    b[3] = 0x03;
    b[2] = 0x09; /* signed-byte data: not what MNIST holds */
    assert_int_equal(ex_idx_parse_images(b, len, &d), EX_ERR_MAGIC);
    uint8_t *labels = (uint8_t *)1;
    size_t count = 7;
    b[2] = 0x08;
    assert_int_equal(ex_idx_parse_labels(b, len, &labels, &count), EX_ERR_MAGIC);
    assert_null(labels);
    assert_int_equal(count, 0);
    free(b);
}

static void test_idx_truncated(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = make_images(4, 3, 3, &len);
    ex_dataset d;
    /* Cut inside the magic, inside the header, and inside the data. */
    assert_int_equal(ex_idx_parse_images(b, 0, &d), EX_ERR_TRUNCATED);
    assert_int_equal(ex_idx_parse_images(b, 3, &d), EX_ERR_TRUNCATED);
    assert_int_equal(ex_idx_parse_images(b, 15, &d), EX_ERR_TRUNCATED);
    assert_int_equal(ex_idx_parse_images(b, 16, &d), EX_ERR_TRUNCATED);
    assert_int_equal(ex_idx_parse_images(b, len - 1, &d), EX_ERR_TRUNCATED);
    assert_int_equal(ex_idx_parse_images(b, len, &d), EX_OK);
    ex_dataset_free(&d);
    free(b);

    uint8_t *l = make_labels(5, &len);
    uint8_t *labels;
    size_t count;
    assert_int_equal(ex_idx_parse_labels(l, 7, &labels, &count), EX_ERR_TRUNCATED);
    assert_int_equal(ex_idx_parse_labels(l, len - 1, &labels, &count), EX_ERR_TRUNCATED);
    assert_int_equal(ex_idx_parse_labels(l, len, &labels, &count), EX_OK);
    assert_int_equal(count, 5);
    assert_int_equal(labels[4], 4);
    free(labels);
    free(l);
}

static void test_idx_dimensions(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = make_images(2, 2, 2, &len);
    ex_dataset d;

    /* Every dimension at 2^32 - 1: the product overflows 64 bits. */
    put_be32(b + 4, 0xffffffffu);
    put_be32(b + 8, 0xffffffffu);
    put_be32(b + 12, 0xffffffffu);
    assert_int_equal(ex_idx_parse_images(b, len, &d), EX_ERR_DIMENSION);

    /* A product that wraps around to exactly the 8 bytes present must not
     * pass for a match: 1380655685 * 3340214413 = 2^62 + 1, so times 8 it
     * is 2^65 + 8, which is 8 modulo 2^64. */
    put_be32(b + 4, 1380655685u);
    put_be32(b + 8, 3340214413u);
    put_be32(b + 12, 8);
    assert_int_equal(ex_idx_parse_images(b, len, &d), EX_ERR_DIMENSION);

    /* A huge but representable size with 8 bytes of data: refused before
     * any allocation (the test would run out of memory otherwise). */
    put_be32(b + 4, 0x7fffffffu);
    put_be32(b + 8, 0xffffu);
    put_be32(b + 12, 0xffu);
    assert_int_equal(ex_idx_parse_images(b, len, &d), EX_ERR_TRUNCATED);

    /* Representable in 64 bits, but not as floats in memory. */
    put_be32(b + 12, 0xffffu);
    assert_int_equal(ex_idx_parse_images(b, len, &d), EX_ERR_DIMENSION);

    /* A zero dimension. */
    put_be32(b + 4, 2);
    put_be32(b + 8, 0);
    put_be32(b + 12, 2);
    assert_int_equal(ex_idx_parse_images(b, len, &d), EX_ERR_DIMENSION);

    /* More data than the header announces. */
    put_be32(b + 4, 1);
    put_be32(b + 8, 2);
    put_be32(b + 12, 2);
    assert_int_equal(ex_idx_parse_images(b, len, &d), EX_ERR_DIMENSION);
    assert_null(d.x);
    free(b);
}

/* ---- IDX, from files ---------------------------------------------------- */

static void test_idx_files(void **state)
{
    (void)state;
    char *dir = new_tmpdir();
    char ip[512], lp[512], plain[512];
    size_t ilen, llen;
    uint8_t *img = make_images(6, 28, 28, &ilen);
    uint8_t *lab = make_labels(6, &llen);
    snprintf(ip, sizeof ip, "%s/train-images-idx3-ubyte.gz", dir);
    snprintf(lp, sizeof lp, "%s/train-labels-idx1-ubyte", dir);
    write_gz(ip, img, ilen);
    write_plain(lp, lab, llen);

    /* ex_idx_find prefers the plain name, falls back to .gz. */
    char found[512];
    assert_true(ex_idx_find(dir, "train-images-idx3-ubyte", found, sizeof found));
    assert_string_equal(found, ip);
    assert_true(ex_idx_find(dir, "train-labels-idx1-ubyte", found, sizeof found));
    assert_string_equal(found, lp);
    assert_false(ex_idx_find(dir, "t10k-images-idx3-ubyte", found, sizeof found));

    ex_dataset d;
    assert_int_equal(ex_idx_load(ip, lp, &d), EX_OK);
    assert_int_equal(d.rows, 6);
    assert_int_equal(d.dim, 784);
    assert_int_equal(d.labels[5], 5);
    assert_float_equal(d.x[784 * 5 + 3], (float)((784 * 5 + 3) % 256) / 255.0f, 1e-7);
    ex_dataset_free(&d);

    /* A label file for 5 images against 6 images. */
    free(lab);
    lab = make_labels(5, &llen);
    write_plain(lp, lab, llen);
    assert_int_equal(ex_idx_load(ip, lp, &d), EX_ERR_DIMENSION);
    assert_null(d.x);

    /* A gzip stream cut short. */
    uint8_t *gz = NULL;
    size_t gzlen = 0;
    assert_int_equal(ex_read_file(ip, 1 << 20, &gz, &gzlen), EX_OK);
    snprintf(plain, sizeof plain, "%s/cut.gz", dir);
    write_plain(plain, gz, gzlen / 2);
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(ex_idx_read_file(plain, EX_IDX_MAX_BYTES, &buf, &len), EX_ERR_TRUNCATED);
    assert_null(buf);
    free(gz);

    /* More decompressed data than the cap. */
    assert_int_equal(ex_idx_read_file(ip, 100, &buf, &len), EX_ERR_TOO_BIG);
    assert_null(buf);

    /* A missing file. */
    snprintf(plain, sizeof plain, "%s/missing", dir);
    assert_int_equal(ex_idx_load(plain, lp, &d), EX_ERR_IO);

    free(img);
    free(lab);
    remove_dir(dir);
    free(dir);
}

/* ---- npm digits JSON ---------------------------------------------------- */

/* {"data":[v, v, ... ]} with count values, all equal to v except the
 * value at index odd_at, which is odd. */
static char *digits_json(size_t count, const char *v, size_t odd_at, const char *odd)
{
    size_t cap = 32 + count * (strlen(v) + strlen(odd) + 2);
    char *s = malloc(cap);
    assert_non_null(s);
    size_t n = (size_t)snprintf(s, cap, "{\"data\":[");
    for (size_t i = 0; i < count; i++)
        n += (size_t)snprintf(s + n, cap - n, "%s%s", i ? "," : "", i == odd_at ? odd : v);
    snprintf(s + n, cap - n, "]}");
    return s;
}

static ex_status parse(const char *text, ex_dataset *d)
{
    return ex_digits_parse_json(text, strlen(text), 3, d);
}

static void test_digits_json(void **state)
{
    (void)state;
    ex_dataset d;
    char *ok = digits_json(2 * 784, "0.5", 100, "1");
    assert_int_equal(parse(ok, &d), EX_OK);
    assert_int_equal(d.rows, 2);
    assert_int_equal(d.dim, 784);
    assert_int_equal(d.width, 28);
    assert_int_equal(d.labels[0], 3);
    assert_int_equal(d.labels[1], 3);
    assert_float_equal(d.x[100], 1.0f, 0);
    assert_float_equal(d.x[101], 0.5f, 0);
    ex_dataset_free(&d);
    free(ok);

    /* Malformed or wrongly shaped JSON. */
    assert_int_equal(parse("{\"data\":[0,1", &d), EX_ERR_JSON);
    assert_int_equal(parse("", &d), EX_ERR_JSON);
    assert_int_equal(parse("[0,1]", &d), EX_ERR_JSON);
    assert_int_equal(parse("{\"pixels\":[0,1]}", &d), EX_ERR_JSON);
    assert_int_equal(parse("{\"data\":{\"a\":1}}", &d), EX_ERR_JSON);
    char *str = digits_json(784, "0", 5, "\"0.5\"");
    assert_int_equal(parse(str, &d), EX_ERR_JSON);
    free(str);

    /* Counts that are not whole digits. */
    assert_int_equal(parse("{\"data\":[]}", &d), EX_ERR_COUNT);
    char *short_ = digits_json(783, "0", 0, "0");
    assert_int_equal(parse(short_, &d), EX_ERR_COUNT);
    free(short_);
    char *long_ = digits_json(785, "0", 0, "0");
    assert_int_equal(parse(long_, &d), EX_ERR_COUNT);
    free(long_);

    /* Values outside [0,1]. */
    char *hi = digits_json(784, "0", 783, "1.0001");
    assert_int_equal(parse(hi, &d), EX_ERR_RANGE);
    free(hi);
    char *lo = digits_json(784, "0", 0, "-0.1");
    assert_int_equal(parse(lo, &d), EX_ERR_RANGE);
    free(lo);
    char *huge = digits_json(784, "0", 9, "1e999");
    assert_int_equal(parse(huge, &d), EX_ERR_RANGE);
    free(huge);
    assert_null(d.x);
}

static void test_digits_dir(void **state)
{
    (void)state;
    char *dir = new_tmpdir();
    char path[512];
    for (int k = 0; k < 10; k++) {
        /* k + 1 digits of class k, each filled with k / 10. */
        char v[8];
        snprintf(v, sizeof v, "0.%d", k);
        char *s = digits_json((size_t)(k + 1) * 784, v, 0, v);
        snprintf(path, sizeof path, "%s/%d.json", dir, k);
        write_plain(path, s, strlen(s));
        free(s);
    }
    ex_dataset d;
    assert_int_equal(ex_digits_load_dir(dir, &d), EX_OK);
    assert_int_equal(d.rows, 55);
    size_t r = 0;
    for (int k = 0; k < 10; k++) {
        for (int i = 0; i <= k; i++, r++) {
            assert_int_equal(d.labels[r], k);
            assert_float_equal(d.x[r * 784 + 400], (float)k / 10.0f, 1e-6);
        }
    }
    ex_dataset_free(&d);

    /* One bad file spoils the set, with its own error. */
    snprintf(path, sizeof path, "%s/7.json", dir);
    write_plain(path, "{\"data\":[0.5,", 13);
    assert_int_equal(ex_digits_load_dir(dir, &d), EX_ERR_JSON);
    assert_non_null(strstr(ex_error_detail(), "7.json"));
    unlink(path);
    assert_int_equal(ex_digits_load_dir(dir, &d), EX_ERR_IO);
    remove_dir(dir);
    free(dir);
}

/* ---- split -------------------------------------------------------------- */

static void test_permutation(void **state)
{
    (void)state;
    enum { N = 1000 };
    size_t a[N], b[N], c[N];
    unsigned char seen[N];
    ex_permutation(a, N, 42);
    ex_permutation(b, N, 42);
    ex_permutation(c, N, 43);
    memset(seen, 0, sizeof seen);
    size_t moved = 0, differ = 0;
    for (size_t i = 0; i < N; i++) {
        assert_true(a[i] < N);
        assert_int_equal(seen[a[i]], 0);
        seen[a[i]] = 1;
        assert_int_equal(a[i], b[i]);
        moved += a[i] != i;
        differ += a[i] != c[i];
    }
    /* A shuffle that leaves most rows in place, or ignores the seed, is
     * not a shuffle. */
    assert_true(moved > N / 2);
    assert_true(differ > N / 2);
}

static void test_split3(void **state)
{
    (void)state;
    enum { N = 100, DIM = 2 };
    ex_dataset all = {0};
    all.rows = N;
    all.dim = DIM;
    all.x = malloc(N * DIM * sizeof *all.x);
    all.labels = malloc(N);
    assert_non_null(all.x);
    assert_non_null(all.labels);
    for (size_t i = 0; i < N; i++) {
        all.x[i * DIM] = (float)i; /* the row remembers where it came from */
        all.x[i * DIM + 1] = -(float)i;
        all.labels[i] = (uint8_t)(i % 10);
    }
    ex_dataset tr, va, te;
    assert_int_equal(ex_split3(&all, 7, 70, 20, 10, &tr, &va, &te), EX_OK);
    assert_int_equal(tr.rows, 70);
    assert_int_equal(va.rows, 20);
    assert_int_equal(te.rows, 10);
    unsigned char seen[N];
    memset(seen, 0, sizeof seen);
    const ex_dataset *parts[3] = {&tr, &va, &te};
    for (int p = 0; p < 3; p++) {
        for (size_t r = 0; r < parts[p]->rows; r++) {
            size_t orig = (size_t)parts[p]->x[r * DIM];
            assert_true(orig < N);
            assert_int_equal(seen[orig], 0);
            seen[orig] = 1;
            assert_float_equal(parts[p]->x[r * DIM + 1], -(float)orig, 0);
            assert_int_equal(parts[p]->labels[r], orig % 10);
        }
    }
    for (size_t i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    ex_dataset_free(&tr);
    ex_dataset_free(&va);
    ex_dataset_free(&te);

    assert_int_equal(ex_split3(&all, 7, 70, 20, 11, &tr, &va, &te), EX_ERR_ARG);
    assert_null(tr.x);
    ex_dataset_free(&all);
}

/* ---- goodness ----------------------------------------------------------- */

/* Four 3-bit codes in two classes:
 *   a = 100, b = 110 (class 0);  c = 001, d = 011 (class 1).
 * L1 distances: ab = 1, cd = 1, ac = 2, ad = 3, bc = 3, bd = 2.
 * Over ordered pairs i != j, every unordered pair counts twice:
 *   within  = 2 * (1 + 1)         = 4
 *   between = 2 * (2 + 3 + 3 + 2) = 20
 *   score   = (20 / 10) / 4       = 0.5 */
static void test_goodness_by_hand(void **state)
{
    (void)state;
    const uint8_t codes[4 * 3] = {1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 1};
    const uint8_t labels[4] = {0, 0, 1, 1};
    double dist[16];
    ex_l1_matrix_u8(codes, 4, 3, dist);
    const double expect[16] = {0, 1, 2, 3, 1, 0, 3, 2, 2, 3, 0, 1, 3, 2, 1, 0};
    for (int i = 0; i < 16; i++)
        assert_float_equal(dist[i], expect[i], 0);
    assert_float_equal(ex_goodness_score(dist, labels, 4), 0.5, 1e-15);

    /* The float version agrees on the same points. */
    float fcodes[12];
    for (int i = 0; i < 12; i++)
        fcodes[i] = codes[i];
    double fdist[16];
    ex_l1_matrix_f32(fcodes, 4, 3, fdist);
    for (int i = 0; i < 16; i++)
        assert_float_equal(fdist[i], expect[i], 0);

    /* Labels in a different order: rows need not be grouped by class. */
    const uint8_t mixed[4] = {0, 1, 0, 1};
    /* within: ac = 2, bd = 2 -> 8; between: ab, ad, bc, cd = 1+3+3+1 -> 16 */
    assert_float_equal(ex_goodness_score(dist, mixed, 4), (16.0 / 10.0) / 8.0, 1e-15);

    /* No same-class pair: undefined. */
    const uint8_t distinct[4] = {0, 1, 2, 3};
    assert_true(isnan(ex_goodness_score(dist, distinct, 4)));
}

/* ---- PNG ---------------------------------------------------------------- */

static void round_trip(const char *dir, int channels, size_t w, size_t h)
{
    char path[512];
    snprintf(path, sizeof path, "%s/rt%d.png", dir, channels);
    size_t n = w * h * (size_t)channels;
    uint8_t *pix = malloc(n);
    assert_non_null(pix);
    for (size_t i = 0; i < n; i++)
        pix[i] = (uint8_t)((i * 37 + 11) % 256);
    assert_int_equal(ex_png_write(path, pix, w, h, channels), EX_OK);
    uint8_t *back = NULL;
    size_t bw = 0, bh = 0;
    int bc = 0;
    assert_int_equal(ex_png_read(path, &back, &bw, &bh, &bc), EX_OK);
    assert_int_equal(bw, w);
    assert_int_equal(bh, h);
    assert_int_equal(bc, channels);
    assert_memory_equal(back, pix, n);
    free(back);
    free(pix);
}

static void test_png_round_trip(void **state)
{
    (void)state;
    char *dir = new_tmpdir();
    round_trip(dir, 1, 7, 5);
    round_trip(dir, 3, 6, 4);
    round_trip(dir, 1, 1, 1);

    /* An indexed file reads back as the RGB colours its palette names. */
    {
        const uint8_t palette[3 * 3] = {255, 0, 0, 0, 128, 255, 7, 7, 7};
        const uint8_t idx[4 * 2] = {0, 1, 2, 1, 2, 0, 0, 1};
        char ipath[512];
        snprintf(ipath, sizeof ipath, "%s/rt3.png", dir); /* replaces the RGB one */
        assert_int_equal(ex_png_write_indexed(ipath, idx, 4, 2, palette, 3), EX_OK);
        uint8_t *back = NULL;
        size_t bw, bh;
        int bc;
        assert_int_equal(ex_png_read(ipath, &back, &bw, &bh, &bc), EX_OK);
        assert_int_equal(bc, 3);
        assert_int_equal(bw * bh, 8);
        for (size_t i = 0; i < 8; i++)
            assert_memory_equal(back + 3 * i, palette + 3 * idx[i], 3);
        free(back);
        assert_int_equal(ex_png_write_indexed(ipath, idx, 4, 2, palette, 2), EX_ERR_ARG);
    }

    /* The atomic writer leaves nothing but the two files behind. */
    DIR *d = opendir(dir);
    assert_non_null(d);
    int files = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            files++;
    closedir(d);
    assert_int_equal(files, 2);

    /* Not a PNG, and bad arguments. */
    char path[512];
    snprintf(path, sizeof path, "%s/fake.png", dir);
    write_plain(path, "GIF89a not a png", 16);
    uint8_t *pix = NULL;
    size_t w, h;
    int c;
    assert_int_equal(ex_png_read(path, &pix, &w, &h, &c), EX_ERR_FORMAT);
    assert_null(pix);
    uint8_t one = 0;
    assert_int_equal(ex_png_write(path, &one, 1, 1, 2), EX_ERR_ARG);
    assert_int_equal(ex_png_write(path, &one, 0, 1, 1), EX_ERR_ARG);
    snprintf(path, sizeof path, "%s/no/such/folder.png", dir);
    assert_int_equal(ex_png_write(path, &one, 1, 1, 1), EX_ERR_IO);
    remove_dir(dir);
    free(dir);
}

/* ---- E3's patches ------------------------------------------------------- */

/* Every patch is a block of the picture: with v = r * W + c, a patch's
 * first value gives its position and fixes every other value. */
static void test_patches_sample(void **state)
{
    (void)state;
    enum { W = 13, H = 9, S = 4, N = 50 };
    float v[W * H], a[N * S * S], b[N * S * S];
    for (int i = 0; i < W * H; i++)
        v[i] = (float)i;
    ex_gray_image img = {v, W, H};
    assert_int_equal(ex_gray_patches_sample(&img, 1, S, N, 5, a), EX_OK);
    assert_int_equal(ex_gray_patches_sample(&img, 1, S, N, 5, b), EX_OK);
    assert_memory_equal(a, b, sizeof a); /* the seed fixes the draw */
    for (int p = 0; p < N; p++) {
        int r0 = (int)a[p * S * S] / W, c0 = (int)a[p * S * S] % W;
        assert_true(r0 <= H - S && c0 <= W - S);
        for (int r = 0; r < S; r++)
            for (int c = 0; c < S; c++)
                assert_true(a[p * S * S + r * S + c] == (float)((r0 + r) * W + c0 + c));
    }
    ex_gray_image tiny = {v, 3, 3};
    assert_int_equal(ex_gray_patches_sample(&tiny, 1, S, N, 5, a), EX_ERR_DIMENSION);
}

/* Rows lose their mean, the values go into [0.1, 0.9] with 0 at 0.5, and
 * +-3 standard deviations reach the ends. */
static void test_patches_normalize(void **state)
{
    (void)state;
    enum { R = 200, D = 16 };
    float *x = malloc(R * D * sizeof *x);
    assert_non_null(x);
    tu_fill_uniform(x, R * D, -5.0f, 5.0f, 3);
    for (int i = 0; i < D; i++)
        x[i] = 2.0f; /* a flat row: all at 0.5 */
    x[D] = 1000.0f;  /* an outlier: clipped to 0.9 */
    ex_patches_normalize_ufldl(x, R, D);
    for (int i = 0; i < R * D; i++)
        assert_true(x[i] >= 0.1f - 1e-6f && x[i] <= 0.9f + 1e-6f);
    for (int i = 0; i < D; i++)
        assert_true(fabsf(x[i] - 0.5f) < 1e-6f);
    assert_true(fabsf(x[D] - 0.9f) < 1e-6f);
    /* Uniform values (std 10/sqrt(12)) stay inside 3 std: a row mean of
     * the unclipped rows stays 0.5. */
    double m = 0.0;
    for (int i = 5 * D; i < 6 * D; i++)
        m += x[i];
    assert_true(fabs(m / D - 0.5) < 1e-5);
    free(x);
}

static void test_crop_pow2(void **state)
{
    (void)state;
    float v[10 * 7];
    for (int i = 0; i < 70; i++)
        v[i] = (float)i;
    ex_gray_image in = {v, 10, 7}, out;
    assert_int_equal(ex_gray_image_crop_pow2(&in, 512, &out), EX_OK);
    assert_int_equal(out.width, 4);
    assert_int_equal(out.height, 4);
    assert_true(out.v[0] == (float)(1 * 10 + 3)); /* rows 1..4, columns 3..6 */
    ex_gray_image_free(&out);
    assert_int_equal(ex_gray_image_crop_pow2(&in, 2, &out), EX_OK);
    assert_int_equal(out.width, 2);
    ex_gray_image_free(&out);
}

/* A picture of two cosines, at 2 and 12 cycles per picture: the filter
 * keeps their ratio as |f| exp(-(|f| / (0.4 N))^4) says, removes the mean,
 * and the result has variance 0.1. */
static void test_whiten_1f(void **state)
{
    (void)state;
    enum { N = 32 };
    float v[N * N];
    for (int r = 0; r < N; r++)
        for (int c = 0; c < N; c++)
            v[r * N + c] = (float)(3.0 + cos(2 * M_PI * 2 * c / N) + cos(2 * M_PI * 12 * r / N));
    ex_gray_image img = {v, N, N};
    assert_int_equal(ex_whiten_1f(&img, 1), EX_OK);
    double a2 = 0.0, a12 = 0.0, mean = 0.0, var = 0.0;
    for (int r = 0; r < N; r++)
        for (int c = 0; c < N; c++) {
            double x = v[r * N + c];
            a2 += x * cos(2 * M_PI * 2 * c / N);
            a12 += x * cos(2 * M_PI * 12 * r / N);
            mean += x;
            var += x * x;
        }
    mean /= N * N;
    var = var / (N * N) - mean * mean;
    double f0 = 0.4 * N, g2 = 2 * exp(-pow(2 / f0, 4)), g12 = 12 * exp(-pow(12 / f0, 4));
    assert_true(fabs(mean) < 1e-6);
    assert_true(fabs(var - 0.1) < 1e-6);
    assert_true(fabs(a12 / a2 - g12 / g2) < 1e-4 * (g12 / g2));
    ex_gray_image odd = {v, 12, 12};
    assert_int_equal(ex_whiten_1f(&odd, 1), EX_ERR_ARG);
}

/* ---- E4's CIFAR-10 batches and colour patches --------------------------- */

/* Records of a label and three 32x32 planes become interleaved RGB pixels;
 * a length that is not a whole number of records, or a label above 9, is
 * refused without touching the set. */
static void test_cifar_parse(void **state)
{
    (void)state;
    enum { REC = EX_CIFAR_RECORD, PLANE = 1024 };
    uint8_t *buf = calloc(2 * REC, 1);
    assert_non_null(buf);
    for (int r = 0; r < 2; r++) {
        buf[r * REC] = (uint8_t)(3 + 4 * r);
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < PLANE; p++)
                buf[r * REC + 1 + c * PLANE + p] = (uint8_t)(p * 7 + c * 50 + r);
    }
    ex_cifar set = {0};
    assert_int_equal(ex_cifar_parse(buf, 2 * REC, &set), EX_OK);
    assert_int_equal(set.n, 2);
    assert_int_equal(set.labels[0], 3);
    assert_int_equal(set.labels[1], 7);
    for (int r = 0; r < 2; r++)
        for (int p = 0; p < PLANE; p++)
            for (int c = 0; c < 3; c++)
                assert_int_equal(set.rgb[(r * PLANE + p) * 3 + c], (uint8_t)(p * 7 + c * 50 + r));
    assert_int_equal(ex_cifar_parse(buf, 2 * REC - 1, &set), EX_ERR_FORMAT);
    assert_int_equal(ex_cifar_parse(buf, 0, &set), EX_ERR_FORMAT);
    buf[REC] = 10;
    assert_int_equal(ex_cifar_parse(buf, 2 * REC, &set), EX_ERR_FORMAT);
    assert_int_equal(set.n, 2);
    ex_cifar_free(&set);
    free(buf);
}

/* A patch is the block of pixels at its position, channel by channel, each
 * byte / 256; pooled draws stay inside their regions. */
static void test_colour_patches(void **state)
{
    (void)state;
    enum { W = 10, H = 8, S = 3, N = 200 };
    uint8_t px[W * H * 3];
    for (int i = 0; i < W * H * 3; i++)
        px[i] = (uint8_t)i;
    ex_region whole = {px, W, W, H};
    assert_int_equal(ex_patch_positions(&whole, S), (W - S + 1) * (H - S + 1));
    float out[N * S * S * 3];
    ex_patch_copy(&whole, S, 2, 4, out);
    for (int i = 0; i < S; i++)
        for (int k = 0; k < S * 3; k++)
            assert_true(out[i * S * 3 + k] == (float)(((2 + i) * W + 4) * 3 + k) / 256.0f);
    /* Two regions: the left 4 columns and the bottom-right 5x3 corner. */
    ex_region regs[2] = {{px, W, 4, H}, {px + (5 * W + 5) * 3, W, 5, 3}};
    assert_int_equal(ex_patch_positions(&regs[1], S), 3);
    ex_rng rng;
    ex_rng_seed(&rng, 2);
    ex_patches_pooled(regs, 2, S, N, &rng, out);
    int in_second = 0;
    for (int p = 0; p < N; p++) {
        int first = (int)lrintf(out[p * S * S * 3] * 256.0f) / 3;
        int r0 = first / W, c0 = first % W;
        int left = c0 + S <= 4, corner = r0 >= 5 && c0 >= 5;
        assert_true(left || corner);
        in_second += corner;
    }
    /* 3 of 15 positions are in the corner: about 40 of 200 draws. */
    assert_true(in_second > 15 && in_second < 70);
}

/* ---- E5's linear probe (common/probe.c) --------------------------------- */

/* One SGD step worked out by hand: x = 0 and 2 (standardised to -1 and +1),
 * labels 0 and 1, W = b = 0, so both rows have p = (1/2, 1/2); the batch
 * gradient of W is ((-1/2)(-1) + (1/2)(1), (1/2)(-1) + (-1/2)(1)) / 2 =
 * (1/2, -1/2) and of b 0, and with lr 1 W becomes (-1/2, 1/2). Then each row
 * has logits (1/2, -1/2) towards its class: loss log(1 + e^-1). */
static void test_probe_by_hand(void **state)
{
    (void)state;
    const float x[2] = {0.0f, 2.0f};
    const uint8_t y[2] = {0, 1};
    ex_probe_opts o = {1, 2, 1.0, 0.0, 7};
    ex_probe p;
    assert_int_equal(ex_probe_train(&p, x, y, 2, 1, 2, &o), EX_OK);
    assert_float_equal(p.mean[0], 1.0f, 1e-7f);
    assert_float_equal(p.scale[0], 1.0f, 1e-7f);
    assert_float_equal(p.w[0], -0.5f, 1e-7f);
    assert_float_equal(p.w[1], 0.5f, 1e-7f);
    assert_float_equal(p.b[0], 0.0f, 1e-7f);
    assert_float_equal(p.b[1], 0.0f, 1e-7f);
    assert_true(fabs(p.train_loss - log1p(exp(-1.0))) < 1e-6);
    assert_true(fabs(ex_probe_loss(&p, x, y, 2) - log1p(exp(-1.0))) < 1e-6);
    assert_true(ex_probe_accuracy(&p, x, y, 2) == 1.0);
    ex_probe_free(&p);
    assert_null(p.w);
    ex_probe_free(NULL);
}

/* Three Gaussian classes in 6 dimensions (means 3 apart along the first
 * three axes, unit noise; a constant feature and one of scale 1000 added).
 * The probe separates them on held-out rows, training is deterministic,
 * and a common affine change of every feature changes no prediction. */
#define PROBE_DIM 6
static void probe_blobs(size_t rows, uint64_t seed, float *x, uint8_t *y)
{
    ex_rng rng;
    ex_rng_seed(&rng, seed);
    for (size_t r = 0; r < rows; r++) {
        y[r] = (uint8_t)ex_rng_below(&rng, 3);
        for (size_t k = 0; k < PROBE_DIM; k++) {
            /* Irwin-Hall: the sum of 12 uniforms minus 6 is about N(0, 1). */
            double g = -6.0;
            for (int i = 0; i < 12; i++)
                g += ex_rng_uniform(&rng);
            x[r * PROBE_DIM + k] = (float)(k < 3 ? (k == y[r] ? 3.0 : 0.0) + g : g);
        }
        x[r * PROBE_DIM + 3] = 5.0f;     /* constant */
        x[r * PROBE_DIM + 4] *= 1000.0f; /* noise at another scale */
    }
}

static void test_probe_blobs(void **state)
{
    (void)state;
    enum { TRAIN = 600, TEST = 300 };
    float *x = malloc(TRAIN * PROBE_DIM * sizeof *x), *t = malloc(TEST * PROBE_DIM * sizeof *t);
    float *x2 = malloc(TRAIN * PROBE_DIM * sizeof *x2), *t2 = malloc(TEST * PROBE_DIM * sizeof *t2);
    uint8_t y[TRAIN], yt[TEST], pa[TEST], pb[TEST];
    assert_non_null(x);
    assert_non_null(t);
    assert_non_null(x2);
    assert_non_null(t2);
    probe_blobs(TRAIN, 1, x, y);
    probe_blobs(TEST, 2, t, yt);
    ex_probe_opts o = ex_probe_defaults(3);
    o.epochs = 50;
    ex_probe a, b;
    assert_int_equal(ex_probe_train(&a, x, y, TRAIN, PROBE_DIM, 3, &o), EX_OK);
    /* The best accuracy for these means is about 0.97 (pairs of means
     * 4.24 apart: 1.7% confused per pair); a linear probe nears it. */
    double acc = ex_probe_accuracy(&a, t, yt, TEST);
    assert_true(acc > 0.93);
    assert_true(a.train_loss < 0.25); /* from log 3 = 1.10 at W = 0 */
    /* The constant feature standardises to 0 and its weights stay 0. */
    assert_float_equal(a.mean[3], 5.0f, 1e-6f);
    for (size_t c = 0; c < 3; c++)
        assert_true(a.w[c * PROBE_DIM + 3] == 0.0f);
    /* Same seed, same weights. */
    assert_int_equal(ex_probe_train(&b, x, y, TRAIN, PROBE_DIM, 3, &o), EX_OK);
    assert_memory_equal(a.w, b.w, 3 * PROBE_DIM * sizeof *a.w);
    ex_probe_free(&b);
    /* Every feature times 4 plus 1: the standardised features, and so every
     * prediction, stay the same. */
    for (size_t i = 0; i < TRAIN * PROBE_DIM; i++)
        x2[i] = 4.0f * x[i] + 1.0f;
    for (size_t i = 0; i < TEST * PROBE_DIM; i++)
        t2[i] = 4.0f * t[i] + 1.0f;
    assert_int_equal(ex_probe_train(&b, x2, y, TRAIN, PROBE_DIM, 3, &o), EX_OK);
    ex_probe_predict(&a, t, TEST, pa);
    ex_probe_predict(&b, t2, TEST, pb);
    size_t same = 0;
    for (size_t r = 0; r < TEST; r++)
        same += pa[r] == pb[r];
    assert_true(same >= TEST - 1); /* float rounding may move one near-tie */
    ex_probe_free(&a);
    ex_probe_free(&b);
    free(x);
    free(t);
    free(x2);
    free(t2);
}

static void test_probe_refuses(void **state)
{
    (void)state;
    const float x[4] = {0.0f, 1.0f, 2.0f, 3.0f};
    const uint8_t y[4] = {0, 1, 0, 1}, bad[4] = {0, 1, 2, 1};
    ex_probe_opts o = ex_probe_defaults(1);
    ex_probe p;
    assert_int_equal(ex_probe_train(&p, x, bad, 4, 1, 2, &o), EX_ERR_RANGE);
    assert_null(p.w);
    assert_int_equal(ex_probe_train(&p, x, y, 0, 1, 2, &o), EX_ERR_ARG);
    assert_int_equal(ex_probe_train(&p, x, y, 4, 0, 2, &o), EX_ERR_ARG);
    assert_int_equal(ex_probe_train(&p, x, y, 4, 1, 0, &o), EX_ERR_ARG);
    assert_int_equal(ex_probe_train(&p, NULL, y, 4, 1, 2, &o), EX_ERR_ARG);
    assert_int_equal(ex_probe_train(NULL, x, y, 4, 1, 2, &o), EX_ERR_ARG);
    ex_probe_opts z = o;
    z.lr = 0.0;
    assert_int_equal(ex_probe_train(&p, x, y, 4, 1, 2, &z), EX_ERR_ARG);
    z = o;
    z.epochs = 0;
    assert_int_equal(ex_probe_train(&p, x, y, 4, 1, 2, &z), EX_ERR_ARG);
    const float nan_x[4] = {0.0f, NAN, 2.0f, 3.0f};
    assert_int_equal(ex_probe_train(&p, nan_x, y, 4, 1, 2, &o), EX_ERR_RANGE);
    assert_true(ex_probe_accuracy(&p, x, y, 0) == 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idx_images_ok),
        cmocka_unit_test(test_idx_bad_magic),
        cmocka_unit_test(test_idx_truncated),
        cmocka_unit_test(test_idx_dimensions),
        cmocka_unit_test(test_idx_files),
        cmocka_unit_test(test_digits_json),
        cmocka_unit_test(test_digits_dir),
        cmocka_unit_test(test_permutation),
        cmocka_unit_test(test_split3),
        cmocka_unit_test(test_goodness_by_hand),
        cmocka_unit_test(test_png_round_trip),
        cmocka_unit_test(test_patches_sample),
        cmocka_unit_test(test_patches_normalize),
        cmocka_unit_test(test_crop_pow2),
        cmocka_unit_test(test_whiten_1f),
        cmocka_unit_test(test_cifar_parse),
        cmocka_unit_test(test_colour_patches),
        cmocka_unit_test(test_probe_by_hand),
        cmocka_unit_test(test_probe_blobs),
        cmocka_unit_test(test_probe_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
