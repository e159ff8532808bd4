/*
 * test_sparse_short.c - the SparseMax, 1.5-EntMax and alpha-EntMax forward kernels on short
 * rows (src/kernels/sparse_short.inc: rows of at most 256 entries, solved by blocks of 8 rows),
 * per ISA, against the independent references of refs.h (sort-based SparseMax, bisection
 * EntMax), on calls whose rows mix every way through a block: ordinary rows, fully masked
 * rows, rows with too many candidates for the block (general path), ties, one finite entry,
 * rows across block boundaries, and a NaN or +inf row that must end the call with the rows
 * before it written and it and every row after it untouched.
 *
 * Tolerance: p is computed in double from tau (double) and rounded once, so it is within
 * 2 ulp of the reference's (whose tau differs only by the order of its sums; for general
 * alpha both stop within ~2^-42 |tau| of the root).
 */
#include <float.h>

#include "harness.h"
#include "isa_tables.h"

#define ROWS 37 /* four blocks of 8 and a partial one */

/* Row r of the call: which kind of row it is. */
static void fill_row(double *x, int64_t cols, int64_t r, t_rng *rng) {
    for (int64_t j = 0; j < cols; j++) {
        double v;
        switch (r % 9) {
        case 2: v = -INFINITY; break;                           /* masked           */
        case 4: v = 0.01 * t_normal(rng); break;                 /* many candidates  */
        case 6: v = (double)(t_randint(rng, 5) - 2); break;      /* ties             */
        case 7: v = r % 2 ? 3.0 * t_normal(rng) : t_normal(rng); break;
        default: v = (r % 2 ? 3.0 : 0.5) * t_normal(rng); break; /* narrow / wide    */
        }
        x[j] = (float)v;
    }
    if (r == 10) { /* one finite entry */
        for (int64_t j = 0; j < cols; j++) x[j] = -INFINITY;
        x[t_randint(rng, cols)] = 1.5;
    }
    if (r % 9 == 7 && cols > 3) /* a few masked entries */
        for (int k = 0; k < 3; k++) x[t_randint(rng, cols)] = -INFINITY;
}

/* Which map: 0 SparseMax, 1 1.5-EntMax, else alpha-EntMax with that alpha. */
static int64_t run(const mmx_kernels *k, double map, float *y, int64_t ldy, const float *x,
                   int64_t ldx, int64_t rows, int64_t n) {
    if (map == 0) return k->sparsemax_fwd(y, ldy, x, ldx, rows, n);
    if (map == 1) return k->entmax15_fwd(y, ldy, x, ldx, rows, n);
    return k->entmax_fwd(y, ldy, x, ldx, rows, n, map);
}

static void reference(double *p, const double *x, int64_t n, double map) {
    if (map == 0) ref_sparsemax(p, x, n);
    else ref_entmax(p, x, n, map == 1 ? 1.5 : map);
}

/* One call pattern: bad = -1 (none) or the row holding a NaN (bad_inf: +inf). */
static void check_call(const mmx_kernels *k, double map, int64_t cols, int64_t bad, int bad_inf,
                       t_rng *rng) {
    const int64_t ld = cols + 5;
    double *x = malloc(sizeof(double) * ROWS * cols), *want = malloc(sizeof(double) * ROWS * cols);
    double *got = malloc(sizeof(double) * ROWS * cols);
    for (int64_t r = 0; r < ROWS; r++) fill_row(x + r * cols, cols, r, rng);
    if (bad >= 0) x[bad * cols + cols / 2] = bad_inf ? INFINITY : NAN;
    for (int64_t r = 0; r < ROWS; r++)
        if (r != bad) reference(want + r * cols, x + r * cols, cols, map);
    t_buf32 X = t_alloc32(ROWS, cols, ld, NAN), Y = t_alloc32(ROWS, cols, ld, T_CANARY);
    t_put32(&X, x, cols);
    T_CTX("%s %.2g [%s] cols=%lld bad row %lld", map == 0 ? "sparsemax" : "entmax",
          map == 0 ? 2.0 : map == 1 ? 1.5 : map, k->isa, (long long)cols, (long long)bad);

    int64_t done = run(k, map, Y.p, ld, X.p, ld, ROWS, cols);
    CHECKF(done == (bad >= 0 ? bad : ROWS), "stopped at row %lld", (long long)done);
    if (bad >= 0) { /* nothing written from the bad row on; then resume after it */
        int untouched = 1;
        for (int64_t i = bad * ld; i < ROWS * ld; i++) untouched &= Y.p[i] == (float)T_CANARY;
        CHECK(untouched);
        done = run(k, map, Y.p + (bad + 1) * ld, ld, X.p + (bad + 1) * ld, ld, ROWS - bad - 1, cols);
        CHECK(done == ROWS - bad - 1);
        for (int64_t j = 0; j < cols; j++) Y.p[bad * ld + j] = 0.0f, want[bad * cols + j] = 0.0;
    }
    CHECK_GUARD32(Y);
    t_f32_to_f64(got, Y.p, ld, ROWS, cols);
    CHECK_MAT(got, cols, want, cols, ROWS, cols, 2 * FLT_EPSILON, 1e-12);
    int64_t flips = 0; /* the same support: exact zeros where the reference has them */
    for (int64_t i = 0; i < ROWS * cols; i++) flips += (got[i] == 0.0) != (want[i] == 0.0);
    CHECKF(flips == 0, "%lld entries in one support only", (long long)flips);

    /* the same bits when the rows fall into other blocks and lane groups (another split of
     * a call; the driver's own split, src/api/fast.c, is fixed per call whatever the thread
     * count): calls of 13, 3 and 21 rows */
    if (bad < 0) {
        t_buf32 Y2 = t_alloc32(ROWS, cols, ld, T_CANARY);
        CHECK(run(k, map, Y2.p, ld, X.p, ld, 13, cols) == 13);
        CHECK(run(k, map, Y2.p + 13 * ld, ld, X.p + 13 * ld, ld, 3, cols) == 3);
        CHECK(run(k, map, Y2.p + 16 * ld, ld, X.p + 16 * ld, ld, ROWS - 16, cols) == ROWS - 16);
        CHECKF(memcmp(Y2.p, Y.p, sizeof(float) * (size_t)(ROWS * ld)) == 0, "split calls differ%s", "");
        free(Y2.p);
    }
    /* in place (y == x): the same bits */
    if (bad < 0) {
        t_buf32 IO = t_alloc32(ROWS, cols, ld, NAN);
        t_put32(&IO, x, cols);
        CHECK(run(k, map, IO.p, ld, IO.p, ld, ROWS, cols) == ROWS);
        int same = 1;
        for (int64_t r = 0; r < ROWS; r++) same &= !memcmp(IO.p + r * ld, Y.p + r * ld, sizeof(float) * cols);
        CHECKF(same, "in place differs%s", "");
        free(IO.p);
    }
    free(X.p), free(Y.p), free(x), free(want), free(got);
}

int main(void) {
    static const int64_t cols_list[] = {1, 5, 16, 64, 100, 196, 255, 256};
    t_rng rng = t_rng_seed(11);
    for (int i = 0; i < T_NISA; i++) {
        const mmx_kernels *k = t_isa_table(i);
        if (!k) continue;
        /* SparseMax, 1.5-EntMax, and general alpha: b = 1/(alpha-1) above 2, 2, in (1, 2) (the
         * 1.5-EntMax root as the start), below 1 */
        static const double maps[] = {0, 1, 1.3, 1.5, 1.75, 2.5};
        for (size_t e = 0; e < sizeof maps / sizeof maps[0]; e++)
            for (size_t c = 0; c < sizeof cols_list / sizeof cols_list[0]; c++) {
                check_call(k, maps[e], cols_list[c], -1, 0, &rng);
                check_call(k, maps[e], cols_list[c], 8, 0, &rng);  /* first row of a block */
                check_call(k, maps[e], cols_list[c], 22, 1, &rng); /* inside one           */
                check_call(k, maps[e], cols_list[c], 36, 0, &rng); /* the last row         */
            }
    }
    return t_summary();
}
