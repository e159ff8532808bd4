/*
 * bench_norms.h - private types of `multimax bench norms`, shared by bench_norms*.c and
 * bench_peers.c: the parsed options, one result row, and the peers' results.
 */
#ifndef MMX_BENCH_NORMS_H
#define MMX_BENCH_NORMS_H

#include <stdint.h>
#include <stdio.h>

#include "multimax.h"

#define BN_PROG "multimax bench norms"
#define BN_MAX_SHAPES 32
#define BN_MAX_THREADS 16

enum { BN_EXIT_OK = 0, BN_EXIT_RUN = 1, BN_EXIT_USAGE = 2 };

/* Directions. FWDBWD rows are derived: fwd + bwd times of the same (op, shape, threads). */
enum { BN_FWD = 0, BN_BWD = 1, BN_FWDBWD = 2 };

/* The parsed command line (the only mutable state besides the buffers of a run). */
typedef struct {
    mmx_norm_kind norms[MMX_NORM_COUNT]; /* in --norms order */
    int n_norms;
    int64_t rows[BN_MAX_SHAPES], cols[BN_MAX_SHAPES]; /* already shrunk by --quick */
    int n_shapes;
    int threads[BN_MAX_THREADS];
    int n_threads;
    int fwd, bwd;     /* --dir */
    int reps;         /* timed calls per measurement, median reported */
    double alpha;     /* entmax */
    const char *json; /* NULL: none, "-": stdout, else a file */
    int peers, quick;
} bn_opts;

/* One measured (or derived) row of the table / one JSON line. */
typedef struct {
    mmx_norm_kind op;
    int dir; /* BN_FWD, BN_BWD, BN_FWDBWD */
    int64_t rows, cols;
    int threads;
    double ms;        /* median over reps (FWDBWD: fwd + bwd) */
    double memcpy_ms; /* memcpy of the same bytes, same threads (FWDBWD: the sum) */
    char peer[48];    /* "" if no peer figure for this row */
    double peer_ms;
} bn_row;

/* One JSON line of bench/peers_norms.py. */
typedef struct {
    char op[16], dir[8], peer[48];
    int64_t rows, cols;
    int threads;
    double ms;
} bn_peer;

typedef struct {
    bn_peer *v;
    int n, cap;
} bn_peers;

/* bench_norms_args.c */
void bn_usage(FILE *out);
/* Fills *o from argv[1..]; returns -1 if --help was asked (usage printed), else an exit
 * status (BN_EXIT_OK, or BN_EXIT_USAGE with the message printed). */
int bn_parse_args(bn_opts *o, int argc, char **argv);
const char *bn_dir_name(int dir);

/* bench_peers.c */
/* Runs bench/peers_norms.py for o's norms / shapes / threads / dirs and collects its lines.
 * Returns BN_EXIT_OK or BN_EXIT_RUN (message printed). */
int bn_peers_run(const bn_opts *o, bn_peers *out);
void bn_peers_free(bn_peers *p);
/* The peer figure for a row, or NULL. */
const bn_peer *bn_peers_find(const bn_peers *p, const bn_row *row);

/* bench_norms_report.c */
/* Bytes a row moves: fwd 2B, bwd 3B, fwdbwd 5B (B = rows * cols * 4). */
double bn_row_bytes(const bn_row *r);
void bn_table_header(FILE *out);
void bn_table_row(FILE *out, const bn_row *r, const char *isa);
void bn_json_row(FILE *out, const bn_row *r, const char *isa, const bn_opts *o);
void bn_summary(FILE *out, const bn_row *rows, int n);

#endif /* MMX_BENCH_NORMS_H */
