/* The report's numbers as CSV (formats in report.h), for plotting elsewhere. */
#include <math.h>
#include <string.h>

#include "viz/report_impl.h"

/* ",value": %.6g, or an empty field for a value that stands for "none". */
static void put_num(FILE *f, double v, double none) {
    if (v == none)
        fputc(',', f);
    else
        fprintf(f, ",%.6g", v);
}

/* ",text", quoted as RFC 4180 asks when it holds a separator, quote or line break. */
static void put_text(FILE *f, const char *s) {
    fputc(',', f);
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void metrics_rows(FILE *f, const mmx_report_model *m) {
    const double u = MMX_METRIC_UNDEFINED;
    fprintf(f, "%s,0,,", m->name);
    put_num(f, m->oversmooth[0], u);
    fputc('\n', f);
    for (int l = 1; l <= m->depth; l++) {
        fprintf(f, "%s,%d", m->name, l);
        put_num(f, m->sparsity[l - 1], u);
        put_num(f, m->multimodality[l - 1], u);
        put_num(f, m->oversmooth[l], u);
        fputc('\n', f);
    }
}

static void summary_row(FILE *f, const mmx_report_model *m) {
    fputs(m->name, f);
    put_text(f, m->norm);
    put_text(f, m->head_norm);
    put_num(f, m->accuracy, NAN);
    put_num(f, m->loss, NAN);
    put_num(f, m->ms_per_step, 0.0);
    put_num(f, m->images_per_s, 0.0);
    fprintf(f, ",%lld\n", (long long)m->params);
}

static void modulator_row(FILE *f, const char *model, const char *layer, const double *r,
                          const double *t) {
    fprintf(f, "%s,%s", model, layer);
    for (int i = 0; i < 4; i++) put_num(f, r[i], NAN);
    for (int i = 0; i < 4; i++) put_num(f, t[i], NAN);
    fputc('\n', f);
}

static void modulator_rows(FILE *f, const mmx_report_model *m) {
    char layer[16];
    for (int l = 0; m->ranges && l < m->depth; l++) {
        snprintf(layer, sizeof layer, "%d", l + 1);
        modulator_row(f, m->name, layer, m->ranges + 4 * l, m->ts + 4 * l);
    }
    if (m->head_ranges) modulator_row(f, m->name, "head", m->head_ranges, m->head_ts);
}

enum { CSV_METRICS, CSV_SUMMARY, CSV_MODULATORS, CSV_COUNT };

static const char *const k_files[CSV_COUNT] = {"metrics.csv", "summary.csv", "modulators.csv"};
static const char *const k_headers[CSV_COUNT] = {
    "model,layer,sparsity,multimodality,oversmooth",
    "model,norm,head_norm,accuracy,loss,ms_per_step,images_per_s,params",
    "model,layer,b1,d1,b2,d2,tb1,td1,tb2,td2",
};

mmx_status mmx_report_write_csvs(const char *dir, const mmx_report_model *models, int n_models) {
    char path[MMX_REPORT_PATH_MAX];
    mmx_status st;
    for (int c = 0; c < CSV_COUNT; c++) {
        FILE *f;
        if ((st = mmx_report_path(path, dir, k_files[c])) || (st = mmx_report_open(&f, path)))
            return st;
        fprintf(f, "%s\n", k_headers[c]);
        for (int k = 0; k < n_models; k++) {
            if (c == CSV_METRICS) metrics_rows(f, &models[k]);
            if (c == CSV_SUMMARY) summary_row(f, &models[k]);
            if (c == CSV_MODULATORS) modulator_rows(f, &models[k]);
        }
        if ((st = mmx_report_close(f, path))) return st;
    }
    return MMX_OK;
}
