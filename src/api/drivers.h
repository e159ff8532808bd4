/*
 * The drivers behind the public forward / backward entry points (src/api/normalize.c: checks
 * and the double-precision reference path; src/api/fast.c: the threaded float32 kernel path).
 */
#ifndef MMX_DRIVERS_H
#define MMX_DRIVERS_H

#include "api/rows.h"

/* Values of rows [r0, r1) that forward needs (x; MultiMax's sigma). buf: 3*cols doubles. */
mmx_status mmx_check_forward_values(const char *fn, const mmx_norm *nm, mmx_cview x, int64_t r0,
                                    int64_t r1, int64_t cols, double *buf);
/* The reference on rows [r0, r1), already checked. buf: 3*cols doubles. */
void mmx_ref_forward_rows(const mmx_norm *nm, mmx_view y, mmx_cview x, int64_t r0, int64_t r1,
                          int64_t cols, double *buf);

/* Scalar gradients summed in double. */
typedef struct {
    double dranges[2 * MMX_MULTIMAX_MAX_ORDER], dts[2 * MMX_MULTIMAX_MAX_ORDER], dalpha;
} mmx_grad_acc;

/* Values of rows [r0, r1) that backward needs, and (MultiMax) that the gradients are finite.
 * buf: 4*cols doubles. */
mmx_status mmx_check_backward_values(const char *fn, const mmx_norm *nm, mmx_cview dy,
                                     mmx_cview y, mmx_cview x, int64_t r0, int64_t r1,
                                     int64_t cols, double *buf);
/* buf: 4*cols doubles. */
void mmx_ref_backward_rows(const mmx_norm *nm, mmx_view dx, mmx_grad_acc *acc, mmx_cview dy,
                           mmx_cview y, mmx_cview x, int64_t r0, int64_t r1, int64_t cols,
                           double *buf);

/* The threaded float32 paths; arguments already checked, values not yet. */
mmx_status mmx_fast_forward(const char *fn, const mmx_norm *nm, float *y, int64_t ldy,
                            const float *x, int64_t ldx, int64_t rows, int64_t cols);
/* want_dalpha: alpha-EntMax only, whether acc->dalpha is computed (the kernel's dalpha sums
 * are double logs and exps, ~2x the cost of dx alone). */
mmx_status mmx_fast_backward(const char *fn, const mmx_norm *nm, float *dx, int64_t lddx,
                             mmx_grad_acc *acc, int want_dalpha, const float *dy, int64_t lddy,
                             const float *y, int64_t ldy, const float *x, int64_t ldx,
                             int64_t rows, int64_t cols);

/* The same on rows [0, rows) serially on the calling thread, for drivers that own the threads
 * (src/attn). *bad_row: the first row that failed (its outputs untouched), or -1; the message
 * is left on this thread. */
mmx_status mmx_fast_forward_serial(const char *fn, const mmx_norm *nm, float *y, int64_t ldy,
                                   const float *x, int64_t ldx, int64_t rows, int64_t cols,
                                   int64_t *bad_row);
mmx_status mmx_fast_backward_serial(const char *fn, const mmx_norm *nm, float *dx, int64_t lddx,
                                    mmx_grad_acc *acc, const float *dy, int64_t lddy,
                                    const float *y, int64_t ldy, const float *x, int64_t ldx,
                                    int64_t rows, int64_t cols, int64_t *bad_row);

#endif
