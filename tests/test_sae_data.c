/* The sae tool's data readers (tools/sae/data): each format's good files
 * give the rows they hold, converted exactly; each bad header is refused
 * with a message, never read past; shards join in order.
 * SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "files.h"
#include "testutil.h"

/* An .npy file (version 1.0) with the given header dict and data. */
static size_t make_npy(uint8_t *out, const char *dict, const void *data, size_t n)
{
    char h[256];
    int len = snprintf(h, sizeof h, "%s", dict);
    while ((10 + len + 1) % 64)
        h[len++] = ' ';
    h[len++] = '\n';
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (uint8_t)(len & 0xff);
    out[9] = (uint8_t)(len >> 8);
    memcpy(out + 10, h, (size_t)len);
    memcpy(out + 10 + len, data, n);
    return 10 + (size_t)len + n;
}

static void expect_fail(int rc, const char *needle)
{
    assert_int_equal(rc, -1);
    if (!strstr(sd_errmsg(), needle))
        fail_msg("message '%s' lacks '%s'", sd_errmsg(), needle);
}

static void test_npy_f32(void **state)
{
    (void)state;
    float v[6] = {1, -2, 3.5f, 0, 1e-30f, -7};
    uint8_t buf[512];
    size_t n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", v,
                        sizeof v);
    sd_layout_t l;
    assert_int_equal(sd_parse_npy(buf, n, &l), 0);
    assert_int_equal(l.rows, 2);
    assert_int_equal(l.dim, 3);
    assert_int_equal(l.offset % 64, 0);
    float out[6];
    sd_convert(buf + l.offset, l.dtype, 6, 1, out);
    assert_memory_equal(out, v, sizeof v);
    /* N-D arrays are rows of their trailing dimensions. */
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3)}", v,
                 sizeof v);
    assert_int_equal(sd_parse_npy(buf, n, &l), 0);
    assert_int_equal(l.rows, 1);
    assert_int_equal(l.dim, 6);
}

static void test_npy_f16_u8(void **state)
{
    (void)state;
    /* 1, -2, the smallest subnormal, 65504, +inf, 0.333... */
    uint16_t h[6] = {0x3c00, 0xc000, 0x0001, 0x7bff, 0x7c00, 0x3555};
    uint8_t buf[512];
    size_t n = make_npy(buf, "{'descr': '<f2', 'fortran_order': False, 'shape': (3, 2), }", h,
                        sizeof h);
    sd_layout_t l;
    assert_int_equal(sd_parse_npy(buf, n, &l), 0);
    assert_int_equal(l.dtype, SD_F16);
    float out[6];
    sd_convert(buf + l.offset, l.dtype, 6, 1, out);
    assert_true(out[0] == 1.0f && out[1] == -2.0f && out[2] == ldexpf(1, -24));
    assert_true(out[3] == 65504.0f && isinf(out[4]) && out[5] == 0.333251953125f);
    uint8_t u[4] = {0, 51, 255, 128};
    n = make_npy(buf, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }", u, 4);
    assert_int_equal(sd_parse_npy(buf, n, &l), 0);
    sd_convert(buf + l.offset, l.dtype, 4, 255.0f, out);
    assert_true(out[0] == 0.0f && out[1] == 0.2f && out[2] == 1.0f);
    sd_convert(buf + l.offset, l.dtype, 4, 1.0f, out);
    assert_true(out[1] == 51.0f && out[3] == 128.0f);
    assert_true(sd_bf16_to_float(0x3f80) == 1.0f && sd_bf16_to_float(0xc040) == -3.0f);
}

static void test_npy_bad(void **state)
{
    (void)state;
    float v[6] = {0};
    uint8_t buf[512];
    sd_layout_t l;
    size_t n;
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", v, 24);
    expect_fail(sd_parse_npy(buf, n, &l), "Fortran");
    n = make_npy(buf, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", v, 24);
    expect_fail(sd_parse_npy(buf, n, &l), "'>f4'");
    n = make_npy(buf, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", v, 24);
    expect_fail(sd_parse_npy(buf, n, &l), "'<f8'");
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", v, 24);
    expect_fail(sd_parse_npy(buf, n, &l), "1-D");
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", v, 20);
    expect_fail(sd_parse_npy(buf, n, &l), "truncated");
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }", v, 24);
    expect_fail(sd_parse_npy(buf, n, &l), "follow");
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", v, 0);
    expect_fail(sd_parse_npy(buf, n, &l), "no data");
    /* A shape whose product wraps around 2^64 to a small number. */
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, "
                      "'shape': (1, 4294967296, 4294967296), }", v, 24);
    expect_fail(sd_parse_npy(buf, n, &l), "overflow");
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, "
                      "'shape': (99999999999999999999, 3), }", v, 24);
    expect_fail(sd_parse_npy(buf, n, &l), "overflow");
    n = make_npy(buf, "{'descr': '<f4', 'shape': (2, 3), }", v, 24);
    expect_fail(sd_parse_npy(buf, n, &l), "required");
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", v,
                 24);
    expect_fail(sd_parse_npy(buf, n, &l), "'x'");
    /* A header length past the end of the file. */
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", v, 24);
    buf[9] = 0x7f;
    expect_fail(sd_parse_npy(buf, n, &l), "header claims");
    expect_fail(sd_parse_npy((const uint8_t *)"\x93NUMP", 5, &l), "magic");
    buf[6] = 9;
    buf[9] = 0;
    expect_fail(sd_parse_npy(buf, n, &l), "version 9");
}

/* IDX images: 3 images of 2 x 2 bytes. */
static size_t make_idx(uint8_t *out, uint32_t count)
{
    const uint8_t h[16] = {0, 0, 8, 3, 0, 0, 0, (uint8_t)count, 0, 0, 0, 2, 0, 0, 0, 2};
    memcpy(out, h, 16);
    for (uint32_t i = 0; i < 12; i++)
        out[16 + i] = (uint8_t)(i * 20);
    return 28;
}

static size_t gzip_bytes(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
                     Z_OK);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t len = cap - z.avail_out;
    deflateEnd(&z);
    return len;
}

static void test_idx(void **state)
{
    (void)state;
    uint8_t buf[64], gz[256];
    size_t n = make_idx(buf, 3);
    sd_layout_t l;
    assert_int_equal(sd_parse_idx(buf, n, &l), 0);
    assert_true(l.rows == 3 && l.dim == 4 && l.offset == 16 && l.dtype == SD_U8);
    expect_fail(sd_parse_idx(buf, n - 1, &l), "truncated");
    make_idx(buf, 2);
    expect_fail(sd_parse_idx(buf, n, &l), "follow");
    make_idx(buf, 3);
    buf[2] = 0x0B;
    expect_fail(sd_parse_idx(buf, n, &l), "0x0b");
    buf[2] = 8;
    /* gzip: the same rows; a truncated stream, and more data than announced. */
    size_t g = gzip_bytes(buf, n, gz, sizeof gz);
    uint8_t *out;
    size_t out_len;
    assert_int_equal(sd_gunzip_idx(gz, g, &out, &out_len), 0);
    assert_int_equal(out_len, n);
    assert_memory_equal(out, buf, n);
    free(out);
    expect_fail(sd_gunzip_idx(gz, g - 12, &out, &out_len), "truncated");
    assert_null(out);
    make_idx(buf, 2);
    g = gzip_bytes(buf, n, gz, sizeof gz);
    expect_fail(sd_gunzip_idx(gz, g, &out, &out_len), "more data");
    /* A header claiming 2^32-1 images of 2^32-1 x 2^32-1 bytes: refused
     * without an allocation of that size. */
    const uint8_t huge[20] = {0, 0, 8, 3, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
                              255, 255, 1, 2, 3, 4};
    g = gzip_bytes(huge, 20, gz, sizeof gz);
    assert_int_equal(sd_gunzip_idx(gz, g, &out, &out_len), -1);
    expect_fail(sd_parse_idx(huge, 20, &l), "");
    expect_fail(sd_gunzip_idx((const uint8_t *)"\x1f\x8bxx", 4, &out, &out_len), "gzip");
}

/* A safetensors file with tensors "a" (F32 [2,3]) and "b" (BF16 [3,1]). */
static size_t make_st(uint8_t *out, const char *header, size_t data_len)
{
    size_t h = strlen(header);
    uint64_t hl = h;
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(hl >> (8 * i));
    memcpy(out + 8, header, h);
    for (size_t i = 0; i < data_len; i++)
        out[8 + h + i] = (uint8_t)i;
    return 8 + h + data_len;
}

static void test_safetensors(void **state)
{
    (void)state;
    uint8_t buf[512];
    const char *two = "{\"__metadata__\":{\"k\":\"v\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],"
                      "\"data_offsets\":[0,24]},\"b\":{\"dtype\":\"BF16\",\"shape\":[3,1],"
                      "\"data_offsets\":[24,30]}}";
    size_t n = make_st(buf, two, 30);
    sd_layout_t l;
    assert_int_equal(sd_parse_safetensors(buf, n, "b", &l), 0);
    assert_true(l.rows == 3 && l.dim == 1 && l.dtype == SD_BF16);
    assert_int_equal(l.offset, 8 + strlen(two) + 24);
    assert_int_equal(sd_parse_safetensors(buf, n, "a", &l), 0);
    assert_true(l.rows == 2 && l.dim == 3 && l.dtype == SD_F32);
    expect_fail(sd_parse_safetensors(buf, n, NULL, &l), "a, b");
    expect_fail(sd_parse_safetensors(buf, n, "c", &l), "no tensor 'c'");
    expect_fail(sd_parse_safetensors(buf, n, "__metadata__", &l), "no tensor");
    expect_fail(sd_parse_safetensors(buf, n - 1, "b", &l), "ends at byte 30");
    n = make_st(buf, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 24);
    expect_fail(sd_parse_safetensors(buf, n, NULL, &l), "announces 24 bytes");
    n = make_st(buf, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,28]}}", 28);
    expect_fail(sd_parse_safetensors(buf, n, NULL, &l), "needs 24 bytes, its offsets give 28");
    n = make_st(buf, "{\"a\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[0,24]}}", 24);
    expect_fail(sd_parse_safetensors(buf, n, NULL, &l), "I64");
    n = make_st(buf, "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4);
    expect_fail(sd_parse_safetensors(buf, n, NULL, &l), "dimension");
    n = make_st(buf, "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
                     "\"data_offsets\":[0,0]}}", 4);
    expect_fail(sd_parse_safetensors(buf, n, NULL, &l), "");
    n = make_st(buf, "{\"a\":", 4);
    expect_fail(sd_parse_safetensors(buf, n, NULL, &l), "JSON");
    n = make_st(buf, two, 30);
    buf[7] = 1; /* a header length of 2^56 + ... */
    expect_fail(sd_parse_safetensors(buf, n, "a", &l), "does not fit");
}

static void test_raw(void **state)
{
    (void)state;
    sd_layout_t l;
    assert_int_equal(sd_parse_raw(48, 3, SD_F32, &l), 0);
    assert_true(l.rows == 4 && l.dim == 3 && l.offset == 0);
    assert_int_equal(sd_parse_raw(48, 3, SD_BF16, &l), 0);
    assert_int_equal(l.rows, 8);
    expect_fail(sd_parse_raw(50, 3, SD_F32, &l), "whole number");
    expect_fail(sd_parse_raw(48, 0, SD_F32, &l), "--dim");
    sd_dtype_t t;
    assert_int_equal(sd_dtype_parse("bf16", &t), 0);
    assert_int_equal(t, SD_BF16);
    expect_fail(sd_dtype_parse("f64", &t), "f64");
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

/* Files on disk: detection, shards in order, mismatched shards, paths. */
static void test_files(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir();
    char p1[512], p2[512], p3[512], p4[512], p5[512];
    snprintf(p1, sizeof p1, "%s/a.npy", dir);
    snprintf(p2, sizeof p2, "%s/b-ubyte.gz", dir);
    snprintf(p3, sizeof p3, "%s/c.bin", dir);
    snprintf(p4, sizeof p4, "%s/d.safetensors", dir);
    snprintf(p5, sizeof p5, "%s/empty", dir);
    float v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t buf[512], gz[256];
    write_file(p1, buf, make_npy(buf, "{'descr': '<f4', 'fortran_order': False, "
                                      "'shape': (2, 4), }", v, sizeof v));
    size_t n = make_idx(buf, 3);
    write_file(p2, gz, gzip_bytes(buf, n, gz, sizeof gz));
    write_file(p3, v, sizeof v);
    write_file(p5, v, 0);
    sd_options_t o = {0};
    o.scale_u8 = 1;
    sd_set_t s;
    const char *paths[] = {p1, p2};
    assert_int_equal(sd_set_open(&s, paths, 2, &o), 0);
    assert_true(s.rows == 5 && s.dim == 4);
    assert_int_equal(s.files[1].format, SD_FMT_IDX);
    float x[20];
    assert_int_equal(sd_set_read(&s, 1, 3, x), 0); /* across the two shards */
    assert_true(x[0] == 5 && x[3] == 8 && x[4] == 0.0f && x[5] == 20.0f / 255.0f);
    assert_true(x[11] == 140.0f / 255.0f);
    expect_fail(sd_set_read(&s, 3, 3, x), "past");
    sd_set_close(&s);
    /* Raw needs --dim, and then the row size must match the others'. */
    const char *p13[] = {p1, p3};
    expect_fail(sd_set_open(&s, p13, 2, &o), "cannot tell the format");
    o.dim = 2;
    expect_fail(sd_set_open(&s, p13, 2, &o), "rows of 2 values");
    o.dim = 4;
    assert_int_equal(sd_set_open(&s, p13, 2, &o), 0);
    assert_int_equal(s.rows, 4);
    assert_int_equal(sd_set_read(&s, 0, 4, x), 0);
    assert_memory_equal(x, v, sizeof v);
    assert_memory_equal(x + 8, v, sizeof v);
    sd_set_close(&s);
    o.dim = 0;
    write_file(p4, buf, make_st(buf, "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,4],"
                                     "\"data_offsets\":[0,32]}}", 32));
    const char *p4s[] = {p4};
    assert_int_equal(sd_set_open(&s, p4s, 1, &o), 0);
    assert_int_equal(s.files[0].format, SD_FMT_SAFETENSORS);
    sd_set_close(&s);
    const char *p5s[] = {p5};
    expect_fail(sd_set_open(&s, p5s, 1, &o), "empty");
    const char *dirs[] = {dir};
    expect_fail(sd_set_open(&s, dirs, 1, &o), "regular");
    char missing[600];
    snprintf(missing, sizeof missing, "%s/nope.npy", dir);
    const char *ms[] = {missing};
    expect_fail(sd_set_open(&s, ms, 1, &o), "nope.npy");
    o.format = SD_FMT_NPY; /* a forced format that does not match */
    expect_fail(sd_set_open(&s, p4s, 1, &o), "d.safetensors: not a .npy");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_npy_f32),     cmocka_unit_test(test_npy_f16_u8),
        cmocka_unit_test(test_npy_bad),     cmocka_unit_test(test_idx),
        cmocka_unit_test(test_safetensors), cmocka_unit_test(test_raw),
        cmocka_unit_test(test_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
