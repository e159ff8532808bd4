/*
 * opts.h - a table-driven long-option parser for the training subcommands (`train vit`,
 * `eval`, `analyze`, `demo`): --name value or --name=value, flags without a value, and a
 * usage listing generated from the same table (every flag with its default).
 */
#ifndef MMX_CLI_OPTS_H
#define MMX_CLI_OPTS_H

#include <stdint.h>
#include <stdio.h>

#include "multimax.h"

typedef enum { OPT_INT, OPT_I64, OPT_U64, OPT_DOUBLE, OPT_STR, OPT_FLAG, OPT_NORM } opt_type;

typedef struct {
    const char *name; /* without the leading "--" */
    opt_type type;
    void *ptr;        /* int*, int64_t*, uint64_t*, double*, const char**, int* (flag: set 1),
                       * mmx_norm_kind* */
    const char *help; /* one line */
    double min, max;  /* numeric range (inclusive) when min < max */
} opt_spec;

/*
 * Parses argv[first..argc) against specs; non-option words go to positional[] (at most
 * max_pos, count in *n_pos; NULL/0 for none allowed). Returns 0, or prints
 * "prog: <problem>" to stderr and returns 2 (usage error).
 */
int opts_parse(const char *prog, const opt_spec *specs, int n_specs, int argc, char **argv,
               int first, const char **positional, int max_pos, int *n_pos);

/*
 * --help / -h anywhere: prints usage_head, "options:" and the table to stdout and returns 1
 * (the caller exits 0). Otherwise opts_parse: 0 to go on, 2 after a usage error.
 */
int opts_help_or_parse(const char *prog, const char *usage_head, const opt_spec *specs,
                       int n_specs, int argc, char **argv, int first, const char **positional,
                       int max_pos, int *n_pos);

/* "  --name VALUE   help (default: current value)" for every spec. */
void opts_usage(FILE *out, const opt_spec *specs, int n_specs);

#endif
