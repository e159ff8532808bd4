/*
 * attn_ratio - MultiMax and EntMax-1.5 fused attention time relative to SoftMax, measured
 * interleaved (each repetition runs softmax, multimax, entmax15 in turn) and reported as the
 * minimum over repetitions: on a shared VM whose load drifts, this is steadier for a ratio
 * than medians of separate runs (`multimax bench attn`). Development tool, built on request:
 *
 *   cmake --build build --target attn_ratio && ./build/attn_ratio T THREADS REPS
 *
 * With REPS = 0 and a fourth argument NORM (0 softmax, 1 multimax, 2 entmax15) it makes one
 * forward + backward call of that normalizer and prints nothing: for counting instructions,
 *   OMP_NUM_THREADS=1 valgrind --tool=callgrind ./build/attn_ratio 512 1 0 NORM
 *
 * B = 1, H = 8, D = 64, Tq = Tk = T; q uniform in [-S, S] (S = 2, or the environment's
 * ATTN_RATIO_QSPREAD), k in [-0.5, 0.5], v, dout in [0, 1]; the scores' standard deviation
 * is about S / 6 (S = 2: nearly all inside MultiMax's identity band [-1, 2]; S = 8: few rows);
 * MultiMax order 2 with ranges (-1, 2, -1, 2), ts (0.3, -0.2, 0.05, -0.02) and its gradients.
 * ATTN_RATIO_D sets the head size (default 64) and ATTN_RATIO_ORDER the modulator's order (1
 * or 2, default 2; order 1 keeps ranges[0..1] and ts[0..1]): MultiMax's extra work is per
 * score while the tile products grow with D, so these separate the two.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "multimax.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static float unif(unsigned *s, float lo, float hi) {
    *s = *s * 1103515245u + 12345u;
    return lo + (hi - lo) * (float)((*s >> 8) & 0xffffff) / 16777216.0f;
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: attn_ratio T THREADS REPS, or attn_ratio T THREADS 0 NORM\n");
        return 2;
    }
    const char *ds = getenv("ATTN_RATIO_D"), *os = getenv("ATTN_RATIO_ORDER");
    const int64_t T = atoll(argv[1]), H = 8, D = ds ? atoll(ds) : 64, n = H * T * D;
    const int order = os ? atoi(os) : 2;
    const int reps = atoi(argv[3]), once = argc == 5 ? atoi(argv[4]) : -1;
    if (T < 1 || D < 1 || order < 1 || order > 2 || (reps < 1 && (once < 0 || once > 2)) ||
        mmx_set_num_threads(atoi(argv[2])) != MMX_OK) {
        fprintf(stderr, "attn_ratio: bad arguments\n");
        return 2;
    }
    static const double ranges[4] = {-1, 2, -1, 2}, ts[4] = {0.3, -0.2, 0.05, -0.02};
    const mmx_norm norms[3] = {mmx_norm_softmax(1.0), mmx_norm_multimax(order, ranges, ts),
                               mmx_norm_entmax15()};
    mmx_attn a = mmx_attn_make(1, H, T, T, D);
    float *buf = malloc((size_t)(8 * n + H * T * MMX_ATTN_STATS) * sizeof *buf);
    size_t ws = 0;
    for (int m = 0; m < 3; m++) {
        size_t w1;
        if (mmx_attn_workspace_size(&a, &norms[m], 1, &w1) != MMX_OK) return 1;
        ws = w1 > ws ? w1 : ws;
    }
    void *work = malloc(ws);
    if (!buf || !work) return 1;
    float *q = buf, *k = q + n, *v = k + n, *o = v + n, *dout = o + n, *dq = dout + n,
          *dk = dq + n, *dv = dk + n, *st = dv + n;
    unsigned s = 1;
    const char *qs = getenv("ATTN_RATIO_QSPREAD");
    const float qspread = qs && atof(qs) > 0 ? (float)atof(qs) : 2.0f;
    for (int64_t i = 0; i < n; i++) {
        q[i] = unif(&s, -qspread, qspread), k[i] = unif(&s, -0.5f, 0.5f);
        v[i] = unif(&s, 0, 1), dout[i] = unif(&s, 0, 1);
    }
    double dr[4], dt[4];
    mmx_param_grads pg = {dr, dt, NULL};
    if (once >= 0) {
        if (mmx_attn_forward(&a, &norms[once], o, st, q, k, v, work, ws) ||
            mmx_attn_backward(&a, &norms[once], dq, dk, dv, &pg, dout, o, st, q, k, v, work, ws))
            goto fail;
        free(work);
        free(buf);
        return 0;
    }
    double best[3][2] = {{1e30, 1e30}, {1e30, 1e30}, {1e30, 1e30}};
    for (int r = 0; r <= reps; r++) /* repetition 0 is the warm-up */
        for (int m = 0; m < 3; m++) {
            double t0 = now();
            if (mmx_attn_forward(&a, &norms[m], o, st, q, k, v, work, ws) != MMX_OK) goto fail;
            double t1 = now();
            if (mmx_attn_backward(&a, &norms[m], dq, dk, dv, &pg, dout, o, st, q, k, v, work, ws))
                goto fail;
            double t2 = now();
            if (r > 0 && t1 - t0 < best[m][0]) best[m][0] = t1 - t0;
            if (r > 0 && t2 - t0 < best[m][1]) best[m][1] = t2 - t0;
        }
    printf("T=%lld D=%lld order=%d threads=%d reps=%d isa=%s (min over interleaved repetitions)\n",
           (long long)T, (long long)D, order, mmx_get_num_threads(), reps, mmx_isa());
    for (int m = 0; m < 3; m++)
        printf("%-9s fwd %9.2f ms  fwd+bwd %9.2f ms  | / softmax: fwd %.3f  fwd+bwd %.3f\n",
               mmx_norm_name(norms[m].kind), 1e3 * best[m][0], 1e3 * best[m][1],
               best[m][0] / best[0][0], best[m][1] / best[0][1]);
    free(work);
    free(buf);
    return 0;
fail:
    fprintf(stderr, "attn_ratio: %s\n", mmx_last_error());
    return 1;
}
