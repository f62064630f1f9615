/* plot_eval.c - `facenet evaluate --plot`: the ROC curve and the same/different
 * distance histograms, side by side, with the chosen threshold (see plot.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/eval.h"
#include "cli/cli.h"
#include "cli/plot.h"
#include "cli/plot_canvas.h"

static const double SAME_RGB[3] = {0.13, 0.40, 0.67}, DIFF_RGB[3] = {0.84, 0.33, 0.05};

typedef struct {
    float d;
    int same;
} pair_d;

static int cmp_pair(const void *a, const void *b)
{
    const pair_d *x = a, *y = b;
    return (x->d > y->d) - (x->d < y->d);
}

typedef struct {
    pair_d *p;         /* the scored pairs, by distance */
    int m, np, nn;     /* scored, same, different */
    double thr, auc, tar, far;
    int log_far;
    double step;       /* histogram bin width */
    int nb;
    int *hist[2];      /* [0] different, [1] same: counts per bin */
} eval_fig;

static void set_rgb(cairo_t *cr, const double *c, double a)
{
    cairo_set_source_rgba(cr, c[0], c[1], c[2], a);
}

/* A legend line at (x, y): a swatch (kind 0 line, 1 dot, 2 box, 3 dashed line) and text. */
static void legend(fn_canvas *c, double x, double y, int kind, const double *rgb, const char *s)
{
    cairo_t *cr = c->cr;
    set_rgb(cr, rgb, kind == 2 ? 0.55 : 1);
    if (kind == 1) {
        cairo_arc(cr, x + 12, y, 5, 0, 6.2832);
        cairo_fill(cr);
    } else if (kind == 2) {
        cairo_rectangle(cr, x + 2, y - 6, 20, 12);
        cairo_fill(cr);
    } else {
        double dash = 5;
        cairo_set_dash(cr, &dash, kind == 3, 0);
        cairo_set_line_width(cr, 2.5);
        cairo_move_to(cr, x, y), cairo_line_to(cr, x + 24, y);
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
    }
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    fn_text(c, x + 32, y, s, 12, 0, 0, 0.5, 0);
}

static void legend_box(fn_canvas *c, double x, double y, double w, double h)
{
    cairo_set_source_rgba(c->cr, 1, 1, 1, 0.9);
    cairo_rectangle(c->cr, x, y, w, h);
    cairo_fill_preserve(c->cr);
    cairo_set_source_rgb(c->cr, 0.6, 0.6, 0.6);
    cairo_set_line_width(c->cr, 1);
    cairo_stroke(c->cr);
}

static void roc_panel(fn_canvas *c, const eval_fig *f, double x0, double x1, double y0, double y1)
{
    cairo_t *cr = c->cr;
    double lo = f->log_far ? fmin(pow(10, floor(log10(1.0 / f->nn))), 1e-2) : 0;
    fn_axis ax = {lo, 1, f->log_far, x0, x1}, ay = {0, 1, 0, y1, y0};
    fn_draw_axes(c, &ax, &ay, f->log_far ? "false accept rate (FAR, log scale)" : "false accept rate (FAR)",
                 "true accept rate (TAR)");
    fn_text(c, (x0 + x1) / 2, y0 - 14, "ROC: every threshold at once", 14, 1, 0.5, 1, 0);
    cairo_save(cr);
    cairo_rectangle(cr, x0, y0, x1 - x0, y1 - y0);
    cairo_clip(cr);
    if (!f->log_far) { /* chance */
        double dash = 5;
        cairo_set_dash(cr, &dash, 1, 0);
        cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
        cairo_set_line_width(cr, 1.5);
        cairo_move_to(cr, x0, y1), cairo_line_to(cr, x1, y0);
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
    }
    long tp = 0, fp = 0;
    cairo_move_to(cr, fn_axis_px(&ax, lo), fn_axis_px(&ay, 0));
    for (int i = 0; i < f->m; i++) {
        f->p[i].same ? tp++ : fp++;
        if (i + 1 < f->m && f->p[i + 1].d == f->p[i].d)
            continue; /* one point per distinct distance */
        double far = (double)fp / f->nn, tar = (double)tp / f->np;
        cairo_line_to(cr, fn_axis_px(&ax, fmax(far, lo)), fn_axis_px(&ay, tar));
    }
    set_rgb(cr, SAME_RGB, 1);
    cairo_set_line_width(cr, 2.5);
    cairo_stroke(cr);
    double ox = fn_axis_px(&ax, fmax(f->far, lo)), oy = fn_axis_px(&ay, f->tar);
    cairo_set_source_rgb(cr, 0.05, 0.05, 0.05);
    cairo_arc(cr, ox, oy, 6, 0, 6.2832);
    cairo_fill(cr);
    cairo_restore(cr);
    char buf[128];
    double lx = x1 - 300, ly = y1 - (f->log_far ? 62 : 86);
    legend_box(c, lx - 8, ly - 14, 300, f->log_far ? 52 : 76);
    snprintf(buf, sizeof buf, "ROC curve, AUC = %.4f", f->auc);
    legend(c, lx, ly, 0, SAME_RGB, buf);
    snprintf(buf, sizeof buf, "threshold %.3f: TAR %.3f, FAR %.4f", f->thr, f->tar, f->far);
    static const double black[3] = {0.05, 0.05, 0.05}, grey[3] = {0.6, 0.6, 0.6};
    legend(c, lx, ly + 24, 1, black, buf);
    if (!f->log_far)
        legend(c, lx, ly + 48, 3, grey, "chance (AUC 0.5)");
}

static void hist_panel(fn_canvas *c, const eval_fig *f, double x0, double x1, double y0, double y1)
{
    cairo_t *cr = c->cr;
    int top = 1;
    for (int k = 0; k < 2; k++)
        for (int b = 0; b < f->nb; b++)
            top = f->hist[k][b] > top ? f->hist[k][b] : top;
    fn_axis ax = {0, f->nb * f->step, 0, x0, x1}, ay = {0, ceil(top * 1.15), 0, y1, y0};
    fn_draw_axes(c, &ax, &ay, "distance between the two embeddings", "pairs");
    fn_text(c, (x0 + x1) / 2, y0 - 14, "Distances of same and different pairs", 14, 1, 0.5, 1, 0);
    for (int k = 1; k >= 0; k--) {
        const double *rgb = k ? SAME_RGB : DIFF_RGB;
        set_rgb(cr, rgb, 0.45);
        for (int b = 0; b < f->nb; b++) {
            double bx0 = fn_axis_px(&ax, b * f->step), bx1 = fn_axis_px(&ax, (b + 1) * f->step);
            double by = fn_axis_px(&ay, f->hist[k][b]);
            cairo_rectangle(cr, bx0, by, bx1 - bx0, y1 - by);
        }
        cairo_fill(cr);
        set_rgb(cr, rgb, 1);
        cairo_set_line_width(cr, 1.5);
        cairo_move_to(cr, x0, y1);
        for (int b = 0; b < f->nb; b++) {
            double by = fn_axis_px(&ay, f->hist[k][b]);
            cairo_line_to(cr, fn_axis_px(&ax, b * f->step), by);
            cairo_line_to(cr, fn_axis_px(&ax, (b + 1) * f->step), by);
        }
        cairo_line_to(cr, x1, y1);
        cairo_stroke(cr);
    }
    double tx = fn_axis_px(&ax, f->thr), dash = 6;
    cairo_set_source_rgb(cr, 0.05, 0.05, 0.05);
    cairo_set_line_width(cr, 2);
    cairo_set_dash(cr, &dash, 1, 0);
    cairo_move_to(cr, tx, y0), cairo_line_to(cr, tx, y1);
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0);
    char buf[128];
    snprintf(buf, sizeof buf, "threshold %.3f", f->thr);
    fn_text(c, tx + 6, y0 + 14, buf, 12, 1, 0, 0.5, 0);
    fn_text(c, tx - 6, y0 + 34, "< same", 12, 0, 1, 0.5, 0);
    fn_text(c, tx + 6, y0 + 34, "different >", 12, 0, 0, 0.5, 0);
    double lx = x0 + 16, ly = y0 + 22;
    legend_box(c, lx - 8, ly - 14, 200, 52);
    snprintf(buf, sizeof buf, "same person (%d pairs)", f->np);
    legend(c, lx, ly, 2, SAME_RGB, buf);
    snprintf(buf, sizeof buf, "different people (%d)", f->nn);
    legend(c, lx, ly + 24, 2, DIFF_RGB, buf);
}

static char *eval_meta(const eval_fig *f, int skipped)
{
    cJSON *j = cJSON_CreateObject(), *h = cJSON_AddObjectToObject(j, "histogram");
    cJSON_AddStringToObject(j, "figure", "evaluate");
    cJSON_AddNumberToObject(j, "threshold", f->thr);
    cJSON_AddNumberToObject(j, "auc", f->auc);
    cJSON_AddNumberToObject(j, "same", f->np);
    cJSON_AddNumberToObject(j, "different", f->nn);
    cJSON_AddNumberToObject(j, "skipped", skipped);
    cJSON_AddNumberToObject(j, "tar", f->tar);
    cJSON_AddNumberToObject(j, "far", f->far);
    cJSON_AddBoolToObject(j, "log_far", f->log_far);
    cJSON_AddNumberToObject(h, "step", f->step);
    cJSON_AddItemToObject(h, "same", cJSON_CreateIntArray(f->hist[1], f->nb));
    cJSON_AddItemToObject(h, "different", cJSON_CreateIntArray(f->hist[0], f->nb));
    char *s = j && h ? fn_json_print_exact(j, 0) : NULL;
    cJSON_Delete(j);
    return s;
}

int fn_plot_evaluation(const char *path, const float *dist, const int *same, int n, double thr, int log_far,
                       const char *title, fn_err *err)
{
    eval_fig f = {.thr = thr, .log_far = log_far};
    char *meta = NULL;
    int rc = -1;
    if (fn_eval_auc(dist, same, n, &f.auc, err))
        return fn_wrap(err, "%s: ", path);
    if (!(f.p = malloc(sizeof *f.p * (size_t)n)))
        goto nomem;
    long ta = 0, fa = 0;
    for (int i = 0; i < n; i++) {
        if (isnan(dist[i]))
            continue;
        f.p[f.m++] = (pair_d){dist[i], same[i] != 0};
        same[i] ? f.np++ : f.nn++;
        if ((double)dist[i] < thr)
            same[i] ? ta++ : fa++;
    }
    qsort(f.p, (size_t)f.m, sizeof *f.p, cmp_pair);
    f.tar = (double)ta / f.np;
    f.far = (double)fa / f.nn;
    /* a pair with a photo without a face is infinitely far: on the ROC, not in a bin */
    double dmax = thr;
    for (int i = 0; i < f.m; i++)
        if (isfinite(f.p[i].d))
            dmax = fmax(dmax, f.p[i].d);
    f.step = fn_nice_step(dmax, 36);
    f.nb = (int)floor(dmax / f.step) + 1;
    f.hist[0] = calloc((size_t)f.nb, sizeof(int));
    f.hist[1] = calloc((size_t)f.nb, sizeof(int));
    if (!f.hist[0] || !f.hist[1])
        goto nomem;
    for (int i = 0; i < f.m; i++) {
        if (!isfinite(f.p[i].d))
            continue;
        int b = (int)floor(f.p[i].d / f.step);
        f.hist[f.p[i].same][b < 0 ? 0 : b >= f.nb ? f.nb - 1 : b]++;
    }
    fn_canvas cv;
    if (fn_canvas_open(&cv, path, 1200, 580, err))
        goto out;
    char buf[512];
    fn_text(&cv, 20, 20, title ? title : "Verification: same or different person?", 17, 1, 0, 0, 0);
    snprintf(buf, sizeof buf,
             "%d pairs scored (%d skipped). At the threshold %.3f: %ld of %d same pairs accepted, "
             "%ld of %d different pairs wrongly accepted.",
             f.m, n - f.m, thr, ta, f.np, fa, f.nn);
    fn_text(&cv, 20, 46, buf, 13, 0, 0, 0, 0);
    roc_panel(&cv, &f, 90, 540, 110, 500);
    hist_panel(&cv, &f, 690, 1170, 110, 500);
    if (!(meta = eval_meta(&f, n - f.m))) {
        fn_canvas_discard(&cv);
        goto nomem;
    }
    rc = fn_canvas_close(&cv, meta, err);
    goto out;
nomem:
    rc = fn_fail(err, FN_E_NOMEM, "%s: out of memory", path);
out:
    free(meta);
    free(f.p);
    free(f.hist[0]);
    free(f.hist[1]);
    return rc;
}
