/*
 * bench_attn_peers.c - runs bench/peers_attn.py (PyTorch, /usr/bin/python3) and reads back its
 * JSON lines {"norm","pass","impl","T","threads","ms","peak_extra_mb","reps",...}; a line
 * with "error" instead of "ms" is a peer that was skipped or failed (kept, with its reason).
 *
 * The script is looked up, in order, under the compile-time MMX_SOURCE_DIR, the environment
 * variable MMX_SOURCE_DIR, and the current directory (as bench_peers.c does).
 */
#include <stdlib.h>
#include <string.h>

#include "bench_attn.h"
#include "bench_util.h"

#define BA_PYTHON "/usr/bin/python3"
#define BA_SCRIPT "bench/peers_attn.py"

/* The normalizers that have a peer. */
static int has_peer(mmx_norm_kind k) {
    return k == MMX_NORM_SOFTMAX || k == MMX_NORM_MULTIMAX || k == MMX_NORM_ENTMAX15;
}

static int build_command(const ba_opts *o, const char *script, char *cmd, size_t n) {
    size_t len = 0;
    int bad = bench_append(cmd, n, &len, "%s '%s' --norms ", BA_PYTHON, script), first = 1;
    for (int i = 0; i < o->n_norms; i++)
        if (has_peer(o->norms[i])) {
            bad |= bench_append(cmd, n, &len, "%s%s", first ? "" : ",", mmx_norm_name(o->norms[i]));
            first = 0;
        }
    bad |= bench_append(cmd, n, &len, " --T ");
    for (int i = 0; i < o->n_T; i++)
        bad |= bench_append(cmd, n, &len, "%s%lld", i ? "," : "", (long long)o->T[i]);
    bad |= bench_append(cmd, n, &len, " --threads ");
    for (int i = 0; i < o->n_threads; i++)
        bad |= bench_append(cmd, n, &len, "%s%d", i ? "," : "", o->threads[i]);
    bad |= bench_append(cmd, n, &len, " --D %lld --heads %lld --batch %lld --pass %s --reps %d"
                  " --budget %g%s", (long long)o->dim, (long long)o->heads, (long long)o->batch,
                  o->fwd && o->fwdbwd ? "both" : o->fwd ? "fwd" : "fwdbwd", o->reps, o->budget,
                  o->causal ? " --causal" : "");
    return bad ? -1 : 0;
}

static int parse_line(const char *line, ba_row *r) {
    char norm[16], pass[8];
    double T, threads, reps = 0;
    memset(r, 0, sizeof *r);
    r->ms = r->bwd_ms = r->maxdiff = r->l2diff = r->gdiff = r->load = -1.0;
    if (bench_json_str(line, "norm", norm, sizeof norm) || bench_json_str(line, "pass", pass, sizeof pass) ||
        bench_json_str(line, "impl", r->impl, sizeof r->impl) || bench_json_num(line, "T", &T) ||
        bench_json_num(line, "threads", &threads) || mmx_norm_parse(norm, &r->norm) != MMX_OK)
        return -1;
    r->pass = strcmp(pass, "fwd") == 0 ? BA_FWD : BA_FWDBWD;
    r->T = (int64_t)T;
    r->threads = (int)threads;
    if (bench_json_num(line, "ms", &r->ms)) {
        r->ms = -1.0;
        if (bench_json_str(line, "error", r->note, sizeof r->note))
            snprintf(r->note, sizeof r->note, "?");
        return 0;
    }
    char malloc_kind[16];
    if (bench_json_str(line, "malloc", malloc_kind, sizeof malloc_kind) == 0 &&
        strcmp(malloc_kind, "default") == 0)
        snprintf(r->note, sizeof r->note, "timed under glibc's default allocator");
    bench_json_num(line, "peak_extra_mb", &r->peak_mb);
    bench_json_num(line, "load1", &r->load);
    bench_json_num(line, "reps", &reps);
    r->reps = (int)reps;
    return 0;
}

/* One result line into a row of out (a ba_rows). */
static int take_line(const char *line, void *out) {
    ba_row r;
    return parse_line(line, &r) || ba_rows_push((ba_rows *)out, &r);
}

int ba_peers_run(const ba_opts *o, ba_rows *out) {
    char script[4096], cmd[8192];
    int any = 0;
    for (int i = 0; i < o->n_norms; i++) any |= has_peer(o->norms[i]);
    if (!any) {
        fprintf(stderr, "%s: --peers: none of --norms has a peer (softmax, multimax, entmax15)\n",
                BA_PROG);
        return BA_EXIT_OK;
    }
    if (bench_find_script(script, sizeof script, BA_PROG, BA_SCRIPT)) return BA_EXIT_RUN;
    if (build_command(o, script, cmd, sizeof cmd)) {
        fprintf(stderr, "%s: --peers: command line too long\n", BA_PROG);
        return BA_EXIT_RUN;
    }
    if (bench_run_jsonl(BA_PROG, BA_SCRIPT, cmd, take_line, out)) return BA_EXIT_RUN;
    return BA_EXIT_OK;
}
