/*
 * safetensors.c - reading a safetensors file (see safetensors.h): the file into one buffer,
 * the header through safetensors_json.c, then the offsets against the data buffer; lookups;
 * and the dtype helpers the writer (safetensors_write.c) shares.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/internal.h"
#include "train/safetensors_impl.h"

static const char *const dtype_names[] = {"F32", "F64", "I32", "I64", "U8"};
static const size_t dtype_sizes[] = {4, 8, 4, 8, 1};

size_t mmx_st_dtype_size(mmx_st_dtype t)
{
    return (unsigned)t <= MMX_ST_U8 ? dtype_sizes[t] : 0;
}

const char *mmx_st_dtype_name(mmx_st_dtype t)
{
    return (unsigned)t <= MMX_ST_U8 ? dtype_names[t] : NULL;
}

int mmx_st_nbytes(mmx_st_dtype t, int ndim, const int64_t *shape, uint64_t *bytes)
{
    uint64_t count = 1;
    int overflow = 0;
    for (int d = 0; d < ndim; d++) {
        uint64_t n = (uint64_t)shape[d];
        if (n == 0) {
            *bytes = 0;
            return 0; /* empty, however large the other dims */
        }
        if (count > UINT64_MAX / n) overflow = 1;
        count *= n;
    }
    uint64_t size = mmx_st_dtype_size(t);
    if (overflow || count > UINT64_MAX / size) return -1;
    *bytes = count * size;
    return 0;
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int64_t mmx_st_find_duplicate(const char *const *names, size_t n)
{
    if (n < 2) return -1;
    const char **s = malloc(n * sizeof *s);
    if (!s) { /* too little memory to sort: fall back to comparing every pair */
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++)
                if (!strcmp(names[i], names[j])) return (int64_t)i;
        return -1;
    }
    memcpy(s, names, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_str_ptr);
    int64_t dup = -1;
    for (size_t i = 1; i < n && dup < 0; i++)
        if (!strcmp(s[i - 1], s[i]))
            for (size_t j = 0; j < n && dup < 0; j++)
                if (names[j] == s[i]) dup = (int64_t)j;
    free(s);
    return dup;
}

static mmx_status read_fail(const char *path, int err, const char *what)
{
    return mmx_fail(MMX_ERR_IO, "mmx_st_read", "%s: %s: %s", path, what, strerror(err));
}

/* The whole file into f->buffer / f->size. */
static mmx_status load_file(mmx_st_file *f, const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return read_fail(path, errno, "cannot open");
    struct stat sb;
    mmx_status st = MMX_OK;
    if (fstat(fileno(fp), &sb) != 0) st = read_fail(path, errno, "cannot stat");
    else if (!S_ISREG(sb.st_mode)) st = read_fail(path, EINVAL, "not a regular file");
    if (!st) {
        f->size = (size_t)sb.st_size;
        f->buffer = malloc(f->size ? f->size : 1);
        if (!f->buffer)
            st = mmx_fail(MMX_ERR_NOMEM, "mmx_st_read", "%s: cannot allocate %zu bytes", path,
                          f->size);
    }
    if (!st && fread(f->buffer, 1, f->size, fp) != f->size)
        st = ferror(fp) ? read_fail(path, errno ? errno : EIO, "cannot read")
                        : read_fail(path, EIO, "file shrank while being read");
    fclose(fp);
    return st;
}

/* A tensor's span with its index, sorted by (begin, end, index): the order the data lie in,
 * deterministic when zero-size tensors share an offset. */
typedef struct {
    uint64_t begin, end;
    int idx;
} st_slot;

static int cmp_slot(const void *a, const void *b)
{
    const st_slot *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Checks that the spans tile [0, dsize) in order without gaps or overlaps, like the Python
 * reader, so every byte of the data buffer belongs to exactly one tensor; then reorders the
 * entries by offset and points them into the buffer. */
static mmx_status place(mmx_st_file *f, const mmx_st_span *spans, const char *path,
                        size_t data_start)
{
    unsigned long long dsize = f->size - data_start, at = 0;
    size_t n = (size_t)f->n;
    st_slot *s = malloc((n + 1) * sizeof *s);
    mmx_st_entry *e = malloc((n + 1) * sizeof *e);
    if (!s || !e) {
        free(s);
        free(e);
        return mmx_fail(MMX_ERR_NOMEM, "mmx_st_read", "%s: out of memory", path);
    }
    for (size_t k = 0; k < n; k++) s[k] = (st_slot){spans[k].begin, spans[k].end, (int)k};
    qsort(s, n, sizeof *s, cmp_slot);
    mmx_status st = MMX_OK;
    for (size_t k = 0; k < n; k++) {
        const char *name = f->entries[s[k].idx].name;
        unsigned long long b = s[k].begin, end = s[k].end;
        if (end > dsize)
            st = mmx_fail(MMX_ERR_FORMAT, "mmx_st_read", "%s: tensor '%s': data_offsets [%llu, "
                          "%llu] outside the %llu-byte data buffer", path, name, b, end, dsize);
        else if (b > at)
            st = mmx_fail(MMX_ERR_FORMAT, "mmx_st_read", "%s: bytes [%llu, %llu) of the data "
                          "buffer belong to no tensor (gap before '%s')", path, at, b, name);
        else if (b < at)
            st = mmx_fail(MMX_ERR_FORMAT, "mmx_st_read", "%s: tensor '%s': data_offsets [%llu, "
                          "%llu] overlap tensor '%s'", path, name, b, end,
                          f->entries[s[k - 1].idx].name);
        if (st) break;
        e[k] = f->entries[s[k].idx];
        e[k].data = (const unsigned char *)f->buffer + data_start + b;
        e[k].bytes = (size_t)(end - b);
        at = end;
    }
    if (!st && at != dsize)
        st = mmx_fail(MMX_ERR_FORMAT, "mmx_st_read", "%s: bytes [%llu, %llu) of the data buffer "
                      "belong to no tensor (gap at the end)", path, at, dsize);
    if (!st) {
        free(f->entries);
        f->entries = e;
        e = NULL;
    }
    free(e);
    free(s);
    return st;
}

/* Duplicate names or keys: JSON allows them, but a later one would silently shadow. */
static mmx_status check_unique(const mmx_st_file *f, const char *path)
{
    size_t n = (size_t)(f->n > f->n_meta ? f->n : f->n_meta);
    const char **names = malloc((n + 1) * sizeof *names);
    if (!names) return mmx_fail(MMX_ERR_NOMEM, "mmx_st_read", "%s: out of memory", path);
    for (int i = 0; i < f->n; i++) names[i] = f->entries[i].name;
    int64_t d = mmx_st_find_duplicate(names, (size_t)f->n);
    mmx_status st = MMX_OK;
    if (d >= 0)
        st = mmx_fail(MMX_ERR_FORMAT, "mmx_st_read", "%s: duplicate tensor '%s'", path, names[d]);
    for (int i = 0; i < f->n_meta && !st; i++) names[i] = f->meta[2 * i];
    if (!st) d = mmx_st_find_duplicate(names, (size_t)f->n_meta);
    if (!st && d >= 0)
        st = mmx_fail(MMX_ERR_FORMAT, "mmx_st_read", "%s: duplicate metadata key '%.64s'", path,
                      names[d]);
    free(names);
    return st;
}

static mmx_status parse(mmx_st_file *f, const char *path)
{
    const unsigned char *b = f->buffer;
    if (f->size < 8)
        return mmx_fail(MMX_ERR_FORMAT, "mmx_st_read", "%s: a %zu-byte file, shorter than the "
                        "8-byte header length", path, f->size);
    unsigned long long n = 0;
    for (int k = 7; k >= 0; k--) n = n << 8 | b[k]; /* little-endian u64 */
    if (n > MMX_ST_MAX_HEADER)
        return mmx_fail(MMX_ERR_FORMAT, "mmx_st_read", "%s: header length %llu over the limit "
                        "of %u bytes", path, n, MMX_ST_MAX_HEADER);
    if (n > f->size - 8)
        return mmx_fail(MMX_ERR_FORMAT, "mmx_st_read", "%s: header length %llu runs past the "
                        "end of the %zu-byte file", path, n, f->size);
    mmx_st_span *spans = NULL;
    mmx_status st = mmx_st_parse_header(f, &spans, path, (const char *)b + 8, (size_t)n);
    if (!st) st = place(f, spans, path, 8 + (size_t)n);
    if (!st) st = check_unique(f, path);
    free(spans);
    return st;
}

mmx_status mmx_st_read(mmx_st_file *f, const char *path)
{
    if (!f) return mmx_fail(MMX_ERR_NULL, "mmx_st_read", "argument 'f' is NULL");
    memset(f, 0, sizeof *f);
    if (!path) return mmx_fail(MMX_ERR_NULL, "mmx_st_read", "argument 'path' is NULL");
    f->path = strdup(path);
    mmx_status st = f->path ? load_file(f, path)
                            : mmx_fail(MMX_ERR_NOMEM, "mmx_st_read", "%s: out of memory", path);
    if (!st) st = parse(f, path);
    if (st) mmx_st_free(f);
    return st;
}

const mmx_st_entry *mmx_st_find(const mmx_st_file *f, const char *name)
{
    if (!f || !name) return NULL;
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->entries[i].name, name)) return &f->entries[i];
    return NULL;
}

const char *mmx_st_meta(const mmx_st_file *f, const char *key)
{
    if (!f || !key) return NULL;
    for (int i = 0; i < f->n_meta; i++)
        if (!strcmp(f->meta[2 * i], key)) return f->meta[2 * i + 1];
    return NULL;
}

/* "F32 (128, 64)"; "()" for a scalar. */
static void describe(char *buf, size_t cap, mmx_st_dtype t, int ndim, const int64_t *shape)
{
    const char *name = mmx_st_dtype_name(t);
    int k = snprintf(buf, cap, "%s (", name ? name : "?");
    for (int d = 0; d < ndim && k > 0 && (size_t)k < cap; d++)
        k += snprintf(buf + k, cap - (size_t)k, d ? ", %lld" : "%lld", (long long)shape[d]);
    if (k > 0 && (size_t)k < cap) snprintf(buf + k, cap - (size_t)k, ")");
}

mmx_status mmx_st_get(const mmx_st_file *f, const char *name, mmx_st_dtype dtype, int ndim,
                      const int64_t *shape, void *dst)
{
    if (!f || !name) return mmx_fail(MMX_ERR_NULL, "mmx_st_get", "argument 'f' or 'name' is NULL");
    if (ndim < 0 || ndim > MMX_ST_MAX_DIMS)
        return mmx_fail(MMX_ERR_PARAM, "mmx_st_get", "argument 'ndim' = %d, expected 0..%d",
                        ndim, MMX_ST_MAX_DIMS);
    if (ndim > 0 && !shape) return mmx_fail(MMX_ERR_NULL, "mmx_st_get", "argument 'shape' is NULL");
    if (!mmx_st_dtype_name(dtype))
        return mmx_fail(MMX_ERR_PARAM, "mmx_st_get", "argument 'dtype' = %d, not a mmx_st_dtype",
                        (int)dtype);
    const char *path = f->path ? f->path : "(no file)";
    const mmx_st_entry *e = mmx_st_find(f, name);
    if (!e) return mmx_fail(MMX_ERR_FORMAT, "mmx_st_get", "%s: no tensor '%s'", path, name);
    int same = e->dtype == dtype && e->ndim == ndim;
    for (int d = 0; d < ndim && same; d++) same = e->shape[d] == shape[d];
    if (!same) {
        char want[256], got[256];
        describe(want, sizeof want, dtype, ndim, shape);
        describe(got, sizeof got, e->dtype, e->ndim, e->shape);
        return mmx_fail(MMX_ERR_FORMAT, "mmx_st_get", "%s(%s): expected %s, found %s", path, name,
                        want, got);
    }
    if (e->bytes && !dst) return mmx_fail(MMX_ERR_NULL, "mmx_st_get", "argument 'dst' is NULL");
    if (e->bytes) memcpy(dst, e->data, e->bytes);
    return MMX_OK;
}

void mmx_st_free(mmx_st_file *f)
{
    if (!f) return;
    for (int i = 0; i < 2 * f->n_meta; i++) free(f->meta[i]);
    free(f->meta);
    free(f->entries);
    free(f->buffer);
    free(f->path);
    memset(f, 0, sizeof *f);
}
