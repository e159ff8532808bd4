/*
 * When the row kernels write their output with non-temporal (cache-bypassing) stores.
 *
 * A cached store to a line that is not in the cache first reads the line from DRAM (a read
 * for ownership), so a kernel that writes an output too large to stay cached moves its bytes
 * twice; a non-temporal store writes them once. For an output that fits, cached stores are
 * better: the next call (or the caller) finds it in the cache. The driver (src/api/fast.c)
 * streams a call's output when the bytes the call touches (inputs and output) reach 3/8 of
 * the last-level cache, glibc's memcpy threshold (3/4 of a two-thread share), and every
 * output row is 64-byte aligned. Counting the inputs too is ours: on the benchmark VM the
 * backward gained 12-42% from 144 MiB touched, and the forwards streamed there measured the
 * same within the noise (docs/BENCHMARKS.md, normalizers, fifth session). MMX_STREAM_STORES=0 never streams, =1 always does (any size);
 * anything else, or unset: the rule.
 */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "cpu/cpu.h"

static int64_t rule_bytes(void) {
    long llc = -1;
#ifdef _SC_LEVEL3_CACHE_SIZE
    llc = sysconf(_SC_LEVEL3_CACHE_SIZE);
    if (llc <= 0) llc = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
    if (llc <= 0) llc = 8L << 20; /* unknown: assume 8 MiB */
    return (int64_t)llc / 8 * 3;
}

int64_t mmx_stream_min_bytes(void) {
    static int64_t v;
    static int done; /* benign race: every thread computes the same value */
    if (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
        const char *env = getenv("MMX_STREAM_STORES");
        v = env && env[0] == '0' && !env[1] ? INT64_MAX : env && env[0] == '1' && !env[1] ? 0 : rule_bytes();
        __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
    }
    return v;
}
