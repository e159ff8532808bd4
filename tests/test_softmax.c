/*
 * test_softmax.c - SoftMax with temperature: p = exp(x/t) / sum exp(x/t) (SPEC section 2).
 * Forward against the closed form over every size and hostile row, hand values, the
 * backward against finite differences and against dx = p (dy - <p, dy>) / t.
 */
#include "harness.h"

static void ref_softmax_t(double *p, const double *x, int64_t n, const void *ctx)
{
    ref_softmax(p, x, n, *(const double *)ctx);
}

static void test_sweeps(void)
{
    static const double temps[] = {1.0, 0.25, 3.0};
    for (int i = 0; i < 3; i++) {
        mmx_norm nm = mmx_norm_softmax(temps[i]);
        char name[64];
        snprintf(name, sizeof name, "softmax t=%g", temps[i]);
        t_fwd_spec sp = {&nm, ref_softmax_t, &temps[i], T_ALL_ROWS, 1e-12, 1e-300, 3e-5, 1e-20};
        SWEEP_FORWARD(&sp, name, 100 + (uint64_t)i);
        SWEEP_BACKWARD(&nm, name, 200 + (uint64_t)i);
    }
}

/* exp(x) = (1, 2, 3) gives (1/6, 2/6, 3/6); at t = 2, x = (0, 2 ln 2) gives (1/3, 2/3). */
static void test_hand_values(void)
{
    T_CTX("softmax hand values");
    mmx_norm nm = mmx_norm_softmax(1.0);
    double x[3] = {0.0, log(2.0), log(3.0)}, y[3];
    CHECK_STATUS(mmx_forward_f64(&nm, y, 3, x, 3, 1, 3), MMX_OK);
    CHECK_REL(y[0], 1.0 / 6.0, 1e-15, 0);
    CHECK_REL(y[1], 2.0 / 6.0, 1e-15, 0);
    CHECK_REL(y[2], 3.0 / 6.0, 1e-15, 0);

    float xf[3] = {0.0f, (float)log(2.0), (float)log(3.0)}, yf[3];
    CHECK_STATUS(mmx_forward_f32(&nm, yf, 3, xf, 3, 1, 3), MMX_OK);
    CHECK_REL(yf[0], 1.0 / 6.0, 1e-6, 0);
    CHECK_REL(yf[2], 3.0 / 6.0, 1e-6, 0);

    mmx_norm n2 = mmx_norm_softmax(2.0);
    double x2[2] = {0.0, 2.0 * log(2.0)}, y2[2];
    CHECK_STATUS(mmx_forward_f64(&n2, y2, 2, x2, 2, 1, 2), MMX_OK);
    CHECK_REL(y2[0], 1.0 / 3.0, 1e-15, 0);
    CHECK_REL(y2[1], 2.0 / 3.0, 1e-15, 0);

    /* ties give exactly uniform rows; a tie of 1e30 beats everything */
    double xt[5] = {5, 5, 5, 5, -INFINITY}, yt[5];
    CHECK_STATUS(mmx_forward_f64(&nm, yt, 5, xt, 5, 1, 5), MMX_OK);
    CHECK(yt[0] == 0.25 && yt[1] == 0.25 && yt[2] == 0.25 && yt[3] == 0.25 && yt[4] == 0.0);
    double xh[4] = {1e30, -3.0, 1e30, -1e30}, yh[4];
    CHECK_STATUS(mmx_forward_f64(&nm, yh, 4, xh, 4, 1, 4), MMX_OK);
    CHECK(yh[0] == 0.5 && yh[1] == 0.0 && yh[2] == 0.5 && yh[3] == 0.0);
    float xhf[4] = {1e30f, -3.0f, 1e30f, -1e30f}, yhf[4];
    CHECK_STATUS(mmx_forward_f32(&nm, yhf, 4, xhf, 4, 1, 4), MMX_OK);
    CHECK(yhf[0] == 0.5f && yhf[1] == 0.0f && yhf[2] == 0.5f && yhf[3] == 0.0f);

    /* (80, -80): the small entry is exp(-160) / (1 + exp(-160)), not flushed to 0 in f64 */
    double xp[2] = {80.0, -80.0}, yp[2];
    CHECK_STATUS(mmx_forward_f64(&nm, yp, 2, xp, 2, 1, 2), MMX_OK);
    CHECK_REL(yp[1], exp(-160.0), 1e-12, 0);
    CHECK(yp[0] == 1.0);
}

/* Temperature: large t flattens towards uniform, small t sharpens to the arg-max; shift
 * invariance f(x + c) = f(x). */
static void test_temperature_limits(void)
{
    T_CTX("softmax temperature limits");
    double x[4] = {0.3, -1.2, 2.5, 0.9}, y[4], ys[4], xs[4];
    mmx_norm hot = mmx_norm_softmax(1e8), cold = mmx_norm_softmax(1e-3);
    CHECK_STATUS(mmx_forward_f64(&hot, y, 4, x, 4, 1, 4), MMX_OK);
    for (int j = 0; j < 4; j++) CHECK_NEAR(y[j], 0.25, 1e-7);
    CHECK_STATUS(mmx_forward_f64(&cold, y, 4, x, 4, 1, 4), MMX_OK);
    CHECK(y[2] == 1.0 && y[0] == 0.0 && y[1] == 0.0 && y[3] == 0.0);

    mmx_norm nm = mmx_norm_softmax(0.7);
    for (int j = 0; j < 4; j++) xs[j] = x[j] + 1000.0;
    CHECK_STATUS(mmx_forward_f64(&nm, y, 4, x, 4, 1, 4), MMX_OK);
    CHECK_STATUS(mmx_forward_f64(&nm, ys, 4, xs, 4, 1, 4), MMX_OK);
    CHECK_MAT(ys, 4, y, 4, 1, 4, 1e-12, 0);
}

/* dx = p (dy - <p, dy>) / t with p the closed form: the backward formula of SPEC 2. */
static void test_backward_closed_form(void)
{
    T_CTX("softmax backward closed form");
    t_rng rng = t_rng_seed(7);
    enum { R = 4, C = 57 };
    double x[R * C], y[R * C], dy[R * C], dx[R * C], want[R * C];
    const double t = 0.6;
    for (int k = 0; k < R * C; k++) {
        x[k] = 3.0 * t_normal(&rng);
        dy[k] = t_normal(&rng);
    }
    x[5] = -INFINITY;
    for (int r = 0; r < R; r++) {
        ref_softmax(y + r * C, x + r * C, C, t);
        double dot = 0.0;
        for (int j = 0; j < C; j++) dot += y[r * C + j] * dy[r * C + j];
        for (int j = 0; j < C; j++) want[r * C + j] = y[r * C + j] * (dy[r * C + j] - dot) / t;
    }
    mmx_norm nm = mmx_norm_softmax(t);
    CHECK_STATUS(mmx_backward_f64(&nm, dx, C, NULL, dy, C, y, C, NULL, 0, R, C), MMX_OK);
    CHECK_MAT(dx, C, want, C, R, C, 1e-12, 1e-15);
    CHECK(dx[5] == 0.0);
}

/* The thread count changes nothing (row-wise maps). */
static void test_threads(void)
{
    T_CTX("softmax threads");
    enum { R = 64, C = 300 };
    static double x[R * C], y1[R * C], y4[R * C];
    t_rng rng = t_rng_seed(9);
    for (int k = 0; k < R * C; k++) x[k] = 2.0 * t_normal(&rng);
    mmx_norm nm = mmx_norm_softmax(1.0);
    int saved = mmx_get_num_threads();
    CHECK(saved >= 1);
    CHECK_STATUS(mmx_set_num_threads(1), MMX_OK);
    CHECK_EQ_INT(mmx_get_num_threads(), 1);
    CHECK_STATUS(mmx_forward_f64(&nm, y1, C, x, C, R, C), MMX_OK);
    CHECK_STATUS(mmx_set_num_threads(4), MMX_OK);
    CHECK_STATUS(mmx_forward_f64(&nm, y4, C, x, C, R, C), MMX_OK);
    CHECK_MAT(y4, C, y1, C, R, C, 1e-15, 0);
    CHECK_STATUS(mmx_set_num_threads(saved), MMX_OK);
}

int main(void)
{
    test_sweeps();
    test_hand_values();
    test_temperature_limits();
    test_backward_closed_form();
    test_threads();
    return t_summary();
}
