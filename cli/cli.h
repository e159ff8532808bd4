/*
 * cli.h - shared declarations of the `multimax` program: exit codes, subcommands, and
 * the error reporting every subcommand uses.
 */
#ifndef MMX_CLI_H
#define MMX_CLI_H

#include <stdio.h>

#include "multimax.h"

/* Exit status of the program (documented in the usage text). */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_DATA = 1,  /* bad input data, a library error, an I/O error */
    CLI_EXIT_USAGE = 2  /* bad command line */
};

/* Subcommands: argv[0] is the subcommand's own name; each returns an exit status. */
int cmd_info(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_examples(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_analyze(int argc, char **argv);

/* Fashion-MNIST's class names. */
extern const char *const k_fmnist_classes[10];
int cmd_bench(int argc, char **argv);

/* The full usage text (every subcommand and flag with its default). */
void cli_usage(FILE *out);

/* Prints "PROG: stdin line N: <mmx_last_error()>" and a hint chosen by status. */
void cli_lib_error(const char *prog, long lineno, mmx_status st);

/* Flushes stdout; on a write error prints a message and returns CLI_EXIT_DATA. */
int cli_finish_output(const char *prog, int rc);

#endif /* MMX_CLI_H */
