/*
 * MultiMax (Zhou, Fritz, Keuper, ICML 2024): softmax(sigma(x)) with the order-N modulator
 *   sigma(x) = x + sum_k tb_k u_k^k + td_k v_k^k,  u_k = max(b_k - x, 0), v_k = max(x - d_k, 0)
 * ranges = [b_1, d_1, b_2, d_2, ...], ts = [tb_1, td_1, tb_2, td_2, ...] (official layout).
 */
#include <math.h>

#include "ref/ref.h"

static double ipow(double u, int k) {
    double r = 1.0;
    for (int i = 0; i < k; i++) r *= u;
    return r;
}

/* Terms with a zero coefficient are skipped: u^k may overflow (1e30^11) and 0 * inf is NaN. */
double mmx_ref_sigma(double x, int order, const double *ranges, const double *ts) {
    double z = x;
    for (int k = 1; k <= order; k++) {
        double u = ranges[2 * k - 2] - x, v = x - ranges[2 * k - 1];
        if (u > 0 && ts[2 * k - 2] != 0) z += ts[2 * k - 2] * ipow(u, k);
        if (v > 0 && ts[2 * k - 1] != 0) z += ts[2 * k - 1] * ipow(v, k);
    }
    return z;
}

/* sigma'(x)   = 1 - k tb_k u^(k-1) [x < b_k] + k td_k v^(k-1) [x > d_k]
 * dsigma/dtb_k = u^k,  dsigma/db_k = k tb_k u^(k-1);  dsigma/dtd_k = v^k,  dsigma/dd_k = -k td_k v^(k-1) */
void mmx_ref_sigma_backward(double *dx, double *dranges, double *dts, const double *g,
                            const double *x, int64_t n, int order, const double *ranges,
                            const double *ts) {
    for (int64_t i = 0; i < n; i++) {
        double gi = g[i];
        if (x[i] == -INFINITY || gi == 0.0) { /* contributes exactly nothing (no 0 * inf) */
            dx[i] = 0.0;
            continue;
        }
        double slope = 1.0;
        for (int k = 1; k <= order; k++) {
            double u = ranges[2 * k - 2] - x[i], v = x[i] - ranges[2 * k - 1];
            if (u > 0) { /* zero coefficients add nothing to sigma' or dranges (no 0 * inf) */
                double uk1 = ipow(u, k - 1);
                dts[2 * k - 2] += gi * uk1 * u;
                if (ts[2 * k - 2] != 0) {
                    slope -= k * ts[2 * k - 2] * uk1;
                    dranges[2 * k - 2] += gi * k * ts[2 * k - 2] * uk1;
                }
            }
            if (v > 0) {
                double vk1 = ipow(v, k - 1);
                dts[2 * k - 1] += gi * vk1 * v;
                if (ts[2 * k - 1] != 0) {
                    slope += k * ts[2 * k - 1] * vk1;
                    dranges[2 * k - 1] -= gi * k * ts[2 * k - 1] * vk1;
                }
            }
        }
        dx[i] = slope * gi;
    }
}

void mmx_ref_multimax_forward(double *y, const double *x, int64_t n, int order,
                              const double *ranges, const double *ts) {
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] == -INFINITY ? -INFINITY : mmx_ref_sigma(x[i], order, ranges, ts);
    mmx_ref_softmax_forward(y, y, n, 1.0);
}

/* z = sigma(x), p = softmax(z): g = p (dp - <p, dp>), then the chain rule through sigma.
 * dx may alias dy: g is formed in dx first, and sigma_backward reads g[i] before writing dx[i]. */
void mmx_ref_multimax_backward(double *dx, double *dranges, double *dts, const double *dy,
                               const double *y, const double *x, int64_t n, int order,
                               const double *ranges, const double *ts) {
    mmx_ref_softmax_backward(dx, dy, y, n, 1.0);
    mmx_ref_sigma_backward(dx, dranges, dts, dx, x, n, order, ranges, ts);
}
