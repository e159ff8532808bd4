/*
 * A softmax shift for MultiMax without a pass of sigma over the row (scalar, ISA-independent).
 *
 * Softmax is shift-invariant, so the kernels may subtract any M with max z <= M (no overflow)
 * as long as M is close to max z (no needless underflow). For order <= 2, sigma is a
 * polynomial of degree <= 2 between its breakpoints b_k, d_k, so its maximum over
 * [min x, max x] is attained at an end of a piece or at a piece's vertex: a few scalar
 * evaluations per row give an M that bounds max sigma(x) over the row. sigma(min x) and
 * sigma(max x) are values of actual entries, so their max is a lower bound of max z; if the
 * gap exceeds MMX_SHIFT_GAP the bound is not used (the kernel computes the exact max instead).
 * For a monotone sigma (the usual learned shape) M is exactly max z.
 */
#include <math.h>

#include "kernels/kernels.h"

#define MMX_SHIFT_GAP 8.0 /* probabilities below e^-(87-8) of the max may flush to 0 */

static double sig(const mmx_kmod *m, double x) {
    double z = x;
    for (int k = 1; k <= m->order; k++) {
        double u = m->ranges[2 * k - 2] - x, v = x - m->ranges[2 * k - 1];
        if (u > 0) z += m->ts[2 * k - 2] * (k == 1 ? u : u * u);
        if (v > 0) z += m->ts[2 * k - 1] * (k == 1 ? v : v * v);
    }
    return z;
}

/* sigma'(x) on the piece that contains `mid` (its indicators), evaluated at x. */
static double dsig_piece(const mmx_kmod *m, double x, double mid) {
    double d = 1.0;
    for (int k = 1; k <= m->order; k++) {
        double b = m->ranges[2 * k - 2], dd = m->ranges[2 * k - 1];
        if (mid < b) d -= m->ts[2 * k - 2] * (k == 1 ? 1.0 : 2.0 * (b - x));
        if (mid > dd) d += m->ts[2 * k - 1] * (k == 1 ? 1.0 : 2.0 * (x - dd));
    }
    return d;
}

/* Sum of the largest |term| sigma (or its derivatives, or the scalar gradients' factors
 * u^k, v^k) can take on [lo, hi], any order. */
static double term_bound(const mmx_kmod *m, double lo, double hi) {
    double s = fabs(lo) + fabs(hi);
    for (int k = 1; k <= m->order; k++) {
        double u = fmax(m->ranges[2 * k - 2] - lo, 0.0), v = fmax(hi - m->ranges[2 * k - 1], 0.0);
        double uk = pow(u, k), vk = pow(v, k);
        s += (1.0 + k * fabs(m->ts[2 * k - 2])) * (uk + u + 1.0) +
             (1.0 + k * fabs(m->ts[2 * k - 1])) * (vk + v + 1.0);
    }
    return s;
}

int mmx_kmod_safe(const mmx_kmod *m, float xmin, float xmax) {
    return term_bound(m, xmin, xmax) < 1e30; /* far from FLT_MAX: sums of such terms stay finite */
}

int mmx_kmod_shift(const mmx_kmod *m, float xmin, float xmax, float *shift) {
    if (m->order > 2 || !mmx_kmod_safe(m, xmin, xmax)) return 0;
    double pts[2 + 2 * 2] = {xmin, xmax};
    int np = 2;
    for (int i = 0; i < 2 * m->order; i++)
        if (m->ranges[i] > xmin && m->ranges[i] < xmax) pts[np++] = m->ranges[i];
    for (int i = 1; i < np; i++) /* insertion sort of <= 6 points */
        for (int j = i; j > 0 && pts[j - 1] > pts[j]; j--) {
            double t = pts[j];
            pts[j] = pts[j - 1], pts[j - 1] = t;
        }
    double best = -INFINITY;
    for (int i = 0; i + 1 < np; i++) { /* each piece [l, r]: its ends and its vertex */
        double l = pts[i], r = pts[i + 1], mid = 0.5 * (l + r);
        best = fmax(best, fmax(sig(m, l), sig(m, r)));
        double dl = dsig_piece(m, l, mid), dr = dsig_piece(m, r, mid);
        if (dl > 0 && dr < 0) best = fmax(best, sig(m, l + (r - l) * dl / (dl - dr)));
    }
    double lower = fmax(sig(m, xmin), sig(m, xmax));
    if (!(best - lower <= MMX_SHIFT_GAP)) return 0;
    *shift = (float)best;
    return 1;
}
