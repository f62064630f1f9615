/* draw_maps.c - a layer's feature maps as a labelled grid of grey pictures (`facenet
 * trace --maps LAYER -o FILE.png|.svg`), drawn with cairo.  Each channel is scaled to
 * its own min (black) .. max (white), so weak and strong channels are both visible; a
 * constant channel (a dead ReLU unit: all zeros) is drawn mid-grey with its value in
 * the label.  Maps are magnified by an integer zoom without smoothing, so every
 * activation stays one square. */
#include <cairo-svg.h>
#include <cairo.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/trace.h"

#define FN_MAPS_MARGIN 12   /* around the grid */
#define FN_MAPS_TOP 52      /* title and subtitle */
#define FN_MAPS_GAP 6       /* between cells */
#define FN_MAPS_LABEL 14    /* the channel number under each map */
#define FN_MAPS_MIN_SIDE 48 /* magnify maps until their larger side reaches this */
#define FN_MAPS_MIN_TEXT 420 /* the grid is at least this wide; longer titles are shrunk to fit */

void fn_maps_layout_for(int h, int w, int c, fn_maps_layout *l)
{
    int side = h > w ? h : w;
    l->zoom = side >= FN_MAPS_MIN_SIDE ? 1 : (FN_MAPS_MIN_SIDE + side - 1) / side;
    l->map_w = w * l->zoom;
    l->map_h = h * l->zoom;
    l->cols = (int)ceil(sqrt((double)c));
    if (l->cols < 1)
        l->cols = 1;
    l->rows = (c + l->cols - 1) / l->cols;
    int grid_w = l->cols * (l->map_w + FN_MAPS_GAP) - FN_MAPS_GAP;
    l->width = 2 * FN_MAPS_MARGIN + (grid_w > FN_MAPS_MIN_TEXT ? grid_w : FN_MAPS_MIN_TEXT); /* room for the title */
    l->height = FN_MAPS_TOP + l->rows * (l->map_h + FN_MAPS_LABEL + FN_MAPS_GAP) - FN_MAPS_GAP + FN_MAPS_MARGIN;
}

/* Channel k of an h x w x c tensor as a w x h grey image in an A8-free RGB24 surface. */
static cairo_surface_t *channel_image(const float *data, int h, int w, int c, int k, float *lo_out, float *hi_out)
{
    float lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < h * w; i++) {
        float v = data[(size_t)i * c + k];
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    *lo_out = lo, *hi_out = hi;
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    if (cairo_surface_status(s))
        return s;
    cairo_surface_flush(s);
    unsigned char *px = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float v = data[((size_t)y * w + x) * c + k];
            int g = hi > lo && isfinite(hi - lo) ? (int)lrintf(255.0f * (v - lo) / (hi - lo)) : 128;
            g = g < 0 ? 0 : g > 255 ? 255 : g;
            ((uint32_t *)(px + (size_t)y * stride))[x] = 0xff000000u | (uint32_t)g << 16 | (uint32_t)g << 8 | (uint32_t)g;
        }
    cairo_surface_mark_dirty(s);
    return s;
}

/* text at (margin, y) in the current face, shrunk from size until it fits in width */
static void fit_text(cairo_t *cr, const char *text, double size, double width, double y)
{
    cairo_text_extents_t ext;
    cairo_set_font_size(cr, size);
    cairo_text_extents(cr, text, &ext);
    if (ext.x_advance > width)
        cairo_set_font_size(cr, size * width / ext.x_advance);
    cairo_move_to(cr, FN_MAPS_MARGIN, y);
    cairo_show_text(cr, text);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcasecmp(s + a - b, suffix);
}

int fn_draw_maps(const char *path, const float *data, int h, int w, int c, const char *title, const char *subtitle,
                 fn_err *err)
{
    if (h <= 0 || w <= 0 || c <= 0 || (size_t)h * w > 4096 * 4096 || c > 65536)
        return fn_fail(err, FN_E_ARG, "%s: cannot draw %dx%dx%d feature maps", path, h, w, c);
    fn_maps_layout l;
    fn_maps_layout_for(h, w, c, &l);
    if ((double)l.width * l.height > 30e6)
        return fn_fail(err, FN_E_ARG, "%s: %d maps of %dx%d make a %dx%d picture (too large)", path, c, h, w, l.width,
                       l.height);
    int svg = ends_with(path, ".svg");
    if (!svg && !ends_with(path, ".png"))
        return fn_fail(err, FN_E_ARG, "%s: the picture is .png or .svg", path);
    cairo_surface_t *surf = svg ? cairo_svg_surface_create(path, l.width, l.height)
                                : cairo_image_surface_create(CAIRO_FORMAT_RGB24, l.width, l.height);
    cairo_t *cr = cairo_create(surf);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    fit_text(cr, title, 15, l.width - 2 * FN_MAPS_MARGIN, 22);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    fit_text(cr, subtitle, 11, l.width - 2 * FN_MAPS_MARGIN, 40);
    cairo_set_font_size(cr, 10);
    for (int k = 0; k < c && !cairo_status(cr); k++) {
        int gx = k % l.cols, gy = k / l.cols;
        double x0 = FN_MAPS_MARGIN + gx * (l.map_w + FN_MAPS_GAP);
        double y0 = FN_MAPS_TOP + gy * (l.map_h + FN_MAPS_LABEL + FN_MAPS_GAP);
        float lo, hi;
        cairo_surface_t *img = channel_image(data, h, w, c, k, &lo, &hi);
        cairo_save(cr);
        cairo_translate(cr, x0, y0);
        cairo_scale(cr, l.zoom, l.zoom);
        cairo_set_source_surface(cr, img, 0, 0);
        cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
        cairo_rectangle(cr, 0, 0, w, h);
        cairo_fill(cr);
        cairo_restore(cr);
        cairo_surface_destroy(img);
        char label[48];
        if (hi > lo)
            snprintf(label, sizeof label, "%d", k);
        else
            snprintf(label, sizeof label, "%d (=%.3g)", k, (double)lo);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        cairo_move_to(cr, x0, y0 + l.map_h + FN_MAPS_LABEL - 3);
        cairo_show_text(cr, label);
    }
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    if (!st && !svg)
        st = cairo_surface_write_to_png(surf, path);
    cairo_surface_finish(surf);
    if (!st)
        st = cairo_surface_status(surf);
    cairo_surface_destroy(surf);
    if (st)
        return fn_fail(err, FN_E_IO, "%s: cannot draw the feature maps: %s", path, cairo_status_to_string(st));
    return 0;
}
