/*
 * svg.h - inline SVG line charts (axes, ticks, labels, legend, gaps) and XML escaping, written
 * straight into a FILE* so that a report page can embed them. Numbers are printed with
 * printf, so the C locale (the default unless the program calls setlocale) is assumed.
 */
#ifndef MMX_VIZ_SVG_H
#define MMX_VIZ_SVG_H

#include <stdio.h>

/* One line. Points whose x or y is not finite are gaps: the line breaks there. */
typedef struct {
    const char *label;  /* legend text (escaped when written), or NULL for no legend entry */
    const double *x, *y; /* (n) each                                                     */
    int n;
    const char *color;  /* CSS colour, or NULL for mmx_svg_color(index of the series)     */
    int dashed;         /* 1: dashed line (e.g. a reference such as the identity)         */
    int markers;        /* 1: a dot at each finite point (so isolated points still show)  */
} mmx_svg_series;

typedef struct {
    const char *title;           /* above the plot, or NULL                                */
    const char *xlabel, *ylabel; /* axis titles, or NULL                                   */
    int width, height;           /* whole picture in pixels (legend included)              */
    double xmin, xmax, ymin, ymax; /* axis ranges; NaN: from the data, widened to ticks   */
    int integer_x;               /* 1: x ticks only at integers (layer indices)            */
} mmx_svg_chart;

/* The i-th colour of the chart palette (cycles after 8). */
const char *mmx_svg_color(int i);

/* Writes s with &, <, >, " and ' replaced by entities (valid in HTML and SVG text and
 * attribute values). NULL writes nothing. */
void mmx_xml_puts(FILE *f, const char *s);

/* Writes one <svg> element: a framed plot with "nice" ticks (1, 2, 5 x 10^k), grid lines,
 * axis titles and a legend on the right. Write errors are left in f's error flag. */
void mmx_svg_line_chart(FILE *f, const mmx_svg_chart *chart, const mmx_svg_series *series,
                        int n_series);

#endif
