/* test_profile_align.c - facenet.json profiles, image -> input tensor
 * (bit-exact against the Keras and face-api tensors), the similarity fit,
 * face alignment (synthetic and the 24 golden LFW chips) and landmark files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "app/align.h"
#include "app/profile.h"
#include "io/image.h"
#include "io/landmarks.h"
#include "lib/testutil.h"

static char tmpdir[64];

/* The profile a converted face-api/dlib ResNet model carries.  The template
 * is fn_align_dlib_template(150, 0.25) printed with %.17g. */
static const char faceapi_profile[] =
    "{\n"
    "  \"input_size\": [150, 150],\n"
    "  \"resize\": \"bilinear\",\n"
    "  \"mean\": [122.782, 117.001, 104.298],\n"
    "  \"std\": 255,\n"
    "  \"threshold\": 0.6,\n"
    "  \"align_mode\": \"dlib\",\n"
    "  \"align_template\": [47.549183333333332, 46.599033333333345,\n"
    "                      100.47613333333332, 46.599033333333324,\n"
    "                      74.012699999999995, 76.5625,\n"
    "                      50.414899999999996, 103.02329999999999,\n"
    "                      97.610399999999998, 103.02329999999999]\n"
    "}\n";

/* ------------------------------------------------------------ helpers */

static cJSON *load_json(const char *rel)
{
    char *path = tu_shared_dup(rel);
    size_t len;
    char *text = (char *)tu_read_must(path, &len);
    cJSON *j = cJSON_Parse(text);
    if (!j)
        fail_msg("%s: not JSON", path);
    free(text);
    free(path);
    return j;
}

static void load_ok(const char *path, fn_image *img)
{
    fn_err err;
    fn_err_clear(&err);
    if (fn_image_load(path, 0, img, &err) != 0)
        fail_msg("%s", err.msg);
}

/* Count float32 values of out that differ bitwise from the .f32 file. */
static int f32_mismatches(const float *out, size_t n, const char *path)
{
    size_t len;
    unsigned char *g = tu_read_must(path, &len);
    assert_int_equal(len, n * 4);
    int bad = 0;
    for (size_t k = 0; k < n; k++)
        bad += memcmp(&out[k], g + 4 * k, 4) != 0;
    free(g);
    return bad;
}

static void parse_ok(const char *json, int mh, int mw, fn_profile *p)
{
    fn_err err;
    fn_err_clear(&err);
    if (fn_profile_parse(json, "test.json", mh, mw, p, &err) != 0)
        fail_msg("%s", err.msg);
}

/* ----------------------------------------------------------- profiles */

static void test_profile_defaults(void **state)
{
    (void)state;
    fn_profile p;
    fn_err err;
    assert_int_equal(fn_profile_load(tu_path_in(tmpdir, "absent/facenet.json"), 0, 0, &p, &err), 0);
    assert_int_equal(p.in_h, 160);
    assert_int_equal(p.in_w, 160);
    assert_int_equal(p.resize, FN_RESIZE_NEAREST);
    assert_int_equal(p.pad_to_square, FN_PAD_NONE);
    for (int c = 0; c < 3; c++) {
        assert_true(p.mean[c] == 0.0f);
        assert_true(p.std[c] == 255.0f);
    }
    assert_int_equal(p.use_scale, 0);
    assert_int_equal(p.bgr, 0);
    assert_true(p.threshold == 0.7f);
    assert_int_equal(p.l2_normalize, 1);
    assert_int_equal(p.has_template, 0);
    assert_int_equal(p.align_mode, FN_ALIGN_SIMILARITY);
    assert_int_equal(fn_profile_load(tu_path_in(tmpdir, "absent.json"), 150, 120, &p, &err), 0);
    assert_int_equal(p.in_h, 150);
    assert_int_equal(p.in_w, 120);
    parse_ok("{}", 96, 96, &p);
    assert_int_equal(p.in_h, 96);
    /* the default template is the scaled ArcFace one (see align.h) */
    double t[10];
    fn_profile_template(&p, t);
    double d[10];
    fn_align_default_template(96, 96, d);
    assert_memory_equal(t, d, sizeof t);
}

static void test_profile_all_fields(void **state)
{
    (void)state;
    fn_profile p;
    const char *path = tu_path_in(tmpdir, "facenet.json");
    tu_write_text(path, faceapi_profile);
    fn_err err;
    assert_int_equal(fn_profile_load(path, 150, 150, &p, &err), 0);
    assert_int_equal(p.in_h, 150);
    assert_int_equal(p.resize, FN_RESIZE_BILINEAR);
    assert_true(p.mean[0] == 122.782f && p.mean[1] == 117.001f && p.mean[2] == 104.298f);
    assert_true(p.std[0] == 255.0f && p.std[2] == 255.0f);
    assert_true(p.threshold == 0.6f);
    assert_int_equal(p.align_mode, FN_ALIGN_DLIB);
    assert_int_equal(p.has_template, 1);
    double t[10];
    fn_align_dlib_template(150, 0.25, t);
    for (int i = 0; i < 10; i++)
        assert_true(p.tmpl[i] == t[i]); /* %.17g round-trips exactly */

    parse_ok("{\"input_size\": [112, 96], \"pad_to_square\": \"center\", \"scale\": 0.5,"
             " \"mean\": 127.5, \"channel_order\": \"bgr\", \"l2_normalize\": false}",
             0, 0, &p);
    assert_int_equal(p.in_h, 112);
    assert_int_equal(p.in_w, 96);
    assert_int_equal(p.pad_to_square, FN_PAD_CENTER);
    assert_int_equal(p.use_scale, 1);
    assert_true(p.scale[1] == 0.5f && p.mean[2] == 127.5f);
    assert_int_equal(p.bgr, 1);
    assert_int_equal(p.l2_normalize, 0);
    parse_ok("{\"pad_to_square\": true}", 0, 0, &p);
    assert_int_equal(p.pad_to_square, FN_PAD_END);
    parse_ok("{\"pad_to_square\": \"end\", \"resize\": \"nearest\"}", 0, 0, &p);
    assert_int_equal(p.pad_to_square, FN_PAD_END);
}

static void test_profile_errors(void **state)
{
    (void)state;
    static const struct {
        const char *json, *want1, *want2;
        int mh, mw;
    } cases[] = {
        {"{\"resize\": \"nearest\", \"mena\": [1, 2, 3]}", "\"mena\"", "unknown", 0, 0},
        {"{\"std\": \"255\"}", "\"std\"", "number", 0, 0},
        {"{\"mean\": [1, 2]}", "\"mean\"", "3 numbers", 0, 0},
        {"{\"mean\": [1, 2, null]}", "\"mean\"", "3 numbers", 0, 0},
        {"{\"input_size\": [160]}", "\"input_size\"", "[height, width]", 0, 0},
        {"{\"input_size\": [160.5, 160]}", "\"input_size\"", "integers", 0, 0},
        {"{\"input_size\": [0, 160]}", "\"input_size\"", "integers", 0, 0},
        {"{\"input_size\": \"160x160\"}", "\"input_size\"", NULL, 0, 0},
        {"{\"threshold\": \"0.7\"}", "\"threshold\"", "number", 0, 0},
        {"{\"threshold\": -1}", "\"threshold\"", "non-negative", 0, 0},
        {"{\"l2_normalize\": 1}", "\"l2_normalize\"", "true or false", 0, 0},
        {"{\"channel_order\": \"rbg\"}", "\"channel_order\"", "\"rbg\"", 0, 0},
        {"{\"channel_order\": 3}", "\"channel_order\"", "string", 0, 0},
        {"{\"resize\": \"cubic\"}", "\"resize\"", "\"bilinear\"", 0, 0},
        {"{\"pad_to_square\": \"middle\"}", "\"pad_to_square\"", "\"center\"", 0, 0},
        {"{\"pad_to_square\": 1}", "\"pad_to_square\"", NULL, 0, 0},
        {"{\"align_template\": [1, 2, 3]}", "\"align_template\"", "10 numbers", 0, 0},
        {"{\"align_mode\": \"opencv\"}", "\"align_mode\"", "\"dlib\"", 0, 0},
        {"{\"std\": 0}", "\"std\"", "zero", 0, 0},
        {"{\"scale\": [1, 0, 1]}", "\"scale\"", "zero", 0, 0},
        {"{\"std\": 255, \"scale\": 0.0039}", "\"std\"", "\"scale\"", 0, 0},
        {"{\"resize\": \"nearest\", \"resize\": \"bilinear\"}", "\"resize\"", "twice", 0, 0},
        {"[1, 2]", "object", NULL, 0, 0},
        {"{\n  \"resize\": \n}", "invalid JSON", "line 3", 0, 0},
        {"", "invalid JSON", NULL, 0, 0},
        {"{\"input_size\": [150, 150]}", "input_size", "160x160", 160, 160},
    };
    const char *path = tu_path_in(tmpdir, "facenet.json");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tu_write_text(path, cases[i].json);
        fn_profile p;
        fn_err err;
        fn_err_clear(&err);
        if (fn_profile_load(path, cases[i].mh, cases[i].mw, &p, &err) != -1)
            fail_msg("case %zu accepted: %s", i, cases[i].json);
        if (!strstr(err.msg, path) || !strstr(err.msg, cases[i].want1) ||
            (cases[i].want2 && !strstr(err.msg, cases[i].want2)))
            fail_msg("case %zu (%s): unexpected message: %s", i, cases[i].json, err.msg);
        /* a failed load leaves usable defaults behind */
        assert_true(p.std[0] == 255.0f);
    }
    /* a directory where the file should be is an error, not "missing" */
    fn_profile p;
    fn_err err;
    assert_int_equal(fn_profile_load(tmpdir, 0, 0, &p, &err), -1);
    assert_non_null(strstr(err.msg, tmpdir));
}

/* ------------------------------------------------------ preprocessing */

/* The default profile on the 18 happy-house photos equals Keras's
 * load_img(target_size=(160,160)) / 255 bit for bit. */
static void test_keras_preprocess_golden(void **state)
{
    (void)state;
    cJSON *m = load_json("golden/keras-facenet-mini/inputs/manifest.json");
    fn_profile p;
    fn_profile_default(&p, 160, 160);
    float *out = malloc(sizeof(float) * 160 * 160 * 3);
    assert_non_null(out);
    const cJSON *e;
    int n = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(m, "inputs")) {
        char rel[256];
        snprintf(rel, sizeof rel, "images/happy-house/%s",
                 cJSON_GetStringValue(cJSON_GetObjectItem(e, "name")));
        char *ipath = tu_shared_dup(rel);
        snprintf(rel, sizeof rel, "golden/keras-facenet-mini/inputs/%s",
                 cJSON_GetStringValue(cJSON_GetObjectItem(e, "file")));
        char *gpath = tu_shared_dup(rel);
        fn_image img;
        fn_err err;
        load_ok(ipath, &img);
        assert_int_equal(fn_preprocess(&p, &img, out, &err), 0);
        int bad = f32_mismatches(out, (size_t)160 * 160 * 3, gpath);
        if (bad)
            fail_msg("%s: %d values differ from %s", ipath, bad, gpath);
        n++;
        fn_image_free(&img);
        free(ipath);
        free(gpath);
    }
    assert_int_equal(n, 18);
    free(out);
    cJSON_Delete(m);
}

/* face-api's input tensors ((x - mean) / 255 in float32), bit for bit: from
 * the stored 150 px PNGs, and end to end from the original sources (96 px
 * JPEG + bilinear resize; LFW JPEG + landmarks + dlib alignment). */
static void test_faceapi_input_tensors(void **state)
{
    (void)state;
    fn_profile p;
    parse_ok(faceapi_profile, 150, 150, &p);
    cJSON *m = load_json("golden/faceapi-resnet/input-tensors/inputs.json");
    char *lmpath = tu_shared_dup("lfw/landmarks-5pt-250px.txt");
    fn_landmarks lms;
    fn_err err;
    if (fn_landmarks_load(lmpath, 0.6, &lms, &err))
        fail_msg("%s", err.msg);
    float *out = malloc(sizeof(float) * 150 * 150 * 3);
    assert_non_null(out);
    const cJSON *e;
    int n = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(m, "inputs")) {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(e, "name"));
        char rel[256];
        snprintf(rel, sizeof rel, "golden/faceapi-resnet/inputs/%s",
                 cJSON_GetStringValue(cJSON_GetObjectItem(e, "png")));
        char *ppath = tu_shared_dup(rel);
        snprintf(rel, sizeof rel, "golden/faceapi-resnet/input-tensors/%s",
                 cJSON_GetStringValue(cJSON_GetObjectItem(e, "file")));
        char *gpath = tu_shared_dup(rel);
        fn_image img;
        load_ok(ppath, &img);
        assert_int_equal(fn_preprocess(&p, &img, out, &err), 0);
        int bad = f32_mismatches(out, (size_t)150 * 150 * 3, gpath);
        if (bad)
            fail_msg("%s: %d values differ", ppath, bad);
        fn_image_free(&img);

        /* the same tensor from the original source image */
        if (strncmp(name, "happy-house/", 12) == 0) {
            snprintf(rel, sizeof rel, "images/happy-house/%s.jpg", name + 12);
            char *src = tu_shared_dup(rel);
            load_ok(src, &img);
            assert_int_equal(fn_preprocess(&p, &img, out, &err), 0);
            free(src);
        } else {
            assert_int_equal(strncmp(name, "lfw/", 4), 0);
            const char *who = name + 4; /* Abdullah_Gul_0013 */
            const char *us = strrchr(who, '_');
            assert_non_null(us);
            snprintf(rel, sizeof rel, "%.*s/%s.jpg", (int)(us - who), who, who);
            const double *lm = fn_landmarks_find(&lms, rel);
            assert_non_null(lm);
            char srel[300];
            snprintf(srel, sizeof srel, "lfw/original-150/%s", rel);
            char *src = tu_shared_dup(srel);
            load_ok(src, &img);
            assert_int_equal(fn_preprocess_aligned(&p, &img, lm, out, &err), 0);
            free(src);
        }
        bad = f32_mismatches(out, (size_t)150 * 150 * 3, gpath);
        if (bad)
            fail_msg("%s from its source: %d values differ", name, bad);
        fn_image_free(&img);
        n++;
        free(ppath);
        free(gpath);
    }
    assert_int_equal(n, 2);
    free(out);
    fn_landmarks_free(&lms);
    free(lmpath);
    cJSON_Delete(m);
}

static void test_channel_order_mean_scale_pad(void **state)
{
    (void)state;
    fn_profile p;
    fn_err err;
    fn_image img;
    assert_int_equal(fn_image_alloc(&img, 2, 1, &err), 0);
    static const unsigned char px[6] = {10, 20, 30, 200, 100, 0};
    memcpy(img.rgb, px, 6);
    parse_ok("{\"input_size\": [1, 2], \"channel_order\": \"bgr\", \"mean\": [1, 2, 3],"
             " \"scale\": [0.5, 0.25, 2]}", 0, 0, &p);
    float out[6];
    assert_int_equal(fn_preprocess(&p, &img, out, &err), 0);
    /* output channel 0 is blue: (30 - 1) * 0.5, then green (20 - 2) * 0.25,
     * red (10 - 3) * 2 */
    static const float want[6] = {14.5f, 4.5f, 14.0f, -0.5f, 24.5f, 394.0f};
    for (int i = 0; i < 6; i++)
        assert_true(out[i] == want[i]);
    parse_ok("{\"input_size\": [1, 2], \"mean\": 10, \"std\": [2, 4, 8]}", 0, 0, &p);
    assert_int_equal(fn_preprocess(&p, &img, out, &err), 0);
    static const float want2[6] = {0.0f, 2.5f, 2.5f, 95.0f, 22.5f, -1.25f};
    for (int i = 0; i < 6; i++)
        assert_true(out[i] == want2[i]);
    fn_image_free(&img);

    /* pad "center" then nearest resize: a 4x2 image becomes 4x4 with one
     * zero row above and below (face-api's padToSquare(img, true)). */
    assert_int_equal(fn_image_alloc(&img, 4, 2, &err), 0);
    memset(img.rgb, 255, 4 * 2 * 3);
    parse_ok("{\"input_size\": [4, 4], \"pad_to_square\": \"center\"}", 0, 0, &p);
    float o16[48];
    assert_int_equal(fn_preprocess(&p, &img, o16, &err), 0);
    for (int y = 0; y < 4; y++)
        assert_true(o16[y * 12 + 5] == (y == 1 || y == 2 ? 1.0f : 0.0f));
    parse_ok("{\"input_size\": [4, 4], \"pad_to_square\": true}", 0, 0, &p);
    assert_int_equal(fn_preprocess(&p, &img, o16, &err), 0);
    for (int y = 0; y < 4; y++)
        assert_true(o16[y * 12 + 5] == (y < 2 ? 1.0f : 0.0f));
    fn_image_free(&img);
}

/* ---------------------------------------------------------- alignment */

static void apply_sim(double s, double ang, double tx, double ty, const double in[10],
                      double out[10])
{
    for (int i = 0; i < 5; i++) {
        double x = in[2 * i], y = in[2 * i + 1];
        out[2 * i] = s * (cos(ang) * x - sin(ang) * y) + tx;
        out[2 * i + 1] = s * (sin(ang) * x + cos(ang) * y) + ty;
    }
}

static void test_similarity_fit(void **state)
{
    (void)state;
    fn_err err;
    double tmpl[10], lm[10], M[6], back[6];
    fn_align_default_template(160, 160, tmpl);
    apply_sim(1.7, 0.4, 13.0, -7.0, tmpl, lm);
    assert_int_equal(fn_similarity_fit(tmpl, lm, M, &err), 0);
    assert_true(fabs(M[0] - 1.7 * cos(0.4)) < 1e-9);
    assert_true(fabs(M[3] - 1.7 * sin(0.4)) < 1e-9);
    assert_true(fabs(M[1] + M[3]) < 1e-12 && fabs(M[0] - M[4]) < 1e-12);
    assert_true(fabs(M[2] - 13.0) < 1e-9 && fabs(M[5] + 7.0) < 1e-9);
    for (int i = 0; i < 5; i++) {
        double x, y;
        fn_similarity_apply(M, tmpl[2 * i], tmpl[2 * i + 1], &x, &y);
        assert_true(fabs(x - lm[2 * i]) < 1e-9 && fabs(y - lm[2 * i + 1]) < 1e-9);
    }
    /* the reverse fit is the inverse transform */
    assert_int_equal(fn_similarity_fit(lm, tmpl, back, &err), 0);
    double x, y, x2, y2;
    fn_similarity_apply(M, 3.0, 4.0, &x, &y);
    fn_similarity_apply(back, x, y, &x2, &y2);
    assert_true(fabs(x2 - 3.0) < 1e-9 && fabs(y2 - 4.0) < 1e-9);

    /* mirrored points: the best fit must still be a proper rotation */
    double mir[10];
    for (int i = 0; i < 5; i++) {
        mir[2 * i] = -tmpl[2 * i];
        mir[2 * i + 1] = tmpl[2 * i + 1];
    }
    assert_int_equal(fn_similarity_fit(tmpl, mir, M, &err), 0);
    assert_true(M[0] * M[4] - M[1] * M[3] > 0);

    double same[10] = {5, 5, 5, 5, 5, 5, 5, 5, 5, 5};
    assert_int_equal(fn_similarity_fit(same, tmpl, M, &err), -1);
    assert_non_null(strstr(err.msg, "coincide"));
    double bad[10];
    memcpy(bad, tmpl, sizeof bad);
    bad[3] = NAN;
    assert_int_equal(fn_similarity_fit(bad, tmpl, M, &err), -1);
}

/* Draw Gaussian blobs at landmarks placed by a known similarity, align, and
 * find each blob's centroid in the chip: it must sit on the template. */
static void test_align_synthetic(void **state)
{
    (void)state;
    fn_err err;
    const int W = 240, H = 200, S = 160;
    double tmpl[10], lm[10];
    fn_align_default_template(S, S, tmpl);
    apply_sim(1.3, -0.25, 20.0, 45.0, tmpl, lm); /* chip -> image */
    fn_image img;
    assert_int_equal(fn_image_alloc(&img, W, H, &err), 0);
    const double sigma = 2.0, bg = 20.0, amp = 200.0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double v = bg;
            for (int i = 0; i < 5; i++) {
                double dx = x - lm[2 * i], dy = y - lm[2 * i + 1];
                v += amp * exp(-(dx * dx + dy * dy) / (2 * sigma * sigma));
            }
            memset(img.rgb + ((size_t)y * W + x) * 3, (int)floor(v + 0.5), 3);
        }
    for (int mode = 0; mode < 2; mode++) {
        fn_image chip;
        assert_int_equal(fn_align_face(&img, lm, tmpl, S, S, mode ? FN_ALIGN_DLIB
                                                                  : FN_ALIGN_SIMILARITY,
                                       &chip, &err),
                         0);
        double worst = 0;
        for (int i = 0; i < 5; i++) {
            int cx = (int)floor(tmpl[2 * i] + 0.5), cy = (int)floor(tmpl[2 * i + 1] + 0.5);
            double sw = 0, sx = 0, sy = 0;
            for (int y = cy - 7; y <= cy + 7; y++)
                for (int x = cx - 7; x <= cx + 7; x++) {
                    double w = chip.rgb[((size_t)y * S + x) * 3] - bg;
                    w = w > 0 ? w : 0;
                    sw += w;
                    sx += w * x;
                    sy += w * y;
                }
            assert_true(sw > 0);
            double d = hypot(sx / sw - tmpl[2 * i], sy / sw - tmpl[2 * i + 1]);
            worst = d > worst ? d : worst;
        }
        printf("synthetic alignment (%s): worst landmark offset %.3f px\n",
               mode ? "dlib" : "similarity", worst);
        /* dlib's chip rectangle is half a pixel off by construction. */
        assert_true(worst < (mode ? 1.0 : 0.5));
        fn_image_free(&chip);
    }
    /* outside the source stays black */
    fn_image chip;
    double far_lm[10];
    apply_sim(0.5, 0.0, -300.0, -300.0, tmpl, far_lm);
    assert_int_equal(fn_align_face(&img, far_lm, tmpl, S, S, FN_ALIGN_SIMILARITY, &chip, &err), 0);
    for (size_t k = 0; k < (size_t)S * S * 3; k++)
        assert_int_equal(chip.rgb[k], 0);
    fn_image_free(&chip);
    assert_int_equal(fn_align_face(&img, far_lm, tmpl, 1, 1, FN_ALIGN_SIMILARITY, &chip, &err),
                     -1);
    fn_image_free(&img);
}

/* The 24 golden LFW chips: dlib mode with the dlib template must reproduce
 * every pixel; similarity mode differs by about half a pixel of geometry. */
static void test_align_golden_lfw_chips(void **state)
{
    (void)state;
    cJSON *m = load_json("golden/faceapi-resnet/inputs/manifest.json");
    double tmpl[10];
    fn_align_dlib_template(150, 0.25, tmpl);
    const cJSON *tp = cJSON_GetObjectItem(m, "template_chip_px");
    for (int i = 0; i < 10; i++) {
        double v = cJSON_GetArrayItem(cJSON_GetArrayItem(tp, i / 2), i % 2)->valuedouble;
        assert_true(fabs(v - tmpl[i]) < 1e-4); /* the manifest rounds to 4 places */
    }
    char *lmpath = tu_shared_dup("lfw/landmarks-5pt-250px.txt");
    fn_landmarks lms;
    fn_err err;
    if (fn_landmarks_load(lmpath, 0.6, &lms, &err))
        fail_msg("%s", err.msg);
    int n = 0, dlib_max = 0, sim_max = 0;
    double sim_sum = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(m, "lfw")) {
        const char *src = cJSON_GetStringValue(cJSON_GetObjectItem(e, "source"));
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(e, "name"));
        assert_int_equal(strncmp(src, "original-150/", 13), 0);
        const double *lm = fn_landmarks_find(&lms, src + 13);
        assert_non_null(lm);
        const cJSON *ml = cJSON_GetObjectItem(e, "landmarks_150px");
        for (int i = 0; i < 10; i++)
            assert_true(cJSON_GetArrayItem(cJSON_GetArrayItem(ml, i / 2), i % 2)->valuedouble ==
                        lm[i]);
        char rel[256];
        snprintf(rel, sizeof rel, "lfw/%s", src);
        char *ipath = tu_shared_dup(rel);
        snprintf(rel, sizeof rel, "golden/faceapi-resnet/inputs/%s.png", name);
        char *gpath = tu_shared_dup(rel);
        fn_image img, gold, chip;
        load_ok(ipath, &img);
        load_ok(gpath, &gold);
        assert_int_equal(fn_align_face(&img, lm, tmpl, 150, 150, FN_ALIGN_DLIB, &chip, &err), 0);
        for (size_t k = 0; k < (size_t)150 * 150 * 3; k++) {
            int d = abs((int)chip.rgb[k] - (int)gold.rgb[k]);
            dlib_max = d > dlib_max ? d : dlib_max;
        }
        fn_image_free(&chip);
        assert_int_equal(fn_align_face(&img, lm, tmpl, 150, 150, FN_ALIGN_SIMILARITY, &chip, &err),
                         0);
        for (size_t k = 0; k < (size_t)150 * 150 * 3; k++) {
            int d = abs((int)chip.rgb[k] - (int)gold.rgb[k]);
            sim_max = d > sim_max ? d : sim_max;
            sim_sum += d;
        }
        fn_image_free(&chip);
        fn_image_free(&img);
        fn_image_free(&gold);
        free(ipath);
        free(gpath);
        n++;
    }
    double sim_mean = sim_sum / ((double)n * 150 * 150 * 3);
    printf("24 LFW chips: dlib mode max abs diff %d; similarity mode max %d, mean %.3f\n",
           dlib_max, sim_max, sim_mean);
    assert_int_equal(n, 24);
    assert_int_equal(dlib_max, 0);
    assert_true(sim_mean < 6.0); /* same face, slightly different geometry */
    fn_landmarks_free(&lms);
    free(lmpath);
    cJSON_Delete(m);
}

/* ---------------------------------------------------------- landmarks */

static void test_landmarks_lfw(void **state)
{
    (void)state;
    char *path = tu_shared_dup("lfw/landmarks-5pt-250px.txt");
    fn_landmarks lms;
    fn_err err;
    if (fn_landmarks_load(path, 0.6, &lms, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(lms.n, 4992);
    const double *p = fn_landmarks_find(&lms, "Aaron_Guiel/Aaron_Guiel_0001.jpg");
    assert_non_null(p);
    static const int raw[10] = {98, 110, 146, 116, 122, 138, 93, 158, 138, 163};
    for (int i = 0; i < 10; i++)
        assert_true(p[i] == raw[i] * 0.6);
    assert_null(fn_landmarks_find(&lms, "Aaron_Guiel/Aaron_Guiel_0002.jpg"));
    assert_null(fn_landmarks_find(&lms, ""));
    fn_landmarks_free(&lms);
    free(path);
}

static void test_landmarks_bad_lines(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"a.jpg\t30\t40\t70\t40\t50\t60\t35\t80\t65\t80\nb.jpg\t1\t2\n", ":2: has 2 numbers"},
        {"# comment\n\na.jpg\t30\t40\t70\t40\tx\t60\t35\t80\t65\t80\n", ":3: field 6 (nose tip x) is not a number: \"x\""},
        {"a.jpg\t30\t40\t70\t40\t50\t60\t35\t80\t65\t80\t11\n", ":1: has more than 10"},
        {"a.jpg 30 40 70 40 50 60 35 80 65 80\n", ":1: expected a path"},
        {"\t30\t40\t70\t40\t50\t60\t35\t80\t65\t80\n", ":1: expected a path"},
        {"a.jpg\t30\t40\t70\t40\t50\t60\t35\t80\t65\tnan\n", ":1: field 11"},
        {"a.jpg\t30\t40\t70\t40\t50\t60\t35\t80\t65\t1e999\n", ":1: field 11"},
        {"a.jpg\t30\t40\t70\t40\t50\t60\t35\t80\t65\t80 \n", ":1: field 11"},
        {"a.jpg\t30\t40\t70\t40\t50\t60\t35\t80\t65\t\n", ":1: field 11"},
        {"a.jpg\t30\t40\t70\t40\t50\t60\t35\t80\t65\t80\nb.jpg\t30\t40\t70\t40\t50\t60\t35\t80\t65\t80\n"
         "a.jpg\t30\t40\t70\t40\t50\t60\t35\t80\t65\t80\n",
         ":3: duplicate entry for a.jpg (first at line 1)"},
        /* numbers that are no decimal coordinates, and points that are no face */
        {"a.jpg\t0x1e\t40\t70\t40\t50\t60\t35\t80\t65\t80\n", ":1: field 2 (left eye x) is not a number"},
        {"a.jpg\t30\t40\t70\t40\t50\t60\t35\t80\t65\t0x1p6\n", ":1: field 11"},
        {"a.jpg\t30\t40\t70\t40\t50\t60\t35\t80\t65\tinf\n", ":1: field 11"},
        {"a.jpg\t1e308\t40\t70\t40\t50\t60\t35\t80\t65\t80\n", ":1: coordinate 1e+308 is beyond"},
        {"a.jpg\t-1e308\t40\t70\t40\t50\t60\t35\t80\t65\t80\n", ":1: coordinate -1e+308 is beyond"},
        {"a.jpg\t30\t40\t30\t40\t50\t60\t35\t80\t65\t80\n", ":1: the two eyes are at the same point"},
        {"a.jpg\t1\t2\t3\t4\t5\t6\t7\t8\t9\t10\n", ":1: the points are (nearly) collinear"},
        {"a.jpg\t30\t40\t70\t40\t50\t41\t35\t40.5\t65\t41\n", ":1: the points are (nearly) collinear"},
    };
    const char *path = tu_path_in(tmpdir, "lm.txt");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tu_write_text(path, cases[i].text);
        fn_landmarks lms;
        fn_err err;
        fn_err_clear(&err);
        if (fn_landmarks_load(path, 1.0, &lms, &err) != -1)
            fail_msg("case %zu accepted", i);
        char want[512];
        snprintf(want, sizeof want, "%s%s", path, cases[i].want);
        if (!strstr(err.msg, want))
            fail_msg("case %zu: expected \"%s\" in: %s", i, want, err.msg);
        assert_null(lms.items);
        assert_int_equal(lms.n, 0);
    }
    /* CRLF, comments, blank lines, no final newline, paths with spaces */
    const char *text = "# x\r\n\r\nb c.jpg\t30\t40\t70\t40\t50\t60\t35\t80\t65\t10\r\n"
                       "a.jpg\t-1.5\t2e1\t30\t20\t5\t6\t7\t80\t9\t10";
    tu_write_text(path, text);
    fn_landmarks lms;
    fn_err err;
    assert_int_equal(fn_landmarks_load(path, 2.0, &lms, &err), 0);
    assert_int_equal(lms.n, 2);
    const double *p = fn_landmarks_find(&lms, "b c.jpg");
    assert_non_null(p);
    assert_true(p[9] == 20.0);
    p = fn_landmarks_find(&lms, "a.jpg");
    assert_non_null(p);
    assert_true(p[0] == -3.0 && p[1] == 40.0);
    fn_landmarks_free(&lms);
    assert_int_equal(fn_landmarks_load(path, 0.0, &lms, &err), -1);
    assert_int_equal(fn_landmarks_load(tu_path_in(tmpdir, "none.txt"), 1.0, &lms, &err), -1);
    assert_non_null(strstr(err.msg, "none.txt"));
}

/* ------------------------------------------------------------- setup */

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fn_test_profile_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    DIR *d = opendir(tmpdir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL)
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                unlink(tu_path_in(tmpdir, e->d_name));
        closedir(d);
    }
    return rmdir(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profile_defaults),
        cmocka_unit_test(test_profile_all_fields),
        cmocka_unit_test(test_profile_errors),
        cmocka_unit_test(test_keras_preprocess_golden),
        cmocka_unit_test(test_faceapi_input_tensors),
        cmocka_unit_test(test_channel_order_mean_scale_pad),
        cmocka_unit_test(test_similarity_fit),
        cmocka_unit_test(test_align_synthetic),
        cmocka_unit_test(test_align_golden_lfw_chips),
        cmocka_unit_test(test_landmarks_lfw),
        cmocka_unit_test(test_landmarks_bad_lines),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
