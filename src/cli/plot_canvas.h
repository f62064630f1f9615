/* plot_canvas.h - the drawing layer under plot.c's figures (internal to src/cli/plot*.c):
 * a cairo surface chosen by the output's extension (.png or .svg), text, axes with
 * ticks, colour scales, and the file written at the end with the figure's data
 * embedded (PNG: an iTXt chunk, SVG: a <metadata> element; both keyed
 * "facenet-data", holding one JSON object) so a test or a reader can get the exact
 * numbers a figure shows. */
#ifndef FN_PLOT_CANVAS_H
#define FN_PLOT_CANVAS_H

#include <cairo.h>

#include "core/error.h"

typedef struct {
    cairo_surface_t *surf;
    cairo_t *cr;
    int svg;               /* 1: SVG, 0: PNG */
    double w, h;           /* user units (= PNG pixels) */
    unsigned char *buf;    /* the encoded file, built in memory */
    size_t len, cap;
    int nomem;
    const char *path;
} fn_canvas;

/* Open a w x h canvas for path (.png or .svg, any case), white background. */
int fn_canvas_open(fn_canvas *c, const char *path, double w, double h, fn_err *err);
/* Finish drawing and write path with meta_json embedded; frees the canvas. */
int fn_canvas_close(fn_canvas *c, const char *meta_json, fn_err *err);
/* Free without writing (after an error). */
void fn_canvas_discard(fn_canvas *c);

/* Text at (x, y): ax/ay anchor (0 left/top, 0.5 centre, 1 right/bottom of the ink
 * box's advance and font extents), rotated by angle radians around the anchor. */
void fn_text(fn_canvas *c, double x, double y, const char *s, double size, int bold, double ax, double ay,
             double angle);
double fn_text_width(fn_canvas *c, const char *s, double size, int bold);

/* A linear or log10 axis from lo to hi drawn over pixels p0..p1. */
typedef struct {
    double lo, hi;
    int log;
    double p0, p1;
} fn_axis;
double fn_axis_px(const fn_axis *a, double v);
/* Tick marks, numbers and the grid of a plot area [x0,x1] x [y0,y1] (y0 top). */
void fn_draw_axes(fn_canvas *c, const fn_axis *x, const fn_axis *y, const char *xlabel, const char *ylabel);
/* "Nice" tick step (1, 2 or 5 times a power of ten) for about n ticks over span. */
double fn_nice_step(double span, int n);

/* The diverging scale of the distance heat map, centred on thr: blue (0) - white
 * (thr) - red (vmax). rgb in [0,1]. */
void fn_diverging(double v, double thr, double vmax, double rgb[3]);

#endif
