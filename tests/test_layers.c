/*
 * The engine's linear layer (src/nn/layers.c) against double products computed here: the
 * forward with bias and residual, the input gradient (overwrite and accumulate), the weight
 * gradient over its fixed row groups (1, 2, 3 and 4 groups, odd row counts) and the bias
 * gradient, at 1, 2 and 3 threads. The weight and bias gradients must be bit-identical for
 * every thread count (their sums are fixed by the shape); the forward and the input gradient
 * need not be (each thread's rows are one OpenBLAS call, whose edge kernels round a row
 * differently depending on where it falls: seen at n = 2047, in = 5, out = 33). The weight
 * gradient's scratch must not be written past nn_linear_wgrad_floats.
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
        CHECKF(!memcmp(o[t].dw, o[0].dw, sizeof(float) * (size_t)(out * in)), "dw differs at %d threads", t + 1);
        CHECKF(!memcmp(o[t].db, o[0].db, sizeof(float) * (size_t)out), "db differs at %d threads", t + 1);
    }
    for (int t = 0; t < 3; t++) {
        CHECKF(o[t].part[part_n] == 777.0f, "scratch written past its %lld floats", (long long)part_n);
        free(o[t].y), free(o[t].dx), free(o[t].dw), free(o[t].db), free(o[t].part);
    }
    free(x), free(w), free(b), free(res), free(dy);
}

int main(void) {
    t_rng rng = t_rng_seed(5);
    /* rows: one group (< 2048), 2, 3 and the most groups (odd counts, uneven splits) */
    const int64_t shape[][3] = {{1, 3, 2}, {37, 17, 9}, {2047, 5, 33}, {2048, 16, 16},
                                {3333, 9, 20}, {5001, 33, 7}, {9000, 8, 24}};
    for (size_t s = 0; s < sizeof shape / sizeof shape[0]; s++)
        check_linear(shape[s][0], shape[s][1], shape[s][2], &rng);
    return t_summary();
}
