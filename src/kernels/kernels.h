/*
 * The optimised float32 kernels: one table per ISA, filled by src/kernels/isa_*.c from the
 * same kernel sources, chosen once at run time by src/cpu/dispatch.c.
 *
 * Contract of every row-block kernel (k_* below):
 * - It processes rows [0, rows) of buffers with row strides ld*, in order, one row at a time,
 *   and returns the index of the first row it did NOT process (rows if it did them all).
 * - It stops, leaving that row's outputs untouched, on a row it cannot do exactly in float32:
 *   a NaN or +inf in an input (dy included), or an overflow of an intermediate (a huge score
 *   under MultiMax's sigma, a non-finite row mean). The driver then runs the double-precision
 *   reference on that row (which either computes it or reports the error) and resumes.
 * - A fully masked row (every score -inf) gets an all-zero output / gradient.
 * - Kernels never allocate, never print, and use no threads: the driver (src/api) owns threads.
 * - Parameter gradients are ADDED (in double) to the arrays passed in.
 */
#ifndef MMX_KERNELS_H
#define MMX_KERNELS_H

#include <stdint.h>

#include "multimax.h"

/* MultiMax modulator in float for the kernels (copied from an mmx_norm by the driver). */
typedef struct {
    int order;
    float ranges[2 * MMX_MULTIMAX_MAX_ORDER];
    float ts[2 * MMX_MULTIMAX_MAX_ORDER];
    /* Filled by mmx_kmod_prepare: sigma's breakpoints and interior maxima (order <= 2), and
     * a radius within which every row is safe (mmx_kmod_safe without its scalar loop). */
    int can_shift, ncrit;
    float crit_x[8], crit_s[8];
    /* an interval on which sigma is nondecreasing (empty if lo > hi): a row inside it has
     * max sigma(x) = sigma(max x), one evaluation (order <= 2) */
    float mono_lo, mono_hi;
    float safe_r;
    /* sigma's identity band [id_lo, id_hi] = [max b_k, min d_k] (empty if id_lo > id_hi): on
     * it every piece of sigma is 0, so a row inside it is a SoftMax row, and its modulator
     * gradient terms are exactly 0 (the kernels skip them). */
    float id_lo, id_hi;
} mmx_kmod;

/* The float modulator of a MULTIMAX descriptor, prepared (order 0 for the other kinds). */
mmx_kmod mmx_kmod_from_norm(const mmx_norm *nm);

/* Precomputes what mmx_kmod_shift needs (once per call, after order/ranges/ts are set). */
void mmx_kmod_prepare(mmx_kmod *mod);

/* A shift M for MultiMax's softmax with max sigma(x) <= M <= max sigma(x) + 8 over a row
 * whose finite scores span [xmin, xmax], found without a pass of sigma over the row; also
 * guarantees sigma cannot overflow float there. Returns 0 when it cannot (order > 2, a large
 * non-monotone bump, huge scores): the kernel then computes the exact max. modulator.c. */
int mmx_kmod_shift(const mmx_kmod *mod, float xmin, float xmax, float *shift);
/* 1 if sigma, sigma' and the scalar-gradient factors of every score in [xmin, xmax] are far
 * inside float range (any order). modulator.c. */
int mmx_kmod_safe(const mmx_kmod *mod, float xmin, float xmax);

/* SoftMax / MultiMax forwards run rows of at most MMX_FWD_GROUP_N floats up to MMX_FWD_GROUP
 * at a time (softmax_short.inc), and a streamed call stages all of a group's rows, or two
 * longer rows (one waits for the next one's exp pass to store it): its scratch holds
 * mmx_fwd_scratch_floats(n) floats. */
#define MMX_FWD_GROUP_N 256
#define MMX_FWD_GROUP 4
static inline int64_t mmx_fwd_scratch_floats(int64_t n) {
    return n <= MMX_FWD_GROUP_N ? MMX_FWD_GROUP * n : 2 * n;
}

typedef struct {
    const char *isa; /* "avx512", "avx2", "portable" */
    int vw;          /* floats per vector: 16, 8, 4 */

    /* y = softmax(x * inv_t). scratch: NULL, or mmx_fwd_scratch_floats(n) floats aligned to 64
     * bytes (this thread's):
     * then y is written with non-temporal stores (rows whose start is vector-aligned; the
     * others as usual), the exps staged in scratch, for a y too large to stay cached (the
     * driver decides per call: stream_call in src/api/fast.c). The values are the same either
     * way. */
    int64_t (*softmax_fwd)(float *y, int64_t ldy, const float *x, int64_t ldx, int64_t rows,
                           int64_t n, float inv_t, float *scratch);
    /* dx = y (dy - <y, dy>) inv_t. stream: write dx with non-temporal stores (rows whose
     * start is vector-aligned; the others as usual), for a dx too large to stay cached: the
     * driver decides per call (stream_call in src/api/fast.c). The values are the same either
     * way. */
    int64_t (*softmax_bwd)(float *dx, int64_t lddx, const float *dy, int64_t lddy,
                           const float *y, int64_t ldy, int64_t rows, int64_t n, float inv_t,
                           int stream);
    /* y = softmax(sigma(x)); scratch as softmax_fwd. */
    int64_t (*multimax_fwd)(float *y, int64_t ldy, const float *x, int64_t ldx, int64_t rows,
                            int64_t n, const mmx_kmod *mod, float *scratch);
    /* dx and the modulator gradients from y = softmax(sigma(x)) and x. dranges, dts:
     * 2*order doubles each, accumulated. stream: as softmax_bwd. */
    int64_t (*multimax_bwd)(float *dx, int64_t lddx, double *dranges, double *dts,
                            const float *dy, int64_t lddy, const float *y, int64_t ldy,
                            const float *x, int64_t ldx, int64_t rows, int64_t n,
                            const mmx_kmod *mod, int stream);
    /* EvSoftMax forward; its backward is softmax_bwd with inv_t = 1. */
    int64_t (*evsoftmax_fwd)(float *y, int64_t ldy, const float *x, int64_t ldx, int64_t rows,
                             int64_t n, float w_low);

    /* Sparse family, no sort (sparse_family.inc): SparseMax, exact 1.5-EntMax, and alpha-EntMax
     * (safeguarded Newton; alpha outside [1.001, 3] is declined to the reference). Any slot
     * may be NULL: the driver then uses the reference for that normalizer. */
    int64_t (*sparsemax_fwd)(float *y, int64_t ldy, const float *x, int64_t ldx, int64_t rows,
                             int64_t n);
    int64_t (*entmax15_fwd)(float *y, int64_t ldy, const float *x, int64_t ldx, int64_t rows,
                            int64_t n);
    int64_t (*entmax_fwd)(float *y, int64_t ldy, const float *x, int64_t ldx, int64_t rows,
                          int64_t n, double alpha);
    /* dx = s dy - s <s, dy> / sum s, s = y^(2-alpha) on the support; dalpha (may be NULL) +=.
     * stream: as softmax_bwd. */
    int64_t (*entmax_bwd)(float *dx, int64_t lddx, double *dalpha, const float *dy,
                          int64_t lddy, const float *y, int64_t ldy, int64_t rows, int64_t n,
                          double alpha, int stream);

    /* Fused attention, SoftMax / MultiMax score tiles (attn_tiles.inc; src/attn/attn_flash.c).
     * A tile: rows x n scores, row stride ld; row r's entries [0, nv[r]) are visible, the
     * rest masked (not read for results). Each row has room for whole vectors: ld >= n
     * rounded up to a multiple of MMX_VW (the kernels may load and store a row's last vector
     * whole). mod: MultiMax's modulator, or NULL for plain scores.
     * Forward (online softmax): z = sigma(s) on the visible entries; overwrites s with
     * p = exp(z - m_new) (0 where masked); m[r] is the running max of z (-inf before the
     * first visible entry), l[r] the running sum, rescaled; corr[r] = exp(m_old - m_new), the
     * factor for the output accumulator. MultiMax: a tile row whose raw scores all lie in
     * sigma's identity band skips sigma (z = s there). Returns the first row holding a
     * visible z that is not a finite float (rows if none); that row and later ones are
     * untouched. */
    int64_t (*attn_fwd_tile)(float *s, int64_t ld, int64_t rows, int64_t n, const int32_t *nv,
                             const mmx_kmod *mod, float *m, double *l, float *corr);
    /* Backward: s (scores) is overwritten with ds = dL/ds, p receives the probabilities
     * exp(z - m) / l (same ld), dp = dL/dp (row stride lddp); m, l: the forward's final
     * statistics (rows with l = 0 see no key: zeros); dd[r] = <dout_r, out_r> = <p_r, dp_r>;
     * dp is scratch (MultiMax overwrites it). MultiMax: a tile row inside sigma's identity
     * band runs as a SoftMax row (no sigma, no modulator terms).
     * MultiMax: dranges, dts (2*order each) +=. Returns the first row whose statistics or
     * scores are not consistent (l < 1 with a visible key, probabilities summing above 1.5 in the tile, NaN),
     * or rows; on a failure the scalar sums are not added. */
    int64_t (*attn_bwd_tile)(float *s, float *p, int64_t ld, float *dp, int64_t lddp,
                          int64_t rows, int64_t n, const int32_t *nv, const mmx_kmod *mod,
                          const float *m, const float *l, const float *dd, double *dranges,
                          double *dts);

    /* The tile products of the fused attention (tile_gemm.inc; src/attn/attn_gemm.c):
     * C (m x n, row stride ldc) = alpha A B, plus C when acc != 0 (C is not read when acc is
     * 0), where A[i][p] = a[i * ars + p * acs] (any strides: a transposed A costs nothing)
     * and B is row-major (k x n, row stride ldb). Reads exactly those entries; writes only
     * C's m x n entries. */
    void (*tile_gemm)(float *c, int64_t ldc, const float *a, int64_t ars, int64_t acs,
                      const float *b, int64_t ldb, int64_t m, int64_t n, int64_t k, float alpha,
                      int acc);

    /* dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols (tile_gemm.inc). */
    void (*transpose)(float *dst, int64_t ldd, const float *src, int64_t lds, int64_t rows,
                      int64_t cols);
    /* out[r] = <a_r, b_r> over n floats of rows r < rows, row stride ld for both (float
     * lanes summed in double; tile_gemm.inc). */
    void (*rows_dot)(float *out, const float *a, const float *b, int64_t ld, int64_t rows,
                     int64_t n);
    /* Index of the first NaN or +-inf of x[0, n), or -1 (math_slots.inc). */
    int64_t (*first_nonfinite)(const float *x, int64_t n);
    /* 1 if rows r < rows of len floats at stride ld hold a NaN or +-inf, else 0: the attention's
     * input scan over many short runs in one call (math_slots.inc). */
    int (*any_nonfinite_rows)(const float *x, int64_t len, int64_t ld, int64_t rows);

    /* The exact strip path (src/attn/attn_strip.c). rows_max: out[r] = max of row r's first
     * nv[r] entries (-inf if none). sparse_p: a sparse map's p from its threshold, for the
     * backward: with st = stats + r * MMX_ATTN_STATS (st[0] = the row's max score, st[1] =
     * tau on the shifted scale (alpha-1)(s - st[0])), p = max((alpha-1)(s - st[0]) - st[1],
     * 0)^(1/(alpha-1)) on the first nv[r] entries of row r, 0 on the rest of its n; returns
     * the first row with visible entries whose p do not sum to about 1 (rows if none). */
    void (*attn_rows_max)(float *out, const float *x, int64_t ld, int64_t rows, const int32_t *nv);
    int64_t (*attn_sparse_p)(float *p, const float *s, int64_t ld, int64_t rows, int64_t n,
                             const int32_t *nv, const float *stats, double alpha);

    /* The kernels' elementwise maths over arrays (for their accuracy tests): exp, log (x > 0)
     * in float; exp, log (x > 0 normal) in double. */
    void (*exp)(float *y, const float *x, int64_t n);
    void (*log)(float *y, const float *x, int64_t n);
    void (*exp_f64)(double *y, const double *x, int64_t n);
    /* GELU of the training engine (math_slots.inc): y = x Phi(x) and, with d != NULL, the
     * derivative d = Phi(x) + x phi(x) for the backward (d may alias x). */
    void (*gelu_fwd)(float *y, float *d, const float *x, int64_t n);
    void (*log_f64)(double *y, const double *x, int64_t n);
    /* vpow_rough (the alpha-EntMax float steps' d^b): y = x^b for x in (0, 1], b in [0, 8]. */
    void (*pow_rough)(float *y, const float *x, int64_t n, float b);

    /* The training engine's kernels (nn_slots.inc). LayerNorm over rows of c floats:
     * forward y = (x - mean) rstd g + b with mean, rstd per row (variance about the mean,
     * in float lanes summed in double); backward xhat = (x - mean) rstd (written) and
     * dx += rstd (dy g - <dy g> - xhat <dy g xhat>) (<.>: the row mean). */
    void (*ln_fwd)(float *y, float *mean, float *rstd, const float *x, const float *g,
                   const float *b, int64_t rows, int64_t c, float eps);
    void (*ln_bwd)(float *dx, float *xhat, const float *dy, const float *x, const float *mean,
                   const float *rstd, const float *g, int64_t rows, int64_t c);
    /* Column sums of nc <= MMX_COLSUM_W columns (row stride ld), in double: acc[j] +=
     * sum_r x[r][j] w[r][j] (w == NULL: x[r][j]); with w, also acc2[j] += sum_r x[r][j]. */
    void (*colsum)(double *acc, double *acc2, const float *x, const float *w, int64_t ld,
                   int64_t rows, int64_t nc);
    /* AdamW in float, as PyTorch 1.13 computes it, with hp = {grad scale, beta1, beta2,
     * 1 - lr wd, lr / bc1, sqrt(bc2), eps}: gs = g scale; m = b1 m + (1 - b1) gs;
     * v = b2 v + (1 - b2) gs^2; p = p (1 - lr wd) - (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps). */
    void (*adamw)(float *p, float *m, float *v, const float *g, int64_t n, const float *hp);
    /* Rows r < rows of c (n floats each, row stride n) = bias (+ res, same layout; either may
     * be NULL: then zeros / res only): the linear layers' output preload. */
    void (*bias_rows)(float *c, const float *bias, const float *res, int64_t rows, int64_t n);
} mmx_kernels;

/* Column block width of the colsum kernel. */
#define MMX_COLSUM_W 32

/* The tables, one per ISA (each defined in its own file, compiled with its own flags). */
extern const mmx_kernels mmx_kernels_portable;
extern const mmx_kernels mmx_kernels_avx2;
extern const mmx_kernels mmx_kernels_avx512;

/* The table in use (chosen once from CPUID + XGETBV; MMX_ISA=avx512|avx2|portable forces
 * one, MMX_ISA_VERBOSE=1 prints the choice to stderr). src/cpu/dispatch.c. */
const mmx_kernels *mmx_kernels_active(void);
/* The table of a named ISA if this CPU supports it, else NULL. */
const mmx_kernels *mmx_kernels_by_name(const char *isa);

#endif
