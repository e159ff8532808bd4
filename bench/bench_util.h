/*
 * bench_util.h - helpers shared by the benchmarks: clock, median, pre-touched buffers,
 * random fill, the memcpy baseline, the ISA label and comma-list parsing.
 */
#ifndef MMX_BENCH_UTIL_H
#define MMX_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic wall clock in seconds. */
double bench_now(void);

/* Median of v[0..n) (n >= 1); sorts v in place. */
double bench_median(double *v, int n);

/* A 64-byte aligned buffer of `bytes` bytes, every page touched (zeroed) so that no page
 * fault lands inside a timed region. NULL if the allocation fails. Free with free(). */
void *bench_alloc_touched(size_t bytes);

/* n normal-ish values (Irwin-Hall sum of 4 uniforms), mean 0, standard deviation `scale`,
 * from a deterministic stream seeded by `seed`. */
void bench_fill_normal(float *v, size_t n, uint64_t seed, float scale);

/* Median time in ms of `reps` copies of `bytes` bytes from src to dst, split into one
 * contiguous chunk per thread over `threads` OpenMP threads (one warm-up copy first).
 * times: (reps) scratch for the per-copy times. */
double bench_memcpy_ms(void *dst, const void *src, size_t bytes, int threads, int reps,
                       double *times);

/* The ISA label of the rows: $MMX_ISA if set, else "avx512" / "avx2" (the first found in
 * mmx_cpu_features()), else "scalar". The one place to change when the library reports
 * the kernel it dispatched to. */
const char *bench_isa(void);

/* The 1-minute load average from /proc/loadavg (-1 if unavailable): timings on these shared
 * 2-core machines are only meaningful when it is well below the thread count. */
double bench_loadavg(void);

/* Splits a comma-separated list into at most max_items items of at most item_len - 1
 * characters (written to items, item_len bytes each). Returns the number of items, or -1
 * if there are too many, one is empty or one is too long. */
int bench_split_list(const char *list, char *items, size_t item_len, int max_items);

#endif /* MMX_BENCH_UTIL_H */
