/*
 * test_safetensors.c - the safetensors reader and writer: round trips of every dtype (a 0-d
 * scalar, a zero-size dim, 8 dims, misaligned data), metadata; a file built byte by byte
 * here, independently of the writer; corrupt files (every truncation, bad header lengths,
 * bad JSON, bad offsets and shapes, flipped and replaced header bytes) that must give
 * MMX_ERR_FORMAT and a zeroed file and never crash; the atomic write (a failure leaves the
 * old file byte-identical and no temporary file); mmx_st_get's checks and messages.
 */
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "train/safetensors.h"

static char g_dir[64];

/* dir/name in a rotating static buffer (four live at a time). */
static const char *in_dir(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
    return buf[k];
}

static void write_raw(const char *path, const void *p, size_t n)
{
    FILE *fp = fopen(path, "wb");
    if (!fp || (n && fwrite(p, 1, n, fp) != n) || fclose(fp) != 0) {
        perror(path);
        abort();
    }
}

/* The whole file (malloc'd, *n bytes), or NULL if it cannot be read. */
static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    unsigned char *p = malloc(1 << 20);
    *n = fread(p, 1, 1 << 20, fp);
    fclose(fp);
    return p;
}

/* An 8-byte little-endian length, the header text as given (no padding), then dlen bytes. */
static size_t build_file(unsigned char *out, const char *hdr, size_t hlen, const void *data,
                         size_t dlen)
{
    for (int k = 0; k < 8; k++) out[k] = (unsigned char)((uint64_t)hlen >> (8 * k));
    memcpy(out + 8, hdr, hlen);
    if (dlen) memcpy(out + 8 + hlen, data, dlen);
    return 8 + hlen + dlen;
}

static int is_zeroed(const mmx_st_file *f)
{
    static const mmx_st_file zero;
    return !memcmp(f, &zero, sizeof zero);
}

/* Files in g_dir whose name contains ".tmp." (left-over temporary files). */
static int count_tmp(void)
{
    DIR *d = opendir(g_dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += strstr(e->d_name, ".tmp.") != NULL;
    if (d) closedir(d);
    return n;
}

static void cleanup_dir(void)
{
    DIR *d = opendir(g_dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        const char *p = in_dir(e->d_name);
        if (unlink(p) != 0) rmdir(p);
    }
    if (d) closedir(d);
    rmdir(g_dir);
}

/* Reads path expecting MMX_ERR_FORMAT, a zeroed file and a message "mmx_st_read: <path>: "
 * containing want (if not NULL). */
static void expect_format(const char *path, const char *want)
{
    mmx_st_file f;
    memset(&f, 0xA5, sizeof f); /* garbage: the reader must zero it */
    mmx_status st = mmx_st_read(&f, path);
    CHECKF(st == MMX_ERR_FORMAT, "status %s (%s)", mmx_status_str(st), mmx_last_error());
    if (st == MMX_OK) mmx_st_free(&f);
    CHECK(is_zeroed(&f));
    char prefix[600];
    snprintf(prefix, sizeof prefix, "mmx_st_read: %s: ", path);
    const char *m = mmx_last_error();
    CHECKF(!strncmp(m, prefix, strlen(prefix)), "message '%s'", m);
    if (want) CHECKF(strstr(m, want) != NULL, "message '%s' lacks '%s'", m, want);
}

/* ---------------------------------------------------------------------------------
 * Round trips
 * ------------------------------------------------------------------------------- */

enum { NT = 8 };
static float g_f32[6], g_after[3];
static double g_f64[4], g_deep[1];
static int32_t g_i32[8];
static int64_t g_i64;
static uint8_t g_u8[5];

/* Every dtype; a scalar; a zero-size dim (NULL data); 8 dims; F32 after 5 bytes of U8, so
 * its data lie misaligned in the file buffer. */
static void make_tensors(mmx_st_tensor *t)
{
    for (int i = 0; i < 6; i++) g_f32[i] = (float)i * 1.5f - 2.0f;
    double d[4] = {-0.0, 1e300, INFINITY, 0.1};
    memcpy(g_f64, d, sizeof d);
    for (int i = 0; i < 8; i++) g_i32[i] = i == 0 ? INT32_MIN : i == 7 ? INT32_MAX : 3 * i - 7;
    g_i64 = -1234567890123LL;
    for (int i = 0; i < 5; i++) g_u8[i] = (uint8_t)(i * 63);
    g_deep[0] = 42.5;
    g_after[0] = 1.f, g_after[1] = -1e-30f, g_after[2] = 3e38f;
    mmx_st_tensor v[NT] = {
        {"w.f32", MMX_ST_F32, 2, {2, 3}, g_f32},
        {"b.f64", MMX_ST_F64, 1, {4}, g_f64},
        {"idx.i32", MMX_ST_I32, 3, {2, 2, 2}, g_i32},
        {"step", MMX_ST_I64, 0, {0}, &g_i64},
        {"empty", MMX_ST_U8, 2, {3, 0}, NULL},
        {"bytes", MMX_ST_U8, 1, {5}, g_u8},
        {"deep", MMX_ST_F64, 8, {1, 1, 1, 1, 1, 1, 1, 1}, g_deep},
        {"after.f32", MMX_ST_F32, 1, {3}, g_after},
    };
    memcpy(t, v, sizeof v);
}

static const char *const g_meta[] = {"format", "mmx-test", "empty", "",
                                     "odd {key}", "a b, c: [d] 'e' /f/"};

/* f holds exactly the tensors t (in order) and g_meta. */
static void check_contents(const mmx_st_file *f, const mmx_st_tensor *t, int n)
{
    CHECK_EQ_INT(f->n, n);
    CHECK_EQ_INT(f->n_meta, 3);
    for (int i = 0; i < n && i < f->n; i++) {
        const mmx_st_entry *e = &f->entries[i];
        T_CTX("round trip: tensor %s", t[i].name);
        CHECK(!strcmp(e->name, t[i].name));
        CHECK_EQ_INT(e->dtype, t[i].dtype);
        CHECK_EQ_INT(e->ndim, t[i].ndim);
        int64_t count = 1;
        for (int d = 0; d < t[i].ndim; d++) CHECK_EQ_INT(e->shape[d], t[i].shape[d]);
        for (int d = 0; d < t[i].ndim; d++) count *= t[i].shape[d];
        size_t bytes = (size_t)count * mmx_st_dtype_size(t[i].dtype);
        CHECK_EQ_INT(e->bytes, bytes);
        CHECK(mmx_st_find(f, t[i].name) == e);
        unsigned char got[64];
        memset(got, 0xEE, sizeof got);
        CHECK_STATUS(mmx_st_get(f, t[i].name, t[i].dtype, t[i].ndim, t[i].shape, got), MMX_OK);
        CHECK(!bytes || (!memcmp(got, t[i].data, bytes) && !memcmp(e->data, t[i].data, bytes)));
        CHECK(got[bytes] == 0xEE);
    }
    T_CTX("round trip: metadata");
    for (int i = 0; i < 3; i++) {
        const char *v = mmx_st_meta(f, g_meta[2 * i]);
        CHECKF(v && !strcmp(v, g_meta[2 * i + 1]), "key '%s'", g_meta[2 * i]);
    }
    CHECK(mmx_st_meta(f, "nope") == NULL);
    CHECK(mmx_st_find(f, "nope") == NULL);
}

static void test_round_trip(void)
{
    mmx_st_tensor t[NT];
    make_tensors(t);
    const char *p = in_dir("rt.safetensors");
    CHECK_STATUS(mmx_st_write(p, t, NT, g_meta, 3), MMX_OK);
    mmx_st_file f;
    CHECK_STATUS(mmx_st_read(&f, p), MMX_OK);
    check_contents(&f, t, NT);
    T_CTX("round trip: layout");
    size_t n = 0;
    unsigned char *raw = slurp(p, &n);
    uint64_t hlen = 0;
    for (int k = 7; k >= 0; k--) hlen = hlen << 8 | raw[k];
    CHECK_EQ_INT(hlen % 8, 0);
    CHECK(!memcmp(raw + 8, "{\"__metadata__\":{\"format\":\"mmx-test\"", 36));
    CHECK_EQ_INT(n, f.size);
    CHECK_EQ_INT(n, 8 + hlen + 24 + 32 + 32 + 8 + 0 + 5 + 8 + 12);
    CHECK(f.entries[7].data == (unsigned char *)f.buffer + 8 + hlen + 109);
    free(raw);
    mmx_st_free(&f);
    CHECK(is_zeroed(&f));
    mmx_st_free(&f); /* twice is harmless */

    T_CTX("round trip: nothing at all");
    CHECK_STATUS(mmx_st_write(p, NULL, 0, NULL, 0), MMX_OK);
    CHECK_STATUS(mmx_st_read(&f, p), MMX_OK);
    CHECK_EQ_INT(f.n, 0);
    CHECK_EQ_INT(f.n_meta, 0);
    CHECK_EQ_INT(f.size, 16);
    mmx_st_free(&f);

    T_CTX("round trip: no metadata");
    CHECK_STATUS(mmx_st_write(p, t, 2, NULL, 0), MMX_OK);
    CHECK_STATUS(mmx_st_read(&f, p), MMX_OK);
    CHECK(f.n == 2 && f.n_meta == 0 && !strcmp(f.entries[1].name, "b.f64"));
    raw = slurp(p, &n);
    CHECK(!memcmp(raw + 8, "{\"w.f32\":{\"dtype\":\"F32\",\"shape\":[2,3],", 38));
    free(raw);
    mmx_st_free(&f);
}

/* ---------------------------------------------------------------------------------
 * A file built by hand
 * ------------------------------------------------------------------------------- */

/* Tensors listed out of data order, keys in any order, blanks everywhere, every escape; the
 * data: a = {1.5f, -2.0f} at [0, 8), b = {7, -9} (I32) at [8, 16), c: empty U8 at 16. */
static const char g_hand[] =
    " {\"b\" : {\"dtype\":\"I32\", \"shape\":[ 2 ],\"data_offsets\":[8,16]},\n"
    "\t\"__metadata__\":{\"k\\\"\\\\\\/\":\"v\\n\\t\\r\\b\\f\\u0041\\u007e\", \"n\":\"1\"},\r\n"
    " \"a\":{\"shape\":[1,2],\"data_offsets\":[0, 8],\"dtype\":\"F32\"},"
    "\"c\":{\"data_offsets\":[16,16],\"dtype\":\"U8\",\"shape\":[0]}}   ";

static size_t hand_file(unsigned char *out)
{
    unsigned char data[16] = {0x00, 0x00, 0xC0, 0x3F, 0x00, 0x00, 0x00, 0xC0, /* 1.5f, -2.0f */
                              0x07, 0x00, 0x00, 0x00, 0xF7, 0xFF, 0xFF, 0xFF}; /* 7, -9 */
    return build_file(out, g_hand, strlen(g_hand), data, sizeof data);
}

static void test_hand_made(void)
{
    T_CTX("hand-made file");
    unsigned char buf[1024];
    size_t n = hand_file(buf);
    const char *p = in_dir("hand.safetensors");
    write_raw(p, buf, n);
    mmx_st_file f;
    CHECK_STATUS(mmx_st_read(&f, p), MMX_OK);
    CHECK_EQ_INT(f.n, 3);
    CHECK_EQ_INT(f.n_meta, 2);
    if (f.n == 3) { /* data order, not header order */
        CHECK(!strcmp(f.entries[0].name, "a") && !strcmp(f.entries[1].name, "b"));
        CHECK(!strcmp(f.entries[2].name, "c") && f.entries[2].bytes == 0);
    }
    float a[2];
    int32_t b[2];
    int64_t sa[2] = {1, 2}, sb[1] = {2}, sc[1] = {0};
    CHECK_STATUS(mmx_st_get(&f, "a", MMX_ST_F32, 2, sa, a), MMX_OK);
    CHECK_STATUS(mmx_st_get(&f, "b", MMX_ST_I32, 1, sb, b), MMX_OK);
    CHECK_STATUS(mmx_st_get(&f, "c", MMX_ST_U8, 1, sc, NULL), MMX_OK);
    CHECK(a[0] == 1.5f && a[1] == -2.0f && b[0] == 7 && b[1] == -9);
    const char *v = mmx_st_meta(&f, "k\"\\/");
    CHECKF(v && !strcmp(v, "v\n\t\r\b\fA~"), "value '%s'", v ? v : "(none)");
    CHECK(mmx_st_meta(&f, "n") && !strcmp(mmx_st_meta(&f, "n"), "1"));
    mmx_st_free(&f);
}

/* ---------------------------------------------------------------------------------
 * Corrupt files
 * ------------------------------------------------------------------------------- */

/* Every proper prefix of a written file and of the hand-made one. */
static void test_truncated(void)
{
    mmx_st_tensor t[NT];
    make_tensors(t);
    const char *src = in_dir("full.safetensors"), *p = in_dir("cut.safetensors");
    CHECK_STATUS(mmx_st_write(src, t, NT, g_meta, 3), MMX_OK);
    size_t n = 0;
    unsigned char *full = slurp(src, &n), hand[1024];
    size_t nh = hand_file(hand);
    for (size_t len = 0; len < n; len++) {
        T_CTX("written file truncated to %zu of %zu bytes", len, n);
        write_raw(p, full, len);
        expect_format(p, len < 8 ? "shorter than the 8-byte header length" : NULL);
    }
    for (size_t len = 0; len < nh; len++) {
        T_CTX("hand-made file truncated to %zu of %zu bytes", len, nh);
        write_raw(p, hand, len);
        expect_format(p, NULL);
    }
    free(full);
}

static void test_header_length(void)
{
    unsigned char buf[1024];
    size_t n = hand_file(buf);
    const char *p = in_dir("len.safetensors");
    const uint64_t lens[] = {n - 8 + 1, 100000001, UINT64_MAX, 1ull << 63};
    const char *const want[] = {"runs past the end", "over the limit", "over the limit",
                                "over the limit"};
    for (int i = 0; i < 4; i++) {
        T_CTX("header length %llu", (unsigned long long)lens[i]);
        for (int k = 0; k < 8; k++) buf[k] = (unsigned char)(lens[i] >> (8 * k));
        write_raw(p, buf, n);
        expect_format(p, want[i]);
    }
}

#define T1 "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}"
#define T2 "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}"

typedef struct {
    const char *hdr;
    size_t data; /* bytes of data after the header */
    const char *want; /* in the message */
} bad_case;

static const bad_case g_bad[] = {
    {"", 4, "expected '{'"},
    {"   ", 4, "file offset 11: expected '{'"},
    {"[]", 4, "file offset 8: expected '{'"},
    {T1, 4, "found the end of the header"},
    {T1 "}x", 4, "only blanks after"},
    {T1 ",}", 4, "expected a string"},
    {"{\"a\" {}}", 4, "expected ':'"},
    {"{'a':{}}", 4, "file offset 9: expected a string, found '''"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", 4, "only integers"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1e0],\"data_offsets\":[0,4]}}", 4, "only integers"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "negative"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[01],\"data_offsets\":[0,4]}}", 4, "leading zero"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,99999999999999999999]}}", 4,
     "integer too large"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[[1]],\"data_offsets\":[0,4]}}", 4, "non-negative"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1,],\"data_offsets\":[0,4]}}", 4, "non-negative"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1 2],\"data_offsets\":[0,4]}}", 4, "',' or ']'"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":true,\"data_offsets\":[0,4]}}", 4, "expected '['"},
    {"{\"a\":{\"dtype\":null,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "expected a string"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4,
     "tensor 'a': unexpected key 'x'"},
    {"{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
     "tensor 'a': duplicate key 'dtype'"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "tensor 'a': missing 'data_offsets'"},
    {"{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'a': missing 'dtype'"},
    {"{\"a\":1}", 4, "a tensor is an object"},
    {"{\"a", 4, "unterminated string"},
    {"{\"a\\x\":{}}", 4, "invalid escape"},
    {"{\"a\\u00e9\":{}}", 4, "unsupported escape \\u00e9"},
    {"{\"a\\u0000\":{}}", 4, "unsupported escape \\u0000"},
    {"{\"a\\u12\":{}}", 4, "invalid \\u escape"},
    {"{\"a\\u1", 4, "truncated \\u escape"},
    {"{\"a\\", 4, "unterminated string"},
    {"{\"a\nb\":{}}", 4, "control byte 0x0a"},
    {"{\"__metadata__\":{\"k\":1}}", 0, "metadata values are strings"},
    {"{\"__metadata__\":{\"k\":{}}}", 0, "metadata values are strings"},
    {"{\"__metadata__\":\"x\"}", 0, "\"__metadata__\" is an object"},
    {"{\"__metadata__\":{},\"__metadata__\":{}}", 0, "duplicate \"__metadata__\""},
    {"{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, "duplicate metadata key 'k'"},
    {T1 ",\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
     "duplicate tensor 'a'"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4,
     "tensor 'a': data_offsets has 1 entries"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 4,
     "tensor 'a': data_offsets has more than 2 entries"},
    {"{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1,
     "tensor 'a': shape has more than 8 entries"},
    {"{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4,
     "tensor 'a': unsupported dtype 'F16'"},
    {"{\"a\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "unsupported dtype"},
    {"{\"a\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unsupported dtype"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4, "decrease"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,4]}}", 4,
     "tensor 'a': a F32 tensor of this shape needs 12 bytes, data_offsets [0, 4] hold 4"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
     "\"data_offsets\":[0,4]}}", 4, "shape too large"},
    /* offsets against the data buffer */
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
     "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12,
     "tensor 'b': data_offsets [4, 12] overlap tensor 'a'"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
     "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}", 8, "overlap tensor 'a'"},
    {T1 ",\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12,
     "bytes [4, 8) of the data buffer belong to no tensor (gap before 'b')"},
    {T1 "," T2 "}", 4, "tensor 'b': data_offsets [4, 8] outside the 4-byte data buffer"},
    {T1 "}", 8, "bytes [4, 8) of the data buffer belong to no tensor (gap at the end)"},
    {"{}", 4, "gap at the end"},
    {"{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "gap before 'b'"},
};

static void test_bad_headers(void)
{
    const char *p = in_dir("bad.safetensors");
    static const unsigned char zeros[64];
    unsigned char buf[1024];
    for (size_t i = 0; i < sizeof g_bad / sizeof g_bad[0]; i++) {
        T_CTX("bad header %zu: %s", i, g_bad[i].hdr);
        write_raw(p, buf, build_file(buf, g_bad[i].hdr, strlen(g_bad[i].hdr), zeros,
                                     g_bad[i].data));
        expect_format(p, g_bad[i].want);
    }
    T_CTX("tensor name of 256 bytes");
    char hdr[600];
    memset(hdr, 'n', sizeof hdr);
    hdr[0] = '{', hdr[1] = '"';
    snprintf(hdr + 258, sizeof hdr - 258,
             "\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[0,1]}}");
    write_raw(p, buf, build_file(buf, hdr, strlen(hdr), zeros, 1));
    expect_format(p, "file offset 9: tensor name longer than 255 bytes");
    T_CTX("tensor name of 255 bytes is fine");
    memmove(hdr + 1, hdr + 2, strlen(hdr + 2) + 1);
    hdr[1] = '"';
    write_raw(p, buf, build_file(buf, hdr, strlen(hdr), zeros, 1));
    mmx_st_file f;
    CHECK_STATUS(mmx_st_read(&f, p), MMX_OK);
    CHECK(f.n == 1 && strlen(f.entries[0].name) == 255);
    mmx_st_free(&f);
}

/* Reads a mutated file: it must parse (then its entries lie inside the buffer) or fail with
 * MMX_ERR_FORMAT and a zeroed file; a crash or an overrun is caught by ASan. */
static void read_mutant(const char *p, const unsigned char *buf, size_t n)
{
    write_raw(p, buf, n);
    mmx_st_file f;
    mmx_status st = mmx_st_read(&f, p);
    CHECKF(st == MMX_OK || st == MMX_ERR_FORMAT, "status %s", mmx_status_str(st));
    if (st != MMX_OK) {
        CHECK(is_zeroed(&f));
        return;
    }
    const unsigned char *lo = f.buffer, *hi = lo + f.size;
    size_t total = 0;
    for (int i = 0; i < f.n; i++) {
        const unsigned char *d = f.entries[i].data;
        CHECK(d >= lo && d + f.entries[i].bytes <= hi);
        total += f.entries[i].bytes;
    }
    CHECK(total <= f.size);
    mmx_st_free(&f);
}

/* Every header byte (the length too) flipped by every single bit and by 0xFF, and replaced
 * by each JSON-significant character. */
static void test_mutations(void)
{
    const char *p = in_dir("mut.safetensors");
    unsigned char buf[1024];
    size_t n = hand_file(buf), hend = 8 + strlen(g_hand);
    static const unsigned char masks[] = {1, 2, 4, 8, 16, 32, 64, 128, 255};
    static const char subst[] = "\"\\{}[],:0-9 u\n";
    int before = t_fail_count;
    for (size_t pos = 0; pos < hend; pos++) {
        unsigned char orig = buf[pos];
        T_CTX("header byte %zu flipped", pos);
        for (size_t m = 0; m < sizeof masks; m++) {
            buf[pos] = orig ^ masks[m];
            read_mutant(p, buf, n);
        }
        T_CTX("header byte %zu replaced", pos);
        for (size_t c = 0; c < sizeof subst - 1; c++) {
            buf[pos] = (unsigned char)subst[c];
            read_mutant(p, buf, n);
        }
        buf[pos] = orig;
        if (t_fail_count > before + 20) break; /* one bug, not thousands of lines */
    }
}

/* ---------------------------------------------------------------------------------
 * Atomic writes
 * ------------------------------------------------------------------------------- */

static void test_write_fails_io(void)
{
    mmx_st_tensor t[NT];
    make_tensors(t);
    T_CTX("write into a missing directory");
    const char *p = in_dir("missing/x.safetensors");
    CHECK_STATUS(mmx_st_write(p, t, NT, g_meta, 3), MMX_ERR_IO);
    const char *m = mmx_last_error();
    CHECKF(strstr(m, p) && strstr(m, strerror(ENOENT)), "message '%s'", m);
    struct stat sb;
    CHECK(stat(in_dir("missing"), &sb) != 0);
    CHECK_EQ_INT(count_tmp(), 0);

    T_CTX("write over a directory (the rename fails after the data are written)");
    const char *d = in_dir("sub.safetensors");
    CHECK(mkdir(d, 0700) == 0);
    CHECK_STATUS(mmx_st_write(d, t, NT, g_meta, 3), MMX_ERR_IO);
    m = mmx_last_error();
    CHECKF(strstr(m, d) && strstr(m, "rename"), "message '%s'", m);
    CHECK(stat(d, &sb) == 0 && S_ISDIR(sb.st_mode));
    CHECK_EQ_INT(count_tmp(), 0);
    CHECK_STATUS(mmx_st_write(NULL, t, NT, g_meta, 3), MMX_ERR_NULL);
}

static void test_overwrite(void)
{
    T_CTX("write over an existing file");
    const char *p = in_dir("ck.safetensors");
    float a[2] = {1, 2}, b[3] = {3, 4, 5};
    mmx_st_tensor ta = {"a", MMX_ST_F32, 1, {2}, a}, tb = {"b", MMX_ST_F32, 1, {3}, b};
    CHECK_STATUS(mmx_st_write(p, &ta, 1, NULL, 0), MMX_OK);
    CHECK_STATUS(mmx_st_write(p, &tb, 1, NULL, 0), MMX_OK);
    mmx_st_file f;
    CHECK_STATUS(mmx_st_read(&f, p), MMX_OK);
    float got[3] = {0};
    CHECK(f.n == 1 && !mmx_st_find(&f, "a"));
    CHECK_STATUS(mmx_st_get(&f, "b", MMX_ST_F32, 1, tb.shape, got), MMX_OK);
    CHECK(!memcmp(got, b, sizeof b));
    mmx_st_free(&f);
    CHECK_EQ_INT(count_tmp(), 0);

    T_CTX("write to a relative path (the directory synced is \".\")");
    char cwd[512];
    CHECK(getcwd(cwd, sizeof cwd) && chdir(g_dir) == 0);
    CHECK_STATUS(mmx_st_write("rel.safetensors", &ta, 1, NULL, 0), MMX_OK);
    CHECK_STATUS(mmx_st_read(&f, "rel.safetensors"), MMX_OK);
    CHECK(f.n == 1 && !strcmp(f.path, "rel.safetensors"));
    mmx_st_free(&f);
    CHECK(chdir(cwd) == 0);
}

/* Each bad call must fail with its status and leave the existing file byte-identical. */
static void test_write_rejects(void)
{
    const char *p = in_dir("keep.safetensors");
    mmx_st_tensor good[NT];
    make_tensors(good);
    CHECK_STATUS(mmx_st_write(p, good, NT, g_meta, 3), MMX_OK);
    size_t n0 = 0, n1 = 0;
    unsigned char *before = slurp(p, &n0);
    char long_name[300];
    memset(long_name, 'x', 256);
    long_name[256] = '\0';
    const char *names[] = {"a\"b", "a\\b", "a\nb", "caf\xc3\xa9", "__metadata__", "", long_name};
    for (int c = 0; c < 17; c++) {
        mmx_st_tensor t[NT];
        memcpy(t, good, sizeof t);
        const char *meta[6];
        memcpy(meta, g_meta, sizeof meta);
        int n = NT, n_meta = 3;
        mmx_status want = MMX_ERR_PARAM;
        if (c < 7) t[3].name = names[c];
        else if (c == 7) t[5].name = t[1].name;           /* duplicate */
        else if (c == 8) t[0].ndim = MMX_ST_MAX_DIMS + 1;
        else if (c == 9) t[0].ndim = -1;
        else if (c == 10) t[2].shape[1] = -2;
        else if (c == 11) t[0].dtype = (mmx_st_dtype)7;
        else if (c == 12) meta[2] = "k\"";
        else if (c == 13) meta[4] = "";                   /* empty key */
        else if (c == 14) meta[4] = meta[0];              /* duplicate key */
        else if (c == 15) t[1].data = NULL, want = MMX_ERR_NULL;
        else n = -1;
        T_CTX("rejected write %d", c);
        CHECK_STATUS(mmx_st_write(p, t, n, meta, n_meta), want);
        unsigned char *after = slurp(p, &n1);
        CHECK(n1 == n0 && !memcmp(before, after, n0));
        free(after);
        CHECK_EQ_INT(count_tmp(), 0);
    }
    T_CTX("rejected write: a NULL metadata string");
    const char *meta_null[2] = {"k", NULL};
    CHECK_STATUS(mmx_st_write(p, good, NT, meta_null, 1), MMX_ERR_NULL);
    CHECK_STATUS(mmx_st_write(p, good, NT, NULL, 1), MMX_ERR_NULL);
    free(before);
}

/* ---------------------------------------------------------------------------------
 * mmx_st_get and reading errors
 * ------------------------------------------------------------------------------- */

static void expect_get_msg(const mmx_st_file *f, mmx_st_dtype dt, int ndim, const int64_t *shape,
                           const char *want)
{
    float dst[4] = {-7, -7, -7, -7};
    CHECK_STATUS(mmx_st_get(f, "m", dt, ndim, shape, dst), MMX_ERR_FORMAT);
    const char *m = mmx_last_error();
    CHECKF(strstr(m, want) != NULL, "message '%s' lacks '%s'", m, want);
    CHECK(dst[0] == -7 && dst[3] == -7);
}

static void test_get(void)
{
    static float m[64 * 128];
    int64_t s = 5;
    mmx_st_tensor t[2] = {{"m", MMX_ST_F32, 2, {64, 128}, m}, {"s", MMX_ST_I64, 0, {0}, &s}};
    for (int i = 0; i < 64 * 128; i++) m[i] = (float)i;
    const char *p = in_dir("get.safetensors");
    CHECK_STATUS(mmx_st_write(p, t, 2, NULL, 0), MMX_OK);
    mmx_st_file f;
    CHECK_STATUS(mmx_st_read(&f, p), MMX_OK);
    char want[600];
    T_CTX("mmx_st_get: transposed shape");
    int64_t tr[2] = {128, 64}, ok[2] = {64, 128}, flat[1] = {64 * 128};
    snprintf(want, sizeof want, "mmx_st_get: %s(m): expected F32 (128, 64), found F32 (64, 128)",
             p);
    expect_get_msg(&f, MMX_ST_F32, 2, tr, want);
    T_CTX("mmx_st_get: dtype and rank");
    expect_get_msg(&f, MMX_ST_F64, 2, ok, "expected F64 (64, 128), found F32 (64, 128)");
    expect_get_msg(&f, MMX_ST_F32, 1, flat, "expected F32 (8192), found F32 (64, 128)");
    expect_get_msg(&f, MMX_ST_F32, 0, NULL, "expected F32 (), found F32 (64, 128)");
    T_CTX("mmx_st_get: missing tensor");
    CHECK_STATUS(mmx_st_get(&f, "x", MMX_ST_F32, 2, ok, m), MMX_ERR_FORMAT);
    snprintf(want, sizeof want, "mmx_st_get: %s: no tensor 'x'", p);
    CHECKF(!strcmp(mmx_last_error(), want), "message '%s'", mmx_last_error());
    T_CTX("mmx_st_get: arguments");
    CHECK_STATUS(mmx_st_get(&f, "m", MMX_ST_F32, MMX_ST_MAX_DIMS + 1, ok, m), MMX_ERR_PARAM);
    CHECK_STATUS(mmx_st_get(&f, "m", (mmx_st_dtype)9, 2, ok, m), MMX_ERR_PARAM);
    CHECK_STATUS(mmx_st_get(&f, "m", MMX_ST_F32, 2, ok, NULL), MMX_ERR_NULL);
    CHECK_STATUS(mmx_st_get(&f, "m", MMX_ST_F32, 2, NULL, m), MMX_ERR_NULL);
    CHECK_STATUS(mmx_st_get(NULL, "m", MMX_ST_F32, 2, ok, m), MMX_ERR_NULL);
    T_CTX("mmx_st_get: success");
    static float back[64 * 128];
    int64_t sv = 0;
    CHECK_STATUS(mmx_st_get(&f, "m", MMX_ST_F32, 2, ok, back), MMX_OK);
    CHECK(!memcmp(back, m, sizeof m));
    CHECK_STATUS(mmx_st_get(&f, "s", MMX_ST_I64, 0, NULL, &sv), MMX_OK);
    CHECK_EQ_INT(sv, 5);
    mmx_st_free(&f);
}

static void test_read_errors(void)
{
    mmx_st_file f;
    T_CTX("read: NULL arguments");
    CHECK_STATUS(mmx_st_read(NULL, in_dir("x")), MMX_ERR_NULL);
    memset(&f, 0x5A, sizeof f);
    CHECK_STATUS(mmx_st_read(&f, NULL), MMX_ERR_NULL);
    CHECK(is_zeroed(&f));
    T_CTX("read: missing file");
    const char *p = in_dir("absent.safetensors");
    memset(&f, 0x5A, sizeof f);
    CHECK_STATUS(mmx_st_read(&f, p), MMX_ERR_IO);
    CHECK(is_zeroed(&f));
    const char *m = mmx_last_error();
    CHECKF(strstr(m, p) && strstr(m, strerror(ENOENT)), "message '%s'", m);
    T_CTX("read: a directory");
    CHECK_STATUS(mmx_st_read(&f, g_dir), MMX_ERR_IO);
    CHECK(is_zeroed(&f));
    mmx_st_free(&f);
    mmx_st_free(NULL);
    T_CTX("dtype helpers");
    CHECK(mmx_st_dtype_size(MMX_ST_F32) == 4 && mmx_st_dtype_size(MMX_ST_F64) == 8);
    CHECK(mmx_st_dtype_size(MMX_ST_I32) == 4 && mmx_st_dtype_size(MMX_ST_I64) == 8);
    CHECK(mmx_st_dtype_size(MMX_ST_U8) == 1 && mmx_st_dtype_size((mmx_st_dtype)5) == 0);
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/mmx_st_test_XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_round_trip();
    test_hand_made();
    test_truncated();
    test_header_length();
    test_bad_headers();
    test_mutations();
    test_write_fails_io();
    test_overwrite();
    test_write_rejects();
    test_get();
    test_read_errors();
    cleanup_dir();
    return t_summary();
}
