/*
 * Fused SoftMax / MultiMax attention: the tiled online-softmax ("flash") algorithm.
 *
 * Forward, per query block Q (64 rows) of one (b, h): for each key tile K_j, V_j (128 keys)
 *   S = alpha Q K_j^T                                  (alpha = scale / t or scale)
 *   z = sigma(S), m' = max(m, rowmax z), P = exp(z - m'), l = l e^(m - m') + rowsum P
 *   O = O e^(m - m') + P V_j                           (tile kernel, then a product)
 * and O /= l at the end; stats = (m, l) per row. The modulator costs one pass over a tile
 * that is already in L1, next to the two GEMMs that dominate (none for a tile row inside
 * sigma's identity band [max b_k, min d_k], where sigma is the identity).
 * Backward, per query block: dd = rowsum(dO * O) (= <p, dp>), then for each key tile
 *   S = alpha Q K_j^T, dP = dO V_j^T
 *   P = exp(sigma(S) - m) / l, dS = sigma'(S) P (dP - dd) (+ modulator sums)   (tile kernel;
 *   a tile row inside the identity band as a SoftMax row: no sigma, no modulator terms)
 *   dV_j += P^T dO, dQ += alpha dS K_j, dK_j += alpha dS^T Q
 * The products are attn_mm / attn_mm_nt (attn_gemm.c): the kernel table's tile_gemm for head
 * dims up to MMX_ATTN_OWN_GEMM_MAXD, else sgemm.
 * Key tiles past the block's last visible key (causal, padding) are never touched.
 */
#include <math.h>
#include <string.h>

#include "attn/attn.h"

/* The tile workspace of one thread. */
typedef struct {
    int32_t *nv; /* visible keys per row */
    float *m, *corr, *dd;
    double *l;
    float *s, *p, *dp; /* (BQ, BK) tiles; p, dp: backward only */
    float *kt, *vt;    /* the item's head K^T, V^T by key tile: (tiles, D, BK) (own_gemm;
                        * vt: backward). Tile-major keeps B's rows 512 bytes apart: a
                        * whole-head row stride of 4 KiB multiples would alias in L1. */
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
    f.dp = pl->bwd ? (float *)w : NULL, w += pl->bwd ? tile : 0;
    size_t head = ((size_t)pl->a->dim * (size_t)pl->ldt * sizeof(float) + 63) & ~(size_t)63;
    f.kt = pl->own_gemm ? (float *)w : NULL, w += pl->own_gemm ? head : 0;
    f.vt = pl->own_gemm && pl->bwd ? (float *)w : NULL;
    return f;
}

/* Visible keys of each row inside the tile [k0, k0 + nk). */
static void tile_counts(int32_t *nvt, const int32_t *nv, int64_t rows, int64_t k0, int64_t nk) {
    for (int64_t r = 0; r < rows; r++) {
        int64_t c = nv[r] - k0;
        nvt[r] = (int32_t)(c < 0 ? 0 : c > nk ? nk : c);
    }
}

/* The transposed key tile at key k0 (NULL without own products). */
static const float *tile_t(const float *t, int64_t k0, int64_t D) {
    return t ? t + k0 / MMX_ATTN_BK * D * MMX_ATTN_BK : NULL;
}

/* A key (value) tile of nk rows (row stride lds) transposed into dst (D x BK), its columns
 * zero from nk up to whole vectors. */
static void pad_t(const attn_plan *pl, float *dst, const float *src, int64_t lds, int64_t nk) {
    const int64_t D = pl->a->dim, np = attn_padv(pl, nk);
    pl->k->transpose(dst, MMX_ATTN_BK, src, lds, nk, D);
    for (int64_t d = 0; np > nk && d < D; d++)
        memset(dst + d * MMX_ATTN_BK + nk, 0, (size_t)(np - nk) * sizeof *dst);
}

/* Query blocks [qb0, qb1) of head bh see keys [0, n) at most (visibility only grows with the
 * row); with own products, the head's K^T (and V^T) over those keys into the workspace. */
static void transpose_head(const attn_plan *pl, flash_ws *w, int64_t bh, int64_t qb1,
                           const float *k, const float *v) {
    if (!pl->own_gemm) return;
    const mmx_attn *a = pl->a;
    int64_t last = qb1 * MMX_ATTN_BQ < a->tq ? qb1 * MMX_ATTN_BQ : a->tq;
    int64_t b = bh / a->heads, h = bh % a->heads, n = attn_visible(a, b, last - 1);
    const float *K = k + attn_off(pl->lk, b, h, 0), *V = v + attn_off(pl->lv, b, h, 0);
    for (int64_t k0 = 0; k0 < n; k0 += MMX_ATTN_BK) {
        int64_t nk = n - k0 < MMX_ATTN_BK ? n - k0 : MMX_ATTN_BK;
        size_t at = (size_t)(k0 / MMX_ATTN_BK * a->dim * MMX_ATTN_BK);
        pad_t(pl, w->kt + at, K + k0 * pl->lk.t, pl->lk.t, nk);
        if (w->vt) pad_t(pl, w->vt + at, V + k0 * pl->lv.t, pl->lv.t, nk);
    }
}

/* One query block of the forward; returns the first failed query row, or -1. */
static int64_t flash_fwd_block(const attn_plan *pl, flash_ws *w0, attn_block bk, float *out,
                               float *stats, const float *q, const float *k, const float *v) {
    const mmx_attn *a = pl->a;
    const int64_t D = a->dim, rows = bk.rows;
    const int64_t ldq = pl->lq.t, ldk = pl->lk.t, ldv = pl->lv.t, ldo = pl->lo.t;
    const float *Q = q + attn_off(pl->lq, bk.b, bk.h, bk.q0);
    const float *K = k + attn_off(pl->lk, bk.b, bk.h, 0), *V = v + attn_off(pl->lv, bk.b, bk.h, 0);
    float *O = out + attn_off(pl->lo, bk.b, bk.h, bk.q0);
    flash_ws w = *w0;
    int32_t nvt[MMX_ATTN_BQ];
    const mmx_kmod *mod = pl->nm->kind == MMX_NORM_MULTIMAX ? &pl->mod : NULL;

    int64_t kend = attn_visible_rows(a, bk.b, bk.q0, rows, w.nv);
    for (int64_t r = 0; kend == 0 && r < rows; r++) /* else the first tile sets O */
        memset(O + r * ldo, 0, (size_t)D * sizeof *O);
    for (int64_t r = 0; r < rows; r++)
        w.m[r] = -INFINITY, w.l[r] = 0.0;
    for (int64_t k0 = 0; k0 < kend; k0 += MMX_ATTN_BK) {
        int64_t nk = kend - k0 < MMX_ATTN_BK ? kend - k0 : MMX_ATTN_BK;
        attn_mm_nt(pl, w.s, MMX_ATTN_BK, Q, ldq, K + k0 * ldk, ldk, tile_t(w.kt, k0, D), rows, nk,
                   D, pl->alpha);
        tile_counts(nvt, w.nv, rows, k0, nk);
        int64_t bad =
            pl->k->attn_fwd_tile(w.s, MMX_ATTN_BK, rows, nk, nvt, mod, w.m, w.l, w.corr);
        if (bad < rows) return bk.q0 + bad;
        for (int64_t r = 0; k0 > 0 && r < rows; r++)
            if (w.corr[r] != 1.0f)
                for (int64_t d = 0; d < D; d++) O[r * ldo + d] *= w.corr[r];
        attn_mm(pl, O, ldo, w.s, MMX_ATTN_BK, 1, V + k0 * ldv, ldv, rows, D, nk, 1.0f, k0 > 0);
    }
    for (int64_t r = 0; r < rows; r++) {
        float inv = w.l[r] > 0.0 ? (float)(1.0 / w.l[r]) : 0.0f;
        for (int64_t d = 0; d < D; d++) O[r * ldo + d] *= inv;
        if (stats) {
            float *st = stats + (bk.row0 + r) * MMX_ATTN_STATS;
            st[0] = w.m[r], st[1] = (float)w.l[r], st[2] = 0.0f, st[3] = 0.0f;
        }
    }
    return -1;
}

void attn_flash_fwd_item(const attn_plan *pl, int64_t it, float *out, float *stats,
                         const float *q, const float *k, const float *v, attn_res *res) {
    const mmx_attn *a = pl->a;
    int64_t g = it % pl->groups, bh = it / pl->groups;
    int64_t qb0 = pl->nqb * g / pl->groups, qb1 = pl->nqb * (g + 1) / pl->groups;
    flash_ws w = carve(pl);
    transpose_head(pl, &w, bh, qb1, k, v);
    for (int64_t qb = qb0; qb < qb1; qb++) {
        int64_t bad = flash_fwd_block(pl, &w, attn_block_at(a, bh, qb * MMX_ATTN_BQ), out, stats,
                                      q, k, v);
        if (bad >= 0) {
            *res = (attn_res){MMX_ERR_VALUE, bh / a->heads, bh % a->heads, bad};
            return;
        }
    }
}

/* One query block of the backward; returns the first failed query row, or -1. The item's
 * first block (`first`) writes dk, dv (keys it does not see set to zero), the others add. */
static int64_t flash_bwd_block(const attn_plan *pl, flash_ws *w, attn_block bk, int first,
                               float *dq, float *dkb, int64_t lddk, float *dvb, int64_t lddv,
                               const float *dout, const float *out, const float *stats,
                               const float *q, const float *k, const float *v,
                               mmx_grad_acc *acc) {
    const mmx_attn *a = pl->a;
    const int64_t D = a->dim, rows = bk.rows;
    const int64_t ldq = pl->lq.t, ldk = pl->lk.t, ldv = pl->lv.t, ldo = pl->lo.t;
    const float *Q = q + attn_off(pl->lq, bk.b, bk.h, bk.q0);
    const float *dO = dout + attn_off(pl->lo, bk.b, bk.h, bk.q0);
    const float *O = out + attn_off(pl->lo, bk.b, bk.h, bk.q0);
    const float *K = k + attn_off(pl->lk, bk.b, bk.h, 0), *V = v + attn_off(pl->lv, bk.b, bk.h, 0);
    float *dQ = dq + attn_off(pl->lq, bk.b, bk.h, bk.q0);
    const mmx_kmod *mod = pl->nm->kind == MMX_NORM_MULTIMAX ? &pl->mod : NULL;
    int32_t nvt[MMX_ATTN_BQ];
    float l[MMX_ATTN_BQ];

    int64_t kend = attn_visible_rows(a, bk.b, bk.q0, rows, w->nv);
    for (int64_t r = 0; kend == 0 && r < rows; r++) /* else the first tile sets dQ */
        memset(dQ + r * ldq, 0, (size_t)D * sizeof *dQ);
    for (int64_t t = kend; first && t < a->tk; t++) { /* usually none (causal, key_len) */
        memset(dkb + t * lddk, 0, (size_t)D * sizeof *dkb);
        memset(dvb + t * lddv, 0, (size_t)D * sizeof *dvb);
    }
    pl->k->rows_dot(w->dd, dO, O, ldo, rows, D);
    for (int64_t r = 0; r < rows; r++) {
        const float *st = stats + (bk.row0 + r) * MMX_ATTN_STATS;
        w->m[r] = st[0], l[r] = st[1];
    }
    for (int64_t k0 = 0; k0 < kend; k0 += MMX_ATTN_BK) {
        int64_t nk = kend - k0 < MMX_ATTN_BK ? kend - k0 : MMX_ATTN_BK;
        const float *Kj = K + k0 * ldk, *Vj = V + k0 * ldv;
        attn_mm_nt(pl, w->s, MMX_ATTN_BK, Q, ldq, Kj, ldk, tile_t(w->kt, k0, D), rows, nk, D,
                   pl->alpha);
        attn_mm_nt(pl, w->dp, MMX_ATTN_BK, dO, ldo, Vj, ldv, tile_t(w->vt, k0, D), rows, nk, D,
                   1.0f);
        tile_counts(nvt, w->nv, rows, k0, nk);
        int64_t bad = pl->k->attn_bwd_tile(w->s, w->p, MMX_ATTN_BK, w->dp, MMX_ATTN_BK, rows, nk,
                                           nvt, mod, w->m, l, w->dd, acc->dranges, acc->dts);
        if (bad < rows) return bk.q0 + bad;
        attn_mm(pl, dvb + k0 * lddv, lddv, w->p, 1, MMX_ATTN_BK, dO, ldo, nk, D, rows, 1.0f, !first);
        attn_mm(pl, dQ, ldq, w->s, MMX_ATTN_BK, 1, Kj, ldk, rows, D, nk, pl->alpha, k0 > 0);
        attn_mm(pl, dkb + k0 * lddk, lddk, w->s, 1, MMX_ATTN_BK, Q, ldq, nk, D, rows, pl->alpha,
                !first);
    }
    return -1;
}

void attn_flash_bwd_item(const attn_plan *pl, int64_t it, float *dq, float *dk, float *dv,
                         const float *dout, const float *out, const float *stats, const float *q,
                         const float *k, const float *v, attn_res *res) {
    int64_t b, h, qb0, qb1, lddk, lddv;
    float *dkb, *dvb;
    attn_bwd_item_range(pl, it, &b, &h, &qb0, &qb1, &dkb, &dvb, &lddk, &lddv, dk, dv, 0);
    flash_ws w = carve(pl);
    transpose_head(pl, &w, b * pl->a->heads + h, qb1, k, v);
    for (int64_t qb = qb0; qb < qb1; qb++) {
        attn_block bk = attn_block_at(pl->a, b * pl->a->heads + h, qb * MMX_ATTN_BQ);
        int64_t bad = flash_bwd_block(pl, &w, bk, qb == qb0, dq, dkb, lddk, dvb, lddv, dout, out,
                                      stats, q, k, v, &pl->acc[it]);
        if (bad >= 0) {
            *res = (attn_res){MMX_ERR_VALUE, b, h, bad};
            return;
        }
    }
}
