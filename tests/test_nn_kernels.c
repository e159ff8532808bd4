/*
 * The training engine's kernels (src/kernels/nn_slots.inc) on every ISA this CPU supports,
 * against double formulas computed here: LayerNorm forward and backward, column sums (with
 * and without weights, both sums in one pass, 128-row folding), AdamW (PyTorch's float
 * formula) and the linear layers' bias / residual preload. Awkward widths cover vector tails;
 * outputs past the end must stay untouched.
 */
#include <float.h>

#include "harness.h"

#include "isa_tables.h"

static void fill(float *x, int64_t n, t_rng *r, double lo, double hi) {
    for (int64_t i = 0; i < n; i++) x[i] = (float)t_unif_in(r, lo, hi);
}

static void check_ln(const mmx_kernels *k, int64_t c, t_rng *rng) {
    enum { R = 5 };
    const int64_t n = R * c;
    float *x = malloc(sizeof(float) * (size_t)n), *g = malloc(sizeof(float) * (size_t)c);
    float *b = malloc(sizeof(float) * (size_t)c), *y = malloc(sizeof(float) * (size_t)(n + 1));
    float *dy = malloc(sizeof(float) * (size_t)n), *dx = malloc(sizeof(float) * (size_t)(n + 1));
    float *xh = malloc(sizeof(float) * (size_t)(n + 1)), mean[R], rstd[R];
    fill(x, n, rng, -3.0, 5.0), fill(g, c, rng, 0.5, 1.5), fill(b, c, rng, -1.0, 1.0);
    fill(dy, n, rng, -1.0, 1.0);
    for (int64_t i = 0; i < n; i++) dx[i] = 0.25f;
    y[n] = dx[n] = xh[n] = 777.0f;
    const float eps = 1e-5f;
    k->ln_fwd(y, mean, rstd, x, g, b, R, c, eps);
    k->ln_bwd(dx, xh, dy, x, mean, rstd, g, R, c);
    double ey = 0.0, edx = 0.0, es = 0.0;
    double *rh = malloc(sizeof(double) * (size_t)c), *rdx = malloc(sizeof(double) * (size_t)c);
    for (int64_t r = 0; r < R; r++) {
        double m, rs;
        ref_layernorm_row(rh, rdx, &m, &rs, x + r * c, dy + r * c, g, c, eps);
        es = fmax(es, fmax(fabs(mean[r] - m), fabs(rstd[r] - rs) / rs));
        for (int64_t j = 0; j < c; j++) {
            double want = 0.25 + rdx[j];
            ey = fmax(ey, fmax(fabs(y[r * c + j] - (rh[j] * g[j] + b[j])), fabs(xh[r * c + j] - rh[j])));
            edx = fmax(edx, fabs(dx[r * c + j] - want) / (1.0 + fabs(want)));
        }
    }
    free(rh), free(rdx);
    T_CTX("layernorm [%s] c=%lld", k->isa, (long long)c);
    CHECKF(es <= 2e-6, "mean / rstd error %.3g", es);
    CHECKF(ey <= 2e-5, "y / xhat error %.3g", ey);
    CHECKF(edx <= 2e-5, "dx error %.3g (dx accumulates onto 0.25)", edx);
    CHECKF(y[n] == 777.0f && dx[n] == 777.0f && xh[n] == 777.0f, "wrote past the end%s", "");
    free(x), free(g), free(b), free(y), free(dy), free(dx), free(xh);
}

static void check_colsum(const mmx_kernels *k, int64_t rows, int64_t nc, int weighted,
                         t_rng *rng) {
    const int64_t ld = nc + 9;
    float *x = malloc(sizeof(float) * (size_t)(rows * ld)), *w = malloc(sizeof(float) * (size_t)(rows * ld));
    double acc[MMX_COLSUM_W + 1], acc2[MMX_COLSUM_W + 1];
    fill(x, rows * ld, rng, -2.0, 3.0), fill(w, rows * ld, rng, -1.0, 1.0);
    for (int j = 0; j <= MMX_COLSUM_W; j++) acc[j] = acc2[j] = 1.5;
    k->colsum(acc, weighted ? acc2 : NULL, x, weighted ? w : NULL, ld, rows, nc);
    double err = 0.0;
    for (int64_t j = 0; j < nc; j++) {
        double s = 1.5, s2 = 1.5, mag = 1.5;
        for (int64_t r = 0; r < rows; r++) {
            double xv = x[r * ld + j];
            s += weighted ? xv * w[r * ld + j] : xv, s2 += xv, mag += fabs(xv);
        }
        err = fmax(err, fabs(acc[j] - s) / mag);
        if (weighted) err = fmax(err, fabs(acc2[j] - s2) / mag);
    }
    T_CTX("colsum [%s] rows=%lld nc=%lld %s", k->isa, (long long)rows, (long long)nc,
          weighted ? "weighted + plain" : "plain");
    CHECKF(err <= 130 * FLT_EPSILON, "relative error %.3g", err);
    CHECKF(acc[nc] == 1.5 && (!weighted || acc2[nc] == 1.5), "wrote past nc%s", "");
    if (!weighted) CHECKF(acc2[0] == 1.5, "acc2 written without w%s", "");
    free(x), free(w);
}

static void check_adamw(const mmx_kernels *k, int64_t n, t_rng *rng) {
    float *p = malloc(sizeof(float) * (size_t)(n + 1)), *m = malloc(sizeof(float) * (size_t)(n + 1));
    float *v = malloc(sizeof(float) * (size_t)(n + 1)), *g = malloc(sizeof(float) * (size_t)n);
    double *p0 = malloc(sizeof(double) * (size_t)n), *m0 = malloc(sizeof(double) * (size_t)n);
    double *v0 = malloc(sizeof(double) * (size_t)n);
    fill(p, n, rng, -1.0, 1.0), fill(m, n, rng, -0.1, 0.1), fill(v, n, rng, 0.0, 0.01);
    fill(g, n, rng, -0.5, 0.5);
    for (int64_t i = 0; i < n; i++) p0[i] = p[i], m0[i] = m[i], v0[i] = v[i];
    p[n] = m[n] = v[n] = 777.0f;
    const double lr = 1e-3, wd = 0.05, b1 = 0.9, b2 = 0.999, bc1 = 1.0 - pow(b1, 3.0);
    const double bc2 = 1.0 - pow(b2, 3.0), eps = 1e-8, scale = 0.7;
    const float hp[7] = {(float)scale, (float)b1, (float)b2, (float)(1.0 - lr * wd),
                         (float)(lr / bc1), (float)sqrt(bc2), (float)eps};
    k->adamw(p, m, v, g, n, hp);
    double ep = 0.0, em = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double gs = g[i] * scale, mm = b1 * m0[i] + (1 - b1) * gs, vv = b2 * v0[i] + (1 - b2) * gs * gs;
        double pp = p0[i] * (1 - lr * wd) - lr / bc1 * mm / (sqrt(vv) / sqrt(bc2) + eps);
        em = fmax(em, fmax(fabs(m[i] - mm), fabs(v[i] - vv)));
        ep = fmax(ep, fabs(p[i] - pp) / (lr + fabs(pp) * 1e-3)); /* in units of the step */
    }
    T_CTX("adamw [%s] n=%lld", k->isa, (long long)n);
    CHECKF(em <= 1e-7, "moment error %.3g", em);
    CHECKF(ep <= 2e-3, "parameter error %.3g of a step", ep);
    CHECKF(p[n] == 777.0f && m[n] == 777.0f && v[n] == 777.0f, "wrote past the end%s", "");
    free(p), free(m), free(v), free(g), free(p0), free(m0), free(v0);
}

/* bias_rows: every row = bias + res exactly (one float add), the NULL combinations, and the
 * float past the last row untouched. */
static void check_bias_rows(const mmx_kernels *k, int64_t n, t_rng *rng) {
    enum { R = 3 };
    float *b = malloc(sizeof(float) * (size_t)n), *res = malloc(sizeof(float) * (size_t)(R * n));
    float *c = malloc(sizeof(float) * (size_t)(R * n + 1));
    fill(b, n, rng, -2.0, 2.0);
    fill(res, R * n, rng, -3.0, 3.0);
    for (int mode = 0; mode < 3; mode++) { /* bias + res, bias only, res only */
        const float *bb = mode == 2 ? NULL : b, *rr = mode == 1 ? NULL : res;
        for (int64_t i = 0; i <= R * n; i++) c[i] = 777.0f;
        k->bias_rows(c, bb, rr, R, n);
        int ok = c[R * n] == 777.0f;
        for (int64_t r = 0; r < R; r++)
            for (int64_t j = 0; j < n; j++) {
                float want = (bb ? bb[j] : 0.0f) + (rr ? rr[r * n + j] : 0.0f);
                ok &= c[r * n + j] == want;
            }
        T_CTX("bias_rows [%s] n=%lld mode %d", k->isa, (long long)n, mode);
        CHECKF(ok, "rows differ from bias + res (or wrote past them)%s", "");
    }
    free(b), free(res), free(c);
}

int main(void) {
    for (int i = 0; i < T_NISA; i++) {
        const mmx_kernels *k = t_isa_table(i);
        if (!k)
            continue;
        t_rng rng = t_rng_seed(11 + (uint64_t)i);
        const int64_t cs[] = {1, 3, 4, 8, 15, 16, 17, 33, 64, 128, 131};
        for (size_t c = 0; c < sizeof cs / sizeof cs[0]; c++) check_ln(k, cs[c], &rng);
        const int64_t rows[] = {1, 127, 128, 129, 300};
        for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
            for (int64_t nc = 1; nc <= MMX_COLSUM_W; nc++) {
                check_colsum(k, rows[r], nc, 0, &rng);
                check_colsum(k, rows[r], nc, 1, &rng);
            }
        const int64_t ns[] = {1, 7, 8, 9, 16, 17, 100};
        for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++) check_adamw(k, ns[a], &rng);
        for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++) check_bias_rows(k, ns[a], &rng);
    }
    return t_summary();
}
