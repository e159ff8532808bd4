/* Version, build description and thread count (CPU features: src/cpu/cpu.c). */
#include <stdio.h>
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
