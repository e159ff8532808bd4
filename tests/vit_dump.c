/*
 * vit_dump.c - writes one training step of a small ViT for the PyTorch comparison
 * (tests/peers/test_vit_peer.py): the initial parameters, a batch, our logits, loss, every
 * parameter gradient, and the parameters after one AdamW step, as safetensors files.
 *
 *   vit_dump OUTDIR NORM HEAD_NORM [spread]
 *     OUTDIR/init.safetensors  parameters (state_dict names), "input.images" (B, S, S),
 *                              "input.labels" (B) int32; metadata: the model and optimizer
 *                              settings
 *     OUTDIR/step.safetensors  "logits" (B, K), "loss" (1) float64, "grad.<name>",
 *                              "step1.<name>" (after one AdamW step, with clipping)
 *   spread: parameters drawn wider than the ViT init (normal, std 0.5; MultiMax coefficients
 *   away from 0), so that scores cross the modulator's thresholds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "nn/vit.h"
#include "train/checkpoint.h"
#include "train/optim.h"

enum { B = 8 };

static void spread(vit_model *m)
{
    static const double mr[4] = {-0.6, 0.7, -0.4, 0.5}, mt[4] = {0.4, -0.3, 0.2, 0.15};
    mmx_rng g;
    mmx_rng_seed(&g, 77);
    for (int i = 0; i < m->n_tensors; i++) {
        const vit_tensor *t = &m->tensors[i];
        int r = strstr(t->name, "mm_ranges") != NULL, ts = strstr(t->name, "mm_ts") != NULL;
        for (int64_t j = 0; j < t->count; j++) {
            double n = mmx_rng_normal(&g);
            m->params[t->offset + j] =
                (float)(r ? mr[j] + 0.05 * n : ts ? mt[j] + 0.05 * n : m->params[t->offset + j] + 0.3 * n);
        }
    }
}

static int fail(const char *what)
{
    fprintf(stderr, "vit_dump: %s: %s\n", what, mmx_last_error());
    return 1;
}

/* Writes every parameter-shaped array base (params, grads, ...) with a name prefix, plus
 * extra tensors. */
static mmx_status write_set(const char *path, const vit_model *m, const float *const *bases,
                            const char *const *prefixes, int nb, const mmx_st_tensor *extra,
                            int ne, const char *const *meta, int nm)
{
    int nt = nb * m->n_tensors + ne;
    mmx_st_tensor *t = calloc((size_t)nt, sizeof *t);
    char (*names)[96] = calloc((size_t)nt, sizeof *names);
    for (int b = 0; b < nb; b++)
        for (int i = 0; i < m->n_tensors; i++) {
            const vit_tensor *vt = &m->tensors[i];
            int k = b * m->n_tensors + i;
            snprintf(names[k], sizeof names[k], "%s%s", prefixes[b], vt->name);
            t[k] = (mmx_st_tensor){names[k], MMX_ST_F32, vt->ndim, {vt->shape[0], vt->shape[1]},
                                   bases[b] + vt->offset};
        }
    for (int e = 0; e < ne; e++) t[nb * m->n_tensors + e] = extra[e];
    mmx_status st = mmx_st_write(path, t, nt, meta, nm);
    free(t), free(names);
    return st;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: vit_dump OUTDIR NORM HEAD_NORM [spread]\n");
        return 2;
    }
    vit_config c = vit_config_default();
    c.patch = 7, c.dim = 32, c.heads = 4, c.depth = 2, c.mlp_ratio = 2;
    if (mmx_norm_parse(argv[2], &c.attn_norm) || mmx_norm_parse(argv[3], &c.head_norm))
        return fail("normalizer");
    vit_model m;
    if (vit_build(&m, &c, B) != MMX_OK)
        return fail("vit_build");
    vit_init(&m, 3);
    if (argc > 4 && strcmp(argv[4], "spread") == 0)
        spread(&m);
    float img[B * 28 * 28];
    int32_t labels[B];
    mmx_rng g;
    mmx_rng_seed(&g, 5);
    for (int i = 0; i < B * 28 * 28; i++) img[i] = (float)mmx_rng_normal(&g);
    for (int i = 0; i < B; i++) labels[i] = (int32_t)mmx_rng_below(&g, 10);
    const double ls = 0.1;
    adamw_config oc = adamw_config_default();
    oc.warmup = 0, oc.lr = 1e-3, oc.mod_lr_scale = 2.0, oc.clip = 1.0, oc.mod_clip = 0.05;
    char path[4096], ls_s[32], lr_s[32], wd_s[32], mls_s[32], mc_s[32], c_s[32];
    snprintf(ls_s, sizeof ls_s, "%.17g", ls), snprintf(lr_s, sizeof lr_s, "%.17g", oc.lr);
    snprintf(wd_s, sizeof wd_s, "%.17g", oc.weight_decay);
    snprintf(mls_s, sizeof mls_s, "%.17g", oc.mod_lr_scale);
    snprintf(mc_s, sizeof mc_s, "%.17g", oc.mod_clip), snprintf(c_s, sizeof c_s, "%.17g", oc.clip);
    const char *meta[] = {"norm", argv[2], "head_norm", argv[3], "label_smoothing", ls_s,
                          "lr", lr_s, "weight_decay", wd_s, "mod_lr_scale", mls_s,
                          "clip", c_s, "mod_clip", mc_s};
    mmx_st_tensor in[2] = {{"input.images", MMX_ST_F32, 3, {B, 28, 28}, img},
                           {"input.labels", MMX_ST_I32, 1, {B}, labels}};
    const float *pb[1] = {m.params};
    const char *pp[1] = {""};
    snprintf(path, sizeof path, "%s/init.safetensors", argv[1]);
    if (write_set(path, &m, pb, pp, 1, in, 2, meta, 8) != MMX_OK)
        return fail(path);
    double loss;
    if (vit_forward(&m, img, labels, B, ls, 1, &loss) != MMX_OK ||
        vit_backward(&m, labels, B, ls) != MMX_OK)
        return fail("forward/backward");
    float *grads = malloc((size_t)m.n_params * 4);
    memcpy(grads, m.grads, (size_t)m.n_params * 4);
    adamw o;
    if (adamw_build(&o, &oc, m.n_params) != MMX_OK)
        return fail("adamw");
    adamw_step(&o, &m, NULL);
    mmx_st_tensor out[2] = {{"logits", MMX_ST_F32, 2, {B, c.classes}, m.logits},
                            {"loss", MMX_ST_F64, 1, {1}, &loss}};
    const float *ob[2] = {grads, m.params};
    const char *op[2] = {"grad.", "step1."};
    snprintf(path, sizeof path, "%s/step.safetensors", argv[1]);
    if (write_set(path, &m, ob, op, 2, out, 2, NULL, 0) != MMX_OK)
        return fail(path);
    free(grads), adamw_free(&o), vit_free(&m);
    return 0;
}
