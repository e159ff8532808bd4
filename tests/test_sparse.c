/*
 * test_sparse.c - SparseMax, 1.5-EntMax and alpha-EntMax (SPEC section 2).
 * Forward against independent references (sort-based sparsemax, plain bisection) and the
 * KKT conditions (exact support), hand cases with closed forms, alpha = 2 / 1.5 against
 * the dedicated maps, backward against finite differences and closed forms, and the
 * alpha gradient by finite differences in alpha.
 */
#include <float.h>

#include "harness.h"

static void ref_sparse_fn(double *p, const double *x, int64_t n, const void *ctx)
{
    (void)ctx;
    ref_sparsemax(p, x, n);
}
static void ref_entmax_fn(double *p, const double *x, int64_t n, const void *ctx)
{
    ref_entmax(p, x, n, *(const double *)ctx);
}

/*
 * KKT of p = entmax_alpha(x) on z = (alpha - 1)(x - max): tau_i = z_i - p_i^(alpha-1) is
 * one value tau on the support (p > 0) and z_j <= tau off it. tau is taken at the largest
 * p. Entries with p below `tiny` (underflow of the output type) may sit on either side.
 * Returns the largest violation in units of tol (<= 1 passes).
 */
static double kkt_excess(const double *x, const double *p, int64_t n, double alpha, double tol,
                         double tiny, int64_t *where)
{
    double m = ref_rowmax(x, n), tau, worst = 0.0, slack = pow(tiny, alpha - 1.0);
    int64_t top = 0;
    *where = -1;
    if (m == -INFINITY) {
        for (int64_t j = 0; j < n; j++)
            if (p[j] != 0.0) return *where = j, INFINITY;
        return 0.0;
    }
    for (int64_t j = 1; j < n; j++)
        if (p[j] > p[top]) top = j;
    tau = (alpha - 1.0) * (x[top] - m) - pow(p[top], alpha - 1.0);
    for (int64_t j = 0; j < n; j++) {
        double e;
        if (x[j] == -INFINITY) e = p[j] == 0.0 ? 0.0 : INFINITY;
        else {
            double z = (alpha - 1.0) * (x[j] - m);
            if (p[j] >= tiny) e = fabs(z - pow(p[j], alpha - 1.0) - tau);
            else if (p[j] > 0.0) e = fmax(0.0, fabs(z - tau) - slack);
            else e = fmax(0.0, z - tau - slack);
        }
        if (!(e <= worst)) worst = e, *where = j;
    }
    return worst / tol;
}

typedef struct {
    const char *name;
    mmx_norm norm;
    double alpha;
} sp_case;

static int make_cases(sp_case *c)
{
    int n = 0;
    c[n++] = (sp_case){"sparsemax", mmx_norm_sparsemax(), 2.0};
    c[n++] = (sp_case){"entmax15", mmx_norm_entmax15(), 1.5};
    static const double alphas[] = {1.05, 1.2, 1.5, 2.0, 2.5, 3.0};
    static char names[6][32];
    for (int i = 0; i < 6; i++) {
        snprintf(names[i], sizeof names[i], "entmax alpha=%g", alphas[i]);
        c[n++] = (sp_case){names[i], mmx_norm_entmax(alphas[i]), alphas[i]};
    }
    return n;
}

static void test_sweeps(void)
{
    sp_case cs[8];
    int nc = make_cases(cs);
    for (int i = 0; i < nc; i++) {
        t_fwd_spec sp = {&cs[i].norm, cs[i].norm.kind == MMX_NORM_SPARSEMAX ? ref_sparse_fn : ref_entmax_fn,
                         &cs[i].alpha, T_ALL_ROWS, 1e-9, 1e-11, 1e-5, 5e-7};
        SWEEP_FORWARD(&sp, cs[i].name, 700 + (uint64_t)i);
        if (cs[i].alpha != 3.0 && cs[i].alpha != 1.05) SWEEP_BACKWARD(&cs[i].norm, cs[i].name, 800 + (uint64_t)i);
    }
}

/* KKT on every hostile row kind, every size, f64 and f32. */
static void test_kkt(void)
{
    sp_case cs[8];
    int nc = make_cases(cs);
    t_rng rng = t_rng_seed(17);
    for (int i = 0; i < nc; i++)
        for (int s = 0; s < T_NSIZES; s++) {
            int64_t C = t_sizes[s], R = ROW_KINDS, n = R * C;
            double *x = malloc((size_t)n * sizeof(double)), *y = malloc((size_t)n * sizeof(double));
            float *xf = malloc((size_t)n * sizeof(float)), *yf = malloc((size_t)n * sizeof(float));
            if (!x || !y || !xf || !yf) abort();
            for (int r = 0; r < R; r++) t_fill_row(x + r * C, C, r, &rng);
            for (int64_t k = 0; k < n; k++) xf[k] = (float)x[k];
            for (int f32 = 0; f32 <= 1; f32++) {
                T_CTX("%s KKT %s cols=%lld", cs[i].name, f32 ? "f32" : "f64", (long long)C);
                if (f32) {
                    CHECK_STATUS(mmx_forward_f32(&cs[i].norm, yf, C, xf, C, R, C), MMX_OK);
                    for (int64_t k = 0; k < n; k++) x[k] = xf[k], y[k] = yf[k];
                } else {
                    CHECK_STATUS(mmx_forward_f64(&cs[i].norm, y, C, x, C, R, C), MMX_OK);
                }
                double worst = 0.0;
                int64_t wr = -1, wc = -1, at;
                for (int64_t r = 0; r < R; r++) {
                    double e = kkt_excess(x + r * C, y + r * C, C, cs[i].alpha, f32 ? 1e-5 : 1e-11,
                                          f32 ? 1e-37 : 1e-300, &at);
                    if (!(e <= worst)) worst = e, wr = r, wc = at;
                }
                CHECKF(worst <= 1.0, "row %lld (%s) col %lld: x = %.17g, p = %.17g (%.3g x tol)",
                       (long long)wr, wr >= 0 ? t_row_names[wr] : "", (long long)wc,
                       wr >= 0 ? x[wr * C + wc] : 0.0, wr >= 0 ? y[wr * C + wc] : 0.0, worst);
            }
            free(x), free(y), free(xf), free(yf);
        }
}

/* alpha = 2 is sparsemax and alpha = 1.5 is entmax15, forward and backward. */
static void test_alpha_special_cases(void)
{
    t_rng rng = t_rng_seed(19);
    for (int which = 0; which < 2; which++) {
        mmx_norm a = which ? mmx_norm_entmax(1.5) : mmx_norm_entmax(2.0);
        mmx_norm b = which ? mmx_norm_entmax15() : mmx_norm_sparsemax();
        for (int s = 0; s < T_NSIZES; s++) {
            int64_t C = t_sizes[s], R = ROW_KINDS, n = R * C;
            T_CTX("entmax alpha=%s vs %s cols=%lld", which ? "1.5" : "2", which ? "entmax15" : "sparsemax",
                  (long long)C);
            double *x = malloc((size_t)n * sizeof(double)), *ya = malloc((size_t)n * sizeof(double));
            double *yb = malloc((size_t)n * sizeof(double)), *dy = malloc((size_t)n * sizeof(double));
            double *da = malloc((size_t)n * sizeof(double)), *db = malloc((size_t)n * sizeof(double));
            if (!x || !ya || !yb || !dy || !da || !db) abort();
            for (int r = 0; r < R; r++) t_fill_row(x + r * C, C, r, &rng);
            for (int64_t k = 0; k < n; k++) dy[k] = t_normal(&rng);
            CHECK_STATUS(mmx_forward_f64(&a, ya, C, x, C, R, C), MMX_OK);
            CHECK_STATUS(mmx_forward_f64(&b, yb, C, x, C, R, C), MMX_OK);
            CHECK_MAT(ya, C, yb, C, R, C, 0, 1e-9);
            CHECK_STATUS(mmx_backward_f64(&a, da, C, NULL, dy, C, yb, C, x, C, R, C), MMX_OK);
            CHECK_STATUS(mmx_backward_f64(&b, db, C, NULL, dy, C, yb, C, x, C, R, C), MMX_OK);
            CHECK_MAT(da, C, db, C, R, C, 1e-9, 1e-9);
            free(x), free(ya), free(yb), free(dy), free(da), free(db);
        }
    }
}

static void fwd1(const mmx_norm *nm, double *y, const double *x, int64_t n)
{
    CHECK_STATUS(mmx_forward_f64(nm, y, n, x, n, 1, n), MMX_OK);
}

/* Closed forms solved by hand. */
static void test_sparsemax_hand_cases(void)
{
    mmx_norm sm = mmx_norm_sparsemax();
    t_rng rng = t_rng_seed(23);
    double y[3];
    /* sparsemax(a, b): one-hot if |a - b| >= 1, else ((1 + a - b)/2, (1 - a + b)/2) */
    T_CTX("sparsemax of two entries");
    for (int i = 0; i < 200; i++) {
        double x[2] = {t_unif_in(&rng, -2, 2), t_unif_in(&rng, -2, 2)}, d = x[0] - x[1];
        if (i == 0) x[0] = 1.5, x[1] = 0.5, d = 1.0; /* the boundary: exactly one-hot */
        fwd1(&sm, y, x, 2);
        double w0 = d >= 1 ? 1.0 : d <= -1 ? 0.0 : (1 + d) / 2, w1 = 1.0 - w0;
        if (fabs(y[0] - w0) > 1e-15 || fabs(y[1] - w1) > 1e-15 || ((w0 == 0 || w1 == 0) && y[0] * y[1] != 0)) {
            CHECKF(0, "x = (%.17g, %.17g): (%.17g, %.17g), want (%.17g, %.17g)", x[0], x[1], y[0], y[1], w0, w1);
            break;
        }
        if (i == 199) CHECK(1);
    }
    /* sparsemax(a, 0, 0), 0 <= a < 1: tau = (a - 1)/3, p = ((2a + 1)/3, (1 - a)/3, (1 - a)/3) */
    T_CTX("sparsemax (0.5, 0, 0)");
    double x3[3] = {0.5, 0.0, 0.0};
    fwd1(&sm, y, x3, 3);
    CHECK_NEAR(y[0], 2.0 / 3.0, 1e-15);
    CHECK_NEAR(y[1], 1.0 / 6.0, 1e-15);
    CHECK_NEAR(y[2], 1.0 / 6.0, 1e-15);
}

static void test_entmax_hand_cases(void)
{
    mmx_norm e15 = mmx_norm_entmax15(), e15g = mmx_norm_entmax(1.5), e3 = mmx_norm_entmax(3.0);
    t_rng rng = t_rng_seed(24);
    double y[3], yg[3];
    /* entmax15(a, b), d = (a - b)/2 in [0, 1): v = sqrt(p_b) solves 2v^2 + 2dv + d^2 - 1 = 0,
     * v = (-d + sqrt(2 - d^2))/2; p_b = v^2, p_a = (v + d)^2; one-hot for d >= 1. */
    T_CTX("entmax15 of two entries");
    for (int i = 0; i < 200; i++) {
        double x[2] = {t_unif_in(&rng, -3, 3), t_unif_in(&rng, -3, 3)};
        double d = fabs(x[0] - x[1]) / 2, v = d >= 1 ? 0.0 : (-d + sqrt(2 - d * d)) / 2;
        double lo = v * v, hi = d >= 1 ? 1.0 : (v + d) * (v + d);
        double w0 = x[0] >= x[1] ? hi : lo, w1 = x[0] >= x[1] ? lo : hi;
        fwd1(&e15, y, x, 2);
        fwd1(&e15g, yg, x, 2);
        if (fabs(y[0] - w0) > 1e-14 || fabs(y[1] - w1) > 1e-14 || fabs(yg[0] - w0) > 1e-12 ||
            fabs(yg[1] - w1) > 1e-12) {
            CHECKF(0, "x = (%.17g, %.17g): entmax15 (%.17g, %.17g), entmax(1.5) (%.17g, %.17g), want "
                   "(%.17g, %.17g)", x[0], x[1], y[0], y[1], yg[0], yg[1], w0, w1);
            break;
        }
        if (i == 199) CHECK(1);
    }
    /* entmax15(1, 0, 0): w = sqrt(p_2) solves 3w^2 + w + 1/4 - 1 = 0, w = (-1 + sqrt(10))/6 */
    T_CTX("entmax15 (1, 0, 0)");
    double x4[3] = {1.0, 0.0, 0.0}, w = (-1.0 + sqrt(10.0)) / 6.0;
    fwd1(&e15, y, x4, 3);
    CHECK_NEAR(y[0], (w + 0.5) * (w + 0.5), 1e-15);
    CHECK_NEAR(y[1], w * w, 1e-15);
    CHECK_NEAR(y[2], w * w, 1e-15);
    fwd1(&e15g, y, x4, 3);
    CHECK_NEAR(y[1], w * w, 1e-12);
    /* entmax alpha = 3, p = sqrt(max(2x - tau, 0)): two entries give ((1 + D)/2, (1 - D)/2),
     * D = 2(a - b), while |D| < 1 */
    T_CTX("entmax alpha=3 of two entries");
    double x5[2] = {0.3, 0.1};
    fwd1(&e3, y, x5, 2);
    CHECK_NEAR(y[0], 0.7, 1e-12);
    CHECK_NEAR(y[1], 0.3, 1e-12);
    double x6[2] = {0.1, 0.8};
    fwd1(&e3, y, x6, 2);
    CHECK(y[0] == 0.0 && y[1] == 1.0);
    /* ties: uniform over the tied maximum */
    T_CTX("sparse ties");
    double x7[3] = {4.0, 4.0, 4.0};
    fwd1(&e15, y, x7, 3);
    CHECK_NEAR(y[0], 1.0 / 3.0, 1e-15);
    CHECK_NEAR(y[2], 1.0 / 3.0, 1e-15);
    double x8[3] = {1e30, -2.0, 1e30};
    mmx_norm sm = mmx_norm_sparsemax();
    fwd1(&sm, y, x8, 3);
    CHECK(y[0] == 0.5 && y[1] == 0.0 && y[2] == 0.5);
}

/* Backward closed forms on the support S: sparsemax dx = dy - mean_S dy; entmax
 * dx = s dy - s <s, dy> / sum s with s = p^(2 - alpha). */
static void test_backward_closed_form(void)
{
    static const double alphas[3] = {2.0, 1.5, 2.5};
    t_rng rng = t_rng_seed(29);
    enum { R = 3, C = 40 };
    for (int i = 0; i < 3; i++) {
        T_CTX("entmax backward closed form alpha=%g", alphas[i]);
        double x[R * C], y[R * C], dy[R * C], dx[R * C], want[R * C];
        for (int k = 0; k < R * C; k++) x[k] = t_normal(&rng), dy[k] = t_normal(&rng);
        for (int r = 0; r < R; r++) {
            double *p = y + r * C, ss = 0.0, sd = 0.0;
            if (alphas[i] == 2.0) ref_sparsemax(p, x + r * C, C);
            else ref_entmax(p, x + r * C, C, alphas[i]);
            for (int j = 0; j < C; j++)
                if (p[j] > 0) ss += pow(p[j], 2 - alphas[i]), sd += pow(p[j], 2 - alphas[i]) * dy[r * C + j];
            for (int j = 0; j < C; j++) {
                double s = p[j] > 0 ? pow(p[j], 2 - alphas[i]) : 0.0;
                want[r * C + j] = s * dy[r * C + j] - s * sd / ss;
            }
        }
        mmx_norm nm = alphas[i] == 2.0 ? mmx_norm_sparsemax() : mmx_norm_entmax(alphas[i]);
        CHECK_STATUS(mmx_backward_f64(&nm, dx, C, NULL, dy, C, y, C, NULL, 0, R, C), MMX_OK);
        CHECK_MAT(dx, C, want, C, R, C, 1e-12, 1e-12);
    }
}

/* d/d alpha of L = sum_r <dy_r, entmax_alpha(x_r)> by central differences in alpha. */
static void test_dalpha(void)
{
    static const double alphas[3] = {1.2, 1.5, 2.5};
    for (int i = 0; i < 3; i++)
        for (int big = 0; big <= 1; big++) {
            const int64_t R = 4, C = big ? 200 : 10, n = R * C;
            T_CTX("entmax dalpha alpha=%g cols=%lld", alphas[i], (long long)C);
            t_rng rng = t_rng_seed(31 + (uint64_t)(2 * i + big));
            double *x = malloc((size_t)n * sizeof(double)), *y = malloc((size_t)n * sizeof(double));
            double *dy = malloc((size_t)n * sizeof(double)), *dx = malloc((size_t)n * sizeof(double));
            if (!x || !y || !dy || !dx) abort();
            for (int64_t k = 0; k < n; k++) x[k] = t_normal(&rng), dy[k] = t_normal(&rng);
            x[3] = -INFINITY;
            double L[2];
            for (int sgn = 0; sgn < 2; sgn++) {
                mmx_norm np = mmx_norm_entmax(alphas[i] + (sgn ? -T_FD_H : T_FD_H));
                t_fwd64(&np, y, x, R, C);
                L[sgn] = 0.0;
                for (int64_t k = 0; k < n; k++) L[sgn] += dy[k] * y[k];
            }
            double fd = (L[0] - L[1]) / (2 * T_FD_H);
            mmx_norm nm = mmx_norm_entmax(alphas[i]);
            t_fwd64(&nm, y, x, R, C);
            double da = 0.5;
            mmx_param_grads pg = {NULL, NULL, &da};
            CHECK_STATUS(mmx_backward_f64(&nm, dx, C, &pg, dy, C, y, C, x, C, R, C), MMX_OK);
            double g = da - 0.5;
            CHECKF(fabs(g - fd) <= 1e-6 * fmax(fabs(g), fabs(fd)) + 1e-8, "dalpha %.12g, FD %.12g", g, fd);
            CHECK_STATUS(mmx_backward_f64(&nm, dx, C, &pg, dy, C, y, C, x, C, R, C), MMX_OK);
            CHECK_REL(da, 0.5 + 2 * g, 1e-12, 1e-15);
            /* f32: same dalpha to float accuracy */
            float *xf = malloc((size_t)n * sizeof(float)), *yf = malloc((size_t)n * sizeof(float));
            float *dyf = malloc((size_t)n * sizeof(float)), *dxf = malloc((size_t)n * sizeof(float));
            if (!xf || !yf || !dyf || !dxf) abort();
            for (int64_t k = 0; k < n; k++) xf[k] = (float)x[k], dyf[k] = (float)dy[k];
            double daf = 0.0;
            mmx_param_grads pgf = {NULL, NULL, &daf};
            CHECK_STATUS(mmx_forward_f32(&nm, yf, C, xf, C, R, C), MMX_OK);
            CHECK_STATUS(mmx_backward_f32(&nm, dxf, C, &pgf, dyf, C, yf, C, xf, C, R, C), MMX_OK);
            CHECK_REL(daf, g, 1e-4, 1e-5);
            free(x), free(y), free(dy), free(dx), free(xf), free(yf), free(dyf), free(dxf);
        }
}

/* Equal scores give the uniform distribution for every alpha, also where tau is tiny
 * (alpha = 8 on 196 entries: tau = -(1/196)^7 ~ -1e-16) and for a fully tied prefix with
 * entries exactly on the threshold (exact zeros). */
static void test_equal_scores(void)
{
    const double alphas[] = {1.05, 1.5, 2.0, 3.0, 8.0};
    double x[196], y[196];
    float xf[196], yf[196];
    for (int i = 0; i < 196; i++) x[i] = 1.0, xf[i] = 1.0f;
    for (size_t a = 0; a < sizeof alphas / sizeof alphas[0]; a++) {
        mmx_norm nm = mmx_norm_entmax(alphas[a]);
        T_CTX("entmax alpha=%g on 196 equal scores", alphas[a]);
        CHECK_STATUS(mmx_forward_f64(&nm, y, 196, x, 196, 1, 196), MMX_OK);
        CHECK_STATUS(mmx_forward_f32(&nm, yf, 196, xf, 196, 1, 196), MMX_OK);
        int ok = 1;
        for (int i = 0; i < 196; i++) ok &= fabs(y[i] - 1.0 / 196) < 1e-15 && fabs(yf[i] - 1.0 / 196) < 1e-8;
        CHECK(ok);
    }
    /* 0.5 0.25 0.25 0 0 -0.25 under sparsemax: the zeros sit exactly on tau = -0.5 */
    double t[6] = {0.5, 0.25, 0.25, 0.0, 0.0, -0.25}, p[6];
    mmx_norm sm = mmx_norm_sparsemax(), e2 = mmx_norm_entmax(2.0);
    T_CTX("entries exactly on the threshold");
    CHECK_STATUS(mmx_forward_f64(&sm, p, 6, t, 6, 1, 6), MMX_OK);
    CHECK(p[0] == 0.5 && p[1] == 0.25 && p[2] == 0.25 && p[3] == 0.0 && p[4] == 0.0 && p[5] == 0.0);
    CHECK_STATUS(mmx_forward_f64(&e2, p, 6, t, 6, 1, 6), MMX_OK);
    CHECK(p[3] == 0.0 && p[4] == 0.0 && p[5] == 0.0);
}

int main(void)
{
    test_sweeps();
    test_kkt();
    test_alpha_special_cases();
    test_sparsemax_hand_cases();
    test_entmax_hand_cases();
    test_backward_closed_form();
    test_dalpha();
    test_equal_scores();
    return t_summary();
}
