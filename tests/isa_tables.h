/*
 * isa_tables.h - the kernel tables of every ISA, for the tests of the internal kernels
 * (src/kernels/kernels.h): t_isa_table(i), i in [0, T_NISA), is the table or NULL (with a
 * note) when this CPU lacks the ISA.
 */
#ifndef MMX_TEST_ISA_TABLES_H
#define MMX_TEST_ISA_TABLES_H

#include <stdio.h>

#include "kernels/kernels.h"

#define T_NISA 3

static inline const mmx_kernels *t_isa_table(int i)
{
    static const char *const isas[T_NISA] = {"portable", "avx2", "avx512"};
    const mmx_kernels *k = mmx_kernels_by_name(isas[i]);
    if (!k)
        printf("ISA %s not supported by this CPU: not tested here\n", isas[i]);
    return k;
}

#endif
