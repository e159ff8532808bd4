/*
 * harness.h - the unit tests' tiny framework: checks with counters, a seeded RNG, row
 * fillers for hostile inputs, guarded buffers, and independent reference maps.
 *
 * Every test executable includes this once, calls t_summary() at the end of main and
 * returns its value: it prints "N passed, M failed" and is non-zero if any check failed.
 * The references below are written from SPEC.md, never from the library's code, and use
 * nothing of the library: they are what the library is compared against.
 */
#ifndef MMX_TEST_HARNESS_H
#define MMX_TEST_HARNESS_H

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "multimax.h"

/* ---------------------------------------------------------------------------------
 * Checks
 * ------------------------------------------------------------------------------- */

static int t_pass_count, t_fail_count;
static char t_ctx[256]; /* what is being tested, printed with every failure */

static inline void t_set_ctx(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t_ctx, sizeof t_ctx, fmt, ap);
    va_end(ap);
}
#define T_CTX(...) t_set_ctx(__VA_ARGS__)

/* Counts one check; on failure prints file:line, the context, the expression and details. */
static inline int t_check(int ok, const char *file, int line, const char *expr, const char *fmt,
                          ...)
{
    if (ok) {
        t_pass_count++;
        return 1;
    }
    t_fail_count++;
    fprintf(stderr, "%s:%d: FAIL [%s] %s", file, line, t_ctx, expr);
    if (fmt && fmt[0]) {
        va_list ap;
        va_start(ap, fmt);
        fputs(": ", stderr);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fputc('\n', stderr);
    return 0;
}

#define CHECK(cond) t_check((cond) != 0, __FILE__, __LINE__, #cond, "")
/* CHECKF(cond, fmt, ...): CHECK with a printf-style explanation of the values. */
#define CHECKF(cond, ...) t_check((cond) != 0, __FILE__, __LINE__, #cond, __VA_ARGS__)
#define CHECK_NEAR(a, b, tol)                                                                 \
    do {                                                                                     \
        double a_ = (double)(a), b_ = (double)(b), tol_ = (double)(tol);                     \
        t_check(fabs(a_ - b_) <= tol_, __FILE__, __LINE__, #a " ~ " #b,                      \
                "%.17g vs %.17g (diff %.3g, tol %.3g)", a_, b_, fabs(a_ - b_), tol_);        \
    } while (0)
/* |a - b| <= atol + rtol |b| */
#define CHECK_REL(a, b, rtol, atol)                                                           \
    do {                                                                                     \
        double a_ = (double)(a), b_ = (double)(b);                                           \
        double tol_ = (double)(atol) + (double)(rtol) * fabs(b_);                            \
        t_check(fabs(a_ - b_) <= tol_, __FILE__, __LINE__, #a " ~ " #b,                      \
                "%.17g vs %.17g (diff %.3g, tol %.3g)", a_, b_, fabs(a_ - b_), tol_);        \
    } while (0)
#define CHECK_EQ_INT(a, b)                                                                    \
    do {                                                                                     \
        long long a_ = (long long)(a), b_ = (long long)(b);                                  \
        t_check(a_ == b_, __FILE__, __LINE__, #a " == " #b, "%lld vs %lld", a_, b_);         \
    } while (0)
/* A call's status; on mismatch prints both names and the library's message. */
#define CHECK_STATUS(call, want)                                                              \
    do {                                                                                     \
        mmx_status got_ = (call), want_ = (want);                                            \
        t_check(got_ == want_, __FILE__, __LINE__, #call, "status %s, expected %s (%s)",     \
                mmx_status_str(got_), mmx_status_str(want_), mmx_last_error());              \
    } while (0)

static inline int t_summary(void)
{
    printf("%d passed, %d failed\n", t_pass_count, t_fail_count);
    return t_fail_count ? 1 : 0;
}

/* ---------------------------------------------------------------------------------
 * Seeded RNG (xorshift64*)
 * ------------------------------------------------------------------------------- */

typedef struct {
    uint64_t s;
} t_rng;

static inline t_rng t_rng_seed(uint64_t seed)
{
    t_rng r = {seed * 0x9E3779B97F4A7C15ULL + 0x2545F4914F6CDD1DULL};
    if (!r.s) r.s = 1;
    return r;
}
static inline uint64_t t_rng_next(t_rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 2685821657736338717ULL;
}
/* uniform in [0, 1) */
static inline double t_unif(t_rng *r) { return (double)(t_rng_next(r) >> 11) * 0x1.0p-53; }
static inline double t_unif_in(t_rng *r, double lo, double hi) { return lo + (hi - lo) * t_unif(r); }
static inline int64_t t_randint(t_rng *r, int64_t n) { return (int64_t)(t_unif(r) * (double)n); }
static inline double t_normal(t_rng *r)
{
    double u = t_unif(r), v = t_unif(r);
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* ---------------------------------------------------------------------------------
 * Hostile rows
 * ------------------------------------------------------------------------------- */

enum {
    ROW_RANDOM = 0, /* N(0, 2^2)                                    */
    ROW_TIES,       /* small integers: many exact ties            */
    ROW_PM80,       /* +-80 at random                             */
    ROW_HUGE,       /* two entries 1e30 (a tie), one -1e30, rest N(0,1) */
    ROW_ONE_FINITE, /* one finite entry among -inf                */
    ROW_MASKED,     /* all -inf                                   */
    ROW_PARTMASK,   /* N(0, 2^2) with about a third -inf, >= 1 finite */
    ROW_KINDS
};
static const char *const t_row_names[ROW_KINDS] = {"random", "ties",   "pm80",    "huge",
                                                   "one-finite", "masked", "partmask"};

static inline void t_fill_row(double *x, int64_t cols, int kind, t_rng *r)
{
    for (int64_t j = 0; j < cols; j++) {
        switch (kind) {
        case ROW_RANDOM: x[j] = 2.0 * t_normal(r); break;
        case ROW_TIES: x[j] = (double)(t_randint(r, 5) - 2); break;
        case ROW_PM80: x[j] = t_unif(r) < 0.5 ? -80.0 : 80.0; break;
        case ROW_HUGE: x[j] = t_normal(r); break;
        case ROW_ONE_FINITE: x[j] = -INFINITY; break;
        case ROW_MASKED: x[j] = -INFINITY; break;
        default: x[j] = t_unif(r) < 0.33 ? -INFINITY : 2.0 * t_normal(r); break;
        }
    }
    if (kind == ROW_HUGE) {
        x[t_randint(r, cols)] = -1e30;
        x[t_randint(r, cols)] = 1e30;
        x[t_randint(r, cols)] = 1e30;
    }
    if (kind == ROW_ONE_FINITE) x[t_randint(r, cols)] = t_normal(r);
    if (kind == ROW_PARTMASK) x[t_randint(r, cols)] = 2.0 * t_normal(r);
}

/* ---------------------------------------------------------------------------------
 * Guarded buffers: a (rows, cols) matrix with row stride ld, plus T_GUARD entries after
 * it. Everything outside the matrix (the gap of each row and the tail) holds a pattern
 * that must survive every call: a canary for outputs, NaN for inputs (so a read of the
 * gap shows up as a NaN or an MMX_ERR_VALUE).
 * ------------------------------------------------------------------------------- */

#define T_GUARD 32
#define T_CANARY (-7777.25)

typedef struct {
    double *p;
    int64_t rows, cols, ld, n;
    double pad; /* the pattern outside the matrix */
} t_buf64;
typedef struct {
    float *p;
    int64_t rows, cols, ld, n;
    float pad;
} t_buf32;

static inline t_buf64 t_alloc64(int64_t rows, int64_t cols, int64_t ld, double pad)
{
    t_buf64 b = {NULL, rows, cols, ld, rows * ld + T_GUARD, pad};
    b.p = (double *)malloc((size_t)b.n * sizeof(double));
    if (!b.p) abort();
    for (int64_t i = 0; i < b.n; i++) b.p[i] = pad;
    return b;
}
static inline t_buf32 t_alloc32(int64_t rows, int64_t cols, int64_t ld, float pad)
{
    t_buf32 b = {NULL, rows, cols, ld, rows * ld + T_GUARD, pad};
    b.p = (float *)malloc((size_t)b.n * sizeof(float));
    if (!b.p) abort();
    for (int64_t i = 0; i < b.n; i++) b.p[i] = pad;
    return b;
}
static inline int t_is_pad_index(int64_t i, int64_t rows, int64_t cols, int64_t ld)
{
    return i >= rows * ld || i % ld >= cols;
}
/* Index of the first pad entry that changed (bitwise), or -1. */
static inline int64_t t_guard_bad64(const t_buf64 *b)
{
    for (int64_t i = 0; i < b->n; i++)
        if (t_is_pad_index(i, b->rows, b->cols, b->ld) && memcmp(&b->p[i], &b->pad, sizeof(double)))
            return i;
    return -1;
}
static inline int64_t t_guard_bad32(const t_buf32 *b)
{
    for (int64_t i = 0; i < b->n; i++)
        if (t_is_pad_index(i, b->rows, b->cols, b->ld) && memcmp(&b->p[i], &b->pad, sizeof(float)))
            return i;
    return -1;
}
#define CHECK_GUARD64(b)                                                                      \
    do {                                                                                     \
        int64_t bad_ = t_guard_bad64(&(b));                                                  \
        t_check(bad_ < 0, __FILE__, __LINE__, "guard of " #b " untouched",                  \
                "entry %lld (row %lld, col %lld) = %.17g", (long long)bad_,                  \
                (long long)(bad_ / (b).ld), (long long)(bad_ % (b).ld),                      \
                bad_ >= 0 ? (b).p[bad_] : 0.0);                                              \
    } while (0)
#define CHECK_GUARD32(b)                                                                      \
    do {                                                                                     \
        int64_t bad_ = t_guard_bad32(&(b));                                                  \
        t_check(bad_ < 0, __FILE__, __LINE__, "guard of " #b " untouched",                  \
                "entry %lld (row %lld, col %lld) = %.9g", (long long)bad_,                   \
                (long long)(bad_ / (b).ld), (long long)(bad_ % (b).ld),                      \
                bad_ >= 0 ? (double)(b).p[bad_] : 0.0);                                      \
    } while (0)

/* Copies the matrix part of a double array (stride lds) into a buffer (and float). */
static inline void t_put64(t_buf64 *b, const double *src, int64_t lds)
{
    for (int64_t r = 0; r < b->rows; r++)
        for (int64_t j = 0; j < b->cols; j++) b->p[r * b->ld + j] = src[r * lds + j];
}
static inline void t_put32(t_buf32 *b, const double *src, int64_t lds)
{
    for (int64_t r = 0; r < b->rows; r++)
        for (int64_t j = 0; j < b->cols; j++) b->p[r * b->ld + j] = (float)src[r * lds + j];
}

/* ---------------------------------------------------------------------------------
 * Array comparison: |a_i - b_i| <= atol + rtol |b_i| for every i; the worst entry is
 * reported. a has stride lda, b stride ldb, both (rows, cols).
 * ------------------------------------------------------------------------------- */

typedef struct {
    int ok;
    int64_t r, c;
    double a, b, excess;
} t_cmp;

static inline t_cmp t_cmp_mat(const double *a, int64_t lda, const double *b, int64_t ldb,
                              int64_t rows, int64_t cols, double rtol, double atol)
{
    t_cmp res = {1, -1, -1, 0, 0, 0};
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < cols; j++) {
            double x = a[r * lda + j], y = b[r * ldb + j];
            double tol = atol + rtol * fabs(y);
            double ex = fabs(x - y) / (tol > 0 ? tol : 1e-300);
            int bad = !(fabs(x - y) <= tol) && !(x == y);
            if (bad && (res.ok || ex > res.excess || isnan(x))) {
                res.ok = 0;
                res.r = r;
                res.c = j;
                res.a = x;
                res.b = y;
                res.excess = isnan(ex) ? INFINITY : ex;
            }
        }
    return res;
}
#define CHECK_MAT(A_, lda, B_, ldb, rows, cols, rtol, atol)                                   \
    do {                                                                                     \
        t_cmp c_ = t_cmp_mat((A_), (lda), (B_), (ldb), (rows), (cols), (rtol), (atol));      \
        t_check(c_.ok, __FILE__, __LINE__, #A_ " ~ " #B_,                                    \
                "worst at row %lld col %lld: %.17g vs %.17g (%.3g x tol)", (long long)c_.r,  \
                (long long)c_.c, c_.a, c_.b, c_.excess);                                     \
    } while (0)

/* float matrix (stride ld) -> double array (stride cols) */
static inline void t_f32_to_f64(double *dst, const float *src, int64_t ld, int64_t rows,
                                int64_t cols)
{
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < cols; j++) dst[r * cols + j] = (double)src[r * ld + j];
}
static inline void t_f64_strided(double *dst, const double *src, int64_t ld, int64_t rows,
                                 int64_t cols)
{
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < cols; j++) dst[r * cols + j] = src[r * ld + j];
}

/* ---------------------------------------------------------------------------------
 * Independent references (SPEC.md sections 1-2), computed in double on one row.
 * ------------------------------------------------------------------------------- */

static inline double ref_rowmax(const double *x, int64_t n)
{
    double m = -INFINITY;
    for (int64_t j = 0; j < n; j++)
        if (x[j] > m) m = x[j];
    return m;
}

/* p = exp(x/t) / sum exp(x/t), -inf -> 0, all -inf -> all 0. */
static inline void ref_softmax(double *p, const double *x, int64_t n, double t)
{
    double m = ref_rowmax(x, n), z = 0.0;
    if (m == -INFINITY) {
        for (int64_t j = 0; j < n; j++) p[j] = 0.0;
        return;
    }
    for (int64_t j = 0; j < n; j++) {
        p[j] = x[j] == -INFINITY ? 0.0 : exp((x[j] - m) / t);
        z += p[j];
    }
    for (int64_t j = 0; j < n; j++) p[j] /= z;
}

/* sigma(x) = x + sum_n tb_n max(b_n - x, 0)^n + td_n max(x - d_n, 0)^n,
 * ranges = [b1, d1, b2, d2, ...], ts = [tb1, td1, tb2, td2, ...]. */
static inline double ref_sigma(int order, const double *ranges, const double *ts, double x)
{
    double s = x;
    for (int n = 1; n <= order; n++) {
        double u = ranges[2 * n - 2] - x, v = x - ranges[2 * n - 1];
        u = u > 0 ? u : 0.0;
        v = v > 0 ? v : 0.0;
        s += ts[2 * n - 2] * pow(u, n) + ts[2 * n - 1] * pow(v, n);
    }
    return s;
}
/* d sigma / dx */
static inline double ref_dsigma(int order, const double *ranges, const double *ts, double x)
{
    double s = 1.0;
    for (int n = 1; n <= order; n++) {
        if (x < ranges[2 * n - 2]) s -= n * ts[2 * n - 2] * pow(ranges[2 * n - 2] - x, n - 1);
        if (x > ranges[2 * n - 1]) s += n * ts[2 * n - 1] * pow(x - ranges[2 * n - 1], n - 1);
    }
    return s;
}

static inline void ref_multimax(double *p, const double *x, int64_t n, int order,
                                const double *ranges, const double *ts)
{
    double *z = (double *)malloc((size_t)n * sizeof(double));
    if (!z) abort();
    for (int64_t j = 0; j < n; j++)
        z[j] = x[j] == -INFINITY ? -INFINITY : ref_sigma(order, ranges, ts, x[j]);
    ref_softmax(p, z, n, 1.0);
    free(z);
}

/* p = max((a-1) x - tau, 0)^(1/(a-1)) with sum p = 1, by plain bisection on the shifted
 * scores (a-1)(x - max) until the bracket stops shrinking, then renormalised. Written
 * independently of the library's bracket rule (it starts from [-1, 0]). */
static inline void ref_entmax(double *p, const double *x, int64_t n, double alpha)
{
    double m = ref_rowmax(x, n), lo = -1.0, hi = 0.0, e = 1.0 / (alpha - 1.0), s = 0.0;
    if (m == -INFINITY) {
        for (int64_t j = 0; j < n; j++) p[j] = 0.0;
        return;
    }
    for (int it = 0; it < 2000; it++) {
        double mid = 0.5 * (lo + hi), f = 0.0;
        if (mid <= lo || mid >= hi) break;
        for (int64_t j = 0; j < n; j++) {
            double d = (alpha - 1.0) * (x[j] - m) - mid;
            if (x[j] != -INFINITY && d > 0) f += pow(d, e);
        }
        if (f >= 1.0) lo = mid;
        else hi = mid;
    }
    for (int64_t j = 0; j < n; j++) {
        double d = x[j] == -INFINITY ? 0.0 : (alpha - 1.0) * (x[j] - m) - lo;
        p[j] = d > 0 ? pow(d, e) : 0.0;
        s += p[j];
    }
    for (int64_t j = 0; j < n; j++) p[j] /= s;
}

static inline int t_cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}
/* Sort-based sparsemax (Martins & Astudillo 2016) on x - max. */
static inline void ref_sparsemax(double *p, const double *x, int64_t n)
{
    double m = ref_rowmax(x, n), cum = 0.0, tau = 0.0;
    double *s = (double *)malloc((size_t)n * sizeof(double));
    if (!s) abort();
    if (m == -INFINITY) {
        for (int64_t j = 0; j < n; j++) p[j] = 0.0;
        free(s);
        return;
    }
    for (int64_t j = 0; j < n; j++) s[j] = x[j] - m;
    qsort(s, (size_t)n, sizeof(double), t_cmp_desc);
    for (int64_t k = 1; k <= n && s[k - 1] != -INFINITY; k++) {
        cum += s[k - 1];
        if (1.0 + (double)k * s[k - 1] > cum) tau = (cum - 1.0) / (double)k;
    }
    for (int64_t j = 0; j < n; j++) {
        double d = x[j] - m - tau;
        p[j] = x[j] != -INFINITY && d > 0 ? d : 0.0;
    }
    free(s);
}

/* EvSoftMax on a row without -inf: softmax(x) * w / sum, w = 1 at x >= mean, else eps. */
static inline void ref_evsoftmax(double *p, const double *x, int64_t n, int eval)
{
    double mean = 0.0, z = 0.0;
    if (ref_rowmax(x, n) == -INFINITY) {
        for (int64_t j = 0; j < n; j++) p[j] = 0.0;
        return;
    }
    for (int64_t j = 0; j < n; j++) mean += x[j];
    mean /= (double)n;
    ref_softmax(p, x, n, 1.0);
    for (int64_t j = 0; j < n; j++) {
        if (x[j] < mean) p[j] *= eval ? 0.0 : MMX_EVSOFTMAX_TRAIN_EPS;
        z += p[j];
    }
    for (int64_t j = 0; j < n; j++) p[j] /= z;
}

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

static inline void t_sweep_forward_one(const t_fwd_spec *sp, int64_t cols, int64_t ld, int f32,
                                       t_rng *rng, const char *file, int line)
{
    const int rows = ROW_KINDS;
    double *x = (double *)malloc((size_t)(rows * cols) * sizeof(double));
    double *y = (double *)malloc((size_t)(rows * cols) * sizeof(double));
    double *ref = (double *)malloc((size_t)(rows * cols) * sizeof(double));
    if (!x || !y || !ref) abort();
    for (int r = 0; r < rows; r++) t_fill_row(x + r * cols, cols, r, rng);
    mmx_status st;
    if (f32) {
        t_buf32 xb = t_alloc32(rows, cols, ld, NAN), yb = t_alloc32(rows, cols, ld, (float)T_CANARY);
        t_put32(&xb, x, cols);
        t_f32_to_f64(x, xb.p, ld, rows, cols); /* the reference sees the rounded input */
        float *snap = (float *)malloc((size_t)xb.n * sizeof(float));
        if (!snap) abort();
        memcpy(snap, xb.p, (size_t)xb.n * sizeof(float));
        st = mmx_forward_f32(sp->norm, yb.p, ld, xb.p, ld, rows, cols);
        t_check(st == MMX_OK, file, line, "mmx_forward_f32 == MMX_OK", "%s: %s", mmx_status_str(st),
                mmx_last_error());
        t_check(t_guard_bad32(&yb) < 0, file, line, "guard of y untouched", "first bad %lld",
                (long long)t_guard_bad32(&yb));
        t_check(!memcmp(snap, xb.p, (size_t)xb.n * sizeof(float)), file, line, "x unchanged", "");
        t_f32_to_f64(y, yb.p, ld, rows, cols);
        free(snap);
        free(xb.p);
        free(yb.p);
    } else {
        t_buf64 xb = t_alloc64(rows, cols, ld, NAN), yb = t_alloc64(rows, cols, ld, T_CANARY);
        t_put64(&xb, x, cols);
        double *snap = (double *)malloc((size_t)xb.n * sizeof(double));
        if (!snap) abort();
        memcpy(snap, xb.p, (size_t)xb.n * sizeof(double));
        st = mmx_forward_f64(sp->norm, yb.p, ld, xb.p, ld, rows, cols);
        t_check(st == MMX_OK, file, line, "mmx_forward_f64 == MMX_OK", "%s: %s", mmx_status_str(st),
                mmx_last_error());
        t_check(t_guard_bad64(&yb) < 0, file, line, "guard of y untouched", "first bad %lld",
                (long long)t_guard_bad64(&yb));
        t_check(!memcmp(snap, xb.p, (size_t)xb.n * sizeof(double)), file, line, "x unchanged", "");
        t_f64_strided(y, yb.p, ld, rows, cols);
        free(snap);
        free(xb.p);
        free(yb.p);
    }
    t_check_rows(y, x, rows, cols, f32 ? 1e-5 : 1e-12, file, line);
    int ok = 1;
    for (int r = 0; r < rows; r++) {
        if (!((sp->refmask >> r) & 1u)) continue;
        sp->ref(ref + r * cols, x + r * cols, cols, sp->ctx);
        t_cmp c = t_cmp_mat(y + r * cols, cols, ref + r * cols, cols, 1, cols,
                            f32 ? sp->rtol32 : sp->rtol64, f32 ? sp->atol32 : sp->atol64);
        if (!c.ok && ok) {
            ok = 0;
            t_check(0, file, line, "output ~ reference", "row %d (%s) col %lld: %.17g vs %.17g "
                    "(%.3g x tol)", r, t_row_names[r], (long long)c.c, c.a, c.b, c.excess);
        }
    }
    if (ok) t_check(1, file, line, "", "");
    free(x);
    free(y);
    free(ref);
}

static inline void t_sweep_forward(const t_fwd_spec *sp, const char *name, uint64_t seed,
                                   const char *file, int line)
{
    t_rng rng = t_rng_seed(seed);
    for (int i = 0; i < T_NSIZES; i++)
        for (int f32 = 0; f32 <= 1; f32++)
            for (int strided = 0; strided <= 1; strided++) {
                int64_t cols = t_sizes[i];
                T_CTX("%s forward %s cols=%lld ld=%lld", name, f32 ? "f32" : "f64",
                      (long long)cols, (long long)(cols + 3 * strided));
                t_sweep_forward_one(sp, cols, cols + 3 * strided, f32, &rng, file, line);
            }
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

static inline void t_sweep_backward_size(const mmx_norm *nm, int64_t cols, t_rng *rng,
                                         const char *file, int line)
{
    const int rows = BW_ROWS;
    const int64_t ld = cols + 2, n = rows * cols;
    double *x = (double *)malloc((size_t)n * sizeof(double));
    double *y = (double *)malloc((size_t)n * sizeof(double));
    double *dy = (double *)malloc((size_t)n * sizeof(double));
    double *dx = (double *)malloc((size_t)n * sizeof(double));
    double *dx32 = (double *)malloc((size_t)n * sizeof(double));
    if (!x || !y || !dy || !dx || !dx32) abort();
    for (int r = 0; r < rows; r++) t_fill_row(x + r * cols, cols, t_bw_kind[r], rng);
    for (int64_t k = 0; k < n; k++) dy[k] = t_normal(rng);
    t_fwd64(nm, y, x, rows, cols);

    /* f64, strided, guarded */
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

    /* f32 against f64 on the same float data */
    t_buf32 xf = t_alloc32(rows, cols, ld, NAN), yf = t_alloc32(rows, cols, ld, (float)T_CANARY);
    t_buf32 dyf = t_alloc32(rows, cols, ld, NAN), dxf = t_alloc32(rows, cols, ld, (float)T_CANARY);
    t_put32(&xf, x, cols);
    t_put32(&dyf, dy, cols);
    st = mmx_forward_f32(nm, yf.p, ld, xf.p, ld, rows, cols);
    t_check(st == MMX_OK, file, line, "mmx_forward_f32 == MMX_OK", "%s", mmx_last_error());
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
        if (!(ex <= worst)) {
            worst = ex;
            wk = k;
        }
    }
    t_check(worst <= 1.0, file, line, "f32 backward ~ f64 backward",
            "row %lld col %lld: %.9g vs %.17g (%.3g x tol)", (long long)(wk / cols),
            (long long)(wk % cols), dx32[wk], dx[wk], worst);
    free(xb.p), free(yb.p), free(dyb.p), free(dxb.p);
    free(xf.p), free(yf.p), free(dyf.p), free(dxf.p);
    free(x), free(y), free(dy), free(dx), free(dx32);
}

static inline void t_sweep_backward(const mmx_norm *nm, const char *name, uint64_t seed,
                                    const char *file, int line)
{
    t_rng rng = t_rng_seed(seed);
    for (int i = 0; i < T_NSIZES; i++) {
        T_CTX("%s backward cols=%lld", name, (long long)t_sizes[i]);
        t_sweep_backward_size(nm, t_sizes[i], &rng, file, line);
    }
}
#define SWEEP_BACKWARD(norm, name, seed) t_sweep_backward((norm), (name), (seed), __FILE__, __LINE__)

#endif /* MMX_TEST_HARNESS_H */
