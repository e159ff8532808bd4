/*
 * cmd_apply.c - `multimax apply NORM`: one library call per stdin row (rows = 1), printing
 * y = f(x), or with --vjp the gradient dx = J_f(x)^T dy of 'x | dy' lines followed by the
 * normalizer's own parameter gradients summed over every row.
 */
#include <stdlib.h>

#include "args.h"
#include "cli.h"
#include "rows.h"
#include "work.h"

static const char *const k_prog = "multimax apply";

typedef struct {
    cli_opts opts;
    cli_rows rows;
    cli_work work;
    double *dranges; /* (2N) MultiMax gradients, summed over rows (--vjp) */
    double *dts;     /* (2N) */
    double dalpha;   /* entmax gradient, summed over rows (--vjp) */
    mmx_param_grads pg;
} apply_state;

static size_t n_params(const apply_state *s) { return s->opts.ranges.n; }

/* The parameter gradients this normalizer has, zeroed. 0 ok, -1 no memory. */
static int init_grads(apply_state *s) {
    mmx_norm_kind kind = s->opts.norm.kind;
    if (kind == MMX_NORM_MULTIMAX) {
        s->dranges = calloc(n_params(s), sizeof *s->dranges);
        s->dts = calloc(n_params(s), sizeof *s->dts);
        if (!s->dranges || !s->dts) return -1;
        s->pg.dranges = s->dranges;
        s->pg.dts = s->dts;
    } else if (kind == MMX_NORM_ENTMAX) {
        s->pg.dalpha = &s->dalpha;
    }
    return 0;
}

static void print_grads(const apply_state *s) {
    mmx_norm_kind kind = s->opts.norm.kind;
    if (kind == MMX_NORM_MULTIMAX) {
        cli_print_doubles(&s->work, "dranges", s->dranges, n_params(s), stdout);
        cli_print_doubles(&s->work, "dts", s->dts, n_params(s), stdout);
    } else if (kind == MMX_NORM_ENTMAX) {
        cli_print_doubles(&s->work, "dalpha", &s->dalpha, 1, stdout);
    }
}

/* The row's length, after checking the 'x | dy' shape of a --vjp line. 0 on error. */
static size_t row_cols(const apply_state *s) {
    const cli_rows *r = &s->rows;
    if (!s->opts.vjp) return r->vals.n;
    if (r->split == CLI_NO_SPLIT) {
        fprintf(stderr,
                "%s: stdin line %ld: with --vjp a line is 'x1 x2 .. | dy1 dy2 ..', found no "
                "'|'\n",
                k_prog, r->lineno);
        return 0;
    }
    size_t before = r->split, after = r->vals.n - r->split;
    if (before == 0 || before != after) {
        fprintf(stderr,
                "%s: stdin line %ld: %zu values before '|' and %zu after; expected the same "
                "number (at least 1) on both sides\n",
                k_prog, r->lineno, before, after);
        return 0;
    }
    return before;
}

static int apply_row(apply_state *s) {
    const cli_rows *r = &s->rows;
    size_t n = row_cols(s);
    if (n == 0) return CLI_EXIT_DATA;
    if (cli_work_reserve(&s->work, n) != 0) {
        fprintf(stderr, "%s: stdin line %ld: out of memory\n", k_prog, r->lineno);
        return CLI_EXIT_DATA;
    }
    if (cli_work_load(&s->work, CLI_BUF_X, &r->vals, 0, n, k_prog, r->lineno) != 0)
        return CLI_EXIT_DATA;
    if (s->opts.vjp && cli_work_load(&s->work, CLI_BUF_DY, &r->vals, n, n, k_prog, r->lineno))
        return CLI_EXIT_DATA;
    mmx_status st = cli_work_forward(&s->work, &s->opts.norm, n);
    if (st == MMX_OK && s->opts.vjp) st = cli_work_backward(&s->work, &s->opts.norm, &s->pg, n);
    if (st != MMX_OK) {
        cli_lib_error(k_prog, r->lineno, st);
        return CLI_EXIT_DATA;
    }
    cli_work_print(&s->work, s->opts.vjp ? CLI_BUF_DX : CLI_BUF_Y, n, stdout);
    return CLI_EXIT_OK;
}

static int apply_all(apply_state *s) {
    if (s->opts.vjp && init_grads(s) != 0) {
        fprintf(stderr, "%s: out of memory\n", k_prog);
        return CLI_EXIT_DATA;
    }
    for (;;) {
        int got = cli_rows_next(&s->rows, k_prog, s->opts.vjp);
        if (got == CLI_ROW_EOF) break;
        if (got == CLI_ROW_ERR) return CLI_EXIT_DATA;
        int rc = apply_row(s);
        if (rc != CLI_EXIT_OK) return rc;
    }
    if (s->opts.vjp) print_grads(s);
    return CLI_EXIT_OK;
}

int cmd_apply(int argc, char **argv) {
    apply_state s = {0};
    int rc = cli_opts_parse(&s.opts, k_prog, CLI_CMD_APPLY, argc, argv);
    if (rc == CLI_PROCEED) {
        cli_rows_init(&s.rows, stdin);
        cli_work_init(&s.work, s.opts.dbl);
        rc = apply_all(&s);
        cli_rows_free(&s.rows);
        cli_work_free(&s.work);
    } else if (rc == CLI_DONE) {
        rc = CLI_EXIT_OK;
    }
    free(s.dranges);
    free(s.dts);
    cli_opts_free(&s.opts);
    return cli_finish_output(k_prog, rc);
}
