/* test_detect_post.c - face detection pre/post-processing (app/detect.h) against
 * face-api 1.7.15's stage dumps of golden/faceapi-detect (wasm backend):
 *  - input tensors (SSD 512, tiny 416, landmarks 112, recognition 150) from the exact
 *    pixels 2007_007763.png, bit for bit;
 *  - SSD decoding of the dumped raw outputs with the dumped anchors: boxes and scores
 *    bit for bit (the brief asked 0.5 px and 1e-4);
 *  - SSD anchors generated from the TF OD API parameters: layer 0 bit for bit, the rest
 *    within 1 float32 ulp; the anchors file loads bit for bit;
 *  - SSD NMS + final boxes, tiny decoding + NMS: face-api's detections of ssd.json /
 *    tiny.json (measured: exactly equal; asserted within 1e-9 px and 1e-9 score);
 *  - landmark crops, decoding (relative points bit for bit, image points within
 *    1e-9 px), descriptor rects and crops for every face of ssd.json and tiny.json;
 *  - the 68 -> 5 points' pixel offset against dlib's shape predictor.
 * Robustness and hand-made NMS cases: test_detect_robust.c.
 * Each test prints what it measured. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "app/detect.h"
#include "io/image.h"
#include "lib/testutil.h"

#define DIR "golden/faceapi-detect/"
#define SSD_N 5118

static fn_image img; /* 2007_007763.png, 500x375 */

static float *read_f32(const char *rel, size_t count)
{
    size_t len;
    float *v = (float *)tu_read_must(tu_shared(rel), &len);
    if (len != count * sizeof(float))
        fail_msg("%s: %zu bytes, expected %zu floats", rel, len, count);
    return v;
}

/* Count of differing values and the largest difference. */
static double compare(const float *got, const float *want, size_t n, size_t *ndiff)
{
    double m = 0;
    *ndiff = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (memcmp(&got[i], &want[i], sizeof(float)) != 0)
            (*ndiff)++;
        if (!(d <= m))
            m = d;
    }
    return m;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *it = cJSON_GetObjectItem(o, key);
    if (!cJSON_IsNumber(it))
        fail_msg("JSON: no number \"%s\"", key);
    return it->valuedouble;
}

static fn_box json_box(const cJSON *o)
{
    fn_box b = {num(o, "x"), num(o, "y"), num(o, "width"), num(o, "height")};
    return b;
}

static void assert_irect(const fn_irect *r, const cJSON *o)
{
    assert_int_equal(r->x, (int)num(o, "x"));
    assert_int_equal(r->y, (int)num(o, "y"));
    assert_int_equal(r->width, (int)num(o, "width"));
    assert_int_equal(r->height, (int)num(o, "height"));
}

static double box_diff(const fn_box *a, const fn_box *b)
{
    double d = fabs(a->x - b->x);
    d = fmax(d, fabs(a->y - b->y));
    d = fmax(d, fabs(a->width - b->width));
    return fmax(d, fabs(a->height - b->height));
}

/* The faces of 2007_007763 in ssd.json or tiny.json (the caller deletes *root). */
static const cJSON *golden_faces(const char *json, cJSON **root)
{
    *root = tu_read_json(tu_shared(json));
    assert_non_null(*root);
    const cJSON *im = cJSON_GetObjectItem(cJSON_GetObjectItem(*root, "images"), "2007_007763");
    assert_non_null(im);
    return cJSON_GetObjectItem(im, "faces");
}

static int setup(void **state)
{
    (void)state;
    fn_err err = {0};
    if (fn_image_load(tu_shared(DIR "2007_007763.png"), 0, &img, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fn_image_free(&img);
    return 0;
}

static void check_input(const fn_det_input_params *p, const fn_irect *crop, const char *rel,
                        const char *what)
{
    size_t n = (size_t)p->size * p->size * 3, nd;
    float *want = read_f32(rel, n), *got = malloc(n * sizeof *got);
    assert_non_null(got);
    fn_err err = {0};
    if (fn_det_input_tensor(&img, crop, p, got, &err))
        fail_msg("%s", err.msg);
    double m = compare(got, want, n, &nd);
    print_message("%s: %zu of %zu values differ, max |diff| %.3g\n", what, nd, n, m);
    assert_int_equal(nd, 0); /* bit-exact */
    free(got);
    free(want);
}

static void test_input_tensors(void **state)
{
    (void)state;
    fn_det_input_params p;
    fn_det_input_ssd_default(&p);
    check_input(&p, NULL, DIR "dump-ssd/ssd_input.f32", "SSD input 512");
    fn_det_input_tiny_default(&p);
    check_input(&p, NULL, DIR "dump-tiny/tiny_input.f32", "tiny input 416");
}

static void test_ssd_decode(void **state)
{
    (void)state;
    float *enc = read_f32(DIR "dump-ssd/ssd_box_encodings.f32", SSD_N * 4);
    float *logits = read_f32(DIR "dump-ssd/ssd_class_predictions.f32", SSD_N * 3);
    float *anchors = read_f32(DIR "dump-ssd/ssd_anchors.f32", SSD_N * 4);
    float *wboxes = read_f32(DIR "dump-ssd/ssd_boxes.f32", SSD_N * 4);
    float *wscores = read_f32(DIR "dump-ssd/ssd_scores.f32", SSD_N);
    float *boxes = malloc(sizeof(float) * SSD_N * 4), *scores = malloc(sizeof(float) * SSD_N);
    assert_true(boxes && scores);
    fn_ssd_params p;
    fn_ssd_default(&p);
    fn_ssd_decode(enc, logits, anchors, SSD_N, &p, boxes, scores);
    size_t nb, ns;
    double mb = compare(boxes, wboxes, SSD_N * 4, &nb), ms = compare(scores, wscores, SSD_N, &ns);
    print_message("SSD decode: boxes %zu of %d differ, max %.3g relative (%.3g px at 500 px); "
                  "scores %zu of %d differ, max %.3g\n",
                  nb, SSD_N * 4, mb, mb * 500, ns, SSD_N, ms);
    assert_true(mb * 500 <= 0.5); /* the brief's bounds ... */
    assert_true(ms <= 1e-4);
    assert_int_equal(nb, 0);      /* ... and what we measure: bit-exact */
    assert_int_equal(ns, 0);
    /* the plain formula stays within 1 ulp of XNNPACK's sigmoid */
    double mn = 0;
    for (int i = 0; i < SSD_N; i++)
        mn = fmax(mn, fabs(1.0 / (1.0 + exp(-(double)logits[3 * i + 1])) - scores[i]));
    print_message("SSD scores: max |1/(1+exp(-x)) - XNNPACK sigmoid| %.3g\n", mn);
    assert_true(mn <= 1.2e-7);
    free(enc);
    free(logits);
    free(anchors);
    free(wboxes);
    free(wscores);
    free(boxes);
    free(scores);
}

static void check_detections(const fn_detection *d, int n, const cJSON *faces, double tol,
                             const char *what)
{
    assert_int_equal(n, cJSON_GetArraySize(faces));
    double mb = 0, ms = 0;
    for (int k = 0; k < n; k++) {
        const cJSON *f = cJSON_GetArrayItem(faces, k);
        fn_box want = json_box(cJSON_GetObjectItem(f, "box"));
        mb = fmax(mb, box_diff(&d[k].box, &want));
        ms = fmax(ms, fabs(d[k].score - num(f, "score")));
    }
    print_message("%s: %d faces, max box diff %.3g px, max score diff %.3g\n", what, n, mb, ms);
    assert_true(mb <= tol);
    assert_true(ms <= tol);
}

static void test_ssd_nms_final(void **state)
{
    (void)state;
    float *wboxes = read_f32(DIR "dump-ssd/ssd_boxes.f32", SSD_N * 4);
    float *wscores = read_f32(DIR "dump-ssd/ssd_scores.f32", SSD_N);
    cJSON *root;
    const cJSON *faces = golden_faces(DIR "ssd.json", &root);
    fn_ssd_params p;
    fn_ssd_default(&p);
    fn_err err = {0};
    int keep[100], nk;
    if (fn_ssd_nms(wboxes, wscores, SSD_N, &p, keep, &nk, &err))
        fail_msg("%s", err.msg);
    fn_detection d[100];
    for (int k = 0; k < nk; k++) {
        d[k].score = wscores[keep[k]];
        fn_ssd_final_box(wboxes + 4 * keep[k], img.w, img.h, &p, &d[k].box);
    }
    check_detections(d, nk, faces, 1e-9, "SSD NMS + final boxes from the dumped boxes");

    /* the whole chain from the raw outputs */
    float *enc = read_f32(DIR "dump-ssd/ssd_box_encodings.f32", SSD_N * 4);
    float *logits = read_f32(DIR "dump-ssd/ssd_class_predictions.f32", SSD_N * 3);
    float *anchors = read_f32(DIR "dump-ssd/ssd_anchors.f32", SSD_N * 4);
    float *boxes = malloc(sizeof(float) * SSD_N * 4), *scores = malloc(sizeof(float) * SSD_N);
    assert_true(boxes && scores);
    int nd;
    if (fn_ssd_postprocess(enc, logits, anchors, SSD_N, img.w, img.h, &p, boxes, scores, d, &nd,
                           &err))
        fail_msg("%s", err.msg);
    check_detections(d, nd, faces, 1e-9, "SSD postprocess from the raw outputs");
    cJSON_Delete(root);
    free(enc);
    free(logits);
    free(anchors);
    free(boxes);
    free(scores);
    free(wboxes);
    free(wscores);
}

static void test_tiny_decode_nms(void **state)
{
    (void)state;
    float *raw = read_f32(DIR "dump-tiny/tiny_output.f32", 13 * 13 * 25);
    cJSON *root;
    const cJSON *faces = golden_faces(DIR "tiny.json", &root);
    fn_tiny_params p;
    fn_tiny_default(&p);
    fn_detection cands[13 * 13 * 5], d[13 * 13 * 5];
    int keep[13 * 13 * 5], nd;
    fn_err err = {0};
    if (fn_tiny_postprocess(raw, 13, img.w, img.h, &p, cands, keep, d, &nd, &err))
        fail_msg("%s", err.msg);
    check_detections(d, nd, faces, 1e-9, "tiny decode + NMS");
    cJSON_Delete(root);
    free(raw);
}

/* Landmark stage of dumped face k: crop, 112 input, decoding; descriptor rect, crop and
 * the 150 input.  dump: "dump-ssd" or "dump-tiny"; faces: that detector's JSON faces. */
static void check_face_dump(const char *dump, const cJSON *faces, int k, double *mpt)
{
    char rel[256], what[128];
    const cJSON *f = cJSON_GetArrayItem(faces, k);
    assert_non_null(f);
    fn_detection det = {num(f, "score"), json_box(cJSON_GetObjectItem(f, "box"))};
    const cJSON *crops = cJSON_GetObjectItem(f, "crops");
    fn_err err = {0};
    fn_irect crop;
    if (fn_landmark_crop(&det, img.w, img.h, &crop, &err))
        fail_msg("%s", err.msg);
    assert_irect(&crop, cJSON_GetObjectItem(crops, "landmark"));

    fn_det_input_params p;
    fn_det_input_landmarks_default(&p);
    snprintf(rel, sizeof rel, DIR "%s/face%d_landmark_input.f32", dump, k);
    snprintf(what, sizeof what, "%s face %d landmark input 112", dump, k);
    check_input(&p, &crop, rel, what);

    snprintf(rel, sizeof rel, DIR "%s/face%d_landmark_output.f32", dump, k);
    float *raw = read_f32(rel, 136);
    snprintf(rel, sizeof rel, DIR "%s/face%d_landmark_relative.f32", dump, k);
    float *want_rel = read_f32(rel, 136);
    float rel_pts[136];
    double pts[136];
    if (fn_landmarks_decode(raw, &crop, &det.box, 112, rel_pts, pts, &err))
        fail_msg("%s", err.msg);
    size_t nd;
    double m = compare(rel_pts, want_rel, 136, &nd);
    print_message("%s face %d relative landmarks: %zu of 136 differ, max %.3g\n", dump, k, nd, m);
    assert_int_equal(nd, 0);
    const cJSON *lm = cJSON_GetObjectItem(f, "landmarks");
    assert_int_equal(cJSON_GetArraySize(lm), 68);
    double mp = 0;
    for (int i = 0; i < 68; i++)
        for (int c = 0; c < 2; c++)
            mp = fmax(mp, fabs(pts[2 * i + c] -
                               cJSON_GetArrayItem(cJSON_GetArrayItem(lm, i), c)->valuedouble));
    *mpt = fmax(*mpt, mp);

    fn_box drect;
    if (fn_descriptor_rect(pts, crop.width, crop.height, &drect, &err))
        fail_msg("%s", err.msg);
    fn_box want_d = json_box(cJSON_GetObjectItem(f, "descriptor_rect"));
    assert_true(box_diff(&drect, &want_d) == 0);
    fn_irect dcrop;
    if (fn_clip_box(&drect, img.w, img.h, &dcrop, &err))
        fail_msg("%s", err.msg);
    assert_irect(&dcrop, cJSON_GetObjectItem(crops, "descriptor"));
    fn_det_input_recognition_default(&p);
    snprintf(rel, sizeof rel, DIR "%s/face%d_recognition_input.f32", dump, k);
    snprintf(what, sizeof what, "%s face %d recognition input 150", dump, k);
    check_input(&p, &dcrop, rel, what);
    free(raw);
    free(want_rel);
}

static void test_landmark_dumps(void **state)
{
    (void)state;
    cJSON *root;
    double mp = 0;
    const cJSON *faces = golden_faces(DIR "ssd.json", &root);
    for (int k = 0; k < 3; k++)
        check_face_dump("dump-ssd", faces, k, &mp);
    cJSON_Delete(root);
    faces = golden_faces(DIR "tiny.json", &root);
    for (int k = 0; k < 2; k++)
        check_face_dump("dump-tiny", faces, k, &mp);
    cJSON_Delete(root);
    print_message("landmarks in image px vs ssd.json/tiny.json: max diff %.3g px\n", mp);
    assert_true(mp <= 1e-9);
}

/* Every face of ssd.json and tiny.json (67 + 46 on 12 images): the landmark crop from
 * the box, the descriptor rect from the 68 points and its crop. */
static void test_all_json_faces(void **state)
{
    (void)state;
    const char *files[2] = {DIR "ssd.json", DIR "tiny.json"};
    for (int fi = 0; fi < 2; fi++) {
        cJSON *root = tu_read_json(tu_shared(files[fi])), *im;
        assert_non_null(root);
        int count = 0;
        cJSON_ArrayForEach(im, cJSON_GetObjectItem(root, "images"))
        {
            int w = (int)num(im, "width"), h = (int)num(im, "height");
            const cJSON *f;
            cJSON_ArrayForEach(f, cJSON_GetObjectItem(im, "faces"))
            {
                fn_detection det = {num(f, "score"), json_box(cJSON_GetObjectItem(f, "box"))};
                const cJSON *crops = cJSON_GetObjectItem(f, "crops");
                fn_err err = {0};
                fn_irect crop, dcrop;
                if (fn_landmark_crop(&det, w, h, &crop, &err))
                    fail_msg("%s: %s", im->string, err.msg);
                assert_irect(&crop, cJSON_GetObjectItem(crops, "landmark"));
                double pts[136];
                const cJSON *lm = cJSON_GetObjectItem(f, "landmarks");
                for (int i = 0; i < 68; i++)
                    for (int c = 0; c < 2; c++)
                        pts[2 * i + c] =
                            cJSON_GetArrayItem(cJSON_GetArrayItem(lm, i), c)->valuedouble;
                fn_box drect;
                if (fn_descriptor_rect(pts, crop.width, crop.height, &drect, &err) ||
                    fn_clip_box(&drect, w, h, &dcrop, &err))
                    fail_msg("%s: %s", im->string, err.msg);
                fn_box want_d = json_box(cJSON_GetObjectItem(f, "descriptor_rect"));
                if (box_diff(&drect, &want_d) != 0)
                    fail_msg("%s face %d: descriptor rect (%g, %g, %g, %g), face-api (%g, %g, "
                             "%g, %g)",
                             im->string, count, drect.x, drect.y, drect.width, drect.height,
                             want_d.x, want_d.y, want_d.width, want_d.height);
                assert_irect(&dcrop, cJSON_GetObjectItem(crops, "descriptor"));
                count++;
            }
        }
        print_message("%s: %d faces: landmark crops and descriptor rects/crops equal\n",
                      files[fi], count);
        assert_int_equal(count, fi == 0 ? 67 : 46);
        cJSON_Delete(root);
    }
}

static void test_ssd_anchors(void **state)
{
    (void)state;
    float *want = read_f32(DIR "dump-ssd/ssd_anchors.f32", SSD_N * 4);
    fn_ssd_anchor_params ap;
    fn_ssd_anchor_default(&ap);
    size_t n;
    fn_err err = {0};
    if (fn_ssd_anchor_count(&ap, &n, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(n, SSD_N);
    float *gen = malloc(sizeof(float) * SSD_N * 4), *loaded = malloc(sizeof(float) * SSD_N * 4);
    assert_true(gen && loaded);
    if (fn_ssd_anchors_generate(&ap, gen, n, &err))
        fail_msg("%s", err.msg);
    size_t nd, nd0;
    double m = compare(gen, want, SSD_N * 4, &nd);
    compare(gen, want, 3072 * 4, &nd0);
    print_message("SSD anchors generated: %zu of %d values differ (layer 0: %zu), max %.3g\n",
                  nd, SSD_N * 4, nd0, m);
    assert_int_equal(nd0, 0);  /* layer 0: bit-exact */
    assert_true(m <= 1.2e-7);  /* others: 1 ulp (TensorFlow's approximate sqrt) */

    /* the file format: raw float32 [N,4]; the dump is that file */
    if (fn_ssd_anchors_load(tu_shared(DIR "dump-ssd/ssd_anchors.f32"), n, loaded, &err))
        fail_msg("%s", err.msg);
    assert_memory_equal(loaded, want, sizeof(float) * SSD_N * 4);
    assert_int_equal(fn_ssd_anchors_load(tu_shared(DIR "dump-ssd/ssd_anchors.f32"), n - 1,
                                         loaded, &err), -1);
    assert_non_null(strstr(err.msg, "ssd_anchors.f32"));
    assert_int_equal(fn_ssd_anchors_load(tu_shared(DIR "dump-ssd/ssd_scores.f32"), n, loaded,
                                         &err), -1);
    print_message("wrong anchors file: %s\n", err.msg);

    /* detections with the generated anchors */
    float *enc = read_f32(DIR "dump-ssd/ssd_box_encodings.f32", SSD_N * 4);
    float *logits = read_f32(DIR "dump-ssd/ssd_class_predictions.f32", SSD_N * 3);
    float *boxes = malloc(sizeof(float) * SSD_N * 4), *scores = malloc(sizeof(float) * SSD_N);
    assert_true(boxes && scores);
    fn_ssd_params p;
    fn_ssd_default(&p);
    fn_detection d[100];
    int nd2;
    if (fn_ssd_postprocess(enc, logits, gen, SSD_N, img.w, img.h, &p, boxes, scores, d, &nd2,
                           &err))
        fail_msg("%s", err.msg);
    cJSON *root;
    const cJSON *faces = golden_faces(DIR "ssd.json", &root);
    check_detections(d, nd2, faces, 1e-3, "SSD postprocess with generated anchors");
    cJSON_Delete(root);
    free(enc);
    free(logits);
    free(boxes);
    free(scores);
    free(gen);
    free(loaded);
    free(want);
}

/* dlib's 68 points for the faces of its example photos (*_with_face_landmarks.xml). */
typedef struct {
    char image[64];
    double pts[136];
} xml_face;

static int read_dlib_xml(const char *rel, xml_face *out, int cap)
{
    char *text = tu_read(tu_shared(rel), NULL);
    assert_non_null(text);
    int n = 0;
    char image[64] = "";
    for (char *p = text; (p = strchr(p, '<')) != NULL; p++) {
        char file[64];
        int part, x, y;
        if (sscanf(p, "<image file='%63[^'.]", file) == 1) {
            snprintf(image, sizeof image, "%s", file);
        } else if (strncmp(p, "<box ", 5) == 0) {
            assert_true(n < cap);
            snprintf(out[n].image, sizeof out[n].image, "%s", image);
            for (int i = 0; i < 136; i++)
                out[n].pts[i] = NAN;
            n++;
        } else if (sscanf(p, "<part name='%d' x='%d' y='%d'", &part, &x, &y) == 3 && n > 0 &&
                   part >= 0 && part < 68) {
            out[n - 1].pts[2 * part] = x;
            out[n - 1].pts[2 * part + 1] = y;
        }
    }
    free(text);
    return n;
}

/* The default pixel offset of fn_landmarks68_to5: mean 5-point error (over the outer
 * eye-corner distance) of face-api's landmarks against dlib's shape predictor, with
 * offsets 0 and 0.5, on the annotated faces each detector found (matched by the mean
 * distance of the 68 points, < 0.3 of the eye-corner distance). */
static void test_landmark_offset_vs_dlib(void **state)
{
    (void)state;
    static xml_face gt[64];
    int ng = read_dlib_xml("images/dlib-faces/training_with_face_landmarks.xml", gt, 64);
    ng += read_dlib_xml("images/dlib-faces/testing_with_face_landmarks.xml", gt + ng, 64 - ng);
    assert_int_equal(ng, 43);
    const char *files[2] = {DIR "ssd.json", DIR "tiny.json"};
    for (int fi = 0; fi < 2; fi++) {
        cJSON *root = tu_read_json(tu_shared(files[fi]));
        assert_non_null(root);
        double err_sum[2] = {0, 0}, dx = 0, dy = 0;
        int nf = 0;
        for (int g = 0; g < ng; g++) {
            const cJSON *im = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "images"), gt[g].image);
            assert_non_null(im);
            const double *G = gt[g].pts;
            double iod = hypot(G[72] - G[90], G[73] - G[91]);
            double best = 1e300, bp[136];
            const cJSON *f;
            cJSON_ArrayForEach(f, cJSON_GetObjectItem(im, "faces"))
            {
                double pts[136], d = 0;
                for (int i = 0; i < 68; i++) {
                    const cJSON *pt = cJSON_GetArrayItem(cJSON_GetObjectItem(f, "landmarks"), i);
                    pts[2 * i] = cJSON_GetArrayItem(pt, 0)->valuedouble;
                    pts[2 * i + 1] = cJSON_GetArrayItem(pt, 1)->valuedouble;
                    d += hypot(pts[2 * i] - G[2 * i], pts[2 * i + 1] - G[2 * i + 1]) / 68;
                }
                if (d < best)
                    best = d, memcpy(bp, pts, sizeof bp);
            }
            if (!(best < 0.3 * iod))
                continue;
            for (int i = 0; i < 68; i++)
                dx += bp[2 * i] - G[2 * i], dy += bp[2 * i + 1] - G[2 * i + 1];
            double want[10], got[10];
            fn_err err = {0};
            if (fn_landmarks68_to5(G, 0, want, &err))
                fail_msg("%s", err.msg);
            for (int o = 0; o < 2; o++) {
                if (fn_landmarks68_to5(bp, o * 0.5, got, &err))
                    fail_msg("%s", err.msg);
                for (int k = 0; k < 5; k++)
                    err_sum[o] += hypot(got[2 * k] - want[2 * k], got[2 * k + 1] - want[2 * k + 1]) /
                                  5 / iod;
            }
            nf++;
        }
        print_message("%s: %d faces: 5-point error / eye-corner distance: offset 0: %.4f, "
                      "offset 0.5: %.4f; mean face-api - dlib: dx %.3f dy %.3f px\n",
                      files[fi], nf, err_sum[0] / nf, err_sum[1] / nf, dx / (68.0 * nf),
                      dy / (68.0 * nf));
        assert_int_equal(nf, fi == 0 ? 42 : 28);
        assert_true(err_sum[0] < err_sum[1]); /* offset 0 (the default) is the better one */
        cJSON_Delete(root);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_input_tensors),
        cmocka_unit_test(test_ssd_decode),
        cmocka_unit_test(test_ssd_nms_final),
        cmocka_unit_test(test_tiny_decode_nms),
        cmocka_unit_test(test_landmark_dumps),
        cmocka_unit_test(test_all_json_faces),
        cmocka_unit_test(test_ssd_anchors),
        cmocka_unit_test(test_landmark_offset_vs_dlib),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
