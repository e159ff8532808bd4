/*
 * alpha-EntMax (Peters, Niculae, Martins 2019): p = max((alpha-1) x - tau, 0)^(1/(alpha-1)),
 * tau such that sum p = 1, found by bisection; and the backward shared by every entmax,
 * with the gradient in alpha of Correia, Niculae, Martins 2019.
 */
#include <math.h>

#include "ref/ref.h"

/* max(v, 0)^b, with the common exponents done by multiplication (exact and fast). */
static double ppow(double v, double b) {
    if (v <= 0) return 0.0;
    if (b == 1.0) return v;
    if (b == 2.0) return v * v;
    return pow(v, b);
}

/* sum_i max(z_i - tau, 0)^b over z = (alpha-1)(x - max). */
static double mass(const double *x, int64_t n, double m, double a1, double b, double tau) {
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += ppow((x[i] - m) * a1 - tau, b);
    return s;
}

/* On z = (alpha-1)(x - max) (so max z = 0), tau lies in [-1, -(1/C)^(alpha-1)]: at -1 the
 * top entry alone has mass 1; at the upper end every entry has mass <= 1/C. The mass is
 * decreasing in tau, so bisection keeps mass(lo) >= 1 > mass(hi); the bracket starts no
 * wider than 1 and stops below 2^-52; p is taken at the upper end (so entries on the
 * threshold are exactly 0) and renormalised. */
void mmx_ref_entmax_forward(double *y, const double *x, int64_t n, double alpha) {
    double m = -INFINITY, a1 = alpha - 1.0, b = 1.0 / a1;
    int64_t c = 0;
    for (int64_t i = 0; i < n; i++) {
        m = x[i] > m ? x[i] : m;
        c += x[i] != -INFINITY;
    }
    double lo = -1.0, hi = -pow(1.0 / (double)c, a1);
    for (int it = 0; it < 64 && hi - lo > 0x1p-52; it++) {
        double mid = 0.5 * (lo + hi);
        if (mass(x, n, m, a1, b, mid) >= 1.0) lo = mid;
        else hi = mid;
    }
    /* hi >= tau*: an entry exactly on the threshold (ties, quantized scores) gets an exact 0,
     * as do entries within a few ulps of it (8 * 2^-52 |tau|, relative: at a large alpha on
     * equal scores |tau| ~ 1e-16). */
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double v = (x[i] - m) * a1 - hi;
        y[i] = v > 8 * 0x1p-52 * fabs(hi) ? ppow(v, b) : 0.0;
        s += y[i];
    }
    for (int64_t i = 0; i < n; i++) y[i] /= s;
}

/* s = p^(2-alpha) on the support; dx = s dy - s <s, dy> / sum s.
 * dp_i/dalpha = b (b p_i - p_i log p_i - c s_i), b = 1/(alpha-1), c = (b - sum p log p) / sum s
 * (implicit differentiation of sum p = 1; it depends on p only). */
void mmx_ref_entmax_backward(double *dx, double *dalpha, const double *dy, const double *y,
                             int64_t n, double alpha) {
    double ss = 0.0, sdy = 0.0, plogp = 0.0, pdy = 0.0, plogpdy = 0.0;
    for (int64_t i = 0; i < n; i++) {
        if (y[i] <= 0) continue;
        double s = ppow(y[i], 2.0 - alpha);
        ss += s;
        sdy += s * dy[i];
        plogp += y[i] * log(y[i]);
        pdy += y[i] * dy[i];
        plogpdy += y[i] * log(y[i]) * dy[i];
    }
    if (dalpha) {
        double b = 1.0 / (alpha - 1.0), c = (b - plogp) / ss;
        *dalpha += b * (b * pdy - plogpdy - c * sdy);
    }
    double q = sdy / ss;
    for (int64_t i = 0; i < n; i++) dx[i] = y[i] > 0 ? ppow(y[i], 2.0 - alpha) * (dy[i] - q) : 0.0;
}
