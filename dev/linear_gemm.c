/*
 * linear_gemm.c - the engine's linear-layer products on one thread's share of rows (3136 of the
 * ViT step's 6272): OpenBLAS sgemm against the kernel table's tile_gemm (no packing), for the
 * forward y = x W^T (W^T transposed once per call) and the weight gradient dW += dy^T x (dy
 * read transposed in place), rows in chunks of CHUNK. Development probe for whether our own
 * product could replace sgemm there (it cannot: docs/BENCHMARKS.md, "Training").
 *   OPENBLAS_CORETYPE= OMP_NUM_THREADS=1 ./build/linear_gemm [CHUNK=96]
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kernels/kernels.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    const int CHUNK = argc > 1 ? atoi(argv[1]) : 96;
    const int shapes[][2] = {{384, 128}, {128, 128}, {256, 128}, {128, 256}};
    const int M = 3136, reps = 20;
    const mmx_kernels *k = mmx_kernels_active();
    float *x = malloc(sizeof(float) * M * 256), *w = malloc(sizeof(float) * 384 * 256);
    float *wt = malloc(sizeof(float) * 384 * 256), *y = malloc(sizeof(float) * M * 384);
    for (int i = 0; i < M * 256; i++)
        x[i] = (float)(i % 7) * 0.1f;
    for (int i = 0; i < 384 * 256; i++)
        w[i] = (float)(i % 5) * 0.1f;
    for (int s = 0; s < 4; s++) {
        int out = shapes[s][0], in = shapes[s][1];
        double t[2] = {1e9, 1e9};
        for (int r = 0; r < reps; r++) {
            double t0 = now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, out, in, 1.0f, x, in, w, in,
                        0.0f, y, out);
            double t1 = now();
            k->transpose(wt, out, w, in, out, in);
            for (int r0 = 0; r0 < M; r0 += CHUNK) /* rows in chunks that stay in cache */
                k->tile_gemm(y + (size_t)r0 * out, out, x + (size_t)r0 * in, in, 1, wt, out,
                             M - r0 < CHUNK ? M - r0 : CHUNK, out, in, 1.0f, 0);
            double t2 = now();
            if (t1 - t0 < t[0])
                t[0] = t1 - t0;
            if (t2 - t1 < t[1])
                t[1] = t2 - t1;
        }
        double fl = 2.0 * M * out * in, tw[2] = {1e9, 1e9};
        printf("forward y = x W^T, rows %d out %3d in %3d: sgemm %.3f ms (%.1f GFLOP/s), tile_gemm "
               "%.3f ms (%.1f)\n",
               M, out, in, t[0] * 1e3, fl / t[0] * 1e-9, t[1] * 1e3, fl / t[1] * 1e-9);
        /* weight gradient dW (out x in) += dy^T x over the rows: A = dy read transposed through
         * its strides, B = x; the rows in chunks of CHUNK, each adding to dW */
        for (int r = 0; r < reps; r++) {
            double t0 = now();
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, M, 1.0f, y, out, x, in,
                        1.0f, w, in);
            double t1 = now();
            for (int r0 = 0; r0 < M; r0 += CHUNK)
                k->tile_gemm(w, in, y + (size_t)r0 * out, 1, out, x + (size_t)r0 * in, in, out, in,
                             M - r0 < CHUNK ? M - r0 : CHUNK, 1.0f, 1);
            double t2 = now();
            if (t1 - t0 < tw[0])
                tw[0] = t1 - t0;
            if (t2 - t1 < tw[1])
                tw[1] = t2 - t1;
        }
        printf("weights dW += dy^T x, rows %d out %3d in %3d: sgemm %.3f ms (%.1f GFLOP/s), "
               "tile_gemm %.3f ms (%.1f)\n",
               M, out, in, tw[0] * 1e3, fl / tw[0] * 1e-9, tw[1] * 1e3, fl / tw[1] * 1e-9);
    }
    return 0;
}
