/*
 * The public attention entry points: descriptor, checks, workspace sizes; the drivers are in
 * attn_flash.c (SoftMax, MultiMax) and attn_strip.c (the sparse maps, EvSoftMax).
 */
#include <math.h>
#include <string.h>

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
    for (int64_t b = 0; a->key_len && b < a->batch; b++)
        if (a->key_len[b] < 0 || a->key_len[b] > a->tk)
            return mmx_fail(MMX_ERR_SIZE, fn, "attn.key_len[%lld] = %d, expected 0 <= key_len <= tk = %lld",
                            (long long)b, a->key_len[b], (long long)a->tk);
    return MMX_OK;
}

mmx_status mmx_attn_check(const mmx_attn *a) { return mmx_attn_validate("mmx_attn_check", a); }
