/*
 * sweep.h - the forward and backward sweeps shared by the normalizer tests (every size,
 * contiguous and strided, hostile rows, guards, f32 vs f64, finite differences). Included by
 * harness.h, after the checks, buffers and references it uses.
 */
#ifndef MMX_TEST_SWEEP_H
#define MMX_TEST_SWEEP_H

/* ---------------------------------------------------------------------------------
 * Sizes every normalizer is swept over.
 * ------------------------------------------------------------------------------- */

static const int64_t t_sizes[] = {1, 2, 3, 7, 16, 17, 33, 127, 1000, 4097};
#define T_NSIZES ((int)(sizeof t_sizes / sizeof t_sizes[0]))

/* ---------------------------------------------------------------------------------
 * Forward sweep shared by the normalizer tests: every size of t_sizes, contiguous and
 * strided (ld = cols + 3), f64 and f32, one row of each hostile kind. Checks status,
 * guards, inputs unchanged, finite non-negative rows summing to 1, masked entries and
 * fully masked rows exactly 0, and the independent reference on the rows in refmask.
 * ------------------------------------------------------------------------------- */

typedef void (*t_ref_fn)(double *p, const double *x, int64_t n, const void *ctx);

typedef struct {
    const mmx_norm *norm;
    t_ref_fn ref;
    const void *ctx;
    unsigned refmask;       /* row kinds compared with ref (bit k = kind k)      */
    double rtol64, atol64;  /* f64 against ref                                   */
    double rtol32, atol32;  /* f32 against ref (computed from the rounded input) */
} t_fwd_spec;

#define T_ALL_ROWS ((1u << ROW_KINDS) - 1u)

/* Row-wise structural checks of an output p (stride cols) for input x (stride cols). */
static inline void t_check_rows(const double *p, const double *x, int rows, int64_t cols,
                                double sumtol, const char *file, int line)
{
    int bad_sum = -1, bad_val = -1, bad_mask = -1;
    double worst_sum = 0.0;
    for (int r = 0; r < rows; r++) {
        double sum = 0.0;
        int masked_row = 1;
        for (int64_t j = 0; j < cols; j++) {
            double v = p[r * cols + j];
            if (!(v >= 0.0 && v <= 1.0) && bad_val < 0) bad_val = r;
            if (x[r * cols + j] == -INFINITY && v != 0.0 && bad_mask < 0) bad_mask = r;
            if (x[r * cols + j] != -INFINITY) masked_row = 0;
            sum += v;
        }
        double want = masked_row ? 0.0 : 1.0;
        if (!(fabs(sum - want) <= sumtol) && bad_sum < 0) {
            bad_sum = r;
            worst_sum = sum;
        }
    }
    t_check(bad_sum < 0, file, line, "rows sum to 1 (masked rows to 0)", "row %d (%s) sums to %.17g",
            bad_sum, bad_sum >= 0 ? t_row_names[bad_sum % ROW_KINDS] : "", worst_sum);
    t_check(bad_val < 0, file, line, "outputs in [0, 1], not NaN", "row %d", bad_val);
    t_check(bad_mask < 0, file, line, "masked (-inf) entries give exactly 0", "row %d", bad_mask);
}

/* The float32 kernels of every ISA this CPU has (mmx_set_isa), to run f32 checks under each. */
static const char *const t_isas[] = {"avx512", "avx2", "portable"};
#define T_NISAS 3

/* Score whose exp a softmax-like map takes (x/t, sigma(x), x), and in *mag the size of
 * the terms it is summed from (what its float rounding scales with); NAN for other maps. */
static inline double t_score(const mmx_norm *nm, double x, double *mag)
{
    switch (nm->kind) {
    case MMX_NORM_SOFTMAX: return *mag = fabs(x / nm->temperature), x / nm->temperature;
    case MMX_NORM_EVSOFTMAX: return *mag = fabs(x), x;
    case MMX_NORM_MULTIMAX:
        *mag = fabs(x);
        for (int n = 1; n <= nm->order; n++) {
            double u = fmax(nm->ranges[2 * n - 2] - x, 0.0), v = fmax(x - nm->ranges[2 * n - 1], 0.0);
            *mag += (n + 1) * (fabs(nm->ts[2 * n - 2]) * pow(u, n) + fabs(nm->ts[2 * n - 1]) * pow(v, n));
        }
        return ref_sigma(nm->order, nm->ranges, nm->ts, x);
    default: return *mag = NAN;
    }
}

/* One forward call on guarded, strided buffers (inputs' gaps NaN); y gets the result
 * (stride cols); x is replaced by what the library saw (rounded to float for f32). */
static inline void t_forward_guarded(const mmx_norm *nm, double *y, double *x, int rows,
                                     int64_t cols, int64_t ld, int f32, const char *file, int line)
{
    mmx_status st;
    int guard_ok, same;
    if (f32) {
        t_buf32 xb = t_alloc32(rows, cols, ld, NAN), yb = t_alloc32(rows, cols, ld, (float)T_CANARY);
        t_put32(&xb, x, cols);
        t_f32_to_f64(x, xb.p, ld, rows, cols);
        float *snap = (float *)malloc((size_t)xb.n * sizeof(float));
        if (!snap) abort();
        memcpy(snap, xb.p, (size_t)xb.n * sizeof(float));
        st = mmx_forward_f32(nm, yb.p, ld, xb.p, ld, rows, cols);
        guard_ok = t_guard_bad32(&yb) < 0;
        same = !memcmp(snap, xb.p, (size_t)xb.n * sizeof(float));
        t_f32_to_f64(y, yb.p, ld, rows, cols);
        free(snap), free(xb.p), free(yb.p);
    } else {
        t_buf64 xb = t_alloc64(rows, cols, ld, NAN), yb = t_alloc64(rows, cols, ld, T_CANARY);
        t_put64(&xb, x, cols);
        double *snap = (double *)malloc((size_t)xb.n * sizeof(double));
        if (!snap) abort();
        memcpy(snap, xb.p, (size_t)xb.n * sizeof(double));
        st = mmx_forward_f64(nm, yb.p, ld, xb.p, ld, rows, cols);
        guard_ok = t_guard_bad64(&yb) < 0;
        same = !memcmp(snap, xb.p, (size_t)xb.n * sizeof(double));
        t_f64_strided(y, yb.p, ld, rows, cols);
        free(snap), free(xb.p), free(yb.p);
    }
    t_check(st == MMX_OK, file, line, "forward == MMX_OK", "%s: %s", mmx_status_str(st), mmx_last_error());
    t_check(guard_ok, file, line, "guard of y untouched (gaps and tail)", "");
    t_check(same, file, line, "x unchanged", "");
}

/* f32: float inputs are exact, so the error of a softmax-like output is that of its exp
 * argument, about 2^-24 times the size of the scores (x - max rounds to half an ulp, sigma
 * in float to a few ulp of its terms), plus a few ulp of exp and of the division.
 * smax, magmax: the row's largest score and its size. */
static inline double t_rtol32(const t_fwd_spec *sp, double xj, double smax, double magmax)
{
    double mag, sj = t_score(sp->norm, xj, &mag);
    if (isnan(mag)) return sp->rtol32;
    return 1e-6 + 2.5e-7 * (fabs(sj - smax) + mag + magmax);
}

static inline void t_sweep_forward_one(const t_fwd_spec *sp, int64_t cols, int64_t ld, int f32,
                                       t_rng *rng, const char *file, int line)
{
    const int rows = ROW_KINDS;
    double *x = (double *)malloc((size_t)(rows * cols) * sizeof(double));
    double *y = (double *)malloc((size_t)(rows * cols) * sizeof(double));
    double *ref = (double *)malloc((size_t)(rows * cols) * sizeof(double));
    if (!x || !y || !ref) abort();
    for (int r = 0; r < rows; r++) t_fill_row(x + r * cols, cols, r, rng);
    t_forward_guarded(sp->norm, y, x, rows, cols, ld, f32, file, line);
    t_check_rows(y, x, rows, cols, f32 ? 1e-5 : 1e-12, file, line);
    double worst = 0.0;
    int64_t wr = -1, wc = -1;
    for (int r = 0; r < rows; r++) {
        if (!((sp->refmask >> r) & 1u)) continue;
        const double *xr = x + r * cols, *yr = y + r * cols, *pr = ref + r * cols;
        double smax = -INFINITY, magmax = 0.0, mag;
        for (int64_t j = 0; j < cols; j++)
            if (xr[j] != -INFINITY && t_score(sp->norm, xr[j], &mag) > smax)
                smax = t_score(sp->norm, xr[j], &magmax);
        sp->ref(ref + r * cols, xr, cols, sp->ctx);
        for (int64_t j = 0; j < cols; j++) {
            double rtol = f32 ? t_rtol32(sp, xr[j], smax, magmax) : sp->rtol64;
            double tol = (f32 ? sp->atol32 : sp->atol64) + rtol * fabs(pr[j]);
            double e = fabs(yr[j] - pr[j]) / tol;
            if (!(e <= worst) && yr[j] != pr[j]) worst = e, wr = r, wc = j;
        }
    }
    t_check(worst <= 1.0, file, line, "output ~ reference", "row %lld (%s) col %lld: %.17g vs "
            "%.17g (%.3g x tol)", (long long)wr, wr >= 0 ? t_row_names[wr] : "", (long long)wc,
            wr >= 0 ? y[wr * cols + wc] : 0.0, wr >= 0 ? ref[wr * cols + wc] : 0.0, worst);
    free(x), free(y), free(ref);
}

/* f64 once, f32 under every ISA of this CPU; contiguous and strided. */
static inline void t_sweep_forward(const t_fwd_spec *sp, const char *name, uint64_t seed,
                                   const char *file, int line)
{
    char isa0[32];
    snprintf(isa0, sizeof isa0, "%s", mmx_isa());
    for (int v = -1; v < T_NISAS; v++) {
        if (v >= 0 && mmx_set_isa(t_isas[v]) != MMX_OK) continue;
        t_rng rng = t_rng_seed(seed + (uint64_t)(v + 1));
        for (int i = 0; i < T_NSIZES; i++)
            for (int strided = 0; strided <= 1; strided++) {
                int64_t cols = t_sizes[i], ld = cols + 3 * strided;
                T_CTX("%s forward %s%s cols=%lld ld=%lld", name, v < 0 ? "f64" : "f32 ",
                      v < 0 ? "" : t_isas[v], (long long)cols, (long long)ld);
                t_sweep_forward_one(sp, cols, ld, v >= 0, &rng, file, line);
            }
    }
    mmx_set_isa(isa0);
}
#define SWEEP_FORWARD(spec, name, seed) t_sweep_forward((spec), (name), (seed), __FILE__, __LINE__)

/* ---------------------------------------------------------------------------------
 * Backward sweep: the f64 vector-Jacobian product against central finite differences of
 * the f64 forward (full Jacobian for cols <= 7, two random directions per row above),
 * structural checks on hostile rows, and the f32 backward against the f64 one on the
 * same (float) data.
 * ------------------------------------------------------------------------------- */

#define T_FD_H 1e-6

/* Contiguous f64 forward for finite differences (no guards: those are checked elsewhere). */
static inline void t_fwd64(const mmx_norm *nm, double *y, const double *x, int64_t rows,
                           int64_t cols)
{
    mmx_status st = mmx_forward_f64(nm, y, cols, x, cols, rows, cols);
    if (st != MMX_OK) {
        fprintf(stderr, "t_fwd64: %s (%s)\n", mmx_status_str(st), mmx_last_error());
        for (int64_t i = 0; i < rows * cols; i++) y[i] = NAN;
    }
}

/* How much an f32 rounding of y (and dy) can move dx_i, per unit of max|dy| (the shape of
 * the Jacobian: p_i sigma'_i for softmax-like maps, the support indicator for sparsemax,
 * p_i^(2 - alpha) for entmax). Only used to scale the f32 tolerance. */
static inline double t_bwd_weight(const mmx_norm *nm, double y, double x)
{
    switch (nm->kind) {
    case MMX_NORM_SOFTMAX: return y / nm->temperature;
    case MMX_NORM_MULTIMAX: return y * (1.0 + fabs(ref_dsigma(nm->order, nm->ranges, nm->ts, x)));
    case MMX_NORM_SPARSEMAX: return y > 0 ? 1.0 : 0.0;
    case MMX_NORM_ENTMAX15: return sqrt(y);
    case MMX_NORM_ENTMAX: return y > 0 ? pow(y, 2.0 - nm->alpha) : 0.0;
    default: return y;
    }
}

static inline int t_is_sparse(const mmx_norm *nm)
{
    return nm->kind == MMX_NORM_SPARSEMAX || nm->kind == MMX_NORM_ENTMAX15 ||
           nm->kind == MMX_NORM_ENTMAX;
}

/* Full Jacobian of a short row: rows of J from backward with dy = e_i, columns from FD. */
static inline void t_jacobian_check(const mmx_norm *nm, const double *x0, int64_t n,
                                    const char *file, int line)
{
    double x[64] = {0}, y[64] = {0}, e[64] = {0}, jan[64] = {0}, xp[64] = {0}, xm[64] = {0};
    double yp[64] = {0}, ym[64] = {0}, jfd[64] = {0};
    double scale = 0.0, worst = 0.0;
    if (n > 8) abort();
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            x[i * n + j] = x0[j];
            e[i * n + j] = i == j ? 1.0 : 0.0;
            xp[j * n + i] = x0[i] + (i == j ? T_FD_H : 0.0);
            xm[j * n + i] = x0[i] - (i == j ? T_FD_H : 0.0);
        }
    t_fwd64(nm, y, x, n, n);
    mmx_status st = mmx_backward_f64(nm, jan, n, NULL, e, n, y, n, x, n, n, n);
    t_check(st == MMX_OK, file, line, "mmx_backward_f64 == MMX_OK", "%s", mmx_last_error());
    t_fwd64(nm, yp, xp, n, n);
    t_fwd64(nm, ym, xm, n, n);
    for (int64_t i = 0; i < n; i++) /* jfd[i][j] = d y_i / d x_j, from row j of yp/ym */
        for (int64_t j = 0; j < n; j++) jfd[i * n + j] = (yp[j * n + i] - ym[j * n + i]) / (2 * T_FD_H);
    for (int64_t k = 0; k < n * n; k++) scale = fmax(scale, fabs(jfd[k]));
    int64_t wk = 0;
    for (int64_t k = 0; k < n * n; k++)
        if (!(fabs(jan[k] - jfd[k]) <= worst)) {
            worst = fabs(jan[k] - jfd[k]);
            wk = k;
        }
    t_check(worst <= 1e-6 * scale + 1e-9, file, line, "Jacobian ~ finite differences",
            "J[%lld][%lld] = %.12g vs FD %.12g", (long long)(wk / n), (long long)(wk % n), jan[wk],
            jfd[wk]);
}

enum { BW_RANDOM, BW_PARTMASK, BW_ONE_FINITE, BW_MASKED, BW_TIES, BW_ROWS };
static const int t_bw_kind[BW_ROWS] = {ROW_RANDOM, ROW_PARTMASK, ROW_ONE_FINITE, ROW_MASKED,
                                       ROW_TIES};

/* Directional derivatives on the smooth rows (random, partmask): <dy, (f(x+hv)-f(x-hv))/2h>
 * against <dx, v>, v random on the finite entries. */
static inline void t_directional_check(const mmx_norm *nm, const double *x, const double *dy,
                                       const double *dx, int64_t cols, t_rng *rng,
                                       const char *file, int line)
{
    int64_t n = BW_ROWS * cols;
    double *v = (double *)calloc((size_t)n, sizeof(double));
    double *xp = (double *)malloc((size_t)n * sizeof(double));
    double *xm = (double *)malloc((size_t)n * sizeof(double));
    double *yp = (double *)malloc((size_t)n * sizeof(double));
    double *ym = (double *)malloc((size_t)n * sizeof(double));
    if (!v || !xp || !xm || !yp || !ym) abort();
    for (int rep = 0; rep < 2; rep++) {
        for (int64_t r = 0; r < 2; r++) /* only BW_RANDOM and BW_PARTMASK rows move */
            for (int64_t j = 0; j < cols; j++)
                v[r * cols + j] = x[r * cols + j] == -INFINITY ? 0.0 : t_normal(rng);
        for (int64_t i = 0; i < n; i++) {
            xp[i] = x[i] + T_FD_H * v[i];
            xm[i] = x[i] - T_FD_H * v[i];
        }
        t_fwd64(nm, yp, xp, BW_ROWS, cols);
        t_fwd64(nm, ym, xm, BW_ROWS, cols);
        for (int64_t r = 0; r < 2; r++) {
            double fd = 0.0, an = 0.0, ndy = 0.0, nv = 0.0;
            for (int64_t j = 0; j < cols; j++) {
                int64_t k = r * cols + j;
                fd += dy[k] * (yp[k] - ym[k]) / (2 * T_FD_H);
                an += dx[k] * v[k];
                ndy += dy[k] * dy[k];
                nv += v[k] * v[k];
            }
            double tol = 1e-6 * fmax(fabs(fd), fabs(an)) + 1e-9 * sqrt(ndy * nv);
            t_check(fabs(fd - an) <= tol, file, line, "<dx, v> ~ directional FD",
                    "row %lld: %.15g vs FD %.15g (tol %.3g)", (long long)r, an, fd, tol);
        }
    }
    free(v);
    free(xp);
    free(xm);
    free(yp);
    free(ym);
}

/* Hostile-row checks of an f64 dx (stride cols) for y, x (stride cols). */
static inline void t_dx_structure(const mmx_norm *nm, const double *dx, const double *dy,
                                  const double *y, const double *x, int64_t cols,
                                  const char *file, int line)
{
    int finite = 1, masked0 = 1, offsupp0 = 1, onehot0 = 1;
    for (int64_t k = 0; k < BW_ROWS * cols; k++) {
        if (!isfinite(dx[k])) finite = 0;
        if (x[k] == -INFINITY && dx[k] != 0.0) masked0 = 0;
        if (t_is_sparse(nm) && y[k] == 0.0 && dx[k] != 0.0) offsupp0 = 0;
    }
    for (int64_t j = 0; j < cols; j++) { /* p one-hot: the Jacobian vanishes */
        int64_t k = BW_ONE_FINITE * cols + j;
        if (!(fabs(dx[k]) <= 1e-14 * (1.0 + fabs(dy[k])))) onehot0 = 0;
    }
    t_check(finite, file, line, "dx finite", "");
    t_check(masked0, file, line, "dx exactly 0 at masked entries and fully masked rows", "");
    if (t_is_sparse(nm)) t_check(offsupp0, file, line, "sparse dx exactly 0 off the support", "");
    t_check(onehot0, file, line, "dx ~ 0 on a row with one finite entry", "");
}

/* f32 backward (after an f32 forward) against the f64 backward on the same float data. */
static inline void t_backward_f32_vs_f64(const mmx_norm *nm, const double *x0, const double *dy0,
                                         int64_t cols, const char *file, int line)
{
    const int rows = BW_ROWS;
    const int64_t ld = cols + 2, n = rows * cols;
    double *x = (double *)malloc((size_t)n * sizeof(double)), *y = (double *)malloc((size_t)n * sizeof(double));
    double *dy = (double *)malloc((size_t)n * sizeof(double)), *dx = (double *)malloc((size_t)n * sizeof(double));
    double *dx32 = (double *)malloc((size_t)n * sizeof(double));
    if (!x || !y || !dy || !dx || !dx32) abort();
    t_buf32 xf = t_alloc32(rows, cols, ld, NAN), yf = t_alloc32(rows, cols, ld, (float)T_CANARY);
    t_buf32 dyf = t_alloc32(rows, cols, ld, NAN), dxf = t_alloc32(rows, cols, ld, (float)T_CANARY);
    t_put32(&xf, x0, cols);
    t_put32(&dyf, dy0, cols);
    mmx_status st = mmx_forward_f32(nm, yf.p, ld, xf.p, ld, rows, cols);
    t_check(st == MMX_OK, file, line, "mmx_forward_f32 == MMX_OK", "%s", mmx_last_error());
    for (int64_t i = 0; i < yf.n; i++) /* y's gaps become NaN too: backward must not read them */
        if (t_is_pad_index(i, rows, cols, ld)) yf.p[i] = NAN;
    st = mmx_backward_f32(nm, dxf.p, ld, NULL, dyf.p, ld, yf.p, ld, xf.p, ld, rows, cols);
    t_check(st == MMX_OK, file, line, "mmx_backward_f32 == MMX_OK", "%s", mmx_last_error());
    t_check(t_guard_bad32(&dxf) < 0, file, line, "guard of dx (f32) untouched", "first bad %lld",
            (long long)t_guard_bad32(&dxf));
    t_f32_to_f64(x, xf.p, ld, rows, cols);
    t_f32_to_f64(y, yf.p, ld, rows, cols);
    t_f32_to_f64(dy, dyf.p, ld, rows, cols);
    t_f32_to_f64(dx32, dxf.p, ld, rows, cols);
    st = mmx_backward_f64(nm, dx, cols, NULL, dy, cols, y, cols, x, cols, rows, cols);
    t_check(st == MMX_OK, file, line, "mmx_backward_f64 == MMX_OK", "%s", mmx_last_error());
    double maxdy = 0.0, worst = 0.0;
    int64_t wk = 0;
    for (int64_t k = 0; k < n; k++) maxdy = fmax(maxdy, fabs(dy[k]));
    for (int64_t k = 0; k < n; k++) {
        double tol = 1e-5 * (fabs(dx[k]) + maxdy * t_bwd_weight(nm, y[k], x[k])) + 1e-30;
        double ex = fabs(dx32[k] - dx[k]) / tol;
        if (!(ex <= worst)) worst = ex, wk = k;
    }
    t_check(worst <= 1.0, file, line, "f32 backward ~ f64 backward",
            "row %lld col %lld: %.9g vs %.17g (%.3g x tol)", (long long)(wk / cols),
            (long long)(wk % cols), dx32[wk], dx[wk], worst);
    free(xf.p), free(yf.p), free(dyf.p), free(dxf.p);
    free(x), free(y), free(dy), free(dx), free(dx32);
}

/* f64 backward on strided, guarded buffers: structure, then finite differences. */
static inline void t_backward_f64(const mmx_norm *nm, const double *x, const double *dy,
                                  int64_t cols, t_rng *rng, const char *file, int line)
{
    const int rows = BW_ROWS;
    const int64_t ld = cols + 2, n = rows * cols;
    double *y = (double *)malloc((size_t)n * sizeof(double)), *dx = (double *)malloc((size_t)n * sizeof(double));
    if (!y || !dx) abort();
    t_fwd64(nm, y, x, rows, cols);
    t_buf64 xb = t_alloc64(rows, cols, ld, NAN), yb = t_alloc64(rows, cols, ld, NAN);
    t_buf64 dyb = t_alloc64(rows, cols, ld, NAN), dxb = t_alloc64(rows, cols, ld, T_CANARY);
    t_put64(&xb, x, cols);
    t_put64(&yb, y, cols);
    t_put64(&dyb, dy, cols);
    mmx_status st = mmx_backward_f64(nm, dxb.p, ld, NULL, dyb.p, ld, yb.p, ld, xb.p, ld, rows, cols);
    t_check(st == MMX_OK, file, line, "mmx_backward_f64 == MMX_OK", "%s", mmx_last_error());
    t_check(t_guard_bad64(&dxb) < 0, file, line, "guard of dx untouched", "first bad %lld",
            (long long)t_guard_bad64(&dxb));
    t_f64_strided(dx, dxb.p, ld, rows, cols);
    t_dx_structure(nm, dx, dy, y, x, cols, file, line);
    if (cols <= 7) t_jacobian_check(nm, x, cols, file, line);
    else t_directional_check(nm, x, dy, dx, cols, rng, file, line);
    free(xb.p), free(yb.p), free(dyb.p), free(dxb.p);
    free(y), free(dx);
}

/* Every size: f64 against finite differences, f32 against f64 under every ISA. */
static inline void t_sweep_backward(const mmx_norm *nm, const char *name, uint64_t seed,
                                    const char *file, int line)
{
    t_rng rng = t_rng_seed(seed);
    char isa0[32];
    snprintf(isa0, sizeof isa0, "%s", mmx_isa());
    for (int i = 0; i < T_NSIZES; i++) {
        const int64_t cols = t_sizes[i], n = BW_ROWS * cols;
        double *x = (double *)malloc((size_t)n * sizeof(double)), *dy = (double *)malloc((size_t)n * sizeof(double));
        if (!x || !dy) abort();
        for (int r = 0; r < BW_ROWS; r++) t_fill_row(x + r * cols, cols, t_bw_kind[r], &rng);
        for (int64_t k = 0; k < n; k++) dy[k] = t_normal(&rng);
        T_CTX("%s backward f64 cols=%lld", name, (long long)cols);
        t_backward_f64(nm, x, dy, cols, &rng, file, line);
        for (int v = 0; v < T_NISAS; v++) {
            if (mmx_set_isa(t_isas[v]) != MMX_OK) continue;
            T_CTX("%s backward f32 %s cols=%lld", name, t_isas[v], (long long)cols);
            t_backward_f32_vs_f64(nm, x, dy, cols, file, line);
        }
        free(x), free(dy);
    }
    mmx_set_isa(isa0);
}
#define SWEEP_BACKWARD(norm, name, seed) t_sweep_backward((norm), (name), (seed), __FILE__, __LINE__)

#endif /* MMX_TEST_SWEEP_H */
