/*
 * The reference normalizers: plain scalar C in double precision, one row at a time.
 * This is the spec the optimised kernels are tested against: keep it simple and exact.
 *
 * Every function works on one row of n entries. The caller (src/api) guarantees: n >= 1,
 * no NaN or +inf, at least one finite entry (fully masked rows never reach here), and valid
 * scalars. -inf entries are masked: output 0, gradient 0. y may alias x; dx may alias dy.
 * Backward functions overwrite dx and ADD into parameter gradients.
 */
#ifndef MMX_REF_H
#define MMX_REF_H

#include <stdint.h>

#include "multimax.h"

/* exp(x/t) / sum exp(x/t). */
void mmx_ref_softmax_forward(double *y, const double *x, int64_t n, double t);
/* dx = y (dy - <y, dy>) / t. */
void mmx_ref_softmax_backward(double *dx, const double *dy, const double *y, int64_t n, double t);

/* sigma(x) = x + sum_k tb_k max(b_k - x, 0)^k + td_k max(x - d_k, 0)^k, k = 1..order. */
double mmx_ref_sigma(double x, int order, const double *ranges, const double *ts);
/* Chain rule through sigma: given g = dL/dsigma(x) per entry, dx = sigma'(x) g and
 * dranges/dts += sum_i g_i dsigma(x_i)/dtheta. Masked entries (x = -inf) get dx = 0. */
void mmx_ref_sigma_backward(double *dx, double *dranges, double *dts, const double *g,
                            const double *x, int64_t n, int order, const double *ranges,
                            const double *ts);
/* softmax(sigma(x)). */
void mmx_ref_multimax_forward(double *y, const double *x, int64_t n, int order,
                              const double *ranges, const double *ts);
void mmx_ref_multimax_backward(double *dx, double *dranges, double *dts, const double *dy,
                               const double *y, const double *x, int64_t n, int order,
                               const double *ranges, const double *ts);

/* Sort-based SparseMax; scratch holds n doubles. */
void mmx_ref_sparsemax_forward(double *y, double *scratch, const double *x, int64_t n);
/* Sort-based exact 1.5-EntMax; scratch holds n doubles. */
void mmx_ref_entmax15_forward(double *y, double *scratch, const double *x, int64_t n);
/* alpha-EntMax by bisection on tau (see multimax.h for the stopping rule). */
void mmx_ref_entmax_forward(double *y, const double *x, int64_t n, double alpha);
/* Backward of every alpha-EntMax (SparseMax: alpha = 2, 1.5-EntMax: alpha = 1.5):
 * s = y^(2-alpha) on the support, dx = s dy - s <s, dy> / sum s. If dalpha is not NULL,
 * adds <dy, dy/dalpha> (Correia et al. 2019). */
void mmx_ref_entmax_backward(double *dx, double *dalpha, const double *dy, const double *y,
                             int64_t n, double alpha);

/* EvSoftMax: entries strictly below the mean of the finite entries get weight w_low
 * (1e-6 in training, 0 in evaluation); p = softmax(x) w / sum softmax(x) w. */
void mmx_ref_evsoftmax_forward(double *y, const double *x, int64_t n, double w_low);
/* The mask is a constant: p = softmax(x + log w), so dx = y (dy - <y, dy>). */
void mmx_ref_evsoftmax_backward(double *dx, const double *dy, const double *y, int64_t n);

/* Tsallis entropy H_alpha(p) = (1 - sum p^alpha) / (alpha (alpha - 1)). */
double mmx_ref_tsallis(const double *p, int64_t n, double alpha);

/* ---- one row of any normalizer, dispatched on norm->kind (ref/dispatch.c) ---- */

/* scratch: n doubles. */
void mmx_ref_forward_row(const mmx_norm *norm, double *y, double *scratch, const double *x,
                         int64_t n);
/* dranges/dts: 2*order doubles each (MULTIMAX), dalpha: 1 double (ENTMAX); never NULL. */
void mmx_ref_backward_row(const mmx_norm *norm, double *dx, double *dranges, double *dts,
                          double *dalpha, const double *dy, const double *y, const double *x,
                          int64_t n);

#endif
