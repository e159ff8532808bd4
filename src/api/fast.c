/*
 * The float32 path: the active ISA's kernels (src/kernels) over rows, in threads.
 *
 * Rows are cut into a fixed number of contiguous blocks (independent of the thread count);
 * threads take whole blocks, and scalar gradients are summed per block and then over blocks
 * in block order, so every result is bit-identical whatever the number of threads.
 * A row the kernel declines (NaN / +inf, or a float overflow) goes through the checked
 * double-precision reference: it is either computed there or left untouched and reported.
 * So on MMX_ERR_VALUE every row without a bad value holds its correct result, the rows with
 * one are untouched, and the message names the first bad row.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/drivers.h"
#include "core/internal.h"
#include "cpu/cpu.h"
#include "kernels/kernels.h"

#define MMX_BLOCKS 64
#define MMX_SERIAL_BELOW 32768 /* elements: below this a parallel region costs more than it saves */

typedef struct {
    int64_t bad; /* first row of the block with an error, or -1 */
    mmx_status st;
    mmx_grad_acc acc;
} block_out;

static double alpha_of(const mmx_norm *nm) {
    return nm->kind == MMX_NORM_SPARSEMAX ? 2.0 : nm->kind == MMX_NORM_ENTMAX15 ? 1.5 : nm->alpha;
}

/* Rows done by the kernel; 0 if this ISA has no kernel for the normalizer (the reference
 * then does every row). */
static int64_t fwd_kernel(const mmx_kernels *k, const mmx_norm *nm, const mmx_kmod *mod, float *y,
                          int64_t ldy, const float *x, int64_t ldx, int64_t rows, int64_t n,
                          float *scratch) {
    switch (nm->kind) {
    case MMX_NORM_SOFTMAX:
        return k->softmax_fwd ? k->softmax_fwd(y, ldy, x, ldx, rows, n, (float)(1.0 / nm->temperature), scratch) : 0;
    case MMX_NORM_MULTIMAX: return k->multimax_fwd ? k->multimax_fwd(y, ldy, x, ldx, rows, n, mod, scratch) : 0;
    case MMX_NORM_EVSOFTMAX:
        return k->evsoftmax_fwd ? k->evsoftmax_fwd(y, ldy, x, ldx, rows, n,
                                                   nm->eval ? 0.0f : (float)MMX_EVSOFTMAX_TRAIN_EPS)
                                : 0;
    case MMX_NORM_SPARSEMAX: return k->sparsemax_fwd ? k->sparsemax_fwd(y, ldy, x, ldx, rows, n) : 0;
    case MMX_NORM_ENTMAX15: return k->entmax15_fwd ? k->entmax15_fwd(y, ldy, x, ldx, rows, n) : 0;
    case MMX_NORM_ENTMAX: return k->entmax_fwd ? k->entmax_fwd(y, ldy, x, ldx, rows, n, nm->alpha) : 0;
    case MMX_NORM_COUNT: break;
    }
    return 0;
}

static int64_t bwd_kernel(const mmx_kernels *k, const mmx_norm *nm, const mmx_kmod *mod,
                          float *dx, int64_t lddx, mmx_grad_acc *acc, const float *dy,
                          int64_t lddy, const float *y, int64_t ldy, const float *x, int64_t ldx,
                          int64_t rows, int64_t n, int stream, int want_da) {
    int sparse = nm->kind == MMX_NORM_SPARSEMAX || nm->kind == MMX_NORM_ENTMAX15 || nm->kind == MMX_NORM_ENTMAX;
    if ((sparse && !k->entmax_bwd) || (nm->kind == MMX_NORM_MULTIMAX && !k->multimax_bwd) ||
        (!sparse && nm->kind != MMX_NORM_MULTIMAX && !k->softmax_bwd))
        return 0;
    switch (nm->kind) {
    case MMX_NORM_SOFTMAX:
        return k->softmax_bwd(dx, lddx, dy, lddy, y, ldy, rows, n, (float)(1.0 / nm->temperature), stream);
    case MMX_NORM_EVSOFTMAX: return k->softmax_bwd(dx, lddx, dy, lddy, y, ldy, rows, n, 1.0f, stream);
    case MMX_NORM_MULTIMAX:
        return k->multimax_bwd(dx, lddx, acc->dranges, acc->dts, dy, lddy, y, ldy, x, ldx, rows, n,
                               mod, stream);
    case MMX_NORM_SPARSEMAX:
    case MMX_NORM_ENTMAX15:
    case MMX_NORM_ENTMAX:
        return k->entmax_bwd(dx, lddx, nm->kind == MMX_NORM_ENTMAX && want_da ? &acc->dalpha : NULL,
                             dy, lddy, y, ldy, rows, n, alpha_of(nm), stream);
    case MMX_NORM_COUNT: break;
    }
    return 0;
}

static int n_threads(int64_t rows, int64_t cols) {
    return rows * cols < MMX_SERIAL_BELOW ? 1 : mmx_get_num_threads();
}

/* One call's work: the buffers of a forward (y, x) or a backward (dx, dy, y, x). */
typedef struct {
    const char *fn;
    const mmx_norm *nm;
    const mmx_kernels *k;
    mmx_kmod mod;
    int bwd;
    int stream; /* non-temporal stores for the output (mmx_stream_min_bytes) */
    int want_da; /* alpha-EntMax backward: dalpha wanted (its double sums cost ~2x the dx) */
    int64_t rows, cols;
    float *out;             /* y (fwd) or dx (bwd)  */
    int64_t ldout;
    const float *dy, *y, *x; /* dy, y: bwd only     */
    int64_t lddy, ldy, ldx;
} job;

/* The kernel on rows [r, r1); returns the first row it did not do. scratch: this thread's
 * staging row for a streamed forward (NULL: none). */
static int64_t job_kernel(const job *j, int64_t r, int64_t r1, mmx_grad_acc *acc, float *scratch) {
    if (!j->bwd)
        return r + fwd_kernel(j->k, j->nm, &j->mod, j->out + r * j->ldout, j->ldout,
                              j->x + r * j->ldx, j->ldx, r1 - r, j->cols, scratch);
    return r + bwd_kernel(j->k, j->nm, &j->mod, j->out + r * j->ldout, j->ldout, acc,
                          j->dy + r * j->lddy, j->lddy, j->y + r * j->ldy, j->ldy,
                          j->x ? j->x + r * j->ldx : NULL, j->ldx, r1 - r, j->cols, j->stream,
                          j->want_da);
}

/* Row r through the checked reference: checks it and, unless check_only, computes it.
 * buf: 4*cols doubles. */
static mmx_status job_reference(const job *j, int64_t r, double *buf, mmx_grad_acc *acc,
                                int check_only) {
    mmx_cview xv = mmx_cview_f32(j->x, j->ldx);
    mmx_view outv = mmx_view_f32(j->out, j->ldout);
    if (!j->bwd) {
        mmx_status st = mmx_check_forward_values(j->fn, j->nm, xv, r, r + 1, j->cols, buf);
        if (!st && !check_only) mmx_ref_forward_rows(j->nm, outv, xv, r, r + 1, j->cols, buf);
        return st;
    }
    mmx_cview dyv = mmx_cview_f32(j->dy, j->lddy), yv = mmx_cview_f32(j->y, j->ldy);
    mmx_status st = mmx_check_backward_values(j->fn, j->nm, dyv, yv, xv, r, r + 1, j->cols, buf);
    if (!st && !check_only) mmx_ref_backward_rows(j->nm, outv, acc, dyv, yv, xv, r, r + 1, j->cols, buf);
    return st;
}

/* Block b: the kernel, and the reference for each row it declines. */
static void job_block(const job *j, int b, int nb, block_out *out, float *scratch) {
    int64_t r = j->rows * b / nb, r1 = j->rows * (b + 1) / nb;
    double *buf = NULL;
    while ((r = job_kernel(j, r, r1, &out->acc, scratch)) < r1) {
        mmx_status st = buf || (buf = malloc(4 * (size_t)j->cols * sizeof *buf)) ? MMX_OK : MMX_ERR_NOMEM;
        if (!st) st = job_reference(j, r, buf, &out->acc, 0);
        if (st && out->bad < 0) out->bad = r, out->st = st;
        r++;
    }
    free(buf);
}

/* A streamed forward's staging rows (mmx_fwd_scratch_floats, 64-byte aligned), or NULL: then the kernel
 * writes y as usual (the same values). Only SoftMax and MultiMax take one, and only for rows
 * that fit in L2 (up to 64K floats per row, 256 KiB per thread), as the kernels assume. */
#define MMX_STREAM_FWD_MAX_COLS 65536
static float *stream_scratch(const job *j) {
    if (!j->stream || j->bwd || j->cols > MMX_STREAM_FWD_MAX_COLS ||
        (j->nm->kind != MMX_NORM_SOFTMAX && j->nm->kind != MMX_NORM_MULTIMAX))
        return NULL;
    size_t bytes = ((size_t)mmx_fwd_scratch_floats(j->cols) * sizeof(float) + 63) / 64 * 64;
    return aligned_alloc(64, bytes);
}

static mmx_status job_run(const job *j, mmx_grad_acc *acc) {
    const int nb = j->rows < MMX_BLOCKS ? (int)j->rows : MMX_BLOCKS;
    block_out out[MMX_BLOCKS];
    memset(out, 0, sizeof out);
#ifdef MMX_HAVE_OPENMP
#pragma omp parallel num_threads(n_threads(j->rows, j->cols))
#endif
    {
        float *scratch = stream_scratch(j);
#ifdef MMX_HAVE_OPENMP
#pragma omp for schedule(static)
#endif
        for (int b = 0; b < nb; b++) {
            out[b].bad = -1;
            job_block(j, b, nb, &out[b], scratch);
        }
        free(scratch);
    }
    for (int b = 0; acc && b < nb; b++) { /* block order: deterministic sums */
        for (int i = 0; i < 2 * MMX_MULTIMAX_MAX_ORDER; i++) {
            acc->dranges[i] += out[b].acc.dranges[i];
            acc->dts[i] += out[b].acc.dts[i];
        }
        acc->dalpha += out[b].acc.dalpha;
    }
    for (int b = 0; b < nb; b++) { /* the first bad row; its message rebuilt on this thread */
        if (out[b].bad < 0) continue;
        double *buf = malloc(4 * (size_t)j->cols * sizeof *buf);
        mmx_status st = buf ? job_reference(j, out[b].bad, buf, NULL, 1) : MMX_OK;
        free(buf);
        return st ? st : mmx_fail(out[b].st, j->fn, "row %lld: %s", (long long)out[b].bad, mmx_status_str(out[b].st));
    }
    return MMX_OK;
}

/* Whether a call streams its output: the bytes it touches (inputs and output) reach the
 * threshold of stream.c, so its output cannot stay cached for whoever reads it next, and
 * every output row starts on a 64-byte boundary (a call that mixes streamed and cached rows
 * measured slower than either). */
static int stream_call(const float *out, int64_t ldout, int64_t rows, int64_t cols, int arrays) {
    return rows * cols * (int64_t)sizeof(float) * arrays >= mmx_stream_min_bytes() &&
           ((uintptr_t)out & 63) == 0 && (rows == 1 || (ldout * (int64_t)sizeof(float)) % 64 == 0);
}

mmx_status mmx_fast_forward(const char *fn, const mmx_norm *nm, float *y, int64_t ldy,
                            const float *x, int64_t ldx, int64_t rows, int64_t cols) {
    job j = {.fn = fn, .nm = nm, .k = mmx_kernels_active(), .mod = mmx_kmod_from_norm(nm), .bwd = 0,
             .rows = rows, .cols = cols, .out = y, .ldout = ldy, .x = x, .ldx = ldx,
             .stream = stream_call(y, ldy, rows, cols, 2)};
    return job_run(&j, NULL);
}

mmx_status mmx_fast_backward(const char *fn, const mmx_norm *nm, float *dx, int64_t lddx,
                             mmx_grad_acc *acc, int want_dalpha, const float *dy, int64_t lddy,
                             const float *y, int64_t ldy, const float *x, int64_t ldx,
                             int64_t rows, int64_t cols) {
    job j = {.fn = fn, .nm = nm, .k = mmx_kernels_active(), .mod = mmx_kmod_from_norm(nm), .bwd = 1,
             .want_da = want_dalpha,
             .rows = rows, .cols = cols, .out = dx, .ldout = lddx, .dy = dy, .lddy = lddy,
             .y = y, .ldy = ldy, .x = x, .ldx = ldx,
             .stream = stream_call(dx, lddx, rows, cols, nm->kind == MMX_NORM_MULTIMAX ? 4 : 3)};
    return job_run(&j, acc);
}

/* The serial forms, for drivers that own the threads (src/attn): one block, this thread. */
mmx_status mmx_fast_forward_serial(const char *fn, const mmx_norm *nm, float *y, int64_t ldy,
                                   const float *x, int64_t ldx, int64_t rows, int64_t cols,
                                   int64_t *bad_row) {
    job j = {.fn = fn, .nm = nm, .k = mmx_kernels_active(), .mod = mmx_kmod_from_norm(nm), .bwd = 0,
             .rows = rows, .cols = cols, .out = y, .ldout = ldy, .x = x, .ldx = ldx};
    block_out out = {.bad = -1};
    job_block(&j, 0, 1, &out, NULL);
    *bad_row = out.bad;
    return out.bad < 0 ? MMX_OK : out.st;
}

mmx_status mmx_fast_backward_serial(const char *fn, const mmx_norm *nm, float *dx, int64_t lddx,
                                    mmx_grad_acc *acc, const float *dy, int64_t lddy,
                                    const float *y, int64_t ldy, const float *x, int64_t ldx,
                                    int64_t rows, int64_t cols, int64_t *bad_row) {
    job j = {.fn = fn, .nm = nm, .k = mmx_kernels_active(), .mod = mmx_kmod_from_norm(nm), .bwd = 1,
             .want_da = 1,
             .rows = rows, .cols = cols, .out = dx, .ldout = lddx, .dy = dy, .lddy = lddy,
             .y = y, .ldy = ldy, .x = x, .ldx = ldx};
    block_out out = {.bad = -1};
    job_block(&j, 0, 1, &out, NULL);
    if (acc) {
        for (int i = 0; i < 2 * MMX_MULTIMAX_MAX_ORDER; i++) {
            acc->dranges[i] += out.acc.dranges[i];
            acc->dts[i] += out.acc.dts[i];
        }
        acc->dalpha += out.acc.dalpha;
    }
    *bad_row = out.bad;
    return out.bad < 0 ? MMX_OK : out.st;
}
