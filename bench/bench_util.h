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

/* Appends printf-style text to buf (size n, *len used so far); -1 if it does not fit. */
int bench_append(char *buf, size_t n, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The string (truncated to n - 1 bytes) or number under "key" in a flat JSON object line (the
 * peer scripts' result lines); -1 if absent or not of that type. */
int bench_json_str(const char *line, const char *key, char *out, size_t n);
int bench_json_num(const char *line, const char *key, double *v);

/* The path of `script` (relative to the source tree) under MMX_SOURCE_DIR (the build's), then
 * $MMX_SOURCE_DIR, then "."; 0 if found (and free of quotes), else -1 with a message naming
 * prog. */
int bench_find_script(char *path, size_t n, const char *prog, const char *script);

/* Runs the shell command cmd and hands each line of its standard output that starts with '{'
 * (a JSON result line) to on_line, which returns non-zero to reject it. 0 if cmd exited with
 * status 0 and every line was accepted; else -1, with a message naming prog and script. */
int bench_run_jsonl(const char *prog, const char *script, const char *cmd,
                    int (*on_line)(const char *line, void *ctx), void *ctx);

#endif /* MMX_BENCH_UTIL_H */
