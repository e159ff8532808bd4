/* optim.c - AdamW with groups, clipping and the warmup + cosine schedule; see optim.h. */
#include "train/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "kernels/kernels.h"

adamw_config adamw_config_default(void)
{
    adamw_config c = {1e-3, 1e-5, 0.9, 0.999, 1e-8, 0.05, 1.0, 1.0, 1.0, 100, 1000};
    return c;
}

mmx_status adamw_build(adamw *o, const adamw_config *cfg, int64_t n_params)
{
    memset(o, 0, sizeof *o);
    o->cfg = *cfg;
    o->n = n_params;
    o->m = calloc((size_t)n_params, sizeof(float));
    o->v = calloc((size_t)n_params, sizeof(float));
    if (!o->m || !o->v) {
        adamw_free(o);
        return mmx_fail(MMX_ERR_NOMEM, "adamw_build", "out of memory for %lld parameters",
                        (long long)n_params);
    }
    return MMX_OK;
}

void adamw_free(adamw *o)
{
    free(o->m);
    free(o->v);
    memset(o, 0, sizeof *o);
}

double adamw_lr(const adamw_config *c, int64_t s)
{
    if (s < c->warmup)
        return c->lr * (double)(s + 1) / (double)c->warmup;
    int64_t span = c->total - c->warmup;
    double t = span > 0 ? (double)(s - c->warmup) / (double)span : 1.0;
    if (t > 1.0)
        t = 1.0;
    return c->min_lr + 0.5 * (c->lr - c->min_lr) * (1.0 + cos(3.14159265358979323846 * t));
}

/* L2 norm of the gradients of one kind of group (modulator or not), in double. */
static double group_norm(const vit_model *mdl, int modulator)
{
    double s = 0.0;
    for (int i = 0; i < mdl->n_tensors; i++) {
        const vit_tensor *t = &mdl->tensors[i];
        if ((t->group == VIT_GROUP_MODULATOR) != modulator)
            continue;
        const float *g = mdl->grads + t->offset;
        for (int64_t j = 0; j < t->count; j++)
            s += (double)g[j] * g[j];
    }
    return sqrt(s);
}

/* Tensors are updated in chunks of this many values (threads take chunks). */
#define ADAMW_CHUNK 16384

static void update_tensor(adamw *o, vit_model *mdl, const vit_tensor *t, double lr, float scale,
                          double bc1, double bc2)
{
    const adamw_config *c = &o->cfg;
    double wd = t->group == VIT_GROUP_DECAY ? c->weight_decay : 0.0;
    const float hp[7] = {scale,         (float)c->beta1,     (float)c->beta2,
                         (float)(1.0 - lr * wd), (float)(lr / bc1), (float)sqrt(bc2),
                         (float)c->eps};
    const mmx_kernels *k = mmx_kernels_active();
    float *p = mdl->params + t->offset, *g = mdl->grads + t->offset;
    float *m = o->m + t->offset, *v = o->v + t->offset;
#pragma omp parallel for schedule(static) if (t->count >= 2 * ADAMW_CHUNK)
    for (int64_t j = 0; j < t->count; j += ADAMW_CHUNK) {
        int64_t n = t->count - j < ADAMW_CHUNK ? t->count - j : ADAMW_CHUNK;
        k->adamw(p + j, m + j, v + j, g + j, n, hp);
    }
}

void adamw_step(adamw *o, vit_model *mdl, adamw_report *rep)
{
    const adamw_config *c = &o->cfg;
    double lr = adamw_lr(c, o->step);
    double gn = group_norm(mdl, 0), mn = group_norm(mdl, 1);
    float scale = c->clip > 0 && gn > c->clip ? (float)(c->clip / (gn + 1e-6)) : 1.0f;
    float mscale = c->mod_clip > 0 && mn > c->mod_clip ? (float)(c->mod_clip / (mn + 1e-6)) : 1.0f;
    o->step++;
    double bc1 = 1.0 - pow(c->beta1, (double)o->step), bc2 = 1.0 - pow(c->beta2, (double)o->step);
    for (int i = 0; i < mdl->n_tensors; i++) {
        const vit_tensor *t = &mdl->tensors[i];
        int mod = t->group == VIT_GROUP_MODULATOR;
        update_tensor(o, mdl, t, mod ? lr * c->mod_lr_scale : lr, mod ? mscale : scale, bc1, bc2);
    }
    if (rep) {
        rep->grad_norm = gn;
        rep->mod_grad_norm = mn;
        rep->lr = lr;
    }
}
