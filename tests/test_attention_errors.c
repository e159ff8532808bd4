/*
 * test_attention_errors.c - the fused multi-head attention (mmx_attn_*) on what goes wrong,
 * and its small entry points: every documented error of mmx_attn_forward, mmx_attn_backward,
 * mmx_attn_check and mmx_attn_workspace_size (status, message naming the argument, nothing
 * written), score overflow (scores beyond float32, MultiMax's sigma overflowing: an error,
 * zero outputs, no NaN, parameter gradients unchanged), mmx_attn_probs against the naive
 * double reference of attn_ref.h with the paper's metrics on it, mmx_attn_make. The sweep
 * against the reference is in test_attention.c.
 *
 * MMX_TEST_SEED=n shifts the seeds of the mmx_attn_probs data (other data, same checks).
 */
#include "harness.h"

#include "attn_ref.h" /* normalizers, the double reference, problems, comparisons */

/* ---------------------------------------------------------------------------------
 * 1. Errors
 * ------------------------------------------------------------------------------- */

/* The message names fn and one of the '|'-separated alternatives of arg. */
static int msg_has(const char *fn, const char *arg)
{
    const char *m = mmx_last_error();
    if (!m || !strstr(m, fn)) return 0;
    char alts[128];
    snprintf(alts, sizeof alts, "%s", arg);
    for (char *a = strtok(alts, "|"); a; a = strtok(NULL, "|"))
        if (strstr(m, a)) return 1;
    return 0;
}

static int is_canary(const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (x[i] != (float)T_CANARY) return 0;
    return 1;
}

#define EXPECT_ERR(call, want, fn, arg, untouched)                                            \
    do {                                                                                     \
        mmx_status got_ = (call);                                                            \
        t_check(got_ == (want), __FILE__, __LINE__, #call, "%s, expected %s (%s)",           \
                mmx_status_str(got_), mmx_status_str(want), mmx_last_error());               \
        t_check(msg_has((fn), (arg)), __FILE__, __LINE__, "message names function, argument", \
                "%s / %s not in '%s'", (fn), (arg), mmx_last_error());                        \
        t_check((untouched), __FILE__, __LINE__, "outputs untouched: " #untouched, "");      \
    } while (0)

typedef struct { /* outputs of the error tests, all canary */
    float *out, *stats, *dq, *dk, *dv;
    t_pgs g;
    int64_t nq, nk, nst;
} t_eouts;

static void eouts_reset(t_eouts *e)
{
    for (int64_t i = 0; i < e->nq; i++) e->out[i] = e->dq[i] = (float)T_CANARY;
    for (int64_t i = 0; i < e->nk; i++) e->dk[i] = e->dv[i] = (float)T_CANARY;
    for (int64_t i = 0; i < e->nst; i++) e->stats[i] = (float)T_CANARY;
    for (int i = 0; i < 2 * MMX_MULTIMAX_MAX_ORDER; i++) e->g.dr[i] = e->g.dt[i] = 0.5;
    e->g.da = 0.5;
}
static int fwd_untouched(const t_eouts *e) { return is_canary(e->out, e->nq) && is_canary(e->stats, e->nst); }
static int bwd_untouched(const t_eouts *e)
{
    int ok = is_canary(e->dq, e->nq) && is_canary(e->dk, e->nk) && is_canary(e->dv, e->nk);
    for (int i = 0; i < 2 * MMX_MULTIMAX_MAX_ORDER; i++) ok &= e->g.dr[i] == 0.5 && e->g.dt[i] == 0.5;
    return ok && e->g.da == 0.5;
}

static void test_errors_forward(t_prob *p, t_eouts *e, void *w, size_t wb)
{
    const char *fn = "mmx_attn_forward";
    mmx_norm sm = mmx_norm_softmax(1.0), mm = mmx_norm_multimax(2, k_r2, k_t2);
    T_CTX("mmx_attn_forward errors");
    size_t need = 0;
    CHECK_STATUS(mmx_attn_workspace_size(&p->a, &sm, 0, &need), MMX_OK);
    eouts_reset(e);
    EXPECT_ERR(mmx_attn_forward(&p->a, &sm, e->out, e->stats, NULL, p->k, p->v, w, wb), MMX_ERR_NULL, fn, "'q'", fwd_untouched(e));
    EXPECT_ERR(mmx_attn_forward(&p->a, &sm, e->out, e->stats, p->q, NULL, p->v, w, wb), MMX_ERR_NULL, fn, "'k'", fwd_untouched(e));
    EXPECT_ERR(mmx_attn_forward(&p->a, &sm, e->out, e->stats, p->q, p->k, NULL, w, wb), MMX_ERR_NULL, fn, "'v'", fwd_untouched(e));
    EXPECT_ERR(mmx_attn_forward(&p->a, &sm, NULL, e->stats, p->q, p->k, p->v, w, wb), MMX_ERR_NULL, fn, "'out'", is_canary(e->stats, e->nst));
    EXPECT_ERR(mmx_attn_forward(&p->a, &sm, e->out, e->stats, p->q, p->k, p->v, NULL, wb), MMX_ERR_NULL, fn, "'work", fwd_untouched(e));
    EXPECT_ERR(mmx_attn_forward(NULL, &sm, e->out, e->stats, p->q, p->k, p->v, w, wb), MMX_ERR_NULL, fn, "attn", fwd_untouched(e));
    EXPECT_ERR(mmx_attn_forward(&p->a, NULL, e->out, e->stats, p->q, p->k, p->v, w, wb), MMX_ERR_NULL, fn, "'norm'", fwd_untouched(e));
    EXPECT_ERR(mmx_attn_forward(&p->a, &sm, e->out, e->stats, p->q, p->k, p->v, w, need - 1), MMX_ERR_SIZE, fn, "work", fwd_untouched(e));
    mmx_attn bad = p->a;
    static const double bad_scale[3] = {0.0, -1.0, NAN};
    for (int i = 0; i < 3; i++) {
        bad = p->a, bad.scale = bad_scale[i];
        EXPECT_ERR(mmx_attn_forward(&bad, &sm, e->out, e->stats, p->q, p->k, p->v, w, wb), MMX_ERR_PARAM, fn, "scale", fwd_untouched(e));
    }
    bad = p->a, bad.batch = 0;
    EXPECT_ERR(mmx_attn_forward(&bad, &sm, e->out, e->stats, p->q, p->k, p->v, w, wb), MMX_ERR_SIZE, fn, "batch", fwd_untouched(e));
    int32_t kl_neg[2] = {3, -1}, kl_big[2] = {(int32_t)p->a.tk + 1, 2};
    bad = p->a, bad.key_len = kl_neg;
    EXPECT_ERR(mmx_attn_forward(&bad, &sm, e->out, e->stats, p->q, p->k, p->v, w, wb), MMX_ERR_SIZE, fn, "key_len", fwd_untouched(e));
    bad = p->a, bad.key_len = kl_big;
    EXPECT_ERR(mmx_attn_forward(&bad, &sm, e->out, e->stats, p->q, p->k, p->v, w, wb), MMX_ERR_SIZE, fn, "key_len", fwd_untouched(e));
    mmx_norm n_a1 = mmx_norm_entmax(1.0), n_t0 = mmx_norm_softmax(0.0);
    EXPECT_ERR(mmx_attn_forward(&p->a, &n_a1, e->out, e->stats, p->q, p->k, p->v, w, wb), MMX_ERR_PARAM, fn, "alpha", fwd_untouched(e));
    EXPECT_ERR(mmx_attn_forward(&p->a, &n_t0, e->out, e->stats, p->q, p->k, p->v, w, wb), MMX_ERR_PARAM, fn, "temperature", fwd_untouched(e));
    /* non-finite values, one at a time, anywhere (here: late in the tensor) */
    const int64_t iq = p->nq - 3, ik = p->nk / 2;
    float q0 = p->q[iq], k0 = p->k[ik], v0 = p->v[ik];
    p->q[iq] = NAN;
    EXPECT_ERR(mmx_attn_forward(&p->a, &mm, e->out, e->stats, p->q, p->k, p->v, w, wb), MMX_ERR_VALUE, fn, "'q'|q[|q:|q ", fwd_untouched(e));
    p->q[iq] = q0, p->v[ik] = INFINITY;
    EXPECT_ERR(mmx_attn_forward(&p->a, &sm, e->out, e->stats, p->q, p->k, p->v, w, wb), MMX_ERR_VALUE, fn, "'v'|v[|v:|v ", fwd_untouched(e));
    p->v[ik] = v0, p->k[ik] = -INFINITY;
    EXPECT_ERR(mmx_attn_forward(&p->a, &sm, e->out, e->stats, p->q, p->k, p->v, w, wb), MMX_ERR_VALUE, fn, "'k'|k[|k:|k ", fwd_untouched(e));
    p->k[ik] = k0;
    CHECK(inputs_intact(p));
}

static void test_errors_backward(t_prob *p, t_eouts *e, const float *out, const float *stats, void *w,
                                 size_t wb)
{
    const char *fn = "mmx_attn_backward";
    mmx_norm mm = mmx_norm_multimax(2, k_r2, k_t2);
    mmx_param_grads pg = {e->g.dr, e->g.dt, &e->g.da};
    T_CTX("mmx_attn_backward errors");
    size_t need = 0;
    CHECK_STATUS(mmx_attn_workspace_size(&p->a, &mm, 1, &need), MMX_OK);
    eouts_reset(e);
#define BWD(a_, nm_, dq_, dout_, stats_, q_, w_, wb_) \
    mmx_attn_backward((a_), (nm_), (dq_), e->dk, e->dv, &pg, (dout_), out, (stats_), (q_), p->k, p->v, (w_), (wb_))
    EXPECT_ERR(BWD(&p->a, &mm, NULL, p->dout, stats, p->q, w, wb), MMX_ERR_NULL, fn, "'dq'", 1);
    EXPECT_ERR(BWD(&p->a, &mm, e->dq, NULL, stats, p->q, w, wb), MMX_ERR_NULL, fn, "'dout'", bwd_untouched(e));
    EXPECT_ERR(BWD(&p->a, &mm, e->dq, p->dout, NULL, p->q, w, wb), MMX_ERR_NULL, fn, "'stats'", bwd_untouched(e));
    EXPECT_ERR(BWD(&p->a, &mm, e->dq, p->dout, stats, NULL, w, wb), MMX_ERR_NULL, fn, "'q'", bwd_untouched(e));
    EXPECT_ERR(BWD(&p->a, &mm, e->dq, p->dout, stats, p->q, NULL, wb), MMX_ERR_NULL, fn, "'work", bwd_untouched(e));
    EXPECT_ERR(BWD(&p->a, &mm, e->dq, p->dout, stats, p->q, w, need - 1), MMX_ERR_SIZE, fn, "work", bwd_untouched(e));
    mmx_attn bad = p->a;
    bad.scale = NAN;
    EXPECT_ERR(BWD(&bad, &mm, e->dq, p->dout, stats, p->q, w, wb), MMX_ERR_PARAM, fn, "scale", bwd_untouched(e));
    bad = p->a, bad.batch = 0;
    EXPECT_ERR(BWD(&bad, &mm, e->dq, p->dout, stats, p->q, w, wb), MMX_ERR_SIZE, fn, "batch", bwd_untouched(e));
    double bad_ts[4] = {0.4, NAN, 0.1, -0.05};
    mmx_norm nbad = mmx_norm_multimax(2, k_r2, bad_ts);
    EXPECT_ERR(BWD(&p->a, &nbad, e->dq, p->dout, stats, p->q, w, wb), MMX_ERR_PARAM, fn, "ts", bwd_untouched(e));
    const int64_t i = p->nq / 3;
    float d0 = p->dout[i];
    p->dout[i] = NAN;
    EXPECT_ERR(BWD(&p->a, &mm, e->dq, p->dout, stats, p->q, w, wb), MMX_ERR_VALUE, fn, "dout", bwd_untouched(e));
    p->dout[i] = d0;
    float q0 = p->q[i];
    p->q[i] = INFINITY;
    EXPECT_ERR(BWD(&p->a, &mm, e->dq, p->dout, stats, p->q, w, wb), MMX_ERR_VALUE, fn, "'q'|q[|q:|q ", bwd_untouched(e));
    p->q[i] = q0;
#undef BWD
    CHECK(inputs_intact(p));
}

static void test_errors(void)
{
    t_prob p;
    prob_init(&p, 2, 2, 5, 6, 8, 1, NULL);
    t_rng rng = t_rng_seed(4242);
    prob_fill(&p, &rng, 1.0);
    t_eouts e;
    e.nq = p.nq, e.nk = p.nk, e.nst = p.nst;
    e.out = t_malloc((size_t)p.nq * sizeof(float)), e.stats = t_malloc((size_t)p.nst * sizeof(float));
    e.dq = t_malloc((size_t)p.nq * sizeof(float));
    e.dk = t_malloc((size_t)p.nk * sizeof(float)), e.dv = t_malloc((size_t)p.nk * sizeof(float));
    /* workspace big enough for every normalizer, forward and backward */
    size_t wb = 0;
    for (int n = 0; n < NNORM; n++)
        for (int bw = 0; bw <= 1; bw++) {
            size_t b = 0;
            CHECK_STATUS(mmx_attn_workspace_size(&p.a, &g_norms[n].nm, bw, &b), MMX_OK);
            if (b > wb) wb = b;
        }
    CHECKF(wb > 0, "zero workspace: the NULL / too small workspace checks test nothing");
    void *w = t_malloc(wb);
    test_errors_forward(&p, &e, w, wb);
    /* a valid forward for the backward tests */
    mmx_norm mm = mmx_norm_multimax(2, k_r2, k_t2);
    float *out = t_malloc((size_t)p.nq * sizeof(float)), *stats = t_malloc((size_t)p.nst * sizeof(float));
    CHECK_STATUS(mmx_attn_forward(&p.a, &mm, out, stats, p.q, p.k, p.v, w, wb), MMX_OK);
    test_errors_backward(&p, &e, out, stats, w, wb);
    /* mmx_attn_check, mmx_attn_workspace_size */
    T_CTX("mmx_attn_check / workspace_size errors");
    CHECK_STATUS(mmx_attn_check(&p.a), MMX_OK);
    mmx_attn bad = p.a;
    bad.tq = 0;
    EXPECT_ERR(mmx_attn_check(&bad), MMX_ERR_SIZE, "mmx_attn_check", "tq", 1);
    bad = p.a, bad.dim = -1;
    EXPECT_ERR(mmx_attn_check(&bad), MMX_ERR_SIZE, "mmx_attn_check", "dim", 1);
    bad = p.a, bad.scale = INFINITY;
    EXPECT_ERR(mmx_attn_check(&bad), MMX_ERR_PARAM, "mmx_attn_check", "scale", 1);
    size_t bytes = 12345;
    mmx_norm n_a1 = mmx_norm_entmax(1.0);
    EXPECT_ERR(mmx_attn_workspace_size(&p.a, NULL, 0, &bytes), MMX_ERR_NULL, "mmx_attn_workspace_size", "norm", 1);
    EXPECT_ERR(mmx_attn_workspace_size(&p.a, &n_a1, 0, &bytes), MMX_ERR_PARAM, "mmx_attn_workspace_size", "alpha", 1);
    EXPECT_ERR(mmx_attn_workspace_size(&p.a, &mm, 0, NULL), MMX_ERR_NULL, "mmx_attn_workspace_size", "bytes", 1);
    free(w), free(out), free(stats), free(e.out), free(e.stats), free(e.dq), free(e.dk), free(e.dv);
    prob_free(&p);
}

/* Scores beyond float32 (q = k = 1e20: q.k = 1e40 * D), and MultiMax's sigma overflowing
 * float32 on a finite score: MMX_ERR_VALUE, out (dq, dk, dv) zero, no NaN, pg unchanged. */
static void overflow_case(const char *what, const mmx_norm *nm, float qv, float kv, double scale)
{
    T_CTX("overflow: %s", what);
    t_prob p;
    prob_init(&p, 1, 2, 5, 6, 4, 0, NULL);
    p.a.scale = scale;
    t_rng rng = t_rng_seed(77);
    prob_fill(&p, &rng, 1.0);
    for (int64_t i = 0; i < p.nq; i++) p.q[i] = qv, p.qd[i] = qv;
    for (int64_t i = 0; i < p.nk; i++) p.k[i] = kv, p.kd[i] = kv;
    t_eouts e;
    e.nq = p.nq, e.nk = p.nk, e.nst = p.nst;
    e.out = t_malloc((size_t)p.nq * sizeof(float)), e.stats = t_malloc((size_t)p.nst * sizeof(float));
    e.dq = t_malloc((size_t)p.nq * sizeof(float));
    e.dk = t_malloc((size_t)p.nk * sizeof(float)), e.dv = t_malloc((size_t)p.nk * sizeof(float));
    eouts_reset(&e);
    for (int64_t i = 0; i < p.nst; i++) e.stats[i] = 0.0f;
    mmx_status st = lib_forward(&p, nm, e.out, e.stats, 0);
    CHECKF(st == MMX_ERR_VALUE, "forward: %s (%s), expected MMX_ERR_VALUE", mmx_status_str(st), mmx_last_error());
    CHECKF(first_nonzero(e.out, p.nq) < 0, "out not set to zero after an overflow");
    for (int64_t i = 0; i < p.nq; i++) e.out[i] = 0.0f;
    for (int64_t i = 0; i < p.nst; i++)
        if (!isfinite(e.stats[i])) e.stats[i] = 0.0f; /* whatever the failed forward left */
    mmx_param_grads pg = {e.g.dr, e.g.dt, &e.g.da};
    /* The backward on the same overflowing q, k: with the stats the failed forward left, and
     * with plausible ones (shift 0, sum 1, as a caller ignoring the forward's status or
     * reusing another call's stats could pass): the header's rule applies all the same. */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            for (int64_t i = 0; i < p.nst; i++) e.stats[i] = i % MMX_ATTN_STATS == 1 ? 1.0f : 0.0f;
        for (int64_t i = 0; i < p.nq; i++) e.dq[i] = (float)T_CANARY;
        st = lib_backward(&p, nm, e.dq, e.dk, e.dv, &pg, e.out, e.stats, 0);
        CHECKF(st == MMX_ERR_VALUE, "backward (%s stats): %s (%s), expected MMX_ERR_VALUE",
               pass ? "plausible" : "the failed forward's", mmx_status_str(st), mmx_last_error());
        CHECKF(first_nonzero(e.dq, p.nq) < 0 && first_nonzero(e.dk, p.nk) < 0 && first_nonzero(e.dv, p.nk) < 0,
               "dq, dk, dv not all zero after an overflow (%s stats; finite: dq %d dk %d dv %d)",
               pass ? "plausible" : "the failed forward's", all_finite(e.dq, p.nq), all_finite(e.dk, p.nk),
               all_finite(e.dv, p.nk));
        int pg_same = e.g.da == 0.5;
        for (int i = 0; i < 2 * MMX_MULTIMAX_MAX_ORDER; i++) pg_same &= e.g.dr[i] == 0.5 && e.g.dt[i] == 0.5;
        CHECKF(pg_same, "parameter gradients changed by a failed backward (%s stats)",
               pass ? "plausible" : "the failed forward's");
    }
    free(e.out), free(e.stats), free(e.dq), free(e.dk), free(e.dv);
    prob_free(&p);
}

static void test_overflow(void)
{
    static const double r0[4] = {0.0, 0.0, 0.0, 0.0}, tsq[4] = {0.0, 0.0, 0.0, 1.0};
    for (int n = 0; n < NNORM; n++) overflow_case(g_norms[n].name, &g_norms[n].nm, 1e20f, 1e20f, 0.5);
    /* score 0.5 * 4 * 1e20 = 2e20 is a float; sigma = 2e20 + (2e20)^2 is not */
    mmx_norm mm = mmx_norm_multimax(2, r0, tsq);
    overflow_case("multimax sigma of 2e20 (td_2 = 1)", &mm, 1e10f, 1e10f, 0.5);
}

/* ---------------------------------------------------------------------------------
 * 2. mmx_attn_probs (+ the paper's metrics on it), mmx_attn_make
 * ------------------------------------------------------------------------------- */

static void probs_head(const t_prob *p, const t_ref *r, const mmx_norm *nm, int64_t head)
{
    const mmx_attn *a = &p->a;
    const int64_t nh = head < 0 ? a->heads : 1, n = a->batch * nh * a->tq * a->tk;
    t_buf32 pb = t_alloc32(1, n, n, (float)T_CANARY), sb = t_alloc32(1, n, n, (float)T_CANARY);
    CHECK_STATUS(mmx_attn_probs(a, nm, head, pb.p, sb.p, p->q, p->k), MMX_OK);
    CHECK_GUARD32(pb);
    CHECK_GUARD32(sb);
    double *pr = t_malloc((size_t)n * sizeof(double)), *sr = t_malloc((size_t)n * sizeof(double));
    int mask_ok = 1;
    for (int64_t b = 0; b < a->batch; b++)
        for (int64_t hh = 0; hh < nh; hh++) {
            const int64_t h = head < 0 ? hh : head, src = (b * a->heads + h) * a->tq * a->tk;
            const int64_t dst = (b * nh + hh) * a->tq * a->tk;
            memcpy(pr + dst, r->P + src, (size_t)(a->tq * a->tk) * sizeof(double));
            memcpy(sr + dst, r->S + src, (size_t)(a->tq * a->tk) * sizeof(double));
        }
    for (int64_t i = 0; i < n; i++) {
        if (sr[i] == -INFINITY) {
            mask_ok &= sb.p[i] == -INFINITY && pb.p[i] == 0.0f;
            sr[i] = 0.0; /* compared above */
            sb.p[i] = 0.0f;
        }
    }
    CHECKF(mask_ok, "masked entries: scores not -inf or p not exactly 0 (head %lld)", (long long)head);
    CMP32("p ~ reference", pb.p, pr, n, 1e-4, 2e-5);
    CMP32("scores ~ reference", sb.p, sr, n, 1e-5, 1e-5);
    /* again, with the -inf kept, for the metrics */
    CHECK_STATUS(mmx_attn_probs(a, nm, head, pb.p, sb.p, p->q, p->k), MMX_OK);
    const int64_t rows = a->batch * nh * a->tq;
    double *m = t_malloc((size_t)rows * sizeof(double)), *s = t_malloc((size_t)rows * sizeof(double));
    CHECK_STATUS(mmx_metrics_f32(m, s, NULL, NULL, pb.p, a->tk, sb.p, a->tk, rows, a->tk, 0.0), MMX_OK);
    int ok = 1;
    for (int64_t i = 0; i < rows; i++) {
        ok &= (m[i] >= 0.0 && m[i] <= 1.0) || m[i] == MMX_METRIC_UNDEFINED;
        ok &= (s[i] >= 0.0 && s[i] <= 1.0) || s[i] == MMX_METRIC_UNDEFINED;
    }
    CHECKF(ok, "metrics outside [0, 1] and not MMX_METRIC_UNDEFINED");
    /* p alone (scores NULL) */
    t_buf32 p2 = t_alloc32(1, n, n, (float)T_CANARY);
    CHECK_STATUS(mmx_attn_probs(a, nm, head, p2.p, NULL, p->q, p->k), MMX_OK);
    CHECK(same_bits(p2.p, pb.p, n));
    free(p2.p), free(m), free(s), free(pr), free(sr), free(pb.p), free(sb.p);
}

static void test_probs(void)
{
    static const int32_t kl[2] = {7, 4};
    for (int n = 0; n < NNORM; n++) {
        T_CTX("mmx_attn_probs %s (B=2 H=3 Tq=9 Tk=7 D=8 causal key_len {7,4})", g_norms[n].name);
        t_prob p;
        t_ref r;
        prob_init(&p, 2, 3, 9, 7, 8, 1, kl);
        ref_alloc(&r, &p);
        make_data(&p, &r, &g_norms[n].nm, 2.0, 3000 + (uint64_t)n);
        probs_head(&p, &r, &g_norms[n].nm, -1);
        probs_head(&p, &r, &g_norms[n].nm, 1);
        float pp[2 * 9 * 7];
        for (int i = 0; i < 2 * 9 * 7; i++) pp[i] = (float)T_CANARY;
        EXPECT_ERR(mmx_attn_probs(&p.a, &g_norms[n].nm, 3, pp, NULL, p.q, p.k), MMX_ERR_PARAM, "mmx_attn_probs",
                   "head", is_canary(pp, 2 * 9 * 7));
        EXPECT_ERR(mmx_attn_probs(&p.a, &g_norms[n].nm, -2, pp, NULL, p.q, p.k), MMX_ERR_PARAM, "mmx_attn_probs",
                   "head", is_canary(pp, 2 * 9 * 7));
        ref_free(&r);
        prob_free(&p);
    }
}

static void test_make(void)
{
    T_CTX("mmx_attn_make");
    static const int64_t dims[4] = {1, 16, 64, 80};
    for (int i = 0; i < 4; i++) {
        mmx_attn a = mmx_attn_make(2, 3, 5, 7, dims[i]);
        CHECK(a.batch == 2 && a.heads == 3 && a.tq == 5 && a.tk == 7 && a.dim == dims[i]);
        CHECK_NEAR(a.scale, 1.0 / sqrt((double)dims[i]), 1e-15);
        CHECK(a.causal == 0 && a.key_len == NULL);
        CHECK_STATUS(mmx_attn_check(&a), MMX_OK);
    }
}

int main(void)
{
    attn_test_init();
    test_make();
    test_errors();
    test_overflow();
    test_probs();
    return t_summary();
}
