/*
 * test_attention.c - the fused multi-head attention (mmx_attn_*) against the naive double
 * reference of attn_ref.h. First the reference itself: its whole chain (forward, the
 * library's double row backward, dq = scale dS k, dk = scale dS^T q, dv = P^T dout) is checked
 * by central finite differences on a tiny shape, so it is anchored to the maths, not to
 * library code.
 *
 * Then: the float32 API swept against it for every normalizer over masks, cross-attention,
 * awkward lengths and head sizes (exact workspace, guards after every output and the
 * workspace, a misaligned workspace, stats = NULL, inputs unchanged), under every float32
 * kernel set the CPU has, fully masked rows (out / dq of rows with no visible key, dk / dv of
 * keys nobody sees: exactly 0), thread-count independence (bitwise), += of parameter
 * gradients. The errors, score overflow, mmx_attn_probs and mmx_attn_make are in
 * test_attention_errors.c.
 *
 * MMX_TEST_VERBOSE=1 prints the worst error / tolerance ratio of every sweep case;
 * MMX_TEST_SEED=n shifts every seed (other data, same checks).
 */
#include "harness.h"

#include "attn_ref.h" /* normalizers, the double reference, problems, comparisons */

/* ---------------------------------------------------------------------------------
 * 1. The reference backward against central finite differences (double, tiny shape)
 * ------------------------------------------------------------------------------- */

/* L = sum out * G */
static double fd_loss(const mmx_attn *a, const mmx_norm *nm, const double *q, const double *k,
                      const double *v, const double *G)
{
    const int64_t no = a->batch * a->heads * a->tq * a->dim, ns = a->batch * a->heads * a->tq * a->tk;
    double *out = t_malloc((size_t)no * sizeof(double)), *P = t_malloc((size_t)ns * sizeof(double));
    double *S = t_malloc((size_t)ns * sizeof(double)), L = 0.0;
    ref_attn_fwd(a, nm, out, P, S, q, k, v);
    for (int64_t i = 0; i < no; i++) L += out[i] * G[i];
    free(out), free(P), free(S);
    return L;
}

/* Central difference of L in x[i] (x is one of q, k, v, ranges, ts, &alpha). */
static double fd_at(const mmx_attn *a, const mmx_norm *nm, double *x, int64_t i, const double *q,
                    const double *k, const double *v, const double *G)
{
    const double h = 1e-5, x0 = x[i];
    x[i] = x0 + h;
    double lp = fd_loss(a, nm, q, k, v, G);
    x[i] = x0 - h;
    double lm = fd_loss(a, nm, q, k, v, G);
    x[i] = x0;
    return (lp - lm) / (2.0 * h);
}

/* |analytic - fd| <= 1e-6 * max(1, max |analytic|) over a tensor */
static void fd_compare(const char *what, const double *an, const double *fd, int64_t n)
{
    double tol = 1e-6 * fmax(1.0, maxabs(an, n)), worst = 0.0;
    int64_t wi = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs(an[i] - fd[i]);
        if (!(e <= worst)) worst = e, wi = i;
    }
    CHECKF(worst <= tol, "%s: worst [%lld] analytic %.12g vs fd %.12g (tol %.3g)", what, (long long)wi,
           an[wi], fd[wi], tol);
    if (g_verbose) printf("%-100s %-8s fd %.3f\n", t_ctx, what, worst / tol);
}

static void fd_case(const t_ncase *nc, int causal, const int32_t *kl, uint64_t seed)
{
    enum { B = 1, H = 2, TQ = 3, TK = 4, D = 3, NQ = B * H * TQ * D, NK = B * H * TK * D };
    T_CTX("reference backward vs finite differences: %s, causal %d, key_len %s", nc->name, causal,
          kl ? "{3}" : "none");
    mmx_attn a = mmx_attn_make(B, H, TQ, TK, D);
    a.causal = causal, a.key_len = kl;
    double ranges[4], ts[4];
    mmx_norm nm = nc->nm;
    if (nm.kind == MMX_NORM_MULTIMAX) { /* mutable copies, perturbed by the differences */
        memcpy(ranges, nm.ranges, (size_t)(2 * nm.order) * sizeof(double));
        memcpy(ts, nm.ts, (size_t)(2 * nm.order) * sizeof(double));
        nm.ranges = ranges, nm.ts = ts;
    }
    double q[NQ], k[NK], v[NK], G[NQ], out[NQ], P[B * H * TQ * TK], S[B * H * TQ * TK];
    double dq[NQ], dk[NK], dv[NK], fq[NQ], fk[NK], fv[NK];
    t_rng rng = t_rng_seed(seed + g_seed);
    for (int i = 0; i < NQ; i++) q[i] = 2.0 * t_normal(&rng), G[i] = t_normal(&rng);
    for (int i = 0; i < NK; i++) k[i] = t_normal(&rng), v[i] = t_normal(&rng);
    ref_attn_fwd(&a, &nm, out, P, S, q, k, v);
    t_pgs pg;
    memset(&pg, 0, sizeof pg);
    ref_attn_bwd(&a, &nm, dq, dk, dv, &pg, NULL, G, P, S, q, k, v);
    for (int i = 0; i < NQ; i++) fq[i] = fd_at(&a, &nm, q, i, q, k, v, G);
    for (int i = 0; i < NK; i++) fk[i] = fd_at(&a, &nm, k, i, q, k, v, G);
    for (int i = 0; i < NK; i++) fv[i] = fd_at(&a, &nm, v, i, q, k, v, G);
    fd_compare("dq", dq, fq, NQ);
    fd_compare("dk", dk, fk, NK);
    fd_compare("dv", dv, fv, NK);
    if (nm.kind == MMX_NORM_MULTIMAX) {
        double fr[4], ft[4];
        for (int i = 0; i < 2 * nm.order; i++) {
            fr[i] = fd_at(&a, &nm, ranges, i, q, k, v, G);
            ft[i] = fd_at(&a, &nm, ts, i, q, k, v, G);
        }
        fd_compare("dranges", pg.dr, fr, 2 * nm.order);
        fd_compare("dts", pg.dt, ft, 2 * nm.order);
    }
    if (nm.kind == MMX_NORM_ENTMAX) {
        double fa = fd_at(&a, &nm, &nm.alpha, 0, q, k, v, G);
        fd_compare("dalpha", &pg.da, &fa, 1);
    }
}

static void test_reference_fd(void)
{
    static const int32_t kl3[1] = {3};
    for (int n = 0; n < NNORM; n++) {
        fd_case(&g_norms[n], 0, NULL, 100 + (uint64_t)n);
        fd_case(&g_norms[n], 1, kl3, 200 + (uint64_t)n);
    }
}

/* ---------------------------------------------------------------------------------
 * 2. The float32 API against the reference
 * ------------------------------------------------------------------------------- */

typedef struct {
    int64_t B, H, Tq, Tk, D;
    int causal;
    int use_kl;
    int32_t kl[4];
    double qs; /* q ~ N(0, qs^2): 4 makes the sparse maps sparse */
} t_shape;

static const t_shape k_shapes[] = {
    {1, 1, 1, 1, 8, 0, 0, {0, 0}, 1.0},
    {2, 3, 7, 7, 16, 1, 0, {0, 0}, 1.0},
    {2, 1, 65, 65, 64, 0, 1, {65, 0}, 1.0},     /* a full and an empty batch item */
    {1, 3, 129, 129, 80, 1, 1, {100, 0}, 1.0},  /* causal + padding */
    {2, 3, 7, 65, 16, 0, 1, {65, 20}, 4.0},     /* cross, Tq < Tk */
    {2, 1, 65, 7, 8, 1, 0, {0, 0}, 1.0},        /* cross, Tq > Tk, causal: 58 empty rows */
    {1, 1, 129, 129, 64, 0, 0, {0, 0}, 4.0},    /* large scores */
    {2, 3, 33, 129, 16, 1, 1, {0, 100}, 4.0},   /* causal + padding with an empty item */
    {2, 2, 65, 7, 80, 1, 1, {7, 3}, 4.0},       /* Tq > Tk causal + padding */
    {2, 2, 1, 129, 64, 1, 1, {129, 50}, 1.0},   /* Tq = 1: sees every key */
    {1, 2, 129, 1, 8, 1, 0, {0, 0}, 1.0},       /* Tk = 1 */
    {1, 1, 7, 65, 8, 1, 0, {0, 0}, 4.0},        /* Tq < Tk causal */
};
#define NSHAPES ((int)(sizeof k_shapes / sizeof k_shapes[0]))

/* Does query row i of batch item b see any key? Does key j of b get seen by any query? */
static int row_has_keys(const mmx_attn *a, int64_t b, int64_t i)
{
    for (int64_t j = 0; j < a->tk; j++)
        if (t_vis(a, b, i, j)) return 1;
    return 0;
}
static int key_is_seen(const mmx_attn *a, int64_t b, int64_t j)
{
    for (int64_t i = 0; i < a->tq; i++)
        if (t_vis(a, b, i, j)) return 1;
    return 0;
}

/* out rows of queries with no visible key, dq of those rows, dk / dv of keys nobody sees:
 * exactly 0. */
static void check_masked_exact(const t_prob *p, const float *out, const float *dq, const float *dk,
                               const float *dv)
{
    const mmx_attn *a = &p->a;
    const int64_t D = a->dim;
    int64_t bad_o = -1, bad_q = -1, bad_k = -1, bad_v = -1;
    for (int64_t b = 0; b < a->batch; b++)
        for (int64_t h = 0; h < a->heads; h++) {
            const int64_t bh = b * a->heads + h;
            for (int64_t i = 0; i < a->tq; i++) {
                if (row_has_keys(a, b, i)) continue;
                const int64_t off = (bh * a->tq + i) * D;
                if (out && bad_o < 0 && first_nonzero(out + off, D) >= 0) bad_o = bh * a->tq + i;
                if (dq && bad_q < 0 && first_nonzero(dq + off, D) >= 0) bad_q = bh * a->tq + i;
            }
            for (int64_t j = 0; j < a->tk; j++) {
                if (key_is_seen(a, b, j)) continue;
                const int64_t off = (bh * a->tk + j) * D;
                if (dk && bad_k < 0 && first_nonzero(dk + off, D) >= 0) bad_k = bh * a->tk + j;
                if (dv && bad_v < 0 && first_nonzero(dv + off, D) >= 0) bad_v = bh * a->tk + j;
            }
        }
    CHECKF(bad_o < 0, "out of query row %lld (no visible key) is not exactly 0", (long long)bad_o);
    CHECKF(bad_q < 0, "dq of query row %lld (no visible key) is not exactly 0", (long long)bad_q);
    CHECKF(bad_k < 0, "dk of key row %lld (seen by no query) is not exactly 0", (long long)bad_k);
    CHECKF(bad_v < 0, "dv of key row %lld (seen by no query) is not exactly 0", (long long)bad_v);
}

/* Forward: status, guards, stats = NULL gives the same out, inputs intact, the reference,
 * masked rows. Returns 0 if the forward failed (nothing more to check). */
static int sweep_forward(const t_prob *p, const mmx_norm *nm, const t_ref *r, t_buf32 *out,
                         t_buf32 *stats, size_t mis, double qs, double *worst)
{
    mmx_status st = lib_forward(p, nm, out->p, stats->p, mis);
    CHECKF(st == MMX_OK, "forward: %s (%s)", mmx_status_str(st), mmx_last_error());
    if (st != MMX_OK) return 0;
    CHECK_GUARD32(*out);
    CHECK_GUARD32(*stats);
    CHECK(all_finite(out->p, p->nq));
    t_buf32 out2 = t_alloc32(1, p->nq, p->nq, (float)T_CANARY);
    CHECK_STATUS(lib_forward(p, nm, out2.p, NULL, (mis + 1) % 4), MMX_OK);
    CHECKF(same_bits(out->p, out2.p, p->nq), "forward with stats = NULL gives a different out");
    CHECK_GUARD32(out2);
    free(out2.p);
    CHECK(inputs_intact(p));
    *worst = CMP32("out ~ reference", out->p, r->out, p->nq, 1e-4, 2e-5 * qs);
    check_masked_exact(p, out->p, NULL, NULL, NULL);
    return 1;
}

static void sweep_backward(const t_prob *p, const mmx_norm *nm, t_ref *r, const t_buf32 *out,
                           const t_buf32 *stats, size_t mis, double *worst)
{
    t_buf32 dq = t_alloc32(1, p->nq, p->nq, (float)T_CANARY), dk = t_alloc32(1, p->nk, p->nk, (float)T_CANARY);
    t_buf32 dv = t_alloc32(1, p->nk, p->nk, (float)T_CANARY);
    float *out_copy = t_malloc((size_t)p->nq * sizeof(float)), *st_copy = t_malloc((size_t)p->nst * sizeof(float));
    memcpy(out_copy, out->p, (size_t)p->nq * sizeof(float));
    memcpy(st_copy, stats->p, (size_t)p->nst * sizeof(float));
    t_pgs g;
    memset(&g, 0, sizeof g);
    mmx_param_grads pg = {g.dr, g.dt, &g.da};
    mmx_status st = lib_backward(p, nm, dq.p, dk.p, dv.p, &pg, out->p, stats->p, mis);
    CHECKF(st == MMX_OK, "backward: %s (%s)", mmx_status_str(st), mmx_last_error());
    if (st == MMX_OK) {
        CHECK_GUARD32(dq);
        CHECK_GUARD32(dk);
        CHECK_GUARD32(dv);
        CHECK(inputs_intact(p));
        CHECKF(same_bits(out_copy, out->p, p->nq) && same_bits(st_copy, stats->p, p->nst),
               "backward changed out or stats");
        CHECK(all_finite(dq.p, p->nq) && all_finite(dk.p, p->nk) && all_finite(dv.p, p->nk));
        memset(&r->pg, 0, sizeof r->pg), memset(&r->mag, 0, sizeof r->mag);
        ref_attn_bwd(&p->a, nm, r->dq, r->dk, r->dv, &r->pg, &r->mag, p->doutd, r->P, r->S, p->qd,
                     p->kd, p->vd);
        double w[6];
        w[0] = CMP32("dq ~ reference", dq.p, r->dq, p->nq, 2.5e-4, 5e-5 * maxabs(r->dq, p->nq) + 2e-6);
        w[1] = CMP32("dk ~ reference", dk.p, r->dk, p->nk, 2.5e-4, 5e-5 * maxabs(r->dk, p->nk) + 2e-6);
        w[2] = CMP32("dv ~ reference", dv.p, r->dv, p->nk, 2.5e-4, 5e-5 * maxabs(r->dv, p->nk) + 2e-6);
        const int n = 2 * MMX_MULTIMAX_MAX_ORDER;
        w[3] = cmp_scalars("dranges ~ reference", g.dr, r->pg.dr, r->mag.dr, n, __FILE__, __LINE__);
        w[4] = cmp_scalars("dts ~ reference", g.dt, r->pg.dt, r->mag.dt, n, __FILE__, __LINE__);
        w[5] = cmp_scalars("dalpha ~ reference", &g.da, &r->pg.da, &r->mag.da, 1, __FILE__, __LINE__);
        for (int i = 0; i < 6; i++) worst[i] = w[i];
        check_masked_exact(p, NULL, dq.p, dk.p, dv.p);
    }
    free(dq.p), free(dk.p), free(dv.p), free(out_copy), free(st_copy);
}

static void sweep_case(const t_shape *sh, const t_ncase *nc, uint64_t seed, size_t mis)
{
    char kls[32] = "none";
    if (sh->use_kl) snprintf(kls, sizeof kls, "{%d,%d}", sh->kl[0], sh->kl[1]);
    T_CTX("sweep %s B=%lld H=%lld Tq=%lld Tk=%lld D=%lld causal=%d key_len=%s qs=%g isa=%s", nc->name,
          (long long)sh->B, (long long)sh->H, (long long)sh->Tq, (long long)sh->Tk, (long long)sh->D,
          sh->causal, kls, sh->qs, mmx_isa());
    t_prob p;
    t_ref r;
    prob_init(&p, sh->B, sh->H, sh->Tq, sh->Tk, sh->D, sh->causal, sh->use_kl ? sh->kl : NULL);
    ref_alloc(&r, &p);
    make_data(&p, &r, &nc->nm, sh->qs, seed);
    t_buf32 out = t_alloc32(1, p.nq, p.nq, (float)T_CANARY), stats = t_alloc32(1, p.nst, p.nst, (float)T_CANARY);
    double wf = 0.0, wb[6] = {0};
    if (sweep_forward(&p, &nc->nm, &r, &out, &stats, mis, sh->qs, &wf))
        sweep_backward(&p, &nc->nm, &r, &out, &stats, mis, wb);
    if (g_verbose)
        printf("%-100s out %.3f dq %.3f dk %.3f dv %.3f dr %.3f dt %.3f da %.3f\n", t_ctx, wf, wb[0],
               wb[1], wb[2], wb[3], wb[4], wb[5]);
    free(out.p), free(stats.p);
    ref_free(&r);
    prob_free(&p);
}

static void test_sweep(void)
{
    for (int s = 0; s < NSHAPES; s++)
        for (int n = 0; n < NNORM; n++)
            sweep_case(&k_shapes[s], &g_norms[n], 1000 + 37 * (uint64_t)s + (uint64_t)n, (size_t)(s + n) % 4);
}

/* A few shapes under every other float32 kernel set this CPU has. */
static void test_sweep_isas(void)
{
    char saved[32];
    snprintf(saved, sizeof saved, "%s", mmx_isa());
    static const char *const isas[] = {"avx512", "avx2", "portable"};
    static const int shapes[] = {3, 4, 8};
    for (int i = 0; i < 3; i++) {
        if (!strcmp(isas[i], saved) || mmx_set_isa(isas[i]) != MMX_OK) continue;
        for (int s = 0; s < 3; s++)
            for (int n = 0; n < NNORM; n++)
                sweep_case(&k_shapes[shapes[s]], &g_norms[n], 5000 + 37 * (uint64_t)s + (uint64_t)n, 1);
    }
    CHECK_STATUS(mmx_set_isa(saved), MMX_OK);
}

/* ---------------------------------------------------------------------------------
 * 3. Thread-count independence (bitwise), += of parameter gradients
 * ------------------------------------------------------------------------------- */

typedef struct {
    float *out, *stats, *dq, *dk, *dv;
    t_pgs g;
} t_run;

static void run_alloc(t_run *u, const t_prob *p)
{
    u->out = t_malloc((size_t)p->nq * sizeof(float)), u->stats = t_malloc((size_t)p->nst * sizeof(float));
    u->dq = t_malloc((size_t)p->nq * sizeof(float));
    u->dk = t_malloc((size_t)p->nk * sizeof(float)), u->dv = t_malloc((size_t)p->nk * sizeof(float));
    memset(&u->g, 0, sizeof u->g);
}
static void run_free(t_run *u) { free(u->out), free(u->stats), free(u->dq), free(u->dk), free(u->dv); }

static void run_full(const t_prob *p, const mmx_norm *nm, t_run *u)
{
    mmx_param_grads pg = {u->g.dr, u->g.dt, &u->g.da};
    CHECK_STATUS(lib_forward(p, nm, u->out, u->stats, 0), MMX_OK);
    CHECK_STATUS(lib_backward(p, nm, u->dq, u->dk, u->dv, &pg, u->out, u->stats, 0), MMX_OK);
}

static void thread_case(const t_shape *sh, const t_ncase *nc, uint64_t seed)
{
    T_CTX("threads %s B=%lld H=%lld Tq=%lld Tk=%lld D=%lld causal=%d", nc->name, (long long)sh->B,
          (long long)sh->H, (long long)sh->Tq, (long long)sh->Tk, (long long)sh->D, sh->causal);
    t_prob p;
    prob_init(&p, sh->B, sh->H, sh->Tq, sh->Tk, sh->D, sh->causal, sh->use_kl ? sh->kl : NULL);
    t_rng rng = t_rng_seed(seed + g_seed);
    prob_fill(&p, &rng, sh->qs);
    const int saved = mmx_get_num_threads();
    t_run base, u;
    run_alloc(&base, &p), run_alloc(&u, &p);
    size_t ws_prev[2] = {0, 0};
    for (int nt = 1; nt <= 3; nt++) {
        CHECK_STATUS(mmx_set_num_threads(nt), MMX_OK);
        size_t ws[2] = {0, 0};
        CHECK_STATUS(mmx_attn_workspace_size(&p.a, &nc->nm, 0, &ws[0]), MMX_OK);
        CHECK_STATUS(mmx_attn_workspace_size(&p.a, &nc->nm, 1, &ws[1]), MMX_OK);
        CHECKF(ws[0] >= ws_prev[0] && ws[1] >= ws_prev[1],
               "fewer threads need more workspace: %zu/%zu bytes at %d threads, %zu/%zu at %d",
               ws_prev[0], ws_prev[1], nt - 1, ws[0], ws[1], nt);
        ws_prev[0] = ws[0], ws_prev[1] = ws[1];
        t_run *cur = nt == 1 ? &base : &u;
        memset(&cur->g, 0, sizeof cur->g);
        run_full(&p, &nc->nm, cur);
        if (nt == 1) continue;
        CHECKF(same_bits(base.out, u.out, p.nq), "out differs between 1 and %d threads", nt);
        CHECKF(same_bits(base.stats, u.stats, p.nst), "stats differ between 1 and %d threads", nt);
        CHECKF(same_bits(base.dq, u.dq, p.nq), "dq differs between 1 and %d threads", nt);
        CHECKF(same_bits(base.dk, u.dk, p.nk), "dk differs between 1 and %d threads", nt);
        CHECKF(same_bits(base.dv, u.dv, p.nk), "dv differs between 1 and %d threads", nt);
        CHECKF(!memcmp(&base.g, &u.g, sizeof base.g), "scalar gradients differ between 1 and %d threads "
               "(dr0 %.17g vs %.17g, dt0 %.17g vs %.17g, da %.17g vs %.17g)", nt, base.g.dr[0], u.g.dr[0],
               base.g.dt[0], u.g.dt[0], base.g.da, u.g.da);
    }
    CHECK_STATUS(mmx_set_num_threads(saved), MMX_OK);
    CHECK_EQ_INT(mmx_get_num_threads(), saved);
    run_free(&base), run_free(&u);
    prob_free(&p);
}

static void test_threads(void)
{
    static const t_shape sh[] = {
        {1, 1, 200, 200, 32, 1, 0, {0, 0}, 2.0},     /* B*H = 1: the threads split the rows */
        {3, 4, 33, 47, 16, 0, 1, {47, 0, 20}, 2.0}, /* B*H = 12 */
    };
    for (int s = 0; s < 2; s++)
        for (int n = 0; n < NNORM; n++) thread_case(&sh[s], &g_norms[n], 7000 + 13 * (uint64_t)s + (uint64_t)n);
}

/* Parameter gradients accumulate (+=); dq, dk, dv are overwritten. */
static void test_accumulate(void)
{
    static const int which[] = {2, 3, 7, 8}; /* multimax 2 and 1, entmax 1.25 and 1.7 */
    for (int w = 0; w < 4; w++) {
        const t_ncase *nc = &g_norms[which[w]];
        T_CTX("accumulate %s", nc->name);
        t_prob p;
        static const int32_t kl[2] = {30, 11};
        prob_init(&p, 2, 2, 17, 30, 16, 1, kl);
        t_rng rng = t_rng_seed(900 + (uint64_t)w);
        prob_fill(&p, &rng, 2.0);
        t_run u;
        run_alloc(&u, &p);
        run_full(&p, &nc->nm, &u); /* g = 0 + grad */
        t_pgs once = u.g;
        float *dq1 = t_malloc((size_t)p.nq * sizeof(float)), *dk1 = t_malloc((size_t)p.nk * sizeof(float));
        memcpy(dq1, u.dq, (size_t)p.nq * sizeof(float));
        memcpy(dk1, u.dk, (size_t)p.nk * sizeof(float));
        for (int64_t i = 0; i < p.nq; i++) u.dq[i] = 1.0f;
        for (int64_t i = 0; i < p.nk; i++) u.dk[i] = 1.0f;
        mmx_param_grads pg = {u.g.dr, u.g.dt, &u.g.da};
        CHECK_STATUS(lib_backward(&p, &nc->nm, u.dq, u.dk, u.dv, &pg, u.out, u.stats, 0), MMX_OK);
        int ok = 1, nz = 0;
        for (int i = 0; i < 2 * MMX_MULTIMAX_MAX_ORDER; i++) {
            ok &= fabs(u.g.dr[i] - 2.0 * once.dr[i]) <= 1e-12 * fabs(once.dr[i]);
            ok &= fabs(u.g.dt[i] - 2.0 * once.dt[i]) <= 1e-12 * fabs(once.dt[i]);
            nz |= once.dr[i] != 0.0 || once.dt[i] != 0.0;
        }
        ok &= fabs(u.g.da - 2.0 * once.da) <= 1e-12 * fabs(once.da);
        nz |= once.da != 0.0;
        CHECKF(ok, "two backward calls do not double the scalar gradients (dr0 %.17g -> %.17g, da %.17g -> %.17g)",
               once.dr[0], u.g.dr[0], once.da, u.g.da);
        CHECKF(nz, "the scalar gradients are all zero");
        CHECKF(same_bits(dq1, u.dq, p.nq) && same_bits(dk1, u.dk, p.nk), "dq / dk not overwritten");
        /* NULL pg, and pg with NULL members: same dq */
        mmx_param_grads none = {NULL, NULL, NULL};
        CHECK_STATUS(lib_backward(&p, &nc->nm, u.dq, u.dk, u.dv, NULL, u.out, u.stats, 0), MMX_OK);
        CHECK(same_bits(dq1, u.dq, p.nq));
        CHECK_STATUS(lib_backward(&p, &nc->nm, u.dq, u.dk, u.dv, &none, u.out, u.stats, 0), MMX_OK);
        CHECK(same_bits(dq1, u.dq, p.nq));
        free(dq1), free(dk1);
        run_free(&u);
        prob_free(&p);
    }
}

int main(void)
{
    attn_test_init();
    test_reference_fd();
    test_sweep();
    test_sweep_isas();
    test_threads();
    test_accumulate();
    return t_summary();
}
