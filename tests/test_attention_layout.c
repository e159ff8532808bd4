/*
 * The attention's layouts (mmx_attn q_stride, k_stride, v_stride, o_stride): every normalizer
 * on tensors handed over as (B, T, H, D) with padding between tokens and batch items gives
 * results bitwise equal to the contiguous call on the same values (the arithmetic is the
 * same, only the addressing differs), writes nothing into the padding, leaves the inputs
 * unchanged; mmx_attn_probs reads the layouts too; bad strides and a NaN in a strided input
 * are reported with their names and logical index.
 */
#include "harness.h"
#include "attn_ref.h" /* normalizers, problems, library calls with guarded workspaces */

/* A (B, H, T, D) tensor stored as (B, T, H, D) with PAD_T floats after each token's H*D
 * and PAD_B after each batch item; everything else canary. */
#define PAD_T 3
#define PAD_B 5

typedef struct {
    float *p;
    int64_t n, st[3];
} t_strided;

static t_strided strided(const mmx_attn *a, int64_t t) {
    t_strided s;
    int64_t H = a->heads, D = a->dim, tok = H * D + PAD_T, bat = t * tok + PAD_B;
    s.st[0] = bat, s.st[1] = D, s.st[2] = tok;
    s.n = a->batch * bat;
    s.p = t_malloc((size_t)s.n * sizeof(float));
    for (int64_t i = 0; i < s.n; i++) s.p[i] = (float)T_CANARY;
    return s;
}

static int64_t at(const t_strided *s, const mmx_attn *a, int64_t t, int64_t i) {
    int64_t D = a->dim, row = i / D, bh = row / t;
    return (bh / a->heads) * s->st[0] + (bh % a->heads) * s->st[1] + (row % t) * s->st[2] + i % D;
}

static void put(t_strided *s, const mmx_attn *a, int64_t t, const float *src) {
    for (int64_t i = 0; i < a->batch * a->heads * t * a->dim; i++) s->p[at(s, a, t, i)] = src[i];
}

/* Logical entries equal (bitwise) to want, and every other entry still the canary. */
static int same_as(const t_strided *s, const mmx_attn *a, int64_t t, const float *want) {
    const int64_t n = a->batch * a->heads * t * a->dim;
    unsigned char *mark = calloc((size_t)s->n, 1);
    int ok = 1;
    for (int64_t i = 0; i < n; i++) {
        int64_t j = at(s, a, t, i);
        mark[j] = 1;
        ok &= !memcmp(&s->p[j], &want[i], sizeof(float));
    }
    for (int64_t j = 0; j < s->n; j++) ok &= mark[j] || s->p[j] == (float)T_CANARY;
    free(mark);
    return ok;
}

static void layout_case(const t_ncase *nc, int64_t B, int64_t H, int64_t Tq, int64_t Tk,
                        int64_t D, int causal, const int32_t *kl, uint64_t seed) {
    T_CTX("layouts %s B=%lld H=%lld Tq=%lld Tk=%lld D=%lld causal=%d", nc->name, (long long)B,
          (long long)H, (long long)Tq, (long long)Tk, (long long)D, causal);
    t_prob p;
    prob_init(&p, B, H, Tq, Tk, D, causal, kl);
    t_rng rng = t_rng_seed(seed + g_seed);
    prob_fill(&p, &rng, 2.0);
    float *out = t_malloc((size_t)p.nq * 4), *st = t_malloc((size_t)p.nst * 4);
    float *dq = t_malloc((size_t)p.nq * 4), *dk = t_malloc((size_t)p.nk * 4), *dv = t_malloc((size_t)p.nk * 4);
    t_pgs g0, g1;
    memset(&g0, 0, sizeof g0), memset(&g1, 0, sizeof g1);
    mmx_param_grads pg0 = {g0.dr, g0.dt, &g0.da}, pg1 = {g1.dr, g1.dt, &g1.da};
    CHECK_STATUS(lib_forward(&p, &nc->nm, out, st, 0), MMX_OK);
    CHECK_STATUS(lib_backward(&p, &nc->nm, dq, dk, dv, &pg0, out, st, 0), MMX_OK);

    mmx_attn a = p.a;
    t_strided q = strided(&a, Tq), k = strided(&a, Tk), v = strided(&a, Tk), o = strided(&a, Tq);
    t_strided dO = strided(&a, Tq), gq = strided(&a, Tq), gk = strided(&a, Tk), gv = strided(&a, Tk);
    put(&q, &a, Tq, p.q), put(&k, &a, Tk, p.k), put(&v, &a, Tk, p.v), put(&dO, &a, Tq, p.dout);
    memcpy(a.q_stride, q.st, sizeof q.st), memcpy(a.k_stride, k.st, sizeof k.st);
    memcpy(a.v_stride, v.st, sizeof v.st), memcpy(a.o_stride, o.st, sizeof o.st);
    float *st1 = t_malloc((size_t)p.nst * 4);
    size_t fb = 0, bb = 0;
    CHECK_STATUS(mmx_attn_workspace_size(&a, &nc->nm, 0, &fb), MMX_OK);
    CHECK_STATUS(mmx_attn_workspace_size(&a, &nc->nm, 1, &bb), MMX_OK);
    void *w = t_malloc(fb > bb ? fb : bb);
    CHECK_STATUS(mmx_attn_forward(&a, &nc->nm, o.p, st1, q.p, k.p, v.p, w, fb), MMX_OK);
    CHECK_STATUS(mmx_attn_backward(&a, &nc->nm, gq.p, gk.p, gv.p, &pg1, dO.p, o.p, st1, q.p, k.p,
                                   v.p, w, bb), MMX_OK);
    CHECKF(same_as(&o, &a, Tq, out), "out differs from the contiguous call, or the padding was written%s", "");
    CHECKF(!memcmp(st, st1, (size_t)p.nst * 4), "stats differ from the contiguous call%s", "");
    CHECKF(same_as(&gq, &a, Tq, dq), "dq differs from the contiguous call, or the padding was written%s", "");
    CHECKF(same_as(&gk, &a, Tk, dk), "dk differs from the contiguous call, or the padding was written%s", "");
    CHECKF(same_as(&gv, &a, Tk, dv), "dv differs from the contiguous call, or the padding was written%s", "");
    CHECKF(!memcmp(&g0, &g1, sizeof g0), "scalar gradients differ from the contiguous call%s", "");
    CHECKF(same_as(&q, &a, Tq, p.q) && same_as(&k, &a, Tk, p.k) && same_as(&v, &a, Tk, p.v) &&
               same_as(&dO, &a, Tq, p.dout),
           "an input changed%s", "");
    if (Tq * Tk <= 4096) { /* the probabilities read the same layouts */
        int64_t n = B * H * Tq * Tk;
        float *p0 = t_malloc((size_t)n * 4), *p1 = t_malloc((size_t)n * 4);
        CHECK_STATUS(mmx_attn_probs(&p.a, &nc->nm, -1, p0, NULL, p.q, p.k), MMX_OK);
        CHECK_STATUS(mmx_attn_probs(&a, &nc->nm, -1, p1, NULL, q.p, k.p), MMX_OK);
        CHECKF(!memcmp(p0, p1, (size_t)n * 4), "mmx_attn_probs differs with layouts%s", "");
        free(p0), free(p1);
    }
    free(q.p), free(k.p), free(v.p), free(o.p), free(dO.p), free(gq.p), free(gk.p), free(gv.p);
    free(out), free(st), free(st1), free(dq), free(dk), free(dv), free(w);
    prob_free(&p);
}

static void test_errors(void) {
    t_prob p;
    prob_init(&p, 2, 3, 5, 6, 8, 0, NULL);
    t_rng rng = t_rng_seed(5);
    prob_fill(&p, &rng, 1.0);
    mmx_attn a = p.a;
    a.k_stride[0] = 100, a.k_stride[1] = 7, a.k_stride[2] = 24; /* head stride 7 < D = 8 */
    T_CTX("layout errors");
    CHECK_STATUS(mmx_attn_check(&a), MMX_ERR_PARAM);
    CHECKF(strstr(mmx_last_error(), "k_stride") != NULL, "message names the layout: %s", mmx_last_error());
    /* a NaN in a strided q is named with its logical (B, H, T, D) index */
    a = p.a;
    t_strided q = strided(&a, 5);
    put(&q, &a, 5, p.q);
    memcpy(a.q_stride, q.st, sizeof q.st);
    const int64_t bad = ((1 * 3 + 2) * 5 + 4) * 8 + 6; /* b 1, h 2, t 4, d 6 */
    q.p[at(&q, &a, 5, bad)] = NAN;
    mmx_norm nm = mmx_norm_softmax(1.0);
    size_t fb = 0;
    CHECK_STATUS(mmx_attn_workspace_size(&a, &nm, 0, &fb), MMX_OK);
    void *w = t_malloc(fb);
    float *out = t_malloc((size_t)p.nq * 4);
    CHECK_STATUS(mmx_attn_forward(&a, &nm, out, NULL, q.p, p.k, p.v, w, fb), MMX_ERR_VALUE);
    char want[64];
    snprintf(want, sizeof want, "flat index %lld (b*H+h = 5, t = 4, d = 6)", (long long)bad);
    CHECKF(strstr(mmx_last_error(), want) != NULL, "message: %s (expected '%s')", mmx_last_error(), want);
    /* the same in a (B, H, T, D) layout with 2 floats of padding per token (row-wise scan) */
    const int64_t tok = 8 + 2, st2[3] = {3 * 5 * tok, 5 * tok, tok};
    float *q2 = t_malloc((size_t)(2 * st2[0]) * sizeof(float));
    for (int64_t i = 0; i < 2 * st2[0]; i++) q2[i] = 1.0f;
    q2[1 * st2[0] + 2 * st2[1] + 4 * st2[2] + 6] = INFINITY;
    q2[1 * st2[0] + 2 * st2[1] + 4 * st2[2] + 8] = NAN; /* padding: never read */
    q2[1 * st2[0] + 2 * st2[1] + 4 * st2[2] + 7] = NAN; /* later in (b, h, t, d) order */
    memcpy(a.q_stride, st2, sizeof st2);
    CHECK_STATUS(mmx_attn_forward(&a, &nm, out, NULL, q2, p.k, p.v, w, fb), MMX_ERR_VALUE);
    CHECKF(strstr(mmx_last_error(), want) != NULL && strstr(mmx_last_error(), "holds inf") != NULL,
           "message: %s (expected '%s' and the value inf)", mmx_last_error(), want);
    q2[1 * st2[0] + 2 * st2[1] + 4 * st2[2] + 6] = 1.0f, q2[1 * st2[0] + 2 * st2[1] + 4 * st2[2] + 7] = 1.0f;
    CHECK_STATUS(mmx_attn_forward(&a, &nm, out, NULL, q2, p.k, p.v, w, fb), MMX_OK); /* padding NaN ignored */
    free(q2);
    free(q.p), free(w), free(out);
    prob_free(&p);
}

/* The input scan goes over groups of tokens: with T = 130 (three groups) and heads adjacent,
 * a bad value in an early token of a late head is later in (b, h, t, d) order than one in a
 * late token of an early head; the one named is the first in that order, in one group or
 * across groups, and the padding between tokens is never read. */
static void test_scan_groups(void) {
    t_prob p;
    const int64_t T = 130;
    prob_init(&p, 1, 3, T, T, 8, 0, NULL);
    t_rng rng = t_rng_seed(9);
    prob_fill(&p, &rng, 1.0);
    mmx_attn a = p.a;
    t_strided q = strided(&a, T);
    put(&q, &a, T, p.q);
    memcpy(a.q_stride, q.st, sizeof q.st);
    mmx_norm nm = mmx_norm_softmax(1.0);
    size_t fb = 0;
    CHECK_STATUS(mmx_attn_workspace_size(&a, &nm, 0, &fb), MMX_OK);
    void *w = t_malloc(fb);
    float *out = t_malloc((size_t)p.nq * 4);
    const int64_t cases[3][2][2] = {{{2, 3}, {0, 100}},  /* (h, t) pairs: across groups */
                                    {{2, 3}, {0, 10}},   /* within group 0 */
                                    {{1, 129}, {2, 0}}}; /* the last token vs the first */
    for (int c = 0; c < 3; c++) {
        int64_t f[2];
        for (int i = 0; i < 2; i++) {
            f[i] = (cases[c][i][0] * T + cases[c][i][1]) * 8 + 5;
            q.p[at(&q, &a, T, f[i])] = i ? INFINITY : NAN;
        }
        int first = f[1] < f[0];
        q.p[at(&q, &a, T, 0) + 3 * 8] = NAN; /* padding after token 0's heads: never read */
        T_CTX("scan groups case %d", c);
        CHECK_STATUS(mmx_attn_forward(&a, &nm, out, NULL, q.p, p.k, p.v, w, fb), MMX_ERR_VALUE);
        char want[96];
        snprintf(want, sizeof want, "flat index %lld (b*H+h = %lld, t = %lld, d = 5)",
                 (long long)f[first], (long long)cases[c][first][0], (long long)cases[c][first][1]);
        CHECKF(strstr(mmx_last_error(), want) != NULL, "message: %s (expected '%s')", mmx_last_error(), want);
        for (int i = 0; i < 2; i++) q.p[at(&q, &a, T, f[i])] = p.q[f[i]];
        CHECK_STATUS(mmx_attn_forward(&a, &nm, out, NULL, q.p, p.k, p.v, w, fb), MMX_OK);
    }
    free(q.p), free(w), free(out);
    prob_free(&p);
}

int main(void) {
    attn_test_init();
    static const int32_t kl[3] = {47, 0, 20};
    for (int n = 0; n < NNORM; n++) {
        uint64_t s = 100 + 7 * (uint64_t)n;
        layout_case(&g_norms[n], 3, 4, 33, 47, 16, 0, kl, s);     /* key_len incl. 0 */
        layout_case(&g_norms[n], 1, 2, 140, 140, 8, 1, NULL, s + 1); /* B*H = 2: split groups */
        layout_case(&g_norms[n], 2, 2, 49, 49, 32, 0, NULL, s + 2);  /* the ViT's tile */
        layout_case(&g_norms[n], 1, 1, 7, 65, 80, 1, NULL, s + 3);   /* Tq < Tk, D = 80 */
    }
    test_errors();
    test_scan_groups();
    return t_summary();
}
