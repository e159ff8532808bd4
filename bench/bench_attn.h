/*
 * bench_attn.h - private types of `multimax bench attn`, shared by bench_attn*.c: the parsed
 * options, one result row (ours, fused or naive, or a PyTorch peer), the machine's sgemm
 * rates and the naive (materialised) attention path.
 */
#ifndef MMX_BENCH_ATTN_H
#define MMX_BENCH_ATTN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "multimax.h"

#define BA_PROG "multimax bench attn"
#define BA_MAX_T 16
#define BA_MAX_THREADS 16

enum { BA_EXIT_OK = 0, BA_EXIT_RUN = 1, BA_EXIT_USAGE = 2 };

/* Passes: forward only, or forward + backward timed together. */
enum { BA_FWD = 0, BA_FWDBWD = 1 };

/* The parsed command line. */
typedef struct {
    mmx_norm_kind norms[MMX_NORM_COUNT]; /* in --norms order */
    int n_norms;
    int64_t T[BA_MAX_T]; /* Tq = Tk = T */
    int n_T;
    int64_t dim, heads, batch;
    int threads[BA_MAX_THREADS];
    int n_threads;
    int causal;
    int reps;          /* timed repetitions after the warm-up, median reported */
    int warmup;        /* untimed calls first (default 1) */
    double budget;     /* seconds per measurement before reps is cut (never below 1) */
    int fwd, fwdbwd;   /* --pass */
    int naive, peers;  /* --naive, --peers */
    double naive_gib;  /* --naive-max-gib: skip the naive path above this many GiB */
    double alpha;      /* entmax */
    const char *json;  /* NULL: none, "-": stdout, else a file */
} ba_opts;

/* One row of the table / one JSON line. */
typedef struct {
    mmx_norm_kind norm;
    int pass;        /* BA_FWD, BA_FWDBWD */
    char impl[32];   /* "fused", "naive", or a peer's name ("torch_softmax", ...) */
    int64_t T;
    int threads;
    double ms;       /* median; < 0 when the row failed or was skipped (see note) */
    double bwd_ms;   /* ours, fwdbwd: median of the backward call alone; < 0 if n/a */
    double peak_mb;  /* peak extra memory, MB (1e6 bytes) */
    int reps;        /* timed repetitions behind the median */
    double maxdiff;  /* fused rows with --naive: max over the outputs of max|fused - naive| /
                      * max|naive|; < 0 n/a */
    double l2diff;   /* the same with ||fused - naive||_2 / ||naive||_2                     */
    char worst[8];   /* the output with the largest l2diff: "out", "dq", "dk" or "dv"      */
    double gdiff;    /* max relative difference of the MultiMax / entmax scalar gradients */
    double load;     /* 1-minute load average right after the measurement; < 0 unknown */
    char note[160];  /* why a row has no time ("not implemented yet", "skipped: ...") */
} ba_row;

typedef struct {
    ba_row *v;
    int n, cap;
} ba_rows;

/* bench_attn_args.c */
void ba_usage(FILE *out);
/* Fills *o from argv[1..]; -1 if --help was asked (usage printed), else an exit status. */
int ba_parse_args(ba_opts *o, int argc, char **argv);
const char *ba_pass_name(int pass);
/* The benchmark's normalizer of kind k (MultiMax: the fixed order-2 setting below). */
mmx_norm ba_make_norm(mmx_norm_kind k, double alpha);
extern const double ba_mm_ranges[4], ba_mm_ts[4];

/* bench_attn.c */
int ba_rows_push(ba_rows *rs, const ba_row *r);
/* Matmul flops counted for a row (see ba_usage): fwd 4 BHT^2D, fwdbwd 12 BHT^2D, halved
 * when causal. */
double ba_flops(const ba_opts *o, int64_t T, int pass);

/* bench_attn_blas.c: OpenBLAS (declared there, cblas.h is not on this target's path). */
typedef struct {
    double big;   /* 1024^3 sgemm by OpenBLAS on `threads` threads, GFLOP/s */
    double tile;  /* 64x64x1024 (M x N x K) single-threaded sgemm per thread, all threads */
    double strip; /* 64x1024x64 (a 64-query score strip), same way */
} ba_sgemm;
void ba_sgemm_rates(int threads, ba_sgemm *out);
const char *ba_openblas_core(void);

/* The naive path: scores, probabilities and their gradient materialised (B,H,T,T). */
typedef struct {
    float *s, *p, *dp; /* (B*H, T, T) each; dp also holds dS (backward in place) */
} ba_naive_bufs;
/* Bytes the naive path materialises for a pass: 2 matrices (S, P) forward, 3 fwdbwd. */
double ba_naive_bytes(const ba_opts *o, int64_t T, int pass);
/* out = f(scale q k^T + mask) v. */
mmx_status ba_naive_forward(const mmx_attn *a, const mmx_norm *nm, const ba_naive_bufs *nb,
                            float *out, const float *q, const float *k, const float *v);
/* dq, dk, dv (and *pg) from dout, with S and P from ba_naive_forward. */
mmx_status ba_naive_backward(const mmx_attn *a, const mmx_norm *nm, const ba_naive_bufs *nb,
                             float *dq, float *dk, float *dv, mmx_param_grads *pg,
                             const float *dout, const float *q, const float *k, const float *v);

/* bench_attn_peers.c: runs bench/peers_attn.py, appends its rows (impl = peer name). */
int ba_peers_run(const ba_opts *o, ba_rows *out);

/* bench_attn_report.c */
void ba_header(FILE *out, const ba_opts *o, const char *isa, const ba_sgemm *rates,
               const int *threads, int n_threads);
void ba_table_header(FILE *out);
void ba_table_row(FILE *out, const ba_row *r, const ba_rows *all, const ba_opts *o,
                  const ba_sgemm *rate);
void ba_json_row(FILE *out, const ba_row *r, const ba_rows *all, const ba_opts *o,
                 const ba_sgemm *rate, const char *isa);
void ba_summary(FILE *out, const ba_rows *all, const ba_opts *o);

#endif /* MMX_BENCH_ATTN_H */
