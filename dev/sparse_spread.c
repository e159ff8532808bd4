/*
 * sparse_spread.c - SoftMax, SparseMax and 1.5-EntMax forward time on rows of uniform scores of
 * a chosen spread (the benchmark's N(0, 3^2) scores leave few candidates; a small spread puts
 * most of a row within reach of the threshold, past the kernels' 2048-entry stack buffer).
 * One thread; best of 5 calls; prints the support size of row 0.
 *   ./build/sparse_spread COLS ROWS SPREAD      e.g. 4096 256 0.1
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "multimax.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 4)
        return fprintf(stderr, "usage: sparse_spread COLS ROWS SPREAD\n"), 2;
    int64_t n = atoll(argv[1]), rows = atoll(argv[2]);
    double spread = atof(argv[3]);
    if (n < 1 || rows < 1 || !(spread > 0))
        return fprintf(stderr, "sparse_spread: COLS, ROWS >= 1 and SPREAD > 0\n"), 2;
    float *x = malloc(sizeof(float) * (size_t)(rows * n)), *y = malloc(sizeof(float) * (size_t)(rows * n));
    if (!x || !y)
        return 1;
    unsigned s = 1;
    for (int64_t i = 0; i < rows * n; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = (float)(spread * (((s >> 8) & 0xffffff) / 16777216.0 - 0.5));
    }
    mmx_set_num_threads(1);
    const mmx_norm norms[3] = {mmx_norm_softmax(1.0), mmx_norm_sparsemax(), mmx_norm_entmax15()};
    const char *names[3] = {"softmax", "sparsemax", "entmax15"};
    for (int k = 0; k < 3; k++) {
        double best = 1e30;
        for (int r = 0; r < 5; r++) {
            double t0 = now();
            if (mmx_forward_f32(&norms[k], y, n, x, n, rows, n) != MMX_OK)
                return fprintf(stderr, "%s\n", mmx_last_error()), 1;
            double t = now() - t0;
            best = t < best ? t : best;
        }
        int64_t supp = 0;
        for (int64_t j = 0; j < n; j++)
            supp += y[j] > 0;
        printf("%-9s cols %lld spread %.2f: %.3f ms (%.2f ns per entry), support of row 0: %lld\n",
               names[k], (long long)n, spread, best * 1e3, best * 1e9 / (double)(rows * n),
               (long long)supp);
    }
    free(x), free(y);
    return 0;
}
