/*
 * bench_attn.c - `multimax bench attn`: speed and memory of the fused multi-head attention
 * (mmx_attn_forward / mmx_attn_backward) for each normalizer, against the machine's sgemm
 * rate, optionally against the naive materialised path (bench_attn_blas.c) and the PyTorch
 * peers (bench_attn_peers.c, bench/peers_attn.py).
 *
 * Memory: the tensors (B, H, T, D) and stats are one arena sized for the largest T; the
 * naive path's matrices another, sized for the largest T it runs at; the fused workspace
 * grows to the largest size asked. All are touched before any timing (page faults cost
 * ~10-30 us per page here, see MACHINE.md).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_attn.h"
#include "bench_util.h"

typedef struct {
    char *arena;
    float *q, *k, *v, *dout;           /* (B, H, T, D) inputs; random             */
    float *out, *dq, *dk, *dv;         /* (B, H, T, D) fused outputs              */
    float *out2, *dq2, *dk2, *dv2;     /* (B, H, T, D) naive outputs (the check)  */
    float *stats;                      /* (B, H, T, MMX_ATTN_STATS)               */
    char *naive_arena;                 /* NULL when the naive path never runs     */
    ba_naive_bufs nb;                  /* views into naive_arena                  */
    void *work;                        /* fused workspace, work_bytes             */
    size_t work_bytes;
} ba_bufs;

typedef struct {
    const ba_opts *o;
    ba_bufs b;
    ba_rows rows;  /* every measured row, in order */
    ba_rows peers; /* the peers' rows (impl = peer name) */
    double *times, *btimes;
    ba_sgemm rates[BA_MAX_THREADS];
    int failed; /* a library call failed somewhere (exit status 1 at the end) */
    FILE *table, *json;
    const char *isa;
} ba_run;

/* Per-call state of one timed measurement. */
typedef struct {
    mmx_attn a;
    mmx_norm nm;
    double dr[4], dt[4], dalpha; /* parameter gradients of the last call */
} ba_call;

int ba_rows_push(ba_rows *rs, const ba_row *r) {
    if (rs->n == rs->cap) {
        int cap = rs->cap ? 2 * rs->cap : 64;
        ba_row *v = realloc(rs->v, (size_t)cap * sizeof *v);
        if (!v) return -1;
        rs->v = v;
        rs->cap = cap;
    }
    rs->v[rs->n++] = *r;
    return 0;
}

double ba_flops(const ba_opts *o, int64_t T, int pass) {
    double f = (pass == BA_FWD ? 4.0 : 12.0) * (double)o->batch * (double)o->heads * (double)T *
               (double)T * (double)o->dim;
    return o->causal ? 0.5 * f : f;
}

static size_t tensor_elems(const ba_opts *o, int64_t T) {
    return (size_t)(o->batch * o->heads * T * o->dim);
}

/* The naive path runs at T iff its matrices fit in --naive-max-gib. */
static int naive_fits(const ba_opts *o, int64_t T) {
    int pass = o->fwdbwd ? BA_FWDBWD : BA_FWD;
    return ba_naive_bytes(o, T, pass) <= o->naive_gib * 1073741824.0;
}

static int bufs_alloc(ba_bufs *b, const ba_opts *o) {
    int64_t tmax = 0, tnaive = 0;
    for (int i = 0; i < o->n_T; i++) {
        if (o->T[i] > tmax) tmax = o->T[i];
        if (o->naive && naive_fits(o, o->T[i]) && o->T[i] > tnaive) tnaive = o->T[i];
    }
    size_t te = (tensor_elems(o, tmax) + 15) & ~(size_t)15;
    size_t se = ((size_t)(o->batch * o->heads * tmax) * MMX_ATTN_STATS + 15) & ~(size_t)15;
    size_t total = (12 * te + se) * sizeof(float);
    double t0 = bench_now();
    b->arena = bench_alloc_touched(total);
    size_t me = (size_t)(o->batch * o->heads) * (size_t)tnaive * (size_t)tnaive;
    size_t naive_total = (o->fwdbwd ? 3 : 2) * me * sizeof(float);
    if (tnaive) b->naive_arena = bench_alloc_touched(naive_total);
    if (!b->arena || (tnaive && !b->naive_arena)) {
        fprintf(stderr, "%s: cannot allocate %.1f MiB for the buffers; try a smaller --T\n",
                BA_PROG, (double)(total + naive_total) / 1048576.0);
        return BA_EXIT_RUN;
    }
    float *f = (float *)b->arena;
    float **views[12] = {&b->q, &b->k, &b->v, &b->dout, &b->out, &b->dq,
                         &b->dk, &b->dv, &b->out2, &b->dq2, &b->dk2, &b->dv2};
    for (int i = 0; i < 12; i++) *views[i] = f + (size_t)i * te;
    b->stats = f + 12 * te;
    bench_fill_normal(b->q, te, 21, 1.0f);
    bench_fill_normal(b->k, te, 22, 1.0f);
    bench_fill_normal(b->v, te, 23, 1.0f);
    bench_fill_normal(b->dout, te, 24, 1.0f);
    if (tnaive) {
        b->nb.s = (float *)b->naive_arena;
        b->nb.p = b->nb.s + me;
        b->nb.dp = o->fwdbwd ? b->nb.p + me : NULL;
    }
    fprintf(stderr, "%s: %.1f MiB of buffers allocated and touched in %.2f s\n", BA_PROG,
            (double)(total + (tnaive ? naive_total : 0)) / 1048576.0, bench_now() - t0);
    return BA_EXIT_OK;
}

/* Grows the fused workspace (touched, outside any timed region). */
static int ensure_work(ba_bufs *b, size_t bytes) {
    if (bytes <= b->work_bytes && b->work) return 0;
    free(b->work);
    b->work = bench_alloc_touched(bytes);
    b->work_bytes = b->work ? bytes : 0;
    return b->work ? 0 : -1;
}

static void fail_note(ba_run *R, ba_row *row, const char *fn, mmx_status st) {
    snprintf(row->note, sizeof row->note, "%s: %s (%s)", fn, mmx_last_error(),
             mmx_status_str(st));
    fprintf(stderr, "%s: %s T=%lld %s %s: %s\n", BA_PROG, mmx_norm_name(row->norm),
            (long long)row->T, ba_pass_name(row->pass), row->impl, row->note);
    row->ms = -1.0;
    R->failed = 1;
}

static mmx_param_grads call_grads(ba_call *c) {
    mmx_param_grads pg = {NULL, NULL, NULL};
    memset(c->dr, 0, sizeof c->dr);
    memset(c->dt, 0, sizeof c->dt);
    c->dalpha = 0.0;
    if (c->nm.kind == MMX_NORM_MULTIMAX) pg.dranges = c->dr, pg.dts = c->dt;
    if (c->nm.kind == MMX_NORM_ENTMAX) pg.dalpha = &c->dalpha;
    return pg;
}

/* reps when the first call took `first` seconds: cut to the budget, never below 1. */
static int budget_reps(const ba_opts *o, double first) {
    if (first * o->reps <= o->budget) return o->reps;
    int r = (int)(o->budget / first);
    return r < 1 ? 1 : r;
}

/* One call of a path: forward (bwd = 0) or backward (bwd = 1); on failure *fn names the
 * failing entry point. */
typedef mmx_status (*pass_fn)(const ba_bufs *b, ba_call *c, mmx_param_grads *pg, int bwd,
                              const char **fn);

static mmx_status fused_pass(const ba_bufs *b, ba_call *c, mmx_param_grads *pg, int bwd,
                             const char **fn) {
    *fn = bwd ? "mmx_attn_backward" : "mmx_attn_forward";
    if (!bwd)
        return mmx_attn_forward(&c->a, &c->nm, b->out, b->stats, b->q, b->k, b->v, b->work,
                                b->work_bytes);
    return mmx_attn_backward(&c->a, &c->nm, b->dq, b->dk, b->dv, pg, b->dout, b->out, b->stats,
                             b->q, b->k, b->v, b->work, b->work_bytes);
}

/* The naive path; outputs go to out2, dq2, dk2, dv2. */
static mmx_status naive_pass(const ba_bufs *b, ba_call *c, mmx_param_grads *pg, int bwd,
                             const char **fn) {
    *fn = bwd ? "mmx_backward_f32 (naive)" : "mmx_forward_f32 (naive)";
    if (!bwd) return ba_naive_forward(&c->a, &c->nm, &b->nb, b->out2, b->q, b->k, b->v);
    return ba_naive_backward(&c->a, &c->nm, &b->nb, b->dq2, b->dk2, b->dv2, pg, b->dout, b->q,
                             b->k, b->v);
}

/* The warm-up calls, then reps timed forward (+ backward) calls of one path. */
static void time_path(ba_run *R, ba_call *c, ba_row *row, pass_fn pass) {
    int reps = R->o->reps, first = -R->o->warmup;
    const char *fn;
    for (int r = first; r < reps; r++) {
        mmx_param_grads pg = call_grads(c);
        double t0 = bench_now();
        mmx_status st = pass(&R->b, c, &pg, 0, &fn);
        double t1 = bench_now();
        if (st == MMX_OK && row->pass == BA_FWDBWD) st = pass(&R->b, c, &pg, 1, &fn);
        if (st != MMX_OK) {
            fail_note(R, row, fn, st);
            return;
        }
        double t2 = bench_now();
        if (r == first) reps = budget_reps(R->o, t2 - t0);
        if (r >= 0) R->times[r] = 1e3 * (t2 - t0), R->btimes[r] = 1e3 * (t2 - t1);
    }
    row->reps = reps;
    row->ms = bench_median(R->times, reps);
    row->bwd_ms = row->pass == BA_FWDBWD ? bench_median(R->btimes, reps) : -1.0;
}

/* One fused measurement: the workspace (its size is the row's peak extra memory), then the
 * timed calls. */
static void time_fused(ba_run *R, ba_call *c, ba_row *row) {
    size_t wf = 0, wb = 0;
    mmx_status st = mmx_attn_workspace_size(&c->a, &c->nm, 0, &wf);
    if (st == MMX_OK && row->pass == BA_FWDBWD) st = mmx_attn_workspace_size(&c->a, &c->nm, 1, &wb);
    if (st != MMX_OK) {
        fail_note(R, row, "mmx_attn_workspace_size", st);
        return;
    }
    size_t ws = wf > wb ? wf : wb;
    if (ensure_work(&R->b, ws)) {
        snprintf(row->note, sizeof row->note, "cannot allocate a %zu-byte workspace", ws);
        row->ms = -1.0, R->failed = 1;
        return;
    }
    row->peak_mb = ((double)ws + (double)(c->a.batch * c->a.heads * c->a.tq) * MMX_ATTN_STATS *
                                     sizeof(float)) / 1e6;
    time_path(R, c, row, fused_pass);
}

/* One naive measurement. */
static void time_naive(ba_run *R, ba_call *c, ba_row *row) {
    row->peak_mb = ba_naive_bytes(R->o, row->T, row->pass) / 1e6;
    time_path(R, c, row, naive_pass);
}

/* max |x - ref| / max |ref| (*maxrel) and ||x - ref|| / ||ref|| (returned) over n values. A
 * NaN makes both NaN. */
static double rel_diff(const float *x, const float *ref, size_t n, double *maxrel) {
    double num = 0.0, den = 0.0, e2 = 0.0, r2 = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = (double)x[i] - (double)ref[i], m = fabs((double)ref[i]);
        if (!(fabs(e) <= num)) num = fabs(e);
        if (m > den) den = m;
        e2 += e * e, r2 += m * m;
    }
    *maxrel = den > 0.0 ? num / den : num;
    return r2 > 0.0 ? sqrt(e2 / r2) : sqrt(e2);
}

static double grads_diff(const double *x, const double *ref, int n) {
    double d = 0.0;
    for (int i = 0; i < n; i++) {
        double e = fabs(x[i] - ref[i]) / fmax(fabs(ref[i]), 1e-30);
        if (!(e <= d)) d = e;
    }
    return d;
}

static int push_row(ba_run *R, const ba_row *row) {
    if (ba_rows_push(&R->rows, row) == 0) return BA_EXIT_OK;
    fprintf(stderr, "%s: out of memory\n", BA_PROG);
    return BA_EXIT_RUN;
}

static ba_row proto_row(mmx_norm_kind k, int pass, const char *impl, int64_t T, int threads) {
    ba_row r;
    memset(&r, 0, sizeof r);
    r.norm = k, r.pass = pass, r.T = T, r.threads = threads;
    r.ms = r.bwd_ms = r.maxdiff = r.l2diff = r.gdiff = r.load = -1.0;
    snprintf(r.impl, sizeof r.impl, "%s", impl);
    return r;
}

/* Fused and (with --naive) naive rows of one normalizer at (T, threads), each pass. */
static int run_norm(ba_run *R, mmx_norm_kind k, int64_t T, int threads) {
    const ba_opts *o = R->o;
    ba_call fc = {.a = mmx_attn_make(o->batch, o->heads, T, T, o->dim)}, nc;
    fc.a.causal = o->causal;
    fc.nm = ba_make_norm(k, o->alpha);
    nc = fc;
    int naive = o->naive && naive_fits(o, T);
    size_t te = tensor_elems(o, T);
    for (int pass = BA_FWD; pass <= BA_FWDBWD; pass++) {
        if (!(pass == BA_FWD ? o->fwd : o->fwdbwd)) continue;
        ba_row fr = proto_row(k, pass, "fused", T, threads);
        ba_row nr = proto_row(k, pass, "naive", T, threads);
        fprintf(stderr, "%s: %s %s T=%lld thr=%d ...\n", BA_PROG, mmx_norm_name(k),
                ba_pass_name(pass), (long long)T, threads);
        time_fused(R, &fc, &fr);
        fr.load = bench_loadavg();
        if (naive) time_naive(R, &nc, &nr), nr.load = bench_loadavg();
        else if (o->naive)
            snprintf(nr.note, sizeof nr.note, "skipped: needs %.1f GiB > --naive-max-gib %g",
                     ba_naive_bytes(o, T, pass) / 1073741824.0, o->naive_gib);
        if (fr.ms >= 0 && nr.ms >= 0) {
            const ba_bufs *b = &R->b;
            const float *mine[4] = {b->out, b->dq, b->dk, b->dv};
            const float *ref[4] = {b->out2, b->dq2, b->dk2, b->dv2};
            static const char *const names[4] = {"out", "dq", "dk", "dv"};
            for (int i = 0; i < (pass == BA_FWDBWD ? 4 : 1); i++) {
                double m, d = rel_diff(mine[i], ref[i], te, &m);
                if (!(m <= fr.maxdiff)) fr.maxdiff = m;
                if (d <= fr.l2diff) continue;
                fr.l2diff = d;
                snprintf(fr.worst, sizeof fr.worst, "%s", names[i]);
            }
            if (pass == BA_FWDBWD && k == MMX_NORM_MULTIMAX) {
                double gr = grads_diff(fc.dr, nc.dr, 4), gt = grads_diff(fc.dt, nc.dt, 4);
                fr.gdiff = gt > gr || gt != gt ? gt : gr; /* NaN wins */
            }
            if (pass == BA_FWDBWD && k == MMX_NORM_ENTMAX)
                fr.gdiff = grads_diff(&fc.dalpha, &nc.dalpha, 1);
        }
        int rc = push_row(R, &fr);
        if (!rc && o->naive) rc = push_row(R, &nr);
        if (rc) return rc;
    }
    return BA_EXIT_OK;
}

/* Prints the rows rows[from..] of one (T, threads) group, with the peers' rows of the group
 * after each normalizer's own. */
static int emit_group(ba_run *R, int from, int64_t T, int threads, int ti) {
    /* The 1-minute load average counts this benchmark's own threads (and lags): only a load
     * well above them says that other processes competed for the cores. */
    double load = bench_loadavg();
    if (load > threads + 0.75)
        fprintf(R->table, "# T=%lld thr=%d: load average %.2f (our threads included): other "
                "processes ran, timings are noisy\n", (long long)T, threads, load);
    for (int i = 0; i < R->peers.n; i++) {
        ba_row *p = &R->peers.v[i];
        if (p->T == T && p->threads == threads && push_row(R, p)) return BA_EXIT_RUN;
    }
    for (int k = 0; k < R->o->n_norms; k++)
        for (int pass = BA_FWD; pass <= BA_FWDBWD; pass++)
            for (int i = from; i < R->rows.n; i++) {
                const ba_row *r = &R->rows.v[i];
                if (r->norm != R->o->norms[k] || r->pass != pass) continue;
                ba_table_row(R->table, r, &R->rows, R->o, &R->rates[ti]);
                if (R->json) ba_json_row(R->json, r, &R->rows, R->o, &R->rates[ti], R->isa);
            }
    fflush(R->table);
    if (R->json) fflush(R->json);
    return BA_EXIT_OK;
}

static int set_threads(int t) {
    mmx_status st = mmx_set_num_threads(t);
    if (st == MMX_OK) return BA_EXIT_OK;
    fprintf(stderr, "%s: mmx_set_num_threads(%d): %s\n", BA_PROG, t, mmx_last_error());
    return BA_EXIT_RUN;
}

static int run_all(ba_run *R) {
    const ba_opts *o = R->o;
    for (int t = 0; t < o->n_threads; t++) {
        if (set_threads(o->threads[t])) return BA_EXIT_RUN;
        ba_sgemm_rates(o->threads[t], &R->rates[t]);
    }
    ba_header(R->table, o, R->isa, R->rates, o->threads, o->n_threads);
    int rc = bufs_alloc(&R->b, o);
    R->times = calloc((size_t)o->reps, sizeof *R->times);
    R->btimes = calloc((size_t)o->reps, sizeof *R->btimes);
    if (!rc && (!R->times || !R->btimes)) {
        fprintf(stderr, "%s: out of memory\n", BA_PROG);
        rc = BA_EXIT_RUN;
    }
    if (rc) return rc;
    ba_table_header(R->table);
    for (int i = 0; i < o->n_T; i++)
        for (int t = 0; t < o->n_threads; t++) {
            if (set_threads(o->threads[t])) return BA_EXIT_RUN;
            int from = R->rows.n;
            for (int k = 0; k < o->n_norms && !rc; k++)
                rc = run_norm(R, o->norms[k], o->T[i], o->threads[t]);
            if (rc || (rc = emit_group(R, from, o->T[i], o->threads[t], t))) return rc;
        }
    ba_summary(R->table, &R->rows, o);
    return BA_EXIT_OK;
}

int mmx_bench_attn_main(int argc, char **argv) {
    ba_opts o;
    int rc = ba_parse_args(&o, argc, argv);
    if (rc) return rc < 0 ? BA_EXIT_OK : rc;
    ba_run R = {.o = &o, .table = stdout, .isa = bench_isa()};
    if (o.json && strcmp(o.json, "-") == 0) {
        R.json = stdout; /* stdout carries only the JSON lines; the table goes to stderr */
        R.table = stderr;
    } else if (o.json && !(R.json = fopen(o.json, "w"))) {
        fprintf(stderr, "%s: cannot open --json file '%s': %s\n", BA_PROG, o.json, strerror(errno));
        return BA_EXIT_RUN;
    }
    /* Peers first, so that the Python processes are gone before our buffers exist. */
    if (o.peers) rc = ba_peers_run(&o, &R.peers);
    if (!rc) rc = run_all(&R);
    if (!rc && R.failed) rc = BA_EXIT_RUN;
    if (R.json && R.json != stdout && fclose(R.json) != 0 && !rc) {
        fprintf(stderr, "%s: error writing '%s': %s\n", BA_PROG, o.json, strerror(errno));
        rc = BA_EXIT_RUN;
    }
    if (fflush(stdout) != 0 && !rc) rc = BA_EXIT_RUN;
    free(R.rows.v);
    free(R.peers.v);
    free(R.times);
    free(R.btimes);
    free(R.b.arena);
    free(R.b.naive_arena);
    free(R.b.work);
    return rc;
}
