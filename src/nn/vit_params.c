/* vit_params.c - the ViT's configuration, parameter table and arenas, and initialisation. */
#define _DEFAULT_SOURCE /* madvise */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/internal.h"
#include "core/rng.h"
#include "nn/layers.h"
#include "nn/vit.h"

vit_config vit_config_default(void)
{
    vit_config c = {28, 4, 128, 6, 4, 2, 10, MMX_NORM_SOFTMAX, MMX_NORM_SOFTMAX, 1.5, 0};
    return c;
}

mmx_status vit_config_check(const vit_config *c)
{
    static const char *fn = "vit_config_check";
    if (!c)
        return mmx_fail(MMX_ERR_NULL, fn, "argument 'cfg' is NULL");
    if (c->image < 1 || c->image > 1024)
        return mmx_fail(MMX_ERR_PARAM, fn, "image = %d, expected 1..1024", c->image);
    if (c->patch < 1 || c->image % c->patch != 0)
        return mmx_fail(MMX_ERR_PARAM, fn, "patch = %d, expected a divisor of image = %d", c->patch,
                        c->image);
    if (c->heads < 1 || c->dim < 1 || c->dim % c->heads != 0 || c->dim > 8192)
        return mmx_fail(MMX_ERR_PARAM, fn,
                        "dim = %d, heads = %d: expected dim a multiple of heads, dim <= 8192",
                        c->dim, c->heads);
    if (c->depth < 1 || c->depth > VIT_MAX_DEPTH)
        return mmx_fail(MMX_ERR_PARAM, fn, "depth = %d, expected 1..%d", c->depth, VIT_MAX_DEPTH);
    if (c->mlp_ratio < 1 || c->mlp_ratio > 16)
        return mmx_fail(MMX_ERR_PARAM, fn, "mlp_ratio = %d, expected 1..16", c->mlp_ratio);
    if (c->classes < 2 || c->classes > 100000)
        return mmx_fail(MMX_ERR_PARAM, fn, "classes = %d, expected 2..100000", c->classes);
    if ((int)c->attn_norm < 0 || c->attn_norm >= MMX_NORM_COUNT)
        return mmx_fail(MMX_ERR_PARAM, fn, "unknown attention normalizer %d", (int)c->attn_norm);
    if ((int)c->head_norm < 0 || c->head_norm >= MMX_NORM_COUNT ||
        c->head_norm == MMX_NORM_EVSOFTMAX)
        return mmx_fail(MMX_ERR_PARAM, fn,
                        "head normalizer '%s' has no loss; expected softmax, multimax, "
                        "sparsemax, entmax15 or entmax",
                        mmx_norm_name(c->head_norm));
    if (!(c->alpha > 1.0 && c->alpha <= 10.0))
        return mmx_fail(MMX_ERR_PARAM, fn, "alpha = %g, expected 1 < alpha <= 10", c->alpha);
    return MMX_OK;
}

static float *add_tensor(vit_model *m, int64_t *off, vit_group g, int64_t d0, int64_t d1,
                         const char *fmt, int layer)
{
    vit_tensor *t = &m->tensors[m->n_tensors++];
    snprintf(t->name, sizeof t->name, fmt, layer);
    t->ndim = d1 > 0 ? 2 : 1;
    t->shape[0] = d0;
    t->shape[1] = d1 > 0 ? d1 : 0;
    t->count = d0 * (d1 > 0 ? d1 : 1);
    t->offset = *off;
    t->group = g;
    *off += t->count;
    return m->params ? m->params + t->offset : NULL;
}

/* One pass lays the table out (params == NULL: only offsets), a second binds the views. */
static void layout(vit_model *m)
{
    const vit_config *c = &m->cfg;
    int64_t off = 0, C = c->dim, P = (int64_t)c->patch * c->patch, M = m->hidden;
    m->n_tensors = 0;
    m->patch_w = add_tensor(m, &off, VIT_GROUP_DECAY, C, P, "patch.weight", 0);
    m->patch_b = add_tensor(m, &off, VIT_GROUP_NO_DECAY, C, 0, "patch.bias", 0);
    m->pos = add_tensor(m, &off, VIT_GROUP_NO_DECAY, m->tokens, C, "pos", 0);
    for (int l = 0; l < c->depth; l++) {
        vit_block_params *b = &m->blocks[l];
        b->ln1_w = add_tensor(m, &off, VIT_GROUP_NO_DECAY, C, 0, "blocks.%d.ln1.weight", l);
        b->ln1_b = add_tensor(m, &off, VIT_GROUP_NO_DECAY, C, 0, "blocks.%d.ln1.bias", l);
        b->qkv_w = add_tensor(m, &off, VIT_GROUP_DECAY, 3 * C, C, "blocks.%d.attn.qkv.weight", l);
        b->qkv_b = add_tensor(m, &off, VIT_GROUP_NO_DECAY, 3 * C, 0, "blocks.%d.attn.qkv.bias", l);
        b->proj_w = add_tensor(m, &off, VIT_GROUP_DECAY, C, C, "blocks.%d.attn.proj.weight", l);
        b->proj_b = add_tensor(m, &off, VIT_GROUP_NO_DECAY, C, 0, "blocks.%d.attn.proj.bias", l);
        b->ln2_w = add_tensor(m, &off, VIT_GROUP_NO_DECAY, C, 0, "blocks.%d.ln2.weight", l);
        b->ln2_b = add_tensor(m, &off, VIT_GROUP_NO_DECAY, C, 0, "blocks.%d.ln2.bias", l);
        b->fc1_w = add_tensor(m, &off, VIT_GROUP_DECAY, M, C, "blocks.%d.mlp.fc1.weight", l);
        b->fc1_b = add_tensor(m, &off, VIT_GROUP_NO_DECAY, M, 0, "blocks.%d.mlp.fc1.bias", l);
        b->fc2_w = add_tensor(m, &off, VIT_GROUP_DECAY, C, M, "blocks.%d.mlp.fc2.weight", l);
        b->fc2_b = add_tensor(m, &off, VIT_GROUP_NO_DECAY, C, 0, "blocks.%d.mlp.fc2.bias", l);
    }
    m->norm_w = add_tensor(m, &off, VIT_GROUP_NO_DECAY, C, 0, "norm.weight", 0);
    m->norm_b = add_tensor(m, &off, VIT_GROUP_NO_DECAY, C, 0, "norm.bias", 0);
    m->head_w = add_tensor(m, &off, VIT_GROUP_DECAY, c->classes, C, "head.weight", 0);
    m->head_b = add_tensor(m, &off, VIT_GROUP_NO_DECAY, c->classes, 0, "head.bias", 0);
    /* The 8 MultiMax scalars of each layer after every matrix: between them they would shift
     * the following weight matrices off 64-byte alignment (8 floats = 32 bytes), which cost
     * the products about 2% of a training step. */
    for (int l = 0; l < c->depth; l++) {
        vit_block_params *b = &m->blocks[l];
        b->mm_ranges = b->mm_ts = NULL;
        if (c->attn_norm == MMX_NORM_MULTIMAX) {
            b->mm_ranges =
                add_tensor(m, &off, VIT_GROUP_MODULATOR, 4, 0, "blocks.%d.attn.mm_ranges", l);
            b->mm_ts = add_tensor(m, &off, VIT_GROUP_MODULATOR, 4, 0, "blocks.%d.attn.mm_ts", l);
        }
    }
    m->head_ranges = m->head_ts = NULL;
    if (c->head_norm == MMX_NORM_MULTIMAX) {
        m->head_ranges = add_tensor(m, &off, VIT_GROUP_MODULATOR, 4, 0, "head.mm_ranges", 0);
        m->head_ts = add_tensor(m, &off, VIT_GROUP_MODULATOR, 4, 0, "head.mm_ts", 0);
    }
    m->n_params = off;
}

/* The activation arena: 2 MiB aligned and, from HUGE_MIN bytes on, with transparent huge pages
 * requested (Linux madvise; the machine's THP mode is usually "madvise"). A training step
 * streams the arena's ~300 MB through the products and the attention; with 4 KiB pages that
 * walks the TLB on every new page, and huge pages made the benchmark model's step 2.5-3.8%
 * faster (docs/BENCHMARKS.md, "Training"). MMX_NO_HUGEPAGES=1 turns the request off. */
#define HUGE_PAGE ((size_t)2 << 20)
#define HUGE_MIN ((size_t)32 << 20)

static void *arena_alloc(size_t bytes)
{
    if (bytes < HUGE_MIN)
        return aligned_alloc(64, (bytes + 63) / 64 * 64);
    size_t n = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    void *p = aligned_alloc(HUGE_PAGE, n);
#ifdef MADV_HUGEPAGE
    const char *off = getenv("MMX_NO_HUGEPAGES");
    if (p && !(off && off[0] == '1'))
        (void)madvise(p, n, MADV_HUGEPAGE); /* a hint: failure leaves 4 KiB pages */
#endif
    return p;
}

/* Carves the activation arena; returns the floats needed (acts == NULL: count only). */
static size_t carve_acts(vit_model *m)
{
    int64_t B = m->max_batch, T = m->tokens, C = m->cfg.dim, N = B * T, M = m->hidden;
    int64_t P = (int64_t)m->cfg.patch * m->cfg.patch, K = m->cfg.classes;
    float *base = m->acts;
    size_t off = 0;
#define TAKE(ptr, n)                                                                               \
    do {                                                                                           \
        (ptr) = base ? base + off : NULL;                                                          \
        off += (size_t)(((n) + 15) / 16 * 16); /* 64-byte aligned views */                         \
    } while (0)
    TAKE(m->patches, N * P);
    for (int l = 0; l < m->cfg.depth; l++) {
        vit_block_acts *a = &m->blk[l];
        TAKE(a->x, N * C);
        TAKE(a->ln1, N * C);
        TAKE(a->ln1_mean, N);
        TAKE(a->ln1_rstd, N);
        TAKE(a->qkv, 3 * N * C);
        TAKE(a->stats, N * m->cfg.heads * MMX_ATTN_STATS);
        TAKE(a->attm, N * C);
        TAKE(a->xmid, N * C);
        TAKE(a->ln2, N * C);
        TAKE(a->ln2_mean, N);
        TAKE(a->ln2_rstd, N);
        TAKE(a->h1, N * M);
        TAKE(a->h2, N * M);
    }
    TAKE(m->xout, N * C);
    TAKE(m->pooled, B * C);
    TAKE(m->fcn, B * C);
    TAKE(m->fcn_mean, B);
    TAKE(m->fcn_rstd, B);
    TAKE(m->logits, B * K);
    TAKE(m->loss, B);
    TAKE(m->dx, N * C);
    TAKE(m->dln, N * C);
    TAKE(m->dqkv, 3 * N * C);
    TAKE(m->dattm, N * C);
    TAKE(m->dh1, N * M);
    TAKE(m->dh2, N * M);
    TAKE(m->dlogits, B * K);
    TAKE(m->dfcn, B * C);
    TAKE(m->dpooled, B * C);
    TAKE(m->dpooled_xh, B * C);
    int64_t wp = nn_linear_wgrad_floats(N, C, 3 * C); /* the linear layers' largest */
    const int64_t wps[4] = {nn_linear_wgrad_floats(N, M, C), nn_linear_wgrad_floats(N, C, M),
                            nn_linear_wgrad_floats(B, C, K), nn_linear_wgrad_floats(N, P, C)};
    for (int i = 0; i < 4; i++)
        wp = wps[i] > wp ? wps[i] : wp;
    TAKE(m->wpart, wp);
#undef TAKE
    return off;
}

static mmx_status attn_workspace(vit_model *m, size_t *bytes)
{
    mmx_attn a = vit_attn_desc(m, m->max_batch);
    double zeros[4] = {0, 0, 0, 0};
    mmx_norm n = {m->cfg.attn_norm, 1.0, m->cfg.alpha, VIT_MM_ORDER, zeros, zeros, 0};
    size_t f = 0, b = 0;
    mmx_status st = mmx_attn_workspace_size(&a, &n, 0, &f);
    if (st == MMX_OK)
        st = mmx_attn_workspace_size(&a, &n, 1, &b);
    *bytes = f > b ? f : b;
    return st;
}

mmx_status vit_build(vit_model *m, const vit_config *cfg, int max_batch)
{
    memset(m, 0, sizeof *m);
    mmx_status st = vit_config_check(cfg);
    if (st != MMX_OK)
        return st;
    if (max_batch < 1 || max_batch > 65536)
        return mmx_fail(MMX_ERR_PARAM, "vit_build", "batch = %d, expected 1..65536", max_batch);
    m->cfg = *cfg;
    m->grid = cfg->image / cfg->patch;
    m->tokens = m->grid * m->grid;
    m->head_dim = cfg->dim / cfg->heads;
    m->hidden = cfg->mlp_ratio * cfg->dim;
    m->max_batch = max_batch;
    layout(m);
    m->acts_floats = carve_acts(m);
    /* The thread count may grow after build; size the workspace for every core. */
    if ((st = attn_workspace(m, &m->attn_work_bytes)) != MMX_OK)
        return st;
    m->params = aligned_alloc(64, ((size_t)m->n_params * 4 + 63) / 64 * 64);
    m->grads = aligned_alloc(64, ((size_t)m->n_params * 4 + 63) / 64 * 64);
    m->acts = arena_alloc(m->acts_floats * 4);
    m->attn_work = aligned_alloc(64, (m->attn_work_bytes + 63) / 64 * 64 + 64);
    if (!m->params || !m->grads || !m->acts || !m->attn_work) {
        vit_free(m);
        return mmx_fail(MMX_ERR_NOMEM, "vit_build", "out of memory for %zu activation floats",
                        m->acts_floats);
    }
    memset(m->params, 0, (size_t)m->n_params * 4);
    memset(m->grads, 0, (size_t)m->n_params * 4);
    memset(m->acts, 0, m->acts_floats * 4); /* touch every page once, here */
    layout(m);
    carve_acts(m);
    return MMX_OK;
}

void vit_free(vit_model *m)
{
    free(m->params);
    free(m->grads);
    free(m->acts);
    free(m->attn_work);
    memset(m, 0, sizeof *m);
}

const vit_tensor *vit_find_tensor(const vit_model *m, const char *name)
{
    for (int i = 0; i < m->n_tensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0)
            return &m->tensors[i];
    return NULL;
}

void vit_init(vit_model *m, uint64_t seed)
{
    mmx_rng r;
    mmx_rng_derive(&r, seed, 0x1417, 0);
    for (int i = 0; i < m->n_tensors; i++) {
        const vit_tensor *t = &m->tensors[i];
        float *p = m->params + t->offset;
        const char *nm = t->name;
        size_t len = strlen(nm);
        int is_ln_w = strstr(nm, "ln") != NULL || strncmp(nm, "norm.", 5) == 0;
        int is_weight = len > 7 && strcmp(nm + len - 7, ".weight") == 0;
        for (int64_t j = 0; j < t->count; j++) {
            double v = 0.0;
            if (t->group == VIT_GROUP_MODULATOR)
                v = m->cfg.mm_zero_init ? 0.0 : mmx_rng_trunc_normal(&r, 0.02, -0.04, 0.04);
            else if (is_ln_w)
                v = is_weight ? 1.0 : 0.0;
            else if (t->group == VIT_GROUP_DECAY || strcmp(nm, "pos") == 0)
                v = mmx_rng_trunc_normal(&r, 0.02, -0.04, 0.04);
            p[j] = (float)v;
        }
    }
}
