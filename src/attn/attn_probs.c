/*
 * Attention probabilities for analysis (mmx_attn_probs): the score matrix of the chosen heads
 * materialised (sgemm), masked, and normalised by the public row entry point.
 */
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "attn/attn.h"
#include "core/internal.h"

mmx_status mmx_attn_probs(const mmx_attn *a, const mmx_norm *norm, int64_t head, float *p,
                          float *scores, const float *q, const float *k) {
    const char *fn = "mmx_attn_probs";
    mmx_status st;
    if ((st = mmx_attn_validate(fn, a)) || (st = mmx_norm_validate(fn, norm))) return st;
    if (head < -1 || head >= a->heads)
        return mmx_fail(MMX_ERR_PARAM, fn, "argument 'head' = %lld, expected -1 (all) or 0 <= head < %lld",
                        (long long)head, (long long)a->heads);
    if (!p) return mmx_fail(MMX_ERR_NULL, fn, "argument 'p' is NULL");
    if (!q) return mmx_fail(MMX_ERR_NULL, fn, "argument 'q' is NULL");
    if (!k) return mmx_fail(MMX_ERR_NULL, fn, "argument 'k' is NULL");
    const int64_t D = a->dim, Tq = a->tq, Tk = a->tk, nh = head < 0 ? a->heads : 1;
    const attn_lay lq = attn_layout(a->q_stride, a, Tq), lk = attn_layout(a->k_stride, a, Tk);
    for (int64_t i = 0; i < a->batch * a->heads * Tq * D; i++) {
        int64_t row = i / D, bh = row / Tq;
        float x = q[attn_off(lq, bh / a->heads, bh % a->heads, row % Tq) + i % D];
        if (!isfinite(x)) return mmx_fail(MMX_ERR_VALUE, fn, "argument 'q' holds %g at flat index %lld, expected finite values", (double)x, (long long)i);
    }
    for (int64_t i = 0; i < a->batch * a->heads * Tk * D; i++) {
        int64_t row = i / D, bh = row / Tk;
        float x = k[attn_off(lk, bh / a->heads, bh % a->heads, row % Tk) + i % D];
        if (!isfinite(x)) return mmx_fail(MMX_ERR_VALUE, fn, "argument 'k' holds %g at flat index %lld, expected finite values", (double)x, (long long)i);
    }
    for (int64_t b = 0; b < a->batch; b++)
        for (int64_t hi = 0; hi < nh; hi++) {
            int64_t h = head < 0 ? hi : head;
            float *P = p + (b * nh + hi) * Tq * Tk;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)Tq, (int)Tk, (int)D, (float)a->scale,
                        q + attn_off(lq, b, h, 0), (int)lq.t, k + attn_off(lk, b, h, 0), (int)lk.t, 0.0f, P, (int)Tk);
            for (int64_t i = 0; i < Tq; i++) {
                float *pr = P + i * Tk;
                int64_t nv = attn_visible(a, b, i);
                for (int64_t j = 0; j < nv; j++)
                    if (!isfinite(pr[j]))
                        return mmx_fail(MMX_ERR_VALUE, fn, "batch %lld, head %lld, query row %lld: scale * q.k overflows float32",
                                        (long long)b, (long long)h, (long long)i);
                for (int64_t j = nv; j < Tk; j++) pr[j] = -INFINITY;
            }
        }
    int64_t n = a->batch * nh * Tq * Tk;
    if (scores) memcpy(scores, p, (size_t)n * sizeof *p);
    st = mmx_forward_f32(norm, p, Tk, p, Tk, a->batch * nh * Tq, Tk);
    if (st) memset(p, 0, (size_t)n * sizeof *p);
    return st;
}
