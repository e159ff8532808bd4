/*
 * The engine's linear layer (src/nn/layers.c) against double products computed here: the
 * forward with bias and residual, the input gradient (overwrite and accumulate), the weight
 * gradient over its fixed row groups (1, 2, 3 and 4 groups, odd row counts) and the bias
 * gradient, at 1, 2 and 3 threads. Every output must be bit-identical for every thread count:
 * the row groups of the products and the sums are fixed by the shape (with one OpenBLAS call
 * per thread's rows the forward and input gradient differed, e.g. at n = 2047, in = 5,
 * out = 33: OpenBLAS's edge kernels round a row by where it falls in a call). The weight
 * gradient's scratch must not be written past nn_linear_wgrad_floats.
 * The fused fc1 + GELU forward: its product against double products, GELU and GELU' of that
 * product against the erf formula in double, with GELU' kept in place, apart, or not at all.
 * Then the LayerNorm and GELU backward with their column sums (dg, db and the sum of the dx
 * they write, for the next bias), against double formulas, below and above the widths the
 * fused chunk pass takes (512 columns), bit-identical across thread counts.
 */
#include <float.h>
#include <omp.h>

#include "harness.h"

#include "nn/layers.h"

static void fill(float *x, int64_t n, t_rng *r, double lo, double hi) {
    for (int64_t i = 0; i < n; i++) x[i] = (float)t_unif_in(r, lo, hi);
}

typedef struct {
    float *y, *dx, *dw, *db, *part;
} outs;

/* One forward + backward of the layer at the current thread count. */
static void run_layer(outs *o, const float *x, const float *w, const float *b, const float *res,
                      const float *dy, int64_t n, int64_t in, int64_t out, int64_t part_n) {
    for (int64_t i = 0; i < n * in; i++) o->dx[i] = 0.5f;
    for (int64_t i = 0; i < out * in; i++) o->dw[i] = 0.25f; /* backward accumulates */
    for (int64_t i = 0; i < out; i++) o->db[i] = -0.5f;
    for (int64_t i = 0; i <= part_n; i++) o->part[i] = 777.0f;
    nn_linear_forward_add(o->y, x, w, b, res, n, in, out);
    nn_linear_backward(o->dx, 1.0f, o->dw, o->db, part_n ? o->part : NULL, dy, x, w, n, in, out);
}

static void check_linear(int64_t n, int64_t in, int64_t out, t_rng *rng) {
    const int64_t part_n = nn_linear_wgrad_floats(n, in, out);
    CHECKF(part_n >= 0 && part_n <= (NN_WGRAD_MAXG - 1) * in * out, "scratch %lld floats",
           (long long)part_n);
    float *x = malloc(sizeof(float) * (size_t)(n * in)), *w = malloc(sizeof(float) * (size_t)(out * in));
    float *b = malloc(sizeof(float) * (size_t)out), *res = malloc(sizeof(float) * (size_t)(n * out));
    float *dy = malloc(sizeof(float) * (size_t)(n * out));
    fill(x, n * in, rng, -1.0, 1.0), fill(w, out * in, rng, -0.5, 0.5), fill(b, out, rng, -1.0, 1.0);
    fill(res, n * out, rng, -1.0, 1.0), fill(dy, n * out, rng, -1.0, 1.0);
    outs o[3];
    for (int t = 0; t < 3; t++) {
        o[t].y = malloc(sizeof(float) * (size_t)(n * out));
        o[t].dx = malloc(sizeof(float) * (size_t)(n * in));
        o[t].dw = malloc(sizeof(float) * (size_t)(out * in));
        o[t].db = malloc(sizeof(float) * (size_t)out);
        o[t].part = malloc(sizeof(float) * (size_t)(part_n + 1));
        omp_set_num_threads(t + 1);
        run_layer(&o[t], x, w, b, res, dy, n, in, out, part_n);
    }
    omp_set_num_threads(2);
    T_CTX("linear n=%lld in=%lld out=%lld (%lld scratch floats)", (long long)n, (long long)in,
          (long long)out, (long long)part_n);
    /* double references (forward and input gradient: every thread count), errors relative to the sum of |terms| */
    double ey = 0.0, edx = 0.0, edw = 0.0, edb = 0.0;
    for (int64_t r = 0; r < n; r++)
        for (int64_t j = 0; j < out; j++) {
            double s = (double)b[j] + res[r * out + j], mag = fabs(b[j]) + fabs(res[r * out + j]);
            for (int64_t k = 0; k < in; k++)
                s += (double)x[r * in + k] * w[j * in + k], mag += fabs((double)x[r * in + k] * w[j * in + k]);
            for (int t = 0; t < 3; t++) ey = fmax(ey, fabs(o[t].y[r * out + j] - s) / mag);
        }
    for (int64_t r = 0; r < n; r++)
        for (int64_t k = 0; k < in; k++) {
            double s = 0.5, mag = 0.5;
            for (int64_t j = 0; j < out; j++)
                s += (double)dy[r * out + j] * w[j * in + k], mag += fabs((double)dy[r * out + j] * w[j * in + k]);
            for (int t = 0; t < 3; t++) edx = fmax(edx, fabs(o[t].dx[r * in + k] - s) / mag);
        }
    for (int64_t j = 0; j < out; j++) {
        for (int64_t k = 0; k < in; k++) {
            double s = 0.25, mag = 0.25;
            for (int64_t r = 0; r < n; r++)
                s += (double)dy[r * out + j] * x[r * in + k], mag += fabs((double)dy[r * out + j] * x[r * in + k]);
            edw = fmax(edw, fabs(o[0].dw[j * in + k] - s) / mag);
        }
        double s = -0.5, mag = 0.5;
        for (int64_t r = 0; r < n; r++) s += dy[r * out + j], mag += fabs(dy[r * out + j]);
        edb = fmax(edb, fabs(o[0].db[j] - s) / mag);
    }
    /* float sums of up to n terms: a few ulp per addition at worst, far less in practice */
    CHECKF(ey <= 64 * FLT_EPSILON, "forward relative error %.3g", ey);
    CHECKF(edx <= 64 * FLT_EPSILON, "input gradient relative error %.3g", edx);
    CHECKF(edw <= 256 * FLT_EPSILON, "weight gradient relative error %.3g", edw);
    CHECKF(edb <= 16 * FLT_EPSILON, "bias gradient relative error %.3g", edb);
    for (int t = 1; t < 3; t++) {
        CHECKF(!memcmp(o[t].y, o[0].y, sizeof(float) * (size_t)(n * out)), "forward differs at %d threads", t + 1);
        CHECKF(!memcmp(o[t].dx, o[0].dx, sizeof(float) * (size_t)(n * in)), "dx differs at %d threads", t + 1);
        CHECKF(!memcmp(o[t].dw, o[0].dw, sizeof(float) * (size_t)(out * in)), "dw differs at %d threads", t + 1);
        CHECKF(!memcmp(o[t].db, o[0].db, sizeof(float) * (size_t)out), "db differs at %d threads", t + 1);
    }
    for (int t = 0; t < 3; t++) {
        CHECKF(o[t].part[part_n] == 777.0f, "scratch written past its %lld floats", (long long)part_n);
        free(o[t].y), free(o[t].dx), free(o[t].dw), free(o[t].db), free(o[t].part);
    }
    free(x), free(w), free(b), free(res), free(dy);
}

/* h = x W^T + b, y = GELU(h), d = GELU'(h) (d: 0 = NULL, 1 = in place over h, 2 = apart). */
static void check_linear_gelu(int64_t n, int64_t in, int64_t out, int dmode, t_rng *rng) {
    const size_t no = (size_t)(n * out);
    float *x = malloc(sizeof(float) * (size_t)(n * in)), *w = malloc(sizeof(float) * (size_t)(out * in));
    float *b = malloc(sizeof(float) * (size_t)out);
    fill(x, n * in, rng, -1.0, 1.0), fill(w, out * in, rng, -0.7, 0.7), fill(b, out, rng, -1.0, 1.0);
    float *y[3], *h[3], *d[3];
    for (int t = 0; t < 3; t++) {
        y[t] = malloc(sizeof(float) * (no + 1)), h[t] = malloc(sizeof(float) * (no + 1));
        d[t] = malloc(sizeof(float) * (no + 1));
        y[t][no] = h[t][no] = d[t][no] = 777.0f;
        omp_set_num_threads(t + 1);
        nn_linear_gelu_forward(y[t], dmode == 0 ? NULL : dmode == 1 ? h[t] : d[t], h[t], x, w, b, n,
                               in, out);
    }
    omp_set_num_threads(2);
    T_CTX("linear + GELU n=%lld in=%lld out=%lld, d %s", (long long)n, (long long)in, (long long)out,
          dmode == 0 ? "not kept" : dmode == 1 ? "in place" : "apart");
    double eh = 0.0, ey = 0.0, ed = 0.0;
    for (int64_t r = 0; r < n; r++)
        for (int64_t j = 0; j < out; j++) {
            double s = b[j], mag = fabs(b[j]);
            for (int64_t k = 0; k < in; k++)
                s += (double)x[r * in + k] * w[j * in + k], mag += fabs((double)x[r * in + k] * w[j * in + k]);
            const size_t at = (size_t)(r * out + j);
            /* the pre-activation: h itself, or recovered from y where h holds d */
            double hv = dmode == 1 ? s : h[0][at];
            if (dmode != 1) eh = fmax(eh, fabs(hv - s) / mag);
            double phi = 0.5 * (1.0 + erf(hv / sqrt(2.0))), pdf = exp(-0.5 * hv * hv) / sqrt(2.0 * 3.14159265358979323846);
            ey = fmax(ey, fabs(y[0][at] - hv * phi) / (1.0 + fabs(hv)));
            if (dmode) ed = fmax(ed, fabs((dmode == 1 ? h[0][at] : d[0][at]) - (phi + hv * pdf)));
        }
    CHECKF(eh <= 64 * FLT_EPSILON, "product relative error %.3g", eh);
    /* erf to 1.5e-7 absolute; in place, h (the float product) is gone: y and d are then
     * compared at the double product, a float rounding of h away */
    CHECKF(ey <= 1e-6 && ed <= 1e-6, "GELU error %.3g, GELU' error %.3g", ey, ed);
    for (int t = 0; t < 3; t++)
        CHECKF(y[t][no] == 777.0f && h[t][no] == 777.0f && d[t][no] == 777.0f, "wrote past the end%s", "");
    for (int t = 1; t < 3; t++)
        CHECKF(!memcmp(y[t], y[0], sizeof(float) * no) && !memcmp(h[t], h[0], sizeof(float) * no) &&
                   (dmode != 2 || !memcmp(d[t], d[0], sizeof(float) * no)),
               "results differ at %d threads", t + 1);
    for (int t = 0; t < 3; t++) free(y[t]), free(h[t]), free(d[t]);
    free(x), free(w), free(b);
}

/* Relative error of a float sum against its double reference, sized by the sum of |terms|. */
static double rel(double got, double want, double mag) { return fabs(got - want) / (mag > 0 ? mag : 1.0); }

static void check_layernorm_backward(int64_t n, int64_t c, int with_dsum, t_rng *rng) {
    const size_t nc = (size_t)(n * c);
    float *x = malloc(sizeof(float) * nc), *g = malloc(sizeof(float) * (size_t)c);
    float *b = malloc(sizeof(float) * (size_t)c), *dy = malloc(sizeof(float) * nc);
    float *y = malloc(sizeof(float) * nc), *mean = malloc(sizeof(float) * (size_t)n);
    float *rstd = malloc(sizeof(float) * (size_t)n);
    fill(x, n * c, rng, -2.0, 3.0), fill(g, c, rng, 0.5, 1.5), fill(b, c, rng, -1.0, 1.0);
    fill(dy, n * c, rng, -1.0, 1.0);
    nn_layernorm_forward(y, mean, rstd, x, g, b, n, c, 1e-5f);
    float *dx[3], *xh[3], *dg[3], *db[3], *ds[3];
    for (int t = 0; t < 3; t++) {
        dx[t] = malloc(sizeof(float) * nc), xh[t] = malloc(sizeof(float) * nc);
        dg[t] = malloc(sizeof(float) * (size_t)(c + 1)), db[t] = malloc(sizeof(float) * (size_t)(c + 1));
        ds[t] = malloc(sizeof(float) * (size_t)(c + 1));
        for (size_t i = 0; i < nc; i++) dx[t][i] = 0.5f; /* the backward accumulates */
        for (int64_t j = 0; j <= c; j++) dg[t][j] = db[t][j] = ds[t][j] = 0.25f;
        omp_set_num_threads(t + 1);
        nn_layernorm_backward(dx[t], dg[t], db[t], with_dsum ? ds[t] : NULL, xh[t], dy, x, mean,
                              rstd, g, n, c);
    }
    omp_set_num_threads(2);
    T_CTX("layernorm backward n=%lld c=%lld%s", (long long)n, (long long)c, with_dsum ? " + dx sums" : "");
    double edx = 0.0, eg = 0.0, eb = 0.0, es = 0.0;
    double *sg = calloc((size_t)c, sizeof(double)), *sb = calloc((size_t)c, sizeof(double));
    double *ss = calloc((size_t)c, sizeof(double)), *mg = calloc((size_t)c, sizeof(double));
    double *mb = calloc((size_t)c, sizeof(double)), *ms = calloc((size_t)c, sizeof(double));
    double *rh = malloc(sizeof(double) * (size_t)c), *rdx = malloc(sizeof(double) * (size_t)c);
    for (int64_t r = 0; r < n; r++) {
        const float *dyr = dy + r * c;
        double m, rs;
        ref_layernorm_row(rh, rdx, &m, &rs, x + r * c, dyr, g, c, 1e-5);
        for (int64_t j = 0; j < c; j++) {
            double want = 0.5 + rdx[j];
            edx = fmax(edx, fabs(dx[0][r * c + j] - want) / (1.0 + fabs(want)));
            sg[j] += dyr[j] * rh[j], mg[j] += fabs(dyr[j] * rh[j]);
            sb[j] += dyr[j], mb[j] += fabs(dyr[j]);
            ss[j] += want, ms[j] += fabs(want);
        }
    }
    free(rh), free(rdx);
    for (int64_t j = 0; j < c; j++) {
        eg = fmax(eg, rel(dg[0][j], 0.25 + sg[j], 0.25 + mg[j]));
        eb = fmax(eb, rel(db[0][j], 0.25 + sb[j], 0.25 + mb[j]));
        if (with_dsum) es = fmax(es, rel(ds[0][j], 0.25 + ss[j], 0.25 + ms[j]));
    }
    CHECKF(edx <= 2e-5, "dx error %.3g", edx);
    CHECKF(eg <= 2e-5 && eb <= 16 * FLT_EPSILON, "dg error %.3g, db error %.3g", eg, eb);
    CHECKF(es <= 2e-5, "sum of dx error %.3g", es);
    if (!with_dsum) CHECKF(ds[0][0] == 0.25f, "dsum written while NULL%s", "");
    for (int t = 0; t < 3; t++)
        CHECKF(dg[t][c] == 0.25f && db[t][c] == 0.25f && ds[t][c] == 0.25f, "wrote past c%s", "");
    for (int t = 1; t < 3; t++) {
        CHECKF(!memcmp(dx[t], dx[0], sizeof(float) * nc), "dx differs at %d threads", t + 1);
        CHECKF(!memcmp(dg[t], dg[0], sizeof(float) * (size_t)c) && !memcmp(db[t], db[0], sizeof(float) * (size_t)c) &&
                   !memcmp(ds[t], ds[0], sizeof(float) * (size_t)c),
               "column sums differ at %d threads", t + 1);
    }
    for (int t = 0; t < 3; t++) free(dx[t]), free(xh[t]), free(dg[t]), free(db[t]), free(ds[t]);
    free(x), free(g), free(b), free(dy), free(y), free(mean), free(rstd);
    free(sg), free(sb), free(ss), free(mg), free(mb), free(ms);
}

static void check_gelu_backward(int64_t n, int64_t c, int with_dsum, t_rng *rng) {
    const size_t nc = (size_t)(n * c);
    float *dy = malloc(sizeof(float) * nc), *d = malloc(sizeof(float) * nc);
    fill(dy, n * c, rng, -1.0, 1.0), fill(d, n * c, rng, -0.2, 1.2);
    float *dx[3], *ds[3];
    for (int t = 0; t < 3; t++) {
        dx[t] = malloc(sizeof(float) * (nc + 1)), ds[t] = malloc(sizeof(float) * (size_t)(c + 1));
        dx[t][nc] = 777.0f;
        for (int64_t j = 0; j <= c; j++) ds[t][j] = 0.25f;
        omp_set_num_threads(t + 1);
        nn_gelu_backward(dx[t], with_dsum ? ds[t] : NULL, dy, d, n, c);
    }
    omp_set_num_threads(2);
    T_CTX("gelu backward n=%lld c=%lld%s", (long long)n, (long long)c, with_dsum ? " + dx sums" : "");
    int exact = 1;
    for (size_t i = 0; i < nc; i++) exact &= dx[0][i] == dy[i] * d[i]; /* one rounded product */
    CHECKF(exact, "dx is not dy * d%s", "");
    double es = 0.0;
    for (int64_t j = 0; with_dsum && j < c; j++) {
        double s = 0.25, mag = 0.25;
        for (int64_t r = 0; r < n; r++) s += dx[0][r * c + j], mag += fabs(dx[0][r * c + j]);
        es = fmax(es, rel(ds[0][j], s, mag));
    }
    CHECKF(es <= 16 * FLT_EPSILON, "sum of dx error %.3g", es);
    if (!with_dsum) CHECKF(ds[0][0] == 0.25f, "dsum written while NULL%s", "");
    for (int t = 0; t < 3; t++) CHECKF(dx[t][nc] == 777.0f && ds[t][c] == 0.25f, "wrote past the end%s", "");
    for (int t = 1; t < 3; t++)
        CHECKF(!memcmp(dx[t], dx[0], sizeof(float) * nc) && !memcmp(ds[t], ds[0], sizeof(float) * (size_t)c),
               "results differ at %d threads", t + 1);
    for (int t = 0; t < 3; t++) free(dx[t]), free(ds[t]);
    free(dy), free(d);
}

int main(void) {
    t_rng rng = t_rng_seed(5);
    /* rows: one group, 2, 3 and the most groups of the weight gradient (>= 1024 rows each);
     * 1 to 5 groups of the products (>= 1536 rows each); odd counts, uneven splits */
    const int64_t shape[][3] = {{1, 3, 2}, {37, 17, 9}, {2047, 5, 33}, {2048, 16, 16},
                                {3333, 9, 20}, {5001, 33, 7}, {9000, 8, 24}};
    for (size_t s = 0; s < sizeof shape / sizeof shape[0]; s++)
        check_linear(shape[s][0], shape[s][1], shape[s][2], &rng);
    const int64_t lg[][3] = {{1, 3, 5}, {37, 17, 33}, {3333, 16, 40}};
    for (size_t s = 0; s < sizeof lg / sizeof lg[0]; s++)
        for (int dm = 0; dm < 3; dm++) check_linear_gelu(lg[s][0], lg[s][1], lg[s][2], dm, &rng);
    /* widths: vector tails, the model's 128, and past the fused pass's 512 (the fallback) */
    const int64_t ln[][2] = {{1, 7}, {300, 128}, {513, 33}, {700, 600}};
    for (size_t s = 0; s < sizeof ln / sizeof ln[0]; s++)
        for (int w = 0; w < 2; w++) {
            check_layernorm_backward(ln[s][0], ln[s][1], w, &rng);
            check_gelu_backward(ln[s][0], ln[s][1] + 1, w, &rng);
        }
    return t_summary();
}
