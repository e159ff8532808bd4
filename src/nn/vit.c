/* vit.c - the ViT's forward and backward passes over a batch; see vit.h. */
#include <math.h>
#include <string.h>

#include "attn/attn.h"
#include "core/internal.h"
#include "nn/layers.h"
#include "nn/vit.h"

/* A layer's normalizer descriptor; the MultiMax scalars are copied to double (the library's
 * parameter type) into rd / td. */
static mmx_norm layer_norm(const vit_model *m, mmx_norm_kind kind, const float *r, const float *t,
                           double *rd, double *td, int train)
{
    for (int i = 0; i < 4; i++) {
        rd[i] = r ? r[i] : 0.0;
        td[i] = t ? t[i] : 0.0;
    }
    switch (kind) {
    case MMX_NORM_MULTIMAX:
        return mmx_norm_multimax(VIT_MM_ORDER, rd, td);
    case MMX_NORM_SPARSEMAX:
        return mmx_norm_sparsemax();
    case MMX_NORM_ENTMAX15:
        return mmx_norm_entmax15();
    case MMX_NORM_ENTMAX:
        return mmx_norm_entmax(m->cfg.alpha);
    case MMX_NORM_EVSOFTMAX:
        return mmx_norm_evsoftmax(!train);
    default:
        return mmx_norm_softmax(1.0);
    }
}

static mmx_norm head_norm(const vit_model *m, double *rd, double *td)
{
    return layer_norm(m, m->cfg.head_norm, m->head_ranges, m->head_ts, rd, td, 1);
}

mmx_norm vit_attn_norm(const vit_model *m, int l, double *rd, double *td, int train)
{
    const vit_block_params *p = &m->blocks[l];
    return layer_norm(m, m->cfg.attn_norm, p->mm_ranges, p->mm_ts, rd, td, train);
}

mmx_attn vit_attn_desc(const vit_model *m, int batch)
{
    int64_t T = m->tokens, C = m->cfg.dim, D = m->head_dim;
    mmx_attn a = mmx_attn_make(batch, m->cfg.heads, T, T, D);
    const int64_t in[3] = {T * 3 * C, D, 3 * C}, out[3] = {T * C, D, C};
    memcpy(a.q_stride, in, sizeof in), memcpy(a.k_stride, in, sizeof in);
    memcpy(a.v_stride, in, sizeof in), memcpy(a.o_stride, out, sizeof out);
    return a;
}

static mmx_status block_forward(vit_model *m, int l, float *xnext, int batch, int train)
{
    const vit_block_params *p = &m->blocks[l];
    vit_block_acts *a = &m->blk[l];
    int64_t B = batch, T = m->tokens, C = m->cfg.dim, N = B * T, M = m->hidden;
    nn_layernorm_forward(a->ln1, a->ln1_mean, a->ln1_rstd, a->x, p->ln1_w, p->ln1_b, N, C,
                         VIT_LN_EPS);
    nn_linear_forward(a->qkv, a->ln1, p->qkv_w, p->qkv_b, N, C, 3 * C);
    double rd[4], td[4];
    mmx_norm nrm = vit_attn_norm(m, l, rd, td, train);
    mmx_attn at = vit_attn_desc(m, batch);
    mmx_status st = mmx_attn_forward(&at, &nrm, a->attm, train ? a->stats : NULL, a->qkv,
                                     a->qkv + C, a->qkv + 2 * C, m->attn_work, m->attn_work_bytes);
    if (st != MMX_OK)
        return st;
    nn_linear_forward_add(a->xmid, a->attm, p->proj_w, p->proj_b, a->x, N, C, C);
    nn_layernorm_forward(a->ln2, a->ln2_mean, a->ln2_rstd, a->xmid, p->ln2_w, p->ln2_b, N, C,
                         VIT_LN_EPS);
    /* h1 = fc1(ln2), h2 = GELU(h1), then h1 := GELU'(h1) for the backward */
    nn_linear_gelu_forward(a->h2, train ? a->h1 : NULL, a->h1, a->ln2, p->fc1_w, p->fc1_b, N, C,
                           M);
    nn_linear_forward_add(xnext, a->h2, p->fc2_w, p->fc2_b, a->xmid, N, M, C);
    return MMX_OK;
}

static void embed_forward(vit_model *m, const float *img, int batch)
{
    int64_t B = batch, T = m->tokens, C = m->cfg.dim, P = (int64_t)m->cfg.patch * m->cfg.patch;
    float *x0 = m->blk[0].x;
    nn_patchify(m->patches, img, B, m->cfg.image, m->cfg.image, m->cfg.patch);
    nn_linear_forward(x0, m->patches, m->patch_w, m->patch_b, B * T, P, C);
    nn_add_bcast(x0, m->pos, B, T * C);
}

mmx_status vit_forward(vit_model *m, const float *img, const int32_t *labels, int batch,
                       double label_smoothing, int train, double *mean_loss)
{
    if (!m || !img)
        return mmx_fail(MMX_ERR_NULL, "vit_forward", "model or images NULL");
    if (batch < 1 || batch > m->max_batch)
        return mmx_fail(MMX_ERR_SIZE, "vit_forward", "batch = %d, expected 1..%d", batch,
                        m->max_batch);
    int64_t B = batch, T = m->tokens, C = m->cfg.dim, K = m->cfg.classes;
    embed_forward(m, img, batch);
    for (int l = 0; l < m->cfg.depth; l++) {
        float *xnext = l + 1 < m->cfg.depth ? m->blk[l + 1].x : m->xout;
        mmx_status st = block_forward(m, l, xnext, batch, train);
        if (st != MMX_OK)
            return st;
    }
    nn_meanpool_forward(m->pooled, m->xout, B, T, C);
    nn_layernorm_forward(m->fcn, m->fcn_mean, m->fcn_rstd, m->pooled, m->norm_w, m->norm_b, B, C,
                         VIT_LN_EPS);
    nn_linear_forward(m->logits, m->fcn, m->head_w, m->head_b, B, C, K);
    if (!labels)
        return MMX_OK;
    double rd[4], td[4];
    mmx_norm hn = head_norm(m, rd, td);
    mmx_status st =
        mmx_loss_f32(&hn, m->loss, NULL, K, NULL, m->logits, K, labels, B, K, label_smoothing, 1.0);
    if (st != MMX_OK)
        return st;
    if (mean_loss) {
        double s = 0.0;
        for (int64_t i = 0; i < B; i++)
            s += m->loss[i];
        *mean_loss = s / (double)B;
    }
    return MMX_OK;
}

/* Adds a double gradient of the 8 modulator scalars into the float gradient views. */
static void add_mod_grads(float *gr, float *gt, const double *dr, const double *dt)
{
    for (int i = 0; i < 4; i++) {
        gr[i] += (float)dr[i];
        gt[i] += (float)dt[i];
    }
}

#define G(ptr) (m->grads + ((ptr)-m->params))

static mmx_status block_backward(vit_model *m, int l, float *dxio, int batch)
{
    const vit_block_params *p = &m->blocks[l];
    const vit_block_acts *a = &m->blk[l];
    int64_t B = batch, T = m->tokens, C = m->cfg.dim, N = B * T, M = m->hidden;
    /* dxio holds d(block output) on entry and d(block input) on exit; it is also d(xmid). */
    /* Bias gradients are summed by the pass that writes their output gradient where there is
     * one: fc2's (but the last block's) by the next block's first LayerNorm backward, fc1's by
     * the GELU backward, proj's by the second LayerNorm backward, patch's by block 0. */
    float *fc2_db = l + 1 == m->cfg.depth ? G(p->fc2_b) : NULL;
    float *ln1_dsum = l > 0 ? G(m->blocks[l - 1].fc2_b) : G(m->patch_b);
    nn_linear_backward(m->dh2, 0.0f, G(p->fc2_w), fc2_db, m->wpart, dxio, a->h2, p->fc2_w, N, M,
                       C);
    nn_gelu_backward(m->dh1, G(p->fc1_b), m->dh2, a->h1, N, M); /* h1 holds GELU' (forward) */
    nn_linear_backward(m->dln, 0.0f, G(p->fc1_w), NULL, m->wpart, m->dh1, a->ln2, p->fc1_w, N, C,
                       M);
    nn_layernorm_backward(dxio, G(p->ln2_w), G(p->ln2_b), G(p->proj_b), m->dattm, m->dln, a->xmid,
                          a->ln2_mean, a->ln2_rstd, p->ln2_w, N, C);
    nn_linear_backward(m->dattm, 0.0f, G(p->proj_w), NULL, m->wpart, dxio, a->attm, p->proj_w, N,
                       C, C);
    double rd[4], td[4], dr[4] = {0, 0, 0, 0}, dt[4] = {0, 0, 0, 0};
    mmx_norm nrm = vit_attn_norm(m, l, rd, td, 1);
    mmx_param_grads pg = {dr, dt, NULL};
    mmx_attn at = vit_attn_desc(m, batch);
    /* q, k, v: the buffers this step's forward scanned, unchanged since */
    mmx_status st = attn_backward_after_forward(&at, &nrm, m->dqkv, m->dqkv + C, m->dqkv + 2 * C,
                                                &pg, m->dattm, a->attm, a->stats, a->qkv,
                                                a->qkv + C, a->qkv + 2 * C, m->attn_work,
                                                m->attn_work_bytes);
    if (st != MMX_OK)
        return st;
    if (p->mm_ranges)
        add_mod_grads(G(p->mm_ranges), G(p->mm_ts), dr, dt);
    nn_linear_backward(m->dln, 0.0f, G(p->qkv_w), G(p->qkv_b), m->wpart, m->dqkv, a->ln1, p->qkv_w,
                       N, C, 3 * C);
    nn_layernorm_backward(dxio, G(p->ln1_w), G(p->ln1_b), ln1_dsum, m->dattm, m->dln, a->x,
                          a->ln1_mean, a->ln1_rstd, p->ln1_w, N, C);
    return MMX_OK;
}

static mmx_status head_backward(vit_model *m, const int32_t *labels, int batch, double ls)
{
    int64_t B = batch, T = m->tokens, C = m->cfg.dim, K = m->cfg.classes;
    double rd[4], td[4], dr[4] = {0, 0, 0, 0}, dt[4] = {0, 0, 0, 0};
    mmx_norm hn = head_norm(m, rd, td);
    mmx_param_grads pg = {dr, dt, NULL};
    mmx_status st = mmx_loss_f32(&hn, NULL, m->dlogits, K, &pg, m->logits, K, labels, B, K, ls,
                                 1.0 / (double)B);
    if (st != MMX_OK)
        return st;
    if (m->head_ranges)
        add_mod_grads(G(m->head_ranges), G(m->head_ts), dr, dt);
    nn_linear_backward(m->dfcn, 0.0f, G(m->head_w), G(m->head_b), m->wpart, m->dlogits, m->fcn,
                       m->head_w, B, C, K);
    memset(m->dpooled, 0, (size_t)(B * C) * 4);
    nn_layernorm_backward(m->dpooled, G(m->norm_w), G(m->norm_b), NULL, m->dpooled_xh, m->dfcn,
                          m->pooled, m->fcn_mean, m->fcn_rstd, m->norm_w, B, C);
    memset(m->dx, 0, (size_t)(B * T * C) * 4);
    nn_meanpool_backward(m->dx, m->dpooled, B, T, C);
    return MMX_OK;
}

mmx_status vit_backward(vit_model *m, const int32_t *labels, int batch, double label_smoothing)
{
    if (!m || !labels)
        return mmx_fail(MMX_ERR_NULL, "vit_backward", "model or labels NULL");
    if (batch < 1 || batch > m->max_batch)
        return mmx_fail(MMX_ERR_SIZE, "vit_backward", "batch = %d, expected 1..%d", batch,
                        m->max_batch);
    int64_t B = batch, T = m->tokens, C = m->cfg.dim, P = (int64_t)m->cfg.patch * m->cfg.patch;
    memset(m->grads, 0, (size_t)m->n_params * 4);
    mmx_status st = head_backward(m, labels, batch, label_smoothing);
    for (int l = m->cfg.depth - 1; l >= 0 && st == MMX_OK; l--)
        st = block_backward(m, l, m->dx, batch);
    if (st != MMX_OK)
        return st;
    /* pos gets the sum over the batch of d x0; the patch projection has no input gradient. */
    nn_colsum_add(G(m->pos), m->dx, NULL, B, T * C);
    /* patch.bias: summed by block 0's first LayerNorm backward */
    nn_linear_backward(NULL, 0.0f, G(m->patch_w), NULL, m->wpart, m->dx, m->patches, m->patch_w,
                       B * T, P, C);
    return MMX_OK;
}

mmx_status vit_predict(vit_model *m, int32_t *pred, int batch)
{
    int64_t K = m->cfg.classes;
    const float *score = m->logits;
    if (m->cfg.head_norm != MMX_NORM_SOFTMAX) {
        /* sigma need not be monotone: rank by the head's probabilities, not the logits. */
        double rd[4], td[4];
        mmx_norm hn = head_norm(m, rd, td);
        mmx_status st = mmx_forward_f32(&hn, m->dlogits, K, m->logits, K, batch, K);
        if (st != MMX_OK)
            return st;
        score = m->dlogits;
    }
    for (int i = 0; i < batch; i++) {
        const float *s = score + i * K, *z = m->logits + i * K;
        int32_t best = 0;
        for (int64_t j = 1; j < K; j++)
            if (s[j] > s[best] || (s[j] == s[best] && z[j] > z[best]))
                best = (int32_t)j;
        pred[i] = best;
    }
    return MMX_OK;
}
