/*
 * Sort-based SparseMax (Martins & Astudillo 2016) and exact 1.5-EntMax (Peters, Niculae,
 * Martins 2019). Both work on scores shifted by the row max, so 1e30 and ties are exact,
 * and only on the finite entries (masked -inf entries sort last and never enter the support).
 */
#include <math.h>
#include <stdlib.h>

#include "ref/ref.h"

static int cmp_desc(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* Copies the finite entries of x, shifted by their max (and scaled), into s, sorted
 * descending. Returns their count. */
static int64_t sorted_shifted(double *s, const double *x, int64_t n, double scale, double *max) {
    double m = -INFINITY;
    for (int64_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++)
        if (x[i] != -INFINITY) s[k++] = (x[i] - m) * scale;
    qsort(s, (size_t)k, sizeof *s, cmp_desc);
    *max = m;
    return k;
}

/* An entry within a few ulps of tau (8 * 2^-52 |tau|) is on the threshold up to the rounding
 * of the shifted scores (ties, quantized scores), and gets an exact 0. Relative to |tau|: at
 * a large alpha on equal scores |tau| is tiny (1e-16), and an absolute cut would zero all. */
#define MMX_REF_TIE(tau) (8 * 0x1p-52 * fabs(tau))

/* Support size k = the largest j with 1 + j s_(j) > sum_{i<=j} s_(i);
 * tau = (sum_{i<=k} s_(i) - 1) / k;  p = max(x - max - tau, 0). */
void mmx_ref_sparsemax_forward(double *y, double *scratch, const double *x, int64_t n) {
    double m;
    int64_t c = sorted_shifted(scratch, x, n, 1.0, &m);
    double cum = 0.0, tau = 0.0;
    for (int64_t j = 1; j <= c; j++) {
        cum += scratch[j - 1];
        if (1.0 + (double)j * scratch[j - 1] > cum) tau = (cum - 1.0) / (double)j;
    }
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double v = x[i] - m - tau;
        y[i] = v > MMX_REF_TIE(tau) ? v : 0.0;
        sum += y[i];
    }
    for (int64_t i = 0; i < n; i++) y[i] /= sum;
}

/* On scores s = (x - max)/2, support of size j: tau_j = mean_j - sqrt(delta_j),
 * delta_j = (1 - j (meansq_j - mean_j^2)) / j (the root of sum_{i<=j} (s_i - tau)^2 = 1);
 * the support is the largest j with tau_j < s_(j); p = max(s - tau, 0)^2. */
void mmx_ref_entmax15_forward(double *y, double *scratch, const double *x, int64_t n) {
    double m;
    int64_t c = sorted_shifted(scratch, x, n, 0.5, &m);
    double sum = 0.0, sumsq = 0.0, tau = 0.0;
    for (int64_t j = 1; j <= c; j++) {
        double s = scratch[j - 1], dj = (double)j;
        sum += s;
        sumsq += s * s;
        double mean = sum / dj, delta = (1.0 - dj * (sumsq / dj - mean * mean)) / dj;
        double tj = mean - sqrt(delta > 0 ? delta : 0.0);
        if (tj < s) tau = tj;
    }
    double total = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double v = (x[i] - m) * 0.5 - tau;
        y[i] = v > MMX_REF_TIE(tau) ? v * v : 0.0;
        total += y[i];
    }
    for (int64_t i = 0; i < n; i++) y[i] /= total;
}

double mmx_ref_tsallis(const double *p, int64_t n, double alpha) {
    double s = 0.0;
    for (int64_t i = 0; i < n; i++)
        if (p[i] > 0) s += pow(p[i], alpha);
    return (1.0 - s) / (alpha * (alpha - 1.0));
}
