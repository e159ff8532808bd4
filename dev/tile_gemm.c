/*
 * tile_gemm.c - the fused attention's tile products at one head's sizes, the kernel table's
 * tile_gemm against OpenBLAS sgemm on the same operands: S = Q K^T (K pre-transposed for
 * ours), O = P V, dV = P^T dO. Prints GFLOP/s of each and their max abs difference.
 *   OPENBLAS_CORETYPE= OMP_NUM_THREADS=1 ./build/tile_gemm [T] [D] [REPS]
 */
#include <cblas.h>
#include <math.h>
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
    int T = argc > 1 ? atoi(argv[1]) : 49, D = argc > 2 ? atoi(argv[2]) : 32;
    int reps = argc > 3 ? atoi(argv[3]) : 20000, ld = 128;
    if (T < 1 || T > 128 || D < 1 || D > 256 || reps < 1)
        return fprintf(stderr, "usage: tile_gemm [T <= 128] [D <= 256] [REPS]\n"), 2;
    const mmx_kernels *k = mmx_kernels_active();
    float *q = malloc(sizeof(float) * 128 * 256), *kt = malloc(sizeof(float) * 256 * 128);
    float *kk = malloc(sizeof(float) * 128 * 256), *s = malloc(sizeof(float) * 128 * 128);
    float *c1 = malloc(sizeof(float) * 128 * 256), *c2 = malloc(sizeof(float) * 128 * 256);
    for (int i = 0; i < 128 * 256; i++)
        q[i] = (float)((i * 7) % 13) * 0.1f - 0.6f, kk[i] = (float)((i * 5) % 11) * 0.1f - 0.5f;
    for (int i = 0; i < 128 * 128; i++)
        s[i] = (float)((i * 3) % 17) * 0.05f;
    for (int j = 0; j < T; j++)
        for (int d = 0; d < D; d++)
            kt[d * ld + j] = kk[j * D + d];
    const char *names[3] = {"S = Q K^T (m=T n=T k=D)", "O = P V   (m=T n=D k=T)",
                            "dV = P^T dO (m=T n=D k=T)"};
    for (int form = 0; form < 3; form++) {
        double t[2];
        for (int own = 0; own < 2; own++) {
            float *c = own ? c1 : c2;
            double t0 = now();
            for (int r = 0; r < reps; r++) {
                if (form == 0 && own)
                    k->tile_gemm(c, ld, q, D, 1, kt, ld, T, T, D, 0.5f, 0);
                else if (form == 0)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, D, 0.5f, q, D, kk, D,
                                0.0f, c, ld);
                else if (form == 1 && own)
                    k->tile_gemm(c, D, s, ld, 1, kk, D, T, D, T, 1.0f, r > 0);
                else if (form == 1)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, D, T, 1.0f, s, ld, kk,
                                D, r > 0 ? 1.0f : 0.0f, c, D);
                else if (own)
                    k->tile_gemm(c, D, s, 1, ld, q, D, T, D, T, 1.0f, 1);
                else
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, D, T, 1.0f, s, ld, q, D,
                                1.0f, c, D);
            }
            t[own] = now() - t0;
        }
        double diff = 0.0, mag = 0.0;
        int n = form == 0 ? T : D, ldc = form == 0 ? ld : D;
        for (int i = 0; i < T; i++)
            for (int j = 0; j < n; j++) {
                diff = fmax(diff, fabs(c1[i * ldc + j] - c2[i * ldc + j]));
                mag = fmax(mag, fabs(c2[i * ldc + j]));
            }
        double fl = 2.0 * T * (form == 0 ? T : D) * (form == 0 ? D : T) * reps;
        printf("%-28s ours %6.1f GFLOP/s  sgemm %6.1f GFLOP/s  ratio %.2f  max|diff| %.1e of %.1e (%s)\n",
               names[form], fl / t[1] * 1e-9, fl / t[0] * 1e-9, t[0] / t[1], diff, mag, k->isa);
    }
    return 0;
}
