/*
 * Fused SoftMax / MultiMax attention: the tiled online-softmax ("flash") algorithm.
 *
 * Forward, per query block Q (64 rows) of one (b, h): for each key tile K_j, V_j (128 keys)
 *   S = alpha Q K_j^T                                  (sgemm; alpha = scale / t or scale)
 *   z = sigma(S), m' = max(m, rowmax z), P = exp(z - m'), l = l e^(m - m') + rowsum P
 *   O = O e^(m - m') + P V_j                           (tile kernel, then sgemm)
 * and O /= l at the end; stats = (m, l) per row. The modulator costs one pass over a tile
 * that is already in L1, next to the two GEMMs that dominate.
 * Backward, per query block: dd = rowsum(dO * O) (= <p, dp>), then for each key tile
 *   S = alpha Q K_j^T, dP = dO V_j^T                   (sgemm x2)
 *   P = exp(sigma(S) - m) / l, dS = sigma'(S) P (dP - dd) (+ modulator sums)   (tile kernel)
 *   dV_j += P^T dO, dQ += alpha dS K_j, dK_j += alpha dS^T Q  (sgemm x3)
 * Key tiles past the block's last visible key (causal, padding) are never touched.
 */
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "attn/attn.h"

/* The tile workspace of one thread. */
typedef struct {
    int32_t *nv; /* visible keys per row */
    float *m, *corr, *dd;
    double *l;
    float *s, *p, *dp; /* (BQ, BK) tiles; p, dp: backward only */
} flash_ws;

static flash_ws carve(const attn_plan *pl) {
    char *w = attn_thread_ws(pl);
    const size_t bq = MMX_ATTN_BQ, tile = bq * MMX_ATTN_BK * sizeof(float);
    flash_ws f;
    f.nv = (int32_t *)w, w += 256;   /* 64 int32 */
    f.m = (float *)w, w += 256;
    f.corr = (float *)w, w += 256;
    f.dd = (float *)w, w += 256;
    f.l = (double *)w, w += 512;
    f.s = (float *)w, w += tile;
    f.p = pl->bwd ? (float *)w : NULL, w += pl->bwd ? tile : 0;
    f.dp = pl->bwd ? (float *)w : NULL;
    return f;
}

/* Visible keys of each row inside the tile [k0, k0 + nk). */
static void tile_counts(int32_t *nvt, const int32_t *nv, int64_t rows, int64_t k0, int64_t nk) {
    for (int64_t r = 0; r < rows; r++) {
        int64_t c = nv[r] - k0;
        nvt[r] = (int32_t)(c < 0 ? 0 : c > nk ? nk : c);
    }
}

void attn_flash_fwd_item(const attn_plan *pl, int64_t it, float *out, float *stats,
                         const float *q, const float *k, const float *v, attn_res *res) {
    const mmx_attn *a = pl->a;
    const attn_block bk = attn_block_at(a, it / pl->nqb, (it % pl->nqb) * MMX_ATTN_BQ);
    const int64_t D = a->dim, rows = bk.rows;
    const float *Q = q + bk.row0 * D, *K = k + bk.kv, *V = v + bk.kv;
    float *O = out + bk.row0 * D;
    flash_ws w = carve(pl);
    int32_t nvt[MMX_ATTN_BQ];
    const mmx_kmod *mod = pl->nm->kind == MMX_NORM_MULTIMAX ? &pl->mod : NULL;

    int64_t kend = attn_visible_rows(a, bk.b, bk.q0, rows, w.nv);
    memset(O, 0, (size_t)(rows * D) * sizeof *O);
    for (int64_t r = 0; r < rows; r++) w.m[r] = -INFINITY, w.l[r] = 0.0;
    for (int64_t k0 = 0; k0 < kend; k0 += MMX_ATTN_BK) {
        int64_t nk = kend - k0 < MMX_ATTN_BK ? kend - k0 : MMX_ATTN_BK;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)nk, (int)D, pl->alpha,
                    Q, (int)D, K + k0 * D, (int)D, 0.0f, w.s, MMX_ATTN_BK);
        tile_counts(nvt, w.nv, rows, k0, nk);
        int64_t bad = pl->k->attn_fwd_tile(w.s, MMX_ATTN_BK, rows, nk, nvt, mod, w.m, w.l, w.corr);
        if (bad < rows) {
            *res = (attn_res){MMX_ERR_VALUE, bk.b, bk.h, bk.q0 + bad};
            return;
        }
        for (int64_t r = 0; r < rows; r++)
            if (w.corr[r] != 1.0f)
                for (int64_t d = 0; d < D; d++) O[r * D + d] *= w.corr[r];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)D, (int)nk, 1.0f,
                    w.s, MMX_ATTN_BK, V + k0 * D, (int)D, 1.0f, O, (int)D);
    }
    for (int64_t r = 0; r < rows; r++) {
        float inv = w.l[r] > 0.0 ? (float)(1.0 / w.l[r]) : 0.0f;
        for (int64_t d = 0; d < D; d++) O[r * D + d] *= inv;
        if (stats) {
            float *st = stats + (bk.row0 + r) * MMX_ATTN_STATS;
            st[0] = w.m[r], st[1] = (float)w.l[r], st[2] = 0.0f, st[3] = 0.0f;
        }
    }
}

/* One query block of the backward; returns the first failed query row, or -1. */
static int64_t flash_bwd_block(const attn_plan *pl, flash_ws *w, attn_block bk, float *dq,
                               float *dkb, float *dvb, const float *dout, const float *out,
                               const float *stats, const float *q, const float *k,
                               const float *v, mmx_grad_acc *acc) {
    const mmx_attn *a = pl->a;
    const int64_t D = a->dim, rows = bk.rows;
    const float *Q = q + bk.row0 * D, *dO = dout + bk.row0 * D, *O = out + bk.row0 * D;
    const float *K = k + bk.kv, *V = v + bk.kv;
    float *dQ = dq + bk.row0 * D;
    const mmx_kmod *mod = pl->nm->kind == MMX_NORM_MULTIMAX ? &pl->mod : NULL;
    int32_t nvt[MMX_ATTN_BQ];
    float l[MMX_ATTN_BQ];

    int64_t kend = attn_visible_rows(a, bk.b, bk.q0, rows, w->nv);
    memset(dQ, 0, (size_t)(rows * D) * sizeof *dQ);
    for (int64_t r = 0; r < rows; r++) {
        const float *st = stats + (bk.row0 + r) * MMX_ATTN_STATS;
        double s = 0.0;
        for (int64_t d = 0; d < D; d++) s += (double)dO[r * D + d] * O[r * D + d];
        w->m[r] = st[0], l[r] = st[1], w->dd[r] = (float)s;
    }
    for (int64_t k0 = 0; k0 < kend; k0 += MMX_ATTN_BK) {
        int64_t nk = kend - k0 < MMX_ATTN_BK ? kend - k0 : MMX_ATTN_BK;
        const float *Kj = K + k0 * D, *Vj = V + k0 * D;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)nk, (int)D, pl->alpha,
                    Q, (int)D, Kj, (int)D, 0.0f, w->s, MMX_ATTN_BK);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)nk, (int)D, 1.0f, dO,
                    (int)D, Vj, (int)D, 0.0f, w->dp, MMX_ATTN_BK);
        tile_counts(nvt, w->nv, rows, k0, nk);
        int64_t bad = pl->k->attn_bwd_tile(w->s, w->p, MMX_ATTN_BK, w->dp, MMX_ATTN_BK, rows, nk,
                                           nvt, mod, w->m, l, w->dd, acc->dranges, acc->dts);
        if (bad < rows) return bk.q0 + bad;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nk, (int)D, (int)rows, 1.0f, w->p,
                    MMX_ATTN_BK, dO, (int)D, 1.0f, dvb + k0 * D, (int)D);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)D, (int)nk, pl->alpha,
                    w->s, MMX_ATTN_BK, Kj, (int)D, 1.0f, dQ, (int)D);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nk, (int)D, (int)rows, pl->alpha,
                    w->s, MMX_ATTN_BK, Q, (int)D, 1.0f, dkb + k0 * D, (int)D);
    }
    return -1;
}

void attn_flash_bwd_item(const attn_plan *pl, int64_t it, float *dq, float *dk, float *dv,
                         const float *dout, const float *out, const float *stats, const float *q,
                         const float *k, const float *v, attn_res *res) {
    int64_t b, h, qb0, qb1;
    float *dkb, *dvb;
    attn_bwd_item_range(pl, it, &b, &h, &qb0, &qb1, &dkb, &dvb, dk, dv);
    flash_ws w = carve(pl);
    for (int64_t qb = qb0; qb < qb1; qb++) {
        attn_block bk = attn_block_at(pl->a, b * pl->a->heads + h, qb * MMX_ATTN_BQ);
        int64_t bad = flash_bwd_block(pl, &w, bk, dq, dkb, dvb, dout, out, stats, q, k, v,
                                      &pl->acc[it]);
        if (bad >= 0) {
            *res = (attn_res){MMX_ERR_VALUE, b, h, bad};
            return;
        }
    }
}
