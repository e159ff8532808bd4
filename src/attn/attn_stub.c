/* TEMPORARY: replaced by the real drivers in the next commits. */
#include "attn/attn.h"
#include "core/internal.h"
mmx_status mmx_attn_workspace_size(const mmx_attn *a, const mmx_norm *norm, int backward, size_t *bytes) {
    (void)a; (void)norm; (void)backward; *bytes = 0;
    return mmx_fail(MMX_ERR_PARAM, "mmx_attn_workspace_size", "not implemented yet");
}
mmx_status mmx_attn_forward(const mmx_attn *a, const mmx_norm *norm, float *out, float *stats,
                            const float *q, const float *k, const float *v, void *work, size_t work_bytes) {
    (void)a; (void)norm; (void)out; (void)stats; (void)q; (void)k; (void)v; (void)work; (void)work_bytes;
    return mmx_fail(MMX_ERR_PARAM, "mmx_attn_forward", "not implemented yet");
}
mmx_status mmx_attn_backward(const mmx_attn *a, const mmx_norm *norm, float *dq, float *dk,
                             float *dv, mmx_param_grads *pg, const float *dout, const float *out,
                             const float *stats, const float *q, const float *k, const float *v,
                             void *work, size_t work_bytes) {
    (void)a; (void)norm; (void)dq; (void)dk; (void)dv; (void)pg; (void)dout; (void)out; (void)stats;
    (void)q; (void)k; (void)v; (void)work; (void)work_bytes;
    return mmx_fail(MMX_ERR_PARAM, "mmx_attn_backward", "not implemented yet");
}
mmx_status mmx_attn_probs(const mmx_attn *a, const mmx_norm *norm, int64_t head, float *p,
                          float *scores, const float *q, const float *k) {
    (void)a; (void)norm; (void)head; (void)p; (void)scores; (void)q; (void)k;
    return mmx_fail(MMX_ERR_PARAM, "mmx_attn_probs", "not implemented yet");
}
