/*
 * bench_util.c - helpers shared by the benchmarks (see bench_util.h).
 */
#include "bench_util.h"

#include <stdarg.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/wait.h>
#include <unistd.h>

#include "multimax.h"

double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void *bench_alloc_touched(size_t bytes) {
    void *p = NULL;
    if (bytes == 0) bytes = 64;
    if (posix_memalign(&p, 64, bytes) != 0) return NULL;
    memset(p, 0, bytes); /* first touch: page faults here cost ~10-30 us per 4 KiB page */
    return p;
}

/* splitmix64: a tiny stateless-step generator; the state lives in the caller. */
static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void bench_fill_normal(float *v, size_t n, uint64_t seed, float scale) {
    /* Sum of 4 uniforms on (0,1) has mean 2 and variance 4/12 = 1/3. */
    const double k = (double)scale * 1.7320508075688772 / 65536.0;
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        uint64_t b = splitmix64(&s);
        double sum = (double)(b & 0xFFFF) + (double)((b >> 16) & 0xFFFF) +
                     (double)((b >> 32) & 0xFFFF) + (double)(b >> 48) + 2.0 - 2.0 * 65536.0;
        v[i] = (float)(k * sum);
    }
}

/* One contiguous, 64-byte aligned chunk per thread, as a row-parallel kernel would split. */
static void copy_chunks(char *dst, const char *src, size_t bytes, int threads) {
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static, 1)
#endif
    for (int t = 0; t < threads; t++) {
        size_t lo = t == 0 ? 0 : (bytes / (size_t)threads * (size_t)t) & ~(size_t)63;
        size_t hi = t == threads - 1 ? bytes
                                     : (bytes / (size_t)threads * (size_t)(t + 1)) & ~(size_t)63;
        if (hi > lo) memcpy(dst + lo, src + lo, hi - lo);
    }
}

double bench_memcpy_ms(void *dst, const void *src, size_t bytes, int threads, int reps,
                       double *times) {
    copy_chunks(dst, src, bytes, threads); /* warm-up: thread pool start, TLB */
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now();
        copy_chunks(dst, src, bytes, threads);
        times[r] = 1e3 * (bench_now() - t0);
    }
    return bench_median(times, reps);
}

/* The float32 kernels the library uses (set MMX_ISA to force one). */
const char *bench_isa(void) { return mmx_isa(); }

double bench_loadavg(void) {
    double v = -1.0;
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f) return v;
    if (fscanf(f, "%lf", &v) != 1) v = -1.0;
    fclose(f);
    return v;
}

int bench_split_list(const char *list, char *items, size_t item_len, int max_items) {
    int n = 0;
    const char *p = list;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0 || len >= item_len || n >= max_items) return -1;
        memcpy(items + (size_t)n * item_len, p, len);
        items[(size_t)n * item_len + len] = '\0';
        n++;
        if (!end) return n;
        p = end + 1;
    }
}

int bench_find_script(char *path, size_t n, const char *prog, const char *script) {
    const char *dirs[3];
    int nd = 0;
#ifdef MMX_SOURCE_DIR
    dirs[nd++] = MMX_SOURCE_DIR;
#endif
    const char *env = getenv("MMX_SOURCE_DIR");
    if (env && *env) dirs[nd++] = env;
    dirs[nd++] = ".";
    for (int i = 0; i < nd; i++) {
        int len = snprintf(path, n, "%s/%s", dirs[i], script);
        if (len > 0 && (size_t)len < n && !strchr(path, '\'') && access(path, R_OK) == 0)
            return 0;
    }
    fprintf(stderr,
            "%s: --peers: cannot find %s (looked under MMX_SOURCE_DIR and the current "
            "directory); run from the source tree or set MMX_SOURCE_DIR=/path/to/multimax\n",
            prog, script);
    return -1;
}

int bench_run_jsonl(const char *prog, const char *script, const char *cmd,
                    int (*on_line)(const char *line, void *ctx), void *ctx) {
    char line[2048];
    fprintf(stderr, "%s: running peers: %s\n", prog, cmd);
    fflush(stdout);
    FILE *f = popen(cmd, "r");
    if (!f) {
        fprintf(stderr, "%s: --peers: cannot start: %s\n", prog, cmd);
        return -1;
    }
    int bad = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] != '{') continue; /* not a result line */
        if (on_line(line, ctx)) {
            fprintf(stderr, "%s: --peers: unreadable line: %s", prog, line);
            bad = 1;
        }
    }
    int st = pclose(f);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || bad) {
        fprintf(stderr, "%s: --peers: %s failed (status %d); see its messages above\n", prog,
                script, st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128);
        return -1;
    }
    return 0;
}

int bench_append(char *buf, size_t n, size_t *len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + *len, n - *len, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= n - *len) return -1;
    *len += (size_t)k;
    return 0;
}

/* Where the value of "key" starts in a flat JSON object line, or NULL. */
static const char *json_value(const char *line, const char *key) {
    char pat[40];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = strstr(line, pat);
    if (!p) return NULL;
    p += strlen(pat);
    while (*p == ' ') p++;
    if (*p++ != ':') return NULL;
    while (*p == ' ') p++;
    return p;
}

int bench_json_str(const char *line, const char *key, char *out, size_t n) {
    const char *p = json_value(line, key);
    if (!p || *p++ != '"' || n == 0) return -1;
    const char *end = strchr(p, '"');
    if (!end) return -1;
    size_t len = (size_t)(end - p) < n ? (size_t)(end - p) : n - 1;
    memcpy(out, p, len);
    out[len] = '\0';
    return 0;
}

int bench_json_num(const char *line, const char *key, double *v) {
    const char *p = json_value(line, key);
    char *end;
    if (!p) return -1;
    *v = strtod(p, &end);
    return end == p ? -1 : 0;
}
