/* CPU feature detection with CPUID + XGETBV. */
#include <stdio.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "core/internal.h"
#include "cpu/cpu.h"

#if defined(__x86_64__) || defined(__i386__)
/* XCR0: which register states the OS saves on context switch. */
static unsigned long long read_xcr0(void) {
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static mmx_cpu_flags detect(void) {
    mmx_cpu_flags f;
    memset(&f, 0, sizeof f);
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    int osxsave = (c >> 27) & 1;
    unsigned long long xcr0 = osxsave ? read_xcr0() : 0;
    int os_avx = (xcr0 & 0x6) == 0x6, os_avx512 = (xcr0 & 0xe6) == 0xe6;
    unsigned int a7 = 0, b7 = 0, c7 = 0, d7 = 0;
    if (__get_cpuid_max(0, NULL) >= 7) __cpuid_count(7, 0, a7, b7, c7, d7);
    f.sse42 = (c >> 20) & 1;
    f.avx = ((c >> 28) & 1) && os_avx;
    f.fma = ((c >> 12) & 1) && os_avx;
    f.avx2 = ((b7 >> 5) & 1) && os_avx;
    f.avx512f = ((b7 >> 16) & 1) && os_avx512;
    f.avx512dq = ((b7 >> 17) & 1) && os_avx512;
    f.avx512bw = ((b7 >> 30) & 1) && os_avx512;
    f.avx512vl = ((b7 >> 31) & 1) && os_avx512;
    return f;
}
#else
static mmx_cpu_flags detect(void) {
    mmx_cpu_flags f;
    memset(&f, 0, sizeof f);
    return f;
}
#endif

const mmx_cpu_flags *mmx_cpu(void) {
    static mmx_cpu_flags flags;
    static int done; /* benign race: every thread computes the same value */
    if (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
        flags = detect();
        __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
    }
    return &flags;
}

const char *mmx_cpu_features(void) {
    static _Thread_local char buf[160];
    const mmx_cpu_flags *f = mmx_cpu();
    struct { const char *name; int on; } t[] = {
        {"sse4.2", f->sse42},     {"avx", f->avx},           {"avx2", f->avx2},
        {"fma", f->fma},          {"avx512f", f->avx512f},   {"avx512dq", f->avx512dq},
        {"avx512bw", f->avx512bw}, {"avx512vl", f->avx512vl},
    };
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (!t[i].on) continue;
        if (buf[0]) strncat(buf, " ", sizeof buf - strlen(buf) - 1);
        strncat(buf, t[i].name, sizeof buf - strlen(buf) - 1);
    }
    return buf;
}
