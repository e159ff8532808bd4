/*
 * bench_attn_args.c - the command line of `multimax bench attn`: usage text, parsing, and the
 * fixed normalizer settings of the benchmark.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench_attn.h"
#include "bench_util.h"

#define BA_ALL_NORMS "softmax,multimax,sparsemax,entmax15,entmax,evsoftmax"
#define BA_DEFAULT_NORMS "softmax,multimax,entmax15,sparsemax"
#define BA_DEFAULT_T "196,512,1024,4096"
#define BA_DEFAULT_THREADS "2"

/* MultiMax of order 2 with every term nonzero, so that the modulator is really computed. */
const double ba_mm_ranges[4] = {-1.0, 2.0, -1.0, 2.0};
const double ba_mm_ts[4] = {0.3, -0.2, 0.05, -0.02};

mmx_norm ba_make_norm(mmx_norm_kind k, double alpha) {
    switch (k) {
    case MMX_NORM_MULTIMAX: return mmx_norm_multimax(2, ba_mm_ranges, ba_mm_ts);
    case MMX_NORM_SPARSEMAX: return mmx_norm_sparsemax();
    case MMX_NORM_ENTMAX15: return mmx_norm_entmax15();
    case MMX_NORM_ENTMAX: return mmx_norm_entmax(alpha);
    case MMX_NORM_EVSOFTMAX: return mmx_norm_evsoftmax(0);
    default: return mmx_norm_softmax(1.0);
    }
}

void ba_usage(FILE *out) {
    fputs("usage: multimax bench attn [options]\n"
          "\n"
          "Times the fused attention mmx_attn_forward (with stats) and mmx_attn_forward +\n"
          "mmx_attn_backward for each normalizer: median of --reps repetitions after\n"
          "--warmup calls, GFLOP/s against the machine's sgemm rate measured in the same run,\n"
          "and the peak extra memory. Optionally the naive materialised path (sgemm + the row-wise\n"
          "normalizer) and the PyTorch peers on the same shapes and threads.\n"
          "\n"
          "options (also written --opt=value):\n"
          "  --norms LIST    normalizers, comma-separated, from\n"
          "                  " BA_ALL_NORMS "\n"
          "                  (default " BA_DEFAULT_NORMS ")\n"
          "  --T LIST        sequence lengths, Tq = Tk = T (default " BA_DEFAULT_T ")\n"
          "  --D N           head dimension (default 64)\n"
          "  --heads N       heads H (default 8)\n"
          "  --batch N       batch B (default 1)\n"
          "  --threads LIST  thread counts, set with mmx_set_num_threads (default "
          BA_DEFAULT_THREADS ")\n"
          "  --causal        causal mask (default off: every key visible)\n"
          "  --reps N        timed repetitions per measurement, N >= 1 (default 5)\n"
          "  --warmup N      untimed calls before the timed ones, N >= 0 (default 1)\n"
          "  --budget S      seconds per measurement: when reps x the first call's time exceeds\n"
          "                  it, reps drops to S / that time, never below 1 (default 30)\n"
          "  --pass P        fwd, fwdbwd or both (default both)\n"
          "  --naive         also time the naive materialised path: S = scale q k^T by sgemm,\n"
          "                  mask, mmx_forward_f32, P v by sgemm; backward by sgemm +\n"
          "                  mmx_backward_f32 (default off)\n"
          "  --naive-max-gib G  skip the naive path where its matrices exceed G GiB (default 4)\n"
          "  --peers         also time PyTorch (bench/peers_attn.py, run by /usr/bin/python3;\n"
          "                  found via MMX_SOURCE_DIR or the current directory)\n"
          "  --alpha A       alpha of entmax, A > 1 (default 1.25)\n"
          "  --json FILE     also write one JSON line per row to FILE (default none); '-' =\n"
          "                  stdout, and then the table goes to stderr\n"
          "  --help, -h      this message\n"
          "\n"
          "q, k, v and dout are normal with standard deviation 1; scale = 1/sqrt(D). MultiMax\n"
          "runs order 2 with ranges -1,2,-1,2 and ts 0.3,-0.2,0.05,-0.02 (its backward computes\n"
          "dranges, dts); entmax computes dalpha; evsoftmax runs in training mode.\n"
          "GFLOP/s counts the matmuls only: fwd 4*B*H*T*T*D (q k^T and P v), fwdbwd that plus\n"
          "8*B*H*T*T*D (dv, dp, dq, dk), both halved with --causal; a recomputation of q k^T\n"
          "in the backward is not counted. Peak extra memory (MB = 1e6 bytes): fused = the\n"
          "workspace (mmx_attn_workspace_size; the larger of fwd and bwd for fwdbwd) + the\n"
          "stats (B*H*T*MMX_ATTN_STATS floats); naive = its materialised (B,H,T,T) matrices\n"
          "(S, P; and dP/dS for fwdbwd); peers = growth of ru_maxrss over the run in a fresh\n"
          "process. Set OPENBLAS_CORETYPE explicitly (the header prints it).\n"
          "exit status: 0 ok, 1 library or runtime error, 2 bad command line.\n",
          out);
}

const char *ba_pass_name(int pass) { return pass == BA_FWD ? "fwd" : "fwdbwd"; }

static int usage_error(const char *opt, const char *val, const char *expected) {
    fprintf(stderr, "%s: bad value '%s' for %s: expected %s (see '%s --help')\n", BA_PROG, val,
            opt, expected, BA_PROG);
    return BA_EXIT_USAGE;
}

/* A whole-string integer in [lo, hi]. */
static int parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *v) {
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || end == s || *end || x < lo || x > hi) return -1;
    *v = (int64_t)x;
    return 0;
}

static int parse_norms(ba_opts *o, const char *val) {
    char items[MMX_NORM_COUNT][16];
    int n = bench_split_list(val, &items[0][0], sizeof items[0], MMX_NORM_COUNT);
    if (n < 0) return usage_error("--norms", val, "a comma list of at most 6 distinct names");
    for (int i = 0; i < n; i++) {
        mmx_norm_kind k;
        if (mmx_norm_parse(items[i], &k) != MMX_OK)
            return usage_error("--norms", items[i], "one of " BA_ALL_NORMS);
        for (int j = 0; j < i; j++)
            if (o->norms[j] == k) return usage_error("--norms", items[i], "distinct names");
        o->norms[i] = k;
    }
    o->n_norms = n;
    return BA_EXIT_OK;
}

/* A comma list of integers in [lo, hi] into v (at most max). */
static int parse_ilist(const char *opt, const char *val, int64_t lo, int64_t hi, int64_t *v,
                       int max, int *n_out) {
    char items[BA_MAX_T > BA_MAX_THREADS ? BA_MAX_T : BA_MAX_THREADS][24];
    char want[96];
    snprintf(want, sizeof want, "a comma list of at most %d integers in %lld..%lld", max,
             (long long)lo, (long long)hi);
    int n = bench_split_list(val, &items[0][0], sizeof items[0], max);
    if (n < 0) return usage_error(opt, val, want);
    for (int i = 0; i < n; i++)
        if (parse_i64(items[i], lo, hi, &v[i])) return usage_error(opt, items[i], want);
    *n_out = n;
    return BA_EXIT_OK;
}

static int parse_threads(ba_opts *o, const char *val) {
    int64_t t[BA_MAX_THREADS];
    int n, rc = parse_ilist("--threads", val, 1, 1024, t, BA_MAX_THREADS, &n);
    if (rc) return rc;
    for (int i = 0; i < n; i++) o->threads[i] = (int)t[i];
    o->n_threads = n;
    return BA_EXIT_OK;
}

static int parse_pass(ba_opts *o, const char *val) {
    if (strcmp(val, "fwd") == 0) o->fwd = 1, o->fwdbwd = 0;
    else if (strcmp(val, "fwdbwd") == 0) o->fwd = 0, o->fwdbwd = 1;
    else if (strcmp(val, "both") == 0) o->fwd = 1, o->fwdbwd = 1;
    else return usage_error("--pass", val, "fwd, fwdbwd or both");
    return BA_EXIT_OK;
}

static int parse_double(const char *opt, const char *val, double lo, double *v) {
    char *end;
    errno = 0;
    double x = strtod(val, &end);
    if (errno || end == val || *end || !isfinite(x) || !(x > lo)) {
        char want[64];
        snprintf(want, sizeof want, "a finite number > %g", lo);
        return usage_error(opt, val, want);
    }
    *v = x;
    return BA_EXIT_OK;
}

static int parse_scalar(ba_opts *o, const char *opt, const char *val) {
    int64_t x;
    int n;
    if (strcmp(opt, "--D") == 0 || strcmp(opt, "--heads") == 0 || strcmp(opt, "--batch") == 0) {
        int rc = parse_ilist(opt, val, 1, 1 << 20, &x, 1, &n);
        if (rc) return rc;
        *(opt[2] == 'D' ? &o->dim : opt[2] == 'h' ? &o->heads : &o->batch) = x;
        return BA_EXIT_OK;
    }
    if (strcmp(opt, "--reps") == 0) {
        int rc = parse_ilist(opt, val, 1, 100000, &x, 1, &n);
        if (!rc) o->reps = (int)x;
        return rc;
    }
    if (strcmp(opt, "--warmup") == 0) {
        int rc = parse_ilist(opt, val, 0, 100, &x, 1, &n);
        if (!rc) o->warmup = (int)x;
        return rc;
    }
    if (strcmp(opt, "--budget") == 0) return parse_double(opt, val, 0.0, &o->budget);
    if (strcmp(opt, "--naive-max-gib") == 0) return parse_double(opt, val, 0.0, &o->naive_gib);
    return parse_double(opt, val, 1.0, &o->alpha); /* --alpha */
}

static int parse_valued(ba_opts *o, const char *opt, const char *val) {
    if (!val) {
        fprintf(stderr, "%s: %s needs a value (see '%s --help')\n", BA_PROG, opt, BA_PROG);
        return BA_EXIT_USAGE;
    }
    if (strcmp(opt, "--norms") == 0) return parse_norms(o, val);
    if (strcmp(opt, "--T") == 0)
        return parse_ilist(opt, val, 1, INT64_C(1) << 20, o->T, BA_MAX_T, &o->n_T);
    if (strcmp(opt, "--threads") == 0) return parse_threads(o, val);
    if (strcmp(opt, "--pass") == 0) return parse_pass(o, val);
    if (strcmp(opt, "--json") == 0) {
        o->json = val;
        return BA_EXIT_OK;
    }
    return parse_scalar(o, opt, val);
}

static int is_valued(const char *opt) {
    static const char *const k[] = {"--norms", "--T",    "--D",      "--heads",
                                     "--batch", "--threads", "--reps", "--warmup", "--budget",
                                     "--pass",  "--naive-max-gib", "--alpha", "--json"};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (strcmp(opt, k[i]) == 0) return 1;
    return 0;
}

static void set_defaults(ba_opts *o) {
    memset(o, 0, sizeof *o);
    o->dim = 64, o->heads = 8, o->batch = 1;
    o->reps = 5;
    o->warmup = 1;
    o->budget = 30.0;
    o->naive_gib = 4.0;
    o->alpha = 1.25;
    o->fwd = o->fwdbwd = 1;
    parse_norms(o, BA_DEFAULT_NORMS);
    parse_ilist("--T", BA_DEFAULT_T, 1, INT64_C(1) << 20, o->T, BA_MAX_T, &o->n_T);
    parse_threads(o, BA_DEFAULT_THREADS);
}

int ba_parse_args(ba_opts *o, int argc, char **argv) {
    set_defaults(o);
    for (int i = 1; i < argc; i++) {
        char opt[32];
        const char *a = argv[i], *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        if (len >= sizeof opt) len = sizeof opt - 1;
        memcpy(opt, a, len);
        opt[len] = '\0';
        int rc = BA_EXIT_OK;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            ba_usage(stdout);
            return -1;
        } else if (!eq && strcmp(a, "--causal") == 0) {
            o->causal = 1;
        } else if (!eq && strcmp(a, "--naive") == 0) {
            o->naive = 1;
        } else if (!eq && strcmp(a, "--peers") == 0) {
            o->peers = 1;
        } else if (is_valued(opt)) {
            rc = parse_valued(o, opt, eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL));
        } else {
            fprintf(stderr, "%s: unknown option '%s' (see '%s --help')\n", BA_PROG, a, BA_PROG);
            rc = BA_EXIT_USAGE;
        }
        if (rc != BA_EXIT_OK) return rc;
    }
    /* Each tensor (B, H, T, D) must stay addressable with int64 products and int BLAS sizes. */
    for (int i = 0; i < o->n_T; i++)
        if ((double)o->batch * (double)o->heads * (double)o->T[i] * (double)o->dim > 1e10)
            return usage_error("--T", "...", "B*H*T*D <= 1e10 for every T");
    return BA_EXIT_OK;
}
