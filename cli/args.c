/*
 * args.c - option parsing for `apply` and `metrics`. Options are collected first and
 * checked against NORM afterwards, so they may appear before or after it; an option
 * that belongs to another normalizer or subcommand is an error that names it.
 */
#include "args.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef enum {
    OPT_TEMPERATURE,
    OPT_ALPHA,
    OPT_RANGES,
    OPT_TS,
    OPT_EVAL,
    OPT_DOUBLE,
    OPT_VJP,
    OPT_EPS,
    OPT_HELP,
    OPT_COUNT
} opt_id;

#define ANY (-1)

typedef struct {
    const char *name;
    int has_value;
    int only_kind; /* the mmx_norm_kind it belongs to, or ANY */
    int only_cmd;  /* the cli_cmd it belongs to, or ANY */
} opt_spec;

static const opt_spec k_opts[OPT_COUNT] = {
    [OPT_TEMPERATURE] = {"--temperature", 1, MMX_NORM_SOFTMAX, ANY},
    [OPT_ALPHA] = {"--alpha", 1, MMX_NORM_ENTMAX, ANY},
    [OPT_RANGES] = {"--ranges", 1, MMX_NORM_MULTIMAX, ANY},
    [OPT_TS] = {"--ts", 1, MMX_NORM_MULTIMAX, ANY},
    [OPT_EVAL] = {"--eval", 0, MMX_NORM_EVSOFTMAX, ANY},
    [OPT_DOUBLE] = {"--double", 0, ANY, ANY},
    [OPT_VJP] = {"--vjp", 0, ANY, CLI_CMD_APPLY},
    [OPT_EPS] = {"--eps", 1, ANY, CLI_CMD_METRICS},
    [OPT_HELP] = {"--help", 0, ANY, ANY},
};

/* What the command line said, before it is checked against NORM. */
typedef struct {
    const char *norm_name;
    int seen[OPT_COUNT];
    double temperature;
    double alpha;
} raw_opts;

static int find_opt(const char *a, size_t n) {
    if (n == 2 && !strncmp(a, "-h", 2)) return OPT_HELP;
    for (int id = 0; id < OPT_COUNT; id++)
        if (strlen(k_opts[id].name) == n && !strncmp(a, k_opts[id].name, n)) return id;
    return -1;
}

/* Parses an option's list of numbers into v; prints the error itself. */
static int take_list(const char *prog, opt_id id, const char *val, cli_vec *v) {
    size_t split;
    cli_parse_err err;
    int rc = cli_parse_list(val, strlen(val), 0, v, &split, &err);
    if (rc == CLI_PARSE_NOMEM) {
        fprintf(stderr, "%s: option %s: out of memory\n", prog, k_opts[id].name);
        return CLI_EXIT_DATA;
    }
    if (rc != CLI_PARSE_OK) {
        fprintf(stderr, "%s: option %s, column %zu: %s\n", prog, k_opts[id].name, err.col,
                err.msg);
        return CLI_EXIT_USAGE;
    }
    if (v->n == 0) {
        fprintf(stderr, "%s: option %s: expected numbers separated by commas, got '%s'\n", prog,
                k_opts[id].name, val);
        return CLI_EXIT_USAGE;
    }
    return CLI_PROCEED;
}

/* Parses a one-number option value into *x. */
static int take_scalar(const char *prog, opt_id id, const char *val, double *x) {
    cli_vec v = {0};
    int rc = take_list(prog, id, val, &v);
    if (rc == CLI_PROCEED && v.n != 1) {
        fprintf(stderr, "%s: option %s: expected one number, got '%s'\n", prog, k_opts[id].name,
                val);
        rc = CLI_EXIT_USAGE;
    }
    if (rc == CLI_PROCEED) *x = v.v[0];
    cli_vec_free(&v);
    return rc;
}

static int take_value(raw_opts *raw, cli_opts *o, const char *prog, opt_id id,
                      const char *val) {
    switch (id) {
    case OPT_TEMPERATURE: return take_scalar(prog, id, val, &raw->temperature);
    case OPT_ALPHA: return take_scalar(prog, id, val, &raw->alpha);
    case OPT_EPS: return take_scalar(prog, id, val, &o->eps);
    case OPT_RANGES: return take_list(prog, id, val, &o->ranges);
    case OPT_TS: return take_list(prog, id, val, &o->ts);
    case OPT_EVAL: o->norm.eval = 1; return CLI_PROCEED;
    case OPT_DOUBLE: o->dbl = 1; return CLI_PROCEED;
    case OPT_VJP: o->vjp = 1; return CLI_PROCEED;
    default: return CLI_PROCEED;
    }
}

/* One option at argv[*i] (advanced past its value). */
static int parse_option(raw_opts *raw, cli_opts *o, const char *prog, int argc, char **argv,
                        int *i) {
    const char *a = argv[*i];
    const char *eq = strchr(a, '=');
    size_t n = eq ? (size_t)(eq - a) : strlen(a);
    int id = find_opt(a, n);
    if (id < 0) {
        fprintf(stderr, "%s: unknown option '%.*s' (see 'multimax help')\n", prog, (int)n, a);
        return CLI_EXIT_USAGE;
    }
    const char *val = NULL;
    if (k_opts[id].has_value) {
        if (eq) {
            val = eq + 1;
        } else if (*i + 1 < argc) {
            val = argv[++*i];
        } else {
            fprintf(stderr, "%s: option %s needs a value\n", prog, k_opts[id].name);
            return CLI_EXIT_USAGE;
        }
    } else if (eq) {
        fprintf(stderr, "%s: option %s takes no value\n", prog, k_opts[id].name);
        return CLI_EXIT_USAGE;
    }
    raw->seen[id] = 1;
    return take_value(raw, o, prog, (opt_id)id, val);
}

static int parse_argv(raw_opts *raw, cli_opts *o, const char *prog, int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc;
        if (a[0] == '-' && a[1] != '\0') {
            rc = parse_option(raw, o, prog, argc, argv, &i);
            if (rc != CLI_PROCEED) return rc;
            if (raw->seen[OPT_HELP]) return CLI_DONE;
        } else if (raw->norm_name) {
            fprintf(stderr, "%s: unexpected argument '%s' (NORM is already '%s')\n", prog, a,
                    raw->norm_name);
            return CLI_EXIT_USAGE;
        } else {
            raw->norm_name = a;
        }
    }
    return CLI_PROCEED;
}

static const char *cmd_name(cli_cmd cmd) { return cmd == CLI_CMD_APPLY ? "apply" : "metrics"; }

/* Every option given must belong to this normalizer and this subcommand. */
static int check_applicable(const raw_opts *raw, mmx_norm_kind kind, cli_cmd cmd,
                            const char *prog) {
    for (int id = 0; id < OPT_COUNT; id++) {
        if (!raw->seen[id]) continue;
        const opt_spec *s = &k_opts[id];
        if (s->only_cmd != ANY && s->only_cmd != (int)cmd) {
            fprintf(stderr, "%s: option %s applies only to 'multimax %s'\n", prog, s->name,
                    cmd_name((cli_cmd)s->only_cmd));
            return CLI_EXIT_USAGE;
        }
        if (s->only_kind != ANY && s->only_kind != (int)kind) {
            fprintf(stderr, "%s: option %s applies only to %s, not to %s\n", prog, s->name,
                    mmx_norm_name((mmx_norm_kind)s->only_kind), mmx_norm_name(kind));
            return CLI_EXIT_USAGE;
        }
    }
    return CLI_PROCEED;
}

static int check_multimax(const cli_opts *o, const char *prog) {
    if (!o->ranges.n || !o->ts.n) {
        fprintf(stderr,
                "%s: multimax needs %s: --ranges b1,d1,..,bN,dN and --ts tb1,td1,..,tbN,tdN "
                "(2N values each, e.g. --ranges 0,5,0,0 --ts -20,-0.734,0,0)\n",
                prog, !o->ranges.n ? "--ranges" : "--ts");
        return CLI_EXIT_USAGE;
    }
    if (o->ranges.n != o->ts.n || o->ranges.n % 2 != 0) {
        fprintf(stderr,
                "%s: --ranges has %zu values and --ts has %zu; both need the same even count "
                "2N (N = order)\n",
                prog, o->ranges.n, o->ts.n);
        return CLI_EXIT_USAGE;
    }
    return CLI_PROCEED;
}

static mmx_norm build_norm(mmx_norm_kind kind, const raw_opts *raw, const cli_opts *o) {
    switch (kind) {
    case MMX_NORM_SOFTMAX: return mmx_norm_softmax(raw->temperature);
    case MMX_NORM_MULTIMAX:
        return mmx_norm_multimax((int)(o->ranges.n / 2), o->ranges.v, o->ts.v);
    case MMX_NORM_SPARSEMAX: return mmx_norm_sparsemax();
    case MMX_NORM_ENTMAX15: return mmx_norm_entmax15();
    case MMX_NORM_ENTMAX: return mmx_norm_entmax(raw->alpha);
    case MMX_NORM_EVSOFTMAX:
    default: return mmx_norm_evsoftmax(o->norm.eval);
    }
}

/* NORM and the options checked against it; the library checks the scalars' domains. */
static int finish(const raw_opts *raw, cli_opts *o, const char *prog, cli_cmd cmd) {
    mmx_norm_kind kind;
    if (!raw->norm_name) {
        fprintf(stderr, "%s: missing NORM (one of softmax, multimax, sparsemax, entmax15, "
                        "entmax, evsoftmax)\n", prog);
        return CLI_EXIT_USAGE;
    }
    if (mmx_norm_parse(raw->norm_name, &kind) != MMX_OK) {
        fprintf(stderr, "%s: %s\n", prog, mmx_last_error());
        return CLI_EXIT_USAGE;
    }
    int rc = check_applicable(raw, kind, cmd, prog);
    if (rc == CLI_PROCEED && kind == MMX_NORM_MULTIMAX) rc = check_multimax(o, prog);
    if (rc != CLI_PROCEED) return rc;
    o->norm = build_norm(kind, raw, o);
    mmx_status st = mmx_norm_check(&o->norm);
    if (st != MMX_OK) {
        fprintf(stderr, "%s: invalid option value: %s\n", prog, mmx_last_error());
        fprintf(stderr, "%s: hint: see 'multimax help' for each option's domain\n", prog);
        return CLI_EXIT_USAGE;
    }
    return CLI_PROCEED;
}

int cli_opts_parse(cli_opts *o, const char *prog, cli_cmd cmd, int argc, char **argv) {
    memset(o, 0, sizeof *o);
    raw_opts raw = {.norm_name = NULL, .temperature = 1.0, .alpha = 1.5};
    int rc = parse_argv(&raw, o, prog, argc, argv);
    if (rc == CLI_DONE) cli_usage(stdout);
    if (rc != CLI_PROCEED) return rc;
    return finish(&raw, o, prog, cmd);
}

void cli_opts_free(cli_opts *o) {
    cli_vec_free(&o->ranges);
    cli_vec_free(&o->ts);
}
