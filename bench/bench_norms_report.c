/*
 * bench_norms_report.c - output of `multimax bench norms`: the aligned table, the JSON
 * lines and the summary of time ratios (to SoftMax and to the peers).
 */
#include <string.h>

#include "bench_norms.h"

/* Bytes the op must move: fwd reads x, writes y (2B); bwd reads y, dy, writes dx (3B), and
 * MultiMax's backward also reads x (4B). */
double bn_row_bytes(const bn_row *r) {
    double b = 4.0 * (double)r->rows * (double)r->cols, bwd = r->op == MMX_NORM_MULTIMAX ? 4.0 : 3.0;
    return r->dir == BN_FWD ? 2.0 * b : r->dir == BN_BWD ? bwd * b : (2.0 + bwd) * b;
}

void bn_table_header(FILE *out) {
    fprintf(out, "%-10s %-6s %8s %6s %3s %-7s %10s %7s %10s %6s  %-24s %10s %7s\n", "op", "dir",
            "rows", "cols", "thr", "isa", "ms", "GB/s", "memcpy_ms", "ratio", "peer", "peer_ms",
            "speedup");
}

void bn_table_row(FILE *out, const bn_row *r, const char *isa) {
    fprintf(out, "%-10s %-6s %8lld %6lld %3d %-7s %10.3f %7.2f %10.3f %6.3f", mmx_norm_name(r->op),
            bn_dir_name(r->dir), (long long)r->rows, (long long)r->cols, r->threads, isa, r->ms,
            bn_row_bytes(r) / (r->ms * 1e6), r->memcpy_ms, r->memcpy_ms / r->ms);
    if (r->peer[0])
        fprintf(out, "  %-24s %10.3f %7.2f\n", r->peer, r->peer_ms, r->peer_ms / r->ms);
    else
        fprintf(out, "  %-24s %10s %7s\n", "-", "-", "-");
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void json_string(FILE *out, const char *s) {
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
        else if (c < 0x20) fprintf(out, "\\u%04x", c);
        else fputc(c, out);
    }
    fputc('"', out);
}

void bn_json_row(FILE *out, const bn_row *r, const char *isa, const bn_opts *o) {
    fprintf(out,
            "{\"op\":\"%s\",\"dir\":\"%s\",\"rows\":%lld,\"cols\":%lld,\"threads\":%d,"
            "\"isa\":",
            mmx_norm_name(r->op), bn_dir_name(r->dir), (long long)r->rows, (long long)r->cols,
            r->threads);
    json_string(out, isa);
    fprintf(out, ",\"ms\":%.6g,\"gbps\":%.6g,\"memcpy_ms\":%.6g,\"ratio\":%.6g,\"bytes\":%.0f,"
            "\"reps\":%d",
            r->ms, bn_row_bytes(r) / (r->ms * 1e6), r->memcpy_ms, r->memcpy_ms / r->ms,
            bn_row_bytes(r), o->reps);
    if (r->op == MMX_NORM_ENTMAX) fprintf(out, ",\"alpha\":%.17g", o->alpha);
    if (r->peer[0]) {
        fputs(",\"peer\":", out);
        json_string(out, r->peer);
        fprintf(out, ",\"peer_ms\":%.6g,\"speedup\":%.6g", r->peer_ms, r->peer_ms / r->ms);
    }
    fputs("}\n", out);
}

static const bn_row *find_row(const bn_row *rows, int n, mmx_norm_kind op, int dir,
                              const bn_row *key) {
    for (int i = 0; i < n; i++)
        if (rows[i].op == op && rows[i].dir == dir && rows[i].rows == key->rows &&
            rows[i].cols == key->cols && rows[i].threads == key->threads)
            return &rows[i];
    return NULL;
}

/* Whether rows[i] is the first row of its (shape, threads, dir) group. */
static int first_of_group(const bn_row *rows, int i) {
    for (int j = 0; j < i; j++)
        if (rows[j].dir == rows[i].dir && rows[j].rows == rows[i].rows &&
            rows[j].cols == rows[i].cols && rows[j].threads == rows[i].threads)
            return 0;
    return 1;
}

static void summary_softmax(FILE *out, const bn_row *rows, int n) {
    mmx_norm_kind cols[MMX_NORM_COUNT]; /* the measured ops other than softmax, in order */
    int nc = 0;
    for (int i = 0; i < n; i++) {
        int seen = rows[i].op == MMX_NORM_SOFTMAX;
        for (int k = 0; k < nc && !seen; k++) seen = cols[k] == rows[i].op;
        if (!seen) cols[nc++] = rows[i].op;
    }
    fputs("\ntime ratios to SoftMax (op ms / softmax ms, same shape, threads and dir; "
          "> 1 = slower than SoftMax):\n",
          out);
    fprintf(out, "  %-16s %3s %-6s", "shape", "thr", "dir");
    for (int k = 0; k < nc; k++) fprintf(out, " %10s", mmx_norm_name(cols[k]));
    fputc('\n', out);
    for (int i = 0; i < n; i++) {
        if (!first_of_group(rows, i)) continue;
        const bn_row *sm = find_row(rows, n, MMX_NORM_SOFTMAX, rows[i].dir, &rows[i]);
        char shape[48];
        snprintf(shape, sizeof shape, "%lldx%lld", (long long)rows[i].rows,
                 (long long)rows[i].cols);
        fprintf(out, "  %-16s %3d %-6s", shape, rows[i].threads, bn_dir_name(rows[i].dir));
        for (int k = 0; k < nc; k++) {
            const bn_row *r = find_row(rows, n, cols[k], rows[i].dir, &rows[i]);
            if (sm && r) fprintf(out, " %10.3f", r->ms / sm->ms);
            else fprintf(out, " %10s", "-");
        }
        fputc('\n', out);
    }
}

static void summary_peers(FILE *out, const bn_row *rows, int n) {
    int any = 0;
    for (int i = 0; i < n; i++) {
        const bn_row *r = &rows[i];
        if (!r->peer[0]) continue;
        if (!any++)
            fputs("\nagainst the peers (speedup = peer_ms / ms; > 1 = this library is faster):\n",
                  out);
        fprintf(out, "  %-10s %-6s %lldx%lld thr=%d: ours %.3f ms", mmx_norm_name(r->op),
                bn_dir_name(r->dir), (long long)r->rows, (long long)r->cols, r->threads, r->ms);
        if (r->dir == BN_FWDBWD) {
            const bn_row *f = find_row(rows, n, r->op, BN_FWD, r);
            const bn_row *b = find_row(rows, n, r->op, BN_BWD, r);
            if (f && b) fprintf(out, " (fwd %.3f + bwd %.3f)", f->ms, b->ms);
        }
        fprintf(out, ", %s %.3f ms: %.2fx\n", r->peer, r->peer_ms, r->peer_ms / r->ms);
    }
}

void bn_summary(FILE *out, const bn_row *rows, int n) {
    int others = 0;
    for (int i = 0; i < n; i++) others += rows[i].op != MMX_NORM_SOFTMAX;
    if (others && find_row(rows, n, MMX_NORM_SOFTMAX, rows[0].dir, &rows[0]))
        summary_softmax(out, rows, n);
    else if (others)
        fputs("\n(softmax not measured: no SoftMax-relative ratios)\n", out);
    summary_peers(out, rows, n);
}
