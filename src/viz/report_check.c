/* Validation of the report's inputs, all before anything is written, so that a bad call
 * leaves no half-made report behind. */
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "viz/report_impl.h"

#define FN MMX_REPORT_FN

static int name_ok(const char *s) {
    size_t n = strlen(s);
    if (n < 1 || n > MMX_REPORT_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
              s[i] == '-'))
            return 0;
    return 1;
}

static mmx_status check_info(const mmx_report_info *info) {
    if (!info || !info->class_names) return MMX_OK;
    if (info->classes < 1)
        return mmx_fail(MMX_ERR_PARAM, FN, "info->classes = %d with class_names, expected >= 1",
                        info->classes);
    for (int c = 0; c < info->classes; c++)
        if (!info->class_names[c])
            return mmx_fail(MMX_ERR_PARAM, FN, "info->class_names[%d] is NULL", c);
    return MMX_OK;
}

/* A modulator pair: both or neither, n finite values each. */
static mmx_status check_modulator(int k, const char *what, const double *ranges,
                                  const double *ts, int n) {
    if (!ranges != !ts)
        return mmx_fail(MMX_ERR_PARAM, FN, "models[%d]: %s%s is NULL but not %s%s", k, what,
                        ranges ? "ts" : "ranges", what, ranges ? "ranges" : "ts");
    for (int i = 0; ranges && i < n; i++)
        if (!isfinite(ranges[i]) || !isfinite(ts[i]))
            return mmx_fail(MMX_ERR_PARAM, FN, "models[%d]: %s%s[%d] = %g, expected finite", k,
                            what, isfinite(ranges[i]) ? "ts" : "ranges", i,
                            isfinite(ranges[i]) ? ts[i] : ranges[i]);
    return MMX_OK;
}

static mmx_status check_sizes(int k, const mmx_report_model *m) {
    if (!m->name || !name_ok(m->name))
        return mmx_fail(MMX_ERR_PARAM, FN, "models[%d].name = '%.80s', expected 1 to %d of "
                        "[a-z0-9_-]", k, m->name ? m->name : "(null)", MMX_REPORT_NAME_MAX);
    if (!m->norm || !m->head_norm)
        return mmx_fail(MMX_ERR_PARAM, FN, "models[%d].%s is NULL", k,
                        m->norm ? "head_norm" : "norm");
    if (m->depth < 1 || m->depth > 1024 || m->heads < 1 || m->heads > 65536 || m->grid < 1 ||
        m->grid > 1024)
        return mmx_fail(MMX_ERR_PARAM, FN, "models[%d] ('%s'): depth %d, heads %d, grid %d, "
                        "expected depth and grid in [1, 1024], heads in [1, 65536]", k, m->name,
                        m->depth, m->heads, m->grid);
    if (m->params < 0)
        return mmx_fail(MMX_ERR_PARAM, FN, "models[%d].params = %lld, expected >= 0", k,
                        (long long)m->params);
    if (!m->sparsity || !m->multimodality || !m->oversmooth)
        return mmx_fail(MMX_ERR_PARAM, FN, "models[%d].%s is NULL", k,
                        !m->sparsity ? "sparsity" : !m->multimodality ? "multimodality"
                                                                       : "oversmooth");
    return MMX_OK;
}

static mmx_status check_labels(int k, const mmx_report_model *m, const mmx_report_info *info) {
    if (!info || !info->class_names) return MMX_OK;
    for (int i = 0; i < m->n_maps; i++)
        if (m->labels[i] < 0 || m->labels[i] >= info->classes || m->preds[i] < 0 ||
            m->preds[i] >= info->classes)
            return mmx_fail(MMX_ERR_PARAM, FN, "models[%d]: labels[%d] = %d, preds[%d] = %d, "
                            "expected both in [0, %d)", k, i, (int)m->labels[i], i,
                            (int)m->preds[i], info->classes);
    return MMX_OK;
}

static mmx_status check_maps(int k, const mmx_report_model *m, const mmx_report_info *info) {
    if (m->n_maps < 0)
        return mmx_fail(MMX_ERR_PARAM, FN, "models[%d].n_maps = %d, expected >= 0", k, m->n_maps);
    if (m->n_maps == 0) return MMX_OK;
    if (m->image < 1 || m->image > 4096)
        return mmx_fail(MMX_ERR_PARAM, FN, "models[%d].image = %d, expected [1, 4096]", k,
                        m->image);
    if (MMX_REPORT_STRIP_W(m->image, m->depth) > 65535) /* PNG's limit per side */
        return mmx_fail(MMX_ERR_PARAM, FN, "models[%d]: image %d with depth %d makes a strip "
                        "%d pixels wide, above PNG's 65535", k, m->image, m->depth,
                        MMX_REPORT_STRIP_W(m->image, m->depth));
    if (!m->images || !m->labels || !m->preds || !m->maps)
        return mmx_fail(MMX_ERR_PARAM, FN, "models[%d].%s is NULL with n_maps = %d", k,
                        !m->images ? "images" : !m->labels ? "labels" : !m->preds ? "preds"
                                                                                  : "maps",
                        m->n_maps);
    size_t n = (size_t)m->n_maps * (size_t)m->depth * (size_t)m->grid * (size_t)m->grid;
    for (size_t i = 0; i < n; i++)
        if (!(m->maps[i] >= 0.0f) || !isfinite(m->maps[i]))
            return mmx_fail(MMX_ERR_PARAM, FN, "models[%d].maps[%zu] = %g, expected finite and "
                            ">= 0", k, i, (double)m->maps[i]);
    return check_labels(k, m, info);
}

mmx_status mmx_report_check(const char *dir, const mmx_report_info *info,
                            const mmx_report_model *models, int n_models) {
    mmx_status st;
    if (!dir || !models)
        return mmx_fail(MMX_ERR_NULL, FN, "argument '%s' is NULL", dir ? "models" : "dir");
    if (n_models < 1)
        return mmx_fail(MMX_ERR_PARAM, FN, "n_models = %d, expected >= 1", n_models);
    if ((st = check_info(info))) return st;
    for (int k = 0; k < n_models; k++) {
        const mmx_report_model *m = &models[k];
        if ((st = check_sizes(k, m)) ||
            (st = check_modulator(k, "", m->ranges, m->ts, 4 * m->depth)) ||
            (st = check_modulator(k, "head_", m->head_ranges, m->head_ts, 4)) ||
            (st = check_maps(k, m, info)))
            return st;
        for (int j = 0; j < k; j++)
            if (strcmp(models[j].name, m->name) == 0)
                return mmx_fail(MMX_ERR_PARAM, FN, "models[%d] and models[%d] are both named "
                                "'%s'; names name the files", j, k, m->name);
    }
    return MMX_OK;
}
