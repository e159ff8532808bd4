/*
 * A tiny portable SIMD layer over GCC/Clang vector extensions. A kernel source is written
 * once against it and compiled once per ISA (src/kernels/isa_*.c), with MMX_VW floats per
 * vector: 16 (AVX-512), 8 (AVX2+FMA) or 4 (baseline SSE2). Only the ISA files include it.
 */
#ifndef MMX_VEC_H
#define MMX_VEC_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifndef MMX_VW
#error "define MMX_VW (floats per vector) before including vec.h"
#endif

typedef float vf __attribute__((vector_size(MMX_VW * 4)));
typedef int32_t vi __attribute__((vector_size(MMX_VW * 4)));

static inline vf vload(const float *p) {
    vf v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void vstore(float *p, vf v) { memcpy(p, &v, sizeof v); }
static inline vf vset(float x) { /* a broadcast ((vf){0} + x is not one: it must keep -0.0) */
    vf v;
    for (int i = 0; i < MMX_VW; i++) v[i] = x;
    return v;
}
/* Lane-wise m ? a : b (m from a comparison: all ones or all zeros per lane), max and min
 * (NaN lanes: unspecified; callers detect NaN separately). The generic forms cost 3-4
 * instructions; where the ISA has one instruction for them, use it. */
#if MMX_VW == 16 && defined(__AVX512F__) && defined(__AVX512DQ__)
#include <immintrin.h>
static inline vf vsel(vi m, vf a, vf b) {
    return (vf)_mm512_mask_blend_ps(_mm512_movepi32_mask((__m512i)m), (__m512)b, (__m512)a);
}
static inline vf vmax(vf a, vf b) { return (vf)_mm512_max_ps((__m512)a, (__m512)b); }
static inline vf vmin(vf a, vf b) { return (vf)_mm512_min_ps((__m512)a, (__m512)b); }
#elif MMX_VW == 8 && defined(__AVX2__)
#include <immintrin.h>
static inline vf vsel(vi m, vf a, vf b) { return (vf)_mm256_blendv_ps((__m256)b, (__m256)a, (__m256)m); }
static inline vf vmax(vf a, vf b) { return (vf)_mm256_max_ps((__m256)a, (__m256)b); }
static inline vf vmin(vf a, vf b) { return (vf)_mm256_min_ps((__m256)a, (__m256)b); }
#else
static inline vf vsel(vi m, vf a, vf b) { return (vf)((m & (vi)a) | (~m & (vi)b)); }
static inline vf vmax(vf a, vf b) { return vsel(a > b, a, b); }
static inline vf vmin(vf a, vf b) { return vsel(a < b, a, b); }
#endif
static inline int vany(vi m) {
    int32_t r = 0;
    for (int i = 0; i < MMX_VW; i++) r |= m[i];
    return r != 0;
}

/* The first k < MMX_VW floats of p in a vector, the other lanes set to fill. */
static inline vf vload_part(const float *p, int64_t k, float fill) {
    vf v = vset(fill);
    for (int64_t i = 0; i < k; i++) v[i] = p[i];
    return v;
}
static inline void vstore_part(float *p, vf v, int64_t k) {
    for (int64_t i = 0; i < k; i++) p[i] = v[i];
}

/* Horizontal max, and horizontal sum in double (the lanes are partial sums of a block): a
 * shuffle tree where the ISA has one (a lane loop costs ~2 instructions per lane, which
 * short rows pay several times each). */
#if MMX_VW == 16 && defined(__AVX512F__)
static inline float vhmax(vf v) { return _mm512_reduce_max_ps((__m512)v); }
static inline double vhsum(vf v) {
    __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256((__m512)v));
    __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd((__m512)v), 1)));
    return _mm512_reduce_add_pd(_mm512_add_pd(lo, hi));
}
#elif MMX_VW == 8 && defined(__AVX2__)
static inline float vhmax(vf v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128((__m256)v), _mm256_extractf128_ps((__m256)v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}
static inline double vhsum(vf v) {
    __m256d s = _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128((__m256)v)),
                              _mm256_cvtps_pd(_mm256_extractf128_ps((__m256)v, 1)));
    __m128d t = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    return _mm_cvtsd_f64(_mm_add_sd(t, _mm_unpackhi_pd(t, t)));
}
#else
static inline float vhmax(vf v) {
    float m = v[0];
    for (int i = 1; i < MMX_VW; i++) m = v[i] > m ? v[i] : m;
    return m;
}
static inline double vhsum(vf v) {
    double s = 0.0;
    for (int i = 0; i < MMX_VW; i++) s += (double)v[i];
    return s;
}
#endif

/* Lanes that are NaN or +inf (the values the library rejects). */
static inline vi vbad(vf v) { return (v != v) | (v == vset(INFINITY)); }

/*
 * exp(x) in float32. Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, a degree-6 polynomial
 * for e^r (Cephes coefficients), scaled by 2^n through the exponent bits. Error: at most
 * 2 ulp on [-87.33, 88.72] (measured exhaustively by dev/exp_ulp.c, asserted on samples by
 * tests/test_kernels.c). x < -87.33 (including -inf) gives exactly 0 (no denormals);
 * x > 88.72 gives +inf; NaN is not handled (callers never pass it).
 */
static inline vf vexp(vf x) {
    const vf magic = vset(12582912.0f); /* 1.5 * 2^23: adding it rounds to an integer */
    vi under = x < vset(-87.33654f), over = x > vset(88.72283f);
    /* Lanes out of range compute garbage (even NaN) below; the two selects replace them. */
    vf n = (x * 1.44269504088896341f + magic) - magic;
    vf r = x - n * 0.693359375f; /* ln2 split in two for an exact product */
    r = r - n * -2.12194440e-4f;
    vf p = vset(1.9875691500e-4f);
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    vi e = (__builtin_convertvector(n, vi) + 127) << 23;
    vf y = p * (vf)e;
    y = vsel(under, vset(0.0f), y);
    return vsel(over, vset(INFINITY), y);
}

#endif
