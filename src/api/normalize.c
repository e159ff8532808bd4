/*
 * The public forward and backward entry points. Each call validates everything first
 * (descriptor, sizes, pointers, every value), so a failing call writes nothing; then it runs
 * the reference row by row in double precision through the rows.h views.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/rows.h"
#include "core/internal.h"
#include "ref/ref.h"

static mmx_status forward(const char *fn, const mmx_norm *nm, mmx_view y, mmx_cview x,
                          int64_t rows, int64_t cols) {
    mmx_status st;
    if ((st = mmx_norm_validate(fn, nm)) || (st = mmx_check_shape(fn, rows, cols)) ||
        (st = mmx_check_buffer(fn, "y", y.p, y.ld, rows, cols)) ||
        (st = mmx_check_buffer(fn, "x", x.p, x.ld, rows, cols)) ||
        (st = mmx_check_values(fn, "x", x, rows, cols, MMX_VALUES_SCORES)))
        return st;
    if (rows == 0) return MMX_OK;
    double *buf = malloc(3 * (size_t)cols * sizeof *buf);
    if (!buf) return mmx_fail(MMX_ERR_NOMEM, fn, "cannot allocate %lld bytes of scratch", (long long)(3 * cols * 8));
    double *xr = buf, *yr = buf + cols, *scratch = buf + 2 * cols;
    if ((st = mmx_check_sigma(fn, nm, x, rows, cols, xr))) {
        free(buf);
        return st;
    }
    for (int64_t r = 0; r < rows; r++) {
        mmx_load_row(xr, x, r, cols);
        if (!mmx_row_has_finite(xr, cols)) { /* fully masked: zeros, never NaN */
            mmx_zero_row(y, r, cols);
            continue;
        }
        mmx_ref_forward_row(nm, yr, scratch, xr, cols);
        mmx_store_row(y, r, cols, yr);
    }
    free(buf);
    return MMX_OK;
}

mmx_status mmx_forward_f32(const mmx_norm *norm, float *y, int64_t ldy, const float *x,
                           int64_t ldx, int64_t rows, int64_t cols) {
    return forward("mmx_forward_f32", norm, mmx_view_f32(y, ldy), mmx_cview_f32(x, ldx), rows, cols);
}

mmx_status mmx_forward_f64(const mmx_norm *norm, double *y, int64_t ldy, const double *x,
                           int64_t ldx, int64_t rows, int64_t cols) {
    return forward("mmx_forward_f64", norm, mmx_view_f64(y, ldy), mmx_cview_f64(x, ldx), rows, cols);
}

static mmx_status check_backward(const char *fn, const mmx_norm *nm, mmx_view dx, mmx_cview dy,
                                 mmx_cview y, mmx_cview x, int64_t rows, int64_t cols) {
    mmx_status st;
    int needs_x = nm && nm->kind == MMX_NORM_MULTIMAX;
    if ((st = mmx_norm_validate(fn, nm)) || (st = mmx_check_shape(fn, rows, cols)) ||
        (st = mmx_check_buffer(fn, "dx", dx.p, dx.ld, rows, cols)) ||
        (st = mmx_check_buffer(fn, "dy", dy.p, dy.ld, rows, cols)) ||
        (st = mmx_check_buffer(fn, "y", y.p, y.ld, rows, cols)) ||
        (needs_x && (st = mmx_check_buffer(fn, "x", x.p, x.ld, rows, cols))) ||
        (st = mmx_check_values(fn, "dy", dy, rows, cols, MMX_VALUES_FINITE)) ||
        (st = mmx_check_values(fn, "y", y, rows, cols, MMX_VALUES_FINITE)) ||
        (needs_x && (st = mmx_check_values(fn, "x", x, rows, cols, MMX_VALUES_SCORES))))
        return st;
    return MMX_OK;
}

/* Parameter gradients are summed per call in double, in row order, then added to *pg. */
static void add_grads(mmx_param_grads *pg, const mmx_norm *nm, const double *dr,
                      const double *dt, double da) {
    if (!pg) return;
    if (nm->kind == MMX_NORM_MULTIMAX)
        for (int i = 0; i < 2 * nm->order; i++) {
            if (pg->dranges) pg->dranges[i] += dr[i];
            if (pg->dts) pg->dts[i] += dt[i];
        }
    if (nm->kind == MMX_NORM_ENTMAX && pg->dalpha) *pg->dalpha += da;
}

static mmx_status backward(const char *fn, const mmx_norm *nm, mmx_view dx, mmx_param_grads *pg,
                           mmx_cview dy, mmx_cview y, mmx_cview x, int64_t rows, int64_t cols) {
    mmx_status st = check_backward(fn, nm, dx, dy, y, x, rows, cols);
    if (st || rows == 0) return st;
    double *buf = malloc(4 * (size_t)cols * sizeof *buf);
    if (!buf) return mmx_fail(MMX_ERR_NOMEM, fn, "cannot allocate %lld bytes of scratch", (long long)(4 * cols * 8));
    double *xr = buf, *yr = buf + cols, *dyr = buf + 2 * cols, *dxr = buf + 3 * cols;
    double dr[2 * MMX_MULTIMAX_MAX_ORDER] = {0}, dt[2 * MMX_MULTIMAX_MAX_ORDER] = {0}, da = 0.0;
    int needs_x = nm->kind == MMX_NORM_MULTIMAX;
    for (int64_t r = 0; r < rows; r++) {
        mmx_load_row(yr, y, r, cols);
        mmx_load_row(dyr, dy, r, cols);
        if (needs_x) mmx_load_row(xr, x, r, cols);
        if (needs_x ? !mmx_row_has_finite(xr, cols) : !mmx_row_has_mass(yr, cols)) {
            mmx_zero_row(dx, r, cols); /* fully masked row: zero gradient */
            continue;
        }
        mmx_ref_backward_row(nm, dxr, dr, dt, &da, dyr, yr, needs_x ? xr : NULL, cols);
        mmx_store_row(dx, r, cols, dxr);
    }
    free(buf);
    add_grads(pg, nm, dr, dt, da);
    return MMX_OK;
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
