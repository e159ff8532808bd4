/*
 * The fused attention's helper kernels on every ISA this CPU supports:
 * - tile_gemm (src/kernels/tile_gemm.inc) against a double product computed here: awkward
 *   m, n, k (register-block and vector tails), A plain and transposed (its two strides),
 *   alpha, C overwritten (acc = 0: C's old NaNs must not leak in) and accumulated (acc = 1),
 *   with guard entries around C (row padding and past the end) that must stay untouched;
 * - transpose: every entry moved exactly, guards around the destination untouched;
 * - first_nonfinite: the first NaN / +inf / -inf found at every position class, or -1;
 *   any_nonfinite_rows: a bad value found at any (row, col), gaps between rows not read;
 * - rows_dot: row-wise dot products against double.
 */
#include <float.h>

#include "harness.h"

#include "isa_tables.h"

static void check_shape(const mmx_kernels *k, int64_t m, int64_t n, int64_t kk, int trans_a,
                        int acc, t_rng *rng) {
    const int64_t ldb = n + 5, ldc = n + 3, lda = trans_a ? m + 2 : kk + 1;
    const int64_t ars = trans_a ? 1 : lda, acs = trans_a ? lda : 1;
    float *a = malloc(sizeof(float) * (size_t)((trans_a ? kk : m) * lda));
    float *b = malloc(sizeof(float) * (size_t)(kk * ldb));
    double *want = malloc(sizeof(double) * (size_t)(m * n));
    t_buf32 c = t_alloc32(m, n, ldc, (float)T_CANARY);
    if (!a || !b || !want) abort();
    for (int64_t i = 0; i < (trans_a ? kk : m) * lda; i++) a[i] = (float)t_normal(rng);
    for (int64_t i = 0; i < kk * ldb; i++) b[i] = (float)t_normal(rng);
    const float alpha = (float)t_unif_in(rng, 0.1, 2.0);
    double worst = 0.0;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            float c0 = acc ? (float)t_normal(rng) : NAN;
            c.p[i * ldc + j] = c0;
            double s = 0.0;
            for (int64_t p = 0; p < kk; p++) s += (double)a[i * ars + p * acs] * b[p * ldb + j];
            want[i * n + j] = alpha * s + (acc ? c0 : 0.0);
        }
    k->tile_gemm(c.p, ldc, a, ars, acs, b, ldb, m, n, kk, alpha, acc);
    int64_t bad = -1;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double mag = 0.0;
            for (int64_t p = 0; p < kk; p++) mag += fabs((double)a[i * ars + p * acs] * b[p * ldb + j]);
            /* float rounding of k products, their sum, alpha and the += of C */
            double tol = 4.0 * (double)(kk + 2) * FLT_EPSILON * (alpha * mag + 1.0);
            double err = fabs(c.p[i * ldc + j] - want[i * n + j]);
            if (!(err <= tol) && bad < 0) bad = i * n + j;
            if (err / tol > worst) worst = err / tol;
        }
    T_CTX("tile_gemm [%s] m=%lld n=%lld k=%lld %s acc=%d", k->isa, (long long)m, (long long)n,
          (long long)kk, trans_a ? "A^T" : "A", acc);
    CHECKF(bad < 0, "entry (%lld, %lld): got %.9g, want %.9g (worst error / tolerance %.2f)",
           (long long)(bad < 0 ? 0 : bad / n), (long long)(bad < 0 ? 0 : bad % n),
           bad < 0 ? 0.0 : (double)c.p[(bad / n) * ldc + bad % n], bad < 0 ? 0.0 : want[bad],
           worst);
    CHECK_GUARD32(c);
    free(a), free(b), free(want), free(c.p);
}

static void check_transpose(const mmx_kernels *k, int64_t rows, int64_t cols) {
    const int64_t lds = cols + 3, ldd = rows + 5;
    float *src = malloc(sizeof(float) * (size_t)(rows * lds));
    t_buf32 d = t_alloc32(cols, rows, ldd, (float)T_CANARY);
    if (!src) abort();
    for (int64_t i = 0; i < rows * lds; i++) src[i] = (float)i * 0.5f - 3.0f;
    k->transpose(d.p, ldd, src, lds, rows, cols);
    int64_t bad = -1;
    for (int64_t r = 0; r < rows && bad < 0; r++)
        for (int64_t c = 0; c < cols; c++)
            if (d.p[c * ldd + r] != src[r * lds + c]) {
                bad = r * cols + c;
                break;
            }
    T_CTX("transpose [%s] %lld x %lld", k->isa, (long long)rows, (long long)cols);
    CHECKF(bad < 0, "entry (%lld, %lld) not moved", (long long)(bad / (cols ? cols : 1)),
           (long long)(bad % (cols ? cols : 1)));
    CHECK_GUARD32(d);
    free(src), free(d.p);
}

static void check_rows_dot(const mmx_kernels *k, int64_t n, t_rng *rng) {
    enum { R = 3 };
    const int64_t ld = n + 2;
    float *a = malloc(sizeof(float) * (size_t)(R * ld)), *b = malloc(sizeof(float) * (size_t)(R * ld));
    float out[R + 1];
    for (int64_t i = 0; i < R * ld; i++) a[i] = (float)t_normal(rng), b[i] = (float)t_normal(rng);
    out[R] = 777.0f;
    k->rows_dot(out, a, b, ld, R, n);
    double err = 0.0;
    for (int64_t r = 0; r < R; r++) {
        double s = 0.0, mag = 0.0;
        for (int64_t j = 0; j < n; j++) s += (double)a[r * ld + j] * b[r * ld + j], mag += fabs((double)a[r * ld + j] * b[r * ld + j]);
        err = fmax(err, fabs(out[r] - s) / (mag + 1e-30));
    }
    T_CTX("rows_dot [%s] n=%lld", k->isa, (long long)n);
    CHECKF(err <= (double)(n + 2) * FLT_EPSILON, "relative error %.3g", err);
    CHECKF(out[R] == 777.0f, "wrote past the rows%s", "");
    free(a), free(b);
}

static void check_first_nonfinite(const mmx_kernels *k) {
    enum { N = 1100 };
    float *x = malloc(sizeof(float) * N);
    const float bads[3] = {NAN, INFINITY, -INFINITY};
    const int64_t lens[] = {0, 1, 7, 8, 9, 17, 1023, 1024, 1025, N};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        int64_t n = lens[li];
        for (int64_t i = 0; i < N; i++) x[i] = i % 3 ? 3.4e38f : -1e-40f; /* huge, denormal: finite */
        T_CTX("first_nonfinite [%s] n=%lld", k->isa, (long long)n);
        CHECK_EQ_INT(k->first_nonfinite(x, n), -1);
        for (int64_t pos = 0; pos < n; pos += 1 + pos / 3) {
            float keep = x[pos];
            x[pos] = bads[pos % 3];
            if (pos + 5 < n) x[pos + 5] = NAN; /* a later one must not win */
            T_CTX("first_nonfinite [%s] n=%lld at %lld (%g)", k->isa, (long long)n, (long long)pos,
                  (double)bads[pos % 3]);
            CHECK_EQ_INT(k->first_nonfinite(x, n), pos);
            x[pos] = keep;
            if (pos + 5 < n) x[pos + 5] = 1.0f;
        }
        if (n > 0) { /* past the end is not looked at */
            x[n - 1] = 1.0f;
            if (n < N) x[n] = NAN;
            T_CTX("first_nonfinite [%s] n=%lld, NaN just past the end", k->isa, (long long)n);
            CHECK_EQ_INT(k->first_nonfinite(x, n), -1);
        }
    }
    free(x);
}

/* any_nonfinite_rows: 0 on finite rows (huge, denormal), 1 for a bad value at any (row, col)
 * of the rows, and the gaps between rows (stride > len) never read. */
static void check_any_nonfinite_rows(const mmx_kernels *k) {
    const int64_t lens[] = {1, 7, 16, 17, 33, 128}, rows = 5;
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        const int64_t len = lens[li], ld = len + 3;
        float *x = malloc(sizeof(float) * (size_t)(rows * ld));
        for (int64_t i = 0; i < rows * ld; i++) x[i] = i % ld >= len ? NAN : i % 2 ? 3.4e38f : -1e-40f;
        T_CTX("any_nonfinite_rows [%s] len=%lld", k->isa, (long long)len);
        CHECK_EQ_INT(k->any_nonfinite_rows(x, len, ld, rows), 0);
        CHECK_EQ_INT(k->any_nonfinite_rows(x, len, ld, 0), 0);
        for (int64_t r = 0; r < rows; r++)
            for (int64_t j = 0; j < len; j += 1 + j / 4) {
                float keep = x[r * ld + j];
                x[r * ld + j] = (r + j) % 3 == 0 ? NAN : (r + j) % 3 == 1 ? INFINITY : -INFINITY;
                T_CTX("any_nonfinite_rows [%s] len=%lld at (%lld, %lld)", k->isa, (long long)len,
                      (long long)r, (long long)j);
                CHECK_EQ_INT(k->any_nonfinite_rows(x, len, ld, rows), 1);
                CHECK_EQ_INT(k->any_nonfinite_rows(x, len, ld, r), 0); /* rows before it only */
                x[r * ld + j] = keep;
            }
        free(x);
    }
}

int main(void) {
    const int64_t ms[] = {1, 2, 5, 6, 7, 12, 13, 49, 64};
    const int64_t ns[] = {1, 3, 4, 7, 8, 9, 15, 16, 17, 18, 31, 32, 33, 49, 50, 64, 80, 128};
    const int64_t ks[] = {1, 2, 7, 32, 49, 128};
    for (int i = 0; i < T_NISA; i++) {
        const mmx_kernels *k = t_isa_table(i);
        if (!k)
            continue;
        t_rng rng = t_rng_seed(7 + (uint64_t)i);
        for (size_t a = 0; a < sizeof ms / sizeof ms[0]; a++)
            for (size_t b = 0; b < sizeof ns / sizeof ns[0]; b++)
                for (size_t c = 0; c < sizeof ks / sizeof ks[0]; c++)
                    check_shape(k, ms[a], ns[b], ks[c], (int)((a + b + c) % 2), (int)((a + c) % 2), &rng);
        const int64_t tr[] = {1, 3, 7, 8, 9, 15, 16, 17, 32, 49, 64, 128};
        for (size_t a = 0; a < sizeof tr / sizeof tr[0]; a++)
            for (size_t b = 0; b < sizeof tr / sizeof tr[0]; b++) check_transpose(k, tr[a], tr[b]);
        check_first_nonfinite(k);
        check_any_nonfinite_rows(k);
        for (int64_t n = 1; n <= 40; n += 3) check_rows_dot(k, n, &rng);
        check_rows_dot(k, 80, &rng);
        check_shape(k, 64, 128, 256, 1, 1, &rng);
        check_shape(k, 64, 256, 128, 0, 0, &rng);
    }
    return t_summary();
}
