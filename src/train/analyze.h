/*
 * analyze.h - what a trained ViT's attention looks like (the paper's Section 5 analyses):
 * per-layer attention sparsity and multi-modality (mmx_metrics, Def. 3.2 / 3.3, eps = 0) over
 * every head and query row of the test images, over-smoothing (mean pairwise cosine
 * similarity of the tokens entering each block and leaving the last), the learned modulators,
 * and attention maps (mean over heads and queries of the probability each token receives).
 */
#ifndef MMX_TRAIN_ANALYZE_H
#define MMX_TRAIN_ANALYZE_H

#include "data/images.h"
#include "nn/vit.h"
#include "viz/report.h"

typedef struct {
    int depth, grid, n_images;
    double sparsity[VIT_MAX_DEPTH];       /* mean over defined rows, or MMX_METRIC_UNDEFINED */
    double multimodality[VIT_MAX_DEPTH];
    double oversmooth[VIT_MAX_DEPTH + 1]; /* [0] embedding, [l] output of block l          */
    double ranges[VIT_MAX_DEPTH * 4], ts[VIT_MAX_DEPTH * 4]; /* attention modulators       */
    double head_ranges[4], head_ts[4];
    int has_mod, has_head_mod;
    int n_maps, image;
    uint8_t *images;  /* (n_maps, image, image) */
    int32_t *labels, *preds; /* (n_maps) */
    float *maps;      /* (n_maps, depth, grid * grid) */
} vit_analysis;

/* Analyses the first n_images test images (batches of the model's max_batch) and keeps maps
 * of the first n_maps (<= max_batch). */
mmx_status vit_analyze(vit_model *m, const mmx_images *test, int n_images, int n_maps,
                       vit_analysis *a);
void vit_analysis_free(vit_analysis *a);

/* A report entry pointing into a (and m's config); strings are the caller's. */
void vit_analysis_report(mmx_report_model *rm, const vit_analysis *a, const vit_model *m,
                         const char *name);

#endif
