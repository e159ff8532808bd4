/*
 * images.c - IDX image and label files (Fashion-MNIST) and mini-batch assembly; see images.h.
 *
 * Loading validates everything the header of a file claims before trusting it (magic, sizes,
 * equal counts) and only then allocates, so a hostile or damaged file costs a message, never a
 * huge allocation or an out-of-bounds read.
 */
#include "data/images.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/internal.h"
#include "core/rng.h"

/* IDX magic: two zero bytes, the element type (0x08 = unsigned byte), the number of dims. */
#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAGIC_LABELS 0x00000801u
#define IDX_MAX_SIDE 4096u
#define IDX_MAX_N 100000000u
#define IDX_MAX_LABEL 254 /* images.h: a label > 254 is a format error */
/* gzread takes an unsigned count; large arrays are read in pieces of this size. */
#define IDX_CHUNK ((size_t)1 << 30)

/* The file being read, for messages. */
typedef struct {
    const char *fn;   /* the public function, for mmx_fail */
    const char *path; /* as given                          */
    int hint;         /* name the Debian package if the file is missing */
} idx_src;

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static mmx_status idx_open(gzFile *out, const idx_src *s)
{
    errno = 0;
    *out = gzopen(s->path, "rb");
    if (*out) return MMX_OK;
    int e = errno;
    if ((e == ENOENT || e == ENOTDIR) && s->hint)
        return mmx_fail(MMX_ERR_IO, s->fn,
                        "%s not found; install it with: sudo apt-get install %s "
                        "(or set MMX_FMNIST_DIR to a directory holding the files)",
                        s->path, MMX_FMNIST_PACKAGE);
    if (e == ENOENT || e == ENOTDIR) return mmx_fail(MMX_ERR_IO, s->fn, "%s not found", s->path);
    /* zlib leaves errno at 0 when its own allocation failed */
    return mmx_fail(MMX_ERR_IO, s->fn, "cannot open %s (%s)", s->path,
                    e ? strerror(e) : "out of memory");
}

/* zlib's message without the "path: " it puts in front. */
static const char *gz_message(gzFile f, const char *path, int *err)
{
    const char *m = gzerror(f, err);
    size_t n = strlen(path);
    return strncmp(m, path, n) == 0 && m[n] == ':' && m[n + 1] == ' ' ? m + n + 2 : m;
}

/* A read that stopped early: an OS error (IO), the end of the data (truncated), or a damaged
 * gzip stream. zlib reports a stream cut short as Z_BUF_ERROR, a plain file as a short read. */
static mmx_status idx_short(gzFile f, const idx_src *s, const char *what, size_t need,
                            size_t got)
{
    int err = Z_OK;
    const char *zmsg = gz_message(f, s->path, &err);
    if (err == Z_ERRNO)
        return mmx_fail(MMX_ERR_IO, s->fn, "cannot read the %s of %s (%s)", what, s->path,
                        strerror(errno));
    if (err == Z_OK || err == Z_BUF_ERROR)
        return mmx_fail(MMX_ERR_FORMAT, s->fn,
                        "%s is truncated: %zu bytes of %s expected, the data ends after %zu",
                        s->path, need, what, got);
    return mmx_fail(MMX_ERR_FORMAT, s->fn, "%s: damaged gzip data (%s)", s->path, zmsg);
}

/* Reads exactly `bytes` bytes; `what` names the part of the file for the message. */
static mmx_status idx_read(gzFile f, void *dst, size_t bytes, const idx_src *s, const char *what)
{
    unsigned char *p = dst;
    size_t done = 0;
    while (done < bytes) {
        size_t want = bytes - done < IDX_CHUNK ? bytes - done : IDX_CHUNK;
        int got = gzread(f, p + done, (unsigned)want);
        if (got <= 0) return idx_short(f, s, what, bytes, done);
        done += (size_t)got;
    }
    return MMX_OK;
}

/* After the last array a 1-byte read must meet the end. That makes zlib check the gzip
 * trailer's CRC (damage inside stored or deflated data is otherwise only caught by chance), and
 * rejects trailing bytes, which mean the header's sizes are wrong. */
static mmx_status idx_end(gzFile f, const idx_src *s)
{
    unsigned char extra;
    int got = gzread(f, &extra, 1);
    int err = Z_OK;
    const char *zmsg = gz_message(f, s->path, &err);
    if (got == 1)
        return mmx_fail(MMX_ERR_FORMAT, s->fn,
                        "%s: more data than its header announces (wrong sizes?)", s->path);
    if (err == Z_OK) return MMX_OK;
    if (err == Z_ERRNO)
        return mmx_fail(MMX_ERR_IO, s->fn, "cannot read %s (%s)", s->path, strerror(errno));
    return mmx_fail(MMX_ERR_FORMAT, s->fn, "%s: damaged gzip data (%s)", s->path, zmsg);
}

/* Opens an IDX file and reads its header: the magic, then ndims big-endian u32 sizes. On
 * failure the file is closed and *f is NULL. */
static mmx_status idx_header(gzFile *f, const idx_src *s, uint32_t magic, uint32_t *dims,
                             int ndims)
{
    unsigned char h[4 + 4 * 3];
    mmx_status st = idx_open(f, s);
    if (st != MMX_OK) return st;
    st = idx_read(*f, h, 4 + 4 * (size_t)ndims, s, "header");
    if (st == MMX_OK && be32(h) != magic)
        st = mmx_fail(MMX_ERR_FORMAT, s->fn,
                      "%s: bad magic 0x%08x, expected 0x%08x (unsigned bytes, %d dimension%s)",
                      s->path, (unsigned)be32(h), (unsigned)magic, ndims, ndims > 1 ? "s" : "");
    if (st != MMX_OK) {
        gzclose(*f);
        *f = NULL;
        return st;
    }
    for (int i = 0; i < ndims; i++) dims[i] = be32(h + 4 + 4 * i);
    return MMX_OK;
}

/* d = (n, rows, cols) of the images, nl = count of the labels. */
static mmx_status idx_check_sizes(const idx_src *si, const idx_src *sl, const uint32_t d[3],
                                  uint32_t nl)
{
    if (d[0] < 1 || d[0] > IDX_MAX_N)
        return mmx_fail(MMX_ERR_FORMAT, si->fn, "%s: %u images, expected 1 to %u", si->path,
                        (unsigned)d[0], IDX_MAX_N);
    if (d[1] < 1 || d[1] > IDX_MAX_SIDE || d[2] < 1 || d[2] > IDX_MAX_SIDE)
        return mmx_fail(MMX_ERR_FORMAT, si->fn,
                        "%s: images of %u x %u pixels, expected 1 to %u on each side", si->path,
                        (unsigned)d[1], (unsigned)d[2], IDX_MAX_SIDE);
    if (nl != d[0])
        return mmx_fail(MMX_ERR_FORMAT, si->fn, "%s holds %u images but %s holds %u labels",
                        si->path, (unsigned)d[0], sl->path, (unsigned)nl);
    return MMX_OK;
}

/* Labels are u8 on disk and int32 in memory. To keep one allocation per array the bytes are
 * read into the start of the int32 array and widened in place from the last one down: label i
 * is written to bytes [4i, 4i + 4), all >= i, so no byte is overwritten before it is widened. */
static mmx_status idx_labels(gzFile f, mmx_images *t, const idx_src *s)
{
    unsigned char *raw = (unsigned char *)t->labels;
    mmx_status st = idx_read(f, raw, (size_t)t->n, s, "labels");
    if (st != MMX_OK) return st;
    int32_t top = 0;
    for (int64_t i = t->n - 1; i >= 0; i--) {
        int32_t v = raw[i];
        if (v > IDX_MAX_LABEL)
            return mmx_fail(MMX_ERR_FORMAT, s->fn, "%s: label %d at index %lld, expected <= %d",
                            s->path, (int)v, (long long)i, IDX_MAX_LABEL);
        t->labels[i] = v;
        if (v > top) top = v;
    }
    t->classes = top + 1;
    return MMX_OK;
}

/* Allocates t's arrays and reads them from the two opened files (positioned after headers). */
static mmx_status idx_body(mmx_images *t, gzFile fi, gzFile fl, const idx_src *si,
                           const idx_src *sl)
{
    size_t npix = (size_t)t->n * (size_t)t->rows * (size_t)t->cols;
    t->pixels = malloc(npix);
    t->labels = malloc((size_t)t->n * sizeof *t->labels);
    if (!t->pixels || !t->labels)
        return mmx_fail(MMX_ERR_NOMEM, si->fn, "%s: no memory for %lld images of %lld x %lld",
                        si->path, (long long)t->n, (long long)t->rows, (long long)t->cols);
    mmx_status st = idx_read(fi, t->pixels, npix, si, "pixels");
    if (st == MMX_OK) st = idx_end(fi, si);
    if (st == MMX_OK) st = idx_labels(fl, t, sl);
    if (st == MMX_OK) st = idx_end(fl, sl);
    return st;
}

/* The loader behind both public functions; fn names the public one in messages. */
static mmx_status load_idx(mmx_images *im, const char *ipath, const char *lpath, const char *fn,
                           int hint)
{
    idx_src si = {fn, ipath, hint}, sl = {fn, lpath, hint};
    gzFile fi = NULL, fl = NULL;
    uint32_t d[3] = {0, 0, 0}, nl = 0;
    mmx_images t;
    memset(&t, 0, sizeof t);
    mmx_status st = idx_header(&fi, &si, IDX_MAGIC_IMAGES, d, 3);
    if (st == MMX_OK) st = idx_header(&fl, &sl, IDX_MAGIC_LABELS, &nl, 1);
    if (st == MMX_OK) st = idx_check_sizes(&si, &sl, d, nl);
    if (st == MMX_OK) {
        t.n = d[0];
        t.rows = d[1];
        t.cols = d[2];
        st = idx_body(&t, fi, fl, &si, &sl);
    }
    if (fi) gzclose(fi);
    if (fl) gzclose(fl);
    if (st != MMX_OK) {
        free(t.pixels);
        free(t.labels);
        return st;
    }
    *im = t;
    return MMX_OK;
}

static int has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

mmx_status mmx_images_load_idx(mmx_images *im, const char *images_path, const char *labels_path)
{
    if (im) memset(im, 0, sizeof *im);
    if (!im || !images_path || !labels_path)
        return mmx_fail(MMX_ERR_NULL, "mmx_images_load_idx", "%s is NULL",
                        !im ? "im" : !images_path ? "images_path" : "labels_path");
    int hint = has_prefix(images_path, MMX_FMNIST_DEFAULT_DIR "/") ||
               has_prefix(labels_path, MMX_FMNIST_DEFAULT_DIR "/");
    return load_idx(im, images_path, labels_path, "mmx_images_load_idx", hint);
}

/* One split: prefix "train" or "t10k". */
static mmx_status fmnist_split(mmx_images *out, const char *dir, const char *prefix)
{
    char ip[4096], lp[4096];
    int a = snprintf(ip, sizeof ip, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    int b = snprintf(lp, sizeof lp, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    if (a < 0 || b < 0 || (size_t)a >= sizeof ip || (size_t)b >= sizeof lp)
        return mmx_fail(MMX_ERR_PARAM, "mmx_fmnist_load", "directory name too long (%zu bytes)",
                        strlen(dir));
    /* Any missing file here is a missing dataset, wherever dir points: always say how to get it. */
    return load_idx(out, ip, lp, "mmx_fmnist_load", 1);
}

mmx_status mmx_fmnist_load(mmx_images *train, mmx_images *test, const char *dir)
{
    if (train) memset(train, 0, sizeof *train);
    if (test) memset(test, 0, sizeof *test);
    if (!dir) {
        dir = getenv("MMX_FMNIST_DIR");
        if (!dir || !dir[0]) dir = MMX_FMNIST_DEFAULT_DIR;
    }
    mmx_status st = MMX_OK;
    if (train) st = fmnist_split(train, dir, "train");
    if (st == MMX_OK && test) st = fmnist_split(test, dir, "t10k");
    if (st != MMX_OK && train) mmx_images_free(train);
    return st;
}

void mmx_images_truncate(mmx_images *im, int64_t n)
{
    /* The arrays keep their size (freed as usual) and classes is kept: the model's number of
     * outputs must not depend on which classes a small prefix happens to contain. */
    if (im && n >= 0 && n < im->n) im->n = n;
}

void mmx_images_free(mmx_images *im)
{
    if (!im) return;
    free(im->pixels);
    free(im->labels);
    memset(im, 0, sizeof *im);
}

/*
 * dst(r, c) = src(r + sy, c' + sx) with c' = (flip ? cols - 1 - c : c), or lut[0] where that
 * falls outside the image. (sy, sx) = (dy - pad, dx - pad): crop at offset (dy, dx) of the image
 * zero-padded by pad on every side, then mirror the crop left-right.
 */
static void shift_image(float *dst, const uint8_t *src, int64_t rows, int64_t cols, int64_t sy,
                        int64_t sx, int flip, const float lut[256])
{
    for (int64_t r = 0; r < rows; r++) {
        int64_t y = r + sy;
        float *out = dst + r * cols;
        for (int64_t c = 0; c < cols; c++) {
            int64_t x = (flip ? cols - 1 - c : c) + sx;
            int inside = y >= 0 && y < rows && x >= 0 && x < cols;
            out[c] = inside ? lut[src[y * cols + x]] : lut[0];
        }
    }
}

void mmx_images_batch(float *x, int32_t *y, const mmx_images *im, const int64_t *idx, int64_t bsz,
                      int augment, int pad, uint64_t seed, uint64_t stream, float mean, float std)
{
    /* 256 possible pixels: a table gives every image the same bits as the formula. */
    float lut[256];
    for (int p = 0; p < 256; p++) lut[p] = ((float)p / 255.0f - mean) / std;
    int64_t hw = im->rows * im->cols;
    if (pad < 0) pad = 0;
    for (int64_t j = 0; j < bsz; j++) {
        const uint8_t *src = im->pixels + idx[j] * hw;
        float *dst = x + j * hw; /* (rows, cols) */
        if (y) y[j] = im->labels[idx[j]];
        if (!augment) {
            for (int64_t k = 0; k < hw; k++) dst[k] = lut[src[k]];
            continue;
        }
        /* Draw order (part of the contract: resume replays it): generator
         * mmx_rng_derive(seed, stream, j); dy = mmx_rng_below(2 pad + 1); dx = the same;
         * flip = mmx_rng_uniform() < 0.5. */
        mmx_rng r;
        mmx_rng_derive(&r, seed, stream, (uint64_t)j);
        uint64_t span = 2 * (uint64_t)pad + 1;
        int64_t dy = (int64_t)mmx_rng_below(&r, span);
        int64_t dx = (int64_t)mmx_rng_below(&r, span);
        int flip = mmx_rng_uniform(&r) < 0.5;
        shift_image(dst, src, im->rows, im->cols, dy - pad, dx - pad, flip, lut);
    }
}
