/*
 * trainer.h - training and evaluating a ViT on Fashion-MNIST: seeded shuffling and
 * augmentation, AdamW with warmup + cosine, evaluation each epoch, a progress line, a JSON-lines
 * log and atomic checkpoints that resume bit-exactly.
 *
 * Files in out_dir: checkpoint.safetensors (latest), log.jsonl (one line per logged step and
 * one per epoch), and the final model is the last checkpoint.
 * Bit-exact resume: the data order of epoch e comes from mmx_rng_derive(seed, 1, e) and the
 * augmentation of step s from stream s, so a resumed run replays the same batches; the
 * checkpoint holds the parameters, the AdamW moments and the step.
 */
#ifndef MMX_TRAIN_TRAINER_H
#define MMX_TRAIN_TRAINER_H

#include <stdint.h>

#include "data/images.h"
#include "nn/vit.h"
#include "train/optim.h"

typedef struct {
    vit_config model;
    adamw_config opt;      /* opt.total and opt.warmup are set from epochs, see warmup_epochs */
    int epochs;
    int batch;
    double warmup_epochs;  /* warmup length in epochs (fractional allowed)              */
    uint64_t seed;
    double label_smoothing;
    int augment;           /* random crop (pad) + horizontal flip                         */
    int pad;
    int64_t train_limit;   /* use the first N training images (0 = all)                  */
    int64_t test_limit;    /* evaluate on the first N test images (0 = all)              */
    const char *data_dir;  /* NULL: default (see images.h)                                */
    const char *out_dir;   /* checkpoint and log; created if missing                      */
    int resume;            /* continue from out_dir/checkpoint.safetensors                */
    int64_t save_every;    /* also checkpoint every N steps (0: only at each epoch end)   */
    int64_t stop_at;       /* stop (after saving) once this many steps are done (0: off) */
    int log_every;         /* steps between log lines                                     */
    int progress;          /* 1: progress line on stderr                                  */
    const char *name;      /* run name shown in the progress line                         */
} train_config;

train_config train_config_default(void);

typedef struct {
    double test_acc, test_loss, train_loss, train_acc;
    double ms_per_step, images_per_s;
    int64_t steps, params;
} train_result;

/* Trains as configured; *res gets the final figures. Errors (data missing, bad settings,
 * a resume that does not match, I/O) return a status with a message. */
mmx_status train_run(const train_config *tc, train_result *res);

/* Test-set loss and accuracy of a model (no augmentation, evaluation mode). */
mmx_status train_evaluate(vit_model *m, const mmx_images *test, int batch, double ls,
                          double *loss, double *acc);

/* Creates dir if it does not exist (one level). */
mmx_status train_mkdir(const char *dir);

#endif
