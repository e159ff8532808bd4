/* Internal interface of the fused attention (src/attn). */
#ifndef MMX_ATTN_INTERNAL_H
#define MMX_ATTN_INTERNAL_H

#include "multimax.h"

/* Largest B, H, Tq, Tk, D accepted (keeps every product of two of them in int64). */
#define MMX_ATTN_MAX_SIZE ((int64_t)1 << 24)

/* mmx_attn_check with messages naming fn. */
mmx_status mmx_attn_validate(const char *fn, const mmx_attn *a);

#endif
