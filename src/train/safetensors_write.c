/*
 * safetensors_write.c - mmx_st_write (see safetensors.h): argument checks, the JSON header,
 * and an atomic replace (temporary file, fsync, rename) so that a crash or a full disk in
 * the middle of a save never leaves a torn checkpoint where a good one was.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"
#include "train/safetensors_impl.h"

/* The data are written as they lie in memory, and the format is little-endian. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "mmx_st_write writes host-order data: a big-endian host needs byte swapping here"
#endif

#define FN "mmx_st_write"

/* 1..max bytes of printable ASCII without '"' or '\\': written into JSON without escaping,
 * and read back by any reader. */
static int text_ok(const char *s, size_t min, size_t max)
{
    size_t n = 0;
    for (unsigned char c; (c = (unsigned char)s[n]) != 0; n++)
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return 0;
    return n >= min && n <= max;
}

static mmx_status check_tensor(const mmx_st_tensor *t, int i, uint64_t *bytes)
{
    if (!t->name) return mmx_fail(MMX_ERR_NULL, FN, "tensors[%d].name is NULL", i);
    if (!text_ok(t->name, 1, MMX_ST_MAX_NAME) || !strcmp(t->name, "__metadata__"))
        return mmx_fail(MMX_ERR_PARAM, FN, "tensors[%d].name '%.64s' is invalid: expected 1..%d "
                        "bytes of printable ASCII without '\"' or '\\', not \"__metadata__\"", i,
                        t->name, MMX_ST_MAX_NAME);
    if (!mmx_st_dtype_name(t->dtype))
        return mmx_fail(MMX_ERR_PARAM, FN, "tensor '%s': dtype %d is not a mmx_st_dtype",
                        t->name, (int)t->dtype);
    if (t->ndim < 0 || t->ndim > MMX_ST_MAX_DIMS)
        return mmx_fail(MMX_ERR_PARAM, FN, "tensor '%s': ndim = %d, expected 0..%d", t->name,
                        t->ndim, MMX_ST_MAX_DIMS);
    for (int d = 0; d < t->ndim; d++)
        if (t->shape[d] < 0)
            return mmx_fail(MMX_ERR_PARAM, FN, "tensor '%s': shape[%d] = %lld, expected >= 0",
                            t->name, d, (long long)t->shape[d]);
    if (mmx_st_nbytes(t->dtype, t->ndim, t->shape, bytes) || *bytes > SIZE_MAX)
        return mmx_fail(MMX_ERR_PARAM, FN, "tensor '%s': shape too large", t->name);
    if (*bytes && !t->data) return mmx_fail(MMX_ERR_NULL, FN, "tensor '%s': data is NULL", t->name);
    return MMX_OK;
}

static mmx_status check_meta(const char *const *meta, int n_meta)
{
    if (n_meta > 0 && !meta) return mmx_fail(MMX_ERR_NULL, FN, "argument 'meta' is NULL");
    for (int i = 0; i < 2 * n_meta; i++) {
        const char *s = meta[i];
        if (!s) return mmx_fail(MMX_ERR_NULL, FN, "meta[%d] is NULL", i);
        if (!text_ok(s, i % 2 ? 0 : 1, SIZE_MAX))
            return mmx_fail(MMX_ERR_PARAM, FN, "meta[%d] '%.64s' is invalid: expected printable "
                            "ASCII without '\"' or '\\'%s", i, s, i % 2 ? "" : ", not empty");
    }
    const char **keys = malloc(((size_t)n_meta + 1) * sizeof *keys);
    if (!keys) return mmx_fail(MMX_ERR_NOMEM, FN, "out of memory");
    for (int i = 0; i < n_meta; i++) keys[i] = meta[2 * i];
    int64_t d = mmx_st_find_duplicate(keys, (size_t)n_meta);
    free(keys);
    if (d >= 0) return mmx_fail(MMX_ERR_PARAM, FN, "duplicate metadata key '%s'", meta[2 * d]);
    return MMX_OK;
}

/* Checks everything before the file is touched; bytes[i] = size of tensor i. */
static mmx_status check_args(const mmx_st_tensor *tensors, int n, const char *const *meta,
                             int n_meta, uint64_t *bytes)
{
    uint64_t total = 0;
    for (int i = 0; i < n; i++) {
        mmx_status st = check_tensor(&tensors[i], i, &bytes[i]);
        if (st) return st;
        if (bytes[i] > UINT64_MAX - total)
            return mmx_fail(MMX_ERR_PARAM, FN, "the tensors' total size exceeds 2^64 bytes");
        total += bytes[i];
    }
    const char **names = malloc(((size_t)n + 1) * sizeof *names);
    if (!names) return mmx_fail(MMX_ERR_NOMEM, FN, "out of memory");
    for (int i = 0; i < n; i++) names[i] = tensors[i].name;
    int64_t d = mmx_st_find_duplicate(names, (size_t)n);
    free(names);
    if (d >= 0) return mmx_fail(MMX_ERR_PARAM, FN, "duplicate tensor name '%s'", tensors[d].name);
    return check_meta(meta, n_meta);
}

/* A growing text buffer; err is set once an allocation fails and later appends are no-ops. */
typedef struct {
    char *p;
    size_t n, cap;
    int err;
} st_text;

static void put(st_text *t, const char *fmt, ...) MMX_PRINTF(2, 3);
static void put(st_text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (t->err || k < 0) {
        t->err = 1;
        return;
    }
    if (t->n + (size_t)k + 1 > t->cap) {
        size_t cap = 2 * (t->n + (size_t)k + 1) + 256;
        char *q = realloc(t->p, cap);
        if (!q) {
            t->err = 1;
            return;
        }
        t->p = q;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->p + t->n, t->cap - t->n, fmt, ap);
    va_end(ap);
    t->n += (size_t)k;
}

/* The header: "__metadata__" first, then the tensors in order with contiguous offsets,
 * padded with spaces to a multiple of 8 (as the Python writer does) so the data start
 * 8-aligned in the file. */
static void build_header(st_text *h, const mmx_st_tensor *tensors, int n, const uint64_t *bytes,
                         const char *const *meta, int n_meta)
{
    put(h, "{");
    if (n_meta > 0) {
        put(h, "\"__metadata__\":{");
        for (int i = 0; i < n_meta; i++)
            put(h, "%s\"%s\":\"%s\"", i ? "," : "", meta[2 * i], meta[2 * i + 1]);
        put(h, "}");
    }
    unsigned long long at = 0;
    for (int i = 0; i < n; i++) {
        const mmx_st_tensor *t = &tensors[i];
        put(h, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", i || n_meta > 0 ? "," : "", t->name,
            mmx_st_dtype_name(t->dtype));
        for (int d = 0; d < t->ndim; d++) put(h, d ? ",%lld" : "%lld", (long long)t->shape[d]);
        put(h, "],\"data_offsets\":[%llu,%llu]}", at, at + bytes[i]);
        at += bytes[i];
    }
    put(h, "}");
    while (!h->err && h->n % 8) put(h, " ");
}

/* Writes the file body; returns 0 or an errno value. */
static int write_body(FILE *fp, const st_text *h, const mmx_st_tensor *tensors, int n,
                      const uint64_t *bytes)
{
    unsigned char len[8];
    for (int k = 0; k < 8; k++) len[k] = (unsigned char)((uint64_t)h->n >> (8 * k));
    errno = 0;
    int ok = fwrite(len, 1, 8, fp) == 8 && fwrite(h->p, 1, h->n, fp) == h->n;
    for (int i = 0; i < n && ok; i++)
        ok = !bytes[i] || fwrite(tensors[i].data, 1, (size_t)bytes[i], fp) == bytes[i];
    return ok ? 0 : errno ? errno : EIO;
}

/* fsync of the directory makes the rename itself durable; best effort (some file systems
 * refuse to fsync a directory, and the data are already safe in the file). */
static void sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 1;
    char *dir = malloc(n + 2); /* room for "/" when path is "/name" */
    if (!dir) return;
    if (slash) memcpy(dir, path, n);
    else dir[0] = '.';
    if (slash && n == 0) dir[n++] = '/';
    dir[n] = '\0';
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

/* Writes tmp, then renames it over path; any failure removes tmp and leaves path as it was. */
static mmx_status write_atomic(const char *path, const char *tmp, const st_text *h,
                               const mmx_st_tensor *tensors, int n, const uint64_t *bytes)
{
    FILE *fp = fopen(tmp, "wb");
    if (!fp)
        return mmx_fail(MMX_ERR_IO, FN, "%s: cannot create the temporary file '%s': %s", path,
                        tmp, strerror(errno));
    const char *step = "cannot write";
    int err = write_body(fp, h, tensors, n, bytes);
    if (!err && fflush(fp) != 0) err = errno ? errno : EIO;
    if (!err && fsync(fileno(fp)) != 0) step = "cannot fsync", err = errno;
    if (fclose(fp) != 0 && !err) step = "cannot close", err = errno ? errno : EIO;
    if (!err && rename(tmp, path) != 0) step = "cannot rename the temporary file", err = errno;
    if (err) {
        unlink(tmp);
        return mmx_fail(MMX_ERR_IO, FN, "%s: %s: %s", path, step, strerror(err));
    }
    sync_dir(path);
    return MMX_OK;
}

mmx_status mmx_st_write(const char *path, const mmx_st_tensor *tensors, int n,
                        const char *const *meta, int n_meta)
{
    if (!path) return mmx_fail(MMX_ERR_NULL, FN, "argument 'path' is NULL");
    if (n < 0 || n_meta < 0)
        return mmx_fail(MMX_ERR_PARAM, FN, "n = %d, n_meta = %d, expected >= 0", n, n_meta);
    if (n > 0 && !tensors) return mmx_fail(MMX_ERR_NULL, FN, "argument 'tensors' is NULL");
    uint64_t *bytes = calloc((size_t)n + 1, sizeof *bytes);
    size_t tlen = strlen(path) + 32;
    char *tmp = malloc(tlen);
    st_text h = {NULL, 0, 0, 0};
    mmx_status st = bytes && tmp ? check_args(tensors, n, meta, n_meta, bytes)
                                 : mmx_fail(MMX_ERR_NOMEM, FN, "out of memory");
    if (!st) {
        build_header(&h, tensors, n, bytes, meta, n_meta);
        if (h.err) st = mmx_fail(MMX_ERR_NOMEM, FN, "out of memory for the header");
        else if (h.n > MMX_ST_MAX_HEADER)
            st = mmx_fail(MMX_ERR_PARAM, FN, "%s: a %zu-byte header, over the %u bytes readers "
                          "accept", path, h.n, MMX_ST_MAX_HEADER);
    }
    if (!st) {
        snprintf(tmp, tlen, "%s.tmp.%ld", path, (long)getpid());
        st = write_atomic(path, tmp, &h, tensors, n, bytes);
    }
    free(h.p);
    free(tmp);
    free(bytes);
    return st;
}
