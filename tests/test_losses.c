/*
 * test_losses.c - mmx_loss_f32/f64: cross-entropy for SOFTMAX and MULTIMAX (with label
 * smoothing over the finite logits), Fenchel-Young losses for the sparse maps, against
 * closed forms computed here; dz and the MultiMax scalar gradients by finite differences
 * of the loss; grad_scale; ignored rows; NULL outputs; EVSOFTMAX rejected.
 */
#include "harness.h"

static const double k_ranges[4] = {-0.7, 1.1, -1.6, 0.4};
static const double k_ts[4] = {0.3, 0.35, -0.08, 0.06};

/* Reference per-row loss and d loss / dz (before grad_scale), from the header: CE
 * -sum q log p, or the Fenchel-Young loss <p - q, z> + H(p) - H(q) with the Tsallis
 * entropy H(p) = (1 - sum p^alpha) / (alpha (alpha - 1)). */
static double ref_loss_row(const mmx_norm *nm, const double *z, int64_t C, int label, double ls,
                           double *g)
{
    double *p = malloc((size_t)C * sizeof(double)), *s = malloc((size_t)C * sizeof(double));
    if (!p || !s) abort();
    int64_t nfin = 0;
    for (int64_t j = 0; j < C; j++) nfin += z[j] != -INFINITY;
    double loss = 0.0;
    if (nm->kind == MMX_NORM_SOFTMAX || nm->kind == MMX_NORM_MULTIMAX) {
        int mm = nm->kind == MMX_NORM_MULTIMAX;
        for (int64_t j = 0; j < C; j++)
            s[j] = z[j] == -INFINITY ? -INFINITY
                   : mm              ? ref_sigma(nm->order, nm->ranges, nm->ts, z[j])
                                     : z[j] / nm->temperature;
        double m = ref_rowmax(s, C), sum = 0.0;
        for (int64_t j = 0; j < C; j++) sum += s[j] == -INFINITY ? 0.0 : exp(s[j] - m);
        double lse = m + log(sum);
        for (int64_t j = 0; j < C; j++) {
            if (z[j] == -INFINITY) {
                g[j] = 0.0;
                continue;
            }
            double q = (j == label ? 1.0 - ls : 0.0) + ls / (double)nfin, pj = exp(s[j] - lse);
            loss -= q * (s[j] - lse);
            g[j] = (pj - q) * (mm ? ref_dsigma(nm->order, nm->ranges, nm->ts, z[j]) : 1.0 / nm->temperature);
        }
    } else {
        double a = nm->kind == MMX_NORM_SPARSEMAX ? 2.0 : nm->kind == MMX_NORM_ENTMAX15 ? 1.5 : nm->alpha;
        if (a == 2.0) ref_sparsemax(p, z, C);
        else ref_entmax(p, z, C, a);
        double sp = 0.0, sq = 0.0; /* H(p) - H(q) = (sum q^a - sum p^a) / (a (a - 1)) */
        for (int64_t j = 0; j < C; j++) {
            if (z[j] == -INFINITY) {
                g[j] = 0.0;
                continue;
            }
            double q = (j == label ? 1.0 - ls : 0.0) + ls / (double)nfin;
            loss += (p[j] - q) * z[j];
            sp += pow(p[j], a);
            sq += q > 0 ? pow(q, a) : 0.0;
            g[j] = p[j] - q;
        }
        loss += (sq - sp) / (a * (a - 1.0));
    }
    free(p), free(s);
    return loss;
}

typedef struct {
    const char *name;
    mmx_norm norm;
} loss_case;

static int make_cases(loss_case *c)
{
    int n = 0;
    c[n++] = (loss_case){"softmax CE", mmx_norm_softmax(1.0)};
    c[n++] = (loss_case){"softmax t=2 CE", mmx_norm_softmax(2.0)};
    c[n++] = (loss_case){"multimax CE", mmx_norm_multimax(2, k_ranges, k_ts)};
    c[n++] = (loss_case){"sparsemax FY", mmx_norm_sparsemax()};
    c[n++] = (loss_case){"entmax15 FY", mmx_norm_entmax15()};
    c[n++] = (loss_case){"entmax a=1.3 FY", mmx_norm_entmax(1.3)};
    c[n++] = (loss_case){"entmax a=2.5 FY", mmx_norm_entmax(2.5)};
    return n;
}

enum { LR = 6 }; /* rows: random, random, ignored, partly masked, +-80, random (label = argmax) */

static void fill_batch(double *z, int32_t *lab, int64_t C, t_rng *rng)
{
    for (int r = 0; r < LR; r++) {
        t_fill_row(z + r * C, C, r == 3 ? ROW_PARTMASK : r == 4 ? ROW_PM80 : ROW_RANDOM, rng);
        lab[r] = (int32_t)t_randint(rng, C);
        while (z[r * C + lab[r]] == -INFINITY) lab[r] = (int32_t)t_randint(rng, C);
    }
    lab[2] = -1;
    int64_t am = 0;
    for (int64_t j = 1; j < C; j++)
        if (z[5 * C + j] > z[5 * C + am]) am = j;
    lab[5] = (int32_t)am;
}

/* gs * sum_r loss_r, f64, for finite differences */
static double total_loss(const mmx_norm *nm, const double *z, const int32_t *lab, int64_t C,
                         double ls, double gs)
{
    double l[LR], t = 0.0;
    mmx_status st = mmx_loss_f64(nm, l, NULL, 0, NULL, z, C, lab, LR, C, ls, gs);
    if (st != MMX_OK) return NAN;
    for (int r = 0; r < LR; r++) t += l[r];
    return gs * t;
}

static void check_case_f32(const loss_case *lc, double *z, const int32_t *lab, int64_t C, double ls,
                           double gs);

static void check_case(const loss_case *lc, int64_t C, double ls, double gs, t_rng *rng)
{
    const int64_t n = LR * C, ld = C + 2;
    double *z = malloc((size_t)n * sizeof(double)), *g = malloc((size_t)n * sizeof(double));
    double *dz = malloc((size_t)n * sizeof(double)), want[LR], *v = calloc((size_t)n, sizeof(double));
    int32_t lab[LR];
    if (!z || !g || !dz || !v) abort();
    fill_batch(z, lab, C, rng);
    for (int r = 0; r < LR; r++) {
        want[r] = lab[r] < 0 ? 0.0 : ref_loss_row(&lc->norm, z + r * C, C, lab[r], ls, g + r * C);
        for (int64_t j = 0; j < C; j++) g[r * C + j] = lab[r] < 0 ? 0.0 : gs * g[r * C + j];
    }
    /* f64, strided dz with guards, loss with guards */
    t_buf64 zb = t_alloc64(LR, C, ld, NAN), dzb = t_alloc64(LR, C, ld, T_CANARY);
    t_buf64 lb = t_alloc64(1, LR, LR, T_CANARY);
    t_put64(&zb, z, C);
    CHECK_STATUS(mmx_loss_f64(&lc->norm, lb.p, dzb.p, ld, NULL, zb.p, ld, lab, LR, C, ls, gs), MMX_OK);
    CHECK_GUARD64(dzb);
    CHECK_GUARD64(lb);
    CHECK_MAT(lb.p, 1, want, 1, LR, 1, 1e-11, 1e-12); /* one loss per row */
    t_f64_strided(dz, dzb.p, ld, LR, C);
    CHECK_MAT(dz, C, g, C, LR, C, 1e-10, 1e-13);
    int ign = lb.p[2] == 0.0;
    for (int64_t j = 0; j < C; j++) ign &= dz[2 * C + j] == 0.0;
    CHECKF(ign, "ignored row: loss %g", lb.p[2]);
    if (lc->norm.kind >= MMX_NORM_SPARSEMAX) {
        int nonneg = 1;
        for (int r = 0; r < LR; r++) nonneg &= lb.p[r] >= 0.0;
        CHECK(nonneg);
    }
    /* directional finite difference of gs * sum loss on the random rows */
    for (int r = 0; r < LR; r++)
        for (int64_t j = 0; j < C; j++)
            v[r * C + j] = (r == 0 || r == 1 || r == 3) && z[r * C + j] != -INFINITY ? t_normal(rng) : 0.0;
    double *zp = malloc((size_t)n * sizeof(double)), *zm = malloc((size_t)n * sizeof(double)), an = 0.0;
    if (!zp || !zm) abort();
    for (int64_t k = 0; k < n; k++) zp[k] = z[k] + T_FD_H * v[k], zm[k] = z[k] - T_FD_H * v[k], an += dz[k] * v[k];
    double fd = (total_loss(&lc->norm, zp, lab, C, ls, gs) - total_loss(&lc->norm, zm, lab, C, ls, gs)) / (2 * T_FD_H);
    CHECKF(fabs(an - fd) <= 1e-6 * fmax(fabs(an), fabs(fd)) + 1e-8, "<dz, v> = %.12g, FD %.12g", an, fd);
    /* NULL loss or NULL dz: the other output unchanged */
    double l2[LR], *dz2 = malloc((size_t)n * sizeof(double));
    if (!dz2) abort();
    CHECK_STATUS(mmx_loss_f64(&lc->norm, l2, NULL, 0, NULL, z, C, lab, LR, C, ls, gs), MMX_OK);
    CHECK_STATUS(mmx_loss_f64(&lc->norm, NULL, dz2, C, NULL, z, C, lab, LR, C, ls, gs), MMX_OK);
    CHECK(!memcmp(l2, lb.p, sizeof l2) && !memcmp(dz2, dz, (size_t)n * sizeof(double)));
    check_case_f32(lc, z, lab, C, ls, gs);
    free(z), free(g), free(dz), free(v), free(zp), free(zm), free(dz2);
    free(zb.p), free(dzb.p), free(lb.p);
}

/* f32 against the reference on the rounded input */
static void check_case_f32(const loss_case *lc, double *z, const int32_t *lab, int64_t C, double ls,
                           double gs)
{
    const int64_t n = LR * C, ld = C + 2;
    double *g = malloc((size_t)n * sizeof(double)), *dz = malloc((size_t)n * sizeof(double)), want[LR];
    if (!g || !dz) abort();
    t_buf32 zf = t_alloc32(LR, C, ld, NAN), dzf = t_alloc32(LR, C, ld, (float)T_CANARY);
    t_buf32 lf = t_alloc32(1, LR, LR, (float)T_CANARY);
    t_put32(&zf, z, C);
    t_f32_to_f64(z, zf.p, ld, LR, C);
    for (int r = 0; r < LR; r++) {
        want[r] = lab[r] < 0 ? 0.0 : ref_loss_row(&lc->norm, z + r * C, C, lab[r], ls, g + r * C);
        for (int64_t j = 0; j < C; j++) g[r * C + j] = lab[r] < 0 ? 0.0 : gs * g[r * C + j];
    }
    CHECK_STATUS(mmx_loss_f32(&lc->norm, lf.p, dzf.p, ld, NULL, zf.p, ld, lab, LR, C, ls, gs), MMX_OK);
    CHECK_GUARD32(dzf);
    CHECK_GUARD32(lf);
    double lf64[LR];
    t_f32_to_f64(lf64, lf.p, LR, 1, LR);
    CHECK_MAT(lf64, 1, want, 1, LR, 1, 1e-5, 1e-5);
    t_f32_to_f64(dz, dzf.p, ld, LR, C);
    CHECK_MAT(dz, C, g, C, LR, C, 1e-4, 1e-6 * fabs(gs));
    free(g), free(dz), free(zf.p), free(dzf.p), free(lf.p);
}

static void test_losses(void)
{
    static const int64_t cols[] = {1, 2, 7, 33, 1000};
    loss_case cs[8];
    int nc = make_cases(cs);
    t_rng rng = t_rng_seed(61);
    for (int i = 0; i < nc; i++)
        for (int k = 0; k < 4; k++) { /* the sizes of one case stop at the first failing one */
            double ls = k & 1 ? 0.1 : 0.0, gs = k & 2 ? 0.25 : 1.0;
            for (int c = 0, fails = t_fail_count; c < 5 && t_fail_count == fails; c++) {
                T_CTX("%s cols=%lld ls=%g grad_scale=%g", cs[i].name, (long long)cols[c], ls, gs);
                check_case(&cs[i], cols[c], ls, gs, &rng);
            }
        }
}

/* Hand values: CE of (0, ln 3) with label 0 is ln 4; smoothing 0.2 over 2 classes gives
 * q = (0.9, 0.1). FY sparsemax of z = (1, 0.5) with label 1: p = (0.75, 0.25),
 * loss = (0.75 - 0) 1 + (0.25 - 1) 0.5 + (1 - 0.625) / 2 = 0.5625. */
static void test_hand_values(void)
{
    T_CTX("loss hand values");
    mmx_norm sm = mmx_norm_softmax(1.0), sp = mmx_norm_sparsemax();
    double z[2] = {0.0, log(3.0)}, l, dz[4];
    int32_t lab0 = 0, lab1 = 1;
    CHECK_STATUS(mmx_loss_f64(&sm, &l, dz, 2, NULL, z, 2, &lab0, 1, 2, 0.0, 1.0), MMX_OK);
    CHECK_REL(l, log(4.0), 1e-15, 0);
    CHECK_REL(dz[0], 0.25 - 1.0, 1e-15, 0);
    CHECK_REL(dz[1], 0.75, 1e-15, 0);
    CHECK_STATUS(mmx_loss_f64(&sm, &l, dz, 2, NULL, z, 2, &lab0, 1, 2, 0.2, 1.0), MMX_OK);
    CHECK_REL(l, -0.9 * log(0.25) - 0.1 * log(0.75), 1e-15, 0);
    double z2[2] = {1.0, 0.5};
    CHECK_STATUS(mmx_loss_f64(&sp, &l, dz, 2, NULL, z2, 2, &lab1, 1, 2, 0.0, 1.0), MMX_OK);
    CHECK_REL(l, 0.5625, 1e-15, 0);
    CHECK_REL(dz[0], 0.75, 1e-15, 0);
    CHECK_REL(dz[1], -0.75, 1e-15, 0);
    /* a peaked row at the label has FY loss 0 and gradient 0; CE of (80, -80) at the small
     * class is 160 + log(1 + e^-160), not inf */
    mmx_norm fy[3] = {mmx_norm_sparsemax(), mmx_norm_entmax15(), mmx_norm_entmax(1.7)};
    double zp[4] = {-3.0, 40.0, 1.0, -INFINITY};
    for (int i = 0; i < 3; i++) {
        CHECK_STATUS(mmx_loss_f64(&fy[i], &l, dz, 4, NULL, zp, 4, &lab1, 1, 4, 0.0, 1.0), MMX_OK);
        CHECK_NEAR(l, 0.0, 1e-12);
        CHECK(fabs(dz[0]) + fabs(dz[1]) + fabs(dz[2]) + fabs(dz[3]) <= 1e-12);
    }
    double zb[2] = {80.0, -80.0};
    CHECK_STATUS(mmx_loss_f64(&sm, &l, dz, 2, NULL, zb, 2, &lab1, 1, 2, 0.0, 1.0), MMX_OK);
    CHECK_REL(l, 160.0, 1e-15, 0);
    float zbf[2] = {80.0f, -80.0f}, lf, dzf[2];
    CHECK_STATUS(mmx_loss_f32(&sm, &lf, dzf, 2, NULL, zbf, 2, &lab1, 1, 2, 0.0, 1.0), MMX_OK);
    CHECK_REL(lf, 160.0, 1e-6, 0);
    /* masked logits: smoothing spreads over the finite ones only (C' = 2 here) */
    double zm[3] = {0.0, -INFINITY, log(3.0)};
    CHECK_STATUS(mmx_loss_f64(&sm, &l, dz, 3, NULL, zm, 3, &lab0, 1, 3, 0.2, 1.0), MMX_OK);
    CHECK_REL(l, -0.9 * log(0.25) - 0.1 * log(0.75), 1e-15, 0);
    CHECK(dz[1] == 0.0);
}

/* MultiMax CE: dranges and dts by central differences of gs * sum loss; accumulated. */
static void test_multimax_param_grads(void)
{
    enum { C = 23 };
    t_rng rng = t_rng_seed(67);
    for (int k = 0; k < 2; k++) {
        const double ls = k ? 0.15 : 0.0, gs = k ? 0.5 : 1.0;
        T_CTX("multimax CE param grads ls=%g grad_scale=%g", ls, gs);
        double z[LR * C], dz[LR * C], l[LR], dr[4] = {0}, dt[4] = {0};
        int32_t lab[LR];
        fill_batch(z, lab, C, &rng);
        for (int j = 0; j < C; j++) z[4 * C + j] = 2.0 * t_normal(&rng); /* no +-80 row here */
        mmx_norm nm = mmx_norm_multimax(2, k_ranges, k_ts);
        mmx_param_grads pg = {dr, dt, NULL};
        CHECK_STATUS(mmx_loss_f64(&nm, l, dz, C, &pg, z, C, lab, LR, C, ls, gs), MMX_OK);
        int ok = 1;
        for (int i = 0; i < 8; i++) {
            double rp[4], rm[4], tp[4], tm[4];
            memcpy(rp, k_ranges, sizeof rp), memcpy(rm, k_ranges, sizeof rm);
            memcpy(tp, k_ts, sizeof tp), memcpy(tm, k_ts, sizeof tm);
            if (i < 4) rp[i] += T_FD_H, rm[i] -= T_FD_H;
            else tp[i - 4] += T_FD_H, tm[i - 4] -= T_FD_H;
            mmx_norm a = mmx_norm_multimax(2, rp, tp), b = mmx_norm_multimax(2, rm, tm);
            double fd = (total_loss(&a, z, lab, C, ls, gs) - total_loss(&b, z, lab, C, ls, gs)) / (2 * T_FD_H);
            double an = i < 4 ? dr[i] : dt[i - 4];
            if (!(fabs(an - fd) <= 1e-6 * fmax(fabs(an), fabs(fd)) + 1e-8)) {
                ok = 0;
                CHECKF(0, "d%s[%d] = %.12g, FD %.12g", i < 4 ? "ranges" : "ts", i % 4, an, fd);
            }
        }
        if (ok) CHECK(ok);
        double dr2[4] = {1, 1, 1, 1}, dt2[4] = {1, 1, 1, 1};
        mmx_param_grads pg2 = {dr2, dt2, NULL};
        CHECK_STATUS(mmx_loss_f64(&nm, NULL, NULL, C, &pg2, z, C, lab, LR, C, ls, gs), MMX_OK);
        CHECK_STATUS(mmx_loss_f64(&nm, NULL, dz, C, &pg2, z, C, lab, LR, C, ls, gs), MMX_OK);
        for (int i = 0; i < 4; i++) {
            CHECK_REL(dr2[i], 1.0 + 2.0 * dr[i], 1e-12, 1e-15);
            CHECK_REL(dt2[i], 1.0 + 2.0 * dt[i], 1e-12, 1e-15);
        }
    }
}

/* FY loss with label smoothing: sparsemax, z = (1, 0.5), label 1, ls = 0.2 -> q = (0.1, 0.9),
 * p = (0.75, 0.25): <p - q, z> = 0.65 - 0.325, H(p) = (1 - 0.625) / 2, H(q) = (1 - 0.82) / 2,
 * loss = 0.325 + 0.1875 - 0.09 = 0.4225. With z = q itself (a point of the simplex), p = q
 * and the loss is 0 for sparsemax; for every FY loss, z peaked enough gives 0 without ls. */
static void test_fy_smoothing(void)
{
    T_CTX("FY loss with label smoothing");
    mmx_norm sp = mmx_norm_sparsemax();
    double z[2] = {1.0, 0.5}, l, dz[3];
    int32_t lab = 1;
    CHECK_STATUS(mmx_loss_f64(&sp, &l, dz, 2, NULL, z, 2, &lab, 1, 2, 0.2, 1.0), MMX_OK);
    CHECK_REL(l, 0.4225, 1e-15, 0);
    CHECK_REL(dz[0], 0.75 - 0.1, 1e-15, 0);
    CHECK_REL(dz[1], 0.25 - 0.9, 1e-15, 0);
    double zq[3] = {0.1, 0.8, 0.1}; /* q for label 1, ls = 0.3 over 3 classes */
    CHECK_STATUS(mmx_loss_f64(&sp, &l, dz, 3, NULL, zq, 3, &lab, 1, 3, 0.3, 1.0), MMX_OK);
    CHECK_NEAR(l, 0.0, 1e-15);
    CHECK(fabs(dz[0]) + fabs(dz[1]) + fabs(dz[2]) <= 1e-15);
}

static void test_evsoftmax_rejected(void)
{
    T_CTX("loss evsoftmax");
    mmx_norm ev = mmx_norm_evsoftmax(0);
    double z[3] = {1, 2, 3}, l = T_CANARY, dz[3] = {T_CANARY, T_CANARY, T_CANARY};
    float zf[3] = {1, 2, 3}, lf = (float)T_CANARY;
    int32_t lab = 1;
    CHECK_STATUS(mmx_loss_f64(&ev, &l, dz, 3, NULL, z, 3, &lab, 1, 3, 0.0, 1.0), MMX_ERR_PARAM);
    CHECK(l == T_CANARY && dz[0] == T_CANARY && dz[2] == T_CANARY);
    CHECK_STATUS(mmx_loss_f32(&ev, &lf, NULL, 3, NULL, zf, 3, &lab, 1, 3, 0.0, 1.0), MMX_ERR_PARAM);
    CHECK(lf == (float)T_CANARY);
}

int main(void)
{
    test_losses();
    test_hand_values();
    test_multimax_param_grads();
    test_fy_smoothing();
    test_evsoftmax_rejected();
    return t_summary();
}
