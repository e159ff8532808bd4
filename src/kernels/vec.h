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
/* A broadcast ((vf){0} + x is not one: it must keep -0.0). The ISA's broadcast where there is
 * one: GCC turns the lane loop into an insert chain when x is not a constant. */
#if MMX_VW == 16 && defined(__AVX512F__)
#include <immintrin.h>
static inline vf vset(float x) { return (vf)_mm512_set1_ps(x); }
#elif MMX_VW == 8 && defined(__AVX__)
#include <immintrin.h>
static inline vf vset(float x) { return (vf)_mm256_set1_ps(x); }
#elif MMX_VW == 4 && defined(__SSE2__)
#include <immintrin.h>
static inline vf vset(float x) { return (vf)_mm_set1_ps(x); }
#else
static inline vf vset(float x) {
    vf v;
    for (int i = 0; i < MMX_VW; i++) v[i] = x;
    return v;
}
#endif
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

/* The first k < MMX_VW floats of p in a vector, the other lanes set to fill; and the store
 * of the first k lanes. Masked loads / stores where the ISA has them (a lane loop goes
 * through the stack: a store-forwarding stall on every row's tail); they never touch memory
 * past p + k. */
#if MMX_VW == 16 && defined(__AVX512F__)
static inline vf vload_part(const float *p, int64_t k, float fill) {
    return (vf)_mm512_mask_loadu_ps((__m512)vset(fill), (__mmask16)((1u << k) - 1), p);
}
static inline void vstore_part(float *p, vf v, int64_t k) {
    _mm512_mask_storeu_ps(p, (__mmask16)((1u << k) - 1), (__m512)v);
}
#elif MMX_VW == 8 && defined(__AVX2__)
static inline vi vtail_mask(int64_t k) { /* lanes < k all ones */
    const vi lane = {0, 1, 2, 3, 4, 5, 6, 7};
    return lane < (int32_t)k;
}
static inline vf vload_part(const float *p, int64_t k, float fill) {
    vi m = vtail_mask(k);
    return vsel(m, (vf)_mm256_maskload_ps(p, (__m256i)m), vset(fill));
}
static inline void vstore_part(float *p, vf v, int64_t k) {
    _mm256_maskstore_ps(p, (__m256i)vtail_mask(k), (__m256)v);
}
#else
static inline vf vload_part(const float *p, int64_t k, float fill) {
    vf v = vset(fill);
    for (int64_t i = 0; i < k; i++) v[i] = p[i];
    return v;
}
static inline void vstore_part(float *p, vf v, int64_t k) {
    for (int64_t i = 0; i < k; i++) p[i] = v[i];
}
#endif

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

/* Horizontal max (mn: min) of G = 2 or 4 vectors at once: out[g] = that of v[g], exactly as
 * G calls of vhmax would give it. Returns a vector whose lane 4g (AVX-512; lane g otherwise)
 * holds out[g], for lane-wise work on the G results. AVX-512: one shuffle tree for all of
 * them instead of one per vector. */
#if MMX_VW == 16 && defined(__AVX512F__)
static inline __m512 vmm512_(__m512 a, __m512 b, int mn) {
    return mn ? _mm512_min_ps(a, b) : _mm512_max_ps(a, b);
}
static inline __attribute__((always_inline)) vf vhmax_n(const vf *v, int G, int mn, float *out) {
    __m512 a = (__m512)v[0], b = (__m512)v[1], c = G == 4 ? (__m512)v[2] : a, d = G == 4 ? (__m512)v[3] : b;
    /* 128-bit blocks: (a0 a1 b0 b1) against (a2 a3 b2 b3), then the two halves of each. */
    __m512 ab = vmm512_(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xEE), mn);
    __m512 cd = G == 4 ? vmm512_(_mm512_shuffle_f32x4(c, d, 0x44), _mm512_shuffle_f32x4(c, d, 0xEE), mn) : ab;
    __m512 t = vmm512_(_mm512_shuffle_f32x4(ab, cd, 0x88), _mm512_shuffle_f32x4(ab, cd, 0xDD), mn);
    t = vmm512_(t, _mm512_permute_ps(t, 0x4E), mn); /* lanes 2 3 0 1 of each block */
    t = vmm512_(t, _mm512_permute_ps(t, 0xB1), mn); /* lanes 1 0 3 2 */
    for (int g = 0; g < G; g++) out[g] = ((vf)t)[4 * g];
    return (vf)t;
}
#define VHMAX_N_LANE(g) (4 * (g))
#else
static inline __attribute__((always_inline)) vf vhmax_n(const vf *v, int G, int mn, float *out) {
    vf t = vset(0.0f);
    for (int g = 0; g < G; g++) out[g] = mn ? -vhmax(-v[g]) : vhmax(v[g]), t[g] = out[g];
    return t;
}
#define VHMAX_N_LANE(g) (g)
#endif

/* Lanes that are NaN or +inf (the values the library rejects). */
static inline vi vbad(vf v) { return (v != v) | (v == vset(INFINITY)); }

/* Input checks accumulated over a row: `f |= vflag_bad(v)` per vector, vflag_any(f) at the
 * end. On AVX-512 a mask register and one vfpclassps per test (the generic comparisons cost
 * ~6 instructions there: each goes through a vector and back to a mask); elsewhere lane
 * vectors. vflag_bad: NaN or +inf; vflag_nonfinite: NaN or +-inf. */
#if MMX_VW == 16 && defined(__AVX512F__) && defined(__AVX512DQ__)
typedef __mmask16 vflag;
static inline vflag vflag_none(void) { return 0; }
static inline vflag vflag_bad(vf v) { return _mm512_fpclass_ps_mask((__m512)v, 0x89); }
static inline vflag vflag_nonfinite(vf v) { return _mm512_fpclass_ps_mask((__m512)v, 0x99); }
static inline int vflag_any(vflag f) { return f != 0; }
#else
typedef vi vflag;
static inline vflag vflag_none(void) { return (vi){0}; }
static inline vflag vflag_bad(vf v) { return vbad(v); }
static inline vflag vflag_nonfinite(vf v) { /* exponent all ones: +-inf, NaN */
    const vi expo = (vi)vset(0.0f) + 0x7f800000;
    return ((vi)v & expo) == expo;
}
static inline int vflag_any(vflag f) { return vany(f); }
#endif

/* x where x is -inf (a masked score), else z: keeps masked lanes masked through arithmetic
 * that would turn -inf into NaN. And min(lo, v) over the lanes where v is not -inf. */
#if MMX_VW == 16 && defined(__AVX512F__)
static inline vf vkeep_neginf(vf x, vf z) {
    __mmask16 k = _mm512_cmp_ps_mask((__m512)x, _mm512_set1_ps(-INFINITY), _CMP_EQ_OQ);
    return (vf)_mm512_mask_mov_ps((__m512)z, k, (__m512)x);
}
static inline vf vmin_finite(vf lo, vf v) {
    __mmask16 k = _mm512_cmp_ps_mask((__m512)v, _mm512_set1_ps(-INFINITY), _CMP_NEQ_UQ);
    return (vf)_mm512_mask_min_ps((__m512)lo, k, (__m512)lo, (__m512)v);
}
#else
static inline vf vkeep_neginf(vf x, vf z) { return vsel(x == vset(-INFINITY), x, z); }
static inline vf vmin_finite(vf lo, vf v) {
    return vmin(lo, vsel(v == vset(-INFINITY), vset(INFINITY), v));
}
#endif

/* c > 0 ? a : 0, lane-wise (a gated gradient). */
#if MMX_VW == 16 && defined(__AVX512F__)
static inline vf vpos_or0(vf c, vf a) {
    __mmask16 k = _mm512_cmp_ps_mask((__m512)c, _mm512_setzero_ps(), _CMP_GT_OQ);
    return (vf)_mm512_maskz_mov_ps(k, (__m512)a);
}
#else
static inline vf vpos_or0(vf c, vf a) { return (vf)((vi)a & (c > vset(0.0f))); }
#endif

/*
 * exp(x) in float32. Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, a degree-6 polynomial
 * for e^r (Cephes coefficients; AVX-512: a minimax fit, below), scaled by 2^n. Error on every
 * float of [-87.33, 88.37] (dev/exp_ulp.c checks them all): AVX-512 0.909 ulp, AVX2 (FMA)
 * 1.0103 ulp, portable 0.9903 ulp; tests/test_kernels.c asserts <= 2 ulp on 1M samples for
 * every ISA. x < -87.33 (including -inf) gives exactly 0 (no denormals). Overflow: +inf
 * above 88.72 (AVX-512, where exp(x) itself overflows) or above 88.376 (= 127.5 ln2, the other
 * ISAs); the kernels call it with x <= 0 only. NaN is not handled by the generic form (callers never pass it).
 */
#if MMX_VW == 16 && defined(__AVX512F__)
/* AVX-512: the same reduction; e^r = 1 + r (1 + r Q(r)) with Q of degree 4, a minimax fit
 * (Remez exchange on the relative error over |r| <= ln2/2, 3.1e-9 before rounding the
 * coefficients to float; dev/exp_minimax.py): 6 fused multiply-adds against the Cephes
 * form's 7. n = round(x log2 e) by adding and subtracting 1.5 * 2^23 (|x| <= 88.8 here):
 * vrndscaleps instead measured 1-5% slower in the SoftMax forward at 64 and 196 columns in L2
 * (docs/BENCHMARKS.md, eighth session), the error bound unchanged. 2^n applied by vscalefps, which also overflows to
 * +inf exactly where exp(x) does (88.72); x is clamped to 88.8 first so +inf gives +inf.
 * Lanes below -87.33 are zeroed by the store mask of the last instruction: 13 instructions
 * against the generic form's ~25 (whose selects cost a mask-to-vector round trip each). NaN
 * stays NaN. */
static inline __m512 vexp512_keep(__m512 x, __mmask16 keep) { /* e^x on the lanes of keep, else 0 */
    const __m512 magic = _mm512_set1_ps(12582912.0f); /* 1.5 * 2^23 */
    __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), magic), magic);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.3814613261e-03f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3687098242e-03f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1668387361e-02f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666520690e-01f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.9999993452e-01f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_maskz_scalef_ps(keep, p, n);
}
static inline vf vexp(vf xv) {
    const __m512 x = _mm512_min_ps(_mm512_set1_ps(88.8f), (__m512)xv); /* NaN: returns x */
    return (vf)vexp512_keep(x, _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.33654f), _CMP_NLT_UQ));
}
#else
static inline vf vexp(vf x) {
    const vf magic = vset(12582912.0f); /* 1.5 * 2^23: adding it rounds to an integer */
    vi under = x < vset(-87.33654f), over = x > vset(88.3762626647949f);
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

/* ---- Added for the sparse family (src/kernels/sparse_family.inc) ---- */

/* Bit i set where lane i of the comparison mask m is set: one instruction where the ISA has
 * it (vany's lane loop costs ~12), so "skip this vector if no lane is active" is cheap. */
#if MMX_VW == 16 && defined(__AVX512F__) && defined(__AVX512DQ__)
static inline unsigned vmask(vi m) { return (unsigned)_mm512_movepi32_mask((__m512i)m); }
#elif MMX_VW == 8 && defined(__AVX2__)
static inline unsigned vmask(vi m) { return (unsigned)_mm256_movemask_ps((__m256)m); }
#elif MMX_VW == 4 && defined(__SSE2__)
#include <emmintrin.h>
static inline unsigned vmask(vi m) { return (unsigned)_mm_movemask_ps((__m128)m); }
#else
static inline unsigned vmask(vi m) {
    unsigned r = 0;
    for (int i = 0; i < MMX_VW; i++) r |= (unsigned)(m[i] != 0) << i;
    return r;
}
#endif

/* Writes the lanes of v and w selected by the bits of mask, in lane order, to the front of
 * dst and dsti; returns how many. Writes MMX_VW lanes to each where the ISA compresses in a
 * register (AVX-512: vcompressps / vpcompressd, register forms, which are fast on Zen 4/5
 * where the memory forms are not), so both buffers need MMX_VW entries of room. */
#if MMX_VW == 16 && defined(__AVX512F__)
#include <immintrin.h>
static inline int vcompress(float *dst, int32_t *dsti, vf v, vi w, unsigned mask) {
    __m512 c = _mm512_maskz_compress_ps((__mmask16)mask, (__m512)v);
    __m512i ci = _mm512_maskz_compress_epi32((__mmask16)mask, (__m512i)w);
    _mm512_storeu_ps(dst, c);
    _mm512_storeu_si512(dsti, ci);
    return __builtin_popcount(mask);
}
#else
static inline int vcompress(float *dst, int32_t *dsti, vf v, vi w, unsigned mask) {
    int k = 0;
    for (; mask; mask &= mask - 1, k++) {
        int j = __builtin_ctz(mask);
        dst[k] = v[j];
        dsti[k] = w[j];
    }
    return k;
}
#endif

/* vmask(a > b) straight into a mask register where the ISA has one (GCC otherwise turns
 * the comparison into a vector and back: two more instructions on the chain). */
#if MMX_VW == 16 && defined(__AVX512F__)
static inline unsigned vmask_gt(vf a, vf b) {
    return (unsigned)_mm512_cmp_ps_mask((__m512)a, (__m512)b, _CMP_GT_OQ);
}
#else
static inline unsigned vmask_gt(vf a, vf b) { return vmask(a > b); }
#endif

/* vcompress without the indices: the lanes of v selected by mask to the front of dst
 * (MMX_VW entries of room); returns how many. */
#if MMX_VW == 16 && defined(__AVX512F__)
static inline int vcompressf(float *dst, vf v, unsigned mask) {
    _mm512_storeu_ps(dst, _mm512_maskz_compress_ps((__mmask16)mask, (__m512)v));
    return __builtin_popcount(mask);
}
#else
static inline int vcompressf(float *dst, vf v, unsigned mask) {
    int k = 0;
    for (; mask; mask &= mask - 1) dst[k++] = v[__builtin_ctz(mask)];
    return k;
}
#endif

/* The inverse: the first popcount(mask) floats of src, in order, to the lanes set in mask;
 * 0 in the others. Reads only those floats. */
#if MMX_VW == 16 && defined(__AVX512F__)
static inline vf vexpand(const float *src, unsigned mask) {
    return (vf)_mm512_maskz_expandloadu_ps((__mmask16)mask, src);
}
#else
static inline vf vexpand(const float *src, unsigned mask) {
    vf v = {0};
    for (int k = 0; mask; mask &= mask - 1) v[__builtin_ctz(mask)] = src[k++];
    return v;
}
#endif

/* vexpand from a register: src[off], src[off + 1], ... to the lanes set in mask (off plus
 * the lanes set at most MMX_VW); 0 in the others. Unlike vexpand it does not read memory
 * just written (a load of part of a recent vector store stalls on store forwarding). */
#if MMX_VW == 16 && defined(__AVX512F__)
static inline vf vexpand_from(vf src, int off, unsigned mask) {
    const __m512i idx = _mm512_add_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5,
                                                          4, 3, 2, 1, 0),
                                         _mm512_set1_epi32(off));
    return (vf)_mm512_maskz_expand_ps((__mmask16)mask, _mm512_permutexvar_ps(idx, (__m512)src));
}
#else
static inline vf vexpand_from(vf src, int off, unsigned mask) {
    vf v = {0};
    for (int k = off; mask; mask &= mask - 1) v[__builtin_ctz(mask)] = src[k++];
    return v;
}
#endif

/* A whole-vector store that bypasses the caches (non-temporal), for outputs too large to stay
 * cached: it skips the read for ownership a cached store of a missing line costs. p must be
 * aligned to MMX_VW floats (vstream_ok); vsfence orders such stores before later ones (once
 * per kernel call). Plain stores where the ISA has none. */
#if MMX_VW == 16 && defined(__AVX512F__)
static inline void vstream(float *p, vf v) { _mm512_stream_ps(p, (__m512)v); }
static inline void vsfence(void) { _mm_sfence(); }
#elif MMX_VW == 8 && defined(__AVX__)
static inline void vstream(float *p, vf v) { _mm256_stream_ps(p, (__m256)v); }
static inline void vsfence(void) { _mm_sfence(); }
#else
static inline void vstream(float *p, vf v) { vstore(p, v); }
static inline void vsfence(void) {}
#endif
static inline int vstream_ok(const float *p) {
    return ((uintptr_t)p & (MMX_VW * sizeof(float) - 1)) == 0;
}

/* Lane-wise square root (correctly rounded, as sqrtf); x >= 0. */
#if MMX_VW == 16 && defined(__AVX512F__)
static inline vf vsqrt(vf x) { return (vf)_mm512_sqrt_ps((__m512)x); }
#elif MMX_VW == 8 && defined(__AVX__)
static inline vf vsqrt(vf x) { return (vf)_mm256_sqrt_ps((__m256)x); }
#elif MMX_VW == 4 && defined(__SSE2__)
static inline vf vsqrt(vf x) { return (vf)_mm_sqrt_ps((__m128)x); }
#else
static inline vf vsqrt(vf x) {
    for (int i = 0; i < MMX_VW; i++) x[i] = sqrtf(x[i]);
    return x;
}
#endif

/*
 * log(x) in float32 for x > 0 finite (denormals included). x = 2^e m with m in
 * [sqrt(1/2), sqrt(2)), log(1 + f) (f = m - 1) by the Cephes logf polynomial, e ln2 added in
 * two parts. Error: at most 0.83 ulp over every positive finite float, denormals included
 * (measured exhaustively against double log at each MMX_VW; tests/test_kernels.c asserts
 * <= 1 ulp on samples through the table's `log` slot). x <= 0, inf and NaN are not handled
 * (callers pass 1 in lanes they do not use).
 */
static inline vf vlog(vf x) {
    vi den = x < vset(1.17549435e-38f); /* denormal: scale by 2^23 first */
    x = vsel(den, x * 8388608.0f, x);
    vi bits = (vi)x;
    vi e = ((bits >> 23) & 0xff) - 127 - (den & 23);
    vf m = (vf)((bits & 0x007fffff) | 0x3f800000); /* [1, 2) */
    vi big = m > vset(1.41421356f);
    m = vsel(big, m * 0.5f, m);
    vf ef = __builtin_convertvector(e - big, vf); /* big is -1 where set */
    vf f = m - 1.0f, z = f * f;
    vf p = vset(7.0376836292e-2f);
    p = p * f - 1.1514610310e-1f;
    p = p * f + 1.1676998740e-1f;
    p = p * f - 1.2420140846e-1f;
    p = p * f + 1.4249322787e-1f;
    p = p * f - 1.6668057665e-1f;
    p = p * f + 2.0000714765e-1f;
    p = p * f - 2.4999993993e-1f;
    p = p * f + 3.3333331174e-1f;
    vf y = p * f * z + ef * -2.12194440e-4f - 0.5f * z;
    return (f + y) + ef * 0.693359375f;
}

/* d^b, roughly, for d in (0, 1] normal and 0 <= b <= 8: relative error below 2^-16 (the
 * rounding of b log2 d to float, up to 2^-17 at |b log2 d| ~ 100, adds to the polynomials';
 * tests/test_kernels.c); results below 2^-126 come out near 2^-126. log2 d by the exponent
 * and a degree-7 polynomial of the mantissa in [sqrt(1/2), sqrt(2)), 2^y by a degree-5
 * polynomial of the fraction in [-1/2, 1/2] (both fitted at Chebyshev nodes), each by
 * Estrin's scheme: lower degrees and shorter dependency chains than vexp(b * vlog(d)). For
 * approximate work (the alpha-EntMax float steps), not for results. */
static inline vf vpow_rough(vf d, float b) {
    vi bits = (vi)d;
    vf m = (vf)((bits & 0x007fffff) | 0x3f800000); /* [1, 2) */
    vi big = m > vset(1.41421356f);
    m = vsel(big, m * 0.5f, m);
    vf ef = __builtin_convertvector(((bits >> 23) & 0xff) - 127 - big, vf); /* big is -1 */
    vf t = m - 1.0f, t2 = t * t, t4 = t2 * t2;
    vf q = (1.4426964322e+00f + t * -7.2136403985e-01f) + t2 * (4.8062914692e-01f + t * -3.5935065284e-01f) +
           t4 * ((2.9563360026e-01f + t * -2.6950627444e-01f) + t2 * 1.7212873067e-01f);
    vf y = vmax((ef + t * q) * b, vset(-126.0f));
    vf k = (y + 12582912.0f) - 12582912.0f; /* nearest integer (|y| < 2^22) */
    vf f = y - k, f2 = f * f;
    vf p = (1.0000000755e+00f + f * 6.9314720671e-01f) +
           f2 * ((2.4022107356e-01f + f * 5.5503272142e-02f) +
                 f2 * (9.6760370979e-03f + f * 1.3400432165e-03f));
    return p * (vf)((__builtin_convertvector(k, vi) + 127) << 23);
}

/* Vectors of doubles as wide as a vf (MMX_VW / 2 lanes), for the sums that need double; a
 * vf converts to two of them (its low and high halves). */
#define MMX_VDW (MMX_VW / 2)
typedef double vd __attribute__((vector_size(MMX_VW * 4)));
typedef int64_t vl __attribute__((vector_size(MMX_VW * 4)));
typedef float vfh __attribute__((vector_size(MMX_VW * 2))); /* half a vf */

/* In registers where the ISA can (GCC compiles the memcpy of the high half to a spill and a
 * reload). */
#if MMX_VW == 16 && defined(__AVX512F__)
static inline vd vd_lo(vf v) { return (vd)_mm512_cvtps_pd(_mm512_castps512_ps256((__m512)v)); }
static inline vd vd_hi(vf v) {
    __m256 h = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd((__m512)v), 1));
    return (vd)_mm512_cvtps_pd(h);
}
#elif MMX_VW == 8 && defined(__AVX__)
static inline vd vd_lo(vf v) { return (vd)_mm256_cvtps_pd(_mm256_castps256_ps128((__m256)v)); }
static inline vd vd_hi(vf v) { return (vd)_mm256_cvtps_pd(_mm256_extractf128_ps((__m256)v, 1)); }
#else
static inline vd vd_lo(vf v) {
    vfh h;
    memcpy(&h, &v, sizeof h);
    return __builtin_convertvector(h, vd);
}
static inline vd vd_hi(vf v) {
    vfh h;
    memcpy(&h, (const char *)&v + sizeof h, sizeof h);
    return __builtin_convertvector(h, vd);
}
#endif
/* Joined in registers where the ISA can (through memory, two half stores and a whole load
 * stall on store forwarding: ~9% of a short-row SparseMax forward). */
#if MMX_VW == 16 && defined(__AVX512F__)
static inline vf vf_of(vd lo, vd hi) {
    __m256 a = _mm512_cvtpd_ps((__m512d)lo), b = _mm512_cvtpd_ps((__m512d)hi);
    return (vf)_mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(a)),
                                                   _mm256_castps_pd(b), 1));
}
#elif MMX_VW == 8 && defined(__AVX__)
static inline vf vf_of(vd lo, vd hi) {
    __m128 a = _mm256_cvtpd_ps((__m256d)lo), b = _mm256_cvtpd_ps((__m256d)hi);
    return (vf)_mm256_insertf128_ps(_mm256_castps128_ps256(a), b, 1);
}
#else
static inline vf vf_of(vd lo, vd hi) {
    vfh a = __builtin_convertvector(lo, vfh), b = __builtin_convertvector(hi, vfh);
    vf v;
    memcpy(&v, &a, sizeof a);
    memcpy((char *)&v + sizeof a, &b, sizeof b);
    return v;
}
#endif
/* A broadcast (GCC turns the portable lane loop into one masked broadcast per lane). */
#if MMX_VW == 16 && defined(__AVX512F__)
static inline vd vdset(double x) { return (vd)_mm512_set1_pd(x); }
#elif MMX_VW == 8 && defined(__AVX__)
static inline vd vdset(double x) { return (vd)_mm256_set1_pd(x); }
#else
static inline vd vdset(double x) {
    vd v;
    for (int i = 0; i < MMX_VDW; i++) v[i] = x;
    return v;
}
#endif
static inline vd vdsel(vl m, vd a, vd b) { return (vd)((m & (vl)a) | (~m & (vl)b)); }
/* Lane-wise minimum and maximum (no NaN lanes): one instruction where the ISA has it,
 * where GCC's select form is a chain of three (an xor blend). */
#if MMX_VW == 16 && defined(__AVX512F__)
static inline vd vdmin(vd a, vd b) { return (vd)_mm512_min_pd((__m512d)a, (__m512d)b); }
static inline vd vdmax(vd a, vd b) { return (vd)_mm512_max_pd((__m512d)a, (__m512d)b); }
#elif MMX_VW == 8 && defined(__AVX__)
static inline vd vdmin(vd a, vd b) { return (vd)_mm256_min_pd((__m256d)a, (__m256d)b); }
static inline vd vdmax(vd a, vd b) { return (vd)_mm256_max_pd((__m256d)a, (__m256d)b); }
#else
static inline vd vdmin(vd a, vd b) { return vdsel(a < b, a, b); }
static inline vd vdmax(vd a, vd b) { return vdsel(a < b, b, a); }
#endif

/* Lane-wise square root (correctly rounded) and absolute value, in double. */
#if MMX_VW == 16 && defined(__AVX512F__)
static inline vd vdsqrt(vd x) { return (vd)_mm512_sqrt_pd((__m512d)x); }
#elif MMX_VW == 8 && defined(__AVX__)
static inline vd vdsqrt(vd x) { return (vd)_mm256_sqrt_pd((__m256d)x); }
#else
static inline vd vdsqrt(vd x) {
    for (int l = 0; l < MMX_VDW; l++) x[l] = sqrt(x[l]);
    return x;
}
#endif
static inline vd vdabs(vd x) { return vdsel(x < vdset(0.0), -x, x); }

/* vmask for a double comparison (MMX_VDW lanes). */
#if MMX_VW == 16 && defined(__AVX512F__) && defined(__AVX512DQ__)
static inline unsigned vdmask(vl m) { return (unsigned)_mm512_movepi64_mask((__m512i)m); }
#elif MMX_VW == 8 && defined(__AVX__)
static inline unsigned vdmask(vl m) { return (unsigned)_mm256_movemask_pd((__m256d)m); }
#else
static inline unsigned vdmask(vl m) {
    unsigned r = 0;
    for (int i = 0; i < MMX_VDW; i++) r |= (unsigned)(m[i] != 0) << i;
    return r;
}
#endif
#if MMX_VW == 16 && defined(__AVX512F__)
static inline double vdhsum(vd v) { return _mm512_reduce_add_pd((__m512d)v); }
#elif MMX_VW == 8 && defined(__AVX__)
static inline double vdhsum(vd v) {
    __m128d t = _mm_add_pd(_mm256_castpd256_pd128((__m256d)v),
                           _mm256_extractf128_pd((__m256d)v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(t, _mm_unpackhi_pd(t, t)));
}
#else
static inline double vdhsum(vd v) {
    double s = 0.0;
    for (int i = 0; i < MMX_VDW; i++) s += v[i];
    return s;
}
#endif
static inline double vdhmin(vd v) {
    double m = v[0];
    for (int i = 1; i < MMX_VDW; i++) m = v[i] < m ? v[i] : m;
    return m;
}

/* 1/x in float for x > 0 normal: vrcp_est the hardware's estimate alone (relative error
 * below 2^-14 on AVX-512, 1.5 * 2^-12 on SSE / AVX; exact elsewhere: a division), vrcp that
 * estimate and one Newton step (~1 ulp). */
#if MMX_VW == 16 && defined(__AVX512F__)
static inline vf vrcp_est(vf x) { return (vf)_mm512_rcp14_ps((__m512)x); }
#elif MMX_VW == 8 && defined(__AVX__)
static inline vf vrcp_est(vf x) { return (vf)_mm256_rcp_ps((__m256)x); }
#elif MMX_VW == 4 && defined(__SSE2__)
static inline vf vrcp_est(vf x) { return (vf)_mm_rcp_ps((__m128)x); }
#else
static inline vf vrcp_est(vf x) { return 1.0f / x; }
#endif
static inline vf vrcp(vf x) {
    vf r = vrcp_est(x);
    return r + r * (1.0f - x * r);
}

/* 1/x for x > 0 normal, to ~1 ulp. AVX-512: a 14-bit estimate refined by two Newton steps
 * (error squared by each), 5 operations that pipeline, where a zmm division costs ~19 cycles
 * of throughput on Zen 5 (measured); elsewhere a division. */
#if MMX_VW == 16 && defined(__AVX512F__)
static inline vd vdrcp(vd x) {
    vd r = (vd)_mm512_rcp14_pd((__m512d)x);
    r = r + r * (1.0 - x * r);
    return r + r * (1.0 - x * r);
}
#else
static inline vd vdrcp(vd x) { return 1.0 / x; }
#endif

/*
 * exp(x) in double. n = round(x / ln2) (by the 1.5 * 2^52 trick: no float->int conversion,
 * which AVX2 lacks for 64-bit lanes), r = x - n ln2 in two parts (fdlibm's split, exact
 * product), |r| <= 0.347, e^r by its Taylor polynomial to degree 13 (truncation < 2e-17),
 * times 2^n through the exponent bits; the polynomial by Estrin's scheme (a dependency
 * chain of ~6 operations instead of 13: rows with few candidates wait on latency). Error: at
 * most 1.3 ulp (measured against expl on 4M vectors uniform on [-708, 708] and near 0, each
 * MMX_VW). x < -708 gives 0 (no denormals), x > 709 gives +inf, NaN is not handled.
 */
static inline vd vexpd(vd x) {
    const vd magic = vdset(6755399441055744.0); /* 1.5 * 2^52 */
    vl under = x < vdset(-708.0), over = x > vdset(709.0);
    vd xc = vdsel(under, vdset(-708.0), vdsel(over, vdset(709.0), x));
    vd t = xc * 1.4426950408889634 + magic;
    vd n = t - magic;
    vd r = xc - n * 6.93147180369123816490e-01;
    r = r - n * 1.90821492927058770002e-10;
    /* e^r = 1 + r + r^2 Q(r), Q(r) = sum_{k=0..11} r^k / (k+2)!, by Estrin's scheme: the
     * same terms as Horner's rule with a dependency chain of ~6 operations instead of 13 (a
     * row with few candidates waits on this latency, not on throughput) */
    vd r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
    vd q01 = 1.0 / 2.0 + r * (1.0 / 6.0), q23 = 1.0 / 24.0 + r * (1.0 / 120.0);
    vd q45 = 1.0 / 720.0 + r * (1.0 / 5040.0), q67 = 1.0 / 40320.0 + r * (1.0 / 362880.0);
    vd q89 = 1.0 / 3628800.0 + r * (1.0 / 39916800.0);
    vd q1011 = 1.0 / 479001600.0 + r * (1.0 / 6227020800.0);
    vd q = (q01 + r2 * q23) + r4 * (q45 + r2 * q67) + r8 * (q89 + r2 * q1011);
    vd p = (r + 1.0) + r2 * q;
    vl e = ((vl)t - (vl)magic + 1023) << 52;
    vd y = p * (vd)e;
    y = vdsel(under, vdset(0.0), y);
    return vdsel(over, vdset(INFINITY), y);
}

/*
 * log(x) in double for x > 0 normal (denormals, 0, inf, NaN are not handled). x = 2^e m,
 * m in [sqrt(1/2), sqrt(2)), f = m - 1, s = f / (2 + f), log(1 + f) = 2 atanh(s) written as
 * f - (f^2/2 - s (f^2/2 + R)) (fdlibm's form), R = sum_{k=1..10} 2 w^k / (2k + 1), w = s^2
 * (|s| <= 0.1716: the next term is below 2e-19), by Estrin's scheme; e ln2 added in two
 * parts. Error: at most 0.76 ulp (measured against logl on 4M vectors log-uniform on
 * [1e-300, 1e300] and near 1, each MMX_VW).
 */
static inline vd vlogd(vd x) {
    vl bits = (vl)x;
    vl eb = bits >> 52; /* biased exponent (x > 0) */
    vd m = (vd)((bits & 0x000fffffffffffffLL) | 0x3ff0000000000000LL); /* [1, 2) */
    vl big = m > vdset(1.4142135623730951);
    m = vdsel(big, m * 0.5, m);
    /* exponent as a double by the 2^52 trick (AVX2 has no int64 -> double conversion) */
    vd e = (vd)(eb | 0x4330000000000000LL) - (4503599627370496.0 + 1023.0);
    e = e + vdsel(big, vdset(1.0), vdset(0.0));
    vd f = m - 1.0, s = f * vdrcp(f + 2.0), w = s * s, hfsq = 0.5 * f * f;
    /* R = w P(w), P of degree 9 by Estrin's scheme (see vexpd) */
    vd w2 = w * w, w4 = w2 * w2, w8 = w4 * w4;
    vd p01 = 2.0 / 3.0 + w * (2.0 / 5.0), p23 = 2.0 / 7.0 + w * (2.0 / 9.0);
    vd p45 = 2.0 / 11.0 + w * (2.0 / 13.0), p67 = 2.0 / 15.0 + w * (2.0 / 17.0);
    vd p89 = 2.0 / 19.0 + w * (2.0 / 21.0);
    vd R = w * ((p01 + w2 * p23) + w4 * (p45 + w2 * p67) + w8 * p89);
    vd lo = s * (hfsq + R) + e * 1.90821492927058770002e-10;
    return e * 6.93147180369123816490e-01 - ((hfsq - lo) - f);
}

/* AVX2 (also compiled into the AVX-512 build, which has it): an 8 x 8 block of floats
 * transposed in registers (r[i] = row i in, column i out): unpack, shuffle, lane permute,
 * 24 shuffles. */
#if (MMX_VW == 8 || MMX_VW == 16) && defined(__AVX2__)
#define MMX_HAVE_VTR8 1
static inline __attribute__((always_inline)) void vtr8(__m256 r[8]) {
    __m256 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
}
#endif

#endif
