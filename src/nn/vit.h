/*
 * vit.h - a small Vision Transformer (pre-norm, global average pooling, as in the paper's DeiT
 * setup) whose attention and classifier output can use any normalizer of the library.
 *
 *   img (B, S, S) -> patches (B, T, p*p) -> linear + pos -> x0 (B, T, C)
 *   block l:  x' = x + proj(attn(LN1(x)))      attn = f(q k^T / sqrt(D)) v per head (mmx_attn)
 *             x'' = x' + fc2(GELU(fc1(LN2(x'))))
 *   head:     logits = W LN(mean_t x_L) + b    loss = mmx_loss(head norm, logits, labels)
 *
 * Memory: one arena for parameters, one for their gradients (same layout, so the gradient of
 * the parameter at params + i is at grads + i), one for the activations of a batch size, plus
 * the attention workspace; all allocated once by vit_build and freed by vit_free.
 * Parameter tensors are named as in a PyTorch state_dict (see vit_params.c), and MultiMax
 * modulators are float tensors "blocks.<l>.attn.mm_ranges" / "mm_ts" of 4 values each (order 2,
 * official layout) and "head.mm_ranges" / "head.mm_ts".
 */
#ifndef MMX_NN_VIT_H
#define MMX_NN_VIT_H

#include <stddef.h>
#include <stdint.h>

#include "multimax.h"

#define VIT_MAX_DEPTH 32
#define VIT_MAX_TENSORS (8 + 16 * VIT_MAX_DEPTH)
#define VIT_LN_EPS 1e-6f
#define VIT_MM_ORDER 2

typedef struct {
    int image;          /* image side in pixels (28)                                  */
    int patch;          /* patch side; image % patch == 0 (4 -> 49 tokens)            */
    int dim;            /* model width C (multiple of heads)                           */
    int depth;          /* blocks                                                      */
    int heads;          /* attention heads (D = dim / heads)                           */
    int mlp_ratio;      /* MLP hidden width = mlp_ratio * dim                          */
    int classes;        /* outputs                                                     */
    mmx_norm_kind attn_norm; /* normalizer in every attention layer                    */
    mmx_norm_kind head_norm; /* normalizer of the classifier's loss (no EVSOFTMAX)      */
    double alpha;       /* ENTMAX's alpha (attention and head), fixed                  */
    int mm_zero_init;   /* 1: MultiMax coefficients start at exactly 0 (= SoftMax)     */
} vit_config;

/* Defaults: 28 px, patch 4, dim 128, depth 6, heads 4, MLP 2x, 10 classes, SoftMax. */
vit_config vit_config_default(void);
/* Checks the sizes and normalizers; MMX_ERR_PARAM with a message naming the field. */
mmx_status vit_config_check(const vit_config *c);

/* Which AdamW group a tensor belongs to. */
typedef enum {
    VIT_GROUP_DECAY = 0,     /* weight matrices: weight decay                          */
    VIT_GROUP_NO_DECAY = 1,  /* biases, LayerNorm, position embedding                  */
    VIT_GROUP_MODULATOR = 2  /* MultiMax scalars: no decay, clipped as their own group */
} vit_group;

typedef struct {
    char name[64];
    int ndim;
    int64_t shape[2];
    int64_t offset, count; /* in floats, into params / grads */
    vit_group group;
} vit_tensor;

/* Views into the parameter arena for one block (see vit.h's diagram for the shapes). */
typedef struct {
    float *ln1_w, *ln1_b;   /* (C)                     */
    float *qkv_w, *qkv_b;   /* (3C, C), (3C)           */
    float *proj_w, *proj_b; /* (C, C), (C)             */
    float *mm_ranges, *mm_ts; /* (4) each, or NULL      */
    float *ln2_w, *ln2_b;   /* (C)                     */
    float *fc1_w, *fc1_b;   /* (M, C), (M)   M = mlp   */
    float *fc2_w, *fc2_b;   /* (C, M), (C)             */
} vit_block_params;

/* Saved activations of one block for a batch (N = B T rows). */
typedef struct {
    float *x;            /* (N, C) block input                                      */
    float *ln1;          /* (N, C)       */ float *ln1_mean, *ln1_rstd; /* (N)      */
    float *qkv;          /* (N, 3C): q, k, v of each token, heads inside (B, T, 3, H, D),
                          * read in place by the attention (vit_attn_desc's layouts)  */
    float *stats;        /* (B, H, T, MMX_ATTN_STATS)                                */
    float *attm;         /* (N, C) attention output, written merged (B, T, H, D)      */
    float *xmid;         /* (N, C) x + proj(attm)                                    */
    float *ln2;          /* (N, C)       */ float *ln2_mean, *ln2_rstd; /* (N)      */
    float *h1;           /* (N, M) fc1 output; after a training forward, GELU'(fc1 output) */
    float *h2;           /* (N, M) GELU(h1)                                          */
} vit_block_acts;

typedef struct {
    vit_config cfg;
    int tokens, grid, head_dim, hidden;
    /* parameters and gradients (same layout) */
    float *params, *grads;
    int64_t n_params;
    vit_tensor tensors[VIT_MAX_TENSORS];
    int n_tensors;
    float *patch_w, *patch_b; /* (C, p*p), (C) */
    float *pos;               /* (T, C)        */
    vit_block_params blocks[VIT_MAX_DEPTH];
    float *norm_w, *norm_b;   /* (C) LayerNorm after pooling            */
    float *head_w, *head_b;   /* (K, C), (K)                            */
    float *head_ranges, *head_ts; /* (4) each, or NULL                  */
    /* activations for up to max_batch images */
    int max_batch;
    float *acts;
    size_t acts_floats;
    float *patches;           /* (B, T, p*p)                            */
    vit_block_acts blk[VIT_MAX_DEPTH];
    float *xout;              /* (B, T, C) output of the last block     */
    float *pooled;            /* (B, C)                                 */
    float *fcn, *fcn_mean, *fcn_rstd; /* (B, C), (B), (B)               */
    float *logits;            /* (B, K)                                 */
    float *loss;              /* (B) per-image loss                     */
    /* backward scratch (reused by every block) */
    float *dx, *dln, *dqkv, *dattm, *dh1, *dh2, *dlogits, *dfcn, *dpooled;
    float *dpooled_xh; /* (B, C) LayerNorm scratch */
    float *wpart;      /* weight-gradient partials (nn_linear_backward's wpart) */
    void *attn_work;
    size_t attn_work_bytes;
} vit_model;

/* Allocates the arenas for a config and a largest batch size; parameters are initialised by
 * vit_init. On failure the model is left zeroed (vit_free is safe). */
mmx_status vit_build(vit_model *m, const vit_config *cfg, int max_batch);
void vit_free(vit_model *m);

/* ViT/DeiT init: weights truncated normal (std 0.02, cut at +-2 std), biases 0, LayerNorm 1/0,
 * position embedding truncated normal 0.02; MultiMax ranges and ts truncated normal 0.02 (the
 * official init) or exactly 0 with cfg.mm_zero_init. Deterministic in seed. */
void vit_init(vit_model *m, uint64_t seed);

/* The tensor with this name, or NULL. */
const vit_tensor *vit_find_tensor(const vit_model *m, const char *name);

/*
 * Forward of a batch: img (B, S, S) normalised pixels, labels (B) (may be NULL: no loss).
 * Fills the activations, logits and, with labels, m->loss; returns the mean loss in *mean_loss
 * (may be NULL). train = 0 selects evaluation behaviour (EvSoftMax's exact zeros) and skips
 * the attention statistics, so no backward can follow.
 */
mmx_status vit_forward(vit_model *m, const float *img, const int32_t *labels, int batch,
                       double label_smoothing, int train, double *mean_loss);

/* Backward of the last forward (which must have had labels and train = 1): m->grads is
 * overwritten with the gradient of the mean loss. */
mmx_status vit_backward(vit_model *m, const int32_t *labels, int batch, double label_smoothing);

/* The attention descriptor of a batch: q, k, v at qkv + 0, C, 2C of (N, 3C) rows, the output
 * and its gradient as (N, C) rows (layouts of the merged (B, T, H, D) forms). */
mmx_attn vit_attn_desc(const vit_model *m, int batch);

/* The normalizer of block l's attention (its MultiMax scalars widened into rd, td: 4 doubles
 * each, which must outlive the descriptor); train = 0 gives EvSoftMax's evaluation mode. */
mmx_norm vit_attn_norm(const vit_model *m, int l, double *rd, double *td, int train);

/* Predicted class of each image of the last forward: arg max of the head normalizer's
 * probabilities (ties: larger logit; uses the dlogits scratch). pred: (B). */
mmx_status vit_predict(vit_model *m, int32_t *pred, int batch);

#endif
