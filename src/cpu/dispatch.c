/*
 * Chooses the kernel table once: the widest ISA this CPU (and OS) supports, unless the
 * environment says otherwise (MMX_ISA=avx512|avx2|portable forces one; MMX_ISA_VERBOSE=1
 * prints the choice to stderr). mmx_set_isa() changes it at run time (benchmarks, tests).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "cpu/cpu.h"
#include "kernels/kernels.h"

static int supported(const mmx_kernels *k) {
    const mmx_cpu_flags *f = mmx_cpu();
    if (k == &mmx_kernels_avx512) return f->avx512f && f->avx512dq && f->avx512bw && f->avx512vl && f->fma;
    if (k == &mmx_kernels_avx2) return f->avx2 && f->fma;
    return 1;
}

const mmx_kernels *mmx_kernels_by_name(const char *isa) {
    const mmx_kernels *all[] = {&mmx_kernels_avx512, &mmx_kernels_avx2, &mmx_kernels_portable};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (isa && strcmp(isa, all[i]->isa) == 0) return supported(all[i]) ? all[i] : NULL;
    return NULL;
}

static const mmx_kernels *choose(void) {
    const char *env = getenv("MMX_ISA");
    const mmx_kernels *k = NULL;
    if (env && *env) {
        k = mmx_kernels_by_name(env);
        if (!k) fprintf(stderr, "multimax: MMX_ISA=%s is not supported on this CPU (or unknown; "
                                "expected avx512, avx2 or portable); choosing automatically\n", env);
    }
    if (!k) k = mmx_kernels_by_name("avx512");
    if (!k) k = mmx_kernels_by_name("avx2");
    if (!k) k = &mmx_kernels_portable;
    const char *verbose = getenv("MMX_ISA_VERBOSE");
    if (verbose && *verbose && strcmp(verbose, "0") != 0)
        fprintf(stderr, "multimax: using %s kernels (CPU: %s)\n", k->isa, mmx_cpu_features());
    return k;
}

static const mmx_kernels *g_active;

const mmx_kernels *mmx_kernels_active(void) {
    const mmx_kernels *k = __atomic_load_n(&g_active, __ATOMIC_ACQUIRE);
    if (!k) { /* benign race: every thread makes the same choice */
        k = choose();
        __atomic_store_n(&g_active, k, __ATOMIC_RELEASE);
    }
    return k;
}

const char *mmx_isa(void) { return mmx_kernels_active()->isa; }

mmx_status mmx_set_isa(const char *name) {
    const mmx_kernels *k = mmx_kernels_by_name(name);
    if (!k)
        return mmx_fail(MMX_ERR_PARAM, "mmx_set_isa", "argument 'name' = '%s', expected one of "
                        "avx512, avx2, portable that this CPU supports (it has: %s)",
                        name ? name : "(null)", mmx_cpu_features());
    __atomic_store_n(&g_active, k, __ATOMIC_RELEASE);
    return MMX_OK;
}
