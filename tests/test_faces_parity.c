/* test_faces_parity.c - the whole pipeline of app/faces.h (detection, 68 landmarks,
 * face-api's descriptor crop, the dlib ResNet) on the 12 photos of
 * images/dlib-faces against face-api 1.7.15's own results (golden/faceapi-detect
 * ssd.json and tiny.json, computed on Pillow's decode of the same JPEGs, which
 * src/io/image.c reproduces):
 *  - the same number of faces on every photo;
 *  - each face-api box matched by one of ours with IoU >= 0.98;
 *  - its 68 landmarks within 1 px;
 *  - its descriptor (weights/dlib-resnet on FN_CHIP_FACEAPI) within 1e-3 per value;
 * and detection precision / recall of the SSD against dlib's annotated boxes
 * (training.xml + testing.xml, 43 faces on 9 photos, greedy matching by descending
 * score at IoU >= 0.5): at least face-api's 1.000 / 0.977.  dogs.jpg (no human face)
 * is reported, not asserted.  Each test prints what it measured.
 * weights/ must exist (`make test` runs `make weights` first). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "app/encoder.h"
#include "app/faces.h"
#include "io/image.h"
#include "lib/testutil.h"

#define MAX_IMAGES 16
#define MAX_GT 64

static fn_encoder enc;

typedef struct {
    char name[64];
    fn_face_list faces;
} image_result;

/* SSD results, kept for the precision / recall test */
static image_result ssd_results[MAX_IMAGES];
static int n_ssd_results;

static double num(const cJSON *o, const char *key)
{
    const cJSON *it = cJSON_GetObjectItem(o, key);
    if (!cJSON_IsNumber(it))
        fail_msg("JSON: no number \"%s\"", key);
    return it->valuedouble;
}

static double iou(const fn_box *a, const fn_box *b)
{
    double x0 = fmax(a->x, b->x), y0 = fmax(a->y, b->y);
    double x1 = fmin(a->x + a->width, b->x + b->width);
    double y1 = fmin(a->y + a->height, b->y + b->height);
    double inter = x1 > x0 && y1 > y0 ? (x1 - x0) * (y1 - y0) : 0;
    double u = a->width * a->height + b->width * b->height - inter;
    return u > 0 ? inter / u : 0;
}

static int setup(void **state)
{
    (void)state;
    fn_err err = {0};
    if (fn_encoder_open(&enc, "weights/dlib-resnet/model.json", "weights/dlib-resnet/model.h5",
                        "weights/dlib-resnet/facenet.json", &err)) {
        fprintf(stderr, "%s (run `make weights`)\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fn_encoder_close(&enc);
    for (int i = 0; i < n_ssd_results; i++)
        fn_face_list_free(&ssd_results[i].faces);
    return 0;
}

static fn_faces *open_detector(const char *det_dir)
{
    fn_faces_opts o;
    fn_faces_opts_default(&o, "weights");
    o.detector_dir = det_dir;
    fn_faces *d;
    fn_err err = {0};
    if (fn_faces_open(&d, &o, &err))
        fail_msg("%s (run `make weights`)", err.msg);
    return d;
}

typedef struct {
    int faces;
    double min_iou, max_lm, max_desc;
} parity;

/* One photo: our faces against face-api's (`want`, the image's "faces" array). */
static void check_image(const char *name, const fn_image *img, const fn_face_list *got,
                        const cJSON *want, parity *m)
{
    int nw = cJSON_GetArraySize(want);
    if (got->n != nw)
        fail_msg("%s: %d faces, face-api found %d", name, got->n, nw);
    int used[256] = {0};
    for (int k = 0; k < nw; k++) {
        const cJSON *f = cJSON_GetArrayItem(want, k), *b = cJSON_GetObjectItem(f, "box");
        fn_box wb = {num(b, "x"), num(b, "y"), num(b, "width"), num(b, "height")};
        int best = -1;
        double bi = -1;
        for (int j = 0; j < got->n; j++) {
            double v = iou(&got->face[j].box, &wb);
            if (!used[j] && v > bi)
                bi = v, best = j;
        }
        if (!(bi >= 0.98))
            fail_msg("%s: face-api's face %d (%.1f, %.1f) has no box of ours with IoU >= 0.98 "
                     "(best %.4f)", name, k, wb.x, wb.y, bi);
        used[best] = 1;
        m->min_iou = fmin(m->min_iou, bi);
        const fn_face *g = &got->face[best];
        const cJSON *lm = cJSON_GetObjectItem(f, "landmarks");
        assert_int_equal(cJSON_GetArraySize(lm), 68);
        for (int p = 0; p < 68; p++) {
            const cJSON *pt = cJSON_GetArrayItem(lm, p);
            double dx = g->landmarks[2 * p] - cJSON_GetArrayItem(pt, 0)->valuedouble;
            double dy = g->landmarks[2 * p + 1] - cJSON_GetArrayItem(pt, 1)->valuedouble;
            m->max_lm = fmax(m->max_lm, hypot(dx, dy));
        }
        size_t nd;
        float *wd = tu_json_floats(cJSON_GetObjectItem(f, "descriptor"), &nd);
        assert_int_equal(nd, 128);
        float emb[128];
        fn_err err = {0};
        if (fn_faces_encode(&enc, img, name, g, FN_CHIP_FACEAPI, emb, &err))
            fail_msg("%s", err.msg);
        m->max_desc = fmax(m->max_desc, tu_maxdiff(emb, wd, 128));
        free(wd);
    }
    m->faces += nw;
}

/* Every photo of golden `json` through our pipeline with the detector in det_dir. */
static void run_parity(const char *json, const char *det_dir, int keep)
{
    cJSON *root = tu_read_json(tu_shared(json));
    assert_non_null(root);
    fn_faces *det = open_detector(det_dir);
    parity m = {0, 1, 0, 0};
    int nimg = 0;
    const cJSON *im;
    cJSON_ArrayForEach(im, cJSON_GetObjectItem(root, "images"))
    {
        char rel[256];
        snprintf(rel, sizeof rel, "images/dlib-faces/%s.jpg", im->string);
        fn_image img = {0};
        fn_face_list faces = {0};
        fn_err err = {0};
        if (fn_image_load(tu_shared(rel), 0, &img, &err) ||
            fn_faces_detect(det, &img, rel, &faces, &err))
            fail_msg("%s", err.msg);
        check_image(im->string, &img, &faces, cJSON_GetObjectItem(im, "faces"), &m);
        if (keep && n_ssd_results < MAX_IMAGES) {
            image_result *r = &ssd_results[n_ssd_results++];
            snprintf(r->name, sizeof r->name, "%s", im->string);
            r->faces = faces;
        } else {
            fn_face_list_free(&faces);
        }
        fn_image_free(&img);
        nimg++;
    }
    print_message("%s (%s): %d photos, %d faces, same count on every photo; min box IoU %.6f, "
                  "max landmark distance %.3g px, max descriptor |diff| %.3g\n",
                  json, det_dir, nimg, m.faces, m.min_iou, m.max_lm, m.max_desc);
    assert_int_equal(nimg, 12);
    assert_true(m.max_lm <= 1.0);
    assert_true(m.max_desc <= 1e-3);
    fn_faces_close(det);
    cJSON_Delete(root);
}

static void test_ssd_parity(void **state)
{
    (void)state;
    run_parity("golden/faceapi-detect/ssd.json", "weights/ssd-mobilenetv1", 1);
}

static void test_tiny_parity(void **state)
{
    (void)state;
    run_parity("golden/faceapi-detect/tiny.json", "weights/tiny-face-detector", 0);
}

/* dlib imglab boxes: file name (without .jpg) and [left, left+width) x [top, top+height). */
typedef struct {
    char image[64];
    fn_box box;
} gt_box;

static int read_boxes(const char *rel, gt_box *out, int n, int cap)
{
    char *text = tu_read(tu_shared(rel), NULL);
    assert_non_null(text);
    char image[64] = "";
    for (char *p = text; (p = strchr(p, '<')) != NULL; p++) {
        char file[64];
        int top, left, w, h;
        if (sscanf(p, "<image file='%63[^'.]", file) == 1) {
            snprintf(image, sizeof image, "%s", file);
        } else if (sscanf(p, "<box top='%d' left='%d' width='%d' height='%d'", &top, &left, &w,
                          &h) == 4) {
            assert_true(n < cap);
            snprintf(out[n].image, sizeof out[n].image, "%s", image);
            out[n].box = (fn_box){left, top, w, h};
            n++;
        }
    }
    free(text);
    return n;
}

/* Greedy matching by descending score (as eval-dlib.json): tp, detections, on the
 * annotated photos only. */
static void match_image(const image_result *r, const gt_box *gt, int ng, int *tp, int *ndet,
                        int *ngt)
{
    int taken[MAX_GT] = {0}, any = 0;
    for (int g = 0; g < ng; g++)
        if (!strcmp(gt[g].image, r->name))
            any = 1, (*ngt)++;
    if (!any)
        return;
    for (int k = 0; k < r->faces.n; k++) { /* faces are in decreasing score */
        int best = -1;
        double bi = 0.5;
        for (int g = 0; g < ng; g++) {
            double v = iou(&r->faces.face[k].box, &gt[g].box);
            if (!taken[g] && !strcmp(gt[g].image, r->name) && v >= bi)
                bi = v, best = g;
        }
        if (best >= 0)
            taken[best] = 1, (*tp)++;
        (*ndet)++;
    }
}

static void test_precision_recall(void **state)
{
    (void)state;
    if (n_ssd_results == 0)
        test_ssd_parity(state);
    static gt_box gt[MAX_GT];
    int ng = read_boxes("images/dlib-faces/training.xml", gt, 0, MAX_GT);
    ng = read_boxes("images/dlib-faces/testing.xml", gt, ng, MAX_GT);
    assert_int_equal(ng, 43);
    int tp = 0, ndet = 0, ngt = 0;
    for (int i = 0; i < n_ssd_results; i++) {
        match_image(&ssd_results[i], gt, ng, &tp, &ndet, &ngt);
        if (!strcmp(ssd_results[i].name, "dogs")) {
            const fn_face_list *f = &ssd_results[i].faces;
            print_message("dogs.jpg: %d detection(s)", f->n);
            for (int k = 0; k < f->n; k++)
                print_message("%s %.0fx%.0f at (%.0f, %.0f), score %.3f", k ? "," : ":",
                              f->face[k].box.width, f->face[k].box.height, f->face[k].box.x,
                              f->face[k].box.y, f->face[k].score);
            print_message("\n");
        }
    }
    double precision = ndet ? (double)tp / ndet : 0, recall = (double)tp / ngt;
    print_message("SSD vs dlib's boxes (IoU >= 0.5): %d of %d detections match, %d of %d faces "
                  "found: precision %.3f, recall %.3f (face-api: 1.000, 0.977)\n",
                  tp, ndet, tp, ngt, precision, recall);
    assert_int_equal(ngt, 43);
    assert_true(precision >= 1.0);
    assert_true(recall >= 42.0 / 43 - 1e-12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ssd_parity),
        cmocka_unit_test(test_tiny_parity),
        cmocka_unit_test(test_precision_recall),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
