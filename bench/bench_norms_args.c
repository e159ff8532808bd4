/*
 * bench_norms_args.c - the command line of `multimax bench norms`: usage text and parsing.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench_norms.h"
#include "bench_util.h"

#define BN_DEFAULT_NORMS "softmax,multimax,sparsemax,entmax15,entmax,evsoftmax"
#define BN_DEFAULT_SHAPES "65536x196,4096x4096,2048x32768,262144x64"
#define BN_DEFAULT_THREADS "1,2"
#define BN_DEFAULT_DIRS "fwd,bwd"

void bn_usage(FILE *out) {
    fputs("usage: multimax bench norms [options]\n"
          "\n"
          "Times mmx_forward_f32 / mmx_backward_f32 of each normalizer (median of --reps\n"
          "calls after one warm-up) and a memcpy of the same bytes on the same threads.\n"
          "\n"
          "options (also written --opt=value):\n"
          "  --norms LIST    normalizers, comma-separated (default\n"
          "                  " BN_DEFAULT_NORMS ")\n"
          "  --shapes LIST   ROWSxCOLS,... (default " BN_DEFAULT_SHAPES ")\n"
          "  --threads LIST  thread counts, set with mmx_set_num_threads (default "
          BN_DEFAULT_THREADS ")\n"
          "  --dir LIST      fwd, bwd or fwd,bwd (default " BN_DEFAULT_DIRS ");\n"
          "                  with both, a derived fwdbwd row (fwd + bwd) is reported too\n"
          "  --reps N        timed calls per measurement, N >= 1 (default 7)\n"
          "  --alpha A       alpha of entmax, A > 1 (default 1.5)\n"
          "  --json FILE     also write one JSON line per row to FILE (default none); '-' =\n"
          "                  stdout, and then the table goes to stderr\n"
          "  --peers         also time the PyTorch / entmax peers (bench/peers_norms.py, run by\n"
          "                  /usr/bin/python3; found via MMX_SOURCE_DIR or the current directory)\n"
          "  --quick         divide every shape's rows by 8 (smoke test)\n"
          "  --help, -h      this message\n"
          "\n"
          "MultiMax runs order 2 with ranges -1,2,-1,2 and ts 0.1,-0.1,0.02,-0.02; evsoftmax runs\n"
          "in training mode; softmax at temperature 1. ratio = memcpy_ms / ms (1 = memcpy speed).\n"
          "exit status: 0 ok, 1 library or runtime error, 2 bad command line.\n",
          out);
}

const char *bn_dir_name(int dir) {
    return dir == BN_FWD ? "fwd" : dir == BN_BWD ? "bwd" : "fwdbwd";
}

static int usage_error(const char *opt, const char *val, const char *expected) {
    fprintf(stderr, "%s: bad value '%s' for %s: expected %s (see '%s --help')\n", BN_PROG, val,
            opt, expected, BN_PROG);
    return BN_EXIT_USAGE;
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

static int parse_norms(bn_opts *o, const char *val) {
    char items[MMX_NORM_COUNT][16];
    int n = bench_split_list(val, &items[0][0], sizeof items[0], MMX_NORM_COUNT);
    if (n < 0) return usage_error("--norms", val, "a comma list of at most 6 distinct names");
    for (int i = 0; i < n; i++) {
        mmx_norm_kind k;
        if (mmx_norm_parse(items[i], &k) != MMX_OK) {
            fprintf(stderr, "%s: --norms: %s\n", BN_PROG, mmx_last_error());
            return usage_error("--norms", items[i], "one of " BN_DEFAULT_NORMS);
        }
        for (int j = 0; j < i; j++)
            if (o->norms[j] == k) return usage_error("--norms", items[i], "distinct names");
        o->norms[i] = k;
    }
    o->n_norms = n;
    return BN_EXIT_OK;
}

static int parse_shapes(bn_opts *o, const char *val) {
    const char *want = "ROWSxCOLS,... with ROWS, COLS >= 1 and ROWS*COLS <= 2^32";
    char items[BN_MAX_SHAPES][32];
    int n = bench_split_list(val, &items[0][0], sizeof items[0], BN_MAX_SHAPES);
    if (n < 0) return usage_error("--shapes", val, want);
    for (int i = 0; i < n; i++) {
        char *x = strpbrk(items[i], "xX");
        if (!x) return usage_error("--shapes", items[i], want);
        *x = '\0';
        if (parse_i64(items[i], 1, INT64_C(1) << 32, &o->rows[i]) ||
            parse_i64(x + 1, 1, INT64_C(1) << 32, &o->cols[i]) ||
            o->rows[i] > (INT64_C(1) << 32) / o->cols[i]) {
            *x = 'x';
            return usage_error("--shapes", items[i], want);
        }
    }
    o->n_shapes = n;
    return BN_EXIT_OK;
}

static int parse_threads(bn_opts *o, const char *val) {
    const char *want = "a comma list of at most 16 thread counts in 1..1024";
    char items[BN_MAX_THREADS][16];
    int n = bench_split_list(val, &items[0][0], sizeof items[0], BN_MAX_THREADS);
    if (n < 0) return usage_error("--threads", val, want);
    for (int i = 0; i < n; i++) {
        int64_t t;
        if (parse_i64(items[i], 1, 1024, &t)) return usage_error("--threads", items[i], want);
        o->threads[i] = (int)t;
    }
    o->n_threads = n;
    return BN_EXIT_OK;
}

static int parse_dirs(bn_opts *o, const char *val) {
    char items[2][8];
    int n = bench_split_list(val, &items[0][0], sizeof items[0], 2);
    o->fwd = o->bwd = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(items[i], "fwd") == 0) o->fwd = 1;
        else if (strcmp(items[i], "bwd") == 0) o->bwd = 1;
        else n = -1;
    }
    return n < 0 ? usage_error("--dir", val, "fwd, bwd or fwd,bwd") : BN_EXIT_OK;
}

static int parse_scalar(bn_opts *o, const char *opt, const char *val) {
    if (strcmp(opt, "--reps") == 0) {
        int64_t r;
        if (parse_i64(val, 1, 100000, &r)) return usage_error(opt, val, "an integer in 1..100000");
        o->reps = (int)r;
        return BN_EXIT_OK;
    }
    char *end;
    errno = 0;
    double a = strtod(val, &end);
    if (errno || end == val || *end) return usage_error(opt, val, "a finite number > 1");
    mmx_norm nm = mmx_norm_entmax(a);
    if (mmx_norm_check(&nm) != MMX_OK) {
        fprintf(stderr, "%s: --alpha: %s\n", BN_PROG, mmx_last_error());
        return usage_error(opt, val, "a finite number > 1");
    }
    o->alpha = a;
    return BN_EXIT_OK;
}

/* Options that take a value; `val` is NULL when it is missing. */
static int parse_valued(bn_opts *o, const char *opt, const char *val) {
    if (!val) {
        fprintf(stderr, "%s: %s needs a value (see '%s --help')\n", BN_PROG, opt, BN_PROG);
        return BN_EXIT_USAGE;
    }
    if (strcmp(opt, "--norms") == 0) return parse_norms(o, val);
    if (strcmp(opt, "--shapes") == 0) return parse_shapes(o, val);
    if (strcmp(opt, "--threads") == 0) return parse_threads(o, val);
    if (strcmp(opt, "--dir") == 0) return parse_dirs(o, val);
    if (strcmp(opt, "--json") == 0) {
        o->json = val;
        return BN_EXIT_OK;
    }
    return parse_scalar(o, opt, val);
}

static int is_valued(const char *opt) {
    static const char *const k[] = {"--norms", "--shapes", "--threads", "--dir",
                                     "--reps",  "--alpha",  "--json"};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (strcmp(opt, k[i]) == 0) return 1;
    return 0;
}

static void set_defaults(bn_opts *o) {
    memset(o, 0, sizeof *o);
    o->reps = 7;
    o->alpha = 1.5;
    parse_norms(o, BN_DEFAULT_NORMS);
    parse_shapes(o, BN_DEFAULT_SHAPES);
    parse_threads(o, BN_DEFAULT_THREADS);
    parse_dirs(o, BN_DEFAULT_DIRS);
}

int bn_parse_args(bn_opts *o, int argc, char **argv) {
    set_defaults(o);
    for (int i = 1; i < argc; i++) {
        char opt[32];
        const char *a = argv[i], *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        if (len >= sizeof opt) len = sizeof opt - 1;
        memcpy(opt, a, len);
        opt[len] = '\0';
        int rc = BN_EXIT_OK;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            bn_usage(stdout);
            return -1;
        } else if (!eq && strcmp(a, "--peers") == 0) {
            o->peers = 1;
        } else if (!eq && strcmp(a, "--quick") == 0) {
            o->quick = 1;
        } else if (is_valued(opt)) {
            rc = parse_valued(o, opt, eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL));
        } else {
            fprintf(stderr, "%s: unknown option '%s' (see '%s --help')\n", BN_PROG, a, BN_PROG);
            rc = BN_EXIT_USAGE;
        }
        if (rc != BN_EXIT_OK) return rc;
    }
    for (int s = 0; o->quick && s < o->n_shapes; s++)
        o->rows[s] = o->rows[s] / 8 > 0 ? o->rows[s] / 8 : 1;
    return BN_EXIT_OK;
}
