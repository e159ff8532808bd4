/* The mmx_norm descriptor: constructors, names, validation, and sigma for plotting. */
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "ref/ref.h"

static const char *const k_names[MMX_NORM_COUNT] = {"softmax",  "multimax", "sparsemax",
                                                    "entmax15", "entmax",   "evsoftmax"};

static mmx_norm blank(mmx_norm_kind kind) {
    mmx_norm n;
    memset(&n, 0, sizeof n);
    n.kind = kind;
    n.temperature = 1.0;
    n.alpha = kind == MMX_NORM_SPARSEMAX ? 2.0 : 1.5;
    return n;
}

mmx_norm mmx_norm_softmax(double temperature) {
    mmx_norm n = blank(MMX_NORM_SOFTMAX);
    n.temperature = temperature;
    return n;
}

mmx_norm mmx_norm_multimax(int order, const double *ranges, const double *ts) {
    mmx_norm n = blank(MMX_NORM_MULTIMAX);
    n.order = order;
    n.ranges = ranges;
    n.ts = ts;
    return n;
}

mmx_norm mmx_norm_sparsemax(void) { return blank(MMX_NORM_SPARSEMAX); }
mmx_norm mmx_norm_entmax15(void) { return blank(MMX_NORM_ENTMAX15); }

mmx_norm mmx_norm_entmax(double alpha) {
    mmx_norm n = blank(MMX_NORM_ENTMAX);
    n.alpha = alpha;
    return n;
}

mmx_norm mmx_norm_evsoftmax(int eval) {
    mmx_norm n = blank(MMX_NORM_EVSOFTMAX);
    n.eval = eval != 0;
    return n;
}

const char *mmx_norm_name(mmx_norm_kind kind) {
    return (unsigned)kind < MMX_NORM_COUNT ? k_names[kind] : "?";
}

mmx_status mmx_norm_parse(const char *name, mmx_norm_kind *kind) {
    if (!name || !kind) return mmx_fail(MMX_ERR_NULL, "mmx_norm_parse", "argument 'name' or 'kind' is NULL");
    for (int k = 0; k < MMX_NORM_COUNT; k++)
        if (strcmp(name, k_names[k]) == 0) {
            *kind = (mmx_norm_kind)k;
            return MMX_OK;
        }
    return mmx_fail(MMX_ERR_PARAM, "mmx_norm_parse",
                    "unknown normalizer '%s', expected one of softmax, multimax, sparsemax, "
                    "entmax15, entmax, evsoftmax", name);
}

static mmx_status check_multimax(const char *fn, const mmx_norm *n) {
    if (n->order < 1 || n->order > MMX_MULTIMAX_MAX_ORDER)
        return mmx_fail(MMX_ERR_PARAM, fn, "argument 'order' = %d, expected 1 <= order <= %d",
                        n->order, MMX_MULTIMAX_MAX_ORDER);
    if (!n->ranges || !n->ts)
        return mmx_fail(MMX_ERR_NULL, fn, "multimax argument '%s' is NULL, expected %d values",
                        n->ranges ? "ts" : "ranges", 2 * n->order);
    for (int i = 0; i < 2 * n->order; i++) {
        if (!isfinite(n->ranges[i]))
            return mmx_fail(MMX_ERR_PARAM, fn, "argument 'ranges[%d]' = %g, expected a finite value", i, n->ranges[i]);
        if (!isfinite(n->ts[i]))
            return mmx_fail(MMX_ERR_PARAM, fn, "argument 'ts[%d]' = %g, expected a finite value", i, n->ts[i]);
    }
    return MMX_OK;
}

mmx_status mmx_norm_validate(const char *fn, const mmx_norm *n) {
    if (!n) return mmx_fail(MMX_ERR_NULL, fn, "argument 'norm' is NULL");
    switch (n->kind) {
    case MMX_NORM_SOFTMAX:
        if (!(n->temperature > 0) || !isfinite(n->temperature))
            return mmx_fail(MMX_ERR_PARAM, fn, "argument 'temperature' = %g, expected a finite t > 0", n->temperature);
        return MMX_OK;
    case MMX_NORM_MULTIMAX: return check_multimax(fn, n);
    case MMX_NORM_ENTMAX:
        if (!(n->alpha > 1) || !isfinite(n->alpha))
            return mmx_fail(MMX_ERR_PARAM, fn, "argument 'alpha' = %g, expected a finite alpha > 1", n->alpha);
        return MMX_OK;
    case MMX_NORM_SPARSEMAX:
    case MMX_NORM_ENTMAX15:
    case MMX_NORM_EVSOFTMAX: return MMX_OK;
    case MMX_NORM_COUNT: break;
    }
    return mmx_fail(MMX_ERR_PARAM, fn, "argument 'kind' = %d, expected an mmx_norm_kind", (int)n->kind);
}

mmx_status mmx_norm_check(const mmx_norm *n) { return mmx_norm_validate("mmx_norm_check", n); }

double mmx_multimax_sigma(const mmx_norm *n, double x) {
    if (!n || n->kind != MMX_NORM_MULTIMAX) {
        mmx_fail(MMX_ERR_PARAM, "mmx_multimax_sigma", "argument 'norm' is not a multimax descriptor");
        return NAN;
    }
    if (check_multimax("mmx_multimax_sigma", n) != MMX_OK) return NAN;
    return mmx_ref_sigma(x, n->order, n->ranges, n->ts);
}
