/*
 * checkpoint.h - a ViT training run saved as one safetensors file: every parameter under its
 * state_dict name, the AdamW moments as "optim.m.<name>" / "optim.v.<name>", and metadata
 * (format, step, every model and training setting as text). Written atomically (temp file +
 * fsync + rename), so a run killed while saving keeps its previous checkpoint.
 */
#ifndef MMX_TRAIN_CHECKPOINT_H
#define MMX_TRAIN_CHECKPOINT_H

#include "nn/vit.h"
#include "train/optim.h"
#include "train/safetensors.h"

#define CKPT_FORMAT "multimax-vit-1"
#define CKPT_MAX_META 48

/* Settings that travel with a checkpoint as metadata pairs (key, value). */
typedef struct {
    char keys[CKPT_MAX_META][32];
    char vals[CKPT_MAX_META][64];
    int n;
} ckpt_meta;

void ckpt_meta_add(ckpt_meta *md, const char *key, const char *fmt, ...);
/* The model config as metadata (model.*). */
void ckpt_meta_model(ckpt_meta *md, const vit_config *c);

/* Writes the model (and the optimizer, when o != NULL) with md and "step" to path. */
mmx_status ckpt_save(const char *path, const vit_model *m, const adamw *o, int64_t step,
                     const ckpt_meta *md);

/* Reads path's model config (for building the model before loading it). */
mmx_status ckpt_read_config(const mmx_st_file *f, const char *path, vit_config *c);

/* Loads parameters (and, when o != NULL, the moments and the step) from an opened file,
 * checking every tensor's presence and shape; nothing is modified on failure. */
mmx_status ckpt_load(const mmx_st_file *f, const char *path, vit_model *m, adamw *o,
                     int64_t *step);

#endif
