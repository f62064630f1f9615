/* test_plots.c - the figures and data files of `distance` and `evaluate`, and the
 * figures committed under docs/figures/:
 *  - distance --plot (PNG and SVG): the matrix embedded in the figure ("facenet-data")
 *    equals `distance --json`'s, value for value, image for image; the PNG parses
 *    (cairo) and every off-diagonal cell clearly below the threshold is drawn blue and
 *    every cell clearly above it red, at the place the figure says the cell is; the
 *    SVG parses (libxml2);
 *  - evaluate --scores: accuracy recomputed from the CSV at the reported threshold,
 *    AUC and the k-fold accuracy (eval.h on the CSV's distances) equal evaluate's
 *    --json; the fold column is the consecutive split; the missing image's pair is
 *    "not answered"; evaluate --plot's embedded numbers equal the JSON's;
 *  - a plot file with another extension is refused (exit 2, one line) before any
 *    image is encoded;
 *  - every PNG and SVG in docs/figures parses, and the walkthrough's figures exist.
 * The model is the golden keras-facenet-mini (seed 11): fast, and the point here is
 * that the pictures show what the commands compute, whatever the model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cairo.h>
#include <dirent.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/eval.h"
#include "lib/testutil.h"

static char *tmp, model[8192];

static int run(const char *args, char **out, char **err)
{
    static char cmd[65536];
    snprintf(cmd, sizeof cmd, "%s %s", tu_build("facenet"), args);
    return tu_run(cmd, out, err);
}

static int setup(void **state)
{
    (void)state;
    tmp = tu_tmpdir();
    snprintf(model, sizeof model, "--model-json %s --weights %s", tu_shared("golden/keras-facenet-mini/model.json"),
             tu_shared("golden/keras-facenet-mini/seed11/model.h5"));
    return tmp ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int rc = tu_rmtree(tmp);
    free(tmp);
    return rc;
}

/* ---- reading figures back ------------------------------------------------------- */

/* The "facenet-data" text of a PNG (libpng), parsed; fails the test when absent. */
static cJSON *png_meta(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("%s: cannot open", path);
    png_structp p = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(p);
    cJSON *j = NULL;
    if (setjmp(png_jmpbuf(p)))
        fail_msg("%s: libpng cannot read it", path);
    png_init_io(p, f);
    png_read_info(p, info);
    png_textp text;
    int n = 0;
    png_get_text(p, info, &text, &n);
    for (int i = 0; i < n; i++)
        if (!strcmp(text[i].key, "facenet-data"))
            j = cJSON_Parse(text[i].text);
    png_destroy_read_struct(&p, &info, NULL);
    fclose(f);
    if (!j)
        fail_msg("%s: no facenet-data text chunk", path);
    return j;
}

/* Parse an SVG with libxml2 (fails the test if it is not well-formed XML with an
 * <svg> root); returns the facenet-data metadata when want_meta. */
static cJSON *svg_check(const char *path, int want_meta)
{
    xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOWARNING | XML_PARSE_HUGE);
    if (!doc)
        fail_msg("%s: not well-formed XML", path);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (!root || strcmp((const char *)root->name, "svg"))
        fail_msg("%s: the root element is not <svg>", path);
    cJSON *j = NULL;
    for (xmlNodePtr c = root->children; want_meta && c && !j; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, "metadata"))
            continue;
        xmlChar *id = xmlGetProp(c, (const xmlChar *)"id"), *text = xmlNodeGetContent(c);
        if (id && !strcmp((const char *)id, "facenet-data"))
            j = cJSON_Parse((const char *)text);
        xmlFree(id);
        xmlFree(text);
    }
    xmlFreeDoc(doc);
    if (want_meta && !j)
        fail_msg("%s: no <metadata id=\"facenet-data\">", path);
    return j;
}

/* Open a PNG with cairo; the surface (the caller destroys it). */
static cairo_surface_t *png_open(const char *path)
{
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
        fail_msg("%s: cairo cannot read it (%s)", path, cairo_status_to_string(cairo_surface_status(s)));
    assert_true(cairo_image_surface_get_width(s) > 100 && cairo_image_surface_get_height(s) > 100);
    return s;
}

static void pixel(cairo_surface_t *s, int x, int y, int rgb[3])
{
    cairo_surface_flush(s);
    const unsigned char *d = cairo_image_surface_get_data(s);
    uint32_t v = *(const uint32_t *)(d + (size_t)y * cairo_image_surface_get_stride(s) + 4 * (size_t)x);
    rgb[0] = (v >> 16) & 255, rgb[1] = (v >> 8) & 255, rgb[2] = v & 255;
}

static double num(const cJSON *j, const char *key)
{
    const cJSON *x = cJSON_GetObjectItem(j, key);
    if (!cJSON_IsNumber(x))
        fail_msg("no number \"%s\"", key);
    return x->valuedouble;
}

/* ---- distance --plot ------------------------------------------------------------ */

/* The matrix and images of the figure equal those of `distance --json`. */
static void same_matrix(const cJSON *fig, const cJSON *js)
{
    const cJSON *a = cJSON_GetObjectItem(fig, "images"), *b = cJSON_GetObjectItem(js, "images");
    const cJSON *da = cJSON_GetObjectItem(fig, "distances"), *db = cJSON_GetObjectItem(js, "distances");
    int n = cJSON_GetArraySize(b);
    assert_true(n >= 2);
    assert_int_equal(cJSON_GetArraySize(a), n);
    assert_int_equal(cJSON_GetArraySize(da), n);
    for (int r = 0; r < n; r++) {
        assert_string_equal(cJSON_GetArrayItem(a, r)->valuestring, cJSON_GetArrayItem(b, r)->valuestring);
        const cJSON *ra = cJSON_GetArrayItem(da, r), *rb = cJSON_GetArrayItem(db, r);
        assert_int_equal(cJSON_GetArraySize(ra), n);
        for (int c = 0; c < n; c++) {
            double x = cJSON_GetArrayItem(ra, c)->valuedouble, y = cJSON_GetArrayItem(rb, c)->valuedouble;
            if (x != y)
                fail_msg("distance (%d,%d): figure %.9g, distance --json %.9g", r, c, x, y);
        }
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_distance_plot(void **state)
{
    (void)state;
    const char *hh = tu_shared("images/happy-house");
    char args[20000], png[4200], svg[4200], *out, *err;
    snprintf(args, sizeof args, "distance %s --json %s", model, hh);
    assert_int_equal(run(args, &out, &err), 0);
    cJSON *js = cJSON_Parse(out);
    assert_non_null(js);
    free(out), free(err);
    /* a threshold at the median off-diagonal distance: cells on both sides */
    const cJSON *dm = cJSON_GetObjectItem(js, "distances");
    int n = cJSON_GetArraySize(dm), k = 0;
    assert_int_equal(n, 18);
    double *off = malloc(sizeof(double) * (size_t)n * n);
    for (int r = 0; r < n; r++)
        for (int c = 0; c < n; c++)
            if (r != c)
                off[k++] = cJSON_GetArrayItem(cJSON_GetArrayItem(dm, r), c)->valuedouble;
    qsort(off, (size_t)k, sizeof *off, cmp_double);
    double thr = off[k / 2];
    free(off);
    snprintf(png, sizeof png, "%s/d.png", tmp);
    snprintf(svg, sizeof svg, "%s/d.svg", tmp);
    for (int f = 0; f < 2; f++) {
        snprintf(args, sizeof args, "distance %s --threshold %.9g --plot %s %s", model, thr, f ? svg : png, hh);
        assert_int_equal(run(args, &out, &err), 0);
        free(out), free(err);
    }
    cJSON *mp = png_meta(png), *ms = svg_check(svg, 1);
    same_matrix(mp, js);
    same_matrix(ms, js);
    assert_true(fabs(num(mp, "threshold") - thr) < 1e-9 * thr);
    /* the picture: cells clearly below the threshold are blue, clearly above red */
    cairo_surface_t *s = png_open(png);
    const cJSON *g = cJSON_GetObjectItem(mp, "grid");
    double gx = num(g, "x"), gy = num(g, "y"), cell = num(g, "cell");
    assert_true(cell >= 10);
    int blue = 0, red = 0;
    for (int r = 0; r < n; r++)
        for (int c = 0; c < n; c++) {
            double v = cJSON_GetArrayItem(cJSON_GetArrayItem(dm, r), c)->valuedouble;
            if (r == c || fabs(v - thr) < 0.15 * thr)
                continue;
            int px[3];
            /* between the outline (the cell's border) and the number (its middle) */
            pixel(s, (int)(gx + (c + 0.5) * cell), (int)(gy + r * cell + fmax(4, 0.17 * cell)), px);
            if (v < thr ? px[2] < px[0] + 8 : px[0] < px[2] + 8)
                fail_msg("cell (%d,%d) distance %.4f, threshold %.4f: drawn rgb(%d,%d,%d)", r, c, v, thr, px[0],
                         px[1], px[2]);
            v < thr ? blue++ : red++;
        }
    print_message("distance --plot: %d blue and %d red cells checked at threshold %.4f\n", blue, red, thr);
    assert_true(blue > 10 && red > 10);
    cairo_surface_destroy(s);
    cJSON_Delete(mp), cJSON_Delete(ms), cJSON_Delete(js);
    /* another extension: refused before anything is written */
    snprintf(args, sizeof args, "distance %s --plot %s/d.jpg %s", model, tmp, hh);
    assert_int_equal(run(args, &out, &err), 2);
    assert_non_null(strstr(err, ".png or .svg"));
    char *nl = strchr(err, '\n');
    assert_true(nl && !nl[1]); /* one line */
    free(out), free(err);
}

/* ---- evaluate --scores / --plot ------------------------------------------------- */

/* A View 1 style pairs file of the first `n` same and `n` different pairs of src; with
 * extra (a different pair line) replacing the last different pair. */
static void small_pairs(const char *src, const char *dst, int n, const char *extra)
{
    char *t = (char *)tu_read_must(src, NULL), *save = NULL;
    char *lines[4000];
    int k = 0;
    for (char *l = strtok_r(t, "\n", &save); l && k < 4000; l = strtok_r(NULL, "\n", &save))
        lines[k++] = l;
    int total = atoi(lines[0]);
    FILE *f = fopen(dst, "w");
    assert_non_null(f);
    fprintf(f, "%d\n", n);
    for (int i = 0; i < n; i++)
        fprintf(f, "%s\n", lines[1 + i]);
    for (int i = 0; i < n; i++)
        fprintf(f, "%s\n", extra && i == n - 1 ? extra : lines[1 + total + i]);
    fclose(f);
    free(t);
}

typedef struct {
    float dist[200];
    int same[200], fold[200], answered[200], n;
} scores;

/* The rows of one set of a --scores CSV (no quoting needed for LFW paths). */
static void read_scores(const char *path, const char *set, scores *s)
{
    char *t = (char *)tu_read_must(path, NULL), *save = NULL;
    char *l = strtok_r(t, "\n", &save);
    assert_string_equal(l, "set,image_a,image_b,label,distance,fold,answered");
    s->n = 0;
    while ((l = strtok_r(NULL, "\n", &save))) {
        char *f[7];
        int k = 0;
        for (char *p = l; k < 7; k++) {
            f[k] = p;
            p = strchr(p, ',');
            if (!p) {
                k++;
                break;
            }
            *p++ = '\0';
        }
        assert_int_equal(k, 7);
        if (strcmp(f[0], set))
            continue;
        assert_true(s->n < 200);
        assert_true(strstr(f[1], ".jpg") && strstr(f[2], ".jpg"));
        s->same[s->n] = !strcmp(f[3], "same");
        assert_true(s->same[s->n] || !strcmp(f[3], "different"));
        s->answered[s->n] = atoi(f[6]);
        s->dist[s->n] = *f[4] ? strtof(f[4], NULL) : NAN;
        assert_int_equal(s->answered[s->n], !isnan(s->dist[s->n]));
        s->fold[s->n] = *f[5] ? atoi(f[5]) : 0;
        s->n++;
    }
    free(t);
}

static void test_evaluate_scores(void **state)
{
    (void)state;
    char test_p[4200], train_p[4200], csv[4200], png[4200], svg[4200], args[40000], *out, *err;
    snprintf(test_p, sizeof test_p, "%s/test.txt", tmp);
    snprintf(train_p, sizeof train_p, "%s/train.txt", tmp);
    snprintf(csv, sizeof csv, "%s/scores.csv", tmp);
    snprintf(png, sizeof png, "%s/roc.png", tmp);
    snprintf(svg, sizeof svg, "%s/roc.svg", tmp);
    small_pairs(tu_shared("lfw/pairsDevTest.txt"), test_p, 24, "Betsy_Coffin\t1\tGerard_Tronche\t1");
    small_pairs(tu_shared("lfw/pairsDevTrain.txt"), train_p, 30, NULL);
    const char *imgs = tu_shared("lfw/original-150");
    /* threshold from --train-pairs: accuracy is that of the threshold on the test rows */
    snprintf(args, sizeof args, "evaluate --no-detect %s --pairs %s --train-pairs %s --images %s --json --scores %s --plot %s",
             model, test_p, train_p, imgs, csv, png);
    assert_int_equal(run(args, &out, &err), 0);
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    free(out), free(err);
    scores s, tr;
    read_scores(csv, "test", &s);
    read_scores(csv, "train", &tr);
    assert_int_equal(s.n, 48);
    assert_int_equal(tr.n, 60);
    assert_int_equal(s.answered[47], 0); /* Betsy_Coffin_0001 is missing */
    int unanswered = 0;
    for (int i = 0; i < s.n; i++)
        unanswered += !s.answered[i];
    assert_int_equal(unanswered, (int)num(j, "skipped"));
    double thr = num(j, "threshold");
    long used = 0, correct = 0;
    for (int i = 0; i < s.n; i++)
        if (s.answered[i]) {
            used++;
            correct += ((double)s.dist[i] < thr) == s.same[i];
        }
    double acc = (double)correct / used;
    print_message("evaluate --scores: %ld of %ld correct at %.4f (evaluate: accuracy %.6f)\n", correct, used, thr,
                  num(j, "accuracy"));
    assert_true(acc == num(j, "accuracy"));
    /* the threshold evaluate reports is the best one on the train rows */
    double tthr, tacc;
    assert_int_equal(fn_eval_best_threshold(tr.dist, tr.same, tr.n, &tthr, &tacc, NULL), 0);
    assert_true(tthr == thr);
    double auc;
    assert_int_equal(fn_eval_auc(s.dist, s.same, s.n, &auc, NULL), 0);
    assert_true(fabs(auc - num(j, "auc")) < 1e-12);
    /* the figure's numbers */
    cJSON *m = png_meta(png);
    cairo_surface_destroy(png_open(png));
    assert_true(num(m, "threshold") == thr);
    assert_true(fabs(num(m, "auc") - auc) < 1e-12);
    assert_int_equal((int)num(m, "same") + (int)num(m, "different"), used);
    assert_int_equal((int)num(m, "skipped"), unanswered);
    cJSON_Delete(m);
    cJSON_Delete(j);
    /* k-fold: the CSV's folds are the consecutive split, and eval.h's k-fold on its
     * distances gives evaluate's accuracy */
    snprintf(args, sizeof args, "evaluate --no-detect %s --pairs %s --folds 4 --images %s --json --scores %s --plot %s --log-far",
             model, test_p, imgs, csv, svg);
    assert_int_equal(run(args, &out, &err), 0);
    j = cJSON_Parse(out);
    assert_non_null(j);
    free(out), free(err);
    read_scores(csv, "test", &s);
    read_scores(csv, "train", &tr);
    assert_int_equal(tr.n, 0);
    for (int i = 0; i < s.n; i++)
        assert_int_equal(s.fold[i], i / 12 + 1);
    double am, as, tm;
    assert_int_equal(fn_eval_kfold(s.dist, s.same, s.n, 4, &am, &as, &tm, NULL, NULL), 0);
    assert_true(am == num(j, "accuracy") && tm == num(j, "threshold"));
    const cJSON *proto = cJSON_GetObjectItem(j, "protocol"); /* says the folds it used */
    assert_true(cJSON_IsString(proto));
    assert_string_equal(proto->valuestring, "4-fold cross-validation on --pairs");
    m = svg_check(svg, 1);
    assert_true(num(m, "threshold") == tm);
    /* a plot name that is neither .png nor .svg fails before any image is read */
    char csv2[4300];
    snprintf(csv2, sizeof csv2, "%s/never.csv", tmp);
    snprintf(args, sizeof args, "evaluate %s --pairs %s --images %s --scores %s --plot %s/roc.gif", model, test_p, imgs,
             csv2, tmp);
    assert_int_equal(run(args, &out, &err), 2);
    assert_non_null(strstr(err, "roc.gif: a plot is written as .png or .svg"));
    assert_null(fopen(csv2, "r"));
    free(out), free(err);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(m, "log_far")));
    cJSON_Delete(m);
    cJSON_Delete(j);
}

/* ---- committed figures ---------------------------------------------------------- */

static void test_committed_figures(void **state)
{
    (void)state;
    static const char *const required[] = {"office_distances.png", "office_distances.svg", "lfw_roc.png"};
    for (size_t i = 0; i < sizeof required / sizeof *required; i++) {
        char p[256];
        snprintf(p, sizeof p, "docs/figures/%s", required[i]);
        FILE *f = fopen(p, "rb");
        if (!f)
            fail_msg("%s is missing (make docs writes it)", p);
        fclose(f);
    }
    DIR *d = opendir("docs/figures");
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        char p[512];
        snprintf(p, sizeof p, "docs/figures/%s", e->d_name);
        if (len > 4 && !strcmp(e->d_name + len - 4, ".png")) {
            cairo_surface_destroy(png_open(p));
            n++;
        } else if (len > 4 && !strcmp(e->d_name + len - 4, ".svg")) {
            svg_check(p, 0);
            n++;
        }
    }
    closedir(d);
    print_message("docs/figures: %d PNG and SVG files parse\n", n);
    assert_true(n >= 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distance_plot),
        cmocka_unit_test(test_evaluate_scores),
        cmocka_unit_test(test_committed_figures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
