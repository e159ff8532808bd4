/*
 * The public attention entry points: descriptor, checks, plan and workspace, and the threaded
 * loops over work items (attn.h); the per-item drivers are attn_flash.c (SoftMax, MultiMax)
 * and attn_strip.c (the sparse maps, EvSoftMax).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#ifdef MMX_HAVE_OPENMP
#include <omp.h>
#endif

#include "attn/attn.h"
#include "core/internal.h"

mmx_attn mmx_attn_make(int64_t batch, int64_t heads, int64_t tq, int64_t tk, int64_t dim) {
    mmx_attn a;
    memset(&a, 0, sizeof a);
    a.batch = batch, a.heads = heads, a.tq = tq, a.tk = tk, a.dim = dim;
    a.scale = dim > 0 ? 1.0 / sqrt((double)dim) : 1.0;
    return a;
}

mmx_status mmx_attn_validate(const char *fn, const mmx_attn *a) {
    if (!a) return mmx_fail(MMX_ERR_NULL, fn, "argument 'attn' is NULL");
    const struct { const char *name; int64_t v; } sz[] = {
        {"batch", a->batch}, {"heads", a->heads}, {"tq", a->tq}, {"tk", a->tk}, {"dim", a->dim}};
    for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++)
        if (sz[i].v < 1 || sz[i].v > MMX_ATTN_MAX_SIZE)
            return mmx_fail(MMX_ERR_SIZE, fn, "attn.%s = %lld, expected 1 <= %s <= %lld", sz[i].name,
                            (long long)sz[i].v, sz[i].name, (long long)MMX_ATTN_MAX_SIZE);
    if (!(a->scale > 0.0) || !isfinite(a->scale))
        return mmx_fail(MMX_ERR_PARAM, fn, "attn.scale = %g, expected a finite scale > 0", a->scale);
    if (a->causal != 0 && a->causal != 1)
        return mmx_fail(MMX_ERR_PARAM, fn, "attn.causal = %d, expected 0 or 1", a->causal);
    const struct { const char *name; const int64_t *st; } lays[] = {
        {"q_stride", a->q_stride}, {"k_stride", a->k_stride}, {"v_stride", a->v_stride}, {"o_stride", a->o_stride}};
    for (size_t i = 0; i < sizeof lays / sizeof lays[0]; i++) {
        const int64_t *st = lays[i].st;
        if (!st[0] && !st[1] && !st[2]) continue;
        for (int j = 0; j < 3; j++)
            if (st[j] < a->dim || st[j] > MMX_ATTN_MAX_SIZE * MMX_ATTN_MAX_SIZE)
                return mmx_fail(MMX_ERR_PARAM, fn, "attn.%s = {%lld, %lld, %lld}, expected all zero (contiguous) or strides of batch, head and token each >= dim = %lld",
                                lays[i].name, (long long)st[0], (long long)st[1], (long long)st[2], (long long)a->dim);
    }
    for (int64_t b = 0; a->key_len && b < a->batch; b++)
        if (a->key_len[b] < 0 || a->key_len[b] > a->tk)
            return mmx_fail(MMX_ERR_SIZE, fn, "attn.key_len[%lld] = %d, expected 0 <= key_len <= tk = %lld",
                            (long long)b, a->key_len[b], (long long)a->tk);
    return MMX_OK;
}

mmx_status mmx_attn_check(const mmx_attn *a) { return mmx_attn_validate("mmx_attn_check", a); }

int64_t attn_visible_rows(const mmx_attn *a, int64_t b, int64_t q0, int64_t rows, int32_t *nv) {
    int64_t mx = 0;
    for (int64_t r = 0; r < rows; r++) {
        int64_t n = attn_visible(a, b, q0 + r);
        nv[r] = (int32_t)n;
        mx = n > mx ? n : mx;
    }
    return mx;
}

/* ---- plan and workspace ---- */

static size_t up64(size_t n) { return (n + 63) & ~(size_t)63; }

/* Per-thread bytes: tiles or strips, and the per-row arrays. */
static size_t thread_bytes(const attn_plan *pl) {
    size_t bq = MMX_ATTN_BQ, tile = bq * (size_t)pl->ldk * sizeof(float);
    size_t rows = up64(bq * sizeof(int32_t)) + 3 * up64(bq * sizeof(float)) + up64(bq * sizeof(double));
    /* own_gemm: the item's head K^T (and V^T in the backward), D x ldt each (by key tile) */
    size_t kt = pl->own_gemm ? (pl->bwd ? 2 : 1) * up64((size_t)pl->a->dim * (size_t)pl->ldt * sizeof(float)) : 0;
    if (pl->flash) return rows + (pl->bwd ? 3 : 1) * up64(tile) + kt;
    return rows + (pl->bwd ? 2 : 1) * up64(tile);
}

void attn_plan_make(attn_plan *pl, const char *fn, const mmx_attn *a, const mmx_norm *nm, int bwd,
                    void *work, size_t *need) {
    memset(pl, 0, sizeof *pl);
    pl->fn = fn, pl->a = a, pl->nm = nm, pl->bwd = bwd;
    pl->k = mmx_kernels_active();
    pl->mod = mmx_kmod_from_norm(nm);
    pl->flash = nm->kind == MMX_NORM_SOFTMAX || nm->kind == MMX_NORM_MULTIMAX;
    pl->own_gemm = pl->flash && attn_own_gemm(pl->k, a->dim);
    pl->alpha = (float)(nm->kind == MMX_NORM_SOFTMAX ? a->scale / nm->temperature : a->scale);
    pl->nqb = (a->tq + MMX_ATTN_BQ - 1) / MMX_ATTN_BQ;
    int64_t bh = a->batch * a->heads;
    /* backward: groups as few as the cores allow (each has its own dk, dv); forward with own
     * products: a few per head (each transposes its head's keys once); else one per block */
    int64_t target = bwd ? MMX_ATTN_ITEMS_TARGET : 2 * MMX_ATTN_ITEMS_TARGET;
    pl->groups = bwd || pl->own_gemm ? (target + bh - 1) / bh : pl->nqb;
    if (pl->groups > pl->nqb) pl->groups = pl->nqb;
    pl->items = bh * pl->groups;
    pl->ldt = (a->tk + MMX_ATTN_BK - 1) / MMX_ATTN_BK * MMX_ATTN_BK;
    pl->lq = attn_layout(a->q_stride, a, a->tq), pl->lo = attn_layout(a->o_stride, a, a->tq);
    pl->lk = attn_layout(a->k_stride, a, a->tk), pl->lv = attn_layout(a->v_stride, a, a->tk);
    /* strips hold a whole key row, padded to a multiple of 16 floats (64 bytes) */
    pl->ldk = pl->flash ? MMX_ATTN_BK : (a->tk + 15) / 16 * 16;
    pl->nthreads = mmx_get_num_threads();
    pl->thread_bytes = thread_bytes(pl);

    size_t res = up64((size_t)pl->items * sizeof(attn_res));
    size_t acc = bwd ? up64((size_t)pl->items * sizeof(mmx_grad_acc)) : 0;
    size_t dkv = bwd && pl->groups > 1 ? up64((size_t)pl->items * 2 * (size_t)(a->tk * a->dim) * sizeof(float)) : 0;
    *need = 64 + res + acc + dkv + (size_t)pl->nthreads * pl->thread_bytes;
    if (!work) return;
    char *p = (char *)(((uintptr_t)work + 63) & ~(uintptr_t)63);
    pl->res = (attn_res *)p, p += res;
    pl->acc = bwd ? (mmx_grad_acc *)p : NULL, p += acc;
    pl->dkv = dkv ? (float *)p : NULL, p += dkv;
    pl->thread_ws = p;
}

char *attn_thread_ws(const attn_plan *pl) {
#ifdef MMX_HAVE_OPENMP
    return pl->thread_ws + (size_t)omp_get_thread_num() * pl->thread_bytes;
#else
    return pl->thread_ws;
#endif
}

mmx_status mmx_attn_workspace_size(const mmx_attn *a, const mmx_norm *norm, int backward,
                                   size_t *bytes) {
    const char *fn = "mmx_attn_workspace_size";
    mmx_status st;
    if ((st = mmx_attn_validate(fn, a)) || (st = mmx_norm_validate(fn, norm))) return st;
    if (!bytes) return mmx_fail(MMX_ERR_NULL, fn, "argument 'bytes' is NULL");
    if (backward != 0 && backward != 1)
        return mmx_fail(MMX_ERR_PARAM, fn, "argument 'backward' = %d, expected 0 or 1", backward);
    attn_plan pl;
    attn_plan_make(&pl, fn, a, norm, backward, NULL, bytes);
    return MMX_OK;
}

/* ---- checks shared by forward and backward ---- */

/* NaN / +-inf in a (B, H, t, D) tensor of layout l: the first one in (b, h, t, d) order is
 * named. The tensor is scanned as runs of contiguous floats (the whole tensor when it is
 * contiguous, a token's H*D when heads are adjacent, else a row's D), in threads; the
 * smallest logical index found wins, so the message does not depend on the thread count.
 * Strided runs go to the kernel in groups of up to CHECK_GROUP tokens (one call per group:
 * a call per 128-float run cost more than the scan); a group with a hit is rescanned run by
 * run for the exact index. */
#define CHECK_GROUP 64

/* The first bad entry of run r (token tt of prefix r / t) as a flat index, or INT64_MAX. */
static int64_t check_run(const mmx_kernels *k, const float *x, attn_lay l, int heads_adj,
                         int64_t H, int64_t D, int64_t t, int64_t r) {
    int64_t off = heads_adj ? attn_off(l, r / t, 0, r % t) : attn_off(l, r / t / H, r / t % H, r % t);
    int64_t j = k->first_nonfinite(x + off, heads_adj ? H * D : D);
    if (j < 0) return INT64_MAX;
    return heads_adj ? ((r / t * H + j / D) * t + r % t) * D + j % D : r * D + j;
}

static mmx_status check_tensor(const char *fn, const char *name, const float *x,
                               const mmx_attn *a, attn_lay l, int64_t t) {
    if (!x) return mmx_fail(MMX_ERR_NULL, fn, "argument '%s' is NULL", name);
    const mmx_kernels *k = mmx_kernels_active();
    const int64_t D = a->dim, H = a->heads, total = a->batch * H * t * D;
    const int contig = l.t == D && l.h == t * D && l.b == H * t * D, heads_adj = l.h == D;
    /* item g: contiguous (chunk of 64 Ki floats), else tokens [tc, tc + CHECK_GROUP) of one
     * prefix (b for heads_adj, runs of H*D; (b, h) otherwise, runs of D) */
    const int64_t chunk = (int64_t)1 << 16, prefixes = heads_adj ? a->batch : a->batch * H;
    const int64_t per = (t + CHECK_GROUP - 1) / CHECK_GROUP;
    const int64_t items = contig ? (total + chunk - 1) / chunk : prefixes * per;
    int64_t best = INT64_MAX;
#ifdef MMX_HAVE_OPENMP
#pragma omp parallel for schedule(static) reduction(min : best) num_threads(mmx_get_num_threads())
#endif
    for (int64_t g = 0; g < items; g++) {
        if (contig) {
            int64_t off = g * chunk, len = total - off < chunk ? total - off : chunk;
            int64_t j = k->first_nonfinite(x + off, len);
            if (j >= 0 && off + j < best) best = off + j;
            continue;
        }
        const int64_t p = g / per, tt0 = g % per * CHECK_GROUP;
        const int64_t rows = t - tt0 < CHECK_GROUP ? t - tt0 : CHECK_GROUP;
        const int64_t off = heads_adj ? attn_off(l, p, 0, tt0) : attn_off(l, p / H, p % H, tt0);
        if (!k->any_nonfinite_rows(x + off, heads_adj ? H * D : D, l.t, rows)) continue;
        for (int64_t r = p * t + tt0; r < p * t + tt0 + rows; r++) {
            int64_t f = check_run(k, x, l, heads_adj, H, D, t, r);
            if (f < best) best = f;
        }
    }
    if (best == INT64_MAX) return MMX_OK;
    int64_t row = best / D, bh = row / t;
    float bad = x[attn_off(l, bh / H, bh % H, row % t) + best % D];
    return mmx_fail(MMX_ERR_VALUE, fn, "argument '%s' holds %g at flat index %lld (b*H+h = %lld, t = %lld, d = %lld), expected finite values",
                    name, (double)bad, (long long)best, (long long)bh, (long long)(row % t), (long long)(best % D));
}

static mmx_status check_call(const char *fn, const mmx_attn *a, const mmx_norm *nm, void *work,
                             size_t work_bytes, int bwd, attn_plan *pl) {
    mmx_status st;
    if ((st = mmx_attn_validate(fn, a)) || (st = mmx_norm_validate(fn, nm))) return st;
    size_t need;
    attn_plan_make(pl, fn, a, nm, bwd, NULL, &need);
    if (!work) return mmx_fail(MMX_ERR_NULL, fn, "argument 'work' is NULL (mmx_attn_workspace_size gives its size)");
    if (work_bytes < need)
        return mmx_fail(MMX_ERR_SIZE, fn, "argument 'work_bytes' = %zu, expected >= %zu (mmx_attn_workspace_size at %d threads)",
                        work_bytes, need, pl->nthreads);
    attn_plan_make(pl, fn, a, nm, bwd, work, &need);
    return MMX_OK;
}

/* The first failing item's message, rebuilt on the calling thread. */
static mmx_status report(const attn_plan *pl) {
    for (int64_t it = 0; it < pl->items; it++) {
        const attn_res *r = &pl->res[it];
        if (r->st == MMX_OK) continue;
        return mmx_fail(r->st, pl->fn, "batch %lld, head %lld, query row %lld: a score is not a finite float32 under the normalizer (scale * q.k or its modulation overflows)%s; outputs set to zero",
                        (long long)r->b, (long long)r->h, (long long)r->row,
                        pl->bwd ? ", or 'stats' does not come from the forward of these inputs" : "");
    }
    return MMX_OK;
}

static void zero(float *p, int64_t n) {
    if (p) memset(p, 0, (size_t)n * sizeof *p);
}

/* Zeroes a (B, H, t, D) tensor of layout l. */
static void zero_t(float *p, const mmx_attn *a, attn_lay l, int64_t t) {
    for (int64_t row = 0; p && row < a->batch * a->heads * t; row++) {
        int64_t bh = row / t;
        memset(p + attn_off(l, bh / a->heads, bh % a->heads, row % t), 0, (size_t)a->dim * sizeof *p);
    }
}

/* ---- forward ---- */

mmx_status mmx_attn_forward(const mmx_attn *a, const mmx_norm *norm, float *out, float *stats,
                            const float *q, const float *k, const float *v, void *work,
                            size_t work_bytes) {
    const char *fn = "mmx_attn_forward";
    attn_plan pl;
    mmx_status st = check_call(fn, a, norm, work, work_bytes, 0, &pl);
    if (st) return st;
    int64_t B = a->batch, H = a->heads;
    if (!out) return mmx_fail(MMX_ERR_NULL, fn, "argument 'out' is NULL");
    if ((st = check_tensor(fn, "q", q, a, pl.lq, a->tq)) ||
        (st = check_tensor(fn, "k", k, a, pl.lk, a->tk)) ||
        (st = check_tensor(fn, "v", v, a, pl.lv, a->tk)))
        return st;
    memset(pl.res, 0, (size_t)pl.items * sizeof *pl.res);
#ifdef MMX_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(pl.nthreads)
#endif
    for (int64_t it = 0; it < pl.items; it++) {
        if (pl.flash) attn_flash_fwd_item(&pl, it, out, stats, q, k, v, &pl.res[it]);
        else attn_strip_fwd_item(&pl, it, out, stats, q, k, v, &pl.res[it]);
    }
    if ((st = report(&pl))) {
        zero_t(out, a, pl.lo, a->tq);
        zero(stats, B * H * a->tq * MMX_ATTN_STATS);
    }
    return st;
}

/* ---- backward ---- */

void attn_bwd_item_range(const attn_plan *pl, int64_t it, int64_t *b, int64_t *h, int64_t *qb0,
                         int64_t *qb1, float **dkb, float **dvb, int64_t *lddk, int64_t *lddv,
                         float *dk, float *dv, int zero) {
    const mmx_attn *a = pl->a;
    int64_t g = it % pl->groups, bh = it / pl->groups, kd = a->tk * a->dim, D = a->dim;
    *b = bh / a->heads, *h = bh % a->heads;
    *qb0 = pl->nqb * g / pl->groups, *qb1 = pl->nqb * (g + 1) / pl->groups;
    if (pl->groups > 1) {
        *dkb = pl->dkv + (size_t)it * 2 * (size_t)kd;
        *dvb = *dkb + kd;
        *lddk = *lddv = D;
    } else {
        *dkb = dk + attn_off(pl->lk, *b, *h, 0), *lddk = pl->lk.t;
        *dvb = dv + attn_off(pl->lv, *b, *h, 0), *lddv = pl->lv.t;
    }
    for (int64_t t = 0; zero && t < a->tk; t++) {
        memset(*dkb + t * *lddk, 0, (size_t)D * sizeof(float));
        memset(*dvb + t * *lddv, 0, (size_t)D * sizeof(float));
    }
}

/* groups > 1: dk, dv of each (b, h) = the sum of its groups' slices, in group order. */
static void reduce_groups(const attn_plan *pl, float *dk, float *dv) {
    const mmx_attn *a = pl->a;
    int64_t kd = a->tk * a->dim, D = a->dim, bh_n = a->batch * a->heads;
#ifdef MMX_HAVE_OPENMP
#pragma omp parallel for schedule(static) num_threads(pl->nthreads)
#endif
    for (int64_t bh = 0; bh < bh_n; bh++) {
        const float *part = pl->dkv + (size_t)bh * pl->groups * 2 * (size_t)kd;
        for (int64_t t = 0; t < a->tk; t++) {
            float *k0 = dk + attn_off(pl->lk, bh / a->heads, bh % a->heads, t);
            float *v0 = dv + attn_off(pl->lv, bh / a->heads, bh % a->heads, t);
            memcpy(k0, part + t * D, (size_t)D * sizeof *k0);
            memcpy(v0, part + kd + t * D, (size_t)D * sizeof *v0);
            for (int64_t g = 1; g < pl->groups; g++) {
                const float *pk = part + (size_t)g * 2 * (size_t)kd + t * D, *pv = pk + kd;
                for (int64_t i = 0; i < D; i++) k0[i] += pk[i], v0[i] += pv[i];
            }
        }
    }
}

static mmx_status attn_backward(const mmx_attn *a, const mmx_norm *norm, float *dq, float *dk,
                                float *dv, mmx_param_grads *pg, const float *dout,
                                const float *out, const float *stats, const float *q,
                                const float *k, const float *v, void *work, size_t work_bytes,
                                int scan_qkv) {
    const char *fn = "mmx_attn_backward";
    attn_plan pl;
    mmx_status st = check_call(fn, a, norm, work, work_bytes, 1, &pl);
    if (st) return st;
    const struct { const char *name; const void *p; } ptrs[] = {
        {"dq", dq}, {"dk", dk}, {"dv", dv}, {"out", out}, {"stats", stats}};
    for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++)
        if (!ptrs[i].p) return mmx_fail(MMX_ERR_NULL, fn, "argument '%s' is NULL", ptrs[i].name);
    if ((st = check_tensor(fn, "dout", dout, a, pl.lo, a->tq)))
        return st;
    if (!q || !k || !v)
        return mmx_fail(MMX_ERR_NULL, fn, "argument '%s' is NULL", !q ? "q" : !k ? "k" : "v");
    if (scan_qkv && ((st = check_tensor(fn, "q", q, a, pl.lq, a->tq)) ||
                     (st = check_tensor(fn, "k", k, a, pl.lk, a->tk)) ||
                     (st = check_tensor(fn, "v", v, a, pl.lv, a->tk))))
        return st;
    memset(pl.res, 0, (size_t)pl.items * sizeof *pl.res);
    memset(pl.acc, 0, (size_t)pl.items * sizeof *pl.acc);
#ifdef MMX_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(pl.nthreads)
#endif
    for (int64_t it = 0; it < pl.items; it++) {
        if (pl.flash) attn_flash_bwd_item(&pl, it, dq, dk, dv, dout, out, stats, q, k, v, &pl.res[it]);
        else attn_strip_bwd_item(&pl, it, dq, dk, dv, dout, stats, q, k, v, &pl.res[it]);
    }
    if ((st = report(&pl))) {
        zero_t(dq, a, pl.lq, a->tq), zero_t(dk, a, pl.lk, a->tk), zero_t(dv, a, pl.lv, a->tk);
        return st;
    }
    if (pl.groups > 1) reduce_groups(&pl, dk, dv);
    for (int64_t it = 0; pg && it < pl.items; it++) { /* item order: deterministic sums */
        const mmx_grad_acc *c = &pl.acc[it];
        for (int i = 0; norm->kind == MMX_NORM_MULTIMAX && i < 2 * norm->order; i++) {
            if (pg->dranges) pg->dranges[i] += c->dranges[i];
            if (pg->dts) pg->dts[i] += c->dts[i];
        }
        if (pg->dalpha && norm->kind == MMX_NORM_ENTMAX) *pg->dalpha += c->dalpha;
    }
    return MMX_OK;
}

mmx_status mmx_attn_backward(const mmx_attn *a, const mmx_norm *norm, float *dq, float *dk,
                             float *dv, mmx_param_grads *pg, const float *dout, const float *out,
                             const float *stats, const float *q, const float *k, const float *v,
                             void *work, size_t work_bytes) {
    return attn_backward(a, norm, dq, dk, dv, pg, dout, out, stats, q, k, v, work, work_bytes, 1);
}

mmx_status attn_backward_after_forward(const mmx_attn *a, const mmx_norm *norm, float *dq,
                                       float *dk, float *dv, mmx_param_grads *pg,
                                       const float *dout, const float *out, const float *stats,
                                       const float *q, const float *k, const float *v, void *work,
                                       size_t work_bytes) {
    return attn_backward(a, norm, dq, dk, dv, pg, dout, out, stats, q, k, v, work, work_bytes, 0);
}
