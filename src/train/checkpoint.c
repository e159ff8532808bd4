/* checkpoint.c - ViT + AdamW state in safetensors; see checkpoint.h. */
#include "train/checkpoint.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

/* Tensor k of a checkpoint: k < n_tensors are the parameters, then the first and the second
 * AdamW moments ("optim.m." / "optim.v." + the parameter's name); *role is 0, 1 or 2. */
static const vit_tensor *ckpt_tensor(const vit_model *m, int k, char *name, size_t n, int *role)
{
    static const char *const prefix[3] = {"", "optim.m.", "optim.v."};
    const vit_tensor *t = &m->tensors[k % m->n_tensors];
    *role = k / m->n_tensors;
    snprintf(name, n, "%s%s", prefix[*role], t->name);
    return t;
}

void ckpt_meta_add(ckpt_meta *md, const char *key, const char *fmt, ...)
{
    if (md->n >= CKPT_MAX_META)
        return;
    snprintf(md->keys[md->n], sizeof md->keys[0], "%s", key);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(md->vals[md->n], sizeof md->vals[0], fmt, ap);
    va_end(ap);
    md->n++;
}

void ckpt_meta_model(ckpt_meta *md, const vit_config *c)
{
    ckpt_meta_add(md, "model.image", "%d", c->image);
    ckpt_meta_add(md, "model.patch", "%d", c->patch);
    ckpt_meta_add(md, "model.dim", "%d", c->dim);
    ckpt_meta_add(md, "model.depth", "%d", c->depth);
    ckpt_meta_add(md, "model.heads", "%d", c->heads);
    ckpt_meta_add(md, "model.mlp_ratio", "%d", c->mlp_ratio);
    ckpt_meta_add(md, "model.classes", "%d", c->classes);
    ckpt_meta_add(md, "model.norm", "%s", mmx_norm_name(c->attn_norm));
    ckpt_meta_add(md, "model.head_norm", "%s", mmx_norm_name(c->head_norm));
    ckpt_meta_add(md, "model.alpha", "%.17g", c->alpha);
    ckpt_meta_add(md, "model.mm_zero_init", "%d", c->mm_zero_init);
}

mmx_status ckpt_save(const char *path, const vit_model *m, const adamw *o, int64_t step,
                     const ckpt_meta *md)
{
    int nt = m->n_tensors * (o ? 3 : 1);
    mmx_st_tensor *ts = calloc((size_t)nt, sizeof *ts);
    char(*names)[80] = calloc((size_t)nt, sizeof *names);
    const char **meta = calloc((size_t)(md->n + 2) * 2, sizeof *meta);
    char stepbuf[32];
    if (!ts || !names || !meta) {
        free(ts), free(names), free(meta);
        return mmx_fail(MMX_ERR_NOMEM, "ckpt_save", "out of memory");
    }
    for (int k = 0; k < nt; k++) {
        int role;
        const vit_tensor *t = ckpt_tensor(m, k, names[k], sizeof names[k], &role);
        const float *base = role == 0 ? m->params : role == 1 ? o->m : o->v;
        ts[k].name = names[k];
        ts[k].dtype = MMX_ST_F32;
        ts[k].ndim = t->ndim;
        ts[k].shape[0] = t->shape[0];
        ts[k].shape[1] = t->shape[1];
        ts[k].data = base + t->offset;
    }
    int nm = 0;
    meta[2 * nm] = "format", meta[2 * nm + 1] = CKPT_FORMAT, nm++;
    snprintf(stepbuf, sizeof stepbuf, "%lld", (long long)step);
    meta[2 * nm] = "step", meta[2 * nm + 1] = stepbuf, nm++;
    for (int i = 0; i < md->n; i++, nm++)
        meta[2 * nm] = md->keys[i], meta[2 * nm + 1] = md->vals[i];
    mmx_status st = mmx_st_write(path, ts, nt, meta, nm);
    free(ts), free(names), free(meta);
    return st;
}

static mmx_status meta_int(const mmx_st_file *f, const char *path, const char *key, int *out)
{
    const char *v = mmx_st_meta(f, key);
    char *end;
    errno = 0;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || *end || errno || x < -1000000000L || x > 1000000000L)
        return mmx_fail(MMX_ERR_FORMAT, "ckpt_read_config",
                        "%s: metadata '%s' %s (not a checkpoint of `multimax train vit`?)", path,
                        key, v ? "is not an integer" : "is missing");
    *out = (int)x;
    return MMX_OK;
}

static mmx_status meta_norm(const mmx_st_file *f, const char *path, const char *key,
                            mmx_norm_kind *k)
{
    const char *v = mmx_st_meta(f, key);
    if (!v || mmx_norm_parse(v, k) != MMX_OK)
        return mmx_fail(MMX_ERR_FORMAT, "ckpt_read_config", "%s: metadata '%s' %s", path, key,
                        v ? "names no normalizer" : "is missing");
    return MMX_OK;
}

mmx_status ckpt_read_config(const mmx_st_file *f, const char *path, vit_config *c)
{
    const char *fmt = mmx_st_meta(f, "format");
    if (!fmt || strcmp(fmt, CKPT_FORMAT) != 0)
        return mmx_fail(MMX_ERR_FORMAT, "ckpt_read_config",
                        "%s: metadata 'format' is '%s', expected '%s'", path, fmt ? fmt : "(none)",
                        CKPT_FORMAT);
    vit_config x = vit_config_default();
    mmx_status st;
    if ((st = meta_int(f, path, "model.image", &x.image)) ||
        (st = meta_int(f, path, "model.patch", &x.patch)) ||
        (st = meta_int(f, path, "model.dim", &x.dim)) ||
        (st = meta_int(f, path, "model.depth", &x.depth)) ||
        (st = meta_int(f, path, "model.heads", &x.heads)) ||
        (st = meta_int(f, path, "model.mlp_ratio", &x.mlp_ratio)) ||
        (st = meta_int(f, path, "model.classes", &x.classes)) ||
        (st = meta_int(f, path, "model.mm_zero_init", &x.mm_zero_init)) ||
        (st = meta_norm(f, path, "model.norm", &x.attn_norm)) ||
        (st = meta_norm(f, path, "model.head_norm", &x.head_norm)))
        return st;
    const char *a = mmx_st_meta(f, "model.alpha");
    x.alpha = a ? strtod(a, NULL) : 0.0;
    if ((st = vit_config_check(&x)) != MMX_OK)
        return mmx_fail(st, "ckpt_read_config", "%s: bad model settings: %s", path,
                        mmx_last_error());
    *c = x;
    return MMX_OK;
}

/* Checks that every tensor the load needs is there with the right shape, before copying. */
static mmx_status check_all(const mmx_st_file *f, const char *path, const vit_model *m, int roles)
{
    char name[80];
    for (int k = 0; k < m->n_tensors * roles; k++) {
        int role;
        const vit_tensor *t = ckpt_tensor(m, k, name, sizeof name, &role);
        const mmx_st_entry *e = mmx_st_find(f, name);
        int ok = e && e->dtype == MMX_ST_F32 && e->ndim == t->ndim && e->shape[0] == t->shape[0] &&
                 (t->ndim < 2 || e->shape[1] == t->shape[1]);
        if (!ok)
            return mmx_fail(MMX_ERR_FORMAT, "ckpt_load", "%s: tensor '%s' %s", path, name,
                            e ? "has the wrong dtype or shape for this model" : "is missing");
        const float *v = e->data; /* may be unaligned: read through memcpy */
        for (int64_t j = 0; j < t->count; j++) {
            float x;
            memcpy(&x, (const char *)v + 4 * j, 4);
            if (!isfinite(x) || (role == 2 && x < 0.0f))
                return mmx_fail(MMX_ERR_FORMAT, "ckpt_load", "%s: tensor '%s' holds %g at %lld",
                                path, name, (double)x, (long long)j);
        }
    }
    return MMX_OK;
}

mmx_status ckpt_load(const mmx_st_file *f, const char *path, vit_model *m, adamw *o, int64_t *step)
{
    int roles = o ? 3 : 1;
    mmx_status st = check_all(f, path, m, roles);
    if (st != MMX_OK)
        return st;
    const char *sv = mmx_st_meta(f, "step");
    long long s = sv ? strtoll(sv, NULL, 10) : -1;
    if (s < 0)
        return mmx_fail(MMX_ERR_FORMAT, "ckpt_load", "%s: metadata 'step' missing or negative",
                        path);
    char name[80];
    for (int k = 0; k < m->n_tensors * roles; k++) {
        int role;
        const vit_tensor *t = ckpt_tensor(m, k, name, sizeof name, &role);
        float *base = role == 0 ? m->params : role == 1 ? o->m : o->v;
        memcpy(base + t->offset, mmx_st_find(f, name)->data, (size_t)t->count * sizeof(float));
    }
    if (o)
        o->step = s;
    if (step)
        *step = s;
    return MMX_OK;
}
