/*
 * Internal interface of the fused attention (src/attn).
 *
 * A call is cut into work items that do not depend on the thread count: one item per
 * (b, h, group of query blocks of MMX_ATTN_BQ rows), G groups per (b, h) chosen from the shape
 * alone (enough items for the cores when B*H is small):
 *   forward:  G = 1 block per group for the strip path and for sgemm products; with our own
 *             products few groups, as each transposes its head's keys once;
 *   backward: with G > 1 each item accumulates dk, dv into its own slice, summed in group
 *             order afterwards.
 * Threads (OpenMP) take whole items; each thread has its own slice of the workspace. Scalar
 * gradients are summed per item in double and then over items in item order.
 */
#ifndef MMX_ATTN_INTERNAL_H
#define MMX_ATTN_INTERNAL_H

#include <stddef.h>

#include "api/drivers.h"
#include "kernels/kernels.h"
#include "multimax.h"

/* Largest B, H, Tq, Tk, D accepted (keeps every product of two of them in int64). */
#define MMX_ATTN_MAX_SIZE ((int64_t)1 << 24)
#define MMX_ATTN_BQ 64  /* query rows per block */
#define MMX_ATTN_BK 128 /* keys per tile (flash; strip skipping granularity) */
#define MMX_ATTN_ITEMS_TARGET 8 /* backward items wanted per call when B*H is small */
#define MMX_ATTN_OWN_GEMM_MAXD 256 /* tile products by the kernel table up to this head dim */

/* A tensor's layout: element strides of batch, head and token (D is contiguous). */
typedef struct {
    int64_t b, h, t;
} attn_lay;

/* Offset of token t of head (b, h). */
static inline int64_t attn_off(attn_lay l, int64_t b, int64_t h, int64_t t) {
    return b * l.b + h * l.h + t * l.t;
}

/* How one item ended: status and the (b, h, query row) of its first failure. */
typedef struct {
    mmx_status st;
    int64_t b, h, row;
} attn_res;

/* One call's plan: what the drivers need, and the workspace carved up. */
typedef struct {
    const char *fn;
    const mmx_attn *a;
    const mmx_norm *nm;
    const mmx_kernels *k;
    mmx_kmod mod;   /* MULTIMAX's modulator in float */
    int flash;      /* SOFTMAX, MULTIMAX: online tiles; else the exact strip */
    int own_gemm;   /* tile products by k->tile_gemm (attn_gemm.c), else sgemm */
    int bwd;
    float alpha;    /* the score GEMM's factor: scale / t (SOFTMAX) or scale */
    int64_t nqb;    /* query blocks per (b, h) */
    int64_t groups; /* query-block groups per (b, h): an item is one (b, h, group) */
    int64_t items;
    int64_t ldk;    /* row stride of a score strip or tile */
    int64_t ldt;    /* Tk rounded up to key tiles: a transposed head is D x ldt (own_gemm) */
    attn_lay lq, lk, lv, lo; /* layouts of q (dq), k (dk), v (dv), out (dout) */
    int nthreads;
    /* workspace */
    char *thread_ws;
    size_t thread_bytes;
    attn_res *res;       /* (items) */
    mmx_grad_acc *acc;   /* (items), backward */
    float *dkv;          /* (items, 2, Tk, D), backward with groups > 1 */
} attn_plan;

/* mmx_attn_check with messages naming fn. */
mmx_status mmx_attn_validate(const char *fn, const mmx_attn *a);

/* Keys visible to query row i of batch item b (a prefix [0, n) of the keys). */
static inline int64_t attn_visible(const mmx_attn *a, int64_t b, int64_t i) {
    int64_t n = a->key_len ? a->key_len[b] : a->tk;
    if (a->causal && i + a->tk - a->tq + 1 < n) n = i + a->tk - a->tq + 1;
    return n < 0 ? 0 : n;
}

/* A query block [q0, q0 + rows) of head bh = b * H + h. Its stats start at row0 * STATS with
 * row0 = bh * Tq + q0; q, out, dq, dout rows at attn_off(layout, b, h, q0), row stride
 * layout.t; its head's keys at attn_off(lk or lv, b, h, 0). */
typedef struct {
    int64_t b, h, bh, q0, rows, row0;
} attn_block;

static inline attn_block attn_block_at(const mmx_attn *a, int64_t bh, int64_t q0) {
    attn_block k;
    k.bh = bh, k.b = bh / a->heads, k.h = bh % a->heads, k.q0 = q0;
    k.rows = a->tq - q0 < MMX_ATTN_BQ ? a->tq - q0 : MMX_ATTN_BQ;
    k.row0 = bh * a->tq + q0;
    return k;
}

/* The layout of a (B, H, t, D) tensor given its descriptor strides (all zero: contiguous). */
static inline attn_lay attn_layout(const int64_t st[3], const mmx_attn *a, int64_t t) {
    attn_lay l = {st[0], st[1], st[2]};
    if (!st[0] && !st[1] && !st[2]) l.t = a->dim, l.h = t * a->dim, l.b = a->heads * t * a->dim;
    return l;
}

/* Visible counts of rows [q0, q0 + rows) into nv; returns their max. */
int64_t attn_visible_rows(const mmx_attn *a, int64_t b, int64_t q0, int64_t rows, int32_t *nv);

/* Plans a call: sizes, items, workspace layout (bytes needed into *need). With work != NULL
 * (and work_bytes >= *need) also carves the workspace. */
void attn_plan_make(attn_plan *pl, const char *fn, const mmx_attn *a, const mmx_norm *nm, int bwd,
                    void *work, size_t *need);

/* This thread's workspace slice. */
char *attn_thread_ws(const attn_plan *pl);

/* Drivers of one work item; record a failure in *res. */
void attn_flash_fwd_item(const attn_plan *pl, int64_t it, float *out, float *stats,
                         const float *q, const float *k, const float *v, attn_res *res);
void attn_flash_bwd_item(const attn_plan *pl, int64_t it, float *dq, float *dk, float *dv,
                         const float *dout, const float *out, const float *stats, const float *q,
                         const float *k, const float *v, attn_res *res);
void attn_strip_fwd_item(const attn_plan *pl, int64_t it, float *out, float *stats,
                         const float *q, const float *k, const float *v, attn_res *res);
void attn_strip_bwd_item(const attn_plan *pl, int64_t it, float *dq, float *dk, float *dv,
                         const float *dout, const float *stats, const float *q, const float *k,
                         const float *v, attn_res *res);

/* Tile products (attn_gemm.c). attn_own_gemm: whether a call of head dim `dim` uses the
 * kernel table's tile_gemm (MMX_ATTN_BLAS=1 forces sgemm). attn_mm: C (m x n, ldc) = alpha A B
 * (+ C when acc), A[i][p] = a[i * ars + p * acs] with ars or acs = 1, B row-major (k x n,
 * ldb). attn_mm_nt: C = alpha A Bt^T (C overwritten), A row-major (m x k, lda), Bt row-major
 * (n x k, ldbt); with own_gemm it reads b = Bt^T instead (k x n, row stride MMX_ATTN_BK,
 * zero in columns [n, attn_padv(n))) and also writes those columns of C. */
int attn_own_gemm(const mmx_kernels *k, int64_t dim);
void attn_mm(const attn_plan *pl, float *c, int64_t ldc, const float *a, int64_t ars,
             int64_t acs, const float *b, int64_t ldb, int64_t m, int64_t n, int64_t k,
             float alpha, int acc);
void attn_mm_nt(const attn_plan *pl, float *c, int64_t ldc, const float *a, int64_t lda,
                const float *bt, int64_t ldbt, const float *b, int64_t m, int64_t n, int64_t k,
                float alpha);
/* n rounded up to whole vectors of the plan's ISA (n <= MMX_ATTN_BK, a multiple of 16). */
static inline int64_t attn_padv(const attn_plan *pl, int64_t n) {
    return (n + pl->k->vw - 1) / pl->k->vw * pl->k->vw;
}

/* The backward item's pieces: (b, h), its query blocks [qb0, qb1), and where its dk, dv go:
 * dkb, dvb point at the head's first key row, with row strides *lddk, *lddv (its own
 * contiguous slices when groups > 1, else dk, dv in their layouts); zeroed here if `zero`
 * (the flash path instead lets its first query block write them: D-float memsets per key
 * cost ~1% of a ViT training step). */
void attn_bwd_item_range(const attn_plan *pl, int64_t it, int64_t *b, int64_t *h, int64_t *qb0,
                         int64_t *qb1, float **dkb, float **dvb, int64_t *lddk, int64_t *lddv,
                         float *dk, float *dv, int zero);

/* mmx_attn_backward without the NaN / inf scan of q, k, v: for a caller that ran
 * mmx_attn_forward on the same, unchanged q, k, v (which scanned them). dout is scanned. The
 * training engine's backward (src/nn/vit.c): the scan of the three was ~1% of a ViT step. */
mmx_status attn_backward_after_forward(const mmx_attn *a, const mmx_norm *norm, float *dq,
                                       float *dk, float *dv, mmx_param_grads *pg,
                                       const float *dout, const float *out, const float *stats,
                                       const float *q, const float *k, const float *v, void *work,
                                       size_t work_bytes);

#endif
