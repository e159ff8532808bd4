/*
 * test_metrics.c - multi-modality M and sparsity S of the paper (Def. 3.2, 3.3; SPEC
 * section 4): the check values of the SPEC table and temperature sweep, ties, undefined
 * rows and means, a relevance threshold eps, masks, and random rows against an
 * independent implementation of the definitions.
 */
#include "harness.h"

/* The definitions of the header, on one row. */
static void ref_metrics_row(const double *phi, const double *x, int64_t C, double eps, double *M,
                            double *S)
{
    double *s = malloc((size_t)C * sizeof(double)), pmax = -INFINITY, sm = 0.0, ss = 0.0;
    if (!s) abort();
    ref_softmax(s, x, C, 1.0);
    int64_t am = -1, N = 0, L = 0;
    for (int64_t j = 0; j < C; j++)
        if (x[j] != -INFINITY) {
            if (am < 0 || x[j] > x[am]) am = j;
            pmax = fmax(pmax, phi[j]);
        }
    for (int64_t j = 0; j < C; j++) {
        if (x[j] == -INFINITY) continue;
        if (j != am && x[j] > eps) N++, sm += pmax - phi[j];
        if (x[j] < eps) {
            L++;
            ss += phi[j] == 0.0 ? 1.0 : s[j] == 0.0 ? 0.0 : exp((s[j] - phi[j]) / s[j] - 1.0);
        }
    }
    *M = N ? 1.0 - sm / (double)N : MMX_METRIC_UNDEFINED;
    *S = L ? ss / (double)L : MMX_METRIC_UNDEFINED;
    free(s);
}

static void metrics1(const mmx_norm *nm, const double *x, int64_t C, double *M, double *S)
{
    double phi[8];
    CHECK_STATUS(mmx_forward_f64(nm, phi, C, x, C, 1, C), MMX_OK);
    CHECK_STATUS(mmx_metrics_f64(M, S, NULL, NULL, phi, C, x, C, 1, C, 0.0), MMX_OK);
}

/* SPEC section 4 table on x = (10, x2, -1), eps = 0 */
static void test_spec_table(void)
{
    static const double x2s[3] = {8, 6, 4}, Ms[3] = {0.2384, 0.0360, 0.0050};
    mmx_norm sm = mmx_norm_softmax(1.0), sp = mmx_norm_sparsemax(), e15 = mmx_norm_entmax15();
    for (int i = 0; i < 3; i++) {
        T_CTX("SPEC table x2 = %g", x2s[i]);
        double x[3] = {10, x2s[i], -1}, M, S, phi[3];
        metrics1(&sm, x, 3, &M, &S);
        CHECK_NEAR(M, Ms[i], 5e-5);
        CHECK_NEAR(S, 0.3679, 5e-5);
        ref_softmax(phi, x, 3, 1.0);
        CHECK_NEAR(M, 1.0 - (phi[0] - phi[1]), 1e-12);
        CHECK_NEAR(S, exp(-1.0), 1e-12);
        metrics1(&sp, x, 3, &M, &S);
        CHECK_NEAR(M, 0.0, 1e-15);
        CHECK_NEAR(S, 1.0, 1e-15);
        metrics1(&e15, x, 3, &M, &S);
        CHECK_NEAR(M, 0.0, 1e-15);
        CHECK_NEAR(S, 1.0, 1e-15);
    }
}

/* SoftMax temperature sweep on (10, 8, -1): (M, S) to the printed precision */
static void test_temperature_sweep(void)
{
    static const double ts[4] = {0.5, 1, 2, 4}, Ms[4] = {0.036, 0.238, 0.539, 0.764};
    static const double Ss[4] = {1.0, 0.368, 0.000, 0.000}, Stol[4] = {0.05, 5e-4, 5e-4, 5e-4};
    double x[3] = {10, 8, -1}, M, S;
    for (int i = 0; i < 4; i++) {
        T_CTX("temperature sweep t = %g", ts[i]);
        mmx_norm nm = mmx_norm_softmax(ts[i]);
        metrics1(&nm, x, 3, &M, &S);
        CHECK_NEAR(M, Ms[i], 5e-4);
        CHECK_NEAR(S, Ss[i], Stol[i]);
        double phi[3], Mr, Sr;
        ref_softmax(phi, x, 3, ts[i]);
        ref_metrics_row(phi, x, 3, 0.0, &Mr, &Sr);
        CHECK_NEAR(M, Mr, 1e-12);
        CHECK_NEAR(S, Sr, 1e-12);
    }
}

/* Hand cases: ties, undefined rows and the means, eps, masks, phi's own max, underflow. */
static void test_hand_cases(void)
{
    T_CTX("metrics ties");
    double xt[3] = {10, 10, -1}, M, S;
    mmx_norm sm = mmx_norm_softmax(1.0), sp = mmx_norm_sparsemax();
    metrics1(&sm, xt, 3, &M, &S);
    CHECK_NEAR(M, 1.0, 1e-15);
    metrics1(&sp, xt, 3, &M, &S);
    CHECK_NEAR(M, 1.0, 1e-15);

    /* row 0: only the arg-max is relevant (M undefined); row 1: nothing below eps (S
     * undefined); row 2: both defined; row 3: neither */
    T_CTX("metrics undefined rows");
    double x[4 * 3] = {5, -1, -2, 1, 2, 3, 10, 8, -1, 0, 0, 0};
    double phi[4 * 3] = {0.9, 0.1, 0.0, 0.2, 0.3, 0.5, 0.6, 0.4, 0.0, 0.3, 0.3, 0.4};
    double m[4], s[4], mm = T_CANARY, smean = T_CANARY;
    CHECK_STATUS(mmx_metrics_f64(m, s, &mm, &smean, phi, 3, x, 3, 4, 3, 0.0), MMX_OK);
    CHECK(m[0] == MMX_METRIC_UNDEFINED && m[3] == MMX_METRIC_UNDEFINED);
    CHECK(s[1] == MMX_METRIC_UNDEFINED && s[3] == MMX_METRIC_UNDEFINED);
    CHECK_NEAR(m[1], 1.0 - ((0.5 - 0.2) + (0.5 - 0.3)) / 2.0, 1e-15);
    CHECK_NEAR(m[2], 0.8, 1e-15);
    CHECK_NEAR(mm, (m[1] + m[2]) / 2.0, 1e-15);
    CHECK_NEAR(smean, (s[0] + s[2]) / 2.0, 1e-15);
    CHECK_NEAR(s[2], 1.0, 1e-15);
    double m1 = T_CANARY, s1 = T_CANARY;
    CHECK_STATUS(mmx_metrics_f64(NULL, NULL, &m1, &s1, phi + 9, 3, x + 9, 3, 1, 3, 0.0), MMX_OK);
    CHECK(m1 == MMX_METRIC_UNDEFINED && s1 == MMX_METRIC_UNDEFINED);

    /* eps = 0.8 on x = (3, 1, 0.5, -2): relevant {1}, small {0.5, -2} */
    T_CTX("metrics eps");
    double xe[4] = {3, 1, 0.5, -2}, pe[4] = {0.6, 0.3, 0.1, 0.0}, se[4];
    ref_softmax(se, xe, 4, 1.0);
    CHECK_STATUS(mmx_metrics_f64(&M, &S, NULL, NULL, pe, 4, xe, 4, 1, 4, 0.8), MMX_OK);
    CHECK_NEAR(M, 0.7, 1e-15);
    CHECK_NEAR(S, (exp((se[2] - 0.1) / se[2] - 1.0) + 1.0) / 2.0, 1e-14);

    /* masked entries are ignored, also in the reference softmax s */
    T_CTX("metrics masks");
    double xm[4] = {10, -INFINITY, 8, -1}, pm[4], x3[3] = {10, 8, -1}, M3, S3;
    ref_softmax(pm, xm, 4, 1.0);
    CHECK_STATUS(mmx_metrics_f64(&M, &S, NULL, NULL, pm, 4, xm, 4, 1, 4, 0.0), MMX_OK);
    metrics1(&sm, x3, 3, &M3, &S3);
    CHECK_NEAR(M, M3, 1e-15);
    CHECK_NEAR(S, S3, 1e-15);

    /* max(phi) is phi's own maximum: x = (3, 2, 1), phi = (0.2, 0.5, 0.3) -> 0.9 */
    T_CTX("metrics phi max");
    double xa[3] = {3, 2, 1}, pa[3] = {0.2, 0.5, 0.3};
    CHECK_STATUS(mmx_metrics_f64(&M, NULL, NULL, NULL, pa, 3, xa, 3, 1, 3, 0.0), MMX_OK);
    CHECK_NEAR(M, 0.9, 1e-15);

    /* s underflows to 0 (x = (1000, -1)); phi = 0 there still gives 1, never NaN */
    T_CTX("metrics softmax underflow");
    double xu[2] = {1000, -1}, pu[2] = {1, 0};
    CHECK_STATUS(mmx_metrics_f64(&M, &S, NULL, NULL, pu, 2, xu, 2, 1, 2, 0.0), MMX_OK);
    CHECKF(S == 1.0, "S = %.17g", S);
    CHECK(M == MMX_METRIC_UNDEFINED);
}

/* Random rows (strided, with masks) against the definitions, f64 and f32, NULL outputs. */
static void test_random_rows(void)
{
    enum { R = 9, C = 37, LD = 40 };
    t_rng rng = t_rng_seed(71);
    mmx_norm norms[3] = {mmx_norm_softmax(0.8), mmx_norm_entmax15(), mmx_norm_multimax(1, (const double[]){-0.5, 0.5}, (const double[]){0.3, 0.5})};
    for (int i = 0; i < 3; i++) {
        T_CTX("metrics random rows, normalizer %d", i);
        double x[R * LD], phi[R * LD], xc[R * C], pc[R * C], m[R], s[R], mw[R], sw[R], mm, sm;
        for (int k = 0; k < R * LD; k++) x[k] = NAN, phi[k] = NAN;
        for (int r = 0; r < R; r++)
            t_fill_row(x + r * LD, C, r == 7 ? ROW_PARTMASK : r == 8 ? ROW_TIES : ROW_RANDOM, &rng);
        CHECK_STATUS(mmx_forward_f64(&norms[i], phi, LD, x, LD, R, C), MMX_OK);
        t_f64_strided(xc, x, LD, R, C);
        t_f64_strided(pc, phi, LD, R, C);
        double mref = 0.0, sref = 0.0;
        int nm = 0, ns = 0;
        for (int r = 0; r < R; r++) {
            ref_metrics_row(pc + r * C, xc + r * C, C, 0.3, &mw[r], &sw[r]);
            if (mw[r] != MMX_METRIC_UNDEFINED) mref += mw[r], nm++;
            if (sw[r] != MMX_METRIC_UNDEFINED) sref += sw[r], ns++;
        }
        CHECK_STATUS(mmx_metrics_f64(m, s, &mm, &sm, phi, LD, x, LD, R, C, 0.3), MMX_OK);
        CHECK_MAT(m, R, mw, R, 1, R, 1e-12, 1e-14);
        CHECK_MAT(s, R, sw, R, 1, R, 1e-12, 1e-14);
        CHECK_NEAR(mm, mref / nm, 1e-12);
        CHECK_NEAR(sm, sref / ns, 1e-12);
        int inrange = 1;
        for (int r = 0; r < R; r++) inrange &= m[r] >= 0 && m[r] <= 1 && s[r] >= 0 && s[r] <= 1;
        CHECK(inrange);
        double m2[R], mm2;
        CHECK_STATUS(mmx_metrics_f64(m2, NULL, &mm2, NULL, phi, LD, x, LD, R, C, 0.3), MMX_OK);
        CHECK(!memcmp(m2, m, sizeof m) && mm2 == mm);
        /* f32 entry: the same definitions on the float data */
        float xf[R * LD], pf[R * LD];
        for (int k = 0; k < R * LD; k++) xf[k] = (float)x[k], pf[k] = (float)phi[k];
        t_f32_to_f64(xc, xf, LD, R, C);
        t_f32_to_f64(pc, pf, LD, R, C);
        for (int r = 0; r < R; r++) ref_metrics_row(pc + r * C, xc + r * C, C, 0.3, &mw[r], &sw[r]);
        CHECK_STATUS(mmx_metrics_f32(m, s, NULL, NULL, pf, LD, xf, LD, R, C, 0.3), MMX_OK);
        CHECK_MAT(m, R, mw, R, 1, R, 1e-12, 1e-14);
        CHECK_MAT(s, R, sw, R, 1, R, 1e-12, 1e-14);
    }
}

int main(void)
{
    test_spec_table();
    test_temperature_sweep();
    test_hand_cases();
    test_random_rows();
    return t_summary();
}
