/*
 * work.c - one row through the library in float32 or float64. Input is parsed as double
 * and narrowed here, so a float32 overflow is reported at its column instead of reaching
 * the library as a surprising +inf.
 */
#include "work.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void cli_work_init(cli_work *w, int dbl) {
    memset(w, 0, sizeof *w);
    w->dbl = dbl;
}

void cli_work_free(cli_work *w) {
    free(w->xf);
    free(w->yf);
    free(w->dyf);
    free(w->dxf);
    free(w->xd);
    free(w->yd);
    free(w->dyd);
    free(w->dxd);
    cli_work_init(w, w->dbl);
}

static int grow_f32(float **p, size_t n) {
    float *q = realloc(*p, n * sizeof *q);
    if (!q) return -1;
    *p = q;
    return 0;
}

static int grow_f64(double **p, size_t n) {
    double *q = realloc(*p, n * sizeof *q);
    if (!q) return -1;
    *p = q;
    return 0;
}

int cli_work_reserve(cli_work *w, size_t n) {
    if (n <= w->cap) return 0;
    size_t cap = w->cap ? w->cap : 64;
    while (cap < n) cap *= 2;
    int bad = 0;
    if (w->dbl) {
        bad |= grow_f64(&w->xd, cap) | grow_f64(&w->yd, cap);
        bad |= grow_f64(&w->dyd, cap) | grow_f64(&w->dxd, cap);
    } else {
        bad |= grow_f32(&w->xf, cap) | grow_f32(&w->yf, cap);
        bad |= grow_f32(&w->dyf, cap) | grow_f32(&w->dxf, cap);
    }
    if (bad) return -1; /* grown buffers stay owned by w and are freed with it */
    w->cap = cap;
    return 0;
}

static float *buf_f32(const cli_work *w, cli_buf b) {
    float *const bufs[] = {w->xf, w->yf, w->dyf, w->dxf};
    return bufs[b];
}

static double *buf_f64(const cli_work *w, cli_buf b) {
    double *const bufs[] = {w->xd, w->yd, w->dyd, w->dxd};
    return bufs[b];
}

int cli_work_load(cli_work *w, cli_buf b, const cli_vec *vals, size_t from, size_t n,
                  const char *prog, long lineno) {
    if (w->dbl) {
        memcpy(buf_f64(w, b), vals->v + from, n * sizeof(double));
        return 0;
    }
    float *dst = buf_f32(w, b);
    for (size_t i = 0; i < n; i++) {
        double v = vals->v[from + i];
        if (isfinite(v) && fabs(v) > FLT_MAX) {
            fprintf(stderr,
                    "%s: stdin line %ld, column %zu: %g is beyond float32 range "
                    "(use --double)\n",
                    prog, lineno, vals->col[from + i], v);
            return -1;
        }
        dst[i] = (float)v;
    }
    return 0;
}

mmx_status cli_work_forward(cli_work *w, const mmx_norm *norm, size_t n) {
    int64_t c = (int64_t)n;
    if (w->dbl) return mmx_forward_f64(norm, w->yd, c, w->xd, c, 1, c);
    return mmx_forward_f32(norm, w->yf, c, w->xf, c, 1, c);
}

mmx_status cli_work_backward(cli_work *w, const mmx_norm *norm, mmx_param_grads *pg, size_t n) {
    int64_t c = (int64_t)n;
    if (w->dbl)
        return mmx_backward_f64(norm, w->dxd, c, pg, w->dyd, c, w->yd, c, w->xd, c, 1, c);
    return mmx_backward_f32(norm, w->dxf, c, pg, w->dyf, c, w->yf, c, w->xf, c, 1, c);
}

mmx_status cli_work_metrics(const cli_work *w, double *m, double *s, size_t n, double eps) {
    int64_t c = (int64_t)n;
    if (w->dbl) return mmx_metrics_f64(m, s, NULL, NULL, w->yd, c, w->xd, c, 1, c, eps);
    return mmx_metrics_f32(m, s, NULL, NULL, w->yf, c, w->xf, c, 1, c, eps);
}

void cli_work_print(const cli_work *w, cli_buf b, size_t n, FILE *out) {
    for (size_t i = 0; i < n; i++) {
        if (i) fputc(' ', out);
        if (w->dbl)
            fprintf(out, "%.17g", buf_f64(w, b)[i]);
        else
            fprintf(out, "%.9g", (double)buf_f32(w, b)[i]);
    }
    fputc('\n', out);
}

void cli_print_doubles(const cli_work *w, const char *label, const double *v, size_t n,
                       FILE *out) {
    fputs(label, out);
    for (size_t i = 0; i < n; i++) fprintf(out, w->dbl ? " %.17g" : " %.9g", v[i]);
    fputc('\n', out);
}
