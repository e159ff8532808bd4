/*
 * test_multimax.c - MultiMax(x) = softmax(sigma(x)) (SPEC section 1): sigma against the
 * formula, the [b1, d1, b2, d2, ...] layout by hand values, forward against the closed
 * form, all-zero ts = SoftMax, the backward against finite differences, and the gradients
 * of the 4N scalars (dranges, dts) by finite differences, accumulated over calls.
 */
#include "harness.h"

/* Three parameter sets (order 1, 2, 3): the lower orders use prefixes of the arrays. */
static const double k_ranges[6] = {-0.8, 1.2, -1.5, 0.5, -2.5, 3.0};
static const double k_ts[6] = {0.25, 0.4, -0.1, 0.08, 0.02, -0.01};

typedef struct {
    int order;
    const double *ranges, *ts;
} mm_params;

static void ref_mm(double *p, const double *x, int64_t n, const void *ctx)
{
    const mm_params *q = (const mm_params *)ctx;
    ref_multimax(p, x, n, q->order, q->ranges, q->ts);
}

static void test_sweeps(void)
{
    for (int order = 1; order <= 3; order++) {
        mm_params q = {order, k_ranges, k_ts};
        mmx_norm nm = mmx_norm_multimax(order, k_ranges, k_ts);
        char name[64];
        snprintf(name, sizeof name, "multimax order %d", order);
        t_fwd_spec sp = {&nm, ref_mm, &q, T_ALL_ROWS, 1e-12, 1e-300, 3e-5, 1e-20};
        SWEEP_FORWARD(&sp, name, 300 + (uint64_t)order);
        SWEEP_BACKWARD(&nm, name, 400 + (uint64_t)order);
    }
    /* a higher order with small random coefficients */
    double r5[10], t5[10];
    t_rng rng = t_rng_seed(5);
    for (int k = 0; k < 10; k++) {
        r5[k] = (k % 2 ? 1.0 : -1.0) * t_unif_in(&rng, 0.2, 2.0);
        t5[k] = 0.05 * t_normal(&rng);
    }
    mm_params q5 = {5, r5, t5};
    mmx_norm n5 = mmx_norm_multimax(5, r5, t5);
    t_fwd_spec sp5 = {&n5, ref_mm, &q5, (1u << ROW_RANDOM) | (1u << ROW_TIES) | (1u << ROW_PARTMASK),
                      1e-12, 1e-300, 3e-5, 1e-20};
    SWEEP_FORWARD(&sp5, "multimax order 5", 305);
}

static void check_zero_ts(int order);

/* All-zero ts is exactly SoftMax (t = 1), forward and backward, at order 2 and at the
 * largest order (where a 1e30 score raised to the 16th power overflows: a zero coefficient
 * must still give exactly SoftMax); dranges stay 0. */
static void test_zero_ts_is_softmax(void)
{
    for (int order = 2; order <= MMX_MULTIMAX_MAX_ORDER; order += MMX_MULTIMAX_MAX_ORDER - 2)
        check_zero_ts(order);
}

static void check_zero_ts(int order)
{
    double ranges[2 * MMX_MULTIMAX_MAX_ORDER], zero[2 * MMX_MULTIMAX_MAX_ORDER] = {0};
    for (int k = 0; k < 2 * order; k++) ranges[k] = k % 2 ? 2.0 : -1.0;
    mmx_norm mm = mmx_norm_multimax(order, ranges, zero), sm = mmx_norm_softmax(1.0);
    t_rng rng = t_rng_seed(11);
    for (int i = 0, fails = t_fail_count; i < T_NSIZES && t_fail_count == fails; i++) {
        int64_t C = t_sizes[i], R = ROW_KINDS, n = R * C; /* (stops at the first failing size) */
        T_CTX("multimax order %d zero ts cols=%lld", order, (long long)C);
        double *x = malloc((size_t)n * sizeof(double)), *y1 = calloc((size_t)n, sizeof(double));
        double *y2 = malloc((size_t)n * sizeof(double)), *dy = malloc((size_t)n * sizeof(double));
        double *d1 = malloc((size_t)n * sizeof(double)), *d2 = malloc((size_t)n * sizeof(double));
        float *xf = malloc((size_t)n * sizeof(float)), *yf1 = calloc((size_t)n, sizeof(float));
        float *yf2 = malloc((size_t)n * sizeof(float));
        if (!x || !y1 || !y2 || !dy || !d1 || !d2 || !xf || !yf1 || !yf2) abort();
        for (int r = 0; r < R; r++) t_fill_row(x + r * C, C, r, &rng);
        for (int64_t k = 0; k < n; k++) {
            dy[k] = t_normal(&rng);
            xf[k] = (float)x[k];
        }
        CHECK_STATUS(mmx_forward_f64(&mm, y1, C, x, C, R, C), MMX_OK);
        CHECK_STATUS(mmx_forward_f64(&sm, y2, C, x, C, R, C), MMX_OK);
        CHECK_MAT(y1, C, y2, C, R, C, 1e-15, 0);
        double dr[2 * MMX_MULTIMAX_MAX_ORDER] = {0}, dt[2 * MMX_MULTIMAX_MAX_ORDER] = {0};
        mmx_param_grads pg = {dr, dt, NULL};
        /* Backward: the gradient of td_N on a 1e30 score is sum g (1e30)^N, beyond double range
         * for N >= 11: the row with huge scores is reported, never written as inf / NaN. The
         * other rows give exactly SoftMax's dx. */
        mmx_status st = mmx_backward_f64(&mm, d1, C, &pg, dy, C, y2, C, x, C, R, C);
        CHECKF(st == MMX_OK || (st == MMX_ERR_VALUE && order >= 11 && strstr(mmx_last_error(), "overflows")),
               "status %s: %s", mmx_status_str(st), mmx_last_error());
        if (st != MMX_OK) {
            for (int64_t k = ROW_HUGE * C; k < (ROW_HUGE + 1) * C; k++) x[k] = 0.0; /* drop it */
            mmx_forward_f64(&sm, y2, C, x, C, R, C);
            CHECK_STATUS(mmx_backward_f64(&mm, d1, C, &pg, dy, C, y2, C, x, C, R, C), MMX_OK);
        }
        CHECK_STATUS(mmx_backward_f64(&sm, d2, C, NULL, dy, C, y2, C, x, C, R, C), MMX_OK);
        CHECK_MAT(d1, C, d2, C, R, C, 1e-15, 1e-300);
        int drz = 1;
        for (int k = 0; k < 2 * order; k++) drz &= dr[k] == 0.0;
        CHECK(drz);
        CHECK_STATUS(mmx_forward_f32(&mm, yf1, C, xf, C, R, C), MMX_OK);
        CHECK_STATUS(mmx_forward_f32(&sm, yf2, C, xf, C, R, C), MMX_OK);
        int same = 1;
        for (int64_t k = 0; k < n; k++)
            if (!(fabs(yf1[k] - yf2[k]) <= 1e-6 * fabs(yf2[k]) + 1e-30)) same = 0;
        CHECKF(same, "f32 multimax with zero ts differs from f32 softmax");
        free(x), free(y1), free(y2), free(dy), free(d1), free(d2), free(xf), free(yf1), free(yf2);
    }
}

/* mmx_multimax_sigma against the formula, including points on the thresholds. */
static void test_sigma_formula(void)
{
    for (int order = 1; order <= 3; order++) {
        T_CTX("mmx_multimax_sigma order %d", order);
        mmx_norm nm = mmx_norm_multimax(order, k_ranges, k_ts);
        double worst = 0.0, wx = 0.0;
        for (double x = -7.0; x <= 7.0; x += 0.013) {
            double got = mmx_multimax_sigma(&nm, x), want = ref_sigma(order, k_ranges, k_ts, x);
            double e = fabs(got - want) / (1e-14 * (1.0 + fabs(want)));
            if (!(e <= worst)) worst = e, wx = x;
        }
        for (int k = 0; k < 2 * order; k++) {
            double x = k_ranges[k], e = fabs(mmx_multimax_sigma(&nm, x) - ref_sigma(order, k_ranges, k_ts, x));
            if (!(e / (1e-14 * (1.0 + fabs(x))) <= worst)) worst = e / (1e-14 * (1.0 + fabs(x))), wx = x;
        }
        CHECKF(worst <= 1.0, "at x = %.17g: %.17g vs %.17g", wx, mmx_multimax_sigma(&nm, wx),
               ref_sigma(order, k_ranges, k_ts, wx));
    }
}

/* The layout ranges = [b1, d1, b2, d2, ...], ts = [tb1, td1, tb2, td2, ...]: one nonzero
 * coefficient at a time, sigma by hand. ranges = [-1, 2, -3, 4]: b1 = -1, d1 = 2, b2 = -3,
 * d2 = 4; the coefficient is 0.5. */
static void test_layout(void)
{
    static const double ranges[4] = {-1.0, 2.0, -3.0, 4.0};
    static const double xs[5] = {-5.0, -3.0, 0.0, 3.0, 6.0};
    static const double want[4][5] = {
        {-3.0, -2.0, 0.0, 3.0, 6.0},  /* tb1: x + 0.5 max(-1 - x, 0)   */
        {-5.0, -3.0, 0.0, 3.5, 8.0},  /* td1: x + 0.5 max(x - 2, 0)    */
        {-3.0, -3.0, 0.0, 3.0, 6.0},  /* tb2: x + 0.5 max(-3 - x, 0)^2 */
        {-5.0, -3.0, 0.0, 3.0, 8.0}}; /* td2: x + 0.5 max(x - 4, 0)^2  */
    for (int k = 0; k < 4; k++) {
        T_CTX("multimax layout, only ts[%d] nonzero", k);
        double ts[4] = {0, 0, 0, 0}, y[5], yw[5];
        ts[k] = 0.5;
        mmx_norm nm = mmx_norm_multimax(2, ranges, ts);
        int ok = 1;
        for (int i = 0; i < 5; i++)
            if (fabs(mmx_multimax_sigma(&nm, xs[i]) - want[k][i]) > 1e-14) ok = 0;
        CHECKF(ok, "sigma(-5, -3, 0, 3, 6) = (%g, %g, %g, %g, %g)", mmx_multimax_sigma(&nm, -5.0),
               mmx_multimax_sigma(&nm, -3.0), mmx_multimax_sigma(&nm, 0.0),
               mmx_multimax_sigma(&nm, 3.0), mmx_multimax_sigma(&nm, 6.0));
        CHECK_STATUS(mmx_forward_f64(&nm, y, 5, xs, 5, 1, 5), MMX_OK);
        ref_softmax(yw, want[k], 5, 1.0);
        CHECK_MAT(y, 5, yw, 5, 1, 5, 1e-13, 0);
    }
    /* order 3: b3 = ranges[4], d3 = ranges[5], tb3 = ts[4], td3 = ts[5] */
    T_CTX("multimax layout order 3");
    static const double r3[6] = {-1.0, 2.0, -3.0, 4.0, -2.0, 1.0};
    double t3[6] = {0, 0, 0, 0, 0.1, 0};
    mmx_norm n3 = mmx_norm_multimax(3, r3, t3);
    CHECK_NEAR(mmx_multimax_sigma(&n3, -5.0), -5.0 + 0.1 * 27.0, 1e-14);
    CHECK_NEAR(mmx_multimax_sigma(&n3, 3.0), 3.0, 0);
    t3[4] = 0.0;
    t3[5] = 0.1;
    CHECK_NEAR(mmx_multimax_sigma(&n3, 3.0), 3.0 + 0.1 * 8.0, 1e-14);
    CHECK_NEAR(mmx_multimax_sigma(&n3, -5.0), -5.0, 0);
    /* the largest order: only td_16 (ts[31]) at d_16 = ranges[31] = 1 */
    T_CTX("multimax layout order 16");
    double r16[32], t16[32];
    for (int k = 0; k < 32; k++) r16[k] = k % 2 ? 50.0 : -50.0, t16[k] = 0.0;
    r16[31] = 1.0;
    t16[31] = 1e-4;
    mmx_norm n16 = mmx_norm_multimax(MMX_MULTIMAX_MAX_ORDER, r16, t16);
    CHECK_STATUS(mmx_norm_check(&n16), MMX_OK);
    CHECK_NEAR(mmx_multimax_sigma(&n16, 3.0), 3.0 + 1e-4 * 65536.0, 1e-12);
    CHECK_NEAR(mmx_multimax_sigma(&n16, 0.5), 0.5, 0);
    t16[31] = 0.0;
    t16[30] = 1e-4; /* tb_16 at b_16 = ranges[30] = -50 */
    CHECK_NEAR(mmx_multimax_sigma(&n16, -52.0), -52.0 + 1e-4 * 65536.0, 1e-12);
}

/* L = sum_r <dy_r, f(x_r)> */
static double dot_loss(const mmx_norm *nm, const double *x, const double *dy, int64_t R, int64_t C)
{
    double *y = malloc((size_t)(R * C) * sizeof(double)), s = 0.0;
    if (!y) abort();
    t_fwd64(nm, y, x, R, C);
    for (int64_t k = 0; k < R * C; k++) s += x[k] == -INFINITY ? 0.0 : dy[k] * y[k];
    free(y);
    return s;
}

static void check_param_grads_f32(const mmx_norm *nm, const double *x, const double *dy, int64_t R,
                                  int64_t C, const double *dr, const double *dt);

/* dranges, dts by central differences of L on each scalar; += over two calls; NULL pg. */
static void check_param_grads(int order, int64_t R, int64_t C, uint64_t seed)
{
    T_CTX("multimax param grads order %d rows %lld cols %lld", order, (long long)R, (long long)C);
    t_rng rng = t_rng_seed(seed);
    int64_t n = R * C;
    const int np = 2 * order;
    double *x = malloc((size_t)n * sizeof(double)), *y = malloc((size_t)n * sizeof(double));
    double *dy = malloc((size_t)n * sizeof(double)), *dx = malloc((size_t)n * sizeof(double));
    double *dx0 = malloc((size_t)n * sizeof(double));
    if (!x || !y || !dy || !dx || !dx0) abort();
    for (int64_t k = 0; k < n; k++) x[k] = 2.0 * t_normal(&rng), dy[k] = t_normal(&rng);
    x[1] = -INFINITY;
    mmx_norm nm = mmx_norm_multimax(order, k_ranges, k_ts);
    t_fwd64(&nm, y, x, R, C);
    double dr[6] = {0}, dt[6] = {0};
    mmx_param_grads pg = {dr, dt, NULL};
    CHECK_STATUS(mmx_backward_f64(&nm, dx, C, &pg, dy, C, y, C, x, C, R, C), MMX_OK);
    for (int k = 0; k < 2 * np; k++) {
        double rp[6], tp[6], rm[6], tm[6];
        memcpy(rp, k_ranges, sizeof rp), memcpy(rm, k_ranges, sizeof rm);
        memcpy(tp, k_ts, sizeof tp), memcpy(tm, k_ts, sizeof tm);
        double *vp = k < np ? &rp[k] : &tp[k - np], *vm = k < np ? &rm[k] : &tm[k - np];
        *vp += T_FD_H, *vm -= T_FD_H;
        mmx_norm np_ = mmx_norm_multimax(order, rp, tp), nm_ = mmx_norm_multimax(order, rm, tm);
        double fd = (dot_loss(&np_, x, dy, R, C) - dot_loss(&nm_, x, dy, R, C)) / (2 * T_FD_H);
        double an = k < np ? dr[k] : dt[k - np];
        CHECKF(fabs(an - fd) <= 1e-6 * fmax(fabs(an), fabs(fd)) + 1e-8, "d%s[%d] = %.12g, FD %.12g",
               k < np ? "ranges" : "ts", k % np, an, fd);
    }
    /* accumulation: start from a nonzero value, call twice */
    double dr2[6], dt2[6];
    for (int k = 0; k < np; k++) dr2[k] = 0.25, dt2[k] = -0.5;
    mmx_param_grads pg2 = {dr2, dt2, NULL};
    CHECK_STATUS(mmx_backward_f64(&nm, dx, C, &pg2, dy, C, y, C, x, C, R, C), MMX_OK);
    CHECK_STATUS(mmx_backward_f64(&nm, dx, C, &pg2, dy, C, y, C, x, C, R, C), MMX_OK);
    int acc = 1;
    for (int k = 0; k < np; k++)
        if (fabs(dr2[k] - (0.25 + 2 * dr[k])) > 1e-12 * (1 + fabs(dr[k])) ||
            fabs(dt2[k] - (-0.5 + 2 * dt[k])) > 1e-12 * (1 + fabs(dt[k])))
            acc = 0;
    CHECKF(acc, "dranges[0] %.17g after two calls from 0.25, one call gives %.17g", dr2[0], dr[0]);
    /* NULL pg, and a pg with only dts: same dx */
    CHECK_STATUS(mmx_backward_f64(&nm, dx0, C, NULL, dy, C, y, C, x, C, R, C), MMX_OK);
    CHECK_MAT(dx0, C, dx, C, R, C, 0, 0);
    double dt3[6] = {0};
    mmx_param_grads pg3 = {NULL, dt3, NULL};
    CHECK_STATUS(mmx_backward_f64(&nm, dx0, C, &pg3, dy, C, y, C, x, C, R, C), MMX_OK);
    CHECK_MAT(dt3, np, dt, np, 1, np, 1e-15, 1e-300);
    check_param_grads_f32(&nm, x, dy, R, C, dr, dt);
    free(x), free(y), free(dy), free(dx), free(dx0);
}

/* The f32 entry point gives the f64 gradients dr, dt to float accuracy. */
static void check_param_grads_f32(const mmx_norm *nm, const double *x, const double *dy, int64_t R,
                                  int64_t C, const double *dr, const double *dt)
{
    const int64_t n = R * C;
    const int np = 2 * nm->order;
    float *xf = malloc((size_t)n * sizeof(float)), *yf = malloc((size_t)n * sizeof(float));
    float *dyf = malloc((size_t)n * sizeof(float)), *dxf = malloc((size_t)n * sizeof(float));
    if (!xf || !yf || !dyf || !dxf) abort();
    for (int64_t k = 0; k < n; k++) xf[k] = (float)x[k], dyf[k] = (float)dy[k];
    CHECK_STATUS(mmx_forward_f32(nm, yf, C, xf, C, R, C), MMX_OK);
    double drf[6] = {0}, dtf[6] = {0}, scale = 0.0;
    mmx_param_grads pgf = {drf, dtf, NULL};
    CHECK_STATUS(mmx_backward_f32(nm, dxf, C, &pgf, dyf, C, yf, C, xf, C, R, C), MMX_OK);
    for (int k = 0; k < np; k++) scale = fmax(scale, fmax(fabs(dr[k]), fabs(dt[k])));
    int close = 1;
    for (int k = 0; k < np; k++)
        if (fabs(drf[k] - dr[k]) > 1e-4 * scale + 1e-6 || fabs(dtf[k] - dt[k]) > 1e-4 * scale + 1e-6)
            close = 0;
    CHECKF(close, "f32 dts[0] %.9g vs f64 %.9g", dtf[0], dt[0]);
    free(xf), free(yf), free(dyf), free(dxf);
}

/* Results do not depend on the number of threads (header): dx and the parameter sums. */
static void test_threads(void)
{
    T_CTX("multimax threads");
    enum { R = 96, C = 130 };
    static double x[R * C], y[R * C], dy[R * C], dx1[R * C], dx3[R * C];
    static float xf[R * C], yf[R * C], dyf[R * C], dxf1[R * C], dxf3[R * C];
    t_rng rng = t_rng_seed(13);
    for (int k = 0; k < R * C; k++) {
        x[k] = 2.0 * t_normal(&rng), dy[k] = t_normal(&rng);
        xf[k] = (float)x[k], dyf[k] = (float)dy[k];
    }
    mmx_norm nm = mmx_norm_multimax(2, k_ranges, k_ts);
    int saved = mmx_get_num_threads();
    double g[2][4][4] = {{{0}}};
    for (int pass = 0; pass < 2; pass++) {
        CHECK_STATUS(mmx_set_num_threads(pass ? 3 : 1), MMX_OK);
        mmx_param_grads pg = {g[pass][0], g[pass][1], NULL}, pgf = {g[pass][2], g[pass][3], NULL};
        CHECK_STATUS(mmx_forward_f64(&nm, y, C, x, C, R, C), MMX_OK);
        CHECK_STATUS(mmx_backward_f64(&nm, pass ? dx3 : dx1, C, &pg, dy, C, y, C, x, C, R, C), MMX_OK);
        CHECK_STATUS(mmx_forward_f32(&nm, yf, C, xf, C, R, C), MMX_OK);
        CHECK_STATUS(mmx_backward_f32(&nm, pass ? dxf3 : dxf1, C, &pgf, dyf, C, yf, C, xf, C, R, C),
                     MMX_OK);
    }
    CHECK_STATUS(mmx_set_num_threads(saved), MMX_OK);
    CHECK(!memcmp(dx1, dx3, sizeof dx1));
    CHECK(!memcmp(dxf1, dxf3, sizeof dxf1));
    CHECKF(!memcmp(g[0], g[1], sizeof g[0]), "dts[0] f64 %.17g vs %.17g, f32 %.17g vs %.17g",
           g[0][1][0], g[1][1][0], g[0][3][0], g[1][3][0]);
}

int main(void)
{
    test_sweeps();
    test_zero_ts_is_softmax();
    test_sigma_formula();
    test_layout();
    for (int order = 1; order <= 3; order++) {
        check_param_grads(order, 5, 9, 500 + (uint64_t)order);
        check_param_grads(order, 3, 300, 600 + (uint64_t)order);
    }
    test_threads();
    return t_summary();
}
