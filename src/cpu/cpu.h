/* CPU features (CPUID + XGETBV: the CPU has them AND the OS saves their registers). */
#ifndef MMX_CPU_H
#define MMX_CPU_H

typedef struct {
    int sse42, avx, avx2, fma, avx512f, avx512dq, avx512bw, avx512vl;
} mmx_cpu_flags;

/* Detected once, cached. */
const mmx_cpu_flags *mmx_cpu(void);

/* Calls touching at least this many bytes write their output with non-temporal stores
 * (stream.c). */
#include <stdint.h>
int64_t mmx_stream_min_bytes(void);

#endif
