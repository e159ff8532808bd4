/* Version, build description, CPU feature detection (CPUID + XGETBV) and thread count. */
#include <stdio.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#ifdef MMX_HAVE_OPENMP
#include <omp.h>
#endif

#include "core/internal.h"

#ifndef MMX_BUILD_TYPE
#define MMX_BUILD_TYPE "unknown"
#endif
#ifndef MMX_COMPILER
#define MMX_COMPILER "unknown"
#endif
#ifndef MMX_SANITIZE_STR
#define MMX_SANITIZE_STR "none"
#endif
#define MMX_STR2(x) #x
#define MMX_STR(x) MMX_STR2(x)

const char *mmx_version(void) {
    return MMX_STR(MMX_VERSION_MAJOR) "." MMX_STR(MMX_VERSION_MINOR) "." MMX_STR(MMX_VERSION_PATCH);
}

const char *mmx_build_info(void) {
    return "compiler=" MMX_COMPILER " build=" MMX_BUILD_TYPE " sanitize=" MMX_SANITIZE_STR
#ifdef MMX_HAVE_OPENMP
           " openmp=yes"
#else
           " openmp=no"
#endif
        ;
}

#if defined(__x86_64__) || defined(__i386__)
/* XCR0: which register states the OS saves on context switch. */
static unsigned long long read_xcr0(void) {
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static void detect(char *out, size_t cap) {
    unsigned int a, b, c, d;
    out[0] = '\0';
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    int sse42 = (c >> 20) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    unsigned long long xcr0 = osxsave ? read_xcr0() : 0;
    int os_avx = (xcr0 & 0x6) == 0x6, os_avx512 = (xcr0 & 0xe6) == 0xe6;
    unsigned int b7 = 0, c7 = 0, d7 = 0, a7 = 0;
    if (__get_cpuid_max(0, NULL) >= 7) __cpuid_count(7, 0, a7, b7, c7, d7);
    struct { const char *name; int on; } f[] = {
        {"sse4.2", sse42},
        {"avx", avx && os_avx},
        {"avx2", ((b7 >> 5) & 1) && os_avx},
        {"fma", fma && os_avx},
        {"avx512f", ((b7 >> 16) & 1) && os_avx512},
        {"avx512dq", ((b7 >> 17) & 1) && os_avx512},
        {"avx512bw", ((b7 >> 30) & 1) && os_avx512},
        {"avx512vl", ((b7 >> 31) & 1) && os_avx512},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (!f[i].on) continue;
        if (out[0]) strncat(out, " ", cap - strlen(out) - 1);
        strncat(out, f[i].name, cap - strlen(out) - 1);
    }
}
#else
static void detect(char *out, size_t cap) { snprintf(out, cap, "%s", ""); }
#endif

const char *mmx_cpu_features(void) {
    static _Thread_local char buf[160];
    detect(buf, sizeof buf);
    return buf;
}

int mmx_get_num_threads(void) {
#ifdef MMX_HAVE_OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

mmx_status mmx_set_num_threads(int n) {
    if (n < 1) return mmx_fail(MMX_ERR_PARAM, "mmx_set_num_threads", "argument 'n' = %d, expected n >= 1", n);
#ifdef MMX_HAVE_OPENMP
    omp_set_num_threads(n);
#endif
    return MMX_OK;
}
