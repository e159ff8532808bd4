/*
 * cmd_metrics.c - `multimax metrics NORM`: per stdin row, y = f(x) and the paper's
 * multi-modality M and sparsity S (Zhou et al. 2024, Def. 3.2 and 3.3), printed as "M S".
 */
#include "args.h"
#include "cli.h"
#include "rows.h"
#include "work.h"

static const char *const k_prog = "multimax metrics";

static void print_metric(double v, FILE *out) {
    if (v == MMX_METRIC_UNDEFINED)
        fputs("undefined", out);
    else
        fprintf(out, "%.6f", v);
}

static int metrics_row(const cli_opts *o, const cli_rows *r, cli_work *w) {
    size_t n = r->vals.n;
    if (cli_work_reserve(w, n) != 0) {
        fprintf(stderr, "%s: stdin line %ld: out of memory\n", k_prog, r->lineno);
        return CLI_EXIT_DATA;
    }
    if (cli_work_load(w, CLI_BUF_X, &r->vals, 0, n, k_prog, r->lineno) != 0) return CLI_EXIT_DATA;
    double m = 0.0, s = 0.0;
    mmx_status st = cli_work_forward(w, &o->norm, n);
    if (st == MMX_OK) st = cli_work_metrics(w, &m, &s, n, o->eps);
    if (st != MMX_OK) {
        cli_lib_error(k_prog, r->lineno, st);
        return CLI_EXIT_DATA;
    }
    print_metric(m, stdout);
    fputc(' ', stdout);
    print_metric(s, stdout);
    fputc('\n', stdout);
    return CLI_EXIT_OK;
}

static int metrics_all(const cli_opts *o) {
    cli_rows rows;
    cli_work work;
    cli_rows_init(&rows, stdin);
    cli_work_init(&work, o->dbl);
    int rc = CLI_EXIT_OK;
    for (;;) {
        int got = cli_rows_next(&rows, k_prog, 0);
        if (got == CLI_ROW_EOF) break;
        rc = got == CLI_ROW_ERR ? CLI_EXIT_DATA : metrics_row(o, &rows, &work);
        if (rc != CLI_EXIT_OK) break;
    }
    cli_rows_free(&rows);
    cli_work_free(&work);
    return rc;
}

int cmd_metrics(int argc, char **argv) {
    cli_opts o;
    int rc = cli_opts_parse(&o, k_prog, CLI_CMD_METRICS, argc, argv);
    if (rc == CLI_PROCEED)
        rc = metrics_all(&o);
    else if (rc == CLI_DONE)
        rc = CLI_EXIT_OK;
    cli_opts_free(&o);
    return cli_finish_output(k_prog, rc);
}
