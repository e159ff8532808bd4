/*
 * gemm_shapes.c - OpenBLAS sgemm rates on the ViT's linear-layer shapes (batch 128 x 49
 * tokens = 6272 rows; width 128, qkv 384, MLP 256), in the three forms a linear layer uses:
 * forward y = x W^T (NT), input gradient dx = dy W (NN), weight gradient dW = dy^T x (TN)
 * threaded by OpenBLAS, and the same weight gradient by the engine's own nn_linear_backward
 * (src/nn/layers.c: fixed row groups, one single-thread sgemm per group, partials added in
 * order: "weights split"); and 1024^3 for scale. Threads: OMP_NUM_THREADS (OpenBLAS's OpenMP build).
 *   OPENBLAS_CORETYPE= OMP_NUM_THREADS=2 ./build/gemm_shapes
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "nn/layers.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(void)
{
    const int shapes[][3] = {{6272, 384, 128}, {6272, 128, 128}, {6272, 256, 128},
                             {6272, 128, 256}, {1024, 1024, 1024}};
    const char *forms[4] = {"forward  x W^T", "backward dy W ", "weights dy^T x", "weights split "};
    float *part = calloc((size_t)(NN_WGRAD_MAXG - 1) * 1024 * 1024, 4);
    float *a = calloc((size_t)6272 * 1024, 4), *b = calloc((size_t)6272 * 1024, 4);
    float *c = calloc((size_t)6272 * 1024, 4);
    if (!a || !b || !c || !part)
        return 1;
    for (int i = 0; i < 6272 * 1024; i++)
        a[i] = (float)(i % 7) * 0.1f, b[i] = (float)(i % 5) * 0.1f;
    for (int s = 0; s < 5; s++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        for (int f = 0; f < 4; f++) {
            double best = 1e9;
            for (int it = 0; it < 7; it++) {
                double t0 = now();
                if (f == 0)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1, a, K, b, K, 0,
                                c, N);
                else if (f == 1)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, K, N, 1, a, N, b, K,
                                1, c, K);
                else if (f == 3)
                    nn_linear_backward(NULL, 0.0f, c, NULL, part, a, b, NULL, M, K, N);
                else
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, K, M, 1, a, N, b, K, 1,
                                c, K);
                double t = now() - t0;
                best = t < best ? t : best;
            }
            printf("rows %5d, out %4d, in %4d  %s: %7.2f ms  %6.1f GFLOP/s\n", M, N, K, forms[f],
                   best * 1e3, 2.0 * M * N * K / best / 1e9);
        }
    }
    free(a), free(b), free(c), free(part);
    return 0;
}
