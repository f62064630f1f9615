/* plot.c - `facenet distance --plot` (the distance heat map) and `facenet evaluate
 * --scores` (every scored pair as CSV); see plot.h. The ROC and histogram figure is
 * in plot_eval.c, the drawing layer in plot_canvas.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/match.h"
#include "cli/cli.h"
#include "cli/plot.h"
#include "io/embeddings.h"
#include "cli/plot_canvas.h"

#define LABEL_MAX 18 /* bytes of a file name shown as a label */

/* The label of an image: its file name without the extension, cut to LABEL_MAX bytes
 * (at a UTF-8 character boundary, with "..." when cut). */
static void short_name(const char *path, char *out, size_t cap)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    const char *dot = strrchr(b, '.');
    size_t n = dot && dot != b ? (size_t)(dot - b) : strlen(b);
    int cut = n > LABEL_MAX;
    if (cut) {
        n = LABEL_MAX - 3;
        while (n > 0 && ((unsigned char)b[n] & 0xc0) == 0x80)
            n--;
    }
    if (n + 4 > cap)
        n = cap - 4;
    memcpy(out, b, n);
    strcpy(out + n, cut ? "..." : "");
}

static cJSON *json_matrix(const float *d, int m)
{
    cJSON *rows = cJSON_CreateArray();
    for (int r = 0; rows && r < m; r++)
        if (!cJSON_AddItemToArray(rows, fn_json_floats(d + (size_t)r * m, (size_t)m))) {
            cJSON_Delete(rows);
            rows = NULL;
        }
    return rows;
}

/* The figure's numbers as one JSON text (malloc'd), or NULL when out of memory. */
static char *distance_meta(const char *const *paths, const int *idx, int m, const float *d, double thr, double vmax,
                           double gx, double gy, double cell)
{
    cJSON *j = cJSON_CreateObject(), *imgs = cJSON_AddArrayToObject(j, "images");
    cJSON_AddStringToObject(j, "figure", "distance");
    cJSON_AddNumberToObject(j, "threshold", thr);
    cJSON_AddNumberToObject(j, "vmax", vmax);
    for (int i = 0; imgs && i < m; i++)
        cJSON_AddItemToArray(imgs, fn_json_str(paths[idx[i]]));
    cJSON_AddItemToObject(j, "distances", json_matrix(d, m));
    cJSON *g = cJSON_AddObjectToObject(j, "grid"); /* where cell (r, c) is: x + c*cell, y + r*cell */
    cJSON_AddNumberToObject(g, "x", gx);
    cJSON_AddNumberToObject(g, "y", gy);
    cJSON_AddNumberToObject(g, "cell", cell);
    char *s = j && imgs && g ? fn_json_print_exact(j, 0) : NULL;
    cJSON_Delete(j);
    return s;
}

/* The colour bar beside the grid: [x, x+18] x [y, y+h], ticks on the right. */
static void colour_bar(fn_canvas *c, double x, double y, double h, double thr, double vmax)
{
    cairo_t *cr = c->cr;
    for (int i = 0; i < (int)h; i++) {
        double rgb[3];
        fn_diverging(vmax * (1 - (i + 0.5) / h), thr, vmax, rgb);
        cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
        cairo_rectangle(cr, x, y + i, 18, 1);
        cairo_fill(cr);
    }
    cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, x + 0.5, y + 0.5, 17, h - 1);
    cairo_stroke(cr);
    fn_axis a = {0, vmax, 0, y + h, y};
    double step = fn_nice_step(vmax, 5);
    char buf[32];
    for (double t = 0; t <= vmax + 1e-9; t += step) {
        double p = round(fn_axis_px(&a, t)) + 0.5;
        cairo_move_to(cr, x + 18, p), cairo_line_to(cr, x + 23, p);
        cairo_stroke(cr);
        snprintf(buf, sizeof buf, "%.*f", step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9), t);
        if (fabs(p - fn_axis_px(&a, thr)) > 16) /* the threshold's own label is there */
            fn_text(c, x + 27, p, buf, 12, 0, 0, 0.5, 0);
    }
    double p = fn_axis_px(&a, thr);
    cairo_set_line_width(cr, 2.5);
    cairo_move_to(cr, x - 6, p), cairo_line_to(cr, x + 24, p);
    cairo_stroke(cr);
    snprintf(buf, sizeof buf, "threshold %.3g", thr);
    fn_text(c, x + 27, p, buf, 12, 1, 0, 0.5, 0);
    fn_text(c, x + 9, y - 14, "distance", 13, 0, 0.5, 1, 0);
}

int fn_plot_distances(const char *path, const char *const *paths, const int *ok, int n, const float *emb, int dim,
                      double thr, const char *title, fn_err *err)
{
    int m = 0, rc = -1;
    int *idx = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    float *d = NULL;
    char (*lab)[LABEL_MAX + 4] = malloc(sizeof *lab * (size_t)(n > 0 ? n : 1));
    char *meta = NULL;
    fn_canvas cv = {0};
    if (!idx || !lab)
        goto nomem;
    for (int i = 0; i < n; i++)
        if (ok[i])
            idx[m++] = i;
    if (m < 1) {
        rc = fn_fail(err, FN_E_ARG, "%s: no image to plot", path);
        goto out;
    }
    if (!(d = malloc(sizeof(float) * (size_t)m * (size_t)m)))
        goto nomem;
    double vmax = 0;
    for (int r = 0; r < m; r++)
        for (int c = 0; c < m; c++) {
            float v = fn_l2_distance(emb + (size_t)idx[r] * dim, emb + (size_t)idx[c] * dim, dim);
            d[(size_t)r * m + c] = v;
            vmax = v > vmax ? v : vmax;
        }
    if (vmax < 1.25 * thr) /* the red half of the scale stays visible */
        vmax = 1.25 * thr;
    double cell = floor(fmin(44, fmax(4, 660.0 / m))), lf = fmax(7, fmin(13, cell * 0.75)), labw = 0;
    for (int i = 0; i < m; i++)
        short_name(paths[idx[i]], lab[i], sizeof lab[i]);
    /* measure on a scratch canvas-free surface: text widths need a cairo context */
    if (fn_canvas_open(&cv, path, 10, 10, err))
        goto out;
    for (int i = 0; i < m; i++)
        labw = fmax(labw, fn_text_width(&cv, lab[i], lf, 0));
    fn_canvas_discard(&cv);
    double gx = ceil(labw + 24), gy = ceil(86 + labw * 0.71 + lf), side = m * cell;
    double w = gx + side + 170, h = gy + side + 60;
    if (fn_canvas_open(&cv, path, w, h, err))
        goto out;
    cairo_t *cr = cv.cr;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", title ? title : "Distances between face embeddings");
    fn_text(&cv, 16, 20, buf, 17, 1, 0, 0, 0);
    snprintf(buf, sizeof buf, "%d images; blue (outlined) = closer than the threshold %.3g: the same person", m, thr);
    fn_text(&cv, 16, 46, buf, 13, 0, 0, 0, 0);
    for (int r = 0; r < m; r++)
        for (int c = 0; c < m; c++) {
            double v = d[(size_t)r * m + c], rgb[3], x = gx + c * cell, y = gy + r * cell;
            fn_diverging(v, thr, vmax, rgb);
            cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
            cairo_rectangle(cr, x, y, cell, cell);
            cairo_fill(cr);
            if (r != c && v < thr && cell >= 10) {
                cairo_set_source_rgb(cr, 0.05, 0.05, 0.05);
                cairo_set_line_width(cr, 1.5);
                cairo_rectangle(cr, x + 1.25, y + 1.25, cell - 2.5, cell - 2.5);
                cairo_stroke(cr);
            }
            if (cell >= 30) {
                double lum = 0.3 * rgb[0] + 0.59 * rgb[1] + 0.11 * rgb[2];
                cairo_set_source_rgb(cr, lum < 0.5 ? 1 : 0, lum < 0.5 ? 1 : 0, lum < 0.5 ? 1 : 0);
                snprintf(buf, sizeof buf, "%.2f", v);
                fn_text(&cv, x + cell / 2, y + cell / 2, buf, fmin(12, cell * 0.3), 0, 0.5, 0.5, 0);
            }
        }
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    for (int i = 0; i < m; i++) {
        fn_text(&cv, gx - 8, gy + (i + 0.5) * cell, lab[i], lf, 0, 1, 0.5, 0);
        fn_text(&cv, gx + (i + 0.5) * cell, gy - 8, lab[i], lf, 0, 0, 0.5, -0.7853981633974483);
    }
    colour_bar(&cv, gx + side + 34, gy, side < 200 ? 200 : side, thr, vmax);
    fn_text(&cv, 16, gy + side + 28, "Euclidean (L2) distance between the embeddings; the diagonal is each image "
                                     "with itself (0).", 12, 0, 0, 0.5, 0);
    if (!(meta = distance_meta(paths, idx, m, d, thr, vmax, gx, gy, cell))) {
        fn_canvas_discard(&cv);
        goto nomem;
    }
    rc = fn_canvas_close(&cv, meta, err);
    goto out;
nomem:
    rc = fn_fail(err, FN_E_NOMEM, "%s: out of memory", path);
out:
    free(meta);
    free(idx);
    free(lab);
    free(d);
    return rc;
}

/* ---- --scores ------------------------------------------------------------------ */

static void score_rows(FILE *f, const char *set, const char *root, const fn_lfw_pairs *p, const float *dist, int folds)
{
    int fold = 0, end = folds > 0 ? p->n / folds + (0 < p->n % folds) : p->n;
    for (int i = 0; i < p->n; i++) {
        while (folds > 0 && i == end && fold + 1 < folds) { /* consecutive folds, the first n % k one larger (eval.h) */
            fold++;
            end += p->n / folds + (fold < p->n % folds);
        }
        char path[8192];
        fputs(set, f);
        for (int s = 0; s < 2; s++) {
            snprintf(path, sizeof path, "%s/%s", root, s ? p->pairs[i].path_b : p->pairs[i].path_a);
            fputc(',', f);
            fn_csv_field(f, path);
        }
        fprintf(f, ",%s,", p->pairs[i].same ? "same" : "different");
        if (!isnan(dist[i]))
            fprintf(f, "%.9g", (double)dist[i]);
        fputc(',', f);
        if (folds > 0)
            fprintf(f, "%d", fold + 1);
        fprintf(f, ",%d\n", !isnan(dist[i]));
    }
}

int fn_write_scores(const char *path, const char *root, const fn_lfw_pairs *test, const float *dist,
                    const fn_lfw_pairs *train, const float *tdist, int folds, fn_err *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return fn_fail(err, FN_E_IO, "%s: cannot create the scores file", path);
    fputs("set,image_a,image_b,label,distance,fold,answered\n", f);
    score_rows(f, "test", root, test, dist, folds);
    if (train && tdist)
        score_rows(f, "train", root, train, tdist, 0);
    int bad = ferror(f);
    if (fclose(f) || bad)
        return fn_fail(err, FN_E_IO, "%s: cannot write the scores file", path);
    return 0;
}
