/* plot_canvas.c - cairo surfaces written as PNG or SVG with the figure's data
 * embedded, text, axes and colour scales (see plot_canvas.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cairo-svg.h>
#include <fontconfig/fontconfig.h>
#include <zlib.h>

#include "cli/plot.h"
#include "cli/plot_canvas.h"

#define FONT "DejaVu Sans"
#define META_KEY "facenet-data"

static int append(fn_canvas *c, const void *data, size_t n)
{
    if (c->nomem)
        return -1;
    if (c->len + n > c->cap) {
        size_t cap = c->cap ? c->cap : 65536;
        while (cap < c->len + n)
            cap *= 2;
        unsigned char *b = realloc(c->buf, cap);
        if (!b) {
            c->nomem = 1;
            return -1;
        }
        c->buf = b;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, data, n);
    c->len += n;
    return 0;
}

static cairo_status_t write_cb(void *closure, const unsigned char *data, unsigned int n)
{
    return append(closure, data, n) ? CAIRO_STATUS_NO_MEMORY : CAIRO_STATUS_SUCCESS;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcasecmp(s + a - b, suffix);
}

int fn_plot_check_path(const char *path, fn_err *err)
{
    if (ends_with(path, ".svg") || ends_with(path, ".png"))
        return 0;
    return fn_fail(err, FN_E_ARG, "%s: a plot is written as .png or .svg (by the file name's extension)", path);
}

int fn_canvas_open(fn_canvas *c, const char *path, double w, double h, fn_err *err)
{
    memset(c, 0, sizeof *c);
    c->path = path;
    c->w = w;
    c->h = h;
    if (ends_with(path, ".svg")) {
        c->svg = 1;
        c->surf = cairo_svg_surface_create_for_stream(write_cb, c, w, h);
    } else if (ends_with(path, ".png")) {
        c->surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)ceil(w), (int)ceil(h));
    } else {
        return fn_fail(err, FN_E_ARG, "%s: a plot is written as .png or .svg (by the file name's extension)", path);
    }
    c->cr = cairo_create(c->surf);
    if (cairo_status(c->cr) != CAIRO_STATUS_SUCCESS) {
        fn_canvas_discard(c);
        return fn_fail(err, FN_E_NOMEM, "%s: cannot create the drawing surface", path);
    }
    cairo_set_source_rgb(c->cr, 1, 1, 1);
    cairo_paint(c->cr);
    cairo_set_source_rgb(c->cr, 0.1, 0.1, 0.1); /* text */
    return 0;
}

void fn_canvas_discard(fn_canvas *c)
{
    if (c->cr)
        cairo_destroy(c->cr);
    if (c->surf)
        cairo_surface_destroy(c->surf);
    free(c->buf);
    memset(c, 0, sizeof *c);
    /* cairo's font caches and fontconfig's configuration live until exit otherwise
     * (LeakSanitizer reports them); a command draws one figure, so let them go */
    cairo_debug_reset_static_data();
    FcFini();
}

/* The JSON as XML character data (&, <, > escaped). */
static int append_xml_text(fn_canvas *c, const char *s)
{
    for (; *s; s++) {
        const char *e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : NULL;
        if (e ? append(c, e, strlen(e)) : append(c, s, 1))
            return -1;
    }
    return 0;
}

static void put_be32(unsigned char *p, unsigned long v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8),
    p[3] = (unsigned char)v;
}

/* The encoded file with the metadata inserted: SVG after the opening <svg ...> tag,
 * PNG as an iTXt chunk right after IHDR (uncompressed UTF-8 text). */
static int with_meta(fn_canvas *c, const unsigned char *enc, size_t n, const char *meta, fn_err *err)
{
    c->buf = NULL;
    c->len = c->cap = 0;
    size_t at;
    if (c->svg) {
        const unsigned char *svg = NULL;
        for (size_t i = 0; i + 4 < n && !svg; i++)
            if (!memcmp(enc + i, "<svg", 4))
                svg = enc + i;
        const unsigned char *gt = svg ? memchr(svg, '>', n - (size_t)(svg - enc)) : NULL;
        if (!gt)
            return fn_fail(err, FN_E_FORMAT, "%s: cairo wrote no <svg> element", c->path);
        at = (size_t)(gt - enc) + 1;
        static const char open[] = "\n<metadata id=\"" META_KEY "\">";
        if (append(c, enc, at) || append(c, open, sizeof open - 1) ||
            append_xml_text(c, meta) || append(c, "</metadata>", 11) || append(c, enc + at, n - at))
            return fn_fail(err, FN_E_NOMEM, "%s: out of memory", c->path);
        return 0;
    }
    at = 8 + 25; /* signature, IHDR (length, type, 13 bytes, CRC) */
    if (n < at || memcmp(enc + 12, "IHDR", 4))
        return fn_fail(err, FN_E_FORMAT, "%s: cairo wrote no PNG header", c->path);
    static const char head[] = "iTXt" META_KEY "\0\0\0\0\0"; /* keyword, flag, method, language, key */
    size_t hlen = sizeof head - 1, mlen = strlen(meta);
    if (mlen > 0x7fffffffUL - hlen)
        return fn_fail(err, FN_E_ARG, "%s: figure data too large", c->path);
    unsigned char len[4], crc[4];
    put_be32(len, (unsigned long)(hlen - 4 + mlen));
    uLong s = crc32(0L, (const Bytef *)head, (uInt)hlen);
    s = crc32(s, (const Bytef *)meta, (uInt)mlen);
    put_be32(crc, s);
    if (append(c, enc, at) || append(c, len, 4) || append(c, head, hlen) || append(c, meta, mlen) ||
        append(c, crc, 4) || append(c, enc + at, n - at))
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory", c->path);
    return 0;
}

int fn_canvas_close(fn_canvas *c, const char *meta, fn_err *err)
{
    cairo_status_t st = cairo_status(c->cr);
    if (st == CAIRO_STATUS_SUCCESS && !c->svg)
        st = cairo_surface_write_to_png_stream(c->surf, write_cb, c);
    cairo_destroy(c->cr);
    c->cr = NULL;
    cairo_surface_finish(c->surf); /* flushes the SVG stream */
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_status(c->surf);
    cairo_surface_destroy(c->surf);
    c->surf = NULL;
    if (st != CAIRO_STATUS_SUCCESS || c->nomem) {
        fn_canvas_discard(c);
        return fn_fail(err, c->nomem ? FN_E_NOMEM : FN_E_IO, "%s: drawing failed (%s)", c->path,
                       c->nomem ? "out of memory" : cairo_status_to_string(st));
    }
    unsigned char *enc = c->buf;
    size_t n = c->len;
    int rc = with_meta(c, enc, n, meta ? meta : "{}", err);
    free(enc);
    if (!rc) {
        FILE *f = fopen(c->path, "wb");
        if (!f || fwrite(c->buf, 1, c->len, f) != c->len || fclose(f)) {
            if (f)
                fclose(f);
            rc = fn_fail(err, FN_E_IO, "%s: cannot write the plot", c->path);
        }
    }
    fn_canvas_discard(c);
    return rc;
}

/* ---- text ---------------------------------------------------------------------- */

static void font(fn_canvas *c, double size, int bold)
{
    cairo_select_font_face(c->cr, FONT, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(c->cr, size);
}

double fn_text_width(fn_canvas *c, const char *s, double size, int bold)
{
    cairo_text_extents_t e;
    font(c, size, bold);
    cairo_text_extents(c->cr, s, &e);
    return e.x_advance;
}

void fn_text(fn_canvas *c, double x, double y, const char *s, double size, int bold, double ax, double ay,
             double angle)
{
    double w = fn_text_width(c, s, size, bold), cap = 0.73 * size; /* DejaVu's capital height */
    cairo_save(c->cr);
    cairo_translate(c->cr, x, y);
    cairo_rotate(c->cr, angle);
    cairo_move_to(c->cr, -ax * w, (1 - ay) * cap);
    cairo_show_text(c->cr, s);
    cairo_restore(c->cr);
}

/* ---- axes ---------------------------------------------------------------------- */

double fn_axis_px(const fn_axis *a, double v)
{
    double t = a->log ? (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo)) : (v - a->lo) / (a->hi - a->lo);
    return a->p0 + t * (a->p1 - a->p0);
}

double fn_nice_step(double span, int n)
{
    double raw = span / (n > 0 ? n : 1), p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

/* Tick values of an axis into v (up to cap); the count. */
static int ticks(const fn_axis *a, double *v, int cap, double *step)
{
    int n = 0;
    if (a->log) {
        for (double e = ceil(log10(a->lo) - 1e-9); e <= log10(a->hi) + 1e-9 && n < cap; e++)
            v[n++] = pow(10, e);
        *step = 0;
        return n;
    }
    *step = fn_nice_step(a->hi - a->lo, 6);
    for (double t = ceil(a->lo / *step - 1e-9) * *step; t <= a->hi + 1e-9 * *step && n < cap; t += *step)
        v[n++] = fabs(t) < 1e-12 ? 0 : t;
    return n;
}

static void tick_label(double v, double step, char *buf, size_t cap)
{
    if (step == 0 && v >= 1e-3) /* log axis: powers of ten */
        snprintf(buf, cap, "%g", v);
    else if (step == 0)
        snprintf(buf, cap, "1e%ld", lround(log10(v)));
    else {
        int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
        snprintf(buf, cap, "%.*f", dec, v);
    }
}

void fn_draw_axes(fn_canvas *c, const fn_axis *x, const fn_axis *y, const char *xlabel, const char *ylabel)
{
    cairo_t *cr = c->cr;
    double xs[32], ys[32], xstep, ystep, x0 = x->p0, x1 = x->p1, y0 = y->p1, y1 = y->p0; /* y0 top */
    int nx = ticks(x, xs, 32, &xstep), ny = ticks(y, ys, 32, &ystep);
    char buf[32];
    cairo_set_line_width(cr, 1);
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    for (int i = 0; i < nx; i++) {
        double p = round(fn_axis_px(x, xs[i])) + 0.5;
        cairo_move_to(cr, p, y0), cairo_line_to(cr, p, y1);
    }
    for (int i = 0; i < ny; i++) {
        double p = round(fn_axis_px(y, ys[i])) + 0.5;
        cairo_move_to(cr, x0, p), cairo_line_to(cr, x1, p);
    }
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
    cairo_rectangle(cr, x0, y0, x1 - x0, y1 - y0);
    for (int i = 0; i < nx; i++) {
        double p = round(fn_axis_px(x, xs[i])) + 0.5;
        cairo_move_to(cr, p, y1), cairo_line_to(cr, p, y1 + 5);
    }
    for (int i = 0; i < ny; i++) {
        double p = round(fn_axis_px(y, ys[i])) + 0.5;
        cairo_move_to(cr, x0, p), cairo_line_to(cr, x0 - 5, p);
    }
    cairo_stroke(cr);
    for (int i = 0; i < nx; i++) {
        tick_label(xs[i], xstep, buf, sizeof buf);
        fn_text(c, fn_axis_px(x, xs[i]), y1 + 9, buf, 12, 0, 0.5, 0, 0);
    }
    double wmax = 0;
    for (int i = 0; i < ny; i++) {
        tick_label(ys[i], ystep, buf, sizeof buf);
        fn_text(c, x0 - 8, fn_axis_px(y, ys[i]), buf, 12, 0, 1, 0.5, 0);
        double w = fn_text_width(c, buf, 12, 0);
        wmax = w > wmax ? w : wmax;
    }
    if (xlabel)
        fn_text(c, (x0 + x1) / 2, y1 + 32, xlabel, 14, 0, 0.5, 0, 0);
    if (ylabel)
        fn_text(c, x0 - 18 - wmax, (y0 + y1) / 2, ylabel, 14, 0, 0.5, 1, -1.5707963267948966);
}

/* ---- colour -------------------------------------------------------------------- */

void fn_diverging(double v, double thr, double vmax, double rgb[3])
{
    /* ColorBrewer RdBu (7 classes), reversed: blue = close, red = far */
    static const double stops[7][3] = {{33, 102, 172}, {103, 169, 207}, {209, 229, 240}, {247, 247, 247},
                                       {253, 219, 199}, {239, 138, 98},  {178, 24, 43}};
    double t; /* -1 .. 1, 0 at the threshold */
    if (v <= thr)
        t = thr > 0 ? v / thr - 1 : 0;
    else
        t = vmax > thr ? (v - thr) / (vmax - thr) : 1;
    t = t < -1 ? -1 : t > 1 ? 1 : t;
    double u = (t + 1) * 3; /* 0 .. 6 over the stops */
    int i = u >= 6 ? 5 : (int)u;
    double f = u - i;
    for (int k = 0; k < 3; k++)
        rgb[k] = ((1 - f) * stops[i][k] + f * stops[i + 1][k]) / 255;
}
