/*
 * bench_attn_blas.c - what `multimax bench attn` does with OpenBLAS: the machine's sgemm
 * rates (the ceiling the attention GFLOP/s are compared with) and the naive attention path,
 * which materialises the (B, H, T, T) scores and probabilities.
 *
 * The library links OpenBLAS's OpenMP build (its cblas.h is on this program's include path):
 * called
 * outside a parallel region, sgemm uses omp_get_max_threads() threads (what
 * mmx_set_num_threads sets); called inside one, it runs on the calling thread.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "bench_attn.h"
#include "bench_util.h"

#define ROW_MAJOR CblasRowMajor
#define NO_TRANS CblasNoTrans
#define TRANS CblasTrans

const char *ba_openblas_core(void) { return openblas_get_corename(); }

/* C (m, n) = A (m, k) B (k, n), contiguous row-major. */
static void gemm_nn(int m, int n, int k, const float *a, const float *b, float *c) {
    cblas_sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
}

#define RATE_REPS 5

/* 1024^3 by OpenBLAS's own threads. */
static double rate_big(float *a, float *b, float *c) {
    const int n = 1024;
    double t[RATE_REPS];
    gemm_nn(n, n, n, a, b, c); /* warm-up: thread pool, packing buffers */
    for (int r = 0; r < RATE_REPS; r++) {
        double t0 = bench_now();
        gemm_nn(n, n, n, a, b, c);
        t[r] = bench_now() - t0;
    }
    return 2.0 * n * (double)n * n / bench_median(t, RATE_REPS) / 1e9;
}

/* Independent single-threaded sgemms of one shape on every thread (as a fused kernel calls
 * them on its own tiles); the aggregate rate. Each thread has its own a, b, c. */
static double rate_tiles(int threads, int m, int n, int k, float *a, float *b, float *c) {
    const int iters = 100;
    double t[RATE_REPS];
    for (int r = -1; r < RATE_REPS; r++) {
        double t0 = bench_now();
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static, 1)
#endif
        for (int th = 0; th < threads; th++) {
            size_t off_a = (size_t)th * (size_t)m * (size_t)k;
            size_t off_b = (size_t)th * (size_t)k * (size_t)n;
            for (int i = 0; i < iters; i++)
                gemm_nn(m, n, k, a + off_a, b + off_b, c + (size_t)th * (size_t)m * (size_t)n);
        }
        if (r >= 0) t[r] = bench_now() - t0;
    }
    return 2.0 * m * (double)n * k * iters * threads / bench_median(t, RATE_REPS) / 1e9;
}

void ba_sgemm_rates(int threads, ba_sgemm *out) {
    size_t n = 1024 * 1024, per = (size_t)(threads > 16 ? threads : 16) * 64 * 1024;
    if (per < n) per = n;
    float *a = bench_alloc_touched(per * sizeof(float));
    float *b = bench_alloc_touched(per * sizeof(float));
    float *c = bench_alloc_touched(per * sizeof(float));
    memset(out, 0, sizeof *out);
    if (a && b && c) {
        bench_fill_normal(a, per, 11, 1.0f);
        bench_fill_normal(b, per, 12, 1.0f);
        out->big = rate_big(a, b, c);
        out->tile = rate_tiles(threads, 64, 64, 1024, a, b, c);
        out->strip = rate_tiles(threads, 64, 1024, 64, a, b, c);
    }
    free(a);
    free(b);
    free(c);
}

double ba_naive_bytes(const ba_opts *o, int64_t T, int pass) {
    return (pass == BA_FWD ? 2.0 : 3.0) * (double)o->batch * (double)o->heads * (double)T *
           (double)T * sizeof(float);
}

/* S = scale q k^T per head, -inf where the mask hides a key; all heads in parallel, one
 * single-threaded sgemm each. */
static void naive_scores(const mmx_attn *a, float *s, const float *q, const float *k) {
    const int64_t bh_n = a->batch * a->heads, tq = a->tq, tk = a->tk, d = a->dim;
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int64_t bh = 0; bh < bh_n; bh++) {
        float *sh = s + bh * tq * tk;
        cblas_sgemm(ROW_MAJOR, NO_TRANS, TRANS, (int)tq, (int)tk, (int)d, (float)a->scale,
                    q + bh * tq * d, (int)d, k + bh * tk * d, (int)d, 0.0f, sh, (int)tk);
        for (int64_t i = 0; a->causal && i < tq; i++)
            for (int64_t j = i + tk - tq + 1; j < tk; j++) sh[i * tk + j] = -INFINITY;
    }
}

mmx_status ba_naive_forward(const mmx_attn *a, const mmx_norm *nm, const ba_naive_bufs *nb,
                            float *out, const float *q, const float *k, const float *v) {
    const int64_t bh_n = a->batch * a->heads, tq = a->tq, tk = a->tk, d = a->dim;
    naive_scores(a, nb->s, q, k);
    mmx_status st = mmx_forward_f32(nm, nb->p, tk, nb->s, tk, bh_n * tq, tk);
    if (st != MMX_OK) return st;
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int64_t bh = 0; bh < bh_n; bh++)
        gemm_nn((int)tq, (int)d, (int)tk, nb->p + bh * tq * tk, v + bh * tk * d, out + bh * tq * d);
    return MMX_OK;
}

mmx_status ba_naive_backward(const mmx_attn *a, const mmx_norm *nm, const ba_naive_bufs *nb,
                             float *dq, float *dk, float *dv, mmx_param_grads *pg,
                             const float *dout, const float *q, const float *k, const float *v) {
    const int64_t bh_n = a->batch * a->heads, tq = a->tq, tk = a->tk, d = a->dim;
    const int itq = (int)tq, itk = (int)tk, id = (int)d;
    /* dv = P^T dout, dP = dout v^T */
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int64_t bh = 0; bh < bh_n; bh++) {
        const float *ph = nb->p + bh * tq * tk, *doh = dout + bh * tq * d;
        cblas_sgemm(ROW_MAJOR, TRANS, NO_TRANS, itk, id, itq, 1.0f, ph, itk, doh, id, 0.0f,
                    dv + bh * tk * d, id);
        cblas_sgemm(ROW_MAJOR, NO_TRANS, TRANS, itq, itk, id, 1.0f, doh, id, v + bh * tk * d, id,
                    0.0f, nb->dp + bh * tq * tk, itk);
    }
    /* dS = J_f^T dP, in place (dx may alias dy) */
    mmx_status st = mmx_backward_f32(nm, nb->dp, tk, pg, nb->dp, tk, nb->p, tk, nb->s, tk,
                                     bh_n * tq, tk);
    if (st != MMX_OK) return st;
    /* dq = scale dS k, dk = scale dS^T q */
    const float sc = (float)a->scale;
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int64_t bh = 0; bh < bh_n; bh++) {
        const float *dsh = nb->dp + bh * tq * tk;
        cblas_sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, itq, id, itk, sc, dsh, itk, k + bh * tk * d, id,
                    0.0f, dq + bh * tq * d, id);
        cblas_sgemm(ROW_MAJOR, TRANS, NO_TRANS, itk, id, itq, sc, dsh, itk, q + bh * tq * d, id,
                    0.0f, dk + bh * tk * d, id);
    }
    return MMX_OK;
}
