/*
 * bench_train.c - `multimax bench train`: training speed of the ViT engine, one AdamW step
 * (forward, backward, update) on a fixed batch, per attention/output normalizer, and the same
 * model trained by PyTorch 1.13 with --peers (bench/peers_vit.py).
 *
 * The normalizers are timed in interleaved rounds (one step of each per round) and the median
 * is reported, so a change in machine load hits them alike; "vs softmax" is the ratio of
 * medians from the same rounds. With --peers each of our steps is followed by one PyTorch step
 * of the same normalizer (bench/peers_vit.py --serve, a child process waiting on a pipe), so
 * the speedups compare steps taken under the same load. Prints a table; --json FILE appends
 * JSON lines {"bench":"train","norm","threads","batch","dim","depth","heads","patch","params","ms",
 *  "images_per_s","vs_softmax","peer","peer_ms","peer_images_per_s","speedup_vs_peer",...}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_proc.h"
#include "bench_util.h"
#include "cli.h"
#include "nn/vit.h"
#include "opts.h"
#include "train/optim.h"

static const char *const k_prog = "multimax bench train";

#define BT_MAX_NORMS 6

typedef struct {
    vit_config cfg;
    int batch, steps, peers;
    const char *norms, *threads, *json;
} bt_opts;

typedef struct {
    mmx_norm_kind kind[BT_MAX_NORMS];
    int n;
    vit_model m[BT_MAX_NORMS];
    adamw o[BT_MAX_NORMS];
    double ms[BT_MAX_NORMS], peer_ms[BT_MAX_NORMS];
    int64_t params[BT_MAX_NORMS];
} bt_state;

static int one_step(vit_model *m, adamw *o, const float *x, const int32_t *y, int b)
{
    double loss;
    if (vit_forward(m, x, y, b, 0.1, 1, &loss) != MMX_OK || vit_backward(m, y, b, 0.1) != MMX_OK) {
        fprintf(stderr, "%s: %s\n", k_prog, mmx_last_error());
        return -1;
    }
    adamw_step(o, m, NULL);
    return 0;
}

/* Whether PyTorch has this normalizer (vit_torch.py: SoftMax and the official MultiMax). */
static int torch_has(mmx_norm_kind k)
{
    return k == MMX_NORM_SOFTMAX || k == MMX_NORM_MULTIMAX;
}

/* One torch step of normalizer i through the peer process; its ms, or -1. */
static double peer_step(bench_proc *pp, mmx_norm_kind k)
{
    char line[2048], norm[32];
    double ms;
    if (bench_proc_ask(pp, mmx_norm_name(k), line, sizeof line) ||
        bench_json_str(line, "norm", norm, sizeof norm) || bench_json_num(line, "ms", &ms) ||
        strcmp(norm, mmx_norm_name(k)) != 0) {
        fprintf(stderr, "%s: --peers: no answer from bench/peers_vit.py (see its messages)\n",
                k_prog);
        return -1.0;
    }
    return ms;
}

/* Interleaved rounds: one step of every normalizer per round, each followed by one torch step
 * of the same normalizer when pp is open (so both see the same machine load); medians into
 * s->ms and s->peer_ms. */
static int time_rounds(bt_state *s, const bt_opts *op, const float *x, const int32_t *y,
                       bench_proc *pp)
{
    double *t = calloc((size_t)(2 * op->steps * s->n), sizeof(double)), *tp = t + op->steps * s->n;
    int rc = t ? 0 : -1;
    for (int r = -2; r < op->steps && rc == 0; r++) /* two warm-up rounds */
        for (int i = 0; i < s->n && rc == 0; i++) {
            double t0 = bench_now();
            rc = one_step(&s->m[i], &s->o[i], x, y, op->batch);
            if (r >= 0)
                t[i * op->steps + r] = 1e3 * (bench_now() - t0);
            if (rc == 0 && pp && torch_has(s->kind[i])) {
                double ms = peer_step(pp, s->kind[i]);
                rc = ms < 0 ? -1 : 0;
                if (r >= 0)
                    tp[i * op->steps + r] = ms;
            }
        }
    for (int i = 0; i < s->n && rc == 0; i++) {
        s->ms[i] = bench_median(t + i * op->steps, op->steps);
        if (pp && torch_has(s->kind[i]))
            s->peer_ms[i] = bench_median(tp + i * op->steps, op->steps);
    }
    free(t);
    return rc;
}

/* Starts bench/peers_vit.py --serve for the normalizers torch has and waits until it is ready;
 * 0, or -1 with a message. */
static int open_peers(bench_proc *pp, const bt_state *s, const bt_opts *op, int threads)
{
    char script[4096], cmd[8192], list[256] = "", line[2048];
    size_t len = 0;
    if (bench_find_script(script, sizeof script, k_prog, "bench/peers_vit.py"))
        return -1;
    for (int i = 0; i < s->n; i++)
        if (torch_has(s->kind[i]))
            bench_append(list, sizeof list, &len, "%s%s", len ? "," : "",
                         mmx_norm_name(s->kind[i]));
    if (!len)
        return 1; /* nothing to compare */
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 '%s' --serve --norms %s --dim %d --depth %d --heads %d --patch %d "
             "--mlp-ratio %d --batch %d --threads %d",
             script, list, op->cfg.dim, op->cfg.depth, op->cfg.heads, op->cfg.patch,
             op->cfg.mlp_ratio, op->batch, threads);
    fprintf(stderr, "%s: running peers: %s\n", k_prog, cmd);
    if (bench_proc_open(pp, cmd) != 0 || bench_proc_read(pp, line, sizeof line) != 0 ||
        !strstr(line, "\"ready\"")) {
        fprintf(stderr, "%s: --peers: bench/peers_vit.py did not start (see its messages)\n",
                k_prog);
        bench_proc_close(pp);
        return -1;
    }
    return 0;
}

static void report(const bt_state *s, const bt_opts *op, int threads, FILE *js)
{
    printf("\nthreads %d, batch %d, dim %d, depth %d, heads %d, patch %d, %s kernels, "
           "OPENBLAS_CORETYPE=%s, load %.2f\n",
           threads, op->batch, op->cfg.dim, op->cfg.depth, op->cfg.heads, op->cfg.patch, mmx_isa(),
           getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "(unset)", bench_loadavg());
    printf("%-10s %10s %10s %11s %12s %12s %10s\n", "norm", "ms/step", "images/s", "vs softmax",
           "torch ms", "torch img/s", "speedup");
    double base = s->kind[0] == MMX_NORM_SOFTMAX ? s->ms[0] : 0.0;
    for (int i = 0; i < s->n; i++) {
        double ips = 1e3 * op->batch / s->ms[i], pms = s->peer_ms[i];
        printf("%-10s %10.1f %10.0f %11.3f", mmx_norm_name(s->kind[i]), s->ms[i], ips,
               base > 0 ? s->ms[i] / base : 0.0);
        if (pms > 0)
            printf(" %12.1f %12.0f %9.2fx", pms, 1e3 * op->batch / pms, pms / s->ms[i]);
        putchar('\n');
        if (js)
            fprintf(js,
                    "{\"bench\":\"train\",\"norm\":\"%s\",\"threads\":%d,\"batch\":%d,\"dim\":%d,"
                    "\"depth\":%d,\"heads\":%d,\"patch\":%d,\"params\":%lld,\"ms\":%.3f,"
                    "\"images_per_s\":%.1f,\"vs_softmax\":%.4f,\"peer\":\"%s\",\"peer_ms\":%.3f,"
                    "\"peer_images_per_s\":%.1f,\"speedup_vs_peer\":%.3f,\"isa\":\"%s\"}\n",
                    mmx_norm_name(s->kind[i]), threads, op->batch, op->cfg.dim, op->cfg.depth,
                    op->cfg.heads, op->cfg.patch, (long long)s->params[i], s->ms[i], ips,
                    base > 0 ? s->ms[i] / base : 0.0, pms > 0 ? "torch" : "", pms,
                    pms > 0 ? 1e3 * op->batch / pms : 0.0, pms > 0 ? pms / s->ms[i] : 0.0,
                    mmx_isa());
    }
}

static int setup(bt_state *s, const bt_opts *op)
{
    char items[BT_MAX_NORMS * 32];
    s->n = bench_split_list(op->norms, items, 32, BT_MAX_NORMS);
    if (s->n < 1) {
        fprintf(stderr, "%s: --norms '%s': expected up to %d comma-separated names\n", k_prog,
                op->norms, BT_MAX_NORMS);
        return CLI_EXIT_USAGE;
    }
    for (int i = 0; i < s->n; i++) {
        vit_config c = op->cfg;
        adamw_config oc = adamw_config_default();
        if (mmx_norm_parse(items + 32 * i, &s->kind[i]) != MMX_OK) {
            fprintf(stderr, "%s: unknown normalizer '%s'\n", k_prog, items + 32 * i);
            return CLI_EXIT_USAGE;
        }
        c.attn_norm = s->kind[i];
        c.head_norm = s->kind[i] == MMX_NORM_EVSOFTMAX ? MMX_NORM_SOFTMAX : s->kind[i];
        if (vit_build(&s->m[i], &c, op->batch) != MMX_OK ||
            adamw_build(&s->o[i], &oc, s->m[i].n_params) != MMX_OK) {
            fprintf(stderr, "%s: %s\n", k_prog, mmx_last_error());
            return CLI_EXIT_DATA;
        }
        vit_init(&s->m[i], 1);
        s->params[i] = s->m[i].n_params;
    }
    return CLI_EXIT_OK;
}

static int bench_threads(bt_state *s, const bt_opts *op, int threads, const float *x,
                         const int32_t *y, FILE *js)
{
    if (mmx_set_num_threads(threads) != MMX_OK) {
        fprintf(stderr, "%s: --threads: %s\n", k_prog, mmx_last_error());
        return CLI_EXIT_USAGE;
    }
    memset(s->peer_ms, 0, sizeof s->peer_ms);
    bench_proc pp;
    int peers = op->peers ? open_peers(&pp, s, op, threads) : 1;
    if (peers < 0)
        return CLI_EXIT_DATA;
    int rc = time_rounds(s, op, x, y, peers == 0 ? &pp : NULL);
    if (peers == 0 && bench_proc_close(&pp) != 0 && rc == 0) {
        fprintf(stderr, "%s: --peers: bench/peers_vit.py failed (see its messages)\n", k_prog);
        rc = -1;
    }
    if (rc != 0)
        return CLI_EXIT_DATA;
    report(s, op, threads, js);
    return CLI_EXIT_OK;
}

int mmx_bench_train_main(int argc, char **argv)
{
    bt_opts op = {vit_config_default(), 128, 20, 0, "softmax,multimax", "1,2", NULL};
    opt_spec sp[] = {
        {"norms", OPT_STR, &op.norms, "comma-separated normalizers (attention and head)", 0, 0},
        {"dim", OPT_INT, &op.cfg.dim, "model width", 2, 4096},
        {"depth", OPT_INT, &op.cfg.depth, "blocks", 1, VIT_MAX_DEPTH},
        {"heads", OPT_INT, &op.cfg.heads, "heads", 1, 256},
        {"patch", OPT_INT, &op.cfg.patch, "patch side (divides 28)", 1, 28},
        {"mlp-ratio", OPT_INT, &op.cfg.mlp_ratio, "MLP width / width", 1, 16},
        {"batch", OPT_INT, &op.batch, "images per step", 1, 4096},
        {"steps", OPT_INT, &op.steps, "timed rounds (median)", 1, 100000},
        {"threads", OPT_STR, &op.threads, "comma-separated thread counts", 0, 0},
        {"peers", OPT_FLAG, &op.peers, "also time PyTorch 1.13 (bench/peers_vit.py)", 0, 0},
        {"json", OPT_STR, &op.json, "append JSON lines to this file", 0, 0},
    };
    int ns = (int)(sizeof sp / sizeof sp[0]);
    int prc = opts_help_or_parse(k_prog,
                                 "usage: multimax bench train [options]\n\nTime per ViT "
                                 "training step (forward, backward, AdamW) per normalizer, "
                                 "interleaved,\nand PyTorch 1.13 on the same model with "
                                 "--peers.\n",
                                 sp, ns, argc, argv, 1, NULL, 0, NULL);
    if (prc != 0)
        return prc == 1 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    char th[8 * 16];
    int nth = bench_split_list(op.threads, th, 16, 8);
    if (nth < 1) {
        fprintf(stderr, "%s: --threads '%s': expected a comma-separated list\n", k_prog,
                op.threads);
        return CLI_EXIT_USAGE;
    }
    bt_state *s = calloc(1, sizeof *s);
    float *x = bench_alloc_touched((size_t)op.batch * 28 * 28 * sizeof(float));
    int32_t *y = calloc((size_t)op.batch, sizeof(int32_t));
    FILE *js = op.json ? fopen(op.json, "a") : NULL;
    int rc = s && x && y && (js || !op.json) ? setup(s, &op) : CLI_EXIT_DATA;
    if (op.json && !js)
        fprintf(stderr, "%s: cannot open '%s'\n", k_prog, op.json);
    if (x)
        bench_fill_normal(x, (size_t)op.batch * 28 * 28, 7, 1.0f);
    for (int i = 0; y && i < op.batch; i++)
        y[i] = i % 10;
    for (int t = 0; t < nth && rc == CLI_EXIT_OK; t++)
        rc = bench_threads(s, &op, atoi(th + 16 * t), x, y, js);
    for (int i = 0; s && i < s->n; i++)
        vit_free(&s->m[i]), adamw_free(&s->o[i]);
    if (js)
        fclose(js);
    free(s), free(x), free(y);
    return rc;
}
