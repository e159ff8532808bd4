/*
 * vit_ref.h - an independent double-precision forward pass of the ViT described in
 * src/nn/vit.h, written from that description with naive loops (no BLAS, no library maths
 * except the reference maps of refs.h). Used to check the engine's loss, and, by central
 * finite differences, every one of its gradients.
 *
 * Parameters are read from a flat double vector laid out as the engine's tensor table (the
 * table only gives the offsets of named tensors; every operation is re-derived here).
 */
#ifndef MMX_TEST_VIT_REF_H
#define MMX_TEST_VIT_REF_H

#include "harness.h"
#include "nn/vit.h"

typedef struct {
    const vit_model *m; /* for the shapes and the tensor offsets only */
    const double *p;    /* (n_params) */
} vref;

static inline const double *vref_t(const vref *r, const char *fmt, int l)
{
    char name[64];
    snprintf(name, sizeof name, fmt, l);
    const vit_tensor *t = vit_find_tensor(r->m, name);
    if (!t) {
        fprintf(stderr, "vit_ref: no tensor %s\n", name);
        abort();
    }
    return r->p + t->offset;
}

/* y (n, out) = x (n, in) W^T + b */
static inline void vref_linear(double *y, const double *x, const double *w, const double *b,
                               int n, int in, int out)
{
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++) {
            double s = b ? b[o] : 0.0;
            for (int k = 0; k < in; k++) s += x[i * in + k] * w[o * in + k];
            y[i * out + o] = s;
        }
}

static inline void vref_layernorm(double *y, const double *x, const double *g, const double *b,
                                  int n, int c)
{
    for (int i = 0; i < n; i++) {
        double m = 0.0, v = 0.0;
        for (int j = 0; j < c; j++) m += x[i * c + j];
        m /= c;
        for (int j = 0; j < c; j++) v += (x[i * c + j] - m) * (x[i * c + j] - m);
        v /= c;
        for (int j = 0; j < c; j++)
            y[i * c + j] = (x[i * c + j] - m) / sqrt(v + (double)VIT_LN_EPS) * g[j] + b[j];
    }
}

static inline void vref_rowmap(const vref *r, mmx_norm_kind kind, const double *mr,
                               const double *mt, double *p, const double *s, int n)
{
    switch (kind) {
    case MMX_NORM_MULTIMAX: ref_multimax(p, s, n, 2, mr, mt); break;
    case MMX_NORM_SPARSEMAX: ref_sparsemax(p, s, n); break;
    case MMX_NORM_ENTMAX15: ref_entmax(p, s, n, 1.5); break;
    case MMX_NORM_ENTMAX: ref_entmax(p, s, n, r->m->cfg.alpha); break;
    case MMX_NORM_EVSOFTMAX: ref_evsoftmax(p, s, n, 0); break;
    default: ref_softmax(p, s, n, 1.0);
    }
}

/* x (T, C) += attention block output, for one image. */
static inline void vref_attention(const vref *r, int l, double *x)
{
    const vit_model *m = r->m;
    int T = m->tokens, C = m->cfg.dim, H = m->cfg.heads, D = m->head_dim;
    double *a = calloc((size_t)T * C, 8), *qkv = calloc((size_t)T * 3 * C, 8);
    double *o = calloc((size_t)T * C, 8), *s = calloc((size_t)T, 8), *pr = calloc((size_t)T, 8);
    double *y = calloc((size_t)T * C, 8);
    vref_layernorm(a, x, vref_t(r, "blocks.%d.ln1.weight", l), vref_t(r, "blocks.%d.ln1.bias", l),
                   T, C);
    vref_linear(qkv, a, vref_t(r, "blocks.%d.attn.qkv.weight", l),
                vref_t(r, "blocks.%d.attn.qkv.bias", l), T, C, 3 * C);
    const double *mr = NULL, *mt = NULL;
    if (m->cfg.attn_norm == MMX_NORM_MULTIMAX) {
        mr = vref_t(r, "blocks.%d.attn.mm_ranges", l);
        mt = vref_t(r, "blocks.%d.attn.mm_ts", l);
    }
    for (int h = 0; h < H; h++)
        for (int i = 0; i < T; i++) {
            for (int j = 0; j < T; j++) {
                double d = 0.0;
                for (int e = 0; e < D; e++)
                    d += qkv[i * 3 * C + h * D + e] * qkv[j * 3 * C + C + h * D + e];
                s[j] = d / sqrt((double)D);
            }
            vref_rowmap(r, m->cfg.attn_norm, mr, mt, pr, s, T);
            for (int e = 0; e < D; e++) {
                double acc = 0.0;
                for (int j = 0; j < T; j++) acc += pr[j] * qkv[j * 3 * C + 2 * C + h * D + e];
                o[i * C + h * D + e] = acc;
            }
        }
    vref_linear(y, o, vref_t(r, "blocks.%d.attn.proj.weight", l),
                vref_t(r, "blocks.%d.attn.proj.bias", l), T, C, C);
    for (int i = 0; i < T * C; i++) x[i] += y[i];
    free(a), free(qkv), free(o), free(s), free(pr), free(y);
}

static inline void vref_mlp(const vref *r, int l, double *x)
{
    const vit_model *m = r->m;
    int T = m->tokens, C = m->cfg.dim, M = m->hidden;
    double *a = calloc((size_t)T * C, 8), *h = calloc((size_t)T * M, 8), *y = calloc((size_t)T * C, 8);
    vref_layernorm(a, x, vref_t(r, "blocks.%d.ln2.weight", l), vref_t(r, "blocks.%d.ln2.bias", l),
                   T, C);
    vref_linear(h, a, vref_t(r, "blocks.%d.mlp.fc1.weight", l),
                vref_t(r, "blocks.%d.mlp.fc1.bias", l), T, C, M);
    for (int i = 0; i < T * M; i++) h[i] = 0.5 * h[i] * (1.0 + erf(h[i] / sqrt(2.0)));
    vref_linear(y, h, vref_t(r, "blocks.%d.mlp.fc2.weight", l),
                vref_t(r, "blocks.%d.mlp.fc2.bias", l), T, M, C);
    for (int i = 0; i < T * C; i++) x[i] += y[i];
    free(a), free(h), free(y);
}

/* Loss of one logit row against its label (label smoothing ls): cross-entropy for SoftMax /
 * MultiMax, the Fenchel-Young loss with the Tsallis entropy for the sparse maps. */
static inline double vref_loss_row(const vref *r, const double *z, int K, int label, double ls)
{
    const vit_model *m = r->m;
    double *p = calloc((size_t)K, 8), *q = calloc((size_t)K, 8), loss = 0.0;
    for (int j = 0; j < K; j++) q[j] = (j == label ? 1.0 - ls : 0.0) + ls / K;
    const double *mr = NULL, *mt = NULL;
    if (m->cfg.head_norm == MMX_NORM_MULTIMAX) {
        mr = vref_t(r, "head.mm_ranges", 0);
        mt = vref_t(r, "head.mm_ts", 0);
    }
    vref_rowmap(r, m->cfg.head_norm, mr, mt, p, z, K);
    if (m->cfg.head_norm == MMX_NORM_SOFTMAX || m->cfg.head_norm == MMX_NORM_MULTIMAX) {
        for (int j = 0; j < K; j++) loss -= q[j] * log(p[j]);
    } else {
        double a = m->cfg.head_norm == MMX_NORM_SPARSEMAX ? 2.0
                   : m->cfg.head_norm == MMX_NORM_ENTMAX15 ? 1.5 : m->cfg.alpha;
        double hp = 1.0, hq = 1.0;
        for (int j = 0; j < K; j++) {
            loss += (p[j] - q[j]) * z[j];
            hp -= pow(p[j], a);
            hq -= pow(q[j], a);
        }
        loss += hp / (a * (a - 1)) - hq / (a * (a - 1));
    }
    free(p), free(q);
    return loss;
}

/* Mean loss over the batch; logits_out (B, K) may be NULL. */
static inline double vref_forward(const vref *r, const float *img, const int32_t *labels, int B,
                                  double ls, double *logits_out)
{
    const vit_model *m = r->m;
    int T = m->tokens, C = m->cfg.dim, P = m->cfg.patch, S = m->cfg.image, G = m->grid;
    int K = m->cfg.classes;
    double *x = calloc((size_t)T * C, 8), *pt = calloc((size_t)T * P * P, 8);
    double *pool = calloc((size_t)C, 8), *f = calloc((size_t)C, 8), *z = calloc((size_t)K, 8);
    double total = 0.0;
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++)
            for (int u = 0; u < P; u++)
                for (int w = 0; w < P; w++)
                    pt[(t * P + u) * P + w] = img[b * S * S + ((t / G) * P + u) * S + (t % G) * P + w];
        vref_linear(x, pt, vref_t(r, "patch.weight", 0), vref_t(r, "patch.bias", 0), T, P * P, C);
        const double *pos = vref_t(r, "pos", 0);
        for (int i = 0; i < T * C; i++) x[i] += pos[i];
        for (int l = 0; l < m->cfg.depth; l++) {
            vref_attention(r, l, x);
            vref_mlp(r, l, x);
        }
        for (int c = 0; c < C; c++) {
            pool[c] = 0.0;
            for (int t = 0; t < T; t++) pool[c] += x[t * C + c] / T;
        }
        vref_layernorm(f, pool, vref_t(r, "norm.weight", 0), vref_t(r, "norm.bias", 0), 1, C);
        vref_linear(z, f, vref_t(r, "head.weight", 0), vref_t(r, "head.bias", 0), 1, C, K);
        if (logits_out) memcpy(logits_out + b * K, z, (size_t)K * 8);
        total += vref_loss_row(r, z, K, labels[b], ls);
    }
    free(x), free(pt), free(pool), free(f), free(z);
    return total / B;
}

#endif
