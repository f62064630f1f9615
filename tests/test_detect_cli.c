/* test_detect_cli.c - photos in, faces out, from the command line (issue 9):
 *  - `facenet detect --json` on face-api's dumped photo finds the faces face-api found
 *    (same count, box IoU >= 0.98, landmarks within 1 px: tests/test_faces_parity.c
 *    holds the library to tighter bounds), and --draw / --save-chips write PNGs of the
 *    photo's and of the network's input size;
 *  - a red square and a blank image: "no face found" on stderr, exit 2 for verify and
 *    enroll, nothing enrolled, and the same answer in --json;
 *  - a group photo: verify and enroll refuse it naming the face count, --largest takes
 *    the largest face (the same embedding encode gives that face); identify answers
 *    every face with its box;
 *  - encode writes one row per face with face index, box and score in .csv and .h5,
 *    equal to its --json lines;
 *  - evaluate counts a pair with a faceless photo as answered "different".
 * The default model and nets (weights/, `make weights`). */
#include <hdf5.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "io/image.h"
#include "lib/testutil.h"

static char *tmp, db[4300], red[4300], blank[4300], group[4300];

static int run(char **out, char **err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int run(char **out, char **err, const char *fmt, ...)
{
    static char args[60000], cmd[65536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s %s", tu_build("facenet"), args);
    return tu_run(cmd, out, err);
}

static void flat_png(const char *path, int w, int h, unsigned char r, unsigned char g, unsigned char b)
{
    fn_image img;
    fn_err err = {0};
    assert_int_equal(fn_image_alloc(&img, w, h, &err), 0);
    for (int i = 0; i < w * h; i++)
        img.rgb[3 * i] = r, img.rgb[3 * i + 1] = g, img.rgb[3 * i + 2] = b;
    assert_int_equal(fn_image_save_png(path, &img, &err), 0);
    fn_image_free(&img);
}

static int setup(void **state)
{
    (void)state;
    tmp = tu_tmpdir();
    snprintf(db, sizeof db, "%s/g.db", tmp);
    snprintf(red, sizeof red, "%s/red.png", tmp);
    snprintf(blank, sizeof blank, "%s/blank.png", tmp);
    snprintf(group, sizeof group, "%s", tu_shared("images/dlib-faces/2007_007763.jpg"));
    flat_png(red, 160, 160, 255, 0, 0);
    flat_png(blank, 320, 240, 255, 255, 255);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int rc = tu_rmtree(tmp);
    free(tmp);
    return rc;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static double iou(const double a[4], const double b[4])
{
    double x0 = fmax(a[0], b[0]), y0 = fmax(a[1], b[1]);
    double x1 = fmin(a[0] + a[2], b[0] + b[2]), y1 = fmin(a[1] + a[3], b[1] + b[3]);
    double inter = fmax(0, x1 - x0) * fmax(0, y1 - y0);
    return inter / (a[2] * a[3] + b[2] * b[3] - inter);
}

static void test_detect_matches_faceapi(void **state)
{
    (void)state;
    cJSON *ref = tu_read_json(tu_shared("golden/faceapi-detect/ssd.json"));
    assert_non_null(ref);
    const cJSON *want = NULL, *imgs = cJSON_GetObjectItem(ref, "images");
    for (const cJSON *it = imgs ? imgs->child : NULL; it; it = it->next)
        if (strstr(it->string, "2007_007763"))
            want = cJSON_GetObjectItem(it, "faces");
    assert_non_null(want);
    char *out, *err, draw[4400], chips[4400];
    snprintf(draw, sizeof draw, "%s/draw", tmp);
    snprintf(chips, sizeof chips, "%s/chips", tmp);
    /* the exact pixels face-api saw (its README) */
    int rc = run(&out, &err, "detect --json --draw %s --save-chips %s %s", draw, chips,
                 tu_shared("golden/faceapi-detect/2007_007763.png"));
    if (rc)
        fail_msg("status %d: %s", rc, err);
    int n = cJSON_GetArraySize(want);
    assert_int_equal(count_lines(out), n);
    double worst_iou = 1, worst_lm = 0;
    char *line = out;
    for (int k = 0; k < n; k++) {
        char *nl = strchr(line, '\n');
        *nl = '\0';
        cJSON *j = cJSON_Parse(line);
        assert_non_null(j);
        assert_int_equal(cJSON_GetObjectItem(j, "face")->valueint, k);
        const cJSON *w = cJSON_GetArrayItem(want, k), *wb = cJSON_GetObjectItem(w, "box");
        double b[4], r[4] = {cJSON_GetObjectItem(wb, "x")->valuedouble, cJSON_GetObjectItem(wb, "y")->valuedouble,
                             cJSON_GetObjectItem(wb, "width")->valuedouble, cJSON_GetObjectItem(wb, "height")->valuedouble};
        for (int q = 0; q < 4; q++)
            b[q] = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "box"), q)->valuedouble;
        worst_iou = fmin(worst_iou, iou(b, r));
        assert_true(fabs(cJSON_GetObjectItem(j, "score")->valuedouble - cJSON_GetObjectItem(w, "score")->valuedouble) < 1e-3);
        const cJSON *lm = cJSON_GetObjectItem(j, "landmarks"), *wl = cJSON_GetObjectItem(w, "landmarks");
        assert_int_equal(cJSON_GetArraySize(lm), 68);
        for (int p = 0; p < 68; p++)
            for (int q = 0; q < 2; q++)
                worst_lm = fmax(worst_lm, fabs(cJSON_GetArrayItem(cJSON_GetArrayItem(lm, p), q)->valuedouble -
                                               cJSON_GetArrayItem(cJSON_GetArrayItem(wl, p), q)->valuedouble));
        cJSON_Delete(j);
        line = nl + 1;
    }
    print_message("  detect vs face-api: %d faces, worst IoU %.6f, worst landmark %.2e px\n", n, worst_iou, worst_lm);
    assert_true(worst_iou >= 0.98);
    assert_true(worst_lm <= 1.0);
    free(out), free(err);
    /* --draw: the photo's size; --save-chips: the recognition net's 150x150 */
    fn_image img = {0};
    fn_err e = {0};
    char p[4600];
    snprintf(p, sizeof p, "%s/2007_007763.png", draw);
    assert_int_equal(fn_image_load(p, 0, &img, &e), 0);
    assert_true(img.w == 500 && img.h == 375);
    fn_image_free(&img);
    for (int k = 0; k < n; k++) {
        snprintf(p, sizeof p, "%s/2007_007763-%d.png", chips, k);
        if (fn_image_load(p, 0, &img, &e))
            fail_msg("%s", e.msg);
        assert_true(img.w == 150 && img.h == 150);
        fn_image_free(&img);
    }
    cJSON_Delete(ref);
}

static void test_no_face_is_no_welcome(void **state)
{
    (void)state;
    char *out, *err;
    assert_int_equal(run(&out, &err, "enroll --db %s kian %s", db, tu_shared("images/happy-house/kian.jpg")), 0);
    free(out), free(err);
    const char *imgs[2] = {red, blank};
    for (int i = 0; i < 2; i++) {
        int rc = run(&out, &err, "verify --db %s kian %s", db, imgs[i]);
        if (rc != 2 || !strstr(err, "no face found") || count_lines(err) != 1 || out[0])
            fail_msg("verify %s: status %d, stdout '%s', stderr '%s'", imgs[i], rc, out, err);
        free(out), free(err);
        rc = run(&out, &err, "verify --json --db %s kian %s", db, imgs[i]);
        cJSON *j = cJSON_Parse(out);
        assert_int_equal(rc, 2);
        assert_non_null(j);
        assert_int_equal(cJSON_GetObjectItem(j, "faces")->valueint, 0);
        assert_string_equal(cJSON_GetObjectItem(j, "error")->valuestring, "no face found");
        assert_null(cJSON_GetObjectItem(j, "match"));
        cJSON_Delete(j);
        free(out), free(err);
        rc = run(&out, &err, "enroll --db %s intruder %s", db, imgs[i]);
        if (rc != 2 || !strstr(err, "no face found"))
            fail_msg("enroll %s: status %d, stderr '%s'", imgs[i], rc, err);
        free(out), free(err);
        rc = run(&out, &err, "detect %s", imgs[i]);
        if (rc != 0 || !strstr(out, "no face found"))
            fail_msg("detect %s: status %d, stdout '%s'", imgs[i], rc, out);
        free(out), free(err);
    }
    assert_int_equal(run(&out, &err, "db list --db %s", db), 0);
    assert_null(strstr(out, "intruder"));
    free(out), free(err);
    /* identify: the faceless image is named and counted, the other answered */
    int rc = run(&out, &err, "identify --json --db %s %s %s", db, red, tu_shared("images/happy-house/kian.jpg"));
    assert_int_equal(rc, 2);
    assert_int_equal(count_lines(out), 2);
    assert_non_null(strstr(out, "\"identity\":\"kian\""));
    assert_non_null(strstr(out, "\"error\":\"no face found\""));
    assert_non_null(strstr(err, "1 without a face"));
    free(out), free(err);
}

static void test_group_photo(void **state)
{
    (void)state;
    char *out, *err;
    /* encode: one row per face, the same numbers in --json, .csv and .h5 */
    char csv[4400], h5[4400];
    snprintf(csv, sizeof csv, "%s/g.csv", tmp);
    snprintf(h5, sizeof h5, "%s/g.h5", tmp);
    assert_int_equal(run(&out, &err, "encode --json %s", group), 0);
    int n = count_lines(out);
    assert_true(n >= 6);
    float (*emb)[128] = malloc(sizeof *emb * (size_t)n);
    double (*box)[4] = malloc(sizeof *box * (size_t)n);
    double largest = 0;
    int big = -1;
    char *line = out;
    for (int k = 0; k < n; k++) {
        char *nl = strchr(line, '\n');
        *nl = '\0';
        cJSON *j = cJSON_Parse(line);
        assert_non_null(j);
        assert_int_equal(cJSON_GetObjectItem(j, "face")->valueint, k);
        size_t d;
        float *e = tu_json_floats(cJSON_GetObjectItem(j, "embedding"), &d);
        assert_int_equal(d, 128);
        memcpy(emb[k], e, sizeof emb[k]);
        free(e);
        for (int q = 0; q < 4; q++)
            box[k][q] = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "box"), q)->valuedouble;
        if (box[k][2] * box[k][3] > largest)
            largest = box[k][2] * box[k][3], big = k;
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "landmarks")), 68);
        cJSON_Delete(j);
        line = nl + 1;
    }
    free(out), free(err);
    assert_int_equal(run(&out, &err, "encode %s -o %s -o %s", group, csv, h5), 0);
    free(out), free(err);
    char *text = tu_read(csv, NULL);
    assert_non_null(text);
    assert_true(!strncmp(text, "path,face,x,y,width,height,score,e0,", 36));
    int rows = 0;
    double worst = 0;
    for (char *l = strchr(text, '\n') + 1; *l; l = strchr(l, '\n') + 1, rows++) {
        char *f = strchr(l, ','); /* after the path (no comma in it) */
        int face = atoi(f + 1);
        assert_int_equal(face, rows);
        for (int q = 0; q < 6; q++)
            f = strchr(f + 1, ',');
        for (int c = 0; c < 128; c++) {
            worst = fmax(worst, fabs(strtod(f + 1, &f) - emb[rows][c]));
        }
    }
    assert_int_equal(rows, n);
    assert_true(worst < 1e-6);
    free(text);
    hid_t f = H5Fopen(h5, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t ds = H5Dopen2(f, "box", H5P_DEFAULT);
    assert_true(ds >= 0);
    float *hb = malloc(sizeof(float) * 4 * (size_t)n);
    assert_true(H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, hb) >= 0);
    for (int k = 0; k < n; k++)
        for (int q = 0; q < 4; q++)
            assert_true(fabs(hb[4 * k + q] - box[k][q]) < 1e-3);
    free(hb);
    H5Dclose(ds);
    int *hf = malloc(sizeof(int) * (size_t)n);
    ds = H5Dopen2(f, "face", H5P_DEFAULT);
    assert_true(ds >= 0 && H5Dread(ds, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, hf) >= 0);
    for (int k = 0; k < n; k++)
        assert_int_equal(hf[k], k);
    free(hf);
    H5Dclose(ds);
    H5Fclose(f);
    /* verify and enroll need one face: refused, naming the count */
    char want[64];
    snprintf(want, sizeof want, "%d faces found, one expected", n);
    int rc = run(&out, &err, "verify --db %s kian %s", db, group);
    if (rc != 2 || !strstr(err, want))
        fail_msg("verify: status %d, stderr '%s'", rc, err);
    free(out), free(err);
    rc = run(&out, &err, "enroll --db %s crowd %s", db, group);
    if (rc != 2 || !strstr(err, want))
        fail_msg("enroll: status %d, stderr '%s'", rc, err);
    free(out), free(err);
    /* --largest: the largest face, with the embedding encode gave it */
    rc = run(&out, &err, "enroll --largest --db %s crowd %s", db, group);
    assert_int_equal(rc, 0);
    free(out), free(err);
    rc = run(&out, &err, "identify --json --db %s %s", db, group);
    assert_int_equal(rc, 0);
    assert_int_equal(count_lines(out), n);
    line = out;
    for (int k = 0; k < n; k++) {
        char *nl = strchr(line, '\n');
        *nl = '\0';
        cJSON *j = cJSON_Parse(line);
        const cJSON *id = cJSON_GetObjectItem(j, "identity");
        double d = cJSON_GetObjectItem(j, "distance")->valuedouble;
        assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(j, "box")) == 4);
        if (k == big) { /* the enrolled face itself */
            assert_true(cJSON_IsString(id) && !strcmp(id->valuestring, "crowd"));
            assert_true(d < 1e-5);
        }
        cJSON_Delete(j);
        line = nl + 1;
    }
    free(out), free(err);
    free(emb);
    free(box);
}

static void test_evaluate_counts_faceless_pairs(void **state)
{
    (void)state;
    /* two people of LFW, and a third whose only photo has no face */
    char root[4400], pairs[4400], p[4600];
    snprintf(root, sizeof root, "%s/lfw", tmp);
    snprintf(pairs, sizeof pairs, "%s/pairs.txt", tmp);
    const char *src[4] = {"Aaron_Peirsol/Aaron_Peirsol_0001.jpg", "Aaron_Peirsol/Aaron_Peirsol_0002.jpg",
                          "Abdullah_Gul/Abdullah_Gul_0013.jpg", "Abdullah_Gul/Abdullah_Gul_0014.jpg"};
    mkdir(root, 0777);
    snprintf(p, sizeof p, "%s/Aaron_Peirsol", root), mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/Abdullah_Gul", root), mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/Nobody", root), mkdir(p, 0777);
    for (int i = 0; i < 4; i++) {
        char from[4400];
        snprintf(from, sizeof from, "lfw/original-150/%s", src[i]);
        size_t len;
        unsigned char *b = tu_read_must(tu_shared(from), &len);
        snprintf(p, sizeof p, "%s/%s", root, src[i]);
        tu_write_must(p, b, len);
        free(b);
    }
    snprintf(p, sizeof p, "%s/Nobody/Nobody_0001.jpg", root); /* a PNG: the decoder reads the bytes */
    flat_png(p, 150, 150, 128, 128, 128);
    tu_write_text(pairs, "2\n"
                         "Aaron_Peirsol\t1\t2\n"
                         "Abdullah_Gul\t13\t14\n"
                         "Aaron_Peirsol\t1\tAbdullah_Gul\t13\n"
                         "Nobody\t1\tAbdullah_Gul\t14\n");
    char *out, *err;
    int rc = run(&out, &err, "evaluate --folds 2 --pairs %s --train-pairs %s --images %s --json", pairs, pairs, root);
    if (rc)
        fail_msg("status %d: %s", rc, err);
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    assert_int_equal(cJSON_GetObjectItem(j, "images_no_face")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(j, "skipped")->valueint, 0);
    assert_int_equal(cJSON_GetObjectItem(j, "pairs")->valueint, 4);
    /* the faceless pair is a "different" pair answered "different": all 4 right */
    assert_true(cJSON_GetObjectItem(j, "accuracy")->valuedouble == 1.0);
    assert_true(strstr(err, "Nobody_0001.jpg: no face found") != NULL);
    cJSON_Delete(j);
    free(out), free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_matches_faceapi),
        cmocka_unit_test(test_no_face_is_no_welcome),
        cmocka_unit_test(test_group_photo),
        cmocka_unit_test(test_evaluate_counts_faceless_pairs),
    };
    return cmocka_run_group_tests_name("detection from the command line", tests, setup, teardown);
}
