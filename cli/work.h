/*
 * work.h - per-row buffers in the chosen precision, and the library calls on one row
 * (rows = 1, cols = the row's length), so `apply` and `metrics` need no per-precision code.
 */
#ifndef MMX_CLI_WORK_H
#define MMX_CLI_WORK_H

#include <stdio.h>

#include "multimax.h"
#include "rows.h"

typedef struct {
    int dbl;    /* 1: the f64 buffers and entry points; 0: f32 */
    size_t cap; /* entries each buffer holds */
    float *xf, *yf, *dyf, *dxf;  /* (cap) x, y = f(x), dy, dx in float32 */
    double *xd, *yd, *dyd, *dxd; /* (cap) the same in float64 */
} cli_work;

/* Which buffer a load or print refers to. */
typedef enum { CLI_BUF_X, CLI_BUF_Y, CLI_BUF_DY, CLI_BUF_DX } cli_buf;

void cli_work_init(cli_work *w, int dbl);
void cli_work_free(cli_work *w);

/* Makes room for rows of n entries. 0 ok, -1 no memory. */
int cli_work_reserve(cli_work *w, size_t n);

/* Copies vals[from .. from+n) into buffer b (CLI_BUF_X or CLI_BUF_DY). In float32 a finite
 * value beyond float range is an error reported as "PROG: stdin line L, column C: ...";
 * returns 0 ok, -1 after that message. */
int cli_work_load(cli_work *w, cli_buf b, const cli_vec *vals, size_t from, size_t n,
                  const char *prog, long lineno);

/* y = f(x) on one row of n entries. */
mmx_status cli_work_forward(cli_work *w, const mmx_norm *norm, size_t n);
/* dx = J^T dy on one row, after cli_work_forward; parameter gradients accumulate in pg. */
mmx_status cli_work_backward(cli_work *w, const mmx_norm *norm, mmx_param_grads *pg, size_t n);
/* The paper's M and S of the row (y against x). */
mmx_status cli_work_metrics(const cli_work *w, double *m, double *s, size_t n, double eps);

/* Prints buffer b as one space-separated line: %.9g (float32) or %.17g (float64). */
void cli_work_print(const cli_work *w, cli_buf b, size_t n, FILE *out);
/* Prints "label v v .." with the same number format. */
void cli_print_doubles(const cli_work *w, const char *label, const double *v, size_t n,
                       FILE *out);

#endif /* MMX_CLI_WORK_H */
