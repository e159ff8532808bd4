/*
 * attn_ref.h - what the attention tests (test_attention.c, test_attention_errors.c) share:
 * the normalizers under test; a naive reference of the fused multi-head attention
 * (mmx_attn_*) written here in double: the Tq x Tk scores materialised per (batch, head), the
 * mask of the header (key_len padding, bottom-right-aligned causal), the independent row maps
 * of refs.h (EvSoftMax over the visible entries only), rows with no visible key giving 0,
 * out = P v. The reference backward chains the library's double row backward
 * (mmx_backward_f64, itself checked by finite differences in the normalizer tests) with
 * dq = scale dS k, dk = scale dS^T q, dv = P^T dout (test_attention.c checks the whole chain
 * by central finite differences). Also: a problem (descriptor, float inputs and their exact
 * double copies) and data where the reference is unambiguous, library calls on exact-size
 * workspaces with guards, and the comparisons with their tolerances.
 *
 * Included after harness.h. Everything is static inline, so a test that uses only part of it
 * compiles without unused-function warnings. attn_test_init() reads MMX_TEST_VERBOSE and
 * MMX_TEST_SEED and fills the normalizer cases: call it first in main.
 */
#ifndef MMX_TEST_ATTN_REF_H
#define MMX_TEST_ATTN_REF_H

#include <float.h>

/* ---------------------------------------------------------------------------------
 * Normalizers under test
 * ------------------------------------------------------------------------------- */

static const double k_r2[4] = {-1.0, 2.0, -0.5, 1.5}, k_t2[4] = {0.4, -0.3, 0.1, -0.05};
static const double k_r1[2] = {-0.5, 1.0}, k_t1[2] = {0.3, 0.2};
/* A wide identity band [-2.5, 2.5]: many rows have all their scores inside it (the kernels then
 * run them as SoftMax rows with no modulator terms), others not, in the same query block. */
static const double k_rb[4] = {-3.0, 2.5, -2.5, 3.0}, k_tb[4] = {0.4, -0.3, 0.1, -0.05};

typedef struct {
    const char *name;
    mmx_norm nm;
} t_ncase;

enum { NNORM = 11 };
static t_ncase g_norms[NNORM];

static inline void init_norms(void)
{
    int i = 0;
    g_norms[i++] = (t_ncase){"softmax t=1", mmx_norm_softmax(1.0)};
    g_norms[i++] = (t_ncase){"softmax t=0.7", mmx_norm_softmax(0.7)};
    g_norms[i++] = (t_ncase){"multimax order 2", mmx_norm_multimax(2, k_r2, k_t2)};
    g_norms[i++] = (t_ncase){"multimax order 1", mmx_norm_multimax(1, k_r1, k_t1)};
    g_norms[i++] = (t_ncase){"multimax band", mmx_norm_multimax(2, k_rb, k_tb)};
    g_norms[i++] = (t_ncase){"sparsemax", mmx_norm_sparsemax()};
    g_norms[i++] = (t_ncase){"entmax15", mmx_norm_entmax15()};
    g_norms[i++] = (t_ncase){"entmax a=1.25", mmx_norm_entmax(1.25)};
    g_norms[i++] = (t_ncase){"entmax a=1.7", mmx_norm_entmax(1.7)};
    g_norms[i++] = (t_ncase){"evsoftmax train", mmx_norm_evsoftmax(0)};
    g_norms[i++] = (t_ncase){"evsoftmax eval", mmx_norm_evsoftmax(1)};
}

static int g_verbose;
static uint64_t g_seed; /* MMX_TEST_SEED: added to every seed (to try other data) */

/* MMX_TEST_VERBOSE=1: print the worst error / tolerance ratio of every case; MMX_TEST_SEED=n:
 * shift every seed that goes through g_seed. Then the normalizer cases. */
static inline void attn_test_init(void)
{
    const char *v = getenv("MMX_TEST_VERBOSE");
    g_verbose = v && v[0] && strcmp(v, "0");
    const char *sd = getenv("MMX_TEST_SEED");
    g_seed = sd ? strtoull(sd, NULL, 10) : 0;
    init_norms();
}

/* ---------------------------------------------------------------------------------
 * The naive reference, in double
 * ------------------------------------------------------------------------------- */

/* The header's mask: key j visible to query i of batch item b. */
static inline int t_vis(const mmx_attn *a, int64_t b, int64_t i, int64_t j)
{
    if (a->key_len && j >= a->key_len[b]) return 0;
    if (a->causal && j > i + (a->tk - a->tq)) return 0;
    return 1;
}

/* S: (B, H, Tq, Tk) = scale * q.k, -inf where masked */
static inline void ref_scores(const mmx_attn *a, double *S, const double *q, const double *k)
{
    const int64_t Tq = a->tq, Tk = a->tk, D = a->dim;
    for (int64_t b = 0; b < a->batch; b++)
        for (int64_t h = 0; h < a->heads; h++) {
            const int64_t bh = b * a->heads + h;
            const double *qb = q + bh * Tq * D, *kb = k + bh * Tk * D;
            for (int64_t i = 0; i < Tq; i++)
                for (int64_t j = 0; j < Tk; j++) {
                    double s = 0.0;
                    for (int64_t d = 0; d < D; d++) s += qb[i * D + d] * kb[j * D + d];
                    S[(bh * Tq + i) * Tk + j] = t_vis(a, b, i, j) ? a->scale * s : -INFINITY;
                }
        }
}

/* One row of the normalizer (refs.h); EvSoftMax over the visible entries only (its mean is
 * over the unmasked entries). tmp: 2n doubles. */
static inline void ref_rowmap(const mmx_norm *nm, double *p, const double *x, int64_t n, double *tmp)
{
    switch (nm->kind) {
    case MMX_NORM_SOFTMAX: ref_softmax(p, x, n, nm->temperature); break;
    case MMX_NORM_MULTIMAX: ref_multimax(p, x, n, nm->order, nm->ranges, nm->ts); break;
    case MMX_NORM_SPARSEMAX: ref_sparsemax(p, x, n); break;
    case MMX_NORM_ENTMAX15: ref_entmax(p, x, n, 1.5); break;
    case MMX_NORM_ENTMAX: ref_entmax(p, x, n, nm->alpha); break;
    default: {
        int64_t m = 0;
        for (int64_t j = 0; j < n; j++)
            if (x[j] != -INFINITY) tmp[m++] = x[j];
        ref_evsoftmax(tmp + n, tmp, m, nm->eval);
        m = 0;
        for (int64_t j = 0; j < n; j++) p[j] = x[j] == -INFINITY ? 0.0 : tmp[n + m++];
    }
    }
}

/* out: (B, H, Tq, D); P, S: (B, H, Tq, Tk) */
static inline void ref_attn_fwd(const mmx_attn *a, const mmx_norm *nm, double *out, double *P, double *S,
                                const double *q, const double *k, const double *v)
{
    const int64_t Tq = a->tq, Tk = a->tk, D = a->dim, rows = a->batch * a->heads * Tq;
    double *tmp = (double *)malloc((size_t)(2 * Tk) * sizeof(double));
    if (!tmp) abort();
    ref_scores(a, S, q, k);
    for (int64_t r = 0; r < rows; r++) {
        const int64_t bh = r / Tq;
        ref_rowmap(nm, P + r * Tk, S + r * Tk, Tk, tmp);
        for (int64_t d = 0; d < D; d++) {
            double o = 0.0;
            for (int64_t j = 0; j < Tk; j++) o += P[r * Tk + j] * v[(bh * Tk + j) * D + d];
            out[r * D + d] = o;
        }
    }
    free(tmp);
}

/* Scalar gradients of the normalizer (MultiMax's 4N, alpha). */
typedef struct {
    double dr[2 * MMX_MULTIMAX_MAX_ORDER], dt[2 * MMX_MULTIMAX_MAX_ORDER], da;
} t_pgs;

/* The size of the terms MultiMax's scalar gradients are sums of (what their float rounding
 * scales with, even where the terms cancel, e.g. a row with one visible key gives exactly 0):
 * g_j = p_j (dp_j - <p, dp>) is bounded by p_j (|dp_j| + |<p, dp>|), times |d sigma / d theta|. */
static inline void mm_mag(const mmx_norm *nm, t_pgs *mag, const double *p, const double *x, const double *dp,
                          int64_t n)
{
    double pd = 0.0;
    for (int64_t j = 0; j < n; j++) pd += p[j] * dp[j];
    for (int64_t j = 0; j < n; j++) {
        if (x[j] == -INFINITY) continue;
        const double ga = p[j] * (fabs(dp[j]) + fabs(pd));
        for (int o = 1; o <= nm->order; o++) {
            const double u = fmax(nm->ranges[2 * o - 2] - x[j], 0.0), w = fmax(x[j] - nm->ranges[2 * o - 1], 0.0);
            mag->dt[2 * o - 2] += ga * pow(u, o), mag->dt[2 * o - 1] += ga * pow(w, o);
            mag->dr[2 * o - 2] += ga * o * fabs(nm->ts[2 * o - 2]) * pow(u, o - 1) * (u > 0);
            mag->dr[2 * o - 1] += ga * o * fabs(nm->ts[2 * o - 1]) * pow(w, o - 1) * (w > 0);
        }
    }
}

/* Backward of the reference: dS row by row with mmx_backward_f64 (pg accumulated, and in mag
 * the sum of the absolute per-row contributions: the scale of a sum's rounding), then
 * dq = scale dS k, dk = scale dS^T q, dv = P^T dout. */
static inline void ref_attn_bwd(const mmx_attn *a, const mmx_norm *nm, double *dq, double *dk, double *dv,
                                t_pgs *pg, t_pgs *mag, const double *dout, const double *P,
                                const double *S, const double *q, const double *k, const double *v)
{
    const int64_t Tq = a->tq, Tk = a->tk, D = a->dim, rows = a->batch * a->heads * Tq;
    double *dP = (double *)malloc((size_t)Tk * sizeof(double));
    double *dS = (double *)malloc((size_t)Tk * sizeof(double));
    if (!dP || !dS) abort();
    memset(dk, 0, (size_t)(a->batch * a->heads * Tk * D) * sizeof(double));
    memset(dv, 0, (size_t)(a->batch * a->heads * Tk * D) * sizeof(double));
    for (int64_t r = 0; r < rows; r++) {
        const int64_t bh = r / Tq;
        const double *kb = k + bh * Tk * D, *vb = v + bh * Tk * D, *go = dout + r * D;
        for (int64_t j = 0; j < Tk; j++) {
            double s = 0.0;
            for (int64_t d = 0; d < D; d++) s += go[d] * vb[j * D + d];
            dP[j] = s;
        }
        t_pgs one;
        memset(&one, 0, sizeof one);
        mmx_param_grads g1 = {one.dr, one.dt, &one.da};
        mmx_status st = mmx_backward_f64(nm, dS, Tk, &g1, dP, Tk, P + r * Tk, Tk, S + r * Tk, Tk, 1, Tk);
        if (st != MMX_OK) {
            fprintf(stderr, "reference backward failed: %s\n", mmx_last_error());
            abort();
        }
        for (int n = 0; n < 2 * MMX_MULTIMAX_MAX_ORDER; n++) {
            pg->dr[n] += one.dr[n], pg->dt[n] += one.dt[n];
            if (mag) mag->dr[n] += fabs(one.dr[n]), mag->dt[n] += fabs(one.dt[n]);
        }
        pg->da += one.da;
        if (mag) mag->da += fabs(one.da);
        if (mag && nm->kind == MMX_NORM_MULTIMAX) mm_mag(nm, mag, P + r * Tk, S + r * Tk, dP, Tk);
        for (int64_t d = 0; d < D; d++) {
            double s = 0.0;
            for (int64_t j = 0; j < Tk; j++) s += dS[j] * kb[j * D + d];
            dq[r * D + d] = a->scale * s;
        }
        for (int64_t j = 0; j < Tk; j++)
            for (int64_t d = 0; d < D; d++) {
                dk[(bh * Tk + j) * D + d] += a->scale * dS[j] * q[r * D + d];
                dv[(bh * Tk + j) * D + d] += P[r * Tk + j] * go[d];
            }
    }
    free(dP), free(dS);
}

/* Data near a discontinuity of the map's derivative (the sparse maps' support boundary, where
 * sparsemax's Jacobian jumps and alpha-entmax's p^(2-alpha) is steep) or of the map itself
 * (EvSoftMax's below-mean mask): float32 rounding of a score can flip the side, a difference
 * that is no error. Returns 1 if some visible score is within delta of such a point. */
static inline int ref_ambiguous(const mmx_norm *nm, const double *P, const double *S, int64_t rows, int64_t Tk)
{
    double am1;
    switch (nm->kind) {
    case MMX_NORM_SPARSEMAX: am1 = 1.0; break;
    case MMX_NORM_ENTMAX15: am1 = 0.5; break;
    case MMX_NORM_ENTMAX: am1 = nm->alpha - 1.0; break;
    case MMX_NORM_EVSOFTMAX: am1 = 0.0; break;
    default: return 0;
    }
    for (int64_t r = 0; r < rows; r++) {
        const double *x = S + r * Tk, *p = P + r * Tk;
        double mx = 0.0, mean = 0.0, pmax = -1.0, tau = 0.0;
        int64_t n = 0, jm = -1;
        for (int64_t j = 0; j < Tk; j++)
            if (x[j] != -INFINITY) {
                mx = fmax(mx, fabs(x[j])), mean += x[j], n++;
                if (p[j] > pmax) pmax = p[j], jm = j;
            }
        if (n < 2) continue; /* one visible entry is its own mean, in any precision */
        mean /= (double)n;
        if (am1 > 0) tau = am1 * x[jm] - pow(pmax, am1); /* p = (am1 x - tau)^(1/am1) */
        const double delta = am1 > 0 ? 2e-5 * am1 * (1.0 + mx) : 4e-6 * (1.0 + mx);
        for (int64_t j = 0; j < Tk; j++) {
            if (x[j] == -INFINITY) continue;
            double dist = am1 > 0 ? fabs(am1 * x[j] - tau) : fabs(x[j] - mean);
            if (dist < delta) return 1;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------------------------
 * A problem: descriptor, float inputs and their exact double copies
 * ------------------------------------------------------------------------------- */

typedef struct {
    mmx_attn a;
    int32_t kl[8];
    int64_t nq, nk, rows, nst; /* elements of q/out/dq, of k/v/dk/dv; B*H*Tq rows; stats */
    float *q, *k, *v, *dout;
    double *qd, *kd, *vd, *doutd;
} t_prob;

static inline void *t_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

static inline void prob_init(t_prob *p, int64_t B, int64_t H, int64_t Tq, int64_t Tk, int64_t D,
                             int causal, const int32_t *kl)
{
    memset(p, 0, sizeof *p);
    p->a = mmx_attn_make(B, H, Tq, Tk, D);
    p->a.causal = causal;
    if (kl) {
        for (int64_t b = 0; b < B && b < 8; b++) p->kl[b] = kl[b];
        p->a.key_len = p->kl;
    }
    p->nq = B * H * Tq * D, p->nk = B * H * Tk * D, p->rows = B * H * Tq;
    p->nst = p->rows * MMX_ATTN_STATS;
    p->q = t_malloc((size_t)p->nq * sizeof(float)), p->dout = t_malloc((size_t)p->nq * sizeof(float));
    p->k = t_malloc((size_t)p->nk * sizeof(float)), p->v = t_malloc((size_t)p->nk * sizeof(float));
    p->qd = t_malloc((size_t)p->nq * sizeof(double)), p->doutd = t_malloc((size_t)p->nq * sizeof(double));
    p->kd = t_malloc((size_t)p->nk * sizeof(double)), p->vd = t_malloc((size_t)p->nk * sizeof(double));
}

static inline void fill_pair(float *f, double *d, int64_t n, double s, t_rng *r)
{
    for (int64_t i = 0; i < n; i++) {
        f[i] = (float)(s * t_normal(r));
        d[i] = (double)f[i];
    }
}

/* q ~ N(0, qs^2), k, v, dout ~ N(0, 1) */
static inline void prob_fill(t_prob *p, t_rng *r, double qs)
{
    fill_pair(p->q, p->qd, p->nq, qs, r);
    fill_pair(p->k, p->kd, p->nk, 1.0, r);
    fill_pair(p->v, p->vd, p->nk, 1.0, r);
    fill_pair(p->dout, p->doutd, p->nq, 1.0, r);
}

static inline void prob_free(t_prob *p)
{
    free(p->q), free(p->k), free(p->v), free(p->dout);
    free(p->qd), free(p->kd), free(p->vd), free(p->doutd);
}

/* ---------------------------------------------------------------------------------
 * Library calls on exact-size workspaces with guards
 * ------------------------------------------------------------------------------- */

#define WS_GUARD 64
#define WS_BYTE 0xA5

/* Allocates bytes (+ misalign before, WS_GUARD after), all WS_BYTE; returns the base. */
static inline unsigned char *ws_alloc(size_t bytes, size_t misalign)
{
    unsigned char *w = t_malloc(bytes + misalign + WS_GUARD);
    memset(w, WS_BYTE, bytes + misalign + WS_GUARD);
    return w;
}
static inline int ws_guard_ok(const unsigned char *w, size_t bytes, size_t misalign)
{
    for (size_t i = 0; i < misalign; i++)
        if (w[i] != WS_BYTE) return 0;
    for (size_t i = misalign + bytes; i < misalign + bytes + WS_GUARD; i++)
        if (w[i] != WS_BYTE) return 0;
    return 1;
}

static inline mmx_status lib_forward(const t_prob *p, const mmx_norm *nm, float *out, float *stats,
                                     size_t misalign)
{
    size_t bytes = 0;
    mmx_status st = mmx_attn_workspace_size(&p->a, nm, 0, &bytes);
    CHECKF(st == MMX_OK, "forward workspace size: %s (%s)", mmx_status_str(st), mmx_last_error());
    if (st != MMX_OK) return st;
    unsigned char *w = ws_alloc(bytes, misalign);
    st = mmx_attn_forward(&p->a, nm, out, stats, p->q, p->k, p->v, w + misalign, bytes);
    CHECKF(ws_guard_ok(w, bytes, misalign), "forward wrote outside its %zu-byte workspace", bytes);
    free(w);
    return st;
}

static inline mmx_status lib_backward(const t_prob *p, const mmx_norm *nm, float *dq, float *dk, float *dv,
                                      mmx_param_grads *pg, const float *out, const float *stats,
                                      size_t misalign)
{
    size_t bytes = 0;
    mmx_status st = mmx_attn_workspace_size(&p->a, nm, 1, &bytes);
    CHECKF(st == MMX_OK, "backward workspace size: %s (%s)", mmx_status_str(st), mmx_last_error());
    if (st != MMX_OK) return st;
    unsigned char *w = ws_alloc(bytes, misalign);
    st = mmx_attn_backward(&p->a, nm, dq, dk, dv, pg, p->dout, out, stats, p->q, p->k, p->v,
                           w + misalign, bytes);
    CHECKF(ws_guard_ok(w, bytes, misalign), "backward wrote outside its %zu-byte workspace", bytes);
    free(w);
    return st;
}

/* ---------------------------------------------------------------------------------
 * Comparisons
 * ------------------------------------------------------------------------------- */

static inline double maxabs(const double *x, int64_t n)
{
    double m = 0.0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
    return m;
}

/* |got - ref| <= atol + rtol |ref| everywhere (NaN fails); returns the worst error/tol ratio. */
static inline double cmp_f32(const char *what, const float *got, const double *ref, int64_t n, double rtol,
                             double atol, const char *file, int line)
{
    double worst = 0.0;
    int64_t wi = -1;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - ref[i]), tol = atol + rtol * fabs(ref[i]);
        double ratio = isnan(e) ? INFINITY : e / (tol > 0 ? tol : 1e-300);
        if (ratio > worst || wi < 0) worst = ratio, wi = i;
    }
    if (n > 0)
        t_check(worst <= 1.0, file, line, what, "worst at index %lld: %.9g vs %.17g (%.3g x tol; atol %.3g rtol %.3g)",
                (long long)wi, (double)got[wi], ref[wi], worst, atol, rtol);
    return worst;
}
#define CMP32(what, got, ref, n, rtol, atol) cmp_f32((what), (got), (ref), (n), (rtol), (atol), __FILE__, __LINE__)

/* Scalar gradients: |got - ref| <= 1e-5 * mag + 1e-5 * |ref| + 1e-10 (mag: sum of |terms|). */
static inline double cmp_scalars(const char *what, const double *got, const double *ref, const double *mag,
                                 int n, const char *file, int line)
{
    double worst = 0.0;
    int wi = 0;
    for (int i = 0; i < n; i++) {
        double tol = 1e-5 * mag[i] + 1e-5 * fabs(ref[i]) + 1e-10, e = fabs(got[i] - ref[i]);
        double ratio = isnan(e) ? INFINITY : e / tol;
        if (ratio > worst) worst = ratio, wi = i;
    }
    t_check(worst <= 1.0, file, line, what, "worst [%d]: %.17g vs %.17g (sum of |terms| %.3g, %.3g x tol)",
            wi, got[wi], ref[wi], mag[wi], worst);
    return worst;
}

static inline int all_finite(const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

static inline int64_t first_nonzero(const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (x[i] != 0.0f) return i;
    return -1;
}

static inline int same_bits(const float *a, const float *b, int64_t n)
{
    return !memcmp(a, b, (size_t)n * sizeof(float));
}

static inline int inputs_intact(const t_prob *p)
{
    for (int64_t i = 0; i < p->nq; i++)
        if (p->q[i] != (float)p->qd[i] || p->dout[i] != (float)p->doutd[i]) return 0;
    for (int64_t i = 0; i < p->nk; i++)
        if (p->k[i] != (float)p->kd[i] || p->v[i] != (float)p->vd[i]) return 0;
    return 1;
}
/* ---------------------------------------------------------------------------------
 * The reference results of one problem
 * ------------------------------------------------------------------------------- */

typedef struct {
    double *out, *P, *S, *dq, *dk, *dv;
    t_pgs pg, mag;
} t_ref;

static inline void ref_alloc(t_ref *r, const t_prob *p)
{
    const int64_t ns = p->rows * p->a.tk;
    r->out = t_malloc((size_t)p->nq * sizeof(double)), r->dq = t_malloc((size_t)p->nq * sizeof(double));
    r->dk = t_malloc((size_t)p->nk * sizeof(double)), r->dv = t_malloc((size_t)p->nk * sizeof(double));
    r->P = t_malloc((size_t)ns * sizeof(double)), r->S = t_malloc((size_t)ns * sizeof(double));
}
static inline void ref_free(t_ref *r) { free(r->out), free(r->P), free(r->S), free(r->dq), free(r->dk), free(r->dv); }

/* Fills p with data where the reference is unambiguous for this map (see ref_ambiguous) and
 * computes the reference forward. */
static inline void make_data(t_prob *p, t_ref *r, const mmx_norm *nm, double qs, uint64_t seed)
{
    t_rng rng = t_rng_seed(seed + g_seed);
    int tries = 0;
    for (;; tries++) {
        prob_fill(p, &rng, qs);
        ref_attn_fwd(&p->a, nm, r->out, r->P, r->S, p->qd, p->kd, p->vd);
        if (!ref_ambiguous(nm, r->P, r->S, p->rows, p->a.tk) || tries == 40) break;
    }
    CHECKF(tries < 40, "no unambiguous data in 40 tries (test bug)");
}

#endif /* MMX_TEST_ATTN_REF_H */
