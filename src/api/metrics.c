/* Multi-modality M and sparsity S of Zhou et al. 2024 (Def. 3.2, 3.3); see multimax.h. */
#include <math.h>
#include <stdlib.h>

#include "api/rows.h"
#include "core/internal.h"

/* M over the entries with x > eps other than the first arg-max of x. */
static double row_m(const double *phi, const double *x, int64_t n, double eps) {
    int64_t arg = -1, cnt = 0;
    double pmax = 0.0, gap = 0.0;
    for (int64_t i = 0; i < n; i++) {
        if (x[i] == -INFINITY) continue;
        if (arg < 0 || x[i] > x[arg]) arg = i;
        pmax = phi[i] > pmax ? phi[i] : pmax;
    }
    for (int64_t i = 0; i < n; i++)
        if (i != arg && x[i] != -INFINITY && x[i] > eps) {
            gap += pmax - phi[i];
            cnt++;
        }
    return cnt ? 1.0 - gap / (double)cnt : MMX_METRIC_UNDEFINED;
}

/* S over the entries with x < eps: exp((s - phi)/s - 1) = exp(-phi/s), s the SoftMax (t = 1)
 * probability, computed as phi * exp(lse - x) so an underflowing s gives 0 (phi > 0) or 1. */
static double row_s(const double *phi, const double *x, int64_t n, double eps) {
    double m = -INFINITY, sum = 0.0, acc = 0.0;
    int64_t cnt = 0;
    for (int64_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
    for (int64_t i = 0; i < n; i++) sum += exp(x[i] - m);
    double lse = m + log(sum);
    for (int64_t i = 0; i < n; i++) {
        if (x[i] == -INFINITY || !(x[i] < eps)) continue;
        acc += phi[i] == 0.0 ? 1.0 : exp(-phi[i] * exp(lse - x[i]));
        cnt++;
    }
    return cnt ? acc / (double)cnt : MMX_METRIC_UNDEFINED;
}

static void mean_of(double *out, double sum, int64_t cnt) {
    if (out) *out = cnt ? sum / (double)cnt : MMX_METRIC_UNDEFINED;
}

static mmx_status metrics(const char *fn, double *m, double *s, double *m_mean, double *s_mean,
                          mmx_cview phi, mmx_cview x, int64_t rows, int64_t cols, double eps) {
    mmx_status st;
    if ((st = mmx_check_shape(fn, rows, cols)) ||
        (st = mmx_check_buffer(fn, "phi", phi.p, phi.ld, rows, cols)) ||
        (st = mmx_check_buffer(fn, "x", x.p, x.ld, rows, cols)) ||
        (st = mmx_check_values(fn, "phi", phi, 0, rows, cols, MMX_VALUES_FINITE)) ||
        (st = mmx_check_values(fn, "x", x, 0, rows, cols, MMX_VALUES_SCORES)))
        return st;
    if (isnan(eps)) return mmx_fail(MMX_ERR_PARAM, fn, "argument 'eps' is NaN");
    double *buf = rows ? malloc(2 * (size_t)cols * sizeof *buf) : NULL;
    if (rows && !buf) return mmx_fail(MMX_ERR_NOMEM, fn, "cannot allocate scratch");
    double msum = 0.0, ssum = 0.0;
    int64_t mcnt = 0, scnt = 0;
    for (int64_t r = 0; r < rows; r++) {
        mmx_load_row(buf, phi, r, cols);
        mmx_load_row(buf + cols, x, r, cols);
        int live = mmx_row_has_finite(buf + cols, cols);
        double mr = live ? row_m(buf, buf + cols, cols, eps) : MMX_METRIC_UNDEFINED;
        double sr = live ? row_s(buf, buf + cols, cols, eps) : MMX_METRIC_UNDEFINED;
        if (m) m[r] = mr;
        if (s) s[r] = sr;
        if (mr != MMX_METRIC_UNDEFINED) msum += mr, mcnt++;
        if (sr != MMX_METRIC_UNDEFINED) ssum += sr, scnt++;
    }
    free(buf);
    mean_of(m_mean, msum, mcnt);
    mean_of(s_mean, ssum, scnt);
    return MMX_OK;
}

mmx_status mmx_metrics_f32(double *m, double *s, double *m_mean, double *s_mean, const float *phi,
                           int64_t ldphi, const float *x, int64_t ldx, int64_t rows, int64_t cols,
                           double eps) {
    return metrics("mmx_metrics_f32", m, s, m_mean, s_mean, mmx_cview_f32(phi, ldphi),
                   mmx_cview_f32(x, ldx), rows, cols, eps);
}

mmx_status mmx_metrics_f64(double *m, double *s, double *m_mean, double *s_mean,
                           const double *phi, int64_t ldphi, const double *x, int64_t ldx,
                           int64_t rows, int64_t cols, double eps) {
    return metrics("mmx_metrics_f64", m, s, m_mean, s_mean, mmx_cview_f64(phi, ldphi),
                   mmx_cview_f64(x, ldx), rows, cols, eps);
}
