/*
 * safetensors_json.c - the header parser of mmx_st_read (see safetensors_impl.h).
 *
 * A recursive-descent reader of exactly the JSON the layout uses: a top object whose values
 * are objects (one "__metadata__" of strings, the rest tensors of a string and two integer
 * arrays). Anything else - floats, negatives, true/false/null, deeper nesting - is an error,
 * since a general JSON reader would only let more malformed files through. The parser never
 * reads past json[n-1]: the header is not NUL-terminated (the data follows it).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "train/safetensors_impl.h"

typedef struct {
    const char *s; /* the header, n bytes, not terminated */
    size_t n, i;   /* length, cursor */
    const char *path;
    mmx_st_file *f;
    mmx_st_span *spans;                 /* parallel to f->entries */
    size_t cap, span_cap, meta_cap;     /* of f->entries, spans, f->meta (in pairs) */
    int seen_meta;
} st_json;

/* A member's handler: the cursor is at its value; it may take ownership of *key. */
typedef mmx_status (*js_member_fn)(st_json *js, char **key, size_t key_at, void *ctx);

/* Offsets in messages count from the start of the file (8 + header index), so they can be
 * looked up in a hex dump. */
static mmx_status js_fail(const st_json *js, size_t at, const char *fmt, ...) MMX_PRINTF(3, 4);
static mmx_status js_fail(const st_json *js, size_t at, const char *fmt, ...)
{
    char what[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return mmx_fail(MMX_ERR_FORMAT, "mmx_st_read", "%s: header at file offset %zu: %s",
                    js->path, 8 + at, what);
}

static int js_peek(const st_json *js)
{
    return js->i < js->n ? (unsigned char)js->s[js->i] : -1;
}

static void js_ws(st_json *js)
{
    int c;
    while ((c = js_peek(js)) == ' ' || c == '\t' || c == '\n' || c == '\r') js->i++;
}

/* "expected <what>, found <the byte at the cursor>" */
static mmx_status js_expected(const st_json *js, const char *what)
{
    int c = js_peek(js);
    if (c < 0) return js_fail(js, js->i, "expected %s, found the end of the header", what);
    if (c >= 0x20 && c < 0x7f) return js_fail(js, js->i, "expected %s, found '%c'", what, c);
    return js_fail(js, js->i, "expected %s, found byte 0x%02x", what, (unsigned)c);
}

static mmx_status js_expect(st_json *js, char c, const char *what)
{
    js_ws(js);
    if (js_peek(js) != (unsigned char)c) return js_expected(js, what);
    js->i++;
    return MMX_OK;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes the escape at the cursor (a backslash) into *c. \u is limited to ASCII: a wider
 * one would need UTF-8 encoding and surrogate pairs, and \u0000 would cut a C string. */
static mmx_status js_escape(st_json *js, unsigned char *c)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    size_t at = js->i;
    if (at + 1 >= js->n) return js_fail(js, at, "unterminated string");
    char e = js->s[at + 1];
    const char *p = e ? strchr(from, e) : NULL;
    if (p) {
        *c = (unsigned char)to[p - from];
        js->i += 2;
        return MMX_OK;
    }
    if (e != 'u')
        return js_fail(js, at, "invalid escape (byte 0x%02x after '\\')", (unsigned char)e);
    if (at + 6 > js->n) return js_fail(js, at, "truncated \\u escape");
    unsigned v = 0;
    for (size_t k = 2; k < 6; k++) {
        int h = hex_digit(js->s[at + k]);
        if (h < 0) return js_fail(js, at, "invalid \\u escape (4 hex digits expected)");
        v = v * 16 + (unsigned)h;
    }
    if (v == 0 || v > 0x7f)
        return js_fail(js, at, "unsupported escape \\u%04x (only \\u0001-\\u007f)", v);
    *c = (unsigned char)v;
    js->i += 6;
    return MMX_OK;
}

/* Reads the string at the cursor, writing it (terminated) to dst unless dst is NULL, and
 * its length to *len. */
static mmx_status js_string(st_json *js, char *dst, size_t *len)
{
    if (js_peek(js) != '"') return js_expected(js, "a string");
    size_t start = js->i++, k = 0;
    for (;;) {
        int c = js_peek(js);
        if (c < 0) return js_fail(js, start, "unterminated string");
        if (c == '"') break;
        unsigned char ch = (unsigned char)c;
        if (c < 0x20) return js_fail(js, js->i, "control byte 0x%02x in a string", ch);
        if (c == '\\') {
            mmx_status st = js_escape(js, &ch);
            if (st) return st;
        } else {
            js->i++;
        }
        if (dst) dst[k] = (char)ch;
        k++;
    }
    js->i++;
    if (dst) dst[k] = '\0';
    *len = k;
    return MMX_OK;
}

/* The string at the cursor in a new allocation (measured first, then decoded). */
static mmx_status js_string_dup(st_json *js, char **out)
{
    size_t start = js->i, len;
    mmx_status st = js_string(js, NULL, &len);
    if (st) return st;
    char *s = malloc(len + 1);
    if (!s) return mmx_fail(MMX_ERR_NOMEM, "mmx_st_read", "%s: out of memory", js->path);
    js->i = start;
    js_string(js, s, &len);
    *out = s;
    return MMX_OK;
}

/* A non-negative integer <= INT64_MAX (shapes are int64_t; offsets never come close). */
static mmx_status js_uint(st_json *js, uint64_t *v)
{
    js_ws(js);
    int c = js_peek(js);
    if (c == '-') return js_fail(js, js->i, "negative number");
    if (c < '0' || c > '9') return js_expected(js, "a non-negative integer");
    size_t start = js->i;
    uint64_t x = 0;
    while ((c = js_peek(js)) >= '0' && c <= '9') {
        unsigned d = (unsigned)(c - '0');
        if (x > ((uint64_t)INT64_MAX - d) / 10) return js_fail(js, start, "integer too large");
        x = x * 10 + d;
        js->i++;
    }
    if (js->s[start] == '0' && js->i - start > 1)
        return js_fail(js, start, "integer with a leading zero");
    if (c == '.' || c == 'e' || c == 'E')
        return js_fail(js, start, "only integers are supported here");
    *v = x;
    return MMX_OK;
}

/* An array of at most cap integers at the cursor (after blanks). */
static mmx_status js_uint_array(st_json *js, uint64_t *v, int cap, int *count, const char *what)
{
    js_ws(js);
    size_t start = js->i;
    mmx_status st = js_expect(js, '[', "'['");
    if (st) return st;
    *count = 0;
    js_ws(js);
    if (js_peek(js) == ']') {
        js->i++;
        return MMX_OK;
    }
    for (;;) {
        if (*count == cap) return js_fail(js, start, "%s has more than %d entries", what, cap);
        st = js_uint(js, &v[(*count)++]);
        if (st) return st;
        js_ws(js);
        int c = js_peek(js);
        if (c != ',' && c != ']') return js_expected(js, "',' or ']'");
        js->i++;
        if (c == ']') return MMX_OK;
    }
}

/* The object at the cursor (after blanks): fn is called once per member. */
static mmx_status js_object(st_json *js, js_member_fn fn, void *ctx)
{
    mmx_status st = js_expect(js, '{', "'{'");
    if (st) return st;
    js_ws(js);
    if (js_peek(js) == '}') {
        js->i++;
        return MMX_OK;
    }
    for (;;) {
        char *key = NULL;
        js_ws(js);
        size_t at = js->i;
        st = js_string_dup(js, &key);
        if (!st) st = js_expect(js, ':', "':'");
        if (!st) {
            js_ws(js);
            st = fn(js, &key, at, ctx);
        }
        free(key);
        if (st) return st;
        js_ws(js);
        int c = js_peek(js);
        if (c != ',' && c != '}') return js_expected(js, "',' or '}'");
        js->i++;
        if (c == '}') return MMX_OK;
    }
}

/* Grows *p (of *cap elements of size elem) to hold need; 0 on success. */
static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? 2 * *cap : 16;
    void *q = realloc(*p, c * elem);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

static mmx_status meta_member(st_json *js, char **key, size_t key_at, void *ctx)
{
    (void)ctx;
    (void)key_at;
    char *value = NULL;
    if (js_peek(js) != '"') return js_expected(js, "a string (metadata values are strings)");
    mmx_status st = js_string_dup(js, &value);
    if (st) return st;
    mmx_st_file *f = js->f;
    void *m = f->meta;
    if (grow(&m, &js->meta_cap, (size_t)f->n_meta + 1, 2 * sizeof(char *))) {
        free(value);
        return mmx_fail(MMX_ERR_NOMEM, "mmx_st_read", "%s: out of memory", js->path);
    }
    f->meta = m;
    f->meta[2 * f->n_meta] = *key;
    f->meta[2 * f->n_meta + 1] = value;
    f->n_meta++;
    *key = NULL;
    return MMX_OK;
}

/* One tensor being read: its entry, its span, the keys seen (bit k for key k). */
typedef struct {
    mmx_st_entry *e;
    mmx_st_span *span;
    unsigned seen;
} st_tensor;

static const char *const tensor_keys[3] = {"dtype", "shape", "data_offsets"};

static mmx_status tensor_dtype(st_json *js, mmx_st_entry *e, size_t at)
{
    char *name = NULL;
    mmx_status st = js_string_dup(js, &name);
    if (st) return st;
    int t = 0;
    while (t <= MMX_ST_U8 && strcmp(name, mmx_st_dtype_name((mmx_st_dtype)t)) != 0) t++;
    if (t > MMX_ST_U8)
        st = js_fail(js, at, "tensor '%s': unsupported dtype '%.32s' (F32, F64, I32, I64, U8)",
                     e->name, name);
    e->dtype = (mmx_st_dtype)t;
    free(name);
    return st;
}

static mmx_status tensor_member(st_json *js, char **key, size_t key_at, void *ctx)
{
    st_tensor *t = ctx;
    int k = 0;
    while (k < 3 && strcmp(*key, tensor_keys[k]) != 0) k++;
    if (k == 3)
        return js_fail(js, key_at, "tensor '%s': unexpected key '%.64s'", t->e->name, *key);
    if (t->seen & (1u << k))
        return js_fail(js, key_at, "tensor '%s': duplicate key '%s'", t->e->name, *key);
    t->seen |= 1u << k;
    uint64_t v[MMX_ST_MAX_DIMS] = {0};
    int count = 0;
    size_t at = js->i;
    mmx_status st;
    if (k == 0) return tensor_dtype(js, t->e, at);
    char what[300];
    snprintf(what, sizeof what, "tensor '%s': %s", t->e->name, *key);
    if (k == 1) {
        st = js_uint_array(js, v, MMX_ST_MAX_DIMS, &count, what);
        for (int d = 0; d < count && !st; d++) t->e->shape[d] = (int64_t)v[d];
        t->e->ndim = st ? 0 : count;
        return st;
    }
    st = js_uint_array(js, v, 2, &count, what);
    if (!st && count != 2) st = js_fail(js, at, "%s has %d entries, expected 2", what, count);
    t->span->begin = v[0];
    t->span->end = v[1];
    return st;
}

/* After a tensor's object: all three keys, offsets in order, and as many bytes as the shape
 * needs (the check that makes a later memcpy of `bytes` safe). */
static mmx_status tensor_check(st_json *js, const st_tensor *t, size_t at)
{
    const mmx_st_entry *e = t->e;
    for (int k = 0; k < 3; k++)
        if (!(t->seen & (1u << k)))
            return js_fail(js, at, "tensor '%s': missing '%s'", e->name, tensor_keys[k]);
    unsigned long long b = t->span->begin, end = t->span->end;
    if (b > end)
        return js_fail(js, at, "tensor '%s': data_offsets [%llu, %llu] decrease", e->name, b,
                       end);
    uint64_t need;
    if (mmx_st_nbytes(e->dtype, e->ndim, e->shape, &need))
        return js_fail(js, at, "tensor '%s': shape too large (over 2^64 bytes)", e->name);
    if (need != end - b)
        return js_fail(js, at, "tensor '%s': a %s tensor of this shape needs %llu bytes, "
                       "data_offsets [%llu, %llu] hold %llu", e->name,
                       mmx_st_dtype_name(e->dtype), (unsigned long long)need, b, end, end - b);
    return MMX_OK;
}

static mmx_status tensor(st_json *js, const char *name, size_t at)
{
    mmx_st_file *f = js->f;
    if (strlen(name) > MMX_ST_MAX_NAME)
        return js_fail(js, at, "tensor name longer than %d bytes", MMX_ST_MAX_NAME);
    /* A 100 MB header holds at most ~2.5 million tensors (40+ bytes each): n fits an int. */
    size_t need = (size_t)f->n + 1;
    void *e = f->entries, *s = js->spans;
    int bad = grow(&e, &js->cap, need, sizeof(mmx_st_entry));
    f->entries = e;
    bad = bad || grow(&s, &js->span_cap, need, sizeof(mmx_st_span));
    js->spans = s;
    if (bad) return mmx_fail(MMX_ERR_NOMEM, "mmx_st_read", "%s: out of memory", js->path);
    st_tensor t = {&f->entries[f->n], &js->spans[f->n], 0};
    memset(t.e, 0, sizeof *t.e);
    memset(t.span, 0, sizeof *t.span);
    memcpy(t.e->name, name, strlen(name) + 1);
    f->n++;
    if (js_peek(js) != '{') return js_expected(js, "'{' (a tensor is an object)");
    mmx_status st = js_object(js, tensor_member, &t);
    return st ? st : tensor_check(js, &t, at);
}

static mmx_status top_member(st_json *js, char **key, size_t key_at, void *ctx)
{
    (void)ctx;
    if (strcmp(*key, "__metadata__") != 0) return tensor(js, *key, key_at);
    if (js->seen_meta) return js_fail(js, key_at, "duplicate \"__metadata__\"");
    js->seen_meta = 1;
    if (js_peek(js) != '{') return js_expected(js, "'{' (\"__metadata__\" is an object)");
    return js_object(js, meta_member, NULL);
}

mmx_status mmx_st_parse_header(mmx_st_file *f, mmx_st_span **spans, const char *path,
                               const char *json, size_t n)
{
    st_json js = {json, n, 0, path, f, NULL, 0, 0, 0, 0};
    js_ws(&js);
    mmx_status st = js_peek(&js) == '{' ? js_object(&js, top_member, NULL)
                                        : js_expected(&js, "'{' (the header is an object)");
    if (!st) {
        js_ws(&js);
        if (js.i < js.n) st = js_expected(&js, "only blanks after the header's object");
    }
    *spans = js.spans;
    return st;
}
