/* EvSoftMax (Chen et al. 2021), as in the official MultiMax code: entries strictly below the
 * row mean are down-weighted by w_low (1e-6 training, 0 evaluation) before normalising. */
#include <math.h>

#include "ref/ref.h"

void mmx_ref_evsoftmax_forward(double *y, const double *x, int64_t n, double w_low) {
    double m = -INFINITY, mean = 0.0;
    int64_t c = 0;
    for (int64_t i = 0; i < n; i++) {
        m = x[i] > m ? x[i] : m;
        c += x[i] != -INFINITY;
    }
    /* Sum, then divide (exact for ties of small values, as the float kernels' blocked sum);
     * divide first only if the sum overflows (scores near DBL_MAX). */
    for (int64_t i = 0; i < n; i++)
        if (x[i] != -INFINITY) mean += x[i];
    mean /= (double)c;
    if (!isfinite(mean)) {
        mean = 0.0;
        for (int64_t i = 0; i < n; i++)
            if (x[i] != -INFINITY) mean += x[i] / (double)c;
    }
    if (mean > m) mean = m; /* rounding on ties must not mask the max itself */
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) {
        y[i] = exp(x[i] - m) * (x[i] < mean ? w_low : 1.0);
        s += y[i];
    }
    for (int64_t i = 0; i < n; i++) y[i] /= s;
}

void mmx_ref_evsoftmax_backward(double *dx, const double *dy, const double *y, int64_t n) {
    mmx_ref_softmax_backward(dx, dy, y, n, 1.0);
}
