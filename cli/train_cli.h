/*
 * train_cli.h - what `train vit`, `eval`, `analyze` and `demo` share: the training options
 * table, loading a checkpoint into a model, analysing a model into a report entry, and
 * printing a library error with a hint.
 */
#ifndef MMX_CLI_TRAIN_CLI_H
#define MMX_CLI_TRAIN_CLI_H

#include "opts.h"
#include "train/analyze.h"
#include "train/trainer.h"

#define TRAIN_MAX_SPECS 40

/* Options of `train vit` bound to tc (and *threads); returns the count. */
int train_specs(opt_spec *s, train_config *tc, int *threads, int *quiet, int *no_augment);

/* Prints "prog: <mmx_last_error()>" and a hint for the status; returns CLI_EXIT_DATA. */
int train_cli_error(const char *prog, mmx_status st);

/* Opens a checkpoint, builds its model for batches of max_batch and loads the parameters. */
mmx_status train_load_model(vit_model *m, const char *path, int max_batch);

/* Applies --threads (0 = keep the default); prints an error and returns 2 when invalid. */
int train_set_threads(const char *prog, int threads);

#endif
