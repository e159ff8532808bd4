/* layers.c - linear, LayerNorm, GELU, pooling and layout changes; see layers.h. */
#include "nn/layers.h"

#include "kernels/kernels.h"

#include <cblas.h>
#include <string.h>

/* Column sums in double. Threads take chunks of CS_ROWS rows in turn (contiguous reads) and
 * sum each chunk's columns by the kernel, MMX_COLSUM_W at a time; the chunks' sums are added in
 * chunk order (an ordered loop), so the result does not depend on the thread count. Columns go
 * in slabs of CS_SLAB (the sums live on the stack). The backward passes that produce a
 * gradient a bias needs next (LayerNorm's dx, GELU's dx) sum it chunk by chunk as they write
 * it, while the chunk is in cache, through the same driver: same chunks, same order, so the
 * sums are the ones nn_colsum_add would give. */
#define CS_ROWS 256
#define CS_SLAB 512

/* Rows [r0, r0 + rows) of a pass, then their column sums into s[i] (zeroed where acc[i] is
 * kept; nc <= CS_SLAB columns). */
typedef void (*chunk_fn)(const void *ctx, int64_t r0, int64_t rows, double (*s)[CS_SLAB]);

/* Runs f over the chunks of n rows; acc[i][j] += (float) sum over chunks of s[i][j] for each
 * acc[i] != NULL (i < 3), the chunks added in order, in double. */
static void chunked_sums(chunk_fn f, const void *ctx, int64_t n, int64_t nc, float *const acc[3])
{
    double tot[3][CS_SLAB];
    memset(tot, 0, sizeof tot);
    const int64_t nch = (n + CS_ROWS - 1) / CS_ROWS;
#pragma omp parallel for schedule(static, 1) ordered
    for (int64_t ch = 0; ch < nch; ch++) {
        const int64_t r0 = ch * CS_ROWS, rows = n - r0 < CS_ROWS ? n - r0 : CS_ROWS;
        double s[3][CS_SLAB];
        for (int i = 0; i < 3; i++)
            if (acc[i])
                memset(s[i], 0, (size_t)nc * sizeof **s);
        f(ctx, r0, rows, s);
#pragma omp ordered
        for (int i = 0; i < 3; i++)
            if (acc[i])
                for (int64_t j = 0; j < nc; j++)
                    tot[i][j] += s[i][j];
    }
    for (int i = 0; i < 3; i++)
        if (acc[i])
            for (int64_t j = 0; j < nc; j++)
                acc[i][j] += (float)tot[i][j];
}

/* s[j] += sum_r x[r, j] w[r, j] (w == NULL: x[r, j]), s2 (w only, may be NULL) += sum_r x[r, j],
 * over rows of nc columns at row stride ld. */
static void sum_cols(double *s, double *s2, const float *x, const float *w, int64_t ld,
                     int64_t rows, int64_t nc)
{
    const mmx_kernels *k = mmx_kernels_active();
    for (int64_t b = 0; b < nc; b += MMX_COLSUM_W)
        k->colsum(s + b, s2 ? s2 + b : NULL, x + b, w ? w + b : NULL, ld, rows,
                  nc - b < MMX_COLSUM_W ? nc - b : MMX_COLSUM_W);
}

typedef struct {
    const float *x, *w;
    int64_t c, j0, nc;
    int two;
} colsum_ctx;

static void colsum_chunk(const void *ctx, int64_t r0, int64_t rows, double (*s)[CS_SLAB])
{
    const colsum_ctx *q = ctx;
    const int64_t off = r0 * q->c + q->j0;
    sum_cols(s[0], q->two ? s[1] : NULL, q->x + off, q->w ? q->w + off : NULL, q->c, rows, q->nc);
}

/* acc[j] += sum_r x[r, j] w[r, j] (w == NULL: x[r, j]); with w and acc2, also acc2[j] +=
 * sum_r x[r, j] (one pass for both). */
static void colsum2(float *acc, float *acc2, const float *x, const float *w, int64_t n, int64_t c)
{
    for (int64_t j0 = 0; j0 < c; j0 += CS_SLAB) {
        const int64_t nc = c - j0 < CS_SLAB ? c - j0 : CS_SLAB;
        colsum_ctx q = {x, w, c, j0, nc, w && acc2};
        float *const out[3] = {acc + j0, q.two ? acc2 + j0 : NULL, NULL};
        chunked_sums(colsum_chunk, &q, n, nc, out);
    }
}

void nn_colsum_add(float *acc, const float *x, const float *w, int64_t n, int64_t c)
{
    colsum2(acc, NULL, x, w, n, c);
}

/* Rows per OpenMP chunk of the row kernels. */
#define ROW_CHUNK 64

/* Row-split products: C (n x N) = A (n x K) op(B) + beta C by fixed groups of rows, one
 * single-thread sgemm per group (OpenBLAS's OpenMP build runs single-threaded inside our
 * parallel region), threads taking groups in turn. The groups depend on n alone, so every row
 * comes from the same call whatever the thread count: OpenBLAS's edge kernels round a row
 * differently depending on where it falls in a call, and per-thread blocks made the products
 * (and so training) differ between thread counts. At least NN_GROUP_ROWS rows per group, as
 * each call packs B again: at the benchmark's 6272 rows, 4 groups of 1568 ran as fast as one
 * call per thread (docs/BENCHMARKS.md, "Training"). The price: at most n / NN_GROUP_ROWS
 * threads share a product (4 at 6272 rows). */
#define NN_GROUP_ROWS 1536
#define NN_MAX_GROUPS 64

/* Groups of at least min_rows rows each, at most max_groups, at least one: fixed by n. */
static int64_t fixed_groups(int64_t n, int64_t min_rows, int64_t max_groups)
{
    int64_t g = n / min_rows;
    return g < 1 ? 1 : g > max_groups ? max_groups : g;
}

/* c rows [r0, r1) = bias (+ res), N wide (the preload of nn_linear_forward_add), by the
 * ISA's kernel (a memcpy call per row cost more than the copy at these widths). */
static void preload_rows(float *c, const float *bias, const float *res, int64_t r0, int64_t r1,
                         int64_t N)
{
    mmx_kernels_active()->bias_rows(c + r0 * N, bias, res ? res + r0 * N : NULL, r1 - r0, N);
}

/* With bias or res, each group's rows of c are first preloaded (then beta = 1) by the thread
 * that multiplies them, in the same parallel region, so they are in its cache when the
 * product adds to them. With gy, the same thread then applies GELU to the group's rows of c
 * while they are in its cache (a group of 1568 x 256 floats is 1.6 MB): gy = GELU(c), gd
 * (may alias c, or NULL) = GELU'(c). */
static void rows_sgemm_pre(CBLAS_TRANSPOSE tb, int64_t n, int64_t N, int64_t K, const float *a,
                           const float *b, int64_t ldb, float beta, float *c, const float *bias,
                           const float *res, float *gy, float *gd)
{
    const mmx_kernels *k = mmx_kernels_active();
    const int64_t G = fixed_groups(n, NN_GROUP_ROWS, NN_MAX_GROUPS);
#pragma omp parallel for schedule(static)
    for (int64_t g = 0; g < G; g++) {
        const int64_t r0 = n * g / G, r1 = n * (g + 1) / G;
        if (r1 == r0)
            continue;
        if (bias || res)
            preload_rows(c, bias, res, r0, r1, N);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, tb, (int)(r1 - r0), (int)N, (int)K, 1.0f,
                    a + r0 * K, (int)K, b, (int)ldb, beta, c + r0 * N, (int)N);
        if (gy)
            k->gelu_fwd(gy + r0 * N, gd ? gd + r0 * N : NULL, c + r0 * N, (r1 - r0) * N);
    }
}

static void rows_sgemm(CBLAS_TRANSPOSE tb, int64_t n, int64_t N, int64_t K, const float *a,
                       const float *b, int64_t ldb, float beta, float *c)
{
    rows_sgemm_pre(tb, n, N, K, a, b, ldb, beta, c, NULL, NULL, NULL, NULL);
}

void nn_linear_forward_add(float *y, const float *x, const float *w, const float *b,
                           const float *res, int64_t n, int64_t in, int64_t out)
{
    if (!b && !res) {
        rows_sgemm(CblasTrans, n, out, in, x, w, in, 0.0f, y);
        return;
    }
    /* y starts as bias (+ residual) and the product adds to it (beta = 1): OpenBLAS then
     * neither zeroes y first (its beta = 0 path) nor needs separate bias and residual passes */
    rows_sgemm_pre(CblasTrans, n, out, in, x, w, in, 1.0f, y, b, res, NULL, NULL);
}

void nn_linear_gelu_forward(float *y, float *d, float *h, const float *x, const float *w,
                            const float *b, int64_t n, int64_t in, int64_t out)
{
    if (b)
        rows_sgemm_pre(CblasTrans, n, out, in, x, w, in, 1.0f, h, b, NULL, y, d);
    else
        rows_sgemm_pre(CblasTrans, n, out, in, x, w, in, 0.0f, h, NULL, NULL, y, d);
}

void nn_linear_forward(float *y, const float *x, const float *w, const float *b, int64_t n,
                       int64_t in, int64_t out)
{
    nn_linear_forward_add(y, x, w, b, NULL, n, in, out);
}

/* The weight gradient's row groups: fixed by n alone (NN_WGRAD_ROWS rows or more each, at most
 * NN_WGRAD_MAXG: each group past the first needs an out x in partial), so the sums, and the
 * result, do not depend on the thread count. */
#define NN_WGRAD_ROWS 1024

static int64_t wgrad_groups(int64_t n)
{
    return fixed_groups(n, NN_WGRAD_ROWS, NN_WGRAD_MAXG);
}

int64_t nn_linear_wgrad_floats(int64_t n, int64_t in, int64_t out)
{
    return (wgrad_groups(n) - 1) * in * out;
}

/* dw += dy^T x as one-thread products over fixed row groups: group 0 adds into dw, group g > 0
 * writes part[g - 1]; then dw += part[0] + part[1] + ... in group order. At these shapes (K =
 * rows in the thousands, out x in a few hundred squared) OpenBLAS's own threading splits the
 * small output and ran at 170-209 GFLOP/s on 2 threads, the row groups at 249-270
 * (docs/BENCHMARKS.md, "Training", gemm_shapes). One group is one call, also inside
 * the parallel region, so that OpenBLAS never threads it by itself (its split, and so its
 * rounding, would follow the thread count). */
static void wgrad_rows(float *dw, float *part, const float *dy, const float *x, int64_t n,
                       int64_t in, int64_t out)
{
    const int64_t G = wgrad_groups(n), sz = in * out;
#pragma omp parallel
    {
#pragma omp for schedule(static, 1)
        for (int64_t g = 0; g < G; g++) {
            const int64_t r0 = n * g / G, r1 = n * (g + 1) / G;
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)out, (int)in, (int)(r1 - r0),
                        1.0f, dy + r0 * out, (int)out, x + r0 * in, (int)in, g ? 0.0f : 1.0f,
                        g ? part + (g - 1) * sz : dw, (int)in);
        }
        if (G > 1) {
#pragma omp for schedule(static)
            for (int64_t i = 0; i < sz; i++) {
                float s = dw[i];
                for (int64_t g = 1; g < G; g++)
                    s += part[(g - 1) * sz + i];
                dw[i] = s;
            }
        }
    }
}

void nn_linear_backward(float *dx, float dx_beta, float *dw, float *db, float *wpart,
                        const float *dy, const float *x, const float *w, int64_t n, int64_t in,
                        int64_t out)
{
    if (dx)
        rows_sgemm(CblasNoTrans, n, in, out, dy, w, in, dx_beta, dx);
    wgrad_rows(dw, wpart, dy, x, n, in, out);
    if (db)
        nn_colsum_add(db, dy, NULL, n, out);
}

void nn_layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *g,
                          const float *b, int64_t n, int64_t c, float eps)
{
    const mmx_kernels *k = mmx_kernels_active();
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < n; r += ROW_CHUNK) {
        int64_t rows = n - r < ROW_CHUNK ? n - r : ROW_CHUNK;
        k->ln_fwd(y + r * c, mean + r, rstd + r, x + r * c, g, b, rows, c, eps);
    }
}

typedef struct {
    float *dx, *xhat;
    const float *dy, *x, *mean, *rstd, *g;
    int64_t c;
    int dsum; /* sum dx too */
} ln_ctx;

/* LayerNorm backward of a chunk, then its dg (sum dy xhat), db (sum dy) and dx sums. */
static void ln_bwd_chunk(const void *ctx, int64_t r0, int64_t rows, double (*s)[CS_SLAB])
{
    const ln_ctx *q = ctx;
    const int64_t off = r0 * q->c;
    mmx_kernels_active()->ln_bwd(q->dx + off, q->xhat + off, q->dy + off, q->x + off,
                                 q->mean + r0, q->rstd + r0, q->g, rows, q->c);
    sum_cols(s[0], s[1], q->dy + off, q->xhat + off, q->c, rows, q->c);
    if (q->dsum)
        sum_cols(s[2], NULL, q->dx + off, NULL, q->c, rows, q->c);
}

void nn_layernorm_backward(float *dx, float *dg, float *db, float *dsum, float *xhat,
                           const float *dy, const float *x, const float *mean, const float *rstd,
                           const float *g, int64_t n, int64_t c)
{
    if (c <= CS_SLAB) {
        ln_ctx q = {dx, xhat, dy, x, mean, rstd, g, c, dsum != NULL};
        float *const out[3] = {dg, db, dsum};
        chunked_sums(ln_bwd_chunk, &q, n, c, out);
        return;
    }
    const mmx_kernels *k = mmx_kernels_active();
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < n; r += ROW_CHUNK) {
        int64_t rows = n - r < ROW_CHUNK ? n - r : ROW_CHUNK;
        k->ln_bwd(dx + r * c, xhat + r * c, dy + r * c, x + r * c, mean + r, rstd + r, g, rows, c);
    }
    colsum2(dg, db, dy, xhat, n, c);
    if (dsum)
        colsum2(dsum, NULL, dx, NULL, n, c);
}

/* GELU backward: dx = dy d (d = GELU' kept by nn_linear_gelu_forward). */
static void mul(float *dx, const float *dy, const float *d, int64_t n)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++)
        dx[i] = dy[i] * d[i];
}

typedef struct {
    float *dx;
    const float *dy, *d;
    int64_t c;
} gelu_ctx;

static void gelu_bwd_chunk(const void *ctx, int64_t r0, int64_t rows, double (*s)[CS_SLAB])
{
    const gelu_ctx *q = ctx;
    const int64_t off = r0 * q->c;
    mul(q->dx + off, q->dy + off, q->d + off, rows * q->c);
    sum_cols(s[0], NULL, q->dx + off, NULL, q->c, rows, q->c);
}

void nn_gelu_backward(float *dx, float *dsum, const float *dy, const float *d, int64_t n,
                      int64_t c)
{
    if (dsum && c <= CS_SLAB) {
        gelu_ctx q = {dx, dy, d, c};
        float *const out[3] = {dsum, NULL, NULL};
        chunked_sums(gelu_bwd_chunk, &q, n, c, out);
        return;
    }
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < n; r += ROW_CHUNK)
        mul(dx + r * c, dy + r * c, d + r * c, (n - r < ROW_CHUNK ? n - r : ROW_CHUNK) * c);
    if (dsum)
        colsum2(dsum, NULL, dx, NULL, n, c);
}

void nn_add_bcast(float *y, const float *b, int64_t reps, int64_t n)
{
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < reps; r++)
#pragma omp simd
        for (int64_t i = 0; i < n; i++)
            y[r * n + i] += b[i];
}

void nn_meanpool_forward(float *y, const float *x, int64_t b, int64_t t, int64_t c)
{
    for (int64_t i = 0; i < b; i++)
        for (int64_t j = 0; j < c; j++) {
            double s = 0.0;
            for (int64_t k = 0; k < t; k++)
                s += x[(i * t + k) * c + j];
            y[i * c + j] = (float)(s / (double)t);
        }
}

void nn_meanpool_backward(float *dx, const float *dy, int64_t b, int64_t t, int64_t c)
{
    float inv = 1.0f / (float)t;
    for (int64_t i = 0; i < b; i++)
        for (int64_t k = 0; k < t; k++)
            for (int64_t j = 0; j < c; j++)
                dx[(i * t + k) * c + j] += dy[i * c + j] * inv;
}

void nn_patchify(float *patches, const float *img, int64_t b, int64_t h, int64_t w, int64_t p)
{
    int64_t gh = h / p, gw = w / p, t = gh * gw;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < b; i++)
        for (int64_t tok = 0; tok < t; tok++) {
            int64_t py = tok / gw, px = tok % gw;
            float *dst = patches + (i * t + tok) * p * p;
            for (int64_t y = 0; y < p; y++)
                memcpy(dst + y * p, img + i * h * w + (py * p + y) * w + px * p,
                       (size_t)p * sizeof(float));
        }
}
