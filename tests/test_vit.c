/*
 * test_vit.c - the ViT engine against an independent double-precision reference
 * (vit_ref.h): logits and loss, and every parameter's gradient against central finite
 * differences of the reference, for every attention normalizer and with the MultiMax
 * (and a sparse) classifier head on and off; plus the settings checks.
 */
#include "harness.h"
#include "core/rng.h"
#include "vit_ref.h"

/* Parameters spread enough that scores cross the modulator's thresholds (at the ViT init,
 * std 0.02, every score would sit between them and the modulator's gradients would be
 * trivial). */
static void spread_params(vit_model *m, uint64_t seed)
{
    mmx_rng g;
    mmx_rng_seed(&g, seed);
    static const double mr[4] = {-0.6, 0.7, -0.4, 0.5}, mt[4] = {0.4, -0.3, 0.2, 0.15};
    for (int i = 0; i < m->n_tensors; i++) {
        const vit_tensor *t = &m->tensors[i];
        float *p = m->params + t->offset;
        int ln_w = strstr(t->name, "ln") && strstr(t->name, "weight");
        int is_r = strstr(t->name, "mm_ranges") != NULL, is_t = strstr(t->name, "mm_ts") != NULL;
        for (int64_t j = 0; j < t->count; j++) {
            double n = mmx_rng_normal(&g);
            p[j] = (float)(is_r ? mr[j] + 0.05 * n : is_t ? mt[j] + 0.05 * n
                           : ln_w ? 1.0 + 0.2 * n : 0.5 * n);
        }
    }
}

typedef struct {
    mmx_norm_kind attn, head;
} vcase;

static void check_case(vcase vc)
{
    vit_config c = vit_config_default();
    c.image = 4, c.patch = 2, c.dim = 8, c.heads = 2, c.depth = 2, c.mlp_ratio = 2, c.classes = 3;
    c.attn_norm = vc.attn, c.head_norm = vc.head, c.alpha = 1.3;
    enum { B = 3 };
    const double ls = 0.1;
    T_CTX("attn=%s head=%s", mmx_norm_name(vc.attn), mmx_norm_name(vc.head));
    vit_model m;
    if (!CHECKF(vit_build(&m, &c, B) == MMX_OK, "%s", mmx_last_error()))
        return;
    vit_init(&m, 5);
    spread_params(&m, 11 + (uint64_t)vc.attn * 7 + (uint64_t)vc.head);
    float img[B * 16];
    int32_t labels[B] = {0, 2, 1};
    mmx_rng g;
    mmx_rng_seed(&g, 99);
    for (int i = 0; i < B * 16; i++) img[i] = (float)mmx_rng_normal(&g);

    double eloss, rlogits[B * 3];
    CHECKF(vit_forward(&m, img, labels, B, ls, 1, &eloss) == MMX_OK, "%s", mmx_last_error());
    double *p = malloc((size_t)m.n_params * 8);
    for (int64_t i = 0; i < m.n_params; i++) p[i] = m.params[i];
    vref r = {&m, p};
    double rloss = vref_forward(&r, img, labels, B, ls, rlogits);
    CHECKF(fabs(eloss - rloss) <= 1e-5 * fabs(rloss) + 1e-6, "loss %.9g vs reference %.9g", eloss, rloss);
    for (int i = 0; i < B * 3; i++)
        CHECKF(fabs(m.logits[i] - rlogits[i]) <= 1e-4 * (1 + fabs(rlogits[i])),
                "logit %d: %.7g vs %.7g", i, m.logits[i], rlogits[i]);
    CHECKF(vit_backward(&m, labels, B, ls) == MMX_OK, "%s", mmx_last_error());

    double *fd = malloc((size_t)m.n_params * 8), gmax = 0.0;
    for (int64_t i = 0; i < m.n_params; i++) {
        double h = 1e-5 * (1.0 + fabs(p[i])), keep = p[i];
        p[i] = keep + h;
        double lp = vref_forward(&r, img, labels, B, ls, NULL);
        p[i] = keep - h;
        double lm = vref_forward(&r, img, labels, B, ls, NULL);
        p[i] = keep;
        fd[i] = (lp - lm) / (2 * h);
        gmax = fmax(gmax, fabs(fd[i]));
    }
    int bad = 0;
    for (int t = 0; t < m.n_tensors; t++) {
        const vit_tensor *vt = &m.tensors[t];
        for (int64_t j = 0; j < vt->count; j++) {
            int64_t i = vt->offset + j;
            double tol = 2e-3 * fabs(fd[i]) + 2e-4 * gmax;
            if (fabs(m.grads[i] - fd[i]) > tol && bad++ < 5)
                fprintf(stderr, "  %s[%lld]: engine %.7g, finite difference %.7g\n", vt->name,
                        (long long)j, m.grads[i], fd[i]);
        }
    }
    CHECKF(bad == 0, "%d of %lld gradients differ from finite differences", bad,
            (long long)m.n_params);
    CHECKF(gmax > 1e-3, "gradients are all ~0 (max %g): the check would be vacuous", gmax);
    if (m.blocks[0].mm_ranges) { /* the modulator's gradients must be exercised */
        const vit_tensor *vt = vit_find_tensor(&m, "blocks.0.attn.mm_ranges");
        double s = 0.0;
        for (int j = 0; j < 4; j++) s += fabs(fd[vt->offset + j]);
        CHECKF(s > 1e-4, "attention modulator gradient ~0 (%g)", s);
    }
    free(p), free(fd);
    vit_free(&m);
}

static void check_config_errors(void)
{
    T_CTX("config errors");
    vit_config c = vit_config_default();
    vit_model m;
    c.patch = 5;
    CHECKF(vit_build(&m, &c, 4) == MMX_ERR_PARAM && strstr(mmx_last_error(), "patch"), "%s", mmx_last_error());
    c = vit_config_default(), c.dim = 130;
    CHECKF(vit_build(&m, &c, 4) == MMX_ERR_PARAM && strstr(mmx_last_error(), "heads"), "%s", mmx_last_error());
    c = vit_config_default(), c.head_norm = MMX_NORM_EVSOFTMAX;
    CHECKF(vit_build(&m, &c, 4) == MMX_ERR_PARAM && strstr(mmx_last_error(), "evsoftmax"), "%s", mmx_last_error());
    c = vit_config_default(), c.depth = 0;
    CHECKF(vit_build(&m, &c, 4) == MMX_ERR_PARAM, "%s", mmx_last_error());
    c = vit_config_default();
    CHECKF(vit_build(&m, &c, 0) == MMX_ERR_PARAM, "%s", mmx_last_error());
    CHECKF(m.params == NULL && m.acts == NULL, "a failed build leaves the model empty%s", "");
    vit_free(&m); /* safe on an empty model */
}

int main(void)
{
    check_config_errors();
    const vcase cases[] = {
        {MMX_NORM_SOFTMAX, MMX_NORM_SOFTMAX},   {MMX_NORM_MULTIMAX, MMX_NORM_MULTIMAX},
        {MMX_NORM_MULTIMAX, MMX_NORM_SOFTMAX},  {MMX_NORM_SOFTMAX, MMX_NORM_MULTIMAX},
        {MMX_NORM_SPARSEMAX, MMX_NORM_SPARSEMAX}, {MMX_NORM_ENTMAX15, MMX_NORM_ENTMAX15},
        {MMX_NORM_ENTMAX, MMX_NORM_ENTMAX},     {MMX_NORM_EVSOFTMAX, MMX_NORM_SOFTMAX},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(cases[i]);
    return t_summary();
}
