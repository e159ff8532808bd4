/*
 * vit_hugepages.c - the benchmark ViT's training step with its activation arena on 4 KiB pages
 * (MMX_NO_HUGEPAGES=1 while that model is built) and on transparent huge pages, the two
 * models' steps interleaved so that machine load hits both alike; prints median ms per step.
 *   OPENBLAS_CORETYPE= OMP_NUM_THREADS=2 ./build/vit_hugepages [STEPS=30] [BATCH=128]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "nn/vit.h"
#include "train/optim.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 30, b = argc > 2 ? atoi(argv[2]) : 128;
    if (steps < 1 || b < 1)
        return 2;
    vit_config c = vit_config_default();
    adamw_config oc = adamw_config_default();
    vit_model m[2];
    adamw o[2];
    for (int i = 0; i < 2; i++) {
        if (i == 0)
            setenv("MMX_NO_HUGEPAGES", "1", 1);
        else
            unsetenv("MMX_NO_HUGEPAGES");
        if (vit_build(&m[i], &c, b) != MMX_OK || adamw_build(&o[i], &oc, m[i].n_params) != MMX_OK) {
            fprintf(stderr, "vit_hugepages: %s\n", mmx_last_error());
            return 1;
        }
        vit_init(&m[i], 1);
    }
    float *x = malloc(sizeof(float) * (size_t)b * 784);
    int32_t *y = malloc(sizeof(int32_t) * (size_t)b);
    double *t = malloc(sizeof(double) * 2 * (size_t)steps);
    if (!x || !y || !t)
        return 1;
    for (int i = 0; i < b * 784; i++)
        x[i] = (float)((i * 7919) % 255) / 255.0f - 0.3f;
    for (int i = 0; i < b; i++)
        y[i] = i % 10;
    for (int s = -2; s < steps; s++) /* two warm-up rounds */
        for (int i = 0; i < 2; i++) {
            double t0 = now(), loss;
            if (vit_forward(&m[i], x, y, b, 0.1, 1, &loss) != MMX_OK ||
                vit_backward(&m[i], y, b, 0.1) != MMX_OK) {
                fprintf(stderr, "vit_hugepages: %s\n", mmx_last_error());
                return 1;
            }
            adamw_step(&o[i], &m[i], NULL);
            if (s >= 0)
                t[i * steps + s] = now() - t0;
        }
    for (int i = 0; i < 2; i++) {
        qsort(t + i * steps, (size_t)steps, sizeof *t, cmp);
        printf("%-16s median %.1f ms per step (%d interleaved steps, batch %d)\n",
               i ? "huge pages" : "4 KiB pages", t[i * steps + steps / 2] * 1e3, steps, b);
    }
    for (int i = 0; i < 2; i++)
        vit_free(&m[i]), adamw_free(&o[i]);
    free(x), free(y), free(t);
    return 0;
}
