/*
 * The public forward and backward entry points. Arguments (descriptor, sizes, pointers) are
 * checked first: a failing check writes nothing. Then:
 * - float32: the threaded kernel path (src/api/fast.c), row by row with the reference as the
 *   fallback (and as the whole path for a normalizer that has no kernel in this ISA);
 * - float64: every value is checked, then the double-precision reference runs row by row,
 *   so a failing call writes nothing.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/drivers.h"
#include "core/internal.h"
#include "ref/ref.h"

static mmx_status nomem(const char *fn, int64_t n) {
    return mmx_fail(MMX_ERR_NOMEM, fn, "cannot allocate %lld doubles of scratch", (long long)n);
}

mmx_status mmx_check_forward_values(const char *fn, const mmx_norm *nm, mmx_cview x, int64_t r0,
                                    int64_t r1, int64_t cols, double *buf) {
    mmx_status st = mmx_check_values(fn, "x", x, r0, r1, cols, MMX_VALUES_SCORES);
    return st ? st : mmx_check_sigma(fn, nm, x, r0, r1, cols, buf);
}

void mmx_ref_forward_rows(const mmx_norm *nm, mmx_view y, mmx_cview x, int64_t r0, int64_t r1,
                          int64_t cols, double *buf) {
    double *xr = buf, *yr = buf + cols, *scratch = buf + 2 * cols;
    for (int64_t r = r0; r < r1; r++) {
        mmx_load_row(xr, x, r, cols);
        if (!mmx_row_has_finite(xr, cols)) { /* fully masked: zeros, never NaN */
            mmx_zero_row(y, r, cols);
            continue;
        }
        mmx_ref_forward_row(nm, yr, scratch, xr, cols);
        mmx_store_row(y, r, cols, yr);
    }
}

static mmx_status forward(const char *fn, const mmx_norm *nm, mmx_view y, mmx_cview x,
                          int64_t rows, int64_t cols) {
    mmx_status st;
    if ((st = mmx_norm_validate(fn, nm)) || (st = mmx_check_shape(fn, rows, cols)) ||
        (st = mmx_check_buffer(fn, "y", y.p, y.ld, rows, cols)) ||
        (st = mmx_check_buffer(fn, "x", x.p, x.ld, rows, cols)))
        return st;
    if (rows == 0) return MMX_OK;
    if (y.f32) return mmx_fast_forward(fn, nm, y.p, y.ld, x.p, x.ld, rows, cols);
    double *buf = malloc(3 * (size_t)cols * sizeof *buf);
    if (!buf) return nomem(fn, 3 * cols);
    st = mmx_check_forward_values(fn, nm, x, 0, rows, cols, buf);
    if (!st) mmx_ref_forward_rows(nm, y, x, 0, rows, cols, buf);
    free(buf);
    return st;
}

mmx_status mmx_forward_f32(const mmx_norm *norm, float *y, int64_t ldy, const float *x,
                           int64_t ldx, int64_t rows, int64_t cols) {
    return forward("mmx_forward_f32", norm, mmx_view_f32(y, ldy), mmx_cview_f32(x, ldx), rows, cols);
}

mmx_status mmx_forward_f64(const mmx_norm *norm, double *y, int64_t ldy, const double *x,
                           int64_t ldx, int64_t rows, int64_t cols) {
    return forward("mmx_forward_f64", norm, mmx_view_f64(y, ldy), mmx_cview_f64(x, ldx), rows, cols);
}

static int needs_x(const mmx_norm *nm) { return nm->kind == MMX_NORM_MULTIMAX; }

/* MultiMax: the gradient of a huge score under a high order can exceed double range
 * (sigma'(1e30) ~ 1e30^(N-1)). Rows [r0, r1) are computed into scratch first and must give
 * finite dx and scalar gradients, so that no inf / NaN is ever written. buf: 4*cols. */
static mmx_status check_multimax_grads(const char *fn, const mmx_norm *nm, mmx_cview dy,
                                       mmx_cview y, mmx_cview x, int64_t r0, int64_t r1,
                                       int64_t cols, double *buf) {
    double *dxr = buf + 3 * cols;
    for (int64_t r = r0; r < r1; r++) {
        mmx_grad_acc acc;
        memset(&acc, 0, sizeof acc);
        mmx_view scratch = mmx_view_f64(dxr - r * cols, cols); /* row r lands in dxr */
        mmx_ref_backward_rows(nm, scratch, &acc, dy, y, x, r, r + 1, cols, buf);
        int ok = 1;
        for (int64_t i = 0; i < cols; i++) ok &= isfinite(dxr[i]);
        for (int i = 0; i < 2 * nm->order; i++) ok &= isfinite(acc.dranges[i]) && isfinite(acc.dts[i]);
        if (!ok)
            return mmx_fail(MMX_ERR_VALUE, fn, "the gradient of row %lld overflows double "
                            "(huge scores under a high-order modulator)", (long long)r);
    }
    return MMX_OK;
}

mmx_status mmx_check_backward_values(const char *fn, const mmx_norm *nm, mmx_cview dy,
                                     mmx_cview y, mmx_cview x, int64_t r0, int64_t r1,
                                     int64_t cols, double *buf) {
    mmx_status st;
    if ((st = mmx_check_values(fn, "dy", dy, r0, r1, cols, MMX_VALUES_FINITE)) ||
        (st = mmx_check_values(fn, "y", y, r0, r1, cols, MMX_VALUES_FINITE)) ||
        (needs_x(nm) && (st = mmx_check_values(fn, "x", x, r0, r1, cols, MMX_VALUES_SCORES))))
        return st;
    return needs_x(nm) ? check_multimax_grads(fn, nm, dy, y, x, r0, r1, cols, buf) : MMX_OK;
}

void mmx_ref_backward_rows(const mmx_norm *nm, mmx_view dx, mmx_grad_acc *acc, mmx_cview dy,
                           mmx_cview y, mmx_cview x, int64_t r0, int64_t r1, int64_t cols,
                           double *buf) {
    double *xr = buf, *yr = buf + cols, *dyr = buf + 2 * cols, *dxr = buf + 3 * cols;
    for (int64_t r = r0; r < r1; r++) {
        mmx_load_row(yr, y, r, cols);
        mmx_load_row(dyr, dy, r, cols);
        if (needs_x(nm)) mmx_load_row(xr, x, r, cols);
        if (needs_x(nm) ? !mmx_row_has_finite(xr, cols) : !mmx_row_has_mass(yr, cols)) {
            mmx_zero_row(dx, r, cols); /* fully masked row: zero gradient */
            continue;
        }
        mmx_ref_backward_row(nm, dxr, acc->dranges, acc->dts, &acc->dalpha, dyr, yr,
                             needs_x(nm) ? xr : NULL, cols);
        mmx_store_row(dx, r, cols, dxr);
    }
}

/* Scalar gradients were summed per call in double, in a fixed order; add them to *pg. */
static void add_grads(mmx_param_grads *pg, const mmx_norm *nm, const mmx_grad_acc *acc) {
    if (!pg) return;
    if (nm->kind == MMX_NORM_MULTIMAX)
        for (int i = 0; i < 2 * nm->order; i++) {
            if (pg->dranges) pg->dranges[i] += acc->dranges[i];
            if (pg->dts) pg->dts[i] += acc->dts[i];
        }
    if (nm->kind == MMX_NORM_ENTMAX && pg->dalpha) *pg->dalpha += acc->dalpha;
}

static mmx_status backward(const char *fn, const mmx_norm *nm, mmx_view dx, mmx_param_grads *pg,
                           mmx_cview dy, mmx_cview y, mmx_cview x, int64_t rows, int64_t cols) {
    mmx_status st;
    if ((st = mmx_norm_validate(fn, nm)) || (st = mmx_check_shape(fn, rows, cols)) ||
        (st = mmx_check_buffer(fn, "dx", dx.p, dx.ld, rows, cols)) ||
        (st = mmx_check_buffer(fn, "dy", dy.p, dy.ld, rows, cols)) ||
        (st = mmx_check_buffer(fn, "y", y.p, y.ld, rows, cols)) ||
        (needs_x(nm) && (st = mmx_check_buffer(fn, "x", x.p, x.ld, rows, cols))))
        return st;
    if (rows == 0) return MMX_OK;
    mmx_grad_acc acc;
    memset(&acc, 0, sizeof acc);
    if (dx.f32) {
        st = mmx_fast_backward(fn, nm, dx.p, dx.ld, &acc, pg && pg->dalpha, dy.p, dy.ld, y.p, y.ld,
                               x.p, x.ld, rows, cols);
    } else {
        double *buf = malloc(4 * (size_t)cols * sizeof *buf);
        if (!buf) return nomem(fn, 4 * cols);
        st = mmx_check_backward_values(fn, nm, dy, y, x, 0, rows, cols, buf);
        if (!st) mmx_ref_backward_rows(nm, dx, &acc, dy, y, x, 0, rows, cols, buf);
        free(buf);
    }
    if (!st) add_grads(pg, nm, &acc);
    return st;
}

mmx_status mmx_backward_f32(const mmx_norm *norm, float *dx, int64_t lddx, mmx_param_grads *pg,
                            const float *dy, int64_t lddy, const float *y, int64_t ldy,
                            const float *x, int64_t ldx, int64_t rows, int64_t cols) {
    return backward("mmx_backward_f32", norm, mmx_view_f32(dx, lddx), pg, mmx_cview_f32(dy, lddy),
                    mmx_cview_f32(y, ldy), mmx_cview_f32(x, ldx), rows, cols);
}

mmx_status mmx_backward_f64(const mmx_norm *norm, double *dx, int64_t lddx, mmx_param_grads *pg,
                            const double *dy, int64_t lddy, const double *y, int64_t ldy,
                            const double *x, int64_t ldx, int64_t rows, int64_t cols) {
    return backward("mmx_backward_f64", norm, mmx_view_f64(dx, lddx), pg, mmx_cview_f64(dy, lddy),
                    mmx_cview_f64(y, ldy), mmx_cview_f64(x, ldx), rows, cols);
}
