/*
 * Classification losses (see multimax.h): cross-entropy on SoftMax / MultiMax outputs and
 * the Fenchel-Young losses of the entmax family, each with its gradient in one pass.
 */
#include <math.h>
#include <stdlib.h>

#include "api/rows.h"
#include "core/internal.h"
#include "ref/ref.h"

/* Target distribution q: (1 - ls) onehot(label) + ls / C' over the C' finite entries. */
static void target(double *q, const double *z, int64_t n, int32_t label, double ls) {
    int64_t c = 0;
    for (int64_t i = 0; i < n; i++) c += z[i] != -INFINITY;
    for (int64_t i = 0; i < n; i++) q[i] = z[i] != -INFINITY ? ls / (double)c : 0.0;
    q[label] += 1.0 - ls;
}

/* -sum q log p with p = softmax(sigma(z)) (or z/t); g = p - q is the gradient in sigma(z). */
static double xent_row(const mmx_norm *nm, double *g, double *zs, const double *z,
                       const double *q, int64_t n) {
    double t = nm->kind == MMX_NORM_SOFTMAX ? nm->temperature : 1.0, m = -INFINITY, s = 0.0;
    for (int64_t i = 0; i < n; i++) {
        zs[i] = z[i] == -INFINITY ? -INFINITY
                : nm->kind == MMX_NORM_MULTIMAX ? mmx_ref_sigma(z[i], nm->order, nm->ranges, nm->ts)
                                                : z[i] / t;
        m = zs[i] > m ? zs[i] : m;
    }
    for (int64_t i = 0; i < n; i++) s += exp(zs[i] - m);
    double lse = m + log(s), loss = 0.0;
    for (int64_t i = 0; i < n; i++) {
        if (zs[i] == -INFINITY) {
            g[i] = 0.0;
            continue;
        }
        loss -= q[i] * (zs[i] - lse);
        g[i] = exp(zs[i] - lse) - q[i];
    }
    return loss;
}

/* <p - q, z> + H_alpha(p) - H_alpha(q); g = p - q. Shift-invariant since sum (p - q) = 0,
 * so z - max is used (exact for 1e30, and masked entries have p = q = 0). */
static double fy_row(const mmx_norm *nm, double *g, double *scratch, const double *z,
                     const double *q, int64_t n) {
    double alpha = nm->kind == MMX_NORM_SPARSEMAX ? 2.0 : nm->kind == MMX_NORM_ENTMAX15 ? 1.5 : nm->alpha;
    mmx_ref_forward_row(nm, g, scratch, z, n); /* g = p */
    double m = -INFINITY, dot = 0.0;
    for (int64_t i = 0; i < n; i++) m = z[i] > m ? z[i] : m;
    for (int64_t i = 0; i < n; i++)
        if (z[i] != -INFINITY) dot += (g[i] - q[i]) * (z[i] - m);
    double loss = dot + mmx_ref_tsallis(g, n, alpha) - mmx_ref_tsallis(q, n, alpha);
    for (int64_t i = 0; i < n; i++) g[i] -= q[i];
    return loss;
}

static mmx_status check_labels(const char *fn, mmx_cview z, const int32_t *labels, int64_t rows,
                               int64_t cols) {
    for (int64_t r = 0; r < rows; r++) {
        int32_t l = labels[r];
        if (l < 0) continue;
        if (l >= cols)
            return mmx_fail(MMX_ERR_VALUE, fn, "labels[%lld] = %d, expected < cols = %lld",
                            (long long)r, (int)l, (long long)cols);
        double v = z.f32 ? (double)((const float *)z.p)[r * z.ld + l] : ((const double *)z.p)[r * z.ld + l];
        if (v == -INFINITY)
            return mmx_fail(MMX_ERR_VALUE, fn, "labels[%lld] = %d points at a masked (-inf) logit",
                            (long long)r, (int)l);
    }
    return MMX_OK;
}

static mmx_status check_loss(const char *fn, const mmx_norm *nm, mmx_view dz, mmx_cview z,
                             const int32_t *labels, int64_t rows, int64_t cols, double ls,
                             double scale) {
    mmx_status st;
    if ((st = mmx_norm_validate(fn, nm)) || (st = mmx_check_shape(fn, rows, cols))) return st;
    if (nm->kind == MMX_NORM_EVSOFTMAX)
        return mmx_fail(MMX_ERR_PARAM, fn, "argument 'norm' = evsoftmax has no loss; expected "
                        "softmax, multimax, sparsemax, entmax15 or entmax");
    if (!(ls >= 0 && ls < 1))
        return mmx_fail(MMX_ERR_PARAM, fn, "argument 'ls' = %g, expected 0 <= ls < 1", ls);
    if (!isfinite(scale))
        return mmx_fail(MMX_ERR_PARAM, fn, "argument 'grad_scale' = %g, expected a finite value", scale);
    if (rows > 0 && !labels) return mmx_fail(MMX_ERR_NULL, fn, "argument 'labels' is NULL");
    if ((dz.p && (st = mmx_check_buffer(fn, "dz", dz.p, dz.ld, rows, cols))) ||
        (st = mmx_check_buffer(fn, "z", z.p, z.ld, rows, cols)) ||
        (st = mmx_check_values(fn, "z", z, 0, rows, cols, MMX_VALUES_SCORES)))
        return st;
    return rows ? check_labels(fn, z, labels, rows, cols) : MMX_OK;
}

static void grads_to_z(const mmx_norm *nm, double *g, double *dr, double *dt, const double *z,
                       int64_t n, double scale) {
    for (int64_t i = 0; i < n; i++) g[i] *= scale;
    if (nm->kind == MMX_NORM_MULTIMAX)
        mmx_ref_sigma_backward(g, dr, dt, g, z, n, nm->order, nm->ranges, nm->ts);
    else if (nm->kind == MMX_NORM_SOFTMAX)
        for (int64_t i = 0; i < n; i++) g[i] /= nm->temperature;
}

static mmx_status loss_any(const char *fn, const mmx_norm *nm, mmx_view loss, mmx_view dz,
                           mmx_param_grads *pg, mmx_cview z, const int32_t *labels, int64_t rows,
                           int64_t cols, double ls, double scale) {
    mmx_status st = check_loss(fn, nm, dz, z, labels, rows, cols, ls, scale);
    if (st || rows == 0) return st;
    double *buf = malloc(4 * (size_t)cols * sizeof *buf);
    if (!buf) return mmx_fail(MMX_ERR_NOMEM, fn, "cannot allocate %lld bytes of scratch", (long long)(4 * cols * 8));
    double *zr = buf, *q = buf + cols, *g = buf + 2 * cols, *tmp = buf + 3 * cols;
    if ((st = mmx_check_sigma(fn, nm, z, 0, rows, cols, zr))) {
        free(buf);
        return st;
    }
    double dr[2 * MMX_MULTIMAX_MAX_ORDER] = {0}, dt[2 * MMX_MULTIMAX_MAX_ORDER] = {0};
    int softmax_family = nm->kind == MMX_NORM_SOFTMAX || nm->kind == MMX_NORM_MULTIMAX;
    for (int64_t r = 0; r < rows; r++) {
        double lr = 0.0;
        if (labels[r] < 0) { /* ignored row */
            for (int64_t i = 0; i < cols; i++) g[i] = 0.0;
        } else {
            mmx_load_row(zr, z, r, cols);
            target(q, zr, cols, labels[r], ls);
            lr = softmax_family ? xent_row(nm, g, tmp, zr, q, cols) : fy_row(nm, g, tmp, zr, q, cols);
            grads_to_z(nm, g, dr, dt, zr, cols, scale);
        }
        if (loss.p) mmx_store_row(loss, r, 1, &lr);
        if (dz.p) mmx_store_row(dz, r, cols, g);
    }
    free(buf);
    if (pg && nm->kind == MMX_NORM_MULTIMAX)
        for (int i = 0; i < 2 * nm->order; i++) {
            if (pg->dranges) pg->dranges[i] += dr[i];
            if (pg->dts) pg->dts[i] += dt[i];
        }
    return MMX_OK;
}

mmx_status mmx_loss_f32(const mmx_norm *norm, float *loss, float *dz, int64_t lddz,
                        mmx_param_grads *pg, const float *z, int64_t ldz, const int32_t *labels,
                        int64_t rows, int64_t cols, double ls, double grad_scale) {
    return loss_any("mmx_loss_f32", norm, mmx_view_f32(loss, 1), mmx_view_f32(dz, lddz), pg,
                    mmx_cview_f32(z, ldz), labels, rows, cols, ls, grad_scale);
}

mmx_status mmx_loss_f64(const mmx_norm *norm, double *loss, double *dz, int64_t lddz,
                        mmx_param_grads *pg, const double *z, int64_t ldz,
                        const int32_t *labels, int64_t rows, int64_t cols, double ls,
                        double grad_scale) {
    return loss_any("mmx_loss_f64", norm, mmx_view_f64(loss, 1), mmx_view_f64(dz, lddz), pg,
                    mmx_cview_f64(z, ldz), labels, rows, cols, ls, grad_scale);
}
