/* Status names and the per-thread error message. */
#include <stdarg.h>
#include <stdio.h>

#include "core/internal.h"

static _Thread_local char g_message[512];

const char *mmx_status_str(mmx_status s) {
    switch (s) {
    case MMX_OK: return "MMX_OK";
    case MMX_ERR_NULL: return "MMX_ERR_NULL";
    case MMX_ERR_SIZE: return "MMX_ERR_SIZE";
    case MMX_ERR_PARAM: return "MMX_ERR_PARAM";
    case MMX_ERR_VALUE: return "MMX_ERR_VALUE";
    case MMX_ERR_NOMEM: return "MMX_ERR_NOMEM";
    case MMX_ERR_IO: return "MMX_ERR_IO";
    case MMX_ERR_FORMAT: return "MMX_ERR_FORMAT";
    }
    return "MMX_ERR_UNKNOWN";
}

const char *mmx_last_error(void) { return g_message; }

mmx_status mmx_fail(mmx_status status, const char *fn, const char *fmt, ...) {
    int n = snprintf(g_message, sizeof g_message, "%s: ", fn);
    if (n < 0 || (size_t)n >= sizeof g_message) return status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_message + n, sizeof g_message - (size_t)n, fmt, ap);
    va_end(ap);
    return status;
}
