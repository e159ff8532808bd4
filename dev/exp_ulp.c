/*
 * dev/exp_ulp.c - the kernels' float32 exp against double-precision exp on EVERY float in
 * [-87.33, 88.37], for each ISA this CPU supports; prints the worst error in ulp of the
 * correctly rounded result. (tests/test_kernels.c asserts the bound on 1M samples.)
 *
 *   cmake --build build --target exp_ulp && ./build/exp_ulp
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kernels/kernels.h"

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static double ulps(float got, double want) {
    float w = (float)want;
    if (got == w) return 0.0;
    return fabs((double)got - want) / ((double)nextafterf(w, INFINITY) - (double)w);
}

/* All floats from lo to hi (same sign, |lo| <= |hi| in bits order) through k->exp. */
static double worst_over(const mmx_kernels *k, float lo, float hi, float *arg) {
    enum { B = 1 << 16 };
    static float x[B], y[B];
    uint32_t a, b;
    memcpy(&a, &lo, 4), memcpy(&b, &hi, 4);
    double worst = 0.0;
    for (uint64_t u = a; u <= b;) {
        int n = 0;
        for (; n < B && u <= b; n++, u++) x[n] = from_bits((uint32_t)u);
        k->exp(y, x, n);
        for (int i = 0; i < n; i++) {
            double e = ulps(y[i], exp((double)x[i]));
            if (e > worst) worst = e, *arg = x[i];
        }
    }
    return worst;
}

int main(void) {
    const char *isas[] = {"portable", "avx2", "avx512"};
    for (int i = 0; i < 3; i++) {
        const mmx_kernels *k = mmx_kernels_by_name(isas[i]);
        if (!k) {
            printf("%-8s not supported by this CPU\n", isas[i]);
            continue;
        }
        float a1 = 0, a2 = 0;
        double pos = worst_over(k, 0.0f, 88.37f, &a1);   /* bit order: 0 .. 88.37 */
        double neg = worst_over(k, -0.0f, -87.33f, &a2); /* -0 .. -87.33 */
        double w = fmax(pos, neg);
        printf("%-8s max error %.4f ulp over every float in [-87.33, 88.37] (worst at x = %.9g)\n",
               k->isa, w, w == pos ? a1 : a2);
    }
    return 0;
}
