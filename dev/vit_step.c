/*
 * vit_step.c - runs training steps (forward, backward, AdamW) of the benchmark ViT with one
 * normalizer, for instruction counts that machine load cannot disturb:
 *   OMP_NUM_THREADS=1 valgrind --tool=callgrind ./build/vit_step multimax 32 1
 *   vit_step NORM [BATCH=128] [STEPS=1] [DIM=128] [DEPTH=6]
 * (attention and head use NORM; EvSoftMax gets a SoftMax head). Prints the mean wall time of
 * the steps after the first; instruction counts include the first: compare totals of two
 * normalizers with the same arguments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "nn/vit.h"
#include "train/optim.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: vit_step NORM [BATCH] [STEPS] [DIM] [DEPTH]\n");
        return 2;
    }
    int b = argc > 2 ? atoi(argv[2]) : 128, steps = argc > 3 ? atoi(argv[3]) : 1;
    vit_config c = vit_config_default();
    c.dim = argc > 4 ? atoi(argv[4]) : 128;
    c.depth = argc > 5 ? atoi(argv[5]) : 6;
    if (mmx_norm_parse(argv[1], &c.attn_norm) != MMX_OK) {
        fprintf(stderr, "vit_step: %s\n", mmx_last_error());
        return 2;
    }
    c.head_norm = c.attn_norm == MMX_NORM_EVSOFTMAX ? MMX_NORM_SOFTMAX : c.attn_norm;
    vit_model m;
    adamw o;
    adamw_config oc = adamw_config_default();
    if (vit_build(&m, &c, b) != MMX_OK || adamw_build(&o, &oc, m.n_params) != MMX_OK) {
        fprintf(stderr, "vit_step: %s\n", mmx_last_error());
        return 1;
    }
    vit_init(&m, 1);
    float *x = malloc(sizeof(float) * (size_t)b * 784);
    int32_t *y = malloc(sizeof(int32_t) * (size_t)b);
    for (int i = 0; i < b * 784; i++) x[i] = (float)((i * 7919) % 255) / 255.0f - 0.3f;
    for (int i = 0; i < b; i++) y[i] = i % 10;
    double loss = 0.0, t1 = 0.0;
    for (int s = 0; s < steps; s++) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        if (s == 1) /* the steps after the first (which pays the first touches) are timed */
            t1 = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
        if (vit_forward(&m, x, y, b, 0.1, 1, &loss) != MMX_OK || vit_backward(&m, y, b, 0.1) != MMX_OK) {
            fprintf(stderr, "vit_step: %s\n", mmx_last_error());
            return 1;
        }
        adamw_step(&o, &m, NULL);
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double per = steps > 1 ? ((double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec - t1) / (steps - 1) : 0;
    printf("%s: %d steps, batch %d, loss %.6f, %lld parameters, %.1f ms per step after the first\n",
           argv[1], steps, b, loss, (long long)m.n_params, per * 1e3);
    free(x), free(y), vit_free(&m), adamw_free(&o);
    return 0;
}
