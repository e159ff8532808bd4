/*
 * dev/cand_groups.c - how many candidates the short-row sparse kernels' lane groups carry
 * (src/kernels/sparse_short.inc). A row's candidates are its entries within 1/(alpha-1) of
 * its max (x > max - 1/(alpha-1); SparseMax: alpha = 2); a group of 8 rows (one per double
 * lane on AVX-512) runs its steps over its largest count. Prints, over the rows of the
 * benchmark's kind (normal scores, standard deviation 3, the generator of dev/instr_count.c):
 * the mean count, and the mean of the groups' largest counts for groups of 8 consecutive rows
 * (the kernels before grouping) and for the kernels' grouping (rows sorted by count within
 * blocks of 32). Pure arithmetic on the data; no kernel runs.
 *
 *   cmake --build build --target cand_groups && ./build/cand_groups ALPHA ROWS COLS
 *   e.g. ./build/cand_groups 1.3 262144 64
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define GROUP 8
#define BLOCK 32

static int cmp_int(const void *a, const void *b) {
    return *(const int *)a - *(const int *)b;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: cand_groups ALPHA ROWS COLS\n");
        return 2;
    }
    const double alpha = atof(argv[1]);
    const long rows = atol(argv[2]), cols = atol(argv[3]);
    if (!(alpha > 1.0) || rows < BLOCK || rows % BLOCK || cols < 1) {
        fprintf(stderr, "cand_groups: ALPHA > 1, ROWS a multiple of %d, COLS >= 1\n", BLOCK);
        return 2;
    }
    int *k = malloc(sizeof(int) * (size_t)rows);
    double *x = malloc(sizeof(double) * (size_t)cols);
    if (!k || !x) return 1;
    uint64_t st = 1;
    double total = 0.0;
    for (long r = 0; r < rows; r++) {
        double m = -INFINITY;
        for (long j = 0; j < cols; j++) { /* Box-Muller on a 64-bit LCG, as dev/instr_count.c */
            double u[2];
            for (int i = 0; i < 2; i++) {
                st = st * 6364136223846793005ull + 1442695040888963407ull;
                u[i] = ((double)(st >> 11) + 0.5) * 0x1p-53;
            }
            x[j] = (float)(3.0 * sqrt(-2.0 * log(u[0])) * cos(6.283185307179586 * u[1]));
            m = x[j] > m ? x[j] : m;
        }
        int c = 0;
        for (long j = 0; j < cols; j++) c += x[j] > m - 1.0 / (alpha - 1.0);
        k[r] = c;
        total += c;
    }
    double consec = 0.0, grouped = 0.0;
    for (long b = 0; b < rows; b += BLOCK) {
        int s[BLOCK];
        for (int i = 0; i < BLOCK; i++) s[i] = k[b + i];
        for (int g = 0; g < BLOCK; g += GROUP) { /* consecutive rows: a group's largest */
            int mx = 0;
            for (int i = 0; i < GROUP; i++) mx = s[g + i] > mx ? s[g + i] : mx;
            consec += mx;
        }
        qsort(s, BLOCK, sizeof *s, cmp_int);
        for (int g = 0; g < BLOCK; g += GROUP) grouped += s[g + GROUP - 1];
    }
    const double ng = (double)rows / GROUP;
    printf("alpha %.3g, %ld x %ld: candidates per row %.2f; a group's largest: %.2f "
           "(consecutive rows), %.2f (grouped by count in blocks of %d)\n",
           alpha, rows, cols, total / (double)rows, consec / ng, grouped / ng, BLOCK);
    free(k), free(x);
    return 0;
}
