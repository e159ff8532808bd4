/*
 * harness.h - the unit tests' tiny framework: checks with counters, a seeded RNG, row
 * fillers for hostile inputs, guarded buffers, array comparison; it includes refs.h (the
 * independent reference maps) and sweep.h (the shared forward / backward sweeps).
 *
 * Every test executable includes this once, calls t_summary() at the end of main and
 * returns its value: it prints "N passed, M failed" and is non-zero if any check failed.
 * The references are written from SPEC.md, never from the library's code, and use nothing
 * of the library: they are what the library is compared against.
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

#include "refs.h"  /* independent references (SPEC.md) */
#include "sweep.h" /* forward / backward sweeps */

#endif /* MMX_TEST_HARNESS_H */
