/*
 * A softmax shift for MultiMax without a pass of sigma over the row (scalar, ISA-independent).
 *
 * Softmax is shift-invariant, so the kernels may subtract any M with max z <= M (no overflow)
 * as long as M is close to max z (no needless underflow). For order <= 2, sigma is a
 * polynomial of degree <= 2 between its breakpoints b_k, d_k, so on [min x, max x] its
 * maximum is at an end, at a breakpoint, or at a piece's vertex. The breakpoints and vertices
 * ("critical points") depend only on the modulator: mmx_kmod_prepare() finds them once per
 * call, and each row then costs two sigma evaluations and a scan of at most 8 points. It also
 * finds the stretch [mono_lo, mono_hi] around the middle piece on which sigma' >= 0: for a
 * row inside it the forward kernel takes M = sigma(max x) itself, with its vector sigma
 * (mm_shift in softmax_family.inc), and never calls mmx_kmod_shift (the usual case; the
 * scan's branches cost a 64-entry row 20% of its forward: docs/BENCHMARKS.md, normalizers,
 * fifth session).
 * sigma(min x) and sigma(max x) are values of actual entries, a lower bound of max z; if the
 * bound exceeds it by more than MMX_SHIFT_GAP, the kernel computes the exact max instead. For a
 * monotone sigma (the usual learned shape) M is exactly max z.
 */
#include <string.h>
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

static void add_crit(mmx_kmod *m, double x) {
    m->crit_x[m->ncrit] = (float)x;
    m->crit_s[m->ncrit] = (float)sig(m, x);
    m->ncrit++;
}

/* The largest |value| sigma's terms (and sigma', and the scalar-gradient factors u^k, v^k)
 * take on [lo, hi], summed: far inside float range means no float overflow on the row. */
static double term_bound(const mmx_kmod *m, double lo, double hi) {
    double s = fabs(lo) + fabs(hi);
    for (int k = 1; k <= m->order; k++) {
        double u = m->ranges[2 * k - 2] - lo, v = hi - m->ranges[2 * k - 1];
        u = u > 0 ? u : 0.0; /* not fmax: a libm call per row where it is not inlined */
        v = v > 0 ? v : 0.0;
        double uk = u, vk = v;
        for (int j = 1; j < k; j++) uk *= u, vk *= v;
        s += (1.0 + k * fabs(m->ts[2 * k - 2])) * (uk + u + 1.0) +
             (1.0 + k * fabs(m->ts[2 * k - 1])) * (vk + v + 1.0);
    }
    return s;
}

/* The largest power of 2 (up to 2^20) with term_bound(-r, r) < 1e30, or 0. */
static float safe_radius(const mmx_kmod *m) {
    for (double r = 1048576.0; r >= 1.0; r *= 0.5)
        if (term_bound(m, -r, r) < 1e30) return (float)r;
    return 0.0f;
}

/* sigma' on piece i of the sorted breakpoints p[0..np-1] (piece i spans (p[i-1], p[i]), the
 * first and last unbounded), evaluated at x: a linear function of x on the piece. */
static double dsig_on(const mmx_kmod *m, const double *p, int np, int i, double x) {
    double mid = i == 0 ? p[0] - 1.0 : i == np ? p[np - 1] + 1.0 : 0.5 * (p[i - 1] + p[i]);
    return dsig_piece(m, x, mid);
}

/* [mono_lo, mono_hi]: the stretch around the middle piece on which sigma' >= 0, so a row inside
 * it has its max sigma at its max entry; shrunk by a relative 1e-5 at finite ends (float
 * rounding of the ends must not admit a decreasing stretch). Empty (lo > hi) if sigma' < 0
 * at the middle piece's centre. */
static void mono_interval(mmx_kmod *m, const double *p, int np) {
    m->mono_lo = 1.0f, m->mono_hi = 0.0f;
    const int pc = np / 2; /* 1 <= pc <= np - 1 */
    const double c = 0.5 * (p[pc - 1] + p[pc]);
    if (dsig_on(m, p, np, pc, c) < 0) return;
    double lo = -INFINITY, hi = INFINITY;
    for (int i = pc; i <= np; i++) { /* rightwards; sigma' >= 0 on [c, l] so far */
        double l = i == pc ? c : p[i - 1], fl = dsig_on(m, p, np, i, l);
        if (fl < 0) { /* a downward jump at the breakpoint */
            hi = l;
            break;
        }
        if (i == np) { /* unbounded: sigma' falls to a root, or never */
            double slope = dsig_on(m, p, np, i, l + 1.0) - fl;
            hi = slope >= 0 ? INFINITY : l + fl / -slope;
            break;
        }
        double r = p[i], fr = dsig_on(m, p, np, i, r);
        if (fr >= 0) continue;
        hi = l + (r - l) * fl / (fl - fr); /* the root on the piece */
        break;
    }
    for (int i = pc; i >= 0; i--) { /* leftwards; sigma' >= 0 on [r, c] so far */
        double r = i == pc ? c : p[i], fr = dsig_on(m, p, np, i, r);
        if (fr < 0) {
            lo = r;
            break;
        }
        if (i == 0) {
            double slope = fr - dsig_on(m, p, np, i, r - 1.0);
            lo = slope <= 0 ? -INFINITY : r - fr / slope;
            break;
        }
        double l = p[i - 1], fl = dsig_on(m, p, np, i, l);
        if (fl >= 0) continue;
        lo = r - (r - l) * fr / (fr - fl);
        break;
    }
    if (isfinite(lo)) lo += 1e-5 * (1.0 + fabs(lo));
    if (isfinite(hi)) hi -= 1e-5 * (1.0 + fabs(hi));
    if (!(lo <= hi)) return;
    m->mono_lo = lo < -3e38 ? -INFINITY : (float)lo;
    m->mono_hi = hi > 3e38 ? INFINITY : (float)hi;
}

void mmx_kmod_prepare(mmx_kmod *m) {
    m->safe_r = safe_radius(m);
    m->mono_lo = 1.0f, m->mono_hi = 0.0f; /* empty until mono_interval */
    m->id_lo = -INFINITY, m->id_hi = INFINITY;
    for (int k = 1; k <= m->order; k++) {
        if (m->ranges[2 * k - 2] > m->id_lo) m->id_lo = m->ranges[2 * k - 2];
        if (m->ranges[2 * k - 1] < m->id_hi) m->id_hi = m->ranges[2 * k - 1];
    }
    m->ncrit = 0;
    m->can_shift = m->order <= 2;
    if (!m->can_shift) return;
    double p[4] = {0};
    int np = 0;
    for (int i = 0; i < 2 * m->order; i++) p[np++] = m->ranges[i];
    for (int i = 1; i < np; i++) /* insertion sort of <= 4 breakpoints */
        for (int j = i; j > 0 && p[j - 1] > p[j]; j--) {
            double t = p[j];
            p[j] = p[j - 1], p[j - 1] = t;
        }
    for (int i = 0; i < np; i++) add_crit(m, p[i]);
    mono_interval(m, p, np);
    for (int i = 0; i <= np; i++) { /* piece i: (p[i-1], p[i]), unbounded at both ends */
        double l = i > 0 ? p[i - 1] : p[0] - 2.0, r = i < np ? p[i] : p[np - 1] + 2.0;
        double mid = 0.5 * (l + r), slope = dsig_piece(m, mid + 0.5, mid) - dsig_piece(m, mid - 0.5, mid);
        if (!(slope < 0)) continue; /* sigma' increasing or constant: no interior maximum */
        double v = mid - dsig_piece(m, mid, mid) / slope; /* where sigma' = 0 */
        if ((i == 0 || v > p[i - 1]) && (i == np || v < p[i])) add_crit(m, v);
    }
}

int mmx_kmod_safe(const mmx_kmod *m, float xmin, float xmax) {
    /* term_bound grows as lo falls and hi rises, so [-safe_r, safe_r] covers the common case */
    if (xmin >= -m->safe_r && xmax <= m->safe_r) return 1;
    return term_bound(m, xmin, xmax) < 1e30; /* sums of such terms stay finite in float */
}

int mmx_kmod_shift(const mmx_kmod *m, float xmin, float xmax, float *shift) {
    if (!m->can_shift || !mmx_kmod_safe(m, xmin, xmax)) return 0;
    double s0 = sig(m, xmin), s1 = sig(m, xmax), lower = s0 > s1 ? s0 : s1, best = lower;
    for (int i = 0; i < m->ncrit; i++)
        if (m->crit_x[i] > xmin && m->crit_x[i] < xmax && m->crit_s[i] > best) best = m->crit_s[i];
    if (!(best - lower <= MMX_SHIFT_GAP)) return 0;
    *shift = (float)best;
    return 1;
}

mmx_kmod mmx_kmod_from_norm(const mmx_norm *nm) {
    mmx_kmod m;
    memset(&m, 0, sizeof m);
    if (nm->kind != MMX_NORM_MULTIMAX) return m;
    m.order = nm->order;
    for (int i = 0; i < 2 * nm->order; i++) {
        m.ranges[i] = (float)nm->ranges[i];
        m.ts[i] = (float)nm->ts[i];
    }
    mmx_kmod_prepare(&m);
    return m;
}
