/*
 * bench_norms.c - `multimax bench norms`: speed of mmx_forward_f32 / mmx_backward_f32 of
 * every normalizer, as a ratio to a memcpy of the same bytes measured in the same run on
 * the same threads, and optionally against the PyTorch / entmax peers (bench_peers.c).
 *
 * Memory: one arena for the whole run, sized for the largest shape and touched once
 * before any timing (page faults cost ~10-30 us per page here, see MACHINE.md); each
 * shape uses a prefix of the named views x, y, dy, dx and dst.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_norms.h"
#include "bench_util.h"

typedef struct {
    char *arena;            /* the one allocation                                    */
    float *x, *y, *dy, *dx; /* (rows, cols) each, contiguous rows; x and dy random   */
    char *dst;              /* memcpy destination, 2 * bmax bytes                    */
    size_t bmax;            /* bytes of one (rows, cols) float buffer, largest shape */
} bn_bufs;

typedef struct {
    const bn_opts *o;
    const bn_peers *peers;
    bn_bufs b;
    bn_row *rows; /* (n_norms * n_shapes * n_threads * 3) */
    int n_rows;
    double *times; /* (reps) per-call times of one measurement */
    FILE *table, *json;
    const char *isa;
} bn_run;

static mmx_norm make_norm(mmx_norm_kind k, double alpha) {
    /* The acceptance setting: order 2, nonzero ts so that the modulator really runs. */
    static const double ranges[4] = {-1.0, 2.0, -1.0, 2.0};
    static const double ts[4] = {0.1, -0.1, 0.02, -0.02};
    switch (k) {
    case MMX_NORM_MULTIMAX: return mmx_norm_multimax(2, ranges, ts);
    case MMX_NORM_SPARSEMAX: return mmx_norm_sparsemax();
    case MMX_NORM_ENTMAX15: return mmx_norm_entmax15();
    case MMX_NORM_ENTMAX: return mmx_norm_entmax(alpha);
    case MMX_NORM_EVSOFTMAX: return mmx_norm_evsoftmax(0);
    default: return mmx_norm_softmax(1.0);
    }
}

static int bufs_alloc(bn_bufs *b, const bn_opts *o) {
    size_t elems = 0;
    for (int s = 0; s < o->n_shapes; s++)
        if ((size_t)(o->rows[s] * o->cols[s]) > elems) elems = (size_t)(o->rows[s] * o->cols[s]);
    b->bmax = (elems * sizeof(float) + 63) & ~(size_t)63;
    size_t total = 6 * b->bmax + 64;
    double t0 = bench_now();
    b->arena = bench_alloc_touched(total);
    if (!b->arena) {
        fprintf(stderr, "%s: cannot allocate %.1f MiB for the buffers; try smaller --shapes\n",
                BN_PROG, (double)total / 1048576.0);
        return BN_EXIT_RUN;
    }
    b->x = (float *)b->arena;
    b->y = (float *)(b->arena + b->bmax);
    b->dy = (float *)(b->arena + 2 * b->bmax);
    b->dx = (float *)(b->arena + 3 * b->bmax);
    b->dst = b->arena + 4 * b->bmax;
    bench_fill_normal(b->x, b->bmax / sizeof(float), 1, 3.0f);
    bench_fill_normal(b->dy, b->bmax / sizeof(float), 2, 1.0f);
    fprintf(stderr, "%s: %.1f MiB of buffers allocated and touched in %.2f s\n", BN_PROG,
            (double)total / 1048576.0, bench_now() - t0);
    return BN_EXIT_OK;
}

static int lib_error(const char *fn, const mmx_norm *nm, int64_t rows, int64_t cols,
                     mmx_status st) {
    fprintf(stderr, "%s: %s(%s, %lldx%lld) failed: %s (%s)\n", BN_PROG, fn, mmx_norm_name(nm->kind),
            (long long)rows, (long long)cols, mmx_last_error(), mmx_status_str(st));
    return BN_EXIT_RUN;
}

/* One warm-up call, then the median of reps timed calls, in ms (*ms). */
static int time_forward(bn_run *R, const mmx_norm *nm, int64_t rows, int64_t cols, double *ms) {
    const bn_bufs *b = &R->b;
    for (int r = -1; r < R->o->reps; r++) {
        double t0 = bench_now();
        mmx_status st = mmx_forward_f32(nm, b->y, cols, b->x, cols, rows, cols);
        if (st != MMX_OK) return lib_error("mmx_forward_f32", nm, rows, cols, st);
        if (r >= 0) R->times[r] = 1e3 * (bench_now() - t0);
    }
    *ms = bench_median(R->times, R->o->reps);
    return BN_EXIT_OK;
}

/* An untimed forward call, to get y for a backward-only run. */
static int forward_once(bn_run *R, const mmx_norm *nm, int64_t rows, int64_t cols) {
    mmx_status st = mmx_forward_f32(nm, R->b.y, cols, R->b.x, cols, rows, cols);
    return st == MMX_OK ? BN_EXIT_OK : lib_error("mmx_forward_f32", nm, rows, cols, st);
}

/* Needs y from a forward call. Parameter gradients are asked for (MultiMax dranges / dts,
 * entmax dalpha), so their reductions are part of the timed work. */
static int time_backward(bn_run *R, const mmx_norm *nm, int64_t rows, int64_t cols, double *ms) {
    const bn_bufs *b = &R->b;
    double dranges[4] = {0}, dts[4] = {0}, dalpha = 0.0;
    mmx_param_grads pg = {NULL, NULL, NULL};
    if (nm->kind == MMX_NORM_MULTIMAX) pg.dranges = dranges, pg.dts = dts;
    if (nm->kind == MMX_NORM_ENTMAX) pg.dalpha = &dalpha;
    for (int r = -1; r < R->o->reps; r++) {
        double t0 = bench_now();
        mmx_status st = mmx_backward_f32(nm, b->dx, cols, &pg, b->dy, cols, b->y, cols, b->x,
                                         cols, rows, cols);
        if (st != MMX_OK) return lib_error("mmx_backward_f32", nm, rows, cols, st);
        if (r >= 0) R->times[r] = 1e3 * (bench_now() - t0);
    }
    *ms = bench_median(R->times, R->o->reps);
    return BN_EXIT_OK;
}

/* Stores a row, attaches its peer figure, and prints it (table and JSON). */
static void emit(bn_run *R, const bn_row *proto, int dir, double ms, double memcpy_ms) {
    bn_row *r = &R->rows[R->n_rows++];
    *r = *proto;
    r->dir = dir;
    r->ms = ms;
    r->memcpy_ms = memcpy_ms;
    const bn_peer *p = R->peers ? bn_peers_find(R->peers, r) : NULL;
    if (p) {
        snprintf(r->peer, sizeof r->peer, "%s", p->peer);
        r->peer_ms = p->ms;
    }
    bn_table_row(R->table, r, R->isa);
    fflush(R->table);
    if (R->json) {
        bn_json_row(R->json, r, R->isa, R->o);
        fflush(R->json);
    }
}

static int run_op(bn_run *R, mmx_norm_kind k, const bn_row *key, const double memcpy_ms[3]) {
    mmx_norm nm = make_norm(k, R->o->alpha);
    bn_row proto = *key;
    proto.op = k;
    double fwd_ms = 0.0, bwd_ms = 0.0;
    /* Always at least one forward: the backward needs y. */
    int rc = R->o->fwd ? time_forward(R, &nm, key->rows, key->cols, &fwd_ms)
                       : forward_once(R, &nm, key->rows, key->cols);
    if (rc) return rc;
    if (R->o->fwd) emit(R, &proto, BN_FWD, fwd_ms, memcpy_ms[0]);
    if (!R->o->bwd) return BN_EXIT_OK;
    if ((rc = time_backward(R, &nm, key->rows, key->cols, &bwd_ms))) return rc;
    double bwd_memcpy = k == MMX_NORM_MULTIMAX ? memcpy_ms[2] : memcpy_ms[1];
    emit(R, &proto, BN_BWD, bwd_ms, bwd_memcpy);
    if (R->o->fwd) emit(R, &proto, BN_FWDBWD, fwd_ms + bwd_ms, memcpy_ms[0] + bwd_memcpy);
    return BN_EXIT_OK;
}

static int run_shape(bn_run *R, int64_t rows, int64_t cols) {
    size_t bytes = (size_t)(rows * cols) * sizeof(float);
    /* Same starting state for every shape, whatever ran before (pages already faulted). */
    memset(R->b.y, 0, bytes);
    memset(R->b.dx, 0, bytes);
    memset(R->b.dst, 0, 2 * bytes);
    for (int t = 0; t < R->o->n_threads; t++) {
        bn_row key = {.rows = rows, .cols = cols, .threads = R->o->threads[t]};
        mmx_status st = mmx_set_num_threads(key.threads);
        if (st != MMX_OK) {
            fprintf(stderr, "%s: mmx_set_num_threads(%d): %s\n", BN_PROG, key.threads,
                    mmx_last_error());
            return BN_EXIT_RUN;
        }
        /* fwd moves 2B: copy B bytes; bwd moves 3B: copy 1.5B; MultiMax's bwd (it also
         * reads x) moves 4B: copy 2B. */
        double memcpy_ms[3] = {0.0, 0.0, 0.0};
        char *dst = R->b.dst, *src = (char *)R->b.x;
        int reps = R->o->reps;
        if (R->o->fwd) memcpy_ms[0] = bench_memcpy_ms(dst, src, bytes, key.threads, reps, R->times);
        if (R->o->bwd) {
            memcpy_ms[1] = bench_memcpy_ms(dst, src, bytes / 2 * 3, key.threads, reps, R->times);
            memcpy_ms[2] = bench_memcpy_ms(dst, src, 2 * bytes, key.threads, reps, R->times);
        }
        for (int k = 0; k < R->o->n_norms; k++) {
            int rc = run_op(R, R->o->norms[k], &key, memcpy_ms);
            if (rc) return rc;
        }
    }
    return BN_EXIT_OK;
}

static int run_all(bn_run *R) {
    const bn_opts *o = R->o;
    int rc = bufs_alloc(&R->b, o);
    if (rc) return rc;
    R->rows = calloc((size_t)(o->n_norms * o->n_shapes * o->n_threads * 3), sizeof *R->rows);
    R->times = calloc((size_t)o->reps, sizeof *R->times);
    if (!R->rows || !R->times) {
        fprintf(stderr, "%s: out of memory\n", BN_PROG);
        return BN_EXIT_RUN;
    }
    double load = bench_loadavg();
    fprintf(R->table, "# multimax %s, %s, cpu: %s\n# reps %d (median), isa %s, load average %.2f\n",
            mmx_version(), mmx_build_info(), mmx_cpu_features(), o->reps, R->isa, load);
    if (load >= 0.5)
        fprintf(stderr, "%s: note: load average %.2f: other processes are running, so timings "
                        "(multi-threaded ones most) will be noisy\n", BN_PROG, load);
    bn_table_header(R->table);
    for (int s = 0; s < o->n_shapes && !rc; s++) rc = run_shape(R, o->rows[s], o->cols[s]);
    if (!rc) bn_summary(R->table, R->rows, R->n_rows);
    return rc;
}

int mmx_bench_norms_main(int argc, char **argv) {
    bn_opts o;
    bn_peers peers = {NULL, 0, 0};
    int rc = bn_parse_args(&o, argc, argv);
    if (rc) return rc < 0 ? BN_EXIT_OK : rc;
    bn_run R = {.o = &o, .table = stdout, .isa = bench_isa()};
    if (o.json && strcmp(o.json, "-") == 0) {
        R.json = stdout; /* stdout carries only the JSON lines; the table goes to stderr */
        R.table = stderr;
    } else if (o.json && !(R.json = fopen(o.json, "w"))) {
        fprintf(stderr, "%s: cannot open --json file '%s': %s\n", BN_PROG, o.json, strerror(errno));
        return BN_EXIT_RUN;
    }
    /* Peers first, so that the Python process is gone before our buffers exist. */
    if (o.peers && (rc = bn_peers_run(&o, &peers)) == BN_EXIT_OK) R.peers = &peers;
    if (!rc) rc = run_all(&R);
    if (R.json && R.json != stdout && fclose(R.json) != 0 && !rc) {
        fprintf(stderr, "%s: error writing '%s': %s\n", BN_PROG, o.json, strerror(errno));
        rc = BN_EXIT_RUN;
    }
    if (fflush(stdout) != 0 && !rc) rc = BN_EXIT_RUN;
    bn_peers_free(&peers);
    free(R.rows);
    free(R.times);
    free(R.b.arena);
    return rc;
}
