/*
 * dev/instr_count.c - runs one float32 normalizer call REPS times, for counting instructions
 * under valgrind (stable on shared machines, unlike timings). valgrind has no AVX-512, so the
 * library dispatches to its AVX2 kernels there. Per-element count of an op:
 *
 *   cmake --build build --target instr_count
 *   for reps in 0 4; do OMP_NUM_THREADS=1 valgrind --tool=callgrind \
 *     --callgrind-out-file=/dev/null ./build/instr_count OP 64 4096 $reps; done
 *   -> (I_refs(4) - I_refs(0)) / (4 * 64 * 4096)
 *
 * OP: 0 softmax fwd, 1 softmax bwd, 2 multimax fwd, 3 multimax bwd (order 2, the benchmark's
 * modulator), 4 / 5 sparsemax, 6 / 7 entmax15, 8 / 9 entmax alpha = 1.5 (fwd / bwd), 10 entmax
 * alpha = 1.5 bwd with dalpha (as the benchmark; 9 skips it, which at alpha = 1.5 takes
 * 1.5-EntMax's backward). The sparse
 * maps get scores like the benchmark's (normal, standard deviation 3) instead of the uniform
 * ones, since their cost depends on the support. INSTR_ALPHA sets ops 8-10's alpha (default 1.5).
 * The driver splits a call into 64 blocks of rows (src/api/fast.c), so with 1024 rows each
 * kernel call sees 16: fewer rows than the sparse kernels' 32-row blocks group by count.
 */
#include <stdio.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "multimax.h"

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: instr_count OP ROWS COLS REPS  (OP 0..10, see the source)\n");
        return 2;
    }
    int op = atoi(argv[1]), reps = atoi(argv[4]);
    long rows = atol(argv[2]), cols = atol(argv[3]);
    size_t n = (size_t)rows * (size_t)cols;
    float *x = malloc(n * 4), *y = malloc(n * 4), *dy = malloc(n * 4), *dx = malloc(n * 4);
    if (op < 0 || op > 10 || rows < 1 || cols < 1 || !x || !y || !dy || !dx) return 2;
    for (size_t i = 0; i < n; i++) {
        x[i] = (float)((i * 2654435761u) % 1000) / 300.0f;
        if (op >= 4) { /* Box-Muller on a 64-bit LCG: normal, standard deviation 3 */
            static uint64_t st = 1;
            double u[2];
            for (int j = 0; j < 2; j++) {
                st = st * 6364136223846793005ull + 1442695040888963407ull;
                u[j] = ((double)(st >> 11) + 0.5) * 0x1p-53;
            }
            x[i] = (float)(3.0 * sqrt(-2.0 * log(u[0])) * cos(6.283185307179586 * u[1]));
        }
        dy[i] = (float)((i * 40503u) % 1000) / 1000.0f - 0.5f;
    }
    double ranges[4] = {-1, 2, -1, 2}, ts[4] = {0.1, -0.1, 0.02, -0.02}, dr[4] = {0}, dt[4] = {0};
    mmx_norm norms[5] = {mmx_norm_softmax(1.0), mmx_norm_multimax(2, ranges, ts),
                         mmx_norm_sparsemax(), mmx_norm_entmax15(),
                         mmx_norm_entmax(getenv("INSTR_ALPHA") ? atof(getenv("INSTR_ALPHA")) : 1.5)};
    mmx_norm *nm = &norms[op == 10 ? 4 : op / 2];
    double da = 0.0;
    mmx_param_grads pg = {dr, dt, op == 10 ? &da : NULL};
    const int bwd = op % 2 == 1 || op == 10;
    mmx_forward_f32(nm, y, cols, x, cols, rows, cols);
    for (int r = 0; r < reps; r++) {
        if (!bwd) mmx_forward_f32(nm, y, cols, x, cols, rows, cols);
        else mmx_backward_f32(nm, dx, cols, &pg, dy, cols, y, cols, x, cols, rows, cols);
    }
    free(x), free(y), free(dy), free(dx);
    return 0;
}
