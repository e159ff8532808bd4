/*
 * bench_peers.c - runs bench/peers_norms.py (PyTorch / entmax peers, /usr/bin/python3) and
 * reads back its JSON lines {"op","dir","rows","cols","threads","peer","peer_ms",...}.
 *
 * The script is looked up, in order, under the compile-time MMX_SOURCE_DIR, the
 * environment variable MMX_SOURCE_DIR, and the current directory.
 */
#include <stdlib.h>
#include <string.h>

#include "bench_norms.h"
#include "bench_util.h"

#define BN_PYTHON "/usr/bin/python3"
#define BN_SCRIPT "bench/peers_norms.py"

static int build_command(const bn_opts *o, const char *script, char *cmd, size_t n) {
    size_t len = 0;
    int bad = bench_append(cmd, n, &len, "%s '%s' --norms ", BN_PYTHON, script);
    for (int i = 0; i < o->n_norms; i++)
        bad |= bench_append(cmd, n, &len, "%s%s", i ? "," : "", mmx_norm_name(o->norms[i]));
    bad |= bench_append(cmd, n, &len, " --shapes ");
    for (int i = 0; i < o->n_shapes; i++)
        bad |= bench_append(cmd, n, &len, "%s%lldx%lld", i ? "," : "", (long long)o->rows[i],
                      (long long)o->cols[i]);
    bad |= bench_append(cmd, n, &len, " --threads ");
    for (int i = 0; i < o->n_threads; i++)
        bad |= bench_append(cmd, n, &len, "%s%d", i ? "," : "", o->threads[i]);
    /* The peers have no separate backward: bwd is compared through the fwdbwd rows. */
    bad |= bench_append(cmd, n, &len, " --dir %s --reps %d --alpha %.17g",
                  o->bwd ? "fwd,fwdbwd" : "fwd", o->reps, o->alpha);
    return bad ? -1 : 0;
}

static int parse_line(const char *line, bn_peer *pr) {
    double rows, cols, threads;
    if (bench_json_str(line, "op", pr->op, sizeof pr->op) ||
        bench_json_str(line, "dir", pr->dir, sizeof pr->dir) ||
        bench_json_str(line, "peer", pr->peer, sizeof pr->peer) || bench_json_num(line, "rows", &rows) ||
        bench_json_num(line, "cols", &cols) || bench_json_num(line, "threads", &threads) ||
        bench_json_num(line, "peer_ms", &pr->ms))
        return -1;
    pr->rows = (int64_t)rows;
    pr->cols = (int64_t)cols;
    pr->threads = (int)threads;
    return 0;
}

static int push(bn_peers *p, const bn_peer *pr) {
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 64;
        bn_peer *v = realloc(p->v, (size_t)cap * sizeof *v);
        if (!v) return -1;
        p->v = v;
        p->cap = cap;
    }
    p->v[p->n++] = *pr;
    return 0;
}

/* One result line into out (a bn_peers). */
static int take_line(const char *line, void *out) {
    bn_peer pr;
    return parse_line(line, &pr) || push((bn_peers *)out, &pr);
}

int bn_peers_run(const bn_opts *o, bn_peers *out) {
    char script[4096], cmd[8192];
    memset(out, 0, sizeof *out);
    if (!o->fwd) {
        fprintf(stderr, "%s: --peers: the peers are compared on fwd and fwd+bwd only; "
                        "add --dir fwd,bwd\n", BN_PROG);
        return BN_EXIT_OK;
    }
    if (bench_find_script(script, sizeof script, BN_PROG, BN_SCRIPT)) return BN_EXIT_RUN;
    if (build_command(o, script, cmd, sizeof cmd)) {
        fprintf(stderr, "%s: --peers: command line too long\n", BN_PROG);
        return BN_EXIT_RUN;
    }
    if (bench_run_jsonl(BN_PROG, BN_SCRIPT, cmd, take_line, out)) {
        bn_peers_free(out);
        return BN_EXIT_RUN;
    }
    return BN_EXIT_OK;
}

void bn_peers_free(bn_peers *p) {
    free(p->v);
    memset(p, 0, sizeof *p);
}

const bn_peer *bn_peers_find(const bn_peers *p, const bn_row *row) {
    for (int i = 0; i < p->n; i++) {
        const bn_peer *e = &p->v[i];
        if (strcmp(e->op, mmx_norm_name(row->op)) == 0 &&
            strcmp(e->dir, bn_dir_name(row->dir)) == 0 &&
            e->rows == row->rows && e->cols == row->cols && e->threads == row->threads)
            return e;
    }
    return NULL;
}
