/*
 * optim.h - AdamW with parameter groups, per-group gradient-norm clipping, and the
 * warmup + cosine learning-rate schedule.
 *
 * Groups follow the ViT recipe and SPEC.md: weight matrices get weight decay; biases,
 * LayerNorms and the position embedding get none; the MultiMax modulator scalars get none and
 * are clipped as their own group (their gradients are sums over every score and would dominate
 * a global clip). Decoupled weight decay (Loshchilov and Hutter): p -= lr (m^/(sqrt v^ + eps)
 * + wd p), as torch.optim.AdamW.
 */
#ifndef MMX_TRAIN_OPTIM_H
#define MMX_TRAIN_OPTIM_H

#include <stdint.h>

#include "nn/vit.h"

typedef struct {
    double lr;          /* peak learning rate                                      */
    double min_lr;      /* floor of the cosine                                     */
    double beta1, beta2, eps;
    double weight_decay;
    double clip;        /* max global L2 norm of the non-modulator gradients; 0 = off */
    double mod_clip;    /* max L2 norm of the modulator gradients; 0 = off          */
    double mod_lr_scale;/* modulator learning rate = lr * mod_lr_scale              */
    int64_t warmup;     /* warmup steps (linear from 0)                            */
    int64_t total;      /* total steps (cosine reaches min_lr at total)            */
} adamw_config;

adamw_config adamw_config_default(void);

/* The optimizer state: first and second moments, one arena each (model layout). */
typedef struct {
    adamw_config cfg;
    float *m, *v;       /* (n_params) each */
    int64_t n;
    int64_t step;       /* steps taken */
} adamw;

mmx_status adamw_build(adamw *o, const adamw_config *cfg, int64_t n_params);
void adamw_free(adamw *o);

/* Learning rate at step s (0-based): linear warmup to lr, then cosine to min_lr. */
double adamw_lr(const adamw_config *c, int64_t s);

/* Gradient norms before clipping, reported by adamw_step. */
typedef struct {
    double grad_norm, mod_grad_norm, lr;
} adamw_report;

/* One update of the model's parameters from its gradients (clipping them in place first). */
void adamw_step(adamw *o, vit_model *model, adamw_report *rep);

#endif
