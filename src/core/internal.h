/* Internal helpers shared by the library's source files (not part of the public API). */
#ifndef MMX_INTERNAL_H
#define MMX_INTERNAL_H

#include "multimax.h"

#if defined(__GNUC__)
#define MMX_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MMX_PRINTF(a, b)
/* mmx_norm_check, with the message naming the public function fn. */
mmx_status mmx_norm_validate(const char *fn, const mmx_norm *n);

#endif

/* Leaves a thread-local message "fn: <formatted text>" and returns status. */
mmx_status mmx_fail(mmx_status status, const char *fn, const char *fmt, ...) MMX_PRINTF(3, 4);

/* mmx_norm_check, with the message naming the public function fn. */
mmx_status mmx_norm_validate(const char *fn, const mmx_norm *n);

#endif
