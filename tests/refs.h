/*
 * refs.h - the unit tests' independent references: the maps of SPEC.md sections 1-2 written
 * from the spec, in double, one row at a time, using nothing of the library. Included by
 * harness.h.
 */
#ifndef MMX_TEST_REFS_H
#define MMX_TEST_REFS_H

/* ---------------------------------------------------------------------------------
 * Independent references (SPEC.md sections 1-2), computed in double on one row.
 * ------------------------------------------------------------------------------- */

static inline double ref_rowmax(const double *x, int64_t n)
{
    double m = -INFINITY;
    for (int64_t j = 0; j < n; j++)
        if (x[j] > m) m = x[j];
    return m;
}

/* p = exp(x/t) / sum exp(x/t), -inf -> 0, all -inf -> all 0. */
static inline void ref_softmax(double *p, const double *x, int64_t n, double t)
{
    double m = ref_rowmax(x, n), z = 0.0;
    if (m == -INFINITY) {
        for (int64_t j = 0; j < n; j++) p[j] = 0.0;
        return;
    }
    for (int64_t j = 0; j < n; j++) {
        p[j] = x[j] == -INFINITY ? 0.0 : exp((x[j] - m) / t);
        z += p[j];
    }
    for (int64_t j = 0; j < n; j++) p[j] /= z;
}

/* sigma(x) = x + sum_n tb_n max(b_n - x, 0)^n + td_n max(x - d_n, 0)^n,
 * ranges = [b1, d1, b2, d2, ...], ts = [tb1, td1, tb2, td2, ...]. */
static inline double ref_sigma(int order, const double *ranges, const double *ts, double x)
{
    double s = x;
    for (int n = 1; n <= order; n++) {
        double u = ranges[2 * n - 2] - x, v = x - ranges[2 * n - 1];
        u = u > 0 ? u : 0.0;
        v = v > 0 ? v : 0.0;
        s += ts[2 * n - 2] * pow(u, n) + ts[2 * n - 1] * pow(v, n);
    }
    return s;
}
/* d sigma / dx */
static inline double ref_dsigma(int order, const double *ranges, const double *ts, double x)
{
    double s = 1.0;
    for (int n = 1; n <= order; n++) {
        if (x < ranges[2 * n - 2]) s -= n * ts[2 * n - 2] * pow(ranges[2 * n - 2] - x, n - 1);
        if (x > ranges[2 * n - 1]) s += n * ts[2 * n - 1] * pow(x - ranges[2 * n - 1], n - 1);
    }
    return s;
}

/* The sum of |terms| of d sigma / dx: the scale of the float rounding error of any way of
 * evaluating it (terms may cancel, so |sigma'| alone can be far smaller). */
static inline double ref_dsigma_mag(int order, const double *ranges, const double *ts, double x)
{
    double s = 1.0;
    for (int n = 1; n <= order; n++) {
        if (x < ranges[2 * n - 2]) s += n * fabs(ts[2 * n - 2]) * pow(ranges[2 * n - 2] - x, n - 1);
        if (x > ranges[2 * n - 1]) s += n * fabs(ts[2 * n - 1]) * pow(x - ranges[2 * n - 1], n - 1);
    }
    return s;
}

static inline void ref_multimax(double *p, const double *x, int64_t n, int order,
                                const double *ranges, const double *ts)
{
    double *z = (double *)malloc((size_t)n * sizeof(double));
    if (!z) abort();
    for (int64_t j = 0; j < n; j++)
        z[j] = x[j] == -INFINITY ? -INFINITY : ref_sigma(order, ranges, ts, x[j]);
    ref_softmax(p, z, n, 1.0);
    free(z);
}

/* p = max((a-1) x - tau, 0)^(1/(a-1)) with sum p = 1, by plain bisection on the shifted
 * scores (a-1)(x - max) until the bracket stops shrinking, then renormalised. Written
 * independently of the library's bracket rule (it starts from [-1, 0]). */
static inline void ref_entmax(double *p, const double *x, int64_t n, double alpha)
{
    double m = ref_rowmax(x, n), lo = -1.0, hi = 0.0, e = 1.0 / (alpha - 1.0), s = 0.0;
    if (m == -INFINITY) {
        for (int64_t j = 0; j < n; j++) p[j] = 0.0;
        return;
    }
    for (int it = 0; it < 2000; it++) {
        double mid = 0.5 * (lo + hi), f = 0.0;
        if (mid <= lo || mid >= hi) break;
        for (int64_t j = 0; j < n; j++) {
            double d = (alpha - 1.0) * (x[j] - m) - mid;
            if (x[j] != -INFINITY && d > 0) f += pow(d, e);
        }
        if (f >= 1.0) lo = mid;
        else hi = mid;
    }
    for (int64_t j = 0; j < n; j++) {
        double d = x[j] == -INFINITY ? 0.0 : (alpha - 1.0) * (x[j] - m) - lo;
        p[j] = d > 0 ? pow(d, e) : 0.0;
        s += p[j];
    }
    for (int64_t j = 0; j < n; j++) p[j] /= s;
}

static inline int t_cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}
/* Sort-based sparsemax (Martins & Astudillo 2016) on x - max. */
static inline void ref_sparsemax(double *p, const double *x, int64_t n)
{
    double m = ref_rowmax(x, n), cum = 0.0, tau = 0.0;
    double *s = (double *)malloc((size_t)n * sizeof(double));
    if (!s) abort();
    if (m == -INFINITY) {
        for (int64_t j = 0; j < n; j++) p[j] = 0.0;
        free(s);
        return;
    }
    for (int64_t j = 0; j < n; j++) s[j] = x[j] - m;
    qsort(s, (size_t)n, sizeof(double), t_cmp_desc);
    for (int64_t k = 1; k <= n && s[k - 1] != -INFINITY; k++) {
        cum += s[k - 1];
        if (1.0 + (double)k * s[k - 1] > cum) tau = (cum - 1.0) / (double)k;
    }
    for (int64_t j = 0; j < n; j++) {
        double d = x[j] - m - tau;
        p[j] = x[j] != -INFINITY && d > 0 ? d : 0.0;
    }
    free(s);
}

/* EvSoftMax on a row without -inf: softmax(x) * w / sum, w = 1 at x >= mean, else eps. */
static inline void ref_evsoftmax(double *p, const double *x, int64_t n, int eval)
{
    double mean = 0.0, z = 0.0;
    if (ref_rowmax(x, n) == -INFINITY) {
        for (int64_t j = 0; j < n; j++) p[j] = 0.0;
        return;
    }
    for (int64_t j = 0; j < n; j++) mean += x[j];
    mean /= (double)n;
    ref_softmax(p, x, n, 1.0);
    for (int64_t j = 0; j < n; j++) {
        if (x[j] < mean) p[j] *= eval ? 0.0 : MMX_EVSOFTMAX_TRAIN_EPS;
        z += p[j];
    }
    for (int64_t j = 0; j < n; j++) p[j] /= z;
}

/* LayerNorm of one float row of c values, in double (PyTorch's form: eps inside the sqrt):
 * *mean, *rstd, xh[j] = (x[j] - mean) rstd, and dx[j] = rstd (dy g - <dy g> - xh <dy g xh>)
 * (<.>: the row mean), the input gradient for the output gradient dy and the gain g. */
static inline void ref_layernorm_row(double *xh, double *dx, double *mean, double *rstd,
                                     const float *x, const float *dy, const float *g, int64_t c,
                                     double eps)
{
    double m = 0.0, v = 0.0, s1 = 0.0, s2 = 0.0;
    for (int64_t j = 0; j < c; j++) m += x[j];
    m /= (double)c;
    for (int64_t j = 0; j < c; j++) v += (x[j] - m) * (x[j] - m);
    double rs = 1.0 / sqrt(v / (double)c + eps);
    for (int64_t j = 0; j < c; j++) {
        xh[j] = (x[j] - m) * rs;
        s1 += (double)dy[j] * g[j], s2 += (double)dy[j] * g[j] * xh[j];
    }
    for (int64_t j = 0; j < c; j++)
        dx[j] = rs * ((double)dy[j] * g[j] - s1 / (double)c - xh[j] * s2 / (double)c);
    *mean = m, *rstd = rs;
}

#endif /* MMX_TEST_REFS_H */
