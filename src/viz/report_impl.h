/*
 * report_impl.h - what the analysis report's source files share; not part of report.h.
 *   report.c         mmx_report_write: order of work, the directory, file helpers
 *   report_check.c   validation of the descriptions
 *   report_csv.c     metrics.csv, summary.csv, modulators.csv
 *   report_attn.c    the attention strips (PNG)
 *   report_html.c    report.html: page frame, summary table, metric charts
 *   report_figs.c    report.html: modulator curves and tables, attention figures
 * Every message names mmx_report_write, the only public entry point.
 */
#ifndef MMX_VIZ_REPORT_IMPL_H
#define MMX_VIZ_REPORT_IMPL_H

#include <stdio.h>

#include "viz/report.h"

#define MMX_REPORT_FN "mmx_report_write"
#define MMX_REPORT_NAME_MAX 64     /* characters of a model name (file names stay short) */
#define MMX_REPORT_PATH_MAX 4096   /* bytes of any path the report writes, with the NUL  */

/* path = dir "/" file; MMX_ERR_PARAM if it does not fit in MMX_REPORT_PATH_MAX. */
mmx_status mmx_report_path(char *path, const char *dir, const char *file);

/* Opens path for writing as text; MMX_ERR_IO naming it on failure. */
mmx_status mmx_report_open(FILE **f, const char *path);

/* Closes f (always) and reports any earlier write error or a failing close as MMX_ERR_IO
 * naming path, with strerror. */
mmx_status mmx_report_close(FILE *f, const char *path);

/* Value of a metric for charts: NaN (a gap) for MMX_METRIC_UNDEFINED. */
double mmx_report_gap(double v);

mmx_status mmx_report_check(const char *dir, const mmx_report_info *info,
                            const mmx_report_model *models, int n_models);
mmx_status mmx_report_write_csvs(const char *dir, const mmx_report_model *models, int n_models);
mmx_status mmx_report_write_maps(const char *dir, const mmx_report_model *models, int n_models);
mmx_status mmx_report_write_html(const char *dir, const mmx_report_info *info,
                                 const mmx_report_model *models, int n_models);

/* Renders the strip of test image i of m into rgb (MMX_REPORT_STRIP_H(m->image),
 * MMX_REPORT_STRIP_W(m->image, m->depth), 3); heat is (panel, panel) floats of scratch. */
void mmx_report_attn_strip(uint8_t *rgb, float *heat, const mmx_report_model *m, int i);

/* The HTML sections of report_figs.c; models are valid. MMX_ERR_NOMEM possible. */
mmx_status mmx_report_html_sigma(FILE *f, const mmx_report_model *models, int n_models);
void mmx_report_html_maps(FILE *f, const mmx_report_info *info, const mmx_report_model *models,
                          int n_models);

#endif
