/*
 * The float32 path: the active ISA's kernels (src/kernels) over rows, in threads.
 *
 * Rows are cut into a fixed number of contiguous blocks (independent of the thread count);
 * threads take whole blocks, and scalar gradients are summed per block and then over blocks
 * in block order, so every result is bit-identical whatever the number of threads.
 * A row the kernel declines (NaN / +inf, or a float overflow) goes through the checked
 * double-precision reference: it is either computed there or left untouched and reported.
 * So on MMX_ERR_VALUE every row without a bad value holds its correct result, the rows with
 * one are untouched, and the message names the first bad row.
 */
#include <stdlib.h>
#include <string.h>

#include "api/drivers.h"
#include "core/internal.h"
#include "kernels/kernels.h"

#define MMX_BLOCKS 64
#define MMX_SERIAL_BELOW 32768 /* elements: below this a parallel region costs more than it saves */

typedef struct {
    int64_t bad; /* first row of the block with an error, or -1 */
    mmx_status st;
    mmx_grad_acc acc;
} block_out;

static mmx_kmod to_kmod(const mmx_norm *nm) {
    mmx_kmod m;
    memset(&m, 0, sizeof m);
    if (nm->kind != MMX_NORM_MULTIMAX) return m;
    m.order = nm->order;
    for (int i = 0; i < 2 * nm->order; i++) {
        m.ranges[i] = (float)nm->ranges[i];
        m.ts[i] = (float)nm->ts[i];
    }
    mmx_kmod_prepare(&m);
    return m;
}

static double alpha_of(const mmx_norm *nm) {
    return nm->kind == MMX_NORM_SPARSEMAX ? 2.0 : nm->kind == MMX_NORM_ENTMAX15 ? 1.5 : nm->alpha;
}

/* Rows done by the kernel; 0 if this ISA has no kernel for the normalizer (the reference
 * then does every row). */
static int64_t fwd_kernel(const mmx_kernels *k, const mmx_norm *nm, const mmx_kmod *mod, float *y,
                          int64_t ldy, const float *x, int64_t ldx, int64_t rows, int64_t n) {
    switch (nm->kind) {
    case MMX_NORM_SOFTMAX:
        return k->softmax_fwd ? k->softmax_fwd(y, ldy, x, ldx, rows, n, (float)(1.0 / nm->temperature)) : 0;
    case MMX_NORM_MULTIMAX: return k->multimax_fwd ? k->multimax_fwd(y, ldy, x, ldx, rows, n, mod) : 0;
    case MMX_NORM_EVSOFTMAX:
        return k->evsoftmax_fwd ? k->evsoftmax_fwd(y, ldy, x, ldx, rows, n,
                                                   nm->eval ? 0.0f : (float)MMX_EVSOFTMAX_TRAIN_EPS)
                                : 0;
    case MMX_NORM_SPARSEMAX: return k->sparsemax_fwd ? k->sparsemax_fwd(y, ldy, x, ldx, rows, n) : 0;
    case MMX_NORM_ENTMAX15: return k->entmax15_fwd ? k->entmax15_fwd(y, ldy, x, ldx, rows, n) : 0;
    case MMX_NORM_ENTMAX: return k->entmax_fwd ? k->entmax_fwd(y, ldy, x, ldx, rows, n, nm->alpha) : 0;
    case MMX_NORM_COUNT: break;
    }
    return 0;
}

static int64_t bwd_kernel(const mmx_kernels *k, const mmx_norm *nm, const mmx_kmod *mod,
                          float *dx, int64_t lddx, mmx_grad_acc *acc, const float *dy,
                          int64_t lddy, const float *y, int64_t ldy, const float *x, int64_t ldx,
                          int64_t rows, int64_t n) {
    int sparse = nm->kind == MMX_NORM_SPARSEMAX || nm->kind == MMX_NORM_ENTMAX15 || nm->kind == MMX_NORM_ENTMAX;
    if ((sparse && !k->entmax_bwd) || (nm->kind == MMX_NORM_MULTIMAX && !k->multimax_bwd) ||
        (!sparse && nm->kind != MMX_NORM_MULTIMAX && !k->softmax_bwd))
        return 0;
    switch (nm->kind) {
    case MMX_NORM_SOFTMAX:
        return k->softmax_bwd(dx, lddx, dy, lddy, y, ldy, rows, n, (float)(1.0 / nm->temperature));
    case MMX_NORM_EVSOFTMAX: return k->softmax_bwd(dx, lddx, dy, lddy, y, ldy, rows, n, 1.0f);
    case MMX_NORM_MULTIMAX:
        return k->multimax_bwd(dx, lddx, acc->dranges, acc->dts, dy, lddy, y, ldy, x, ldx, rows, n, mod);
    case MMX_NORM_SPARSEMAX:
    case MMX_NORM_ENTMAX15:
    case MMX_NORM_ENTMAX:
        return k->entmax_bwd(dx, lddx, nm->kind == MMX_NORM_ENTMAX ? &acc->dalpha : NULL, dy,
                             lddy, y, ldy, rows, n, alpha_of(nm));
    case MMX_NORM_COUNT: break;
    }
    return 0;
}

static int n_threads(int64_t rows, int64_t cols) {
    return rows * cols < MMX_SERIAL_BELOW ? 1 : mmx_get_num_threads();
}

/* The first block with an error: its message is rebuilt on the calling thread by `recheck`
 * (worker threads' messages are theirs). */
static int first_bad(const block_out *out, int nb) {
    for (int b = 0; b < nb; b++)
        if (out[b].bad >= 0) return b;
    return -1;
}

mmx_status mmx_fast_forward(const char *fn, const mmx_norm *nm, float *y, int64_t ldy,
                            const float *x, int64_t ldx, int64_t rows, int64_t cols) {
    const mmx_kernels *k = mmx_kernels_active();
    const mmx_kmod mod = to_kmod(nm);
    const int nb = rows < MMX_BLOCKS ? (int)rows : MMX_BLOCKS;
    block_out out[MMX_BLOCKS];
    mmx_view yv = mmx_view_f32(y, ldy);
    mmx_cview xv = mmx_cview_f32(x, ldx);
#ifdef MMX_HAVE_OPENMP
#pragma omp parallel for schedule(static) num_threads(n_threads(rows, cols))
#endif
    for (int b = 0; b < nb; b++) {
        int64_t r = rows * b / nb, r1 = rows * (b + 1) / nb;
        double *buf = NULL;
        out[b].bad = -1;
        while (r < r1) {
            r += fwd_kernel(k, nm, &mod, y + r * ldy, ldy, x + r * ldx, ldx, r1 - r, cols);
            if (r >= r1) break;
            mmx_status st = buf || (buf = malloc(3 * (size_t)cols * sizeof *buf)) ? MMX_OK : MMX_ERR_NOMEM;
            if (!st) st = mmx_check_forward_values(fn, nm, xv, r, r + 1, cols, buf);
            if (!st) mmx_ref_forward_rows(nm, yv, xv, r, r + 1, cols, buf);
            if (st && out[b].bad < 0) out[b].bad = r, out[b].st = st;
            r++;
        }
        free(buf);
    }
    int b = first_bad(out, nb);
    if (b < 0) return MMX_OK;
    double *buf = malloc(3 * (size_t)cols * sizeof *buf);
    mmx_status st = buf ? mmx_check_forward_values(fn, nm, xv, out[b].bad, out[b].bad + 1, cols, buf) : MMX_OK;
    free(buf);
    return st ? st : mmx_fail(out[b].st, fn, "row %lld: %s", (long long)out[b].bad, mmx_status_str(out[b].st));
}

mmx_status mmx_fast_backward(const char *fn, const mmx_norm *nm, float *dx, int64_t lddx,
                             mmx_grad_acc *acc, const float *dy, int64_t lddy, const float *y,
                             int64_t ldy, const float *x, int64_t ldx, int64_t rows,
                             int64_t cols) {
    const mmx_kernels *k = mmx_kernels_active();
    const mmx_kmod mod = to_kmod(nm);
    const int nb = rows < MMX_BLOCKS ? (int)rows : MMX_BLOCKS;
    block_out out[MMX_BLOCKS];
    mmx_view dxv = mmx_view_f32(dx, lddx);
    mmx_cview dyv = mmx_cview_f32(dy, lddy), yv = mmx_cview_f32(y, ldy), xv = mmx_cview_f32(x, ldx);
#ifdef MMX_HAVE_OPENMP
#pragma omp parallel for schedule(static) num_threads(n_threads(rows, cols))
#endif
    for (int b = 0; b < nb; b++) {
        int64_t r = rows * b / nb, r1 = rows * (b + 1) / nb;
        double *buf = NULL;
        memset(&out[b], 0, sizeof out[b]);
        out[b].bad = -1;
        while (r < r1) {
            r += bwd_kernel(k, nm, &mod, dx + r * lddx, lddx, &out[b].acc, dy + r * lddy, lddy,
                            y + r * ldy, ldy, x ? x + r * ldx : NULL, ldx, r1 - r, cols);
            if (r >= r1) break;
            mmx_status st = buf || (buf = malloc(4 * (size_t)cols * sizeof *buf)) ? MMX_OK : MMX_ERR_NOMEM;
            if (!st) st = mmx_check_backward_values(fn, nm, dyv, yv, xv, r, r + 1, cols, buf);
            if (!st) mmx_ref_backward_rows(nm, dxv, &out[b].acc, dyv, yv, xv, r, r + 1, cols, buf);
            if (st && out[b].bad < 0) out[b].bad = r, out[b].st = st;
            r++;
        }
        free(buf);
    }
    for (int b = 0; b < nb; b++) { /* block order: deterministic sums */
        for (int i = 0; i < 2 * MMX_MULTIMAX_MAX_ORDER; i++) {
            acc->dranges[i] += out[b].acc.dranges[i];
            acc->dts[i] += out[b].acc.dts[i];
        }
        acc->dalpha += out[b].acc.dalpha;
    }
    int b = first_bad(out, nb);
    if (b < 0) return MMX_OK;
    double *buf = malloc(4 * (size_t)cols * sizeof *buf);
    mmx_status st = buf ? mmx_check_backward_values(fn, nm, dyv, yv, xv, out[b].bad, out[b].bad + 1, cols, buf) : MMX_OK;
    free(buf);
    return st ? st : mmx_fail(out[b].st, fn, "row %lld: %s", (long long)out[b].bad, mmx_status_str(out[b].st));
}
