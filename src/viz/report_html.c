/* report.html: the page frame, the summary table and the per-layer metric charts. */
#include <math.h>
#include <stdlib.h>

#include "core/internal.h"
#include "viz/report_impl.h"
#include "viz/svg.h"

static const char k_css[] =
    "body{font-family:sans-serif;max-width:1200px;margin:1.5em auto;padding:0 1em;"
    "color:#222;line-height:1.4}\n"
    "h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.8em}\n"
    "table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:.25em .6em;"
    "text-align:right}th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}\n"
    "pre{background:#f6f6f6;padding:.5em;overflow-x:auto;white-space:pre-wrap}\n"
    ".charts{display:flex;flex-wrap:wrap;gap:1em}.note{color:#555;font-size:.92em}\n"
    "figure{display:inline-block;margin:.4em .8em .8em 0}figcaption{font-size:.9em}\n"
    ".wrong{color:#b00020}.right{color:#1b7a3a}\n"
    ".bar{display:inline-block;width:220px;height:12px;border:1px solid #888;"
    "vertical-align:middle}\n";

/* ms_per_step and images_per_s are 0 when unknown. */
static void put_cell(FILE *f, const char *fmt, double v) {
    fputs("<td>", f);
    if (v == 0.0)
        fputs("&ndash;", f);
    else
        fprintf(f, fmt, v);
    fputs("</td>", f);
}

static void summary_table(FILE *f, const mmx_report_model *models, int n_models) {
    fputs("<h2 id=\"summary\">Summary</h2>\n<table>\n<tr><th>model</th><th>attention</th>"
          "<th>head</th><th>depth</th><th>heads</th><th>tokens</th><th>parameters</th>"
          "<th>test accuracy</th><th>test loss</th><th>ms / step</th><th>images / s</th></tr>\n",
          f);
    for (int k = 0; k < n_models; k++) {
        const mmx_report_model *m = &models[k];
        fprintf(f, "<tr><td><span style=\"color:%s\">&#9632;</span> ", mmx_svg_color(k));
        mmx_xml_puts(f, m->name);
        fputs("</td><td>", f);
        mmx_xml_puts(f, m->norm);
        fputs("</td><td>", f);
        mmx_xml_puts(f, m->head_norm);
        fprintf(f, "</td><td>%d</td><td>%d</td><td>%d</td><td>%lld</td><td>%.2f %%</td>"
                   "<td>%.4f</td>", m->depth, m->heads, m->grid * m->grid,
                (long long)m->params, 100.0 * m->accuracy, m->loss);
        put_cell(f, "%.1f", m->ms_per_step);
        put_cell(f, "%.0f", m->images_per_s);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n<p class=\"note\">The same numbers: <a href=\"summary.csv\">summary.csv</a>"
          "; per layer: <a href=\"metrics.csv\">metrics.csv</a>; modulators: "
          "<a href=\"modulators.csv\">modulators.csv</a>.</p>\n", f);
}

enum { MET_SPARSITY, MET_MULTIMODALITY, MET_OVERSMOOTH, MET_COUNT };

static const char *const k_met_titles[MET_COUNT] = {
    "Sparsity S (higher = sparser)", "Multi-modality M (higher = more modes)",
    "Over-smoothing (lower = less smoothed)"};

/* Series k of metric chart c: x = layer, y = the value (undefined = NaN, a gap). */
static void metric_series(double *x, double *y, int *n, const mmx_report_model *m, int c) {
    *n = c == MET_OVERSMOOTH ? m->depth + 1 : m->depth;
    for (int i = 0; i < *n; i++) {
        x[i] = c == MET_OVERSMOOTH ? i : i + 1;
        y[i] = mmx_report_gap(c == MET_SPARSITY        ? m->sparsity[i]
                              : c == MET_MULTIMODALITY ? m->multimodality[i]
                                                       : m->oversmooth[i]);
    }
}

static mmx_status metric_charts(FILE *f, const mmx_report_model *models, int n_models) {
    int maxd = 0;
    for (int k = 0; k < n_models; k++) maxd = models[k].depth > maxd ? models[k].depth : maxd;
    size_t per = (size_t)maxd + 1;
    double *buf = malloc(2 * per * (size_t)n_models * sizeof *buf);
    mmx_svg_series *s = calloc((size_t)n_models, sizeof *s);
    if (!buf || !s) {
        free(buf);
        free(s);
        return mmx_fail(MMX_ERR_NOMEM, MMX_REPORT_FN, "cannot allocate chart data");
    }
    fputs("<div class=\"charts\">\n", f);
    for (int c = 0; c < MET_COUNT; c++) {
        for (int k = 0; k < n_models; k++) {
            double *x = buf + 2 * per * (size_t)k, *y = x + per;
            s[k] = (mmx_svg_series){models[k].name, x, y, 0, NULL, 0, 1};
            metric_series(x, y, &s[k].n, &models[k], c);
        }
        int os = c == MET_OVERSMOOTH;
        /* S and M live in [0, 1]; cosines may dip below 0, so that end follows the data */
        mmx_svg_chart ch = {k_met_titles[c], os ? "layer (0 = embedding)" : "layer",
                            os ? "mean cosine" : c == MET_SPARSITY ? "S" : "M", 480, 300,
                            os ? 0.0 : 1.0, maxd, os ? NAN : 0.0, 1.0, 1};
        mmx_svg_line_chart(f, &ch, s, n_models);
    }
    fputs("</div>\n", f);
    free(buf);
    free(s);
    return MMX_OK;
}

static const char k_metric_notes[] =
    "<p>Each value is a mean over the test images, heads and query tokens of a layer's "
    "attention rows (undefined values leave gaps). Following Zhou, Fritz &amp; Keuper, "
    "<i>MultiMax: Sparse and Multi-Modal Attention Learning</i> (ICML 2024):</p>\n<ul>\n"
    "<li><b>Sparsity S</b> (Def. 3.3), in [0, 1], higher = sparser: over the entries whose "
    "score is below a relevance threshold, the mean of exp((s &minus; &phi;)/s &minus; 1), "
    "with &phi; the normalizer's probability and s SoftMax's. An entry given exactly 0 counts "
    "1; one given what SoftMax gives counts e<sup>&minus;1</sup> &asymp; 0.37.</li>\n"
    "<li><b>Multi-modality M</b> (Def. 3.2), in [0, 1], higher = more multi-modal: over the "
    "entries whose score is above the threshold, other than the arg-max, 1 minus the mean gap "
    "between the largest probability and theirs; 1 when the relevant entries share the "
    "attention evenly, near 0 when the arg-max takes it all.</li>\n"
    "<li><b>Over-smoothing</b>: the mean pairwise cosine similarity of the tokens after each "
    "block (layer 0: the patch embedding with positions); lower = less over-smoothed. Values "
    "rising towards 1 with depth mean the tokens become alike.</li>\n</ul>\n";

static mmx_status write_page(FILE *f, const mmx_report_info *info,
                             const mmx_report_model *models, int n_models) {
    const char *title = info && info->title ? info->title : "MultiMax analysis report";
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>", f);
    mmx_xml_puts(f, title);
    fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>", k_css);
    mmx_xml_puts(f, title);
    fputs("</h1>\n", f);
    if (info && info->command) {
        fputs("<p class=\"note\">Made by:</p>\n<pre><code>", f);
        mmx_xml_puts(f, info->command);
        fputs("</code></pre>\n", f);
    }
    summary_table(f, models, n_models);
    fprintf(f, "<h2 id=\"metrics\">Attention per layer</h2>\n%s", k_metric_notes);
    mmx_status st;
    if ((st = metric_charts(f, models, n_models)) ||
        (st = mmx_report_html_sigma(f, models, n_models)))
        return st;
    mmx_report_html_maps(f, info, models, n_models);
    fputs("</body>\n</html>\n", f);
    return MMX_OK;
}

mmx_status mmx_report_write_html(const char *dir, const mmx_report_info *info,
                                 const mmx_report_model *models, int n_models) {
    char path[MMX_REPORT_PATH_MAX];
    FILE *f;
    mmx_status st;
    if ((st = mmx_report_path(path, dir, "report.html")) || (st = mmx_report_open(&f, path)))
        return st;
    if ((st = write_page(f, info, models, n_models))) {
        fclose(f);
        return st;
    }
    return mmx_report_close(f, path);
}
