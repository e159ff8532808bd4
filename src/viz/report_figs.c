/* report.html: the learned modulators sigma(x) (curves and coefficients) and the attention
 * map figures. */
#include <math.h>
#include <stdlib.h>

#include "core/internal.h"
#include "viz/png.h"
#include "viz/report_impl.h"
#include "viz/svg.h"

#define SIGMA_POINTS 241 /* x in [-6, 6] every 0.05: smooth enough at the kinks b_n, d_n */
#define SIGMA_LIM 6.0
#define LABEL_LEN 24

static const char k_sigma_notes[] =
    "<p>MultiMax(x) = SoftMax(&sigma;(x)) with the learned piecewise-polynomial modulator "
    "&sigma;(x) = x + &sum;<sub>n=1,2</sub> tb<sub>n</sub> max(b<sub>n</sub> &minus; x, 0)"
    "<sup>n</sup> + td<sub>n</sub> max(x &minus; d<sub>n</sub>, 0)<sup>n</sup>. The dashed "
    "line is the identity, where MultiMax is SoftMax. Steeper than the identity at low "
    "scores: small entries are pushed down (sparser attention); flatter at high scores: "
    "several large entries keep similar weights (more modes).</p>\n";

/* Modulator l of m (l = depth: the head's), or 0 if m has none there. */
static int modulator(const mmx_report_model *m, int l, const double **r, const double **t) {
    *r = l < m->depth ? (m->ranges ? m->ranges + 4 * l : NULL) : m->head_ranges;
    *t = l < m->depth ? (m->ts ? m->ts + 4 * l : NULL) : m->head_ts;
    return *r != NULL;
}

/* Layer l's colour: the palette while it has enough colours, else the heat colormap from
 * dark (first layer) to green (last; yellow would vanish on white), so order stays legible. */
static void layer_color(char *out, int l, int depth) {
    if (depth <= 8) {
        snprintf(out, LABEL_LEN, "%s", mmx_svg_color(l));
        return;
    }
    uint8_t c[3];
    mmx_colormap(0.8 * l / (depth - 1), c);
    snprintf(out, LABEL_LEN, "#%02x%02x%02x", c[0], c[1], c[2]);
}

/* Series per layer, the head's in black, the identity dashed; labels holds two strings per
 * series (legend text, colour). */
static int sigma_series(mmx_svg_series *s, char (*labels)[LABEL_LEN], double *x, double *y,
                        const mmx_report_model *m) {
    int n = 0;
    for (int i = 0; i < SIGMA_POINTS; i++)
        x[i] = -SIGMA_LIM + 2.0 * SIGMA_LIM * i / (SIGMA_POINTS - 1);
    for (int l = 0; l <= m->depth; l++) {
        const double *r, *t;
        if (!modulator(m, l, &r, &t)) continue;
        mmx_norm mm = mmx_norm_multimax(2, r, t);
        double *yy = y + (size_t)n * SIGMA_POINTS;
        for (int i = 0; i < SIGMA_POINTS; i++) yy[i] = mmx_multimax_sigma(&mm, x[i]);
        char *label = labels[2 * n], *color = labels[2 * n + 1];
        if (l < m->depth) {
            snprintf(label, LABEL_LEN, "layer %d", l + 1);
            layer_color(color, l, m->depth);
        } else {
            snprintf(label, LABEL_LEN, "head");
            snprintf(color, LABEL_LEN, "#000000");
        }
        s[n] = (mmx_svg_series){label, x, yy, SIGMA_POINTS, color, 0, 0};
        n++;
    }
    s[n++] = (mmx_svg_series){"identity (SoftMax)", x, x, SIGMA_POINTS, "#999999", 1, 0};
    return n;
}

static mmx_status sigma_chart(FILE *f, const mmx_report_model *m) {
    size_t lines = (size_t)m->depth + 2;
    mmx_svg_series *s = calloc(lines, sizeof *s);
    double *xy = malloc(lines * SIGMA_POINTS * sizeof *xy);
    char(*labels)[LABEL_LEN] = malloc(2 * lines * sizeof *labels);
    mmx_status st = MMX_OK;
    if (s && xy && labels) {
        int n = sigma_series(s, labels, xy, xy + SIGMA_POINTS, m);
        char title[MMX_REPORT_NAME_MAX + 16];
        snprintf(title, sizeof title, "%s: sigma(x)", m->name);
        mmx_svg_chart ch = {title, "score x", "sigma(x)", 520, 340, -SIGMA_LIM, SIGMA_LIM,
                            NAN, NAN, 0};
        mmx_svg_line_chart(f, &ch, s, n);
    } else {
        st = mmx_fail(MMX_ERR_NOMEM, MMX_REPORT_FN, "cannot allocate sigma curves");
    }
    free(s);
    free(xy);
    free(labels);
    return st;
}

static void coefficient_table(FILE *f, const mmx_report_model *m) {
    fputs("<table>\n<tr><th>layer</th><th>b1</th><th>d1</th><th>b2</th><th>d2</th><th>tb1</th>"
          "<th>td1</th><th>tb2</th><th>td2</th></tr>\n", f);
    for (int l = 0; l <= m->depth; l++) {
        const double *r, *t;
        if (!modulator(m, l, &r, &t)) continue;
        if (l < m->depth)
            fprintf(f, "<tr><td>%d</td>", l + 1);
        else
            fputs("<tr><td>head</td>", f);
        for (int i = 0; i < 8; i++) fprintf(f, "<td>%.4g</td>", i < 4 ? r[i] : t[i - 4]);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

mmx_status mmx_report_html_sigma(FILE *f, const mmx_report_model *models, int n_models) {
    fprintf(f, "<h2 id=\"modulators\">Learned modulators</h2>\n%s", k_sigma_notes);
    int shown = 0;
    for (int k = 0; k < n_models; k++) {
        const mmx_report_model *m = &models[k];
        if (!m->ranges && !m->head_ranges) continue;
        fputs("<h3>", f);
        mmx_xml_puts(f, m->name);
        fputs("</h3>\n<div class=\"charts\">\n", f);
        mmx_status st = sigma_chart(f, m);
        if (st) return st;
        coefficient_table(f, m);
        fputs("</div>\n", f);
        shown++;
    }
    if (!shown) fputs("<p class=\"note\">No model here has a learned modulator.</p>\n", f);
    return MMX_OK;
}

/* The colormap as a CSS gradient, so the page explains the colours without another file. */
static void colour_bar(FILE *f) {
    fputs("<span class=\"bar\" style=\"background:linear-gradient(to right", f);
    for (int i = 0; i <= 8; i++) {
        uint8_t c[3];
        mmx_colormap(i / 8.0, c);
        fprintf(f, ",rgb(%d,%d,%d) %.1f%%", c[0], c[1], c[2], i * 12.5);
    }
    fputs(")\"></span>", f);
}

static void put_class(FILE *f, const mmx_report_info *info, int c) {
    if (info && info->class_names)
        mmx_xml_puts(f, info->class_names[c]);
    else
        fprintf(f, "class %d", c);
}

static void map_figure(FILE *f, const mmx_report_info *info, const mmx_report_model *m, int i) {
    int w = MMX_REPORT_STRIP_W(m->image, m->depth), h = MMX_REPORT_STRIP_H(m->image);
    int ok = m->labels[i] == m->preds[i];
    fprintf(f, "<figure><img src=\"attn_%s_%d.png\" width=\"%d\" height=\"%d\" "
               "alt=\"attention maps of %s on test image %d\">\n<figcaption>#%d: true <b>",
            m->name, i, w, h, m->name, i, i);
    put_class(f, info, m->labels[i]);
    fprintf(f, "</b>, predicted <b class=\"%s\">", ok ? "right" : "wrong");
    put_class(f, info, m->preds[i]);
    fprintf(f, "</b> %s</figcaption></figure>\n", ok ? "&#10003;" : "&#10007;");
}

void mmx_report_html_maps(FILE *f, const mmx_report_info *info, const mmx_report_model *models,
                          int n_models) {
    fputs("<h2 id=\"maps\">Attention maps</h2>\n<p class=\"note\">Each strip: the test image, "
          "then one panel per layer (1, 2, &hellip; from the left) showing how much attention "
          "each patch receives (the mean over heads and query tokens), divided by the layer's "
          "largest value and upsampled bilinearly over the image. Colour scale: 0 ", f);
    colour_bar(f);
    fputs(" largest.</p>\n", f);
    int shown = 0;
    for (int k = 0; k < n_models; k++) {
        const mmx_report_model *m = &models[k];
        if (m->n_maps < 1) continue;
        fputs("<h3>", f);
        mmx_xml_puts(f, m->name);
        fputs(" (", f);
        mmx_xml_puts(f, m->norm);
        fputs(" attention)</h3>\n", f);
        for (int i = 0; i < m->n_maps; i++) map_figure(f, info, m, i);
        shown++;
    }
    if (!shown) fputs("<p class=\"note\">No attention maps were recorded.</p>\n", f);
}
