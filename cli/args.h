/*
 * args.h - the options shared by `apply` and `metrics`: NORM and its scalars, parsed
 * and checked into a ready mmx_norm.
 */
#ifndef MMX_CLI_ARGS_H
#define MMX_CLI_ARGS_H

#include "multimax.h"
#include "rows.h"

/* Which subcommand is parsing (some options belong to one only). */
typedef enum { CLI_CMD_APPLY, CLI_CMD_METRICS } cli_cmd;

typedef struct {
    mmx_norm norm; /* checked; norm.ranges / norm.ts point into the vectors below */
    cli_vec ranges; /* (2N) owned MultiMax thresholds */
    cli_vec ts;     /* (2N) owned MultiMax coefficients */
    int vjp;        /* apply: read 'x | dy' lines, print dx */
    int dbl;        /* float64 entry points */
    double eps;     /* metrics: relevance threshold */
} cli_opts;

/* cli_opts_parse's results besides an exit status: go on, or stop with status 0. */
enum { CLI_PROCEED = -1, CLI_DONE = -2 };

/*
 * Parses argv[1..argc) (argv[0] is the subcommand). Returns CLI_PROCEED with *o filled,
 * CLI_DONE after printing the usage for --help, or CLI_EXIT_USAGE after a message on
 * stderr. Free *o with cli_opts_free in every case.
 */
int cli_opts_parse(cli_opts *o, const char *prog, cli_cmd cmd, int argc, char **argv);
void cli_opts_free(cli_opts *o);

#endif /* MMX_CLI_ARGS_H */
