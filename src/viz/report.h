/*
 * report.h - the analysis report of one or more trained ViTs: one self-contained HTML page
 * (report.html) with tables, inline SVG charts and PNG attention maps, plus the numbers as CSV.
 *
 * Files written into dir (created if missing):
 *   report.html          everything below, viewable offline (images referenced relatively)
 *   metrics.csv          model,layer,sparsity,multimodality,oversmooth  (layer 0 = embedding
 *                        for oversmooth; sparsity/multimodality empty there; blocks are
 *                        layers 1..depth; depth + 1 rows per model)
 *   summary.csv          model,norm,head_norm,accuracy,loss,ms_per_step,images_per_s,params
 *   modulators.csv       model,layer,b1,d1,b2,d2,tb1,td1,tb2,td2  (layers 1..depth, then
 *                        "head" for the head; only models that have them)
 *   attn_<model>_<i>.png attention map strip of test image i (i from 0), 8-bit RGB: the image,
 *                        then one panel per layer (the attention map upsampled to the image
 *                        and blended over it), geometry in MMX_REPORT_* below
 * Every CSV starts with the header line above. Numbers are written with %.6g; a metric equal
 * to MMX_METRIC_UNDEFINED and an unknown (0) ms_per_step / images_per_s are empty fields;
 * other non-finite values are written as printf does ("nan", "inf"). Text fields (norm,
 * head_norm) are quoted as in RFC 4180 when they hold a comma, quote or line break.
 * The page shows: a summary table (one row per model); per-layer sparsity, multi-modality and
 * over-smoothing as SVG line charts with one line per model; each MultiMax model's learned
 * sigma(x) per layer (and the head's) as SVG curves over x in [-6, 6] next to the identity
 * (SoftMax); the attention map PNGs with true and predicted labels. In charts, undefined
 * and non-finite values are gaps in the lines.
 */
#ifndef MMX_VIZ_REPORT_H
#define MMX_VIZ_REPORT_H

#include <stdint.h>

#include "multimax.h"

/* Attention strip geometry: each panel is the image upscaled (nearest) by
 * MMX_REPORT_SCALE(image) = ceil(112 / image) (at least 1), so panels are about 112 pixels
 * or more a side; panels are MMX_REPORT_GAP white pixels apart. Panel 0 is the grey image,
 * panel l (1..depth) the layer-l map over it. */
#define MMX_REPORT_SCALE(image) ((image) >= 112 ? 1 : (111 + (image)) / (image))
#define MMX_REPORT_PANEL(image) ((image) * MMX_REPORT_SCALE(image))
#define MMX_REPORT_GAP 4
#define MMX_REPORT_STRIP_W(image, depth) \
    (((depth) + 1) * MMX_REPORT_PANEL(image) + (depth) * MMX_REPORT_GAP)
#define MMX_REPORT_STRIP_H(image) MMX_REPORT_PANEL(image)

/* One trained model's analysis results (arrays owned by the caller). */
typedef struct {
    const char *name;      /* short id used in file names and legends, e.g. "softmax" ([a-z0-9_-]) */
    const char *norm;      /* attention normalizer, e.g. "multimax"                         */
    const char *head_norm; /* output normalizer of the classifier, e.g. "softmax"            */
    int depth;             /* transformer blocks                                              */
    int heads;             /* attention heads per block                                       */
    int grid;              /* tokens = grid * grid (patches per side)                         */
    int64_t params;        /* parameter count                                                 */
    double accuracy;       /* test accuracy in [0, 1]                                         */
    double loss;           /* test loss                                                       */
    double ms_per_step;    /* training time per step (ms), 0 if unknown                      */
    double images_per_s;   /* training throughput, 0 if unknown                              */
    const double *sparsity;      /* (depth) mean attention sparsity per layer (MMX_METRIC_UNDEFINED ok) */
    const double *multimodality; /* (depth) mean attention multi-modality per layer           */
    const double *oversmooth;    /* (depth + 1) mean pairwise token cosine similarity; [0] is the
                                  * embedding (patches + position), [l] the output of block l  */
    const double *ranges;  /* (depth, 4) attention modulator [b1, d1, b2, d2] per layer, or NULL */
    const double *ts;      /* (depth, 4) [tb1, td1, tb2, td2] per layer, or NULL              */
    const double *head_ranges, *head_ts; /* (4) each: the classifier's modulator, or NULL     */
    int n_maps;            /* test images with attention maps                                 */
    int image;             /* image side in pixels (28)                                       */
    const uint8_t *images; /* (n_maps, image, image) grey pixels                              */
    const int32_t *labels; /* (n_maps) true class                                             */
    const int32_t *preds;  /* (n_maps) predicted class                                        */
    const float *maps;     /* (n_maps, depth, grid * grid) attention map per layer: the mean over
                            * heads and queries of the probability given to each key token    */
} mmx_report_model;

/* Page information; mmx_report_write accepts NULL for none (a default title, numbers for
 * classes, no command line). Class names for captions (Fashion-MNIST's 10), or NULL for
 * numbers; with names, every label and prediction must lie in [0, classes). */
typedef struct {
    const char *title;             /* page title                                    */
    const char *const *class_names; /* (classes) or NULL                            */
    int classes;
    const char *command;           /* the command line that produced it, shown verbatim */
} mmx_report_info;

/* Writes the files above into dir, which is created if missing (its parent must exist).
 * MMX_ERR_NULL for a NULL dir or models; MMX_ERR_PARAM for an invalid description, checked
 * before anything is written: n_models < 1; a name that is empty, longer than 64, not
 * [a-z0-9_-] or used twice; NULL norm / head_norm / metric arrays; depth, heads or grid < 1
 * (or above 1024 / 65536 / 1024); params < 0; only one of ranges / ts (or head_ranges /
 * head_ts) given, or a non-finite value in them; n_maps < 0; with n_maps > 0, image outside
 * [1, 4096], a strip wider than PNG's 65535 pixels, a NULL images / labels / preds / maps,
 * or a map value that is negative or not finite; bad class names or out-of-range labels (see mmx_report_info). MMX_ERR_IO naming
 * the file or directory, with strerror, on any create / write / close failure;
 * MMX_ERR_NOMEM. Files already written stay on error. */
mmx_status mmx_report_write(const char *dir, const mmx_report_info *info,
                            const mmx_report_model *models, int n_models);

#endif
