/* analyze.c - attention metrics, over-smoothing and maps of a trained ViT; see analyze.h. */
#include "train/analyze.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

/* Mean pairwise cosine similarity of the T tokens of each image, averaged over images:
 * with unit vectors u_i, sum_{i != j} u_i.u_j = |sum_i u_i|^2 - T. */
static double oversmooth(const float *x, int64_t B, int64_t T, int64_t C)
{
    double total = 0.0;
    double *s = calloc((size_t)C, sizeof(double));
    for (int64_t b = 0; b < B; b++) {
        memset(s, 0, (size_t)C * sizeof(double));
        for (int64_t t = 0; t < T; t++) {
            const float *u = x + (b * T + t) * C;
            double n = 0.0;
            for (int64_t c = 0; c < C; c++)
                n += (double)u[c] * u[c];
            n = n > 0 ? 1.0 / sqrt(n) : 0.0;
            for (int64_t c = 0; c < C; c++)
                s[c] += u[c] * n;
        }
        double ss = 0.0;
        for (int64_t c = 0; c < C; c++)
            ss += s[c] * s[c];
        total += (ss - (double)T) / ((double)T * (double)(T - 1));
    }
    free(s);
    return total;
}

typedef struct {
    double s_sum, m_sum;
    int64_t s_n, m_n;
} metric_acc;

/* Probabilities of every head of layer l for the batch; metrics into acc; maps of the first
 * keep images into a->maps. p, sc: (B, H, T, T); rm, rs: (B H T). */
static mmx_status layer_attention(vit_model *m, int l, int B, metric_acc *acc, vit_analysis *a,
                                  int keep, float *p, float *sc, double *rm, double *rs)
{
    int64_t H = m->cfg.heads, T = m->tokens, rows = B * H * T;
    double rd[4], td[4];
    mmx_norm nrm = vit_attn_norm(m, l, rd, td, 0);
    mmx_attn at = vit_attn_desc(m, B);
    const float *qkv = m->blk[l].qkv;
    mmx_status st = mmx_attn_probs(&at, &nrm, -1, p, sc, qkv, qkv + m->cfg.dim);
    if (st == MMX_OK)
        st = mmx_metrics_f32(rm, rs, NULL, NULL, p, T, sc, T, rows, T, 0.0);
    if (st != MMX_OK)
        return st;
    for (int64_t r = 0; r < rows; r++) {
        if (rs[r] != MMX_METRIC_UNDEFINED)
            acc->s_sum += rs[r], acc->s_n++;
        if (rm[r] != MMX_METRIC_UNDEFINED)
            acc->m_sum += rm[r], acc->m_n++;
    }
    for (int b = 0; b < keep; b++) {
        float *map = a->maps + ((int64_t)b * a->depth + l) * T;
        for (int64_t j = 0; j < T; j++) {
            double s = 0.0;
            for (int64_t h = 0; h < H; h++)
                for (int64_t i = 0; i < T; i++)
                    s += p[((b * H + h) * T + i) * T + j];
            map[j] = (float)(s / (double)(H * T));
        }
    }
    return MMX_OK;
}

static void copy_modulators(const vit_model *m, vit_analysis *a)
{
    a->has_mod = m->blocks[0].mm_ranges != NULL;
    for (int l = 0; a->has_mod && l < m->cfg.depth; l++)
        for (int i = 0; i < 4; i++) {
            a->ranges[4 * l + i] = m->blocks[l].mm_ranges[i];
            a->ts[4 * l + i] = m->blocks[l].mm_ts[i];
        }
    a->has_head_mod = m->head_ranges != NULL;
    for (int i = 0; a->has_head_mod && i < 4; i++) {
        a->head_ranges[i] = m->head_ranges[i];
        a->head_ts[i] = m->head_ts[i];
    }
}

static mmx_status analyze_batches(vit_model *m, const mmx_images *test, vit_analysis *a,
                                  metric_acc *acc, double *osm)
{
    int64_t H = m->cfg.heads, T = m->tokens, Bm = m->max_batch, S = test->rows * test->cols;
    float *x = malloc((size_t)(Bm * S) * 4), *p = malloc((size_t)(Bm * H * T * T) * 4);
    float *sc = malloc((size_t)(Bm * H * T * T) * 4);
    double *rm = malloc((size_t)(Bm * H * T) * 8), *rs = malloc((size_t)(Bm * H * T) * 8);
    int32_t *y = malloc((size_t)Bm * 4), *pred = malloc((size_t)Bm * 4);
    int64_t *idx = malloc((size_t)Bm * 8);
    mmx_status st = x && p && sc && rm && rs && y && pred && idx
                        ? MMX_OK
                        : mmx_fail(MMX_ERR_NOMEM, "vit_analyze", "out of memory");
    for (int64_t i0 = 0; i0 < a->n_images && st == MMX_OK; i0 += Bm) {
        int B = (int)(a->n_images - i0 < Bm ? a->n_images - i0 : Bm);
        int keep = i0 == 0 ? a->n_maps : 0;
        for (int j = 0; j < B; j++)
            idx[j] = i0 + j;
        mmx_images_batch(x, y, test, idx, B, 0, 0, 0, 0, MMX_FMNIST_MEAN, MMX_FMNIST_STD);
        st = vit_forward(m, x, NULL, B, 0.0, 0, NULL);
        if (st == MMX_OK)
            st = vit_predict(m, pred, B);
        for (int l = 0; l < m->cfg.depth && st == MMX_OK; l++) {
            st = layer_attention(m, l, B, &acc[l], a, keep, p, sc, rm, rs);
            osm[l] += oversmooth(m->blk[l].x, B, T, m->cfg.dim);
        }
        osm[m->cfg.depth] += oversmooth(m->xout, B, T, m->cfg.dim);
        for (int j = 0; j < keep; j++) {
            a->labels[j] = y[j], a->preds[j] = pred[j];
            memcpy(a->images + (int64_t)j * S, test->pixels + (i0 + j) * S, (size_t)S);
        }
    }
    free(x), free(p), free(sc), free(rm), free(rs), free(y), free(pred), free(idx);
    return st;
}

mmx_status vit_analyze(vit_model *m, const mmx_images *test, int n_images, int n_maps,
                       vit_analysis *a)
{
    memset(a, 0, sizeof *a);
    if (n_images < 1 || n_images > test->n || n_maps < 0 || n_maps > m->max_batch ||
        n_maps > n_images)
        return mmx_fail(MMX_ERR_PARAM, "vit_analyze",
                        "n_images = %d (1..%lld), n_maps = %d (0..min(n_images, %d))", n_images,
                        (long long)test->n, n_maps, m->max_batch);
    int64_t T = m->tokens, S = test->rows * test->cols;
    a->depth = m->cfg.depth, a->grid = m->grid, a->n_images = n_images;
    a->n_maps = n_maps, a->image = (int)test->rows;
    a->images = malloc((size_t)(n_maps * S) + 1);
    a->labels = malloc((size_t)n_maps * 4 + 4), a->preds = malloc((size_t)n_maps * 4 + 4);
    a->maps = malloc((size_t)(n_maps * a->depth * T) * 4 + 4);
    metric_acc acc[VIT_MAX_DEPTH];
    double osm[VIT_MAX_DEPTH + 1];
    memset(acc, 0, sizeof acc), memset(osm, 0, sizeof osm);
    mmx_status st = a->images && a->labels && a->preds && a->maps
                        ? analyze_batches(m, test, a, acc, osm)
                        : mmx_fail(MMX_ERR_NOMEM, "vit_analyze", "out of memory");
    if (st != MMX_OK) {
        vit_analysis_free(a);
        return st;
    }
    for (int l = 0; l < a->depth; l++) {
        a->sparsity[l] = acc[l].s_n ? acc[l].s_sum / (double)acc[l].s_n : MMX_METRIC_UNDEFINED;
        a->multimodality[l] = acc[l].m_n ? acc[l].m_sum / (double)acc[l].m_n : MMX_METRIC_UNDEFINED;
    }
    for (int l = 0; l <= a->depth; l++)
        a->oversmooth[l] = osm[l] / (double)n_images;
    copy_modulators(m, a);
    return MMX_OK;
}

void vit_analysis_free(vit_analysis *a)
{
    free(a->images), free(a->labels), free(a->preds), free(a->maps);
    memset(a, 0, sizeof *a);
}

void vit_analysis_report(mmx_report_model *rm, const vit_analysis *a, const vit_model *m,
                         const char *name)
{
    memset(rm, 0, sizeof *rm);
    rm->name = name;
    rm->norm = mmx_norm_name(m->cfg.attn_norm);
    rm->head_norm = mmx_norm_name(m->cfg.head_norm);
    rm->depth = a->depth, rm->heads = m->cfg.heads, rm->grid = a->grid;
    rm->params = m->n_params;
    rm->sparsity = a->sparsity, rm->multimodality = a->multimodality;
    rm->oversmooth = a->oversmooth;
    rm->ranges = a->has_mod ? a->ranges : NULL, rm->ts = a->has_mod ? a->ts : NULL;
    rm->head_ranges = a->has_head_mod ? a->head_ranges : NULL;
    rm->head_ts = a->has_head_mod ? a->head_ts : NULL;
    rm->n_maps = a->n_maps, rm->image = a->image;
    rm->images = a->images, rm->labels = a->labels, rm->preds = a->preds, rm->maps = a->maps;
}
