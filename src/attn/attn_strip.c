/*
 * Fused attention for the maps that need a whole row before any output (SparseMax, 1.5-EntMax,
 * alpha-EntMax: the threshold tau; EvSoftMax: the row mean): exact, per query block.
 *
 * Forward, per query block Q (64 rows) of one (b, h):
 *   S = scale Q K^T over the visible keys      (one sgemm into the thread's strip, 64 x Tk)
 *   P = f(S) row by row, in place              (the library's row kernels: exact, no sort)
 *   O = sum over key tiles j with support of P_j V_j   (sgemm per tile; a tile where no row
 *       of the block has a nonzero probability is skipped)
 * The strip is the only score memory: 64 x Tk floats per thread, never Tq x Tk.
 * Backward, per query block: S and P again (sparse maps: P from each row's (max, tau) saved
 * by the forward, one cheap pass; EvSoftMax: its row kernel again), dP_j = dO V_j^T
 * on tiles with support (0 elsewhere), dS = f's backward row by row (+ d alpha), then
 * dV_j += P_j^T dO, dQ += scale dS_j K_j, dK_j += scale dS_j^T Q on tiles with support.
 */
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "attn/attn.h"

typedef struct {
    int32_t *nv;
    float *p, *dp; /* (BQ, ldk) strips; dp: backward only */
} strip_ws;

static strip_ws carve(const attn_plan *pl) {
    char *w = attn_thread_ws(pl);
    strip_ws s;
    s.nv = (int32_t *)w;
    w += 1536; /* the per-row area, laid out as in attn_api.c's thread_bytes */
    s.p = (float *)w;
    w += ((size_t)MMX_ATTN_BQ * (size_t)pl->ldk * sizeof(float) + 63) & ~(size_t)63;
    s.dp = pl->bwd ? (float *)w : NULL;
    return s;
}

/* S = scale Q K^T on keys [0, kend), masked entries -inf. Returns the first row with a
 * visible score that is not a finite float, or -1. */
static int64_t strip_scores(const attn_plan *pl, float *S, const int32_t *nv, const float *Q,
                            const float *K, int64_t rows, int64_t kend) {
    const int64_t D = pl->a->dim, ld = pl->ldk;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)kend, (int)D, pl->alpha, Q,
                (int)pl->lq.t, K, (int)pl->lk.t, 0.0f, S, (int)ld);
    for (int64_t r = 0; r < rows; r++) {
        float *sr = S + r * ld;
        uint32_t bad = 0;
        for (int64_t j = 0; j < nv[r]; j++) {
            uint32_t u;
            memcpy(&u, sr + j, sizeof u);
            bad |= (uint32_t)((u & 0x7f800000u) == 0x7f800000u);
        }
        if (bad) return r;
        for (int64_t j = nv[r]; j < kend; j++) sr[j] = -INFINITY;
    }
    return -1;
}

static int is_sparse(const mmx_norm *nm) {
    return nm->kind == MMX_NORM_SPARSEMAX || nm->kind == MMX_NORM_ENTMAX15 || nm->kind == MMX_NORM_ENTMAX;
}

static double alpha_of(const mmx_norm *nm) {
    return nm->kind == MMX_NORM_SPARSEMAX ? 2.0 : nm->kind == MMX_NORM_ENTMAX15 ? 1.5 : nm->alpha;
}

/* The forward's probabilities: S, then P = f(S) in place by the row kernels. For the sparse
 * maps also each row's (max score, tau) into st (rows x MMX_ATTN_STATS), from which the
 * backward recomputes P in one cheap pass instead of solving for tau again: tau on the
 * shifted scale is -(p_max)^(alpha-1) (the max score has z = 0 and the largest p). Returns
 * the first failed row, or -1. */
static int64_t strip_probs(const attn_plan *pl, float *S, const int32_t *nv, const float *Q,
                           const float *K, int64_t rows, int64_t kend, float *st) {
    const int64_t ld = pl->ldk;
    float mx[MMX_ATTN_BQ], pmax[MMX_ATTN_BQ];
    int64_t bad = strip_scores(pl, S, nv, Q, K, rows, kend);
    if (bad >= 0) return bad;
    if (st && is_sparse(pl->nm)) pl->k->attn_rows_max(mx, S, ld, rows, nv);
    mmx_status s = mmx_fast_forward_serial(pl->fn, pl->nm, S, ld, S, ld, rows, kend, &bad);
    if (s) return bad;
    if (!st || !is_sparse(pl->nm)) return -1;
    pl->k->attn_rows_max(pmax, S, ld, rows, nv);
    for (int64_t r = 0; r < rows; r++) {
        float *sr = st + r * MMX_ATTN_STATS;
        sr[0] = nv[r] > 0 ? mx[r] : 0.0f;
        sr[1] = nv[r] > 0 ? (float)-pow((double)pmax[r], alpha_of(pl->nm) - 1.0) : 0.0f;
    }
    return -1;
}

/* Whether any row of the block has a nonzero probability in columns [k0, k0 + nk). */
static int tile_has_support(const float *P, int64_t ld, int64_t rows, int64_t k0, int64_t nk) {
    for (int64_t r = 0; r < rows; r++) {
        const float *pr = P + r * ld + k0;
        uint32_t any = 0;
        for (int64_t j = 0; j < nk; j++) {
            uint32_t u;
            memcpy(&u, pr + j, sizeof u);
            any |= u & 0x7fffffffu;
        }
        if (any) return 1;
    }
    return 0;
}

void attn_strip_fwd_item(const attn_plan *pl, int64_t it, float *out, float *stats,
                         const float *q, const float *k, const float *v, attn_res *res) {
    const mmx_attn *a = pl->a;
    const attn_block bk = attn_block_at(a, it / pl->nqb, (it % pl->nqb) * MMX_ATTN_BQ);
    const int64_t D = a->dim, rows = bk.rows, ldv = pl->lv.t, ldo = pl->lo.t;
    const float *Q = q + attn_off(pl->lq, bk.b, bk.h, bk.q0);
    const float *K = k + attn_off(pl->lk, bk.b, bk.h, 0), *V = v + attn_off(pl->lv, bk.b, bk.h, 0);
    float *O = out + attn_off(pl->lo, bk.b, bk.h, bk.q0);
    float *st = stats ? stats + bk.row0 * MMX_ATTN_STATS : NULL;
    strip_ws w = carve(pl);

    for (int64_t r = 0; r < rows; r++) memset(O + r * ldo, 0, (size_t)D * sizeof *O);
    if (st) memset(st, 0, (size_t)(rows * MMX_ATTN_STATS) * sizeof *st);
    int64_t kend = attn_visible_rows(a, bk.b, bk.q0, rows, w.nv);
    if (kend == 0) return;
    int64_t bad = strip_probs(pl, w.p, w.nv, Q, K, rows, kend, st);
    if (bad >= 0) {
        *res = (attn_res){MMX_ERR_VALUE, bk.b, bk.h, bk.q0 + bad};
        return;
    }
    for (int64_t k0 = 0; k0 < kend; k0 += MMX_ATTN_BK) {
        int64_t nk = kend - k0 < MMX_ATTN_BK ? kend - k0 : MMX_ATTN_BK;
        if (!tile_has_support(w.p, pl->ldk, rows, k0, nk)) continue;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)D, (int)nk, 1.0f,
                    w.p + k0, (int)pl->ldk, V + k0 * ldv, (int)ldv, 1.0f, O, (int)ldo);
    }
}

/* One query block of the backward; returns the first failed row or -1. */
static int64_t strip_bwd_block(const attn_plan *pl, strip_ws *w, attn_block bk, float *dq,
                               float *dkb, int64_t lddk, float *dvb, int64_t lddv,
                               const float *dout, const float *stats, const float *q,
                               const float *k, const float *v, mmx_grad_acc *acc) {
    const mmx_attn *a = pl->a;
    const int64_t D = a->dim, ld = pl->ldk, rows = bk.rows;
    const int64_t ldq = pl->lq.t, ldk = pl->lk.t, ldv = pl->lv.t, ldo = pl->lo.t;
    const float *Q = q + attn_off(pl->lq, bk.b, bk.h, bk.q0);
    const float *dO = dout + attn_off(pl->lo, bk.b, bk.h, bk.q0);
    const float *K = k + attn_off(pl->lk, bk.b, bk.h, 0), *V = v + attn_off(pl->lv, bk.b, bk.h, 0);
    float *dQ = dq + attn_off(pl->lq, bk.b, bk.h, bk.q0);

    for (int64_t r = 0; r < rows; r++) memset(dQ + r * ldq, 0, (size_t)D * sizeof *dQ);
    int64_t kend = attn_visible_rows(a, bk.b, bk.q0, rows, w->nv);
    if (kend == 0) return -1;
    /* P again: the sparse maps from the forward's (max, tau), EvSoftMax by its row kernel
     * (the same call on the same scores as the forward's) */
    int64_t bad = is_sparse(pl->nm) ? strip_scores(pl, w->p, w->nv, Q, K, rows, kend)
                                    : strip_probs(pl, w->p, w->nv, Q, K, rows, kend, NULL);
    if (bad >= 0) return bad;
    if (is_sparse(pl->nm)) {
        bad = pl->k->attn_sparse_p(w->p, w->p, ld, rows, kend, w->nv,
                                   stats + bk.row0 * MMX_ATTN_STATS, alpha_of(pl->nm));
        if (bad < rows) return bad;
    }
    unsigned char live[(MMX_ATTN_MAX_SIZE + MMX_ATTN_BK - 1) / MMX_ATTN_BK / 8 + 1];
    for (int64_t k0 = 0, t = 0; k0 < kend; k0 += MMX_ATTN_BK, t++) {
        int64_t nk = kend - k0 < MMX_ATTN_BK ? kend - k0 : MMX_ATTN_BK;
        int on = tile_has_support(w->p, ld, rows, k0, nk);
        live[t / 8] = (unsigned char)(on ? live[t / 8] | (1u << (t % 8)) : live[t / 8] & ~(1u << (t % 8)));
        if (on)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)nk, (int)D, 1.0f,
                        dO, (int)ldo, V + k0 * ldv, (int)ldv, 0.0f, w->dp + k0, (int)ld);
        else
            for (int64_t r = 0; r < rows; r++) memset(w->dp + r * ld + k0, 0, (size_t)nk * sizeof(float));
    }
    /* dS over dP in place (the row kernels allow dx == dy) */
    mmx_status st = mmx_fast_backward_serial(pl->fn, pl->nm, w->dp, ld, acc, w->dp, ld, w->p, ld,
                                             NULL, 0, rows, kend, &bad);
    if (st) return bad;
    for (int64_t k0 = 0, t = 0; k0 < kend; k0 += MMX_ATTN_BK, t++) {
        int64_t nk = kend - k0 < MMX_ATTN_BK ? kend - k0 : MMX_ATTN_BK;
        if (!(live[t / 8] >> (t % 8) & 1u)) continue;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nk, (int)D, (int)rows, 1.0f,
                    w->p + k0, (int)ld, dO, (int)ldo, 1.0f, dvb + k0 * lddv, (int)lddv);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)D, (int)nk, pl->alpha,
                    w->dp + k0, (int)ld, K + k0 * ldk, (int)ldk, 1.0f, dQ, (int)ldq);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nk, (int)D, (int)rows, pl->alpha,
                    w->dp + k0, (int)ld, Q, (int)ldq, 1.0f, dkb + k0 * lddk, (int)lddk);
    }
    return -1;
}

void attn_strip_bwd_item(const attn_plan *pl, int64_t it, float *dq, float *dk, float *dv,
                         const float *dout, const float *stats, const float *q, const float *k,
                         const float *v, attn_res *res) {
    int64_t b, h, qb0, qb1, lddk, lddv;
    float *dkb, *dvb;
    attn_bwd_item_range(pl, it, &b, &h, &qb0, &qb1, &dkb, &dvb, &lddk, &lddv, dk, dv, 1);
    strip_ws w = carve(pl);
    for (int64_t qb = qb0; qb < qb1; qb++) {
        attn_block bk = attn_block_at(pl->a, b * pl->a->heads + h, qb * MMX_ATTN_BQ);
        int64_t bad = strip_bwd_block(pl, &w, bk, dq, dkb, lddk, dvb, lddv, dout, stats, q, k, v,
                                      &pl->acc[it]);
        if (bad >= 0) {
            *res = (attn_res){MMX_ERR_VALUE, b, h, bk.q0 + bad};
            return;
        }
    }
}
