/*
 * layers.h - the training engine's layers, forward and backward side by side (float32,
 * row-major, threads over rows with OpenMP, products through OpenBLAS sgemm).
 *
 * Conventions (as in llm.c): outputs first, then inputs, then sizes; every buffer carries its
 * shape in a comment. Backward functions ACCUMULATE (+=) into both parameter gradients and
 * input gradients, so residual branches add up without extra buffers (exceptions, where a
 * buffer's first writer can skip a zero fill: nn_linear_backward's input gradient on request,
 * nn_gelu_backward); the model zeroes its gradient buffers once per step. N is the number of
 * rows (batch x tokens).
 */
#ifndef MMX_NN_LAYERS_H
#define MMX_NN_LAYERS_H

#include <stdint.h>

/* y = x W^T + b          y: (N, out)  x: (N, in)  w: (out, in)  b: (out) or NULL */
void nn_linear_forward(float *y, const float *x, const float *w, const float *b, int64_t n,
                       int64_t in, int64_t out);
/* y = x W^T + b + res (a residual connection folded into the product; b or res may be NULL);
 * res (n, out) may not alias y. */
void nn_linear_forward_add(float *y, const float *x, const float *w, const float *b,
                           const float *res, int64_t n, int64_t in, int64_t out);
/* h = x W^T + b (b may be NULL), y = GELU(h), d = GELU'(h) (d may alias h, or be NULL): the
 * GELU applied to each group of rows of the product while it is in cache. GELU as PyTorch's
 * default (erf form): GELU(h) = h Phi(h) = h (1 + erf(h / sqrt 2)) / 2, erf to 1.5e-7
 * absolute (SIMD kernel, see math_slots.inc); GELU'(h) = Phi(h) + h phi(h).
 *   y, d, h: (N, out) */
void nn_linear_gelu_forward(float *y, float *d, float *h, const float *x, const float *w,
                            const float *b, int64_t n, int64_t in, int64_t out);
/* dx = dx_beta dx + dy W; dw += dy^T x; db += sum_rows dy. dx may be NULL (no input gradient);
 * dx_beta = 0 overwrites dx (the first contribution: no zero-fill needed), 1 accumulates.
 * wpart: scratch of nn_linear_wgrad_floats(n, in, out) floats (NULL where that is 0): dw is
 * summed over fixed row groups, one thread each, whose partial products land there. */
void nn_linear_backward(float *dx, float dx_beta, float *dw, float *db, float *wpart,
                        const float *dy, const float *x, const float *w, int64_t n, int64_t in,
                        int64_t out);
/* Most row groups of the weight gradient (nn_linear_wgrad_floats <= (NN_WGRAD_MAXG - 1) in out). */
#define NN_WGRAD_MAXG 4
int64_t nn_linear_wgrad_floats(int64_t n, int64_t in, int64_t out);

/* y = (x - mean) * rstd * g + b per row, eps inside the sqrt (PyTorch's LayerNorm)
 *   y, x: (N, C)   mean, rstd: (N) saved for the backward   g, b: (C) */
void nn_layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *g,
                          const float *b, int64_t n, int64_t c, float eps);
/* dx += rstd (dxh - mean(dxh) - xh mean(dxh xh)), dxh = dy g, xh = (x - mean) rstd;
 * dg += sum dy xh; db += sum dy; dsum (may be NULL) += sum over rows of the resulting dx (the
 * bias gradient of the linear layer whose output gradient dx is, summed while dx is in cache;
 * the same sums as nn_colsum_add).   xhat: (N, C) scratch (holds xh on return) */
void nn_layernorm_backward(float *dx, float *dg, float *db, float *dsum, float *xhat,
                           const float *dy, const float *x, const float *mean, const float *rstd,
                           const float *g, int64_t n, int64_t c);

/* dx = dy d, d from nn_linear_gelu_forward (overwrites dx), over n rows of c values; dsum
 * (may be NULL) += sum over rows of dx (the preceding linear layer's bias gradient, as nn_colsum_add
 * would sum it)    dx, dy, d: (N, C) */
void nn_gelu_backward(float *dx, float *dsum, const float *dy, const float *d, int64_t n,
                      int64_t c);

/* acc[j] += sum_r x[r, j] (w == NULL) or sum_r x[r, j] w[r, j] over n rows of c columns, in
 * double (float over 128 rows, then double), in a fixed order: the result does not depend on
 * the thread count. */
void nn_colsum_add(float *acc, const float *x, const float *w, int64_t n, int64_t c);

/* y[r, i] += b[i]: b (n) added to each of the reps rows of y (reps, n) */
void nn_add_bcast(float *y, const float *b, int64_t reps, int64_t n);

/* Mean over tokens: y (B, C) = mean_t x (B, T, C). */
void nn_meanpool_forward(float *y, const float *x, int64_t b, int64_t t, int64_t c);
/* dx (B, T, C) += dy (B, C) / T */
void nn_meanpool_backward(float *dx, const float *dy, int64_t b, int64_t t, int64_t c);

/* Non-overlapping p x p patches of single-channel images, flattened row-major per patch
 * (the layout of a Conv2d(1, C, p, stride p) weight (C, 1, p, p)).
 *   patches: (B, T, p*p) with T = (h/p) (w/p), tokens in row-major patch order
 *   img: (B, h, w); h and w multiples of p */
void nn_patchify(float *patches, const float *img, int64_t b, int64_t h, int64_t w, int64_t p);

#endif
