/*
 * test_images.c - the IDX loader and batch assembly of src/data/images.h: small files written
 * here (gzipped and plain) read back exactly, every error path (status, message, *im left
 * zero), the batch formula, the augmentation's properties and documented draw order, and the
 * real Fashion-MNIST set (its absence is a failure that says how to install it, never a skip).
 */
#include <unistd.h> /* rmdir */
#include <zlib.h>

#include "harness.h"

#include "core/rng.h"
#include "data/images.h"

/* ---------------------------------------------------------------------------------
 * Temporary files: everything lives in one mkdtemp directory, removed at the end.
 * ------------------------------------------------------------------------------- */

static char g_dir[] = "/tmp/mmx_test_images_XXXXXX";
#define T_MAX_FILES 64
static char g_files[T_MAX_FILES][512];
static int g_nfiles;

/* g_dir/name, remembered for removal. */
static const char *tmp_path(const char *name)
{
    if (g_nfiles >= T_MAX_FILES) abort(); /* a bug in this test, not in the library */
    char *p = g_files[g_nfiles++];
    snprintf(p, sizeof g_files[0], "%s/%s", g_dir, name);
    return p;
}

/* Writes bytes to g_dir/name, through gzip when gz; returns the path. */
static const char *write_raw(const char *name, int gz, const unsigned char *bytes, size_t n)
{
    const char *path = tmp_path(name);
    int ok;
    if (gz) {
        gzFile f = gzopen(path, "wb");
        ok = f && (n == 0 || gzwrite(f, bytes, (unsigned)n) == (int)n);
        ok = f && gzclose(f) == Z_OK && ok;
    } else {
        FILE *f = fopen(path, "wb");
        ok = f && fwrite(bytes, 1, n, f) == n;
        ok = f && fclose(f) == 0 && ok;
    }
    if (!ok) {
        fprintf(stderr, "test_images: cannot write %s\n", path);
        abort();
    }
    return path;
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* An IDX file: magic, nd big-endian sizes, then data (n bytes, whatever the sizes say). */
static const char *write_idx(const char *name, int gz, uint32_t magic, const uint32_t *dims,
                             int nd, const unsigned char *data, size_t n)
{
    size_t len = 4 + 4 * (size_t)nd + n;
    unsigned char *buf = malloc(len);
    if (!buf) abort();
    put_be32(buf, magic);
    for (int i = 0; i < nd; i++) put_be32(buf + 4 + 4 * i, dims[i]);
    if (n) memcpy(buf + 4 + 4 * nd, data, n);
    const char *path = write_raw(name, gz, buf, len);
    free(buf);
    return path;
}

static unsigned char *read_whole(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) abort();
    unsigned char *buf = malloc(1 << 20);
    if (!buf) abort();
    *n = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static void cleanup(void)
{
    for (int i = 0; i < g_nfiles; i++) remove(g_files[i]);
    if (rmdir(g_dir) != 0) fprintf(stderr, "test_images: could not remove %s\n", g_dir);
}

/* ---------------------------------------------------------------------------------
 * The small set: N images of R x C (R != C, so a transposition shows), random pixels.
 * ------------------------------------------------------------------------------- */

enum { N = 7, R = 5, C = 4 };
static unsigned char g_pix[N * R * C];
static unsigned char g_lab[N];

static void make_small_set(void)
{
    t_rng rng = t_rng_seed(11);
    for (int i = 0; i < N * R * C; i++) g_pix[i] = (unsigned char)t_randint(&rng, 256);
    g_pix[0] = 0;
    g_pix[1] = 255;
    for (int i = 0; i < N; i++) g_lab[i] = (unsigned char)((i * 5 + 2) % 3); /* 2 1 0 2 1 0 2 */
}

static const uint32_t g_idims[3] = {N, R, C};
static const uint32_t g_ldims[1] = {N};

static int is_zero(const mmx_images *im)
{
    return im->n == 0 && im->rows == 0 && im->cols == 0 && !im->pixels && !im->labels &&
           im->classes == 0;
}

static void check_small(const mmx_images *im)
{
    CHECK_EQ_INT(im->n, N);
    CHECK_EQ_INT(im->rows, R);
    CHECK_EQ_INT(im->cols, C);
    CHECK_EQ_INT(im->classes, 3);
    if (im->n != N || im->rows != R || im->cols != C) return;
    CHECK(memcmp(im->pixels, g_pix, sizeof g_pix) == 0);
    int bad = 0;
    for (int i = 0; i < N; i++) bad += im->labels[i] != g_lab[i];
    CHECKF(bad == 0, "%d labels differ", bad);
}

static void test_load_exact(void)
{
    const char *igz = write_idx("img.gz", 1, 0x803, g_idims, 3, g_pix, sizeof g_pix);
    const char *ipl = write_idx("img", 0, 0x803, g_idims, 3, g_pix, sizeof g_pix);
    const char *lgz = write_idx("lab.gz", 1, 0x801, g_ldims, 1, g_lab, sizeof g_lab);
    const char *lpl = write_idx("lab", 0, 0x801, g_ldims, 1, g_lab, sizeof g_lab);
    const char *pairs[3][2] = {{igz, lpl}, {ipl, lgz}, {igz, lgz}};
    for (int k = 0; k < 3; k++) {
        T_CTX("load %s + %s", pairs[k][0], pairs[k][1]);
        mmx_images im;
        CHECK_STATUS(mmx_images_load_idx(&im, pairs[k][0], pairs[k][1]), MMX_OK);
        check_small(&im);
        mmx_images_free(&im);
        CHECK(is_zero(&im));
    }
    T_CTX("labels up to 254");
    unsigned char hi[N] = {0, 254, 128, 127, 200, 1, 254};
    const char *lhi = write_idx("lab-hi.gz", 1, 0x801, g_ldims, 1, hi, N);
    mmx_images h;
    CHECK_STATUS(mmx_images_load_idx(&h, igz, lhi), MMX_OK);
    CHECK_EQ_INT(h.classes, 255);
    for (int i = 0; i < N && h.labels; i++) CHECK_EQ_INT(h.labels[i], hi[i]);
    mmx_images_free(&h);
    T_CTX("truncate");
    mmx_images im;
    CHECK_STATUS(mmx_images_load_idx(&im, igz, lpl), MMX_OK);
    mmx_images_truncate(&im, 3);
    CHECK_EQ_INT(im.n, 3);
    CHECK_EQ_INT(im.classes, 3);
    CHECK(memcmp(im.pixels, g_pix, 3 * R * C) == 0);
    mmx_images_truncate(&im, 99); /* beyond n: unchanged */
    CHECK_EQ_INT(im.n, 3);
    mmx_images_free(&im);
    mmx_images_free(NULL);
}

/* ---------------------------------------------------------------------------------
 * Error paths
 * ------------------------------------------------------------------------------- */

/* A load that must fail with `want`, leave *im zero, and name must1 (and must2) in the message. */
static void expect_fail(const char *what, const char *ip, const char *lp, mmx_status want,
                        const char *must1, const char *must2)
{
    mmx_images im;
    memset(&im, 0xAB, sizeof im);
    T_CTX("load error: %s", what);
    CHECK_STATUS(mmx_images_load_idx(&im, ip, lp), want);
    CHECK(is_zero(&im));
    const char *msg = mmx_last_error();
    if (must1) CHECKF(strstr(msg, must1) != NULL, "message \"%s\" lacks \"%s\"", msg, must1);
    if (must2) CHECKF(strstr(msg, must2) != NULL, "message \"%s\" lacks \"%s\"", msg, must2);
}

static void test_errors_open(const char *img, const char *lab)
{
    const char *none = tmp_path("no-such-images.gz");
    expect_fail("missing images", none, lab, MMX_ERR_IO, none, "not found");
    CHECKF(!strstr(mmx_last_error(), MMX_FMNIST_PACKAGE), "%s", mmx_last_error());
    const char *nol = tmp_path("no-such-labels.gz");
    expect_fail("missing labels", img, nol, MMX_ERR_IO, nol, "not found");
    const char *def = MMX_FMNIST_DEFAULT_DIR "/no-such-file-idx3-ubyte.gz";
    expect_fail("missing file in the default dir", def, lab, MMX_ERR_IO, def,
                "sudo apt-get install " MMX_FMNIST_PACKAGE);
    expect_fail("a directory", g_dir, lab, MMX_ERR_IO, g_dir, NULL);
    expect_fail("NULL images path", NULL, lab, MMX_ERR_NULL, "images_path", NULL);
    expect_fail("NULL labels path", img, NULL, MMX_ERR_NULL, "labels_path", NULL);
    T_CTX("load error: NULL im");
    CHECK_STATUS(mmx_images_load_idx(NULL, img, lab), MMX_ERR_NULL);
}

static void test_errors_header(const char *img, const char *lab)
{
    const char *p;
    p = write_idx("m801.gz", 1, 0x801, g_idims, 3, g_pix, sizeof g_pix);
    expect_fail("images with the labels' magic", p, lab, MMX_ERR_FORMAT, p, "magic");
    p = write_idx("m802", 0, 0x802, g_idims, 3, g_pix, sizeof g_pix);
    expect_fail("images with 2 dims", p, lab, MMX_ERR_FORMAT, p, "magic");
    p = write_idx("m903", 0, 0x903, g_idims, 3, g_pix, sizeof g_pix);
    expect_fail("images of signed bytes", p, lab, MMX_ERR_FORMAT, p, "magic");
    p = write_idx("l803", 0, 0x803, g_ldims, 1, g_lab, sizeof g_lab);
    expect_fail("labels with the images' magic", img, p, MMX_ERR_FORMAT, p, "magic");
    p = write_raw("short-header", 0, (const unsigned char *)"\0\0\x08\x03\0\0", 6);
    expect_fail("header cut short", p, lab, MMX_ERR_FORMAT, p, "truncated");
    p = write_raw("empty.gz", 1, NULL, 0);
    expect_fail("empty file", p, lab, MMX_ERR_FORMAT, p, "truncated");
    uint32_t d[3] = {N, 0, C};
    p = write_idx("rows0", 0, 0x803, d, 3, g_pix, 0);
    expect_fail("0 rows", p, lab, MMX_ERR_FORMAT, p, "pixels");
    d[1] = R;
    d[2] = 4097;
    p = write_idx("cols4097", 0, 0x803, d, 3, g_pix, 0);
    expect_fail("4097 cols", p, lab, MMX_ERR_FORMAT, p, "4097");
    uint32_t big[3] = {100000001u, R, C}, bigl[1] = {100000001u}, zero[3] = {0, R, C};
    const char *pl = write_idx("n-big-labels", 0, 0x801, bigl, 1, g_lab, 0);
    p = write_idx("n-big", 0, 0x803, big, 3, g_pix, 0);
    expect_fail("1e8 + 1 images", p, pl, MMX_ERR_FORMAT, p, "100000001");
    p = write_idx("n0", 0, 0x803, zero, 3, g_pix, 0);
    expect_fail("0 images", p, lab, MMX_ERR_FORMAT, p, "0 images");
    uint32_t fewer[1] = {N - 1};
    p = write_idx("lab6", 0, 0x801, fewer, 1, g_lab, N - 1);
    expect_fail("count mismatch", img, p, MMX_ERR_FORMAT, img, p);
}

static void test_errors_data(const char *img, const char *lab)
{
    const char *p;
    p = write_idx("cut-pixels", 0, 0x803, g_idims, 3, g_pix, sizeof g_pix - 1);
    expect_fail("pixels cut short (plain)", p, lab, MMX_ERR_FORMAT, p, "truncated");
    p = write_idx("cut-pixels.gz", 1, 0x803, g_idims, 3, g_pix, sizeof g_pix / 2);
    expect_fail("pixels cut short (gzip)", p, lab, MMX_ERR_FORMAT, p, "truncated");
    p = write_idx("cut-labels.gz", 1, 0x801, g_ldims, 1, g_lab, N - 1);
    expect_fail("labels cut short", img, p, MMX_ERR_FORMAT, p, "truncated");
    p = write_idx("long-pixels", 0, 0x803, g_idims, 3, g_pix, sizeof g_pix); /* + 1 below */
    {
        FILE *f = fopen(p, "ab");
        if (!f || fputc(0, f) == EOF || fclose(f) != 0) abort();
    }
    expect_fail("a byte after the pixels", p, lab, MMX_ERR_FORMAT, p, "more data");
    unsigned char bad[N];
    memcpy(bad, g_lab, N);
    bad[3] = 255;
    p = write_idx("lab255", 0, 0x801, g_ldims, 1, bad, N);
    expect_fail("label 255", img, p, MMX_ERR_FORMAT, p, "label 255");
    /* A gzip stream cut in the middle (the compressed bytes, not the content) and one with a
     * flipped byte in its body: zlib's length / CRC checks must reach the caller. */
    size_t n;
    unsigned char *gz = read_whole(img, &n);
    p = write_raw("stream-cut.gz", 0, gz, n / 2);
    expect_fail("gzip stream cut", p, lab, MMX_ERR_FORMAT, p, NULL);
    p = write_raw("stream-trailer-cut.gz", 0, gz, n - 4);
    expect_fail("gzip trailer cut", p, lab, MMX_ERR_FORMAT, p, NULL);
    gz[n / 2] ^= 0x5A;
    p = write_raw("stream-flip.gz", 0, gz, n);
    expect_fail("gzip byte flipped", p, lab, MMX_ERR_FORMAT, p, NULL);
    free(gz);
}

/* mmx_fmnist_load on g_dir: names the files, honours MMX_FMNIST_DIR, hints at the package for
 * any missing file, and frees the train set when the test set fails. */
static void test_fmnist_dir(void)
{
    mmx_images tr, te;
    char nodir[600];
    snprintf(nodir, sizeof nodir, "%s/no-such-dir", g_dir);
    T_CTX("fmnist_load: missing directory");
    memset(&tr, 0xAB, sizeof tr);
    memset(&te, 0xAB, sizeof te);
    CHECK_STATUS(mmx_fmnist_load(&tr, &te, nodir), MMX_ERR_IO);
    CHECK(is_zero(&tr) && is_zero(&te));
    CHECKF(strstr(mmx_last_error(), nodir) && strstr(mmx_last_error(), MMX_FMNIST_PACKAGE),
           "%s", mmx_last_error());

    write_idx("train-images-idx3-ubyte.gz", 1, 0x803, g_idims, 3, g_pix, sizeof g_pix);
    write_idx("train-labels-idx1-ubyte.gz", 1, 0x801, g_ldims, 1, g_lab, sizeof g_lab);
    T_CTX("fmnist_load: test files missing");
    memset(&tr, 0xAB, sizeof tr);
    CHECK_STATUS(mmx_fmnist_load(&tr, &te, g_dir), MMX_ERR_IO);
    CHECK(is_zero(&tr) && is_zero(&te));
    CHECKF(strstr(mmx_last_error(), "t10k-images-idx3-ubyte.gz") &&
               strstr(mmx_last_error(), MMX_FMNIST_PACKAGE),
           "%s", mmx_last_error());
    T_CTX("fmnist_load: train only");
    CHECK_STATUS(mmx_fmnist_load(&tr, NULL, g_dir), MMX_OK);
    check_small(&tr);
    mmx_images_free(&tr);

    /* the test split plain, under its .gz name: zlib reads it transparently */
    write_idx("t10k-images-idx3-ubyte.gz", 0, 0x803, g_idims, 3, g_pix, sizeof g_pix);
    write_idx("t10k-labels-idx1-ubyte.gz", 0, 0x801, g_ldims, 1, g_lab, sizeof g_lab);
    const char *old = getenv("MMX_FMNIST_DIR");
    char saved[4096];
    if (old) snprintf(saved, sizeof saved, "%s", old);
    setenv("MMX_FMNIST_DIR", g_dir, 1);
    T_CTX("fmnist_load: MMX_FMNIST_DIR");
    CHECK_STATUS(mmx_fmnist_load(&tr, &te, NULL), MMX_OK);
    check_small(&tr);
    check_small(&te);
    mmx_images_free(&tr);
    mmx_images_free(&te);
    if (old)
        setenv("MMX_FMNIST_DIR", saved, 1);
    else
        unsetenv("MMX_FMNIST_DIR");
}

/* ---------------------------------------------------------------------------------
 * Batches
 * ------------------------------------------------------------------------------- */

static float norm_px(int p, float mean, float std) { return ((float)p / 255.0f - mean) / std; }

static void test_batch_plain(const char *img, const char *lab)
{
    mmx_images im;
    CHECK_STATUS(mmx_images_load_idx(&im, img, lab), MMX_OK);
    if (im.n != N) return;
    const int64_t idx[5] = {6, 0, 3, 3, 1};
    const float ms[2][2] = {{MMX_FMNIST_MEAN, MMX_FMNIST_STD}, {0.5f, 0.25f}};
    float x[5 * R * C + T_GUARD];
    int32_t y[5 + 1];
    for (int k = 0; k < 2; k++) {
        T_CTX("batch without augment, mean %g std %g", ms[k][0], ms[k][1]);
        for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) x[i] = (float)T_CANARY;
        y[5] = -77;
        mmx_images_batch(x, y, &im, idx, 5, 0, 4, 1, 2, ms[k][0], ms[k][1]);
        int bad = 0, badg = 0;
        for (int j = 0; j < 5; j++)
            for (int q = 0; q < R * C; q++)
                bad += x[j * R * C + q] != norm_px(g_pix[idx[j] * R * C + q], ms[k][0], ms[k][1]);
        for (int i = 5 * R * C; i < 5 * R * C + T_GUARD; i++) badg += x[i] != (float)T_CANARY;
        CHECKF(bad == 0, "%d values differ from the formula", bad);
        CHECKF(badg == 0, "%d guard values overwritten", badg);
        for (int j = 0; j < 5; j++) CHECK_EQ_INT(y[j], g_lab[idx[j]]);
        CHECK_EQ_INT(y[5], -77);
    }
    mmx_images_free(&im);
}

/* How many (sy, sx, flip) make `got` the image shifted by (sy, sx) with padding, possibly
 * mirrored; the last match goes to *sy, *sx, *flip. */
static int find_shift(const float *got, const uint8_t *src, int rows, int cols, int pad,
                      int *sy, int *sx, int *flip)
{
    int matches = 0;
    for (int fy = -pad; fy <= pad; fy++)
        for (int fx = -pad; fx <= pad; fx++)
            for (int fl = 0; fl < 2; fl++) {
                int same = 1;
                for (int r = 0; r < rows && same; r++)
                    for (int c = 0; c < cols && same; c++) {
                        int yy = r + fy, xx = (fl ? cols - 1 - c : c) + fx;
                        int in = yy >= 0 && yy < rows && xx >= 0 && xx < cols;
                        int p = in ? src[yy * cols + xx] : 0;
                        same = got[r * cols + c] == norm_px(p, MMX_FMNIST_MEAN, MMX_FMNIST_STD);
                    }
                if (same) {
                    matches++;
                    *sy = fy;
                    *sx = fx;
                    *flip = fl;
                }
            }
    return matches;
}

enum { AN = 400, AR = 6, AC = 5, APAD = 2 };

/* Every augmented image is the original shifted with padding and maybe mirrored, in exactly
 * one way (pixels are >= 1, so the padding is recognisable); the draws follow the documented
 * order; flips are about half; every offset in [0, 2 pad] occurs. */
static void check_augment_shape(const mmx_images *im, const int64_t *idx, const float *x,
                                uint64_t seed, uint64_t stream)
{
    int flips = 0, ambiguous = 0, order = 0, hy[2 * APAD + 1] = {0}, hx[2 * APAD + 1] = {0};
    for (int j = 0; j < AN; j++) {
        int sy = 0, sx = 0, fl = 0;
        int m = find_shift(x + j * AR * AC, im->pixels + idx[j] * AR * AC, AR, AC, APAD, &sy,
                           &sx, &fl);
        if (m != 1) {
            ambiguous++;
            continue;
        }
        flips += fl;
        hy[sy + APAD]++;
        hx[sx + APAD]++;
        mmx_rng r;
        mmx_rng_derive(&r, seed, stream, (uint64_t)j);
        int dy = (int)mmx_rng_below(&r, 2 * APAD + 1), dx = (int)mmx_rng_below(&r, 2 * APAD + 1);
        int f = mmx_rng_uniform(&r) < 0.5;
        order += dy != sy + APAD || dx != sx + APAD || f != fl;
    }
    CHECKF(ambiguous == 0, "%d images match no shift or several", ambiguous);
    CHECKF(order == 0, "%d images do not follow the documented draw order", order);
    CHECKF(flips >= 150 && flips <= 250, "%d flips in %d images", flips, AN);
    for (int k = 0; k <= 2 * APAD; k++)
        CHECKF(hy[k] > 0 && hx[k] > 0, "offset %d: %d times (rows), %d times (cols)", k, hy[k],
               hx[k]);
}

static void test_batch_augment(void)
{
    mmx_images im = {AN, AR, AC, malloc(AN * AR * AC), malloc(AN * sizeof(int32_t)), 10};
    int64_t *idx = malloc(AN * sizeof *idx);
    size_t nx = (size_t)AN * AR * AC;
    float *x1 = malloc(nx * sizeof *x1), *x2 = malloc(nx * sizeof *x2);
    int32_t *y = malloc(AN * sizeof *y);
    if (!im.pixels || !im.labels || !idx || !x1 || !x2 || !y) abort();
    t_rng rng = t_rng_seed(5);
    for (size_t i = 0; i < nx; i++) im.pixels[i] = (uint8_t)(1 + t_randint(&rng, 255));
    for (int i = 0; i < AN; i++) {
        im.labels[i] = i % 10;
        idx[i] = (i * 7) % AN; /* a permutation: 7 and 400 are coprime */
    }
    const float m = MMX_FMNIST_MEAN, s = MMX_FMNIST_STD;
    T_CTX("augment: replay");
    mmx_images_batch(x1, y, &im, idx, AN, 1, APAD, 42, 3, m, s);
    mmx_images_batch(x2, NULL, &im, idx, AN, 1, APAD, 42, 3, m, s);
    CHECK(memcmp(x1, x2, nx * sizeof *x1) == 0);
    int bady = 0;
    for (int j = 0; j < AN; j++) bady += y[j] != im.labels[idx[j]];
    CHECKF(bady == 0, "%d labels differ", bady);
    T_CTX("augment: other stream / seed");
    mmx_images_batch(x2, NULL, &im, idx, AN, 1, APAD, 42, 4, m, s);
    CHECK(memcmp(x1, x2, nx * sizeof *x1) != 0);
    mmx_images_batch(x2, NULL, &im, idx, AN, 1, APAD, 43, 3, m, s);
    CHECK(memcmp(x1, x2, nx * sizeof *x1) != 0);
    T_CTX("augment: shape of the images, pad %d", APAD);
    check_augment_shape(&im, idx, x1, 42, 3);
    T_CTX("augment: pad 0 only flips");
    mmx_images_batch(x2, NULL, &im, idx, AN, 1, 0, 42, 3, m, s);
    int bad0 = 0, flips0 = 0;
    for (int j = 0; j < AN; j++) {
        int sy = 0, sx = 0, fl = 0;
        bad0 += find_shift(x2 + j * AR * AC, im.pixels + idx[j] * AR * AC, AR, AC, 0, &sy, &sx,
                           &fl) != 1;
        flips0 += fl;
    }
    CHECKF(bad0 == 0 && flips0 >= 150 && flips0 <= 250, "%d unmatched, %d flips", bad0, flips0);
    free(im.pixels);
    free(im.labels);
    free(idx);
    free(x1);
    free(x2);
    free(y);
}

/* ---------------------------------------------------------------------------------
 * The real dataset (Debian's dataset-fashion-mnist, installed by scripts/deps.sh)
 * ------------------------------------------------------------------------------- */

static void check_classes(const mmx_images *im, int per_class)
{
    int64_t count[10] = {0};
    int64_t bad = 0;
    for (int64_t i = 0; i < im->n; i++) {
        if (im->labels[i] >= 0 && im->labels[i] < 10)
            count[im->labels[i]]++;
        else
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    for (int k = 0; k < 10; k++)
        CHECKF(count[k] == per_class, "class %d: %lld", k, (long long)count[k]);
}

static void test_real(void)
{
    T_CTX("real Fashion-MNIST");
    mmx_images tr, te;
    mmx_status st = mmx_fmnist_load(&tr, &te, NULL);
    if (!CHECKF(st == MMX_OK,
                "%s: %s\n  The tests need the dataset: sudo apt-get install %s "
                "(scripts/deps.sh installs it)",
                mmx_status_str(st), mmx_last_error(), MMX_FMNIST_PACKAGE))
        return;
    CHECK_EQ_INT(tr.n, 60000);
    CHECK_EQ_INT(te.n, 10000);
    CHECK(tr.rows == 28 && tr.cols == 28 && te.rows == 28 && te.cols == 28);
    CHECK_EQ_INT(tr.classes, 10);
    CHECK_EQ_INT(te.classes, 10);
    if (tr.n == 60000 && te.n == 10000) {
        check_classes(&tr, 6000);
        check_classes(&te, 1000);
    }
    uint64_t sum = 0, sum2 = 0, np = (uint64_t)tr.n * (uint64_t)(tr.rows * tr.cols);
    for (uint64_t i = 0; i < np; i++) {
        sum += tr.pixels[i];
        sum2 += (uint64_t)tr.pixels[i] * tr.pixels[i];
    }
    double mean = (double)sum / (double)np / 255.0;
    double var = (double)sum2 / (double)np / (255.0 * 255.0) - mean * mean;
    CHECK_NEAR(mean, MMX_FMNIST_MEAN, 0.0005);
    CHECK_NEAR(sqrt(var), MMX_FMNIST_STD, 0.0005);
    mmx_images_free(&tr);
    mmx_images_free(&te);
}

int main(void)
{
    if (!mkdtemp(g_dir)) {
        perror("test_images: mkdtemp");
        return 1;
    }
    make_small_set();
    const char *img = write_idx("set-img.gz", 1, 0x803, g_idims, 3, g_pix, sizeof g_pix);
    const char *lab = write_idx("set-lab", 0, 0x801, g_ldims, 1, g_lab, sizeof g_lab);
    test_load_exact();
    test_errors_open(img, lab);
    test_errors_header(img, lab);
    test_errors_data(img, lab);
    test_fmnist_dir();
    test_batch_plain(img, lab);
    test_batch_augment();
    test_real();
    cleanup();
    return t_summary();
}
