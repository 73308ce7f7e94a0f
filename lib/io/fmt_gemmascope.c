/* SPDX-License-Identifier: MIT */
/* Gemma Scope (docs/formats.md): params.npz, a zip (stored or deflated,
 * numpy.savez / savez_compressed) of W_enc.npy [d, s], W_dec.npy [s, d],
 * b_enc.npy [s], b_dec.npy [d], threshold.npy [s]; Gemma Scope 2:
 * params.safetensors with the same arrays (w_enc, w_dec lowercase). No
 * config file: d and s come from the biases. The JumpReLU forward of the
 * Gemma Scope tutorial: relu(x W_enc + b_enc) * (x W_enc + b_enc >
 * threshold), x_hat = h W_dec + b_dec, with no b_dec subtracted from x. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zip.h>
#include <zlib.h>

#include "core/error.h"
#include "io/foreign.h"
#include "io/npy.h"
#include "io/safetensors.h"

/* Deflate cannot expand data by more than about 1032:1; an entry that
 * claims more is a lie (a zip bomb's header), refused before the
 * allocation its size would ask for. */
#define MAX_DEFLATE_RATIO 1032u

static const char *const npz_names[] = {"W_enc.npy", "W_dec.npy", "b_enc.npy", "b_dec.npy",
                                        "threshold.npy"};

typedef struct npz {
    const char *path;
    zip_t *z;
} npz_t;

static sae_status_t npz_fail(const npz_t *nz, sae_status_t st, const char *name, const char *why)
{
    return sae_fail_global(st, "'%s': %s%s%s", nz->path, name ? name : "", name ? ": " : "", why);
}

/* A libzip call's failure as a status. An allocation failing in libzip
 * or under it (zlib's inflate state, fopen's stream) is out of memory,
 * not a bad file: libzip says ZIP_ER_MEMORY or zlib's Z_MEM_ERROR, or
 * not (zip_open reports some as "Not a zip archive"), but sys, errno
 * cleared before the call and read right after it, is then ENOMEM. */
static sae_status_t zip_status(const zip_error_t *ze, int sys, sae_status_t otherwise)
{
    if (zip_error_code_zip(ze) == ZIP_ER_MEMORY || sys == ENOMEM ||
        (zip_error_system_type(ze) == ZIP_ET_ZLIB && zip_error_code_system(ze) == Z_MEM_ERROR))
        return SAE_ERR_NOMEM;
    return otherwise;
}

/* Reads entry name as a float array of the expected shape (ndim 1: {n};
 * 2: {r, c}), converting float16 to float; dst holds count floats. With
 * dst NULL only the header is read, and the shape is returned in shape. */
static sae_status_t npz_array(npz_t *nz, const char *name, size_t ndim, const uint64_t *want,
                              float *dst, uint64_t *shape_out)
{
    zip_int64_t idx = zip_name_locate(nz->z, name, 0);
    if (idx < 0)
        return npz_fail(nz, SAE_ERR_FORMAT, name, "missing array");
    zip_stat_t sb;
    zip_stat_init(&sb);
    if (zip_stat_index(nz->z, (zip_uint64_t)idx, 0, &sb) != 0 || !(sb.valid & ZIP_STAT_SIZE) ||
        !(sb.valid & ZIP_STAT_COMP_SIZE))
        return npz_fail(nz, SAE_ERR_FORMAT, name, "no size in the zip directory");
    if (sb.size / MAX_DEFLATE_RATIO > sb.comp_size + 64)
        return npz_fail(nz, SAE_ERR_FORMAT, name, "claims a size beyond deflate's ratio");
    errno = 0;
    zip_file_t *zf = zip_fopen_index(nz->z, (zip_uint64_t)idx, 0);
    if (!zf) {
        int sys = errno;
        return npz_fail(nz, zip_status(zip_get_error(nz->z), sys, SAE_ERR_FORMAT), name,
                        zip_strerror(nz->z));
    }
    sae_status_t st = SAE_OK;
    enum { HEAD = NPY_MAX_HEADER + 12 };
    unsigned char *buf = malloc(HEAD);
    char why[160];
    npy_info_t info;
    errno = 0;
    zip_int64_t got = buf ? zip_fread(zf, buf, sb.size < HEAD ? sb.size : HEAD) : -1;
    int sys = errno;
    if (!buf)
        st = npz_fail(nz, SAE_ERR_NOMEM, name, "out of memory");
    else if (got < 0)
        st = npz_fail(nz, zip_status(zip_file_get_error(zf), sys, SAE_ERR_FORMAT), name,
                      zip_file_strerror(zf));
    if (st == SAE_OK) {
        st = sae_npy_parse(buf, (size_t)got, &info, why);
        if (st == SAE_ERR_RANGE) {
            st = npz_fail(nz, SAE_ERR_FORMAT, name, "ends inside its .npy header");
        } else if (st != SAE_OK)
            st = npz_fail(nz, SAE_ERR_FORMAT, name, why);
    }
    if (st == SAE_OK && !info.elem) {
        snprintf(why, sizeof why, "dtype '%s' is not supported (libsae reads '<f4' and '<f2')",
                 info.descr);
        st = npz_fail(nz, SAE_ERR_UNSUPPORTED, name, why);
    }
    if (st == SAE_OK && info.fortran && info.ndim > 1)
        st = npz_fail(nz, SAE_ERR_UNSUPPORTED, name, "fortran_order arrays are not supported");
    if (st == SAE_OK && sb.size != info.header_bytes + info.count * (uint64_t)info.elem)
        st = npz_fail(nz, SAE_ERR_FORMAT, name, "entry size does not match the array's shape");
    if (st == SAE_OK && shape_out) {
        if (info.ndim != 1)
            st = npz_fail(nz, SAE_ERR_DIMENSION, name, "a bias must be one-dimensional");
        else
            shape_out[0] = info.shape[0];
    }
    if (st == SAE_OK && want) {
        int ok = info.ndim == ndim && info.shape[0] == want[0] && (ndim == 1 || info.shape[1] == want[1]);
        if (!ok) {
            int tr = ndim == 2 && info.ndim == 2 && info.shape[0] == want[1] && info.shape[1] == want[0];
            snprintf(why, sizeof why, "shape (%llu%s%llu) %s (%llu%s%llu)",
                     (unsigned long long)info.shape[0], info.ndim > 1 ? ", " : "",
                     (unsigned long long)(info.ndim > 1 ? info.shape[1] : 0),
                     tr ? "is transposed: expected" : "does not match the biases: expected",
                     (unsigned long long)want[0], ndim > 1 ? ", " : "",
                     (unsigned long long)(ndim > 1 ? want[1] : 0));
            st = npz_fail(nz, SAE_ERR_DIMENSION, name, why);
        }
    }
    if (st == SAE_OK && dst) {
        /* The data go into dst's bytes, then are widened in place: float16
         * from the end, where each 4-byte result lands at or past the
         * 2-byte source it reads. */
        unsigned char *bytes = (unsigned char *)dst;
        uint64_t total = info.count * (uint64_t)info.elem;
        uint64_t have = (uint64_t)got - info.header_bytes;
        if (have > total)
            have = total;
        memcpy(bytes, buf + info.header_bytes, (size_t)have);
        while (st == SAE_OK && have < total) {
            errno = 0;
            zip_int64_t r = zip_fread(zf, bytes + have, total - have);
            sys = errno;
            if (r < 0)
                st = npz_fail(nz, zip_status(zip_file_get_error(zf), sys, SAE_ERR_FORMAT), name,
                              zip_file_strerror(zf));
            else if (r == 0)
                st = npz_fail(nz, SAE_ERR_FORMAT, name, "truncated or corrupt data");
            else
                have += (uint64_t)r;
        }
        if (st == SAE_OK && info.elem == 4)
            sae_st_decode_f32(bytes, (size_t)info.count, dst);
        else if (st == SAE_OK)
            for (size_t i = (size_t)info.count; i-- > 0;)
                dst[i] = sae_f16_to_f32((uint16_t)(bytes[2 * i] | bytes[2 * i + 1] << 8));
    }
    free(buf);
    if (zip_fclose(zf) != 0 && st == SAE_OK)
        st = npz_fail(nz, SAE_ERR_FORMAT, name, "CRC or decompression error");
    return st;
}

static sae_status_t import_npz(const char *path, sae_model_t **out)
{
    npz_t nz = {path, NULL};
    int err = 0;
    errno = 0;
    nz.z = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &err);
    if (!nz.z) {
        int sys = errno;
        zip_error_t ze;
        zip_error_init_with_code(&ze, err);
        sae_status_t st = zip_status(
            &ze, sys, err == ZIP_ER_OPEN || err == ZIP_ER_NOENT ? SAE_ERR_IO : SAE_ERR_FORMAT);
        st = npz_fail(&nz, st, NULL, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return st;
    }
    sae_foreign_t fs;
    memset(&fs, 0, sizeof fs);
    fs.arch = SAE_FA_JUMPRELU;
    uint64_t d = 0, s = 0;
    sae_status_t st = npz_array(&nz, "b_dec.npy", 1, NULL, NULL, &d);
    if (st == SAE_OK)
        st = npz_array(&nz, "b_enc.npy", 1, NULL, NULL, &s);
    if (st == SAE_OK && (d == 0 || s == 0))
        st = npz_fail(&nz, SAE_ERR_DIMENSION, NULL, "empty biases");
    /* Every entry must be one of the five arrays: another is a layout this
     * reader does not know. */
    zip_int64_t n = zip_get_num_entries(nz.z, 0);
    for (zip_int64_t i = 0; st == SAE_OK && i < n; i++) {
        const char *nm = zip_get_name(nz.z, (zip_uint64_t)i, 0);
        int known = 0;
        for (size_t j = 0; nm && j < 5; j++)
            known |= strcmp(nm, npz_names[j]) == 0;
        if (!known) {
            char why[120];
            snprintf(why, sizeof why, "unexpected array '%.60s'", nm ? nm : "?");
            st = npz_fail(&nz, SAE_ERR_FORMAT, NULL, why);
        }
    }
    uint64_t ds[2] = {d, s}, sd[2] = {s, d};
    /* The matrices' headers and sizes first: the allocation the biases ask
     * for is then bounded by the entries' (and so the file's) sizes. */
    if (st == SAE_OK)
        st = npz_array(&nz, "W_enc.npy", 2, ds, NULL, NULL);
    if (st == SAE_OK)
        st = npz_array(&nz, "W_dec.npy", 2, sd, NULL, NULL);
    if (st == SAE_OK) {
        fs.d_in = (size_t)d;
        fs.d_sae = (size_t)s;
        st = sae_foreign_alloc(&fs);
    }
    float *tmp = NULL;
    if (st == SAE_OK && !(tmp = malloc(fs.d_in * fs.d_sae * sizeof *tmp)))
        st = npz_fail(&nz, SAE_ERR_NOMEM, NULL, "out of memory");
    if (st == SAE_OK)
        st = npz_array(&nz, "W_enc.npy", 2, ds, tmp, NULL);
    if (st == SAE_OK)
        for (size_t i = 0; i < fs.d_in; i++)
            for (size_t j = 0; j < fs.d_sae; j++)
                fs.enc_w[j * fs.d_in + i] = tmp[i * fs.d_sae + j];
    if (st == SAE_OK)
        st = npz_array(&nz, "W_dec.npy", 2, sd, fs.dec_w, NULL);
    if (st == SAE_OK)
        st = npz_array(&nz, "b_enc.npy", 1, &s, fs.enc_b, NULL);
    if (st == SAE_OK)
        st = npz_array(&nz, "b_dec.npy", 1, &d, fs.dec_b, NULL);
    if (st == SAE_OK)
        st = npz_array(&nz, "threshold.npy", 1, &s, fs.threshold, NULL);
    free(tmp);
    zip_discard(nz.z);
    if (st == SAE_OK)
        st = sae_foreign_build(&fs, out);
    sae_foreign_free(&fs);
    return st;
}

/* Gemma Scope 2's names are lowercase; the first Gemma Scope's (and
 * SAELens's conversion of it) capitalised. */
static const char *pick(const fst_file_t *sf, const char *lower, const char *upper)
{
    return sae_fst_find(sf, lower) || !sae_fst_find(sf, upper) ? lower : upper;
}

static sae_status_t import_safetensors(const char *path, sae_model_t **out)
{
    fst_file_t sf;
    sae_foreign_t fs;
    memset(&fs, 0, sizeof fs);
    fs.arch = SAE_FA_JUMPRELU;
    sae_status_t st = sae_fst_open(&sf, path);
    const fst_tensor_t *bd = NULL, *be = NULL;
    if (st == SAE_OK) {
        bd = sae_fst_find(&sf, "b_dec");
        be = sae_fst_find(&sf, "b_enc");
        if (!bd || !be)
            st = sae_fail_global(SAE_ERR_FORMAT, "'%s': missing tensor '%s'", path,
                                 !bd ? "b_dec" : "b_enc");
        else if (bd->ndim != 1 || be->ndim != 1 || !bd->count || !be->count)
            st = sae_fail_global(SAE_ERR_DIMENSION, "'%s': b_dec and b_enc must be vectors",
                                 path);
    }
    const char *we = NULL, *wd = NULL;
    if (st == SAE_OK) {
        fs.d_in = (size_t)bd->shape[0];
        fs.d_sae = (size_t)be->shape[0];
        we = pick(&sf, "w_enc", "W_enc");
        wd = pick(&sf, "w_dec", "W_dec");
        for (size_t i = 0; st == SAE_OK && i < sf.n; i++) {
            const char *nm = sf.tensors[i].name;
            if (strcmp(nm, we) && strcmp(nm, wd) && strcmp(nm, "b_enc") && strcmp(nm, "b_dec") &&
                strcmp(nm, "threshold"))
                st = sae_fail_global(SAE_ERR_FORMAT, "'%s': unexpected tensor '%s'", path, nm);
        }
    }
    if (st == SAE_OK)
        st = sae_foreign_tensor(&sf, we, 2, fs.d_sae, fs.d_in, 1, NULL);
    if (st == SAE_OK)
        st = sae_foreign_tensor(&sf, wd, 2, fs.d_sae, fs.d_in, 0, NULL);
    if (st == SAE_OK)
        st = sae_foreign_alloc(&fs);
    if (st == SAE_OK)
        st = sae_foreign_tensor(&sf, we, 2, fs.d_sae, fs.d_in, 1, fs.enc_w);
    if (st == SAE_OK)
        st = sae_foreign_tensor(&sf, wd, 2, fs.d_sae, fs.d_in, 0, fs.dec_w);
    if (st == SAE_OK)
        st = sae_foreign_tensor(&sf, "b_enc", 1, fs.d_sae, 1, 0, fs.enc_b);
    if (st == SAE_OK)
        st = sae_foreign_tensor(&sf, "b_dec", 1, fs.d_in, 1, 0, fs.dec_b);
    if (st == SAE_OK)
        st = sae_foreign_tensor(&sf, "threshold", 1, fs.d_sae, 1, 0, fs.threshold);
    sae_fst_close(&sf);
    if (st == SAE_OK)
        st = sae_foreign_build(&fs, out);
    sae_foreign_free(&fs);
    return st;
}

sae_status_t sae_gemmascope_import(const char *path, sae_model_t **out)
{
    size_t n = strlen(path);
    if (n > 4 && strcmp(path + n - 4, ".npz") == 0)
        return import_npz(path, out);
    return import_safetensors(path, out);
}
