/*
 * The drivers' view of a caller's buffer: a (rows, cols) batch of float or double with a
 * row stride. The reference works on double rows; the drivers load and store through these
 * views, so one driver serves both the f32 and the f64 entry points.
 */
#ifndef MMX_ROWS_H
#define MMX_ROWS_H

#include <stdint.h>

#include "multimax.h"

typedef struct {
    const void *p;
    int64_t ld;
    int f32; /* 1: float, 0: double */
} mmx_cview;

typedef struct {
    void *p;
    int64_t ld;
    int f32;
} mmx_view;

static inline mmx_cview mmx_cview_f32(const float *p, int64_t ld) { return (mmx_cview){p, ld, 1}; }
static inline mmx_cview mmx_cview_f64(const double *p, int64_t ld) { return (mmx_cview){p, ld, 0}; }
static inline mmx_view mmx_view_f32(float *p, int64_t ld) { return (mmx_view){p, ld, 1}; }
static inline mmx_view mmx_view_f64(double *p, int64_t ld) { return (mmx_view){p, ld, 0}; }

void mmx_load_row(double *dst, mmx_cview v, int64_t r, int64_t cols);
void mmx_store_row(mmx_view v, int64_t r, int64_t cols, const double *src);
void mmx_zero_row(mmx_view v, int64_t r, int64_t cols);

/* rows >= 0, cols >= 1. */
mmx_status mmx_check_shape(const char *fn, int64_t rows, int64_t cols);
/* Non-NULL (unless rows == 0) and ld >= cols. */
mmx_status mmx_check_buffer(const char *fn, const char *name, const void *p, int64_t ld,
                            int64_t rows, int64_t cols);

/* Entry policy of a buffer's values. */
typedef enum {
    MMX_VALUES_SCORES, /* finite or -inf (masked); no NaN, no +inf */
    MMX_VALUES_FINITE  /* finite only */
} mmx_values;
/* Scans rows [r0, r1); names the first offending row and column. */
mmx_status mmx_check_values(const char *fn, const char *name, mmx_cview v, int64_t r0,
                            int64_t r1, int64_t cols, mmx_values policy);

/* 1 if the loaded row has at least one finite entry / one positive entry. */
int mmx_row_has_finite(const double *x, int64_t n);
int mmx_row_has_mass(const double *y, int64_t n);

/* MULTIMAX only (a no-op for other kinds): sigma of every finite score in rows [r0, r1) must
 * be finite. row: cols doubles of scratch. */
mmx_status mmx_check_sigma(const char *fn, const mmx_norm *nm, mmx_cview x, int64_t r0,
                           int64_t r1, int64_t cols, double *row);

#endif
