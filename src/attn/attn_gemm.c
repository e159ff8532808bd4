/*
 * The fused attention's tile products: the kernel table's tile_gemm (operands read in place,
 * no packing) for head dimensions up to MMX_ATTN_OWN_GEMM_MAXD, else OpenBLAS's sgemm.
 * MMX_ATTN_BLAS=1 in the environment forces sgemm (for comparisons).
 */
#include <stdlib.h>

#include <cblas.h>

#include "attn/attn.h"

int attn_own_gemm(const mmx_kernels *k, int64_t dim) {
    const char *e = getenv("MMX_ATTN_BLAS"); /* read per call: no shared state between threads */
    return !(e && e[0] && e[0] != '0') && k->tile_gemm && dim <= MMX_ATTN_OWN_GEMM_MAXD;
}

void attn_mm(const attn_plan *pl, float *c, int64_t ldc, const float *a, int64_t ars,
             int64_t acs, const float *b, int64_t ldb, int64_t m, int64_t n, int64_t k,
             float alpha, int acc) {
    if (pl->own_gemm) {
        pl->k->tile_gemm(c, ldc, a, ars, acs, b, ldb, m, n, k, alpha, acc);
        return;
    }
    int trans = acs != 1; /* A stored k x m (A^T row-major) */
    cblas_sgemm(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, CblasNoTrans, (int)m, (int)n,
                (int)k, alpha, a, (int)(trans ? acs : ars), b, (int)ldb, acc ? 1.0f : 0.0f, c,
                (int)ldc);
}

void attn_mm_nt(const attn_plan *pl, float *c, int64_t ldc, const float *a, int64_t lda,
                const float *bt, int64_t ldbt, const float *b, int64_t m, int64_t n, int64_t k,
                float alpha) {
    if (pl->own_gemm) /* b's columns [n, attn_padv(n)) are zero: whole vectors, no tails */
        pl->k->tile_gemm(c, ldc, a, lda, 1, b, MMX_ATTN_BK, m, attn_padv(pl, n), k, alpha, 0);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)k, alpha, a,
                    (int)lda, bt, (int)ldbt, 0.0f, c, (int)ldc);
}
