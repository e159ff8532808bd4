/* SoftMax with temperature: y = exp(x/t) / sum exp(x/t). */
#include <math.h>

#include "ref/ref.h"

void mmx_ref_softmax_forward(double *y, const double *x, int64_t n, double t) {
    double m = -INFINITY;
    for (int64_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) { /* subtract the max first: 1e30 works, -inf gives 0 */
        y[i] = exp((x[i] - m) / t);
        s += y[i];
    }
    for (int64_t i = 0; i < n; i++) y[i] /= s;
}

void mmx_ref_softmax_backward(double *dx, const double *dy, const double *y, int64_t n, double t) {
    double dot = 0.0;
    for (int64_t i = 0; i < n; i++) dot += y[i] * dy[i];
    for (int64_t i = 0; i < n; i++) dx[i] = y[i] * (dy[i] - dot) / t;
}
