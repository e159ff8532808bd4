/* Inline SVG line charts for the analysis report. */
#include <math.h>

#include "viz/svg.h"

/* Picked by hand to stay apart from each other on a white background and in print. */
static const char *const k_palette[8] = {"#1f5fa8", "#d9622b", "#2e9e5b", "#b8338f",
                                         "#7a5a2f", "#3aa6c0", "#c9a227", "#555555"};

const char *mmx_svg_color(int i) { return k_palette[(i % 8 + 8) % 8]; }

void mmx_xml_puts(FILE *f, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* An axis: its range in data units, the tick spacing, and where it lies on the page. */
typedef struct {
    double lo, hi, step;
    double p0, p1; /* page coordinates of lo and hi */
    int decimals;  /* for the tick labels          */
} axis;

/* 1, 2 or 5 times a power of ten, closest from above-ish to x: readable tick spacings. */
static double nice_step(double x) {
    double e = floor(log10(x)), f = x / pow(10.0, e);
    double nf = f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0;
    return nf * pow(10.0, e);
}

static void data_range(const mmx_svg_series *s, int n, int use_y, double *lo, double *hi) {
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int k = 0; k < n; k++)
        for (int i = 0; i < s[k].n; i++) {
            double x = s[k].x[i], y = s[k].y[i], v = use_y ? y : x;
            if (!isfinite(x) || !isfinite(y)) continue;
            *lo = v < *lo ? v : *lo;
            *hi = v > *hi ? v : *hi;
        }
    if (*lo > *hi) { /* nothing finite to show */
        *lo = 0.0;
        *hi = 1.0;
    } else if (*lo == *hi) {
        double pad = fabs(*lo) > 0.0 ? 0.5 * fabs(*lo) : 0.5;
        *lo -= pad;
        *hi += pad;
    }
}

/* Fixed ends are kept; ends from the data are widened to the nearest tick. */
static axis make_axis(double lo, double hi, const mmx_svg_series *s, int n, int use_y,
                      int integer) {
    double dlo, dhi;
    data_range(s, n, use_y, &dlo, &dhi);
    int fix_lo = isfinite(lo), fix_hi = isfinite(hi);
    if (!fix_lo) lo = fix_hi && dlo >= hi ? hi - 1.0 : dlo;
    if (!fix_hi) hi = dhi <= lo ? lo + 1.0 : dhi;
    if (!(hi > lo)) hi = lo + 1.0;
    axis a = {lo, hi, nice_step((hi - lo) / 5.0), 0.0, 0.0, 0};
    if (integer && a.step < 1.0) a.step = 1.0;
    if (!fix_lo) a.lo = floor(a.lo / a.step) * a.step;
    if (!fix_hi) a.hi = ceil(a.hi / a.step) * a.step;
    a.decimals = a.step >= 1.0 ? 0 : (int)ceil(-log10(a.step) - 1e-9);
    return a;
}

static double to_page(const axis *a, double v) {
    return a->p0 + (v - a->lo) / (a->hi - a->lo) * (a->p1 - a->p0);
}

/* Grid lines and tick labels along one axis; vertical = 1 for the x axis. */
static void draw_ticks(FILE *f, const axis *a, const axis *other, int vertical) {
    double first = ceil(a->lo / a->step - 1e-9) * a->step;
    for (int k = 0; k < 1000; k++) {
        double v = first + k * a->step;
        if (v > a->hi + 1e-9 * a->step) break;
        double p = to_page(a, v);
        if (fabs(v) < 1e-12 * a->step) v = 0.0; /* no "-0" label */
        if (vertical) {
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e3e3\"/>",
                    p, other->p0, p, other->p1);
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.*f</text>\n", p,
                    other->p0 + 15.0, a->decimals, v);
        } else {
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e3e3\"/>",
                    other->p0, p, other->p1, p);
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.*f</text>\n",
                    other->p0 - 6.0, p + 4.0, a->decimals, v);
        }
    }
}

/* One series as a path that restarts (M) after every gap, plus optional dots. */
static void draw_series(FILE *f, const mmx_svg_series *s, const char *color, const axis *ax,
                        const axis *ay) {
    fprintf(f, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s d=\"", color,
            s->dashed ? " stroke-dasharray=\"6 4\"" : "");
    int pen_down = 0;
    for (int i = 0; i < s->n; i++) {
        if (!isfinite(s->x[i]) || !isfinite(s->y[i])) {
            pen_down = 0;
            continue;
        }
        fprintf(f, "%c%.2f %.2f ", pen_down ? 'L' : 'M', to_page(ax, s->x[i]),
                to_page(ay, s->y[i]));
        pen_down = 1;
    }
    fputs("\"/>\n", f);
    for (int i = 0; s->markers && i < s->n; i++)
        if (isfinite(s->x[i]) && isfinite(s->y[i]))
            fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%s\"/>", to_page(ax, s->x[i]),
                    to_page(ay, s->y[i]), color);
    if (s->markers) fputc('\n', f);
}

static void draw_legend(FILE *f, const mmx_svg_series *s, int n, double x, double y) {
    for (int k = 0, row = 0; k < n; k++) {
        if (!s[k].label) continue;
        double yy = y + 18.0 * row++;
        const char *color = s[k].color ? s[k].color : mmx_svg_color(k);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                   "stroke-width=\"2\"%s/>", x, yy, x + 22.0, yy, color,
                s[k].dashed ? " stroke-dasharray=\"6 4\"" : "");
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", x + 28.0, yy + 4.0);
        mmx_xml_puts(f, s[k].label);
        fputs("</text>\n", f);
    }
}

static void draw_titles(FILE *f, const mmx_svg_chart *c, const axis *ax, const axis *ay) {
    if (c->title) {
        fprintf(f, "<text x=\"%.1f\" y=\"17\" text-anchor=\"middle\" font-size=\"13\" "
                   "font-weight=\"bold\">", 0.5 * (ax->p0 + ax->p1));
        mmx_xml_puts(f, c->title);
        fputs("</text>\n", f);
    }
    if (c->xlabel) {
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", 0.5 * (ax->p0 + ax->p1),
                ay->p0 + 34.0);
        mmx_xml_puts(f, c->xlabel);
        fputs("</text>\n", f);
    }
    if (c->ylabel) {
        double yc = 0.5 * (ay->p0 + ay->p1);
        fprintf(f, "<text x=\"14\" y=\"%.1f\" text-anchor=\"middle\" "
                   "transform=\"rotate(-90 14 %.1f)\">", yc, yc);
        mmx_xml_puts(f, c->ylabel);
        fputs("</text>\n", f);
    }
}

void mmx_svg_line_chart(FILE *f, const mmx_svg_chart *c, const mmx_svg_series *s, int n) {
    int has_legend = 0;
    for (int k = 0; k < n; k++) has_legend |= s[k].label != NULL;
    double right = has_legend ? 150.0 : 16.0, w = c->width, h = c->height;
    axis ax = make_axis(c->xmin, c->xmax, s, n, 0, c->integer_x);
    axis ay = make_axis(c->ymin, c->ymax, s, n, 1, 0);
    ax.p0 = 58.0;
    ax.p1 = w - right > ax.p0 + 20.0 ? w - right : ax.p0 + 20.0;
    ay.p0 = h - 44.0; /* y grows downwards on the page */
    ay.p1 = c->title ? 28.0 : 12.0;
    if (ay.p0 < ay.p1 + 20.0) ay.p0 = ay.p1 + 20.0;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">\n",
            c->width, c->height, c->width, c->height);
    if (c->title) {
        fputs("<title>", f);
        mmx_xml_puts(f, c->title);
        fputs("</title>\n", f);
    }
    draw_ticks(f, &ax, &ay, 1);
    draw_ticks(f, &ay, &ax, 0);
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
               "stroke=\"#888\"/>\n", ax.p0, ay.p1, ax.p1 - ax.p0, ay.p0 - ay.p1);
    /* A nested <svg> clips to its box, so data outside fixed ranges stays inside the frame;
     * 4 px of slack keep the dots on the frame whole. */
    fprintf(f, "<svg x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
               "viewBox=\"%.1f %.1f %.1f %.1f\">\n", ax.p0 - 4.0, ay.p1 - 4.0,
            ax.p1 - ax.p0 + 8.0, ay.p0 - ay.p1 + 8.0, ax.p0 - 4.0, ay.p1 - 4.0,
            ax.p1 - ax.p0 + 8.0, ay.p0 - ay.p1 + 8.0);
    for (int k = 0; k < n; k++)
        draw_series(f, &s[k], s[k].color ? s[k].color : mmx_svg_color(k), &ax, &ay);
    fputs("</svg>\n", f);
    draw_legend(f, s, n, ax.p1 + 14.0, ay.p1 + 8.0);
    draw_titles(f, c, &ax, &ay);
    fputs("</svg>\n", f);
}
