/* Loading, storing and validating the callers' buffers (see rows.h). */
#include <math.h>

#include "api/rows.h"
#include "core/internal.h"
#include "ref/ref.h"

void mmx_load_row(double *dst, mmx_cview v, int64_t r, int64_t cols) {
    if (v.f32) {
        const float *s = (const float *)v.p + r * v.ld;
        for (int64_t i = 0; i < cols; i++) dst[i] = s[i];
    } else {
        const double *s = (const double *)v.p + r * v.ld;
        for (int64_t i = 0; i < cols; i++) dst[i] = s[i];
    }
}

void mmx_store_row(mmx_view v, int64_t r, int64_t cols, const double *src) {
    if (v.f32) {
        float *d = (float *)v.p + r * v.ld;
        for (int64_t i = 0; i < cols; i++) d[i] = (float)src[i];
    } else {
        double *d = (double *)v.p + r * v.ld;
        for (int64_t i = 0; i < cols; i++) d[i] = src[i];
    }
}

void mmx_zero_row(mmx_view v, int64_t r, int64_t cols) {
    if (v.f32) {
        float *d = (float *)v.p + r * v.ld;
        for (int64_t i = 0; i < cols; i++) d[i] = 0.0f;
    } else {
        double *d = (double *)v.p + r * v.ld;
        for (int64_t i = 0; i < cols; i++) d[i] = 0.0;
    }
}

mmx_status mmx_check_shape(const char *fn, int64_t rows, int64_t cols) {
    if (rows < 0) return mmx_fail(MMX_ERR_SIZE, fn, "argument 'rows' = %lld, expected rows >= 0", (long long)rows);
    if (cols < 1) return mmx_fail(MMX_ERR_SIZE, fn, "argument 'cols' = %lld, expected cols >= 1", (long long)cols);
    return MMX_OK;
}

mmx_status mmx_check_buffer(const char *fn, const char *name, const void *p, int64_t ld,
                            int64_t rows, int64_t cols) {
    if (rows == 0) return MMX_OK;
    if (!p) return mmx_fail(MMX_ERR_NULL, fn, "argument '%s' is NULL", name);
    if (ld < cols)
        return mmx_fail(MMX_ERR_SIZE, fn, "leading dimension of '%s' = %lld, expected >= cols = %lld",
                        name, (long long)ld, (long long)cols);
    return MMX_OK;
}

static int bad_value(double x, mmx_values policy) {
    if (isnan(x) || x == INFINITY) return 1;
    return policy == MMX_VALUES_FINITE && x == -INFINITY;
}

mmx_status mmx_check_values(const char *fn, const char *name, mmx_cview v, int64_t r0,
                            int64_t r1, int64_t cols, mmx_values policy) {
    for (int64_t r = r0; r < r1; r++)
        for (int64_t i = 0; i < cols; i++) {
            double x = v.f32 ? (double)((const float *)v.p)[r * v.ld + i]
                             : ((const double *)v.p)[r * v.ld + i];
            if (bad_value(x, policy))
                return mmx_fail(MMX_ERR_VALUE, fn, "'%s' holds %g at row %lld, column %lld; expected %s",
                                name, x, (long long)r, (long long)i,
                                policy == MMX_VALUES_FINITE ? "finite values"
                                                            : "finite values or -inf (masked)");
        }
    return MMX_OK;
}

int mmx_row_has_finite(const double *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (x[i] != -INFINITY) return 1;
    return 0;
}

int mmx_row_has_mass(const double *y, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (y[i] > 0) return 1;
    return 0;
}

/* MultiMax: sigma of a finite score must stay finite (a huge score raised to a high order
 * could overflow). Checked up front so no row is half written. */
mmx_status mmx_check_sigma(const char *fn, const mmx_norm *nm, mmx_cview x, int64_t r0,
                           int64_t r1, int64_t cols, double *row) {
    if (nm->kind != MMX_NORM_MULTIMAX) return MMX_OK;
    for (int64_t r = r0; r < r1; r++) {
        mmx_load_row(row, x, r, cols);
        for (int64_t i = 0; i < cols; i++) {
            if (row[i] == -INFINITY) continue;
            double z = mmx_ref_sigma(row[i], nm->order, nm->ranges, nm->ts);
            if (!isfinite(z))
                return mmx_fail(MMX_ERR_VALUE, fn,
                                "sigma(x) overflows (%g) at row %lld, column %lld (x = %g)", z,
                                (long long)r, (long long)i, row[i]);
        }
    }
    return MMX_OK;
}
