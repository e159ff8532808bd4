/*
 * test_errors.c - bad input and edge cases of the header's conventions: every documented
 * error returns its status, writes nothing (the f32 normalizers: leave the bad row
 * untouched and finish the others), and leaves a message naming the function and the
 * argument; rows == 0; in-place calls; names, statuses, version; per-thread errors.
 */
#include <pthread.h>

#include "harness.h"

enum { R = 3, C = 5, LD = 6, NB = R * LD + 8 };

typedef struct { /* a test buffer in both precisions */
    double d[NB];
    float f[NB];
} buf2;

static void b_fill(buf2 *b, double v)
{
    for (int i = 0; i < NB; i++) b->d[i] = v, b->f[i] = (float)v;
}
static void b_canary(buf2 *b) { b_fill(b, T_CANARY); }
/* rows [r0, r1) of the matrix part (and everything when r0 = 0, r1 = R) still hold the canary */
static int b_untouched(const buf2 *b, int f32, int r0, int r1)
{
    for (int i = 0; i < NB; i++) {
        int r = i / LD;
        if (i < R * LD && (r < r0 || r >= r1)) continue;
        if (f32 ? b->f[i] != (float)T_CANARY : b->d[i] != T_CANARY) return 0;
    }
    return 1;
}

static mmx_status fwd(int f32, const mmx_norm *nm, buf2 *y, int64_t ldy, buf2 *x, int64_t ldx,
                      int64_t rows, int64_t cols)
{
    return f32 ? mmx_forward_f32(nm, y ? y->f : NULL, ldy, x ? x->f : NULL, ldx, rows, cols)
               : mmx_forward_f64(nm, y ? y->d : NULL, ldy, x ? x->d : NULL, ldx, rows, cols);
}
static mmx_status bwd(int f32, const mmx_norm *nm, buf2 *dx, int64_t lddx, mmx_param_grads *pg,
                      buf2 *dy, int64_t lddy, buf2 *y, int64_t ldy, buf2 *x, int64_t ldx,
                      int64_t rows, int64_t cols)
{
    return f32 ? mmx_backward_f32(nm, dx ? dx->f : NULL, lddx, pg, dy ? dy->f : NULL, lddy,
                                  y ? y->f : NULL, ldy, x ? x->f : NULL, ldx, rows, cols)
               : mmx_backward_f64(nm, dx ? dx->d : NULL, lddx, pg, dy ? dy->d : NULL, lddy,
                                  y ? y->d : NULL, ldy, x ? x->d : NULL, ldx, rows, cols);
}

/* The message names fn and one of the '|'-separated alternatives of arg. */
static int msg_has(const char *fn, const char *arg)
{
    const char *m = mmx_last_error();
    if (!m || !strstr(m, fn)) return 0;
    char alts[128];
    snprintf(alts, sizeof alts, "%s", arg);
    for (char *a = strtok(alts, "|"); a; a = strtok(NULL, "|"))
        if (strstr(m, a)) return 1;
    return 0;
}
#define EXPECT_ERR(call, want, fn, arg, untouched)                                            \
    do {                                                                                     \
        mmx_status got_ = (call);                                                            \
        t_check(got_ == (want), __FILE__, __LINE__, #call, "%s, expected %s (%s)",           \
                mmx_status_str(got_), mmx_status_str(want), mmx_last_error());               \
        t_check(msg_has((fn), (arg)), __FILE__, __LINE__, "message names function, argument", \
                "%s / %s not in '%s'", (fn), (arg), mmx_last_error());                        \
        t_check((untouched), __FILE__, __LINE__, "outputs untouched: " #untouched, "");      \
    } while (0)

static buf2 X, Y, DY, DX, YV; /* YV: a valid forward output, an input of backward / metrics */
static const double k_ranges[4] = {-1.0, 1.0, -2.0, 2.0}, k_ts[4] = {0.2, 0.1, 0.05, -0.02};

static void fill_inputs(void)
{
    t_rng rng = t_rng_seed(81);
    b_fill(&X, NAN); /* gaps and tail are NaN: never read */
    b_fill(&DY, NAN);
    b_fill(&YV, NAN);
    for (int r = 0; r < R; r++)
        for (int j = 0; j < C; j++) {
            X.d[r * LD + j] = t_normal(&rng), X.f[r * LD + j] = (float)X.d[r * LD + j];
            DY.d[r * LD + j] = t_normal(&rng), DY.f[r * LD + j] = (float)DY.d[r * LD + j];
            YV.d[r * LD + j] = 0.2, YV.f[r * LD + j] = 0.2f; /* a valid distribution */
        }
}

static void test_forward_errors(void)
{
    mmx_norm sm = mmx_norm_softmax(1.0);
    for (int f32 = 0; f32 <= 1; f32++) {
        const char *fn = f32 ? "mmx_forward_f32" : "mmx_forward_f64";
        T_CTX("%s errors", fn);
        b_canary(&Y);
        EXPECT_ERR(fwd(f32, NULL, &Y, LD, &X, LD, R, C), MMX_ERR_NULL, fn, "'norm'", b_untouched(&Y, f32, 0, R));
        EXPECT_ERR(fwd(f32, &sm, NULL, LD, &X, LD, R, C), MMX_ERR_NULL, fn, "'y'", 1);
        EXPECT_ERR(fwd(f32, &sm, &Y, LD, NULL, LD, R, C), MMX_ERR_NULL, fn, "'x'", b_untouched(&Y, f32, 0, R));
        EXPECT_ERR(fwd(f32, &sm, &Y, LD, &X, LD, R, 0), MMX_ERR_SIZE, fn, "'cols'", b_untouched(&Y, f32, 0, R));
        EXPECT_ERR(fwd(f32, &sm, &Y, LD, &X, LD, R, -2), MMX_ERR_SIZE, fn, "'cols'", b_untouched(&Y, f32, 0, R));
        EXPECT_ERR(fwd(f32, &sm, &Y, LD, &X, LD, -1, C), MMX_ERR_SIZE, fn, "'rows'", b_untouched(&Y, f32, 0, R));
        EXPECT_ERR(fwd(f32, &sm, &Y, C - 1, &X, LD, R, C), MMX_ERR_SIZE, fn, "ldy|'y'", b_untouched(&Y, f32, 0, R));
        EXPECT_ERR(fwd(f32, &sm, &Y, LD, &X, C - 1, R, C), MMX_ERR_SIZE, fn, "ldx|'x'", b_untouched(&Y, f32, 0, R));
        static const double bad_t[4] = {0.0, -1.0, NAN, INFINITY};
        for (int i = 0; i < 4; i++) {
            mmx_norm n = mmx_norm_softmax(bad_t[i]);
            EXPECT_ERR(fwd(f32, &n, &Y, LD, &X, LD, R, C), MMX_ERR_PARAM, fn, "'temperature",
                       b_untouched(&Y, f32, 0, R));
        }
        static const double bad_a[4] = {1.0, 0.5, NAN, INFINITY};
        for (int i = 0; i < 4; i++) {
            mmx_norm n = mmx_norm_entmax(bad_a[i]);
            EXPECT_ERR(fwd(f32, &n, &Y, LD, &X, LD, R, C), MMX_ERR_PARAM, fn, "'alpha", b_untouched(&Y, f32, 0, R));
        }
        static const int bad_o[3] = {0, MMX_MULTIMAX_MAX_ORDER + 1, -3};
        double big[2 * (MMX_MULTIMAX_MAX_ORDER + 1)] = {0};
        for (int i = 0; i < 3; i++) {
            mmx_norm n = mmx_norm_multimax(bad_o[i], big, big);
            EXPECT_ERR(fwd(f32, &n, &Y, LD, &X, LD, R, C), MMX_ERR_PARAM, fn, "'order", b_untouched(&Y, f32, 0, R));
        }
        mmx_norm nr = mmx_norm_multimax(2, NULL, k_ts), nt = mmx_norm_multimax(2, k_ranges, NULL);
        EXPECT_ERR(fwd(f32, &nr, &Y, LD, &X, LD, R, C), MMX_ERR_NULL, fn, "'ranges", b_untouched(&Y, f32, 0, R));
        EXPECT_ERR(fwd(f32, &nt, &Y, LD, &X, LD, R, C), MMX_ERR_NULL, fn, "'ts", b_untouched(&Y, f32, 0, R));
        double tsn[4] = {0.1, NAN, 0, 0}, rgi[4] = {-1, 1, INFINITY, 2};
        mmx_norm nn = mmx_norm_multimax(2, k_ranges, tsn), ni = mmx_norm_multimax(2, rgi, k_ts);
        EXPECT_ERR(fwd(f32, &nn, &Y, LD, &X, LD, R, C), MMX_ERR_PARAM, fn, "'ts", b_untouched(&Y, f32, 0, R));
        EXPECT_ERR(fwd(f32, &ni, &Y, LD, &X, LD, R, C), MMX_ERR_PARAM, fn, "'ranges", b_untouched(&Y, f32, 0, R));
        mmx_norm nk = sm;
        nk.kind = (mmx_norm_kind)99;
        EXPECT_ERR(fwd(f32, &nk, &Y, LD, &X, LD, R, C), MMX_ERR_PARAM, fn, "'kind", b_untouched(&Y, f32, 0, R));
    }
}

/* NaN / +inf in an input row: f64 writes nothing; f32 leaves only the bad row untouched and
 * finishes the others. The message names the argument, the row and the column. */
static void test_value_errors(void)
{
    mmx_norm norms[6] = {mmx_norm_softmax(1.0), mmx_norm_multimax(2, k_ranges, k_ts), mmx_norm_sparsemax(),
                         mmx_norm_entmax15(), mmx_norm_entmax(1.7), mmx_norm_evsoftmax(0)};
    static const double bad[2] = {NAN, INFINITY};
    for (int k = 0; k < 6; k++)
        for (int f32 = 0; f32 <= 1; f32++)
            for (int b = 0; b < 2; b++) {
                const char *fn = f32 ? "mmx_forward_f32" : "mmx_forward_f64";
                T_CTX("%s %s with %g in row 1", fn, mmx_norm_name(norms[k].kind), bad[b]);
                buf2 xb = X;
                xb.d[1 * LD + 3] = bad[b], xb.f[1 * LD + 3] = (float)bad[b];
                b_canary(&Y);
                EXPECT_ERR(fwd(f32, &norms[k], &Y, LD, &xb, LD, R, C), MMX_ERR_VALUE, fn, "'x'",
                           b_untouched(&Y, f32, f32 ? 1 : 0, f32 ? 2 : R));
                CHECKF(strstr(mmx_last_error(), "row 1") && (strstr(mmx_last_error(), "column 3") ||
                       strstr(mmx_last_error(), "col 3")), "'%s'", mmx_last_error());
                if (f32) { /* rows 0 and 2 computed */
                    double s0 = 0, s2 = 0;
                    for (int j = 0; j < C; j++) s0 += Y.f[j], s2 += Y.f[2 * LD + j];
                    CHECKF(fabs(s0 - 1) < 1e-5 && fabs(s2 - 1) < 1e-5, "row sums %g, %g", s0, s2);
                }
                const char *bfn = f32 ? "mmx_backward_f32" : "mmx_backward_f64";
                buf2 dyb = DY;
                dyb.d[2 * LD + 4] = bad[b], dyb.f[2 * LD + 4] = (float)bad[b];
                b_canary(&DX);
                double dts[4] = {T_CANARY, T_CANARY, T_CANARY, T_CANARY};
                mmx_param_grads pg = {NULL, dts, NULL};
                EXPECT_ERR(bwd(f32, &norms[k], &DX, LD, &pg, &dyb, LD, &YV, LD, &X, LD, R, C), MMX_ERR_VALUE,
                           bfn, "'dy'", b_untouched(&DX, f32, f32 ? 2 : 0, f32 ? 3 : R));
                CHECKF(strstr(mmx_last_error(), "row 2") && (strstr(mmx_last_error(), "column 4") ||
                       strstr(mmx_last_error(), "col 4")), "'%s'", mmx_last_error());
                if (!f32) CHECK(dts[0] == T_CANARY && dts[3] == T_CANARY);
                if (norms[k].kind == MMX_NORM_MULTIMAX) {
                    b_canary(&DX);
                    EXPECT_ERR(bwd(f32, &norms[k], &DX, LD, NULL, &DY, LD, &YV, LD, &xb, LD, R, C), MMX_ERR_VALUE,
                               bfn, "'x'", b_untouched(&DX, f32, f32 ? 1 : 0, f32 ? 2 : R));
                }
            }
}

static void test_backward_errors(void)
{
    mmx_norm sm = mmx_norm_softmax(1.0), mm = mmx_norm_multimax(2, k_ranges, k_ts), bad = mmx_norm_softmax(0);
    for (int f32 = 0; f32 <= 1; f32++) {
        const char *fn = f32 ? "mmx_backward_f32" : "mmx_backward_f64";
        T_CTX("%s errors", fn);
        b_canary(&DX);
        double dts[4] = {T_CANARY, T_CANARY, T_CANARY, T_CANARY};
        mmx_param_grads pg = {NULL, dts, NULL};
#define UNTOUCHED (b_untouched(&DX, f32, 0, R) && dts[0] == T_CANARY && dts[3] == T_CANARY)
        EXPECT_ERR(bwd(f32, NULL, &DX, LD, &pg, &DY, LD, &YV, LD, &X, LD, R, C), MMX_ERR_NULL, fn, "'norm'", UNTOUCHED);
        EXPECT_ERR(bwd(f32, &mm, NULL, LD, &pg, &DY, LD, &YV, LD, &X, LD, R, C), MMX_ERR_NULL, fn, "'dx'", UNTOUCHED);
        EXPECT_ERR(bwd(f32, &mm, &DX, LD, &pg, NULL, LD, &YV, LD, &X, LD, R, C), MMX_ERR_NULL, fn, "'dy'", UNTOUCHED);
        EXPECT_ERR(bwd(f32, &mm, &DX, LD, &pg, &DY, LD, NULL, LD, &X, LD, R, C), MMX_ERR_NULL, fn, "'y'", UNTOUCHED);
        EXPECT_ERR(bwd(f32, &mm, &DX, LD, &pg, &DY, LD, &YV, LD, NULL, LD, R, C), MMX_ERR_NULL, fn, "'x'", UNTOUCHED);
        EXPECT_ERR(bwd(f32, &mm, &DX, C - 1, &pg, &DY, LD, &YV, LD, &X, LD, R, C), MMX_ERR_SIZE, fn, "lddx|'dx'", UNTOUCHED);
        EXPECT_ERR(bwd(f32, &mm, &DX, LD, &pg, &DY, C - 1, &YV, LD, &X, LD, R, C), MMX_ERR_SIZE, fn, "lddy|'dy'", UNTOUCHED);
        EXPECT_ERR(bwd(f32, &mm, &DX, LD, &pg, &DY, LD, &YV, C - 1, &X, LD, R, C), MMX_ERR_SIZE, fn, "ldy|'y'", UNTOUCHED);
        EXPECT_ERR(bwd(f32, &mm, &DX, LD, &pg, &DY, LD, &YV, LD, &X, C - 1, R, C), MMX_ERR_SIZE, fn, "ldx|'x'", UNTOUCHED);
        EXPECT_ERR(bwd(f32, &mm, &DX, LD, &pg, &DY, LD, &YV, LD, &X, LD, -1, C), MMX_ERR_SIZE, fn, "'rows'", UNTOUCHED);
        EXPECT_ERR(bwd(f32, &mm, &DX, LD, &pg, &DY, LD, &YV, LD, &X, LD, R, 0), MMX_ERR_SIZE, fn, "'cols'", UNTOUCHED);
        EXPECT_ERR(bwd(f32, &bad, &DX, LD, &pg, &DY, LD, &YV, LD, &X, LD, R, C), MMX_ERR_PARAM, fn, "'temperature",
                   UNTOUCHED);
#undef UNTOUCHED
        /* x is read only by MULTIMAX: NULL is fine for the others */
        CHECK_STATUS(bwd(f32, &sm, &DX, LD, NULL, &DY, LD, &YV, LD, NULL, 0, R, C), MMX_OK);
    }
}

static mmx_status loss_call(int f32, const mmx_norm *nm, buf2 *L, int64_t lddz, const buf2 *z,
                            int64_t ldz, const int32_t *lab, double ls, double gs)
{
    return f32 ? mmx_loss_f32(nm, L->f, DX.f, lddz, NULL, z ? z->f : NULL, ldz, lab, R, C, ls, gs)
               : mmx_loss_f64(nm, L->d, DX.d, lddz, NULL, z ? z->d : NULL, ldz, lab, R, C, ls, gs);
}
static mmx_status met_call(int f32, double *m, double *s, double *mm, double *sm, const buf2 *phi,
                           int64_t ldp, const buf2 *x, int64_t ldx, int64_t rows, int64_t cols, double eps)
{
    return f32 ? mmx_metrics_f32(m, s, mm, sm, phi ? phi->f : NULL, ldp, x ? x->f : NULL, ldx, rows, cols, eps)
               : mmx_metrics_f64(m, s, mm, sm, phi ? phi->d : NULL, ldp, x ? x->d : NULL, ldx, rows, cols, eps);
}

static void test_loss_errors(void)
{
    mmx_norm sm = mmx_norm_softmax(1.0);
    int32_t lab[R] = {0, 4, 2}, big[R] = {0, C, 2}, masked_lab[R] = {0, 1, 2};
    buf2 zm = X;
    zm.d[1 * LD + 1] = -INFINITY, zm.f[1 * LD + 1] = -INFINITY;
    buf2 zn = X;
    zn.d[2 * LD + 0] = NAN, zn.f[2 * LD + 0] = NAN;
    for (int f32 = 0; f32 <= 1; f32++) {
        const char *fn = f32 ? "mmx_loss_f32" : "mmx_loss_f64";
        T_CTX("%s errors", fn);
        buf2 L;
        b_canary(&L);
        b_canary(&DX);
#define LOSS(nm, lb, z, ldz, lddz, ls, gs) loss_call(f32, (nm), &L, (lddz), (z), (ldz), (lb), (ls), (gs))
#define UNTOUCHED (b_untouched(&L, f32, 0, R) && b_untouched(&DX, f32, 0, R))
        EXPECT_ERR(LOSS(NULL, lab, &X, LD, LD, 0.0, 1.0), MMX_ERR_NULL, fn, "'norm'", UNTOUCHED);
        EXPECT_ERR(LOSS(&sm, lab, NULL, LD, LD, 0.0, 1.0), MMX_ERR_NULL, fn, "'z'", UNTOUCHED);
        EXPECT_ERR(LOSS(&sm, NULL, &X, LD, LD, 0.0, 1.0), MMX_ERR_NULL, fn, "'labels'", UNTOUCHED);
        EXPECT_ERR(LOSS(&sm, big, &X, LD, LD, 0.0, 1.0), MMX_ERR_VALUE, fn, "labels", UNTOUCHED);
        EXPECT_ERR(LOSS(&sm, masked_lab, &zm, LD, LD, 0.0, 1.0), MMX_ERR_VALUE, fn, "labels", UNTOUCHED);
        EXPECT_ERR(LOSS(&sm, lab, &zn, LD, LD, 0.0, 1.0), MMX_ERR_VALUE, fn, "'z'", UNTOUCHED);
        EXPECT_ERR(LOSS(&sm, lab, &X, C - 1, LD, 0.0, 1.0), MMX_ERR_SIZE, fn, "ldz|'z'", UNTOUCHED);
        EXPECT_ERR(LOSS(&sm, lab, &X, LD, C - 1, 0.0, 1.0), MMX_ERR_SIZE, fn, "lddz|'dz'", UNTOUCHED);
        EXPECT_ERR(LOSS(&sm, lab, &X, LD, LD, 1.0, 1.0), MMX_ERR_PARAM, fn, "'ls'", UNTOUCHED);
        EXPECT_ERR(LOSS(&sm, lab, &X, LD, LD, -0.1, 1.0), MMX_ERR_PARAM, fn, "'ls'", UNTOUCHED);
        EXPECT_ERR(LOSS(&sm, lab, &X, LD, LD, NAN, 1.0), MMX_ERR_PARAM, fn, "'ls'", UNTOUCHED);
        EXPECT_ERR(LOSS(&sm, lab, &X, LD, LD, 0.0, NAN), MMX_ERR_PARAM, fn, "'grad_scale'", UNTOUCHED);
        mmx_norm ev = mmx_norm_evsoftmax(1), bt = mmx_norm_softmax(-2.0);
        EXPECT_ERR(LOSS(&ev, lab, &X, LD, LD, 0.0, 1.0), MMX_ERR_PARAM, fn, "'norm'|evsoftmax", UNTOUCHED);
        EXPECT_ERR(LOSS(&bt, lab, &X, LD, LD, 0.0, 1.0), MMX_ERR_PARAM, fn, "'temperature", UNTOUCHED);
#undef UNTOUCHED
#undef LOSS
    }
}

static void test_metrics_errors(void)
{
    buf2 xn = X, pn = YV;
    xn.d[LD + 2] = NAN, xn.f[LD + 2] = NAN;
    pn.d[2] = INFINITY, pn.f[2] = INFINITY;
    for (int f32 = 0; f32 <= 1; f32++) {
        const char *fn = f32 ? "mmx_metrics_f32" : "mmx_metrics_f64";
        T_CTX("%s errors", fn);
        double m[R], s[R], mm = T_CANARY, sm = T_CANARY;
        for (int r = 0; r < R; r++) m[r] = s[r] = T_CANARY;
#define MET(phi, ldp, x, ldx, rows, cols, eps) \
    met_call(f32, m, s, &mm, &sm, (phi), (ldp), (x), (ldx), (rows), (cols), (eps))
#define UNTOUCHED (m[0] == T_CANARY && m[R - 1] == T_CANARY && s[0] == T_CANARY && mm == T_CANARY && sm == T_CANARY)
        EXPECT_ERR(MET(NULL, LD, &X, LD, R, C, 0.0), MMX_ERR_NULL, fn, "'phi'", UNTOUCHED);
        EXPECT_ERR(MET(&YV, LD, NULL, LD, R, C, 0.0), MMX_ERR_NULL, fn, "'x'", UNTOUCHED);
        EXPECT_ERR(MET(&YV, LD, &X, LD, R, 0, 0.0), MMX_ERR_SIZE, fn, "'cols'", UNTOUCHED);
        EXPECT_ERR(MET(&YV, LD, &X, LD, -1, C, 0.0), MMX_ERR_SIZE, fn, "'rows'", UNTOUCHED);
        EXPECT_ERR(MET(&YV, C - 1, &X, LD, R, C, 0.0), MMX_ERR_SIZE, fn, "ldphi|'phi'", UNTOUCHED);
        EXPECT_ERR(MET(&YV, LD, &X, C - 1, R, C, 0.0), MMX_ERR_SIZE, fn, "ldx|'x'", UNTOUCHED);
        EXPECT_ERR(MET(&YV, LD, &xn, LD, R, C, 0.0), MMX_ERR_VALUE, fn, "'x'", UNTOUCHED);
        EXPECT_ERR(MET(&pn, LD, &X, LD, R, C, 0.0), MMX_ERR_VALUE, fn, "'phi'", UNTOUCHED);
        EXPECT_ERR(MET(&YV, LD, &X, LD, R, C, NAN), MMX_ERR_PARAM, fn, "'eps'", UNTOUCHED);
        /* rows == 0: OK, means undefined */
        CHECK_STATUS(MET(&YV, LD, &X, LD, 0, C, 0.0), MMX_OK);
        CHECK(mm == MMX_METRIC_UNDEFINED && sm == MMX_METRIC_UNDEFINED && m[0] == T_CANARY);
#undef UNTOUCHED
#undef MET
    }
}

/* rows == 0 is a valid empty batch: MMX_OK, nothing written. */
static void test_empty_batches(void)
{
    mmx_norm mm = mmx_norm_multimax(2, k_ranges, k_ts);
    int32_t lab[1] = {0};
    for (int f32 = 0; f32 <= 1; f32++) {
        T_CTX("rows == 0 %s", f32 ? "f32" : "f64");
        b_canary(&Y);
        b_canary(&DX);
        CHECK_STATUS(fwd(f32, &mm, &Y, LD, &X, LD, 0, C), MMX_OK);
        CHECK(b_untouched(&Y, f32, 0, R));
        double dr[4] = {0}, dt[4] = {0};
        mmx_param_grads pg = {dr, dt, NULL};
        CHECK_STATUS(bwd(f32, &mm, &DX, LD, &pg, &DY, LD, &X, LD, &X, LD, 0, C), MMX_OK);
        CHECK(b_untouched(&DX, f32, 0, R) && dr[0] == 0.0 && dt[0] == 0.0);
        CHECK_STATUS(f32 ? mmx_loss_f32(&mm, DX.f, NULL, C, &pg, X.f, LD, lab, 0, C, 0.1, 1.0)
                         : mmx_loss_f64(&mm, DX.d, NULL, C, &pg, X.d, LD, lab, 0, C, 0.1, 1.0), MMX_OK);
        CHECK(b_untouched(&DX, f32, 0, R) && dr[0] == 0.0 && dt[0] == 0.0);
    }
}

/* The (rows, cols) parts of two float matrices of stride ld are bitwise equal. */
static int same_f32(const float *a, const float *b, int64_t ld, int64_t rows, int64_t cols)
{
    for (int64_t r = 0; r < rows; r++)
        if (memcmp(a + r * ld, b + r * ld, (size_t)cols * sizeof(float))) return 0;
    return 1;
}

/* In place: y == x (forward), dx == dy (backward) give the out-of-place results. */
static void test_in_place(void)
{
    mmx_norm norms[7] = {mmx_norm_softmax(0.7), mmx_norm_multimax(2, k_ranges, k_ts), mmx_norm_sparsemax(),
                         mmx_norm_entmax15(), mmx_norm_entmax(1.3), mmx_norm_evsoftmax(0), mmx_norm_evsoftmax(1)};
    enum { IR = 7, IC = 37, ILD = 41 };
    static double x[IR * ILD], y[IR * ILD], io[IR * ILD], dy[IR * ILD], dx[IR * ILD];
    static float xf[IR * ILD], yf[IR * ILD], iof[IR * ILD], dyf[IR * ILD], dxf[IR * ILD];
    t_rng rng = t_rng_seed(83);
    for (int k = 0; k < 7; k++) {
        T_CTX("in place %s (norm %d)", mmx_norm_name(norms[k].kind), k);
        for (int i = 0; i < IR * ILD; i++) x[i] = dy[i] = 0.0;
        for (int r = 0; r < IR; r++) t_fill_row(x + r * ILD, IC, r, &rng);
        for (int i = 0; i < IR * ILD; i++) dy[i] = t_normal(&rng), xf[i] = (float)x[i], dyf[i] = (float)dy[i];
        CHECK_STATUS(mmx_forward_f64(&norms[k], y, ILD, x, ILD, IR, IC), MMX_OK);
        memcpy(io, x, sizeof io);
        CHECK_STATUS(mmx_forward_f64(&norms[k], io, ILD, io, ILD, IR, IC), MMX_OK);
        CHECK_MAT(io, ILD, y, ILD, IR, IC, 1e-15, 0);
        CHECK_STATUS(mmx_backward_f64(&norms[k], dx, ILD, NULL, dy, ILD, y, ILD, x, ILD, IR, IC), MMX_OK);
        memcpy(io, dy, sizeof io);
        CHECK_STATUS(mmx_backward_f64(&norms[k], io, ILD, NULL, io, ILD, y, ILD, x, ILD, IR, IC), MMX_OK);
        CHECK_MAT(io, ILD, dx, ILD, IR, IC, 1e-15, 0);
        CHECK_STATUS(mmx_forward_f32(&norms[k], yf, ILD, xf, ILD, IR, IC), MMX_OK);
        memcpy(iof, xf, sizeof iof);
        CHECK_STATUS(mmx_forward_f32(&norms[k], iof, ILD, iof, ILD, IR, IC), MMX_OK);
        CHECK(same_f32(iof, yf, ILD, IR, IC));
        CHECK_STATUS(mmx_backward_f32(&norms[k], dxf, ILD, NULL, dyf, ILD, yf, ILD, xf, ILD, IR, IC), MMX_OK);
        memcpy(iof, dyf, sizeof iof);
        CHECK_STATUS(mmx_backward_f32(&norms[k], iof, ILD, NULL, iof, ILD, yf, ILD, xf, ILD, IR, IC), MMX_OK);
        CHECK(same_f32(iof, dxf, ILD, IR, IC));
    }
}

static void test_names_and_info(void)
{
    T_CTX("names, statuses, version, threads");
    for (int k = 0; k < MMX_NORM_COUNT; k++) {
        mmx_norm_kind back = (mmx_norm_kind)-1;
        const char *name = mmx_norm_name((mmx_norm_kind)k);
        CHECKF(name && strcmp(name, "?") != 0, "kind %d", k);
        CHECK_STATUS(mmx_norm_parse(name, &back), MMX_OK);
        CHECK_EQ_INT(back, k);
    }
    CHECK(!strcmp(mmx_norm_name(MMX_NORM_SOFTMAX), "softmax") && !strcmp(mmx_norm_name(MMX_NORM_ENTMAX15), "entmax15"));
    CHECK(!strcmp(mmx_norm_name(MMX_NORM_COUNT), "?") && !strcmp(mmx_norm_name((mmx_norm_kind)-1), "?"));
    mmx_norm_kind kk = MMX_NORM_SOFTMAX;
    CHECK_STATUS(mmx_norm_parse("softmaxx", &kk), MMX_ERR_PARAM);
    CHECK_STATUS(mmx_norm_parse("", &kk), MMX_ERR_PARAM);
    CHECK(kk == MMX_NORM_SOFTMAX);
    CHECK(mmx_norm_parse(NULL, &kk) != MMX_OK && mmx_norm_parse("softmax", NULL) != MMX_OK);
    int all = 1;
    for (int s = -2; s < 40; s++) all &= mmx_status_str((mmx_status)s) != NULL;
    CHECK(all);
    CHECK(!strcmp(mmx_status_str(MMX_OK), "MMX_OK") && !strcmp(mmx_status_str(MMX_ERR_PARAM), "MMX_ERR_PARAM"));
    CHECK(!strcmp(mmx_status_str(MMX_ERR_FORMAT), "MMX_ERR_FORMAT"));
    char v[32];
    snprintf(v, sizeof v, "%d.%d.%d", MMX_VERSION_MAJOR, MMX_VERSION_MINOR, MMX_VERSION_PATCH);
    CHECK(mmx_version() && !strcmp(mmx_version(), v));
    CHECK(mmx_cpu_features() != NULL && mmx_build_info() != NULL && mmx_isa() != NULL);
    EXPECT_ERR(mmx_set_num_threads(0), MMX_ERR_PARAM, "mmx_set_num_threads", "'n'", mmx_get_num_threads() >= 1);
    CHECK(mmx_set_isa("no-such-isa") == MMX_ERR_PARAM && mmx_set_isa(mmx_isa()) == MMX_OK);
    /* the constructors fill the documented fields, and they pass mmx_norm_check */
    mmx_norm a = mmx_norm_softmax(0.5), b = mmx_norm_entmax(1.7), c = mmx_norm_multimax(2, k_ranges, k_ts);
    mmx_norm d = mmx_norm_evsoftmax(1), e = mmx_norm_sparsemax(), f = mmx_norm_entmax15();
    CHECK(a.kind == MMX_NORM_SOFTMAX && a.temperature == 0.5 && b.kind == MMX_NORM_ENTMAX && b.alpha == 1.7);
    CHECK(c.kind == MMX_NORM_MULTIMAX && c.order == 2 && c.ranges == k_ranges && c.ts == k_ts);
    CHECK(d.kind == MMX_NORM_EVSOFTMAX && d.eval == 1 && e.kind == MMX_NORM_SPARSEMAX && f.kind == MMX_NORM_ENTMAX15);
    CHECK(!mmx_norm_check(&a) && !mmx_norm_check(&b) && !mmx_norm_check(&c) && !mmx_norm_check(&d) &&
          !mmx_norm_check(&e) && !mmx_norm_check(&f));
    EXPECT_ERR(mmx_norm_check(NULL), MMX_ERR_NULL, "mmx_norm_check", "'norm'", 1);
}

/* mmx_last_error() is per thread: a new thread sees "", and its failure does not replace
 * this thread's message. */
static void *thread_body(void *arg)
{
    char *out = (char *)arg;
    snprintf(out, 256, "%s", mmx_last_error());
    mmx_norm bad = mmx_norm_entmax(0.5);
    double x[2] = {0, 1}, y[2];
    mmx_forward_f64(&bad, y, 2, x, 2, 1, 2);
    snprintf(out + 256, 256, "%s", mmx_last_error());
    return NULL;
}
static void test_thread_errors(void)
{
    T_CTX("per-thread last error");
    mmx_norm bad = mmx_norm_softmax(-1.0);
    double x[2] = {0, 1}, y[2];
    CHECK(mmx_forward_f64(&bad, y, 2, x, 2, 1, 2) == MMX_ERR_PARAM);
    char mine[256], theirs[512] = {0};
    snprintf(mine, sizeof mine, "%s", mmx_last_error());
    pthread_t th;
    CHECK(pthread_create(&th, NULL, thread_body, theirs) == 0 && pthread_join(th, NULL) == 0);
    CHECKF(theirs[0] == '\0', "a new thread sees '%s'", theirs);
    CHECKF(strstr(theirs + 256, "alpha") != NULL, "the thread's own message: '%s'", theirs + 256);
    CHECKF(!strcmp(mmx_last_error(), mine) && strstr(mine, "temperature"), "'%s'", mmx_last_error());
}

int main(void)
{
    T_CTX("before any failure");
    CHECKF(mmx_last_error() && mmx_last_error()[0] == '\0', "'%s'", mmx_last_error());
    fill_inputs();
    test_forward_errors();
    test_value_errors();
    test_backward_errors();
    test_loss_errors();
    test_metrics_errors();
    test_empty_batches();
    test_in_place();
    test_names_and_info();
    test_thread_errors();
    return t_summary();
}
