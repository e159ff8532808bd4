/*
 * The float32 SIMD kernels (every ISA this CPU supports) against the float64 entry points,
 * which run the double-precision reference: awkward sizes, hostile rows, row strides with
 * guards, forward and backward, MultiMax parameter gradients, thread-count invariance,
 * in-place calls, the per-row error policy, and the error bound of the kernels' exp.
 */
#include <float.h>

#include "harness.h"

/* Internal: the kernel tables of every ISA (src/kernels/kernels.h), for their exp and GELU too. */
#include "isa_tables.h"

static const int64_t k_cols[] = {1, 2, 3, 7, 15, 16, 17, 31, 33, 63, 65, 127, 129, 1000, 4097};
#define N_COLS ((int)(sizeof k_cols / sizeof k_cols[0]))
#define ROWS 9 /* ROW_KINDS hostile kinds plus random rows */

static const double k_ranges[6] = {-1.0, 1.5, -0.5, 2.0, -2.0, 2.5};
static const double k_ts[6] = {0.3, -0.2, 0.05, -0.03, 0.01, 0.004};
/* A non-monotone sigma: slope -1 above 0, so max sigma(x) sits between the row's entries (the
 * kernels' shift bound on narrow rows, their exact-max pass on wide ones such as +-80). */
static const double k_bump_ranges[4] = {0.0, 0.0, 0.0, 0.0};
static const double k_bump_ts[4] = {0.0, -2.0, 0.0, 0.0};

/* A wide identity band [-90, 90]: most rows (random, ties, +-80) lie inside it, where the
 * kernels run the SoftMax path and skip the (exactly zero) modulator terms. */
static const double k_band_ranges[4] = {-95.0, 90.0, -90.0, 95.0};

typedef struct {
    const char *name;
    mmx_norm norm;
} t_case;

static int make_cases(t_case *c) {
    int n = 0;
    c[n++] = (t_case){"softmax", mmx_norm_softmax(1.0)};
    c[n++] = (t_case){"softmax t=0.7", mmx_norm_softmax(0.7)};
    c[n++] = (t_case){"multimax o1", mmx_norm_multimax(1, k_ranges, k_ts)};
    c[n++] = (t_case){"multimax o2", mmx_norm_multimax(2, k_ranges, k_ts)};
    c[n++] = (t_case){"multimax o3", mmx_norm_multimax(3, k_ranges, k_ts)};
    c[n++] = (t_case){"multimax bump", mmx_norm_multimax(2, k_bump_ranges, k_bump_ts)};
    c[n++] = (t_case){"multimax band", mmx_norm_multimax(2, k_band_ranges, k_ts)};
    c[n++] = (t_case){"evsoftmax train", mmx_norm_evsoftmax(0)};
    c[n++] = (t_case){"evsoftmax eval", mmx_norm_evsoftmax(1)};
    c[n++] = (t_case){"sparsemax", mmx_norm_sparsemax()};
    c[n++] = (t_case){"entmax15", mmx_norm_entmax15()};
    c[n++] = (t_case){"entmax a=1.3", mmx_norm_entmax(1.3)};
    c[n++] = (t_case){"entmax a=2.5", mmx_norm_entmax(2.5)};
    return n;
}

/* Rows of every hostile kind then random ones, rounded to float so both paths see the same. */
static void fill(double *x, int64_t rows, int64_t cols, t_rng *r) {
    for (int64_t i = 0; i < rows; i++) {
        t_fill_row(x + i * cols, cols, i < ROW_KINDS ? (int)i : ROW_RANDOM, r);
        for (int64_t j = 0; j < cols; j++) x[i * cols + j] = (float)x[i * cols + j];
    }
}

static double maxabs(const double *a, int64_t n) {
    double m = 0.0;
    for (int64_t i = 0; i < n; i++) m = fabs(a[i]) > m ? fabs(a[i]) : m;
    return m;
}

/* The weight each entry's upstream gradient gets in float: the backward computes w (dy - dot)
 * with w = y sigma'(x) (softmax family; sigma' sized by the sum of its terms, which may cancel)
 * or y^(2-alpha) (entmax family), so its float error is about eps w (|dy| + |dot|) however
 * small the exact result is. */
static double entry_weight(const t_case *c, double y, double x) {
    switch (c->norm.kind) {
    case MMX_NORM_SOFTMAX: return y / c->norm.temperature;
    case MMX_NORM_MULTIMAX:
        return x == -INFINITY ? 0.0 : y * ref_dsigma_mag(c->norm.order, c->norm.ranges, c->norm.ts, x);
    case MMX_NORM_EVSOFTMAX: return y;
    case MMX_NORM_SPARSEMAX: return y > 0 ? 1.0 : 0.0;
    case MMX_NORM_ENTMAX15: return sqrt(y);
    default: return y > 0 ? pow(y, 2.0 - c->norm.alpha) : 0.0;
    }
}

/* dx against the reference rounded to float (a true gradient beyond float range is inf in
 * both), entry by entry with the float cancellation bound above. */
static void check_bwd(const t_case *c, const double *got, const double *dx64, const double *y64,
                      const double *x, const double *dy, int64_t rows, int64_t cols) {
    int64_t worst = -1;
    double worst_ex = 0.0;
    for (int64_t r = 0; r < rows; r++) {
        double dmax = maxabs(dy + r * cols, cols);
        for (int64_t j = 0; j < cols; j++) {
            int64_t i = r * cols + j;
            double want = (float)dx64[i];
            double tol = 1e-4 * fabs(want) + 32 * FLT_EPSILON * entry_weight(c, y64[i], x[i]) * (fabs(dy[i]) + dmax) + 1e-30;
            double ex = got[i] == want ? 0.0 : fabs(got[i] - want) / tol;
            if (!(ex <= 1.0) && (worst < 0 || !(ex <= worst_ex))) worst = i, worst_ex = ex;
        }
    }
    CHECKF(worst < 0, "worst at row %lld col %lld: %.9g vs %.9g (%.3g x tol)",
           (long long)(worst / cols), (long long)(worst % cols), worst < 0 ? 0 : got[worst],
           worst < 0 ? 0 : dx64[worst], worst_ex);
}

/* Sum over entries of |g| |dsigma/dtheta| for each MultiMax scalar, |g| <= y (|dy| + max|dy|):
 * the size of the terms the parameter gradients add up. */
static void grad_magnitudes(double *mag, const t_case *c, const double *y64, const double *x,
                            const double *dy, int64_t rows, int64_t cols) {
    if (c->norm.kind != MMX_NORM_MULTIMAX) return;
    for (int64_t r = 0; r < rows; r++) {
        double dmax = maxabs(dy + r * cols, cols);
        for (int64_t j = 0; j < cols; j++) {
            int64_t i = r * cols + j;
            if (x[i] == -INFINITY) continue;
            double g = y64[i] * (fabs(dy[i]) + dmax);
            for (int k = 1; k <= c->norm.order; k++) {
                double u = fmax(c->norm.ranges[2 * k - 2] - x[i], 0), v = fmax(x[i] - c->norm.ranges[2 * k - 1], 0);
                mag[2 * k - 2] += g * (pow(u, k) + k * fabs(c->norm.ts[2 * k - 2]) * (u > 0 ? pow(u, k - 1) : 0));
                mag[2 * k - 1] += g * (pow(v, k) + k * fabs(c->norm.ts[2 * k - 1]) * (v > 0 ? pow(v, k - 1) : 0));
            }
        }
    }
}

/* Forward and backward of one case at one size, f32 (kernels) vs f64 (reference). */
static void check_case(const t_case *c, int64_t cols, t_rng *rng) {
    const int64_t rows = ROWS, ld = cols + 3;
    double *x = malloc(sizeof(double) * rows * cols), *dy = malloc(sizeof(double) * rows * cols);
    double *y64 = malloc(sizeof(double) * rows * cols), *dx64 = malloc(sizeof(double) * rows * cols);
    double *got = malloc(sizeof(double) * rows * cols);
    fill(x, rows, cols, rng);
    for (int64_t i = 0; i < rows * cols; i++) dy[i] = (float)t_normal(rng);
    T_CTX("%s [%s] cols=%lld fwd", c->name, mmx_isa(), (long long)cols);
    CHECK_STATUS(mmx_forward_f64(&c->norm, y64, cols, x, cols, rows, cols), MMX_OK);
    t_buf32 X = t_alloc32(rows, cols, ld, NAN), Y = t_alloc32(rows, cols, ld, T_CANARY);
    t_put32(&X, x, cols);
    CHECK_STATUS(mmx_forward_f32(&c->norm, Y.p, ld, X.p, ld, rows, cols), MMX_OK);
    CHECK_GUARD32(Y);
    t_f32_to_f64(got, Y.p, ld, rows, cols);
    CHECK_MAT(got, cols, y64, cols, rows, cols, 3e-5, 1e-9);

    T_CTX("%s [%s] cols=%lld bwd", c->name, mmx_isa(), (long long)cols);
    double dr64[6] = {0}, dt64[6] = {0}, da64 = 0, dr[6] = {0}, dt[6] = {0}, da = 0;
    mmx_param_grads pg64 = {dr64, dt64, &da64}, pg = {dr, dt, &da};
    CHECK_STATUS(mmx_backward_f64(&c->norm, dx64, cols, &pg64, dy, cols, y64, cols, x, cols, rows, cols), MMX_OK);
    t_buf32 DY = t_alloc32(rows, cols, ld, NAN), DX = t_alloc32(rows, cols, ld, T_CANARY);
    t_put32(&DY, dy, cols);
    CHECK_STATUS(mmx_backward_f32(&c->norm, DX.p, ld, &pg, DY.p, ld, Y.p, ld, X.p, ld, rows, cols), MMX_OK);
    CHECK_GUARD32(DX);
    t_f32_to_f64(got, DX.p, ld, rows, cols);
    check_bwd(c, got, dx64, y64, x, dy, rows, cols);
    double mag[6] = {0};
    grad_magnitudes(mag, c, y64, x, dy, rows, cols);
    for (int i = 0; i < 6; i++) { /* sums of float terms: ~eps times the sum of |terms| */
        CHECK_REL(dr[i], dr64[i], 1e-4, 64 * FLT_EPSILON * mag[i] + 1e-12);
        CHECK_REL(dt[i], dt64[i], 1e-4, 64 * FLT_EPSILON * mag[i] + 1e-12);
    }
    CHECK_REL(da, da64, 1e-3, 1e-4);
    if (c->norm.kind == MMX_NORM_ENTMAX) { /* without dalpha: the kernel skips its sums */
        T_CTX("%s [%s] cols=%lld bwd, no dalpha", c->name, mmx_isa(), (long long)cols);
        CHECK_STATUS(mmx_backward_f32(&c->norm, DX.p, ld, NULL, DY.p, ld, Y.p, ld, X.p, ld, rows, cols), MMX_OK);
        CHECK_GUARD32(DX);
        t_f32_to_f64(got, DX.p, ld, rows, cols);
        check_bwd(c, got, dx64, y64, x, dy, rows, cols);
    }
    free(X.p), free(Y.p), free(DY.p), free(DX.p);
    free(x), free(dy), free(y64), free(dx64), free(got);
}

/* Same bits with 1 and 2 threads, forward, backward and scalar gradients. */
static void check_threads(const t_case *c, t_rng *rng) {
    const int64_t rows = 300, cols = 257;
    float *x = malloc(sizeof(float) * rows * cols), *dy = malloc(sizeof(float) * rows * cols);
    float *y[2], *dx[2];
    double dr[2][6] = {{0}}, dt[2][6] = {{0}}, da[2] = {0};
    for (int64_t i = 0; i < rows * cols; i++) x[i] = (float)(3 * t_normal(rng)), dy[i] = (float)t_normal(rng);
    for (int t = 0; t < 2; t++) {
        y[t] = malloc(sizeof(float) * rows * cols), dx[t] = malloc(sizeof(float) * rows * cols);
        mmx_set_num_threads(t + 1);
        mmx_param_grads pg = {dr[t], dt[t], &da[t]};
        mmx_forward_f32(&c->norm, y[t], cols, x, cols, rows, cols);
        mmx_backward_f32(&c->norm, dx[t], cols, &pg, dy, cols, y[t], cols, x, cols, rows, cols);
    }
    T_CTX("%s [%s] threads 1 vs 2", c->name, mmx_isa());
    CHECK(memcmp(y[0], y[1], sizeof(float) * rows * cols) == 0);
    CHECK(memcmp(dx[0], dx[1], sizeof(float) * rows * cols) == 0);
    CHECK(memcmp(dr[0], dr[1], sizeof dr[0]) == 0 && memcmp(dt[0], dt[1], sizeof dt[0]) == 0);
    CHECK(da[0] == da[1]);
    for (int t = 0; t < 2; t++) free(y[t]), free(dx[t]);
    free(x), free(dy);
}

/* The same results through the driver with 64-byte aligned rows (a call whose every row is
 * aligned may stream its output: under MMX_STREAM_STORES=1, the test_kernels_stream entry, it
 * does) as with an odd stride (never streamed): forward, backward, scalar gradients. */
static void check_aligned_calls(const t_case *c, t_rng *rng) {
    const int64_t rows = 300, cols = 256, lds[2] = {256, 259};
    float *x[2], *y[2], *dy[2], *dx[2];
    double dr[2][6] = {{0}}, dt[2][6] = {{0}}, da[2] = {0};
    for (int t = 0; t < 2; t++) {
        size_t bytes = sizeof(float) * (size_t)(rows * lds[t] + 15) / 64 * 64 + 64;
        x[t] = aligned_alloc(64, bytes), y[t] = aligned_alloc(64, bytes);
        dy[t] = aligned_alloc(64, bytes), dx[t] = aligned_alloc(64, bytes);
    }
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < cols; j++) {
            float v = (float)(3 * t_normal(rng)), g = (float)t_normal(rng);
            for (int t = 0; t < 2; t++) x[t][r * lds[t] + j] = v, dy[t][r * lds[t] + j] = g;
        }
    for (int t = 0; t < 2; t++) {
        mmx_param_grads pg = {dr[t], dt[t], &da[t]};
        CHECK_STATUS(mmx_forward_f32(&c->norm, y[t], lds[t], x[t], lds[t], rows, cols), MMX_OK);
        CHECK_STATUS(mmx_backward_f32(&c->norm, dx[t], lds[t], &pg, dy[t], lds[t], y[t], lds[t], x[t], lds[t], rows, cols), MMX_OK);
    }
    T_CTX("%s [%s] aligned rows vs odd stride", c->name, mmx_isa());
    int same = 1;
    for (int64_t r = 0; r < rows; r++)
        same &= memcmp(y[0] + r * lds[0], y[1] + r * lds[1], sizeof(float) * cols) == 0 &&
                memcmp(dx[0] + r * lds[0], dx[1] + r * lds[1], sizeof(float) * cols) == 0;
    CHECK(same);
    CHECK(memcmp(dr[0], dr[1], sizeof dr[0]) == 0 && memcmp(dt[0], dt[1], sizeof dt[0]) == 0 && da[0] == da[1]);
    for (int t = 0; t < 2; t++) free(x[t]), free(y[t]), free(dy[t]), free(dx[t]);
}

/* y == x and dx == dy give the out-of-place results. */
static void check_inplace(const t_case *c, t_rng *rng) {
    const int64_t rows = 5, cols = 100;
    float x[500], y[500], io[500], dy[500], dx[500], io2[500];
    for (int i = 0; i < 500; i++) x[i] = (float)(2 * t_normal(rng)), dy[i] = (float)t_normal(rng);
    memcpy(io, x, sizeof x);
    mmx_forward_f32(&c->norm, y, cols, x, cols, rows, cols);
    T_CTX("%s [%s] in-place", c->name, mmx_isa());
    CHECK_STATUS(mmx_forward_f32(&c->norm, io, cols, io, cols, rows, cols), MMX_OK);
    CHECK(memcmp(io, y, sizeof y) == 0);
    memcpy(io2, dy, sizeof dy);
    mmx_backward_f32(&c->norm, dx, cols, NULL, dy, cols, y, cols, x, cols, rows, cols);
    CHECK_STATUS(mmx_backward_f32(&c->norm, io2, cols, NULL, io2, cols, y, cols, x, cols, rows, cols), MMX_OK);
    CHECK(memcmp(io2, dx, sizeof dx) == 0);
}

/* A NaN in row 2 of 4: rows 0, 1, 3 computed, row 2 untouched, message names row 2. */
static void check_bad_row(const t_case *c) {
    const int64_t rows = 4, cols = 40;
    float x[160], y[160], ref[160];
    for (int i = 0; i < 160; i++) x[i] = (float)((i * 37) % 11) * 0.3f;
    mmx_forward_f32(&c->norm, ref, cols, x, cols, rows, cols);
    x[2 * cols + 5] = NAN;
    for (int i = 0; i < 160; i++) y[i] = -1.0f;
    T_CTX("%s [%s] NaN in row 2", c->name, mmx_isa());
    CHECK_STATUS(mmx_forward_f32(&c->norm, y, cols, x, cols, rows, cols), MMX_ERR_VALUE);
    CHECKF(strstr(mmx_last_error(), "row 2") != NULL, "message: %s", mmx_last_error());
    CHECK(memcmp(y, ref, 2 * cols * sizeof(float)) == 0);
    CHECK(memcmp(y + 3 * cols, ref + 3 * cols, cols * sizeof(float)) == 0);
    int untouched = 1;
    for (int i = 0; i < cols; i++) untouched &= y[2 * cols + i] == -1.0f;
    CHECK(untouched);
}

/* Runs a row kernel over rows [0, rows) as the driver does: a row it declines is skipped
 * (left as it was) and the kernel resumes after it. Returns the declined rows in stops[]. */
typedef int64_t (*t_rows_fn)(const void *ctx, int64_t r, int s);
static int t_run_rows(t_rows_fn fn, const void *ctx, int64_t rows, int s, int64_t *stops) {
    int n = 0;
    for (int64_t r = 0; r < rows;) {
        int64_t done = r + fn(ctx, r, s);
        if (done < rows) stops[n++] = done;
        r = done + 1;
    }
    return n;
}

typedef struct {
    const mmx_kernels *k;
    const t_case *c;
    const mmx_kmod *mod;
    float inv_t, *y[2], *dx[2], *scratch;
    const float *x, *dy;
    double *dr[2], *dt[2], da[2];
    int64_t rows, cols, ld;
} t_stream_ctx;

/* The sparse maps' forwards have no streaming form: both runs make the same call (their y
 * feeds the backward, which does stream). */
static int64_t t_stream_fwd(const void *ctx, int64_t r, int s) {
    const t_stream_ctx *t = ctx;
    float *y = t->y[s] + r * t->ld, *sc = s ? t->scratch : NULL;
    const float *x = t->x + r * t->ld;
    const int64_t n = t->rows - r;
    switch (t->c->norm.kind) {
    case MMX_NORM_SOFTMAX: return t->k->softmax_fwd(y, t->ld, x, t->ld, n, t->cols, t->inv_t, sc);
    case MMX_NORM_MULTIMAX: return t->k->multimax_fwd(y, t->ld, x, t->ld, n, t->cols, t->mod, sc);
    case MMX_NORM_SPARSEMAX: return t->k->sparsemax_fwd(y, t->ld, x, t->ld, n, t->cols);
    case MMX_NORM_ENTMAX15: return t->k->entmax15_fwd(y, t->ld, x, t->ld, n, t->cols);
    default: return t->k->entmax_fwd(y, t->ld, x, t->ld, n, t->cols, t->c->norm.alpha);
    }
}

static int64_t t_stream_bwd(const void *ctx, int64_t r, int s) {
    t_stream_ctx *t = (t_stream_ctx *)ctx;
    const int64_t o = r * t->ld, n = t->rows - r;
    const mmx_norm_kind kind = t->c->norm.kind;
    if (kind == MMX_NORM_SOFTMAX)
        return t->k->softmax_bwd(t->dx[s] + o, t->ld, t->dy + o, t->ld, t->y[0] + o, t->ld, n, t->cols, t->inv_t, s);
    if (kind == MMX_NORM_MULTIMAX)
        return t->k->multimax_bwd(t->dx[s] + o, t->ld, t->dr[s], t->dt[s], t->dy + o, t->ld, t->y[0] + o,
                                  t->ld, t->x + o, t->ld, n, t->cols, t->mod, s);
    double alpha = kind == MMX_NORM_SPARSEMAX ? 2.0 : kind == MMX_NORM_ENTMAX15 ? 1.5 : t->c->norm.alpha;
    return t->k->entmax_bwd(t->dx[s] + o, t->ld, kind == MMX_NORM_ENTMAX ? &t->da[s] : NULL, t->dy + o,
                            t->ld, t->y[0] + o, t->ld, n, t->cols, alpha, s);
}

/* 1 if the entries of a (rows x ld) buffer past each row's cols, and past the rows, hold v. */
static int t_gaps_hold(const float *a, int64_t rows, int64_t cols, int64_t ld, int64_t n, float v) {
    int ok = 1;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = cols; j < ld; j++) ok &= a[r * ld + j] == v;
    for (int64_t i = rows * ld; i < n; i++) ok &= a[i] == v;
    return ok;
}

/* The forward and backward kernels with non-temporal stores (forward: a scratch row; backward:
 * stream = 1) against the same kernels with cached stores: the same declined rows, the same
 * bits in y and dx (hostile rows included), the same MultiMax scalar sums, and the gaps
 * between rows untouched. Row strides make some rows start on a vector boundary (those are
 * streamed) and others not (written as usual). */
static void check_stream(const mmx_kernels *k, const t_case *c, t_rng *rng) {
    if (c->norm.kind == MMX_NORM_EVSOFTMAX) return; /* its backward is SoftMax's */
    if (c->norm.kind != MMX_NORM_SOFTMAX && c->norm.kind != MMX_NORM_MULTIMAX && !k->entmax_bwd) return;
    static const int64_t cols_list[] = {1, 15, 16, 17, 48, 100, 1000, 4097};
    static const int64_t pads[] = {0, 3, 16};
    const int64_t rows = ROWS + 4;
    const mmx_kmod mod = mmx_kmod_from_norm(&c->norm);
    for (size_t ci = 0; ci < sizeof cols_list / sizeof cols_list[0]; ci++) {
        for (size_t pi = 0; pi < sizeof pads / sizeof pads[0]; pi++) {
            const int64_t cols = cols_list[ci], ld = cols + pads[pi], n = (rows * ld + 64) / 16 * 16;
            const size_t bytes = sizeof(float) * (size_t)n;
            double *x64 = malloc(sizeof(double) * rows * cols), dr[2][6] = {{0}}, dt[2][6] = {{0}};
            float *x = aligned_alloc(64, bytes), *dy = aligned_alloc(64, bytes);
            t_stream_ctx t = {k, c, &mod, (float)(1.0 / (c->norm.kind == MMX_NORM_SOFTMAX ? c->norm.temperature : 1.0)),
                              {aligned_alloc(64, bytes), aligned_alloc(64, bytes)},
                              {aligned_alloc(64, bytes), aligned_alloc(64, bytes)},
                              aligned_alloc(64, (size_t)(mmx_fwd_scratch_floats(cols) + 15) / 16 * 64), x, dy, {dr[0], dr[1]},
                              {dt[0], dt[1]}, {0.0, 0.0}, rows, cols, ld};
            fill(x64, rows, cols, rng);
            for (int64_t i = 0; i < n; i++) x[i] = 0.0f, dy[i] = (float)t_normal(rng);
            for (int64_t r = 0; r < rows; r++)
                for (int64_t j = 0; j < cols; j++) x[r * ld + j] = (float)x64[r * cols + j];
            int64_t stops[4][ROWS + 4];
            int nstop[4];
            for (int s = 0; s < 2; s++) {
                for (int64_t i = 0; i < n; i++) t.y[s][i] = t.dx[s][i] = -7.0f; /* gaps, declined rows */
                nstop[s] = t_run_rows(t_stream_fwd, &t, rows, s, stops[s]);
            }
            for (int s = 0; s < 2; s++) nstop[2 + s] = t_run_rows(t_stream_bwd, &t, rows, s, stops[2 + s]);
            T_CTX("%s [%s] streaming stores, cols=%lld ld=%lld", c->name, k->isa, (long long)cols, (long long)ld);
            for (int p = 0; p < 4; p += 2)
                CHECK(nstop[p] == nstop[p + 1] && memcmp(stops[p], stops[p + 1], sizeof(int64_t) * (size_t)nstop[p]) == 0);
            if (c->norm.kind == MMX_NORM_SOFTMAX || c->norm.kind == MMX_NORM_MULTIMAX)
                CHECK(memcmp(t.y[0], t.y[1], bytes) == 0); /* the sparse forwards do not stream */
            CHECK(memcmp(t.dx[0], t.dx[1], bytes) == 0);
            CHECK(memcmp(dr[0], dr[1], sizeof dr[0]) == 0 && memcmp(dt[0], dt[1], sizeof dt[0]) == 0);
            CHECK(memcmp(&t.da[0], &t.da[1], sizeof t.da[0]) == 0);
            CHECK(t_gaps_hold(t.y[1], rows, cols, ld, n, -7.0f) && t_gaps_hold(t.dx[1], rows, cols, ld, n, -7.0f));
            free(x64), free(x), free(dy), free(t.scratch);
            for (int s = 0; s < 2; s++) free(t.y[s]), free(t.dx[s]);
        }
    }
}

/* SoftMax / MultiMax forward kernel on rows [0, rows) (scratch: staging for streamed stores). */
static int64_t t_fwd_kernel(const mmx_kernels *k, const t_case *c, const mmx_kmod *mod, float *y,
                            int64_t ld, const float *x, int64_t rows, int64_t cols, float *scratch) {
    if (c->norm.kind == MMX_NORM_SOFTMAX)
        return k->softmax_fwd(y, ld, x, ld, rows, cols, (float)(1.0 / c->norm.temperature), scratch);
    return k->multimax_fwd(y, ld, x, ld, rows, cols, mod, scratch);
}

/* The scale of a row's float rounding error in sigma(x) (x itself for SoftMax): the largest
 * |x| + sum of |terms| over its finite entries. An error e in sigma(x_i) moves p_i by a
 * relative e, so wide MultiMax rows (|x| ~ 100) need more than 3e-5. */
static double t_sigma_scale(const t_case *c, const double *x, int64_t cols) {
    double s = 0.0, ats[2 * MMX_MULTIMAX_MAX_ORDER];
    const mmx_norm *nm = &c->norm;
    for (int i = 0; nm->kind == MMX_NORM_MULTIMAX && i < 2 * nm->order; i++) ats[i] = fabs(nm->ts[i]);
    for (int64_t j = 0; j < cols; j++) {
        if (!isfinite(x[j])) continue;
        double v = nm->kind == MMX_NORM_MULTIMAX ? ref_sigma(nm->order, nm->ranges, ats, x[j]) - x[j] + fabs(x[j])
                                                 : fabs(x[j]) / nm->temperature;
        s = v > s ? v : s;
    }
    return s;
}

/* The forwards' short-row groups (softmax_short.inc): rows of every hostile kind (NaN, +inf,
 * fully and partly masked, overflowing sigma, scores inside and outside sigma's identity band)
 * mixed at random with plain ones, run as the driver does (a declined row is skipped) with
 * cached and with streamed stores, against the same kernel run one row per call (where no
 * group forms): the same declined rows, the same bits in every row, the gaps between rows
 * untouched; and every row the kernel did agrees with the double-precision reference. */
static void check_groups(const mmx_kernels *k, const t_case *c, t_rng *rng) {
    if (c->norm.kind != MMX_NORM_SOFTMAX && c->norm.kind != MMX_NORM_MULTIMAX) return;
    static const int64_t cols_list[] = {1, 5, 16, 17, 64, 65, 100, 196, 256, 257};
    const int64_t rows = 41;
    const mmx_kmod mod = mmx_kmod_from_norm(&c->norm);
    for (size_t ci = 0; ci < sizeof cols_list / sizeof cols_list[0]; ci++) {
        const int64_t cols = cols_list[ci], ld = ci % 2 ? cols + 3 : (cols + 15) / 16 * 16;
        const int64_t n = (rows * ld + 31) / 16 * 16; /* whole 64-byte lines: aligned_alloc */
        double *x64 = malloc(sizeof(double) * rows * cols), *y64 = malloc(sizeof(double) * cols);
        double *got = malloc(sizeof(double) * cols);
        float *x = aligned_alloc(64, sizeof(float) * (size_t)n), *y[3];
        float *scratch = aligned_alloc(64, sizeof(float) * (size_t)((mmx_fwd_scratch_floats(cols) + 15) / 16 * 16));
        for (int s = 0; s < 3; s++) {
            y[s] = aligned_alloc(64, sizeof(float) * (size_t)n);
            for (int64_t i = 0; i < n; i++) y[s][i] = -7.0f;
        }
        for (int64_t r = 0; r < rows; r++) {
            double *xr = x64 + r * cols;
            int kind = (int)t_randint(rng, 24);
            if (kind < ROW_KINDS) t_fill_row(xr, cols, kind, rng);
            else
                for (int64_t j = 0; j < cols; j++) xr[j] = (kind % 2 ? 2.0 : 40.0) * t_normal(rng);
            if (kind == ROW_KINDS) xr[t_randint(rng, cols)] = NAN;
            if (kind == ROW_KINDS + 1) xr[t_randint(rng, cols)] = INFINITY;
            for (int64_t j = 0; j < ld; j++) x[r * ld + j] = j < cols ? (float)xr[j] : 0.0f;
        }
        int declined[3][41] = {{0}};
        for (int s = 0; s < 2; s++)
            for (int64_t r = 0; r < rows;) {
                int64_t done = r + t_fwd_kernel(k, c, &mod, y[s] + r * ld, ld, x + r * ld, rows - r, cols,
                                                 s ? scratch : NULL);
                if (done < rows) declined[s][done] = 1;
                r = done + 1;
            }
        for (int64_t r = 0; r < rows; r++)
            declined[2][r] = t_fwd_kernel(k, c, &mod, y[2] + r * ld, ld, x + r * ld, 1, cols, NULL) == 0;
        T_CTX("%s [%s] short-row groups, cols=%lld ld=%lld", c->name, k->isa, (long long)cols, (long long)ld);
        CHECK(memcmp(declined[0], declined[2], sizeof declined[0]) == 0);
        CHECK(memcmp(declined[1], declined[2], sizeof declined[0]) == 0);
        CHECK(memcmp(y[0], y[2], sizeof(float) * (size_t)n) == 0);
        CHECK(memcmp(y[1], y[2], sizeof(float) * (size_t)n) == 0);
        CHECK(t_gaps_hold(y[0], rows, cols, ld, n, -7.0f));
        int ndone = 0;
        for (int64_t r = 0; r < rows; r++) {
            if (declined[2][r]) continue;
            ndone++;
            CHECK_STATUS(mmx_forward_f64(&c->norm, y64, cols, x64 + r * cols, cols, 1, cols), MMX_OK);
            t_f32_to_f64(got, y[0] + r * ld, ld, 1, cols);
            CHECK_MAT(got, cols, y64, cols, 1, cols, 3e-5 + 16 * FLT_EPSILON * t_sigma_scale(c, x64 + r * cols, cols), 1e-9);
        }
        CHECK(ndone >= rows / 2); /* most rows are plain: groups form */
        free(x64), free(y64), free(got), free(x), free(scratch);
        for (int s = 0; s < 3; s++) free(y[s]);
    }
}

/* The interval on which the kernels take max sigma(x) = sigma(max x) without scanning for
 * interior maxima (modulator.c): sigma, computed in double by the independent reference in
 * refs.h, never decreases inside it, on random order-1 and order-2 modulators (many of them
 * non-monotone, some with sigma' jumping below 0 at a breakpoint); and on the usual learned
 * shapes it is not empty. */
static void check_mono_interval(t_rng *rng) {
    int nonempty = 0, n_mod = 2000;
    for (int t = 0; t < n_mod; t++) {
        int order = 1 + t % 2;
        double ranges[4], ts[4];
        for (int i = 0; i < 2 * order; i++) {
            ranges[i] = 3.0 * (2.0 * t_unif(rng) - 1.0);
            ts[i] = (t % 3 == 0 ? 0.1 : 1.5) * (2.0 * t_unif(rng) - 1.0);
        }
        mmx_norm nm = mmx_norm_multimax(order, ranges, ts);
        mmx_kmod mod = mmx_kmod_from_norm(&nm);
        if (!(mod.mono_lo <= mod.mono_hi)) continue;
        nonempty += t % 3 == 0;
        double lo = mod.mono_lo > -60 ? mod.mono_lo : -60, hi = mod.mono_hi < 60 ? mod.mono_hi : 60;
        double prev = ref_sigma(order, ranges, ts, lo), worst = 0.0;
        for (int i = 1; i <= 2000; i++) {
            double x = lo + (hi - lo) * i / 2000.0, z = ref_sigma(order, ranges, ts, x);
            worst = prev - z > worst ? prev - z : worst;
            prev = z;
        }
        T_CTX("mono interval, modulator %d (order %d): [%g, %g]", t, order, mod.mono_lo, mod.mono_hi);
        CHECKF(worst <= 1e-12 * (1.0 + fabs(prev)), "sigma falls by %g inside it", worst);
    }
    T_CTX("mono interval");
    CHECKF(nonempty == (n_mod + 2) / 3, "%d of %d small-coefficient modulators have one", nonempty, (n_mod + 2) / 3);
}

/* ulp distance between a float and the correctly rounded double value. */
static double ulps(float got, double want) {
    float w = (float)want;
    if (got == w) return 0.0;
    float up = nextafterf(w, INFINITY);
    return fabs((double)got - want) / ((double)up - (double)w);
}

static void check_exp(const mmx_kernels *k, t_rng *rng) {
    enum { N = 1 << 20 };
    float *x = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * N);
    for (int i = 0; i < N; i++) x[i] = (float)t_unif_in(rng, -87.3, 88.0);
    x[0] = 0.0f, x[1] = -87.3f, x[2] = 88.0f, x[3] = -1e-8f, x[4] = 1.0f;
    k->exp(y, x, N);
    double worst = 0.0;
    for (int i = 0; i < N; i++) {
        double u = ulps(y[i], exp((double)x[i]));
        worst = u > worst ? u : worst;
    }
    T_CTX("exp [%s]", k->isa);
    CHECKF(worst <= 2.0, "max error %.3f ulp over %d samples", worst, N);
    float edge[4] = {-INFINITY, -100.0f, -87.5f, 0.0f}, out[4];
    k->exp(out, edge, 4);
    CHECK(out[0] == 0.0f && out[1] == 0.0f && out[2] == 0.0f && out[3] == 1.0f);
    printf("exp [%s]: max error %.3f ulp on [-87.3, 88]\n", k->isa, worst);
    free(x), free(y);
}

/* ulp distance of a double from a long double value. */
static double ulps_d(double got, long double want) {
    double w = (double)want;
    if (got == w) return 0.0;
    return (double)fabsl((long double)got - want) / (nextafter(w, INFINITY) - w);
}

/* The float log (every positive float including denormals: log-uniform samples) and the
 * double exp / log the sparse kernels use, against libm in higher precision. */
static void check_log_expd(const mmx_kernels *k, t_rng *rng) {
    enum { N = 1 << 18 };
    float *x = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * N);
    double *xd = malloc(sizeof(double) * N), *yd = malloc(sizeof(double) * N), worst = 0.0;
    for (int i = 0; i < N; i++) x[i] = (float)exp(t_unif_in(rng, -103.0, 88.0)); /* 1e-45 .. 1e38 */
    x[0] = 1.0f, x[1] = 1e-45f, x[2] = FLT_MAX, x[3] = 1.17549435e-38f;
    k->log(y, x, N);
    for (int i = 0; i < N; i++) worst = fmax(worst, ulps(y[i], log((double)x[i])));
    T_CTX("log [%s]", k->isa);
    CHECKF(worst <= 1.0, "max error %.3f ulp", worst);
    double wexp = 0.0, wlog = 0.0;
    for (int i = 0; i < N; i++) xd[i] = t_unif_in(rng, -708.0, 709.0);
    xd[0] = 0.0, xd[1] = -1e-300;
    k->exp_f64(yd, xd, N);
    for (int i = 0; i < N; i++) wexp = fmax(wexp, ulps_d(yd[i], expl((long double)xd[i])));
    for (int i = 0; i < N; i++) xd[i] = exp(t_unif_in(rng, -690.0, 690.0));
    xd[0] = 1.0, xd[1] = DBL_MIN, xd[2] = DBL_MAX;
    k->log_f64(yd, xd, N);
    for (int i = 0; i < N; i++) wlog = fmax(wlog, ulps_d(yd[i], logl((long double)xd[i])));
    T_CTX("exp_f64 / log_f64 [%s]", k->isa);
    CHECKF(wexp <= 2.0, "exp_f64 max error %.3f ulp", wexp);
    CHECKF(wlog <= 2.0, "log_f64 max error %.3f ulp", wlog);
    printf("log [%s]: %.3f ulp; exp_f64 %.3f ulp, log_f64 %.3f ulp (samples)\n", k->isa, worst, wexp, wlog);
    free(x), free(y), free(xd), free(yd);
}

/* vpow_rough (the alpha-EntMax float steps): relative error below 2^-16 against pow() in
 * double, for x log-uniform in [2^-30, 1] and near 1, b in [1, 8] (alpha in [1.125, 2]) and
 * b = 0.5; results below 2^-126 are not asked for. */
static void check_pow_rough(const mmx_kernels *k, t_rng *rng) {
    enum { N = 1 << 16 };
    float *x = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * N);
    const float bs[] = {0.5f, 1.0f, 4.0f / 3.0f, 2.0f, 10.0f / 3.0f, 5.0f, 8.0f};
    double worst = 0.0;
    for (size_t q = 0; q < sizeof bs / sizeof *bs; q++) {
        for (int i = 0; i < N; i++)
            x[i] = i % 4 ? (float)exp2(t_unif_in(rng, -30.0, 0.0)) : (float)(1.0 - t_unif_in(rng, 0.0, 1e-3));
        x[0] = 1.0f, x[1] = 0.70710677f, x[2] = 0.70710683f, x[3] = 0x1p-30f;
        k->pow_rough(y, x, N, bs[q]);
        for (int i = 0; i < N; i++) {
            double want = pow((double)x[i], (double)bs[q]);
            if (want >= 0x1p-120) worst = fmax(worst, fabs((double)y[i] - want) / want);
        }
    }
    T_CTX("pow_rough [%s]", k->isa);
    CHECKF(worst <= 0x1p-16, "max relative error %.3g (2^%.1f)", worst, log2(worst));
    printf("pow_rough [%s]: max relative error 2^%.1f\n", k->isa, log2(worst));
    free(x), free(y);
}

/* The engine's GELU: y = x Phi(x) and its derivative d = Phi(x) + x phi(x) against erf() in
 * double, over awkward lengths (vector tails) and x in [-12, 12]; d also written over x. */
static void check_gelu(const mmx_kernels *k, t_rng *rng) {
    enum { N = 4099 };
    float *x = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * (N + 1));
    float *d = malloc(sizeof(float) * (N + 1)), *xd = malloc(sizeof(float) * (N + 1));
    double werr = 0.0, wderr = 0.0;
    for (int i = 0; i < N; i++) x[i] = (float)t_unif_in(rng, -12.0, 12.0);
    x[0] = 0.0f, x[1] = -0.0f, x[2] = 1e-20f, x[3] = -40.0f, x[4] = 40.0f;
    const int64_t lens[] = {1, 7, 16, 17, 33, N};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        int64_t n = lens[li];
        y[n] = 777.0f, d[n] = 777.0f, xd[n] = 777.0f;
        for (int64_t i = 0; i < n; i++) d[i] = NAN, xd[i] = x[i]; /* d: overwritten, never read */
        k->gelu_fwd(y, d, x, n);
        k->gelu_fwd(y, xd, xd, n); /* the derivative written over its input */
        int same = 1;
        for (int64_t i = 0; i < n; i++) {
            double xv = x[i], phi = 0.5 * (1.0 + erf(xv / sqrt(2.0)));
            double dphi = exp(-0.5 * xv * xv) * 0.39894228040143268; /* 1 / sqrt(2 pi) */
            werr = fmax(werr, fabs(y[i] - xv * phi) / fmax(1.0, fabs(xv)));
            wderr = fmax(wderr, fabs(d[i] - (phi + xv * dphi)));
            same &= d[i] == xd[i];
        }
        T_CTX("gelu [%s] n=%lld", k->isa, (long long)n);
        CHECKF(y[n] == 777.0f && d[n] == 777.0f && xd[n] == 777.0f, "wrote past the end%s", "");
        CHECKF(same, "the derivative written over x differs%s", "");
    }
    k->gelu_fwd(y, NULL, x, 5); /* no derivative asked */
    T_CTX("gelu [%s]", k->isa);
    CHECKF(werr <= 4e-7, "GELU error %.3g (relative to max(1, |x|))", werr);
    CHECKF(wderr <= 4e-7, "GELU derivative error %.3g", wderr);
    printf("gelu [%s]: max error %.2g, derivative %.2g\n", k->isa, werr, wderr);
    free(x), free(y), free(d), free(xd);
}

int main(void) {
    t_case cases[16];
    int nc = make_cases(cases);
    t_rng mrng = t_rng_seed(7);
    check_mono_interval(&mrng);
    for (int i = 0; i < T_NISA; i++) {
        const mmx_kernels *k = t_isa_table(i);
        if (!k)
            continue;
        CHECK_STATUS(mmx_set_isa(k->isa), MMX_OK);
        t_rng rng = t_rng_seed(42 + (uint64_t)i);
        check_exp(k, &rng);
        check_log_expd(k, &rng);
        check_pow_rough(k, &rng);
        check_gelu(k, &rng);
        for (int c = 0; c < nc; c++) {
            for (int s = 0; s < N_COLS; s++) check_case(&cases[c], k_cols[s], &rng);
            check_threads(&cases[c], &rng);
            check_inplace(&cases[c], &rng);
            check_bad_row(&cases[c]);
            check_stream(k, &cases[c], &rng);
            check_groups(k, &cases[c], &rng);
            check_aligned_calls(&cases[c], &rng);
        }
    }
    return t_summary();
}
