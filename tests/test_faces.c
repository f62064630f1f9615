/* test_faces.c - app/faces.h beyond the parity with face-api (test_faces_parity.c):
 *  - a photo without a face is a result with 0 faces, not an error (large and small);
 *  - the chip of face-api's crop equals face-api's recognition-net input bit for bit
 *    (dump-ssd/face0_recognition_input.f32), and the 8-bit chip is its rounding;
 *  - the 5-point chip is the encoder profile's alignment of fn_landmarks68_to5;
 *  - the small-photo pass finds the face of an LFW photo on which face-api's steps
 *    find none, and leaves face-api's result alone when they find one;
 *  - the tiny landmark net gives the same faces and nearby points;
 *  - opts.threads reaches the nets (1 thread finds what all cores find; -1 is refused);
 *  - errors name the folder or the image.
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

static fn_encoder enc;
static fn_faces *det;

static int setup(void **state)
{
    (void)state;
    fn_err err = {0};
    fn_faces_opts o;
    fn_faces_opts_default(&o, "weights");
    if (fn_encoder_open(&enc, "weights/dlib-resnet/model.json", "weights/dlib-resnet/model.h5",
                        "weights/dlib-resnet/facenet.json", &err) ||
        fn_faces_open(&det, &o, &err)) {
        fprintf(stderr, "%s (run `make weights`)\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fn_faces_close(det);
    fn_encoder_close(&enc);
    return 0;
}

static void grey(fn_image *img, int w, int h)
{
    fn_err err = {0};
    assert_int_equal(fn_image_alloc(img, w, h, &err), 0);
    memset(img->rgb, 128, (size_t)w * h * 3);
}

static void test_no_face(void **state)
{
    (void)state;
    int sizes[3][2] = {{640, 480}, {150, 150}, {37, 5}};
    for (int i = 0; i < 3; i++) {
        fn_image img;
        grey(&img, sizes[i][0], sizes[i][1]);
        fn_face_list faces = {0};
        fn_err err = {0};
        assert_int_equal(fn_faces_detect(det, &img, "grey.png", &faces, &err), 0);
        assert_int_equal(faces.n, 0);
        assert_int_equal(fn_faces_central(&faces, img.w, img.h), -1);
        assert_int_equal(fn_faces_largest(&faces), -1);
        fn_face_list_free(&faces);
        fn_image_free(&img);
    }
}

static void test_faceapi_chip_bit_exact(void **state)
{
    (void)state;
    fn_image img = {0};
    fn_face_list faces = {0};
    fn_err err = {0};
    if (fn_image_load(tu_shared("golden/faceapi-detect/2007_007763.png"), 0, &img, &err) ||
        fn_faces_detect(det, &img, "2007_007763.png", &faces, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(faces.n, 7);
    /* fn_faces_detect_file on the same pixels gives the same faces */
    fn_image img2 = {0};
    fn_face_list faces2 = {0};
    if (fn_faces_detect_file(det, tu_shared("golden/faceapi-detect/2007_007763.png"), 0, &img2,
                             &faces2, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(faces2.n, 7);
    for (int i = 0; i < 7; i++) { /* member by member: a struct's padding bytes are not its value */
        const fn_face *a = &faces.face[i], *c = &faces2.face[i];
        assert_memory_equal(&a->score, &c->score, sizeof a->score);
        assert_memory_equal(&a->box, &c->box, sizeof a->box);
        assert_memory_equal(a->landmarks, c->landmarks, sizeof a->landmarks);
        assert_memory_equal(&a->landmark_crop, &c->landmark_crop, sizeof a->landmark_crop);
        assert_int_equal(a->pass, c->pass);
    }
    /* drawing changes pixels on the boxes only where it draws */
    fn_faces_draw(&img2, &faces2);
    const fn_box *b = &faces.face[0].box;
    const unsigned char *px = img2.rgb + ((size_t)(int)b->y * img2.w + (int)b->x + 3) * 3;
    assert_true(px[0] == 0 && px[1] == 255 && px[2] == 0);
    fn_face_list_free(&faces2);
    fn_image_free(&img2);
    size_t len, n = fn_encoder_input_floats(&enc);
    assert_int_equal(n, 150 * 150 * 3);
    float *want = (float *)tu_read_must(
        tu_shared("golden/faceapi-detect/dump-ssd/face0_recognition_input.f32"), &len);
    assert_int_equal(len, n * sizeof(float));
    float *in = malloc(sizeof(float) * n);
    assert_non_null(in);
    assert_int_equal(fn_faces_input(&enc, &img, "2007_007763.png", &faces.face[0],
                                    FN_CHIP_FACEAPI, in, &err), 0);
    size_t ndiff = 0;
    for (size_t i = 0; i < n; i++)
        ndiff += memcmp(&in[i], &want[i], sizeof(float)) != 0;
    print_message("face-api crop of face 0: %zu of %zu values differ from face-api's "
                  "recognition input\n", ndiff, n);
    assert_int_equal(ndiff, 0);
    /* the 8-bit chip rounds the same pixels: back through the profile, within half a level */
    fn_image chip = {0};
    assert_int_equal(fn_faces_chip(&enc, &img, NULL, &faces.face[0], FN_CHIP_FACEAPI, &chip, &err), 0);
    assert_int_equal(chip.w, 150);
    assert_int_equal(chip.h, 150);
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        float v = want[i] * 255.0f + enc.prof.mean[i % 3];
        m = fmax(m, fabs(v - chip.rgb[i]));
    }
    assert_true(m <= 0.5 + 1e-3);
    fn_image_free(&chip);
    /* the 5-point chip: the profile's alignment of the 5 points */
    double lm5[10];
    assert_int_equal(fn_landmarks68_to5(faces.face[0].landmarks, FN_LANDMARKS_PIXEL_OFFSET, lm5,
                                        &err), 0);
    float *want5 = malloc(sizeof(float) * n);
    assert_non_null(want5);
    assert_int_equal(fn_preprocess_aligned(&enc.prof, &img, lm5, want5, &err), 0);
    assert_int_equal(fn_faces_input(&enc, &img, NULL, &faces.face[0], FN_CHIP_ALIGN5, in, &err), 0);
    assert_memory_equal(in, want5, n * sizeof(float));
    assert_int_equal(fn_faces_chip(&enc, &img, NULL, &faces.face[0], FN_CHIP_ALIGN5, &chip, &err), 0);
    assert_int_equal(chip.w, 150);
    fn_image_free(&chip);
    free(want5);
    free(in);
    free(want);
    fn_face_list_free(&faces);
    fn_image_free(&img);
}

static void test_small_photo(void **state)
{
    (void)state;
    const char *rel = "lfw/original-150/Adam_Scott/Adam_Scott_0001.jpg";
    fn_image img = {0};
    fn_face_list faces = {0};
    fn_err err = {0};
    if (fn_image_load(tu_shared(rel), 0, &img, &err))
        fail_msg("%s", err.msg);
    /* face-api's steps alone find no face here */
    fn_faces_opts o;
    fn_faces_opts_default(&o, "weights");
    o.small_side = 0;
    fn_faces *plain;
    assert_int_equal(fn_faces_open(&plain, &o, &err), 0);
    assert_int_equal(fn_faces_detect(plain, &img, rel, &faces, &err), 0);
    assert_int_equal(faces.n, 0);
    fn_faces_close(plain);
    /* the small-photo pass does, near the centre, with usable landmarks */
    assert_int_equal(fn_faces_detect(det, &img, rel, &faces, &err), 0);
    int c = fn_faces_central(&faces, img.w, img.h);
    print_message("%s: %d face(s) with the small-photo pass\n", rel, faces.n);
    assert_true(c >= 0);
    const fn_face *f = &faces.face[c];
    assert_true(f->box.x + f->box.width / 2 > 40 && f->box.x + f->box.width / 2 < 110);
    for (int p = 0; p < 68; p++)
        assert_true(f->landmarks[2 * p] > -20 && f->landmarks[2 * p] < 170);
    float emb[2][128];
    assert_int_equal(fn_faces_encode(&enc, &img, rel, f, FN_CHIP_FACEAPI, emb[0], &err), 0);
    assert_int_equal(fn_faces_encode(&enc, &img, rel, f, FN_CHIP_ALIGN5, emb[1], &err), 0);
    for (int k = 0; k < 128; k++)
        assert_true(isfinite(emb[0][k]) && isfinite(emb[1][k]));
    fn_face_list_free(&faces);
    fn_image_free(&img);
}

/* Carlos_Menem_0003 (DevTrain): face-api's pass finds only a stray face at the left
 * border (box x 0.5, score 0.81); the 2x canvas pass, run on every small photo
 * (small_always), adds the central one, which fn_faces_central then picks.  With
 * small_always 0 the canvas never runs and the stray face is all there is. */
static void test_small_always(void **state)
{
    (void)state;
    const char *rel = "lfw/original-150/Carlos_Menem/Carlos_Menem_0003.jpg";
    fn_image img = {0};
    fn_face_list faces = {0};
    fn_err err = {0};
    if (fn_image_load(tu_shared(rel), 0, &img, &err))
        fail_msg("%s", err.msg);
    fn_faces_opts o;
    fn_faces_opts_default(&o, "weights");
    o.small_always = 0;
    fn_faces *once;
    assert_int_equal(fn_faces_open(&once, &o, &err), 0);
    assert_int_equal(fn_faces_detect(once, &img, rel, &faces, &err), 0);
    assert_int_equal(faces.n, 1);
    assert_int_equal(faces.face[0].pass, 0);
    assert_true(faces.face[0].box.x + faces.face[0].box.width / 2 < 40);
    fn_faces_close(once);
    assert_int_equal(fn_faces_detect(det, &img, rel, &faces, &err), 0);
    print_message("%s: %d face(s) with small_always\n", rel, faces.n);
    assert_int_equal(faces.n, 2);
    int c = fn_faces_central(&faces, img.w, img.h);
    assert_true(c >= 0);
    const fn_face *f = &faces.face[c];
    assert_int_equal(f->pass, 1);
    assert_true(f->score > 0.9);
    assert_true(f->box.x + f->box.width / 2 > 60 && f->box.x + f->box.width / 2 < 90);
    /* the stray face is still reported, from face-api's pass */
    assert_int_equal(faces.face[1 - c].pass, 0);
    fn_face_list_free(&faces);
    fn_image_free(&img);
}

/* fn_faces_encode_flip = the mean of the embeddings of the chip and of its mirror,
 * each run alone (batch of 2 vs 1: float rounding only), and not the plain one. */
static void test_encode_flip(void **state)
{
    (void)state;
    const char *rel = "lfw/original-150/Adam_Scott/Adam_Scott_0001.jpg";
    fn_image img = {0};
    fn_face_list faces = {0};
    fn_err err = {0};
    if (fn_image_load(tu_shared(rel), 0, &img, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(fn_faces_detect(det, &img, rel, &faces, &err), 0);
    assert_true(faces.n >= 1);
    int h = enc.prof.in_h, w = enc.prof.in_w;
    assert_false(enc.chw);
    for (int mode = 0; mode < 2; mode++) {
        size_t n = fn_encoder_input_floats(&enc);
        float *in = malloc(sizeof(float) * n), *mir = malloc(sizeof(float) * n);
        float plain[128], flipped[128], both[128];
        assert_int_equal(fn_faces_input(&enc, &img, rel, &faces.face[0], (fn_chip_mode)mode, in,
                                        &err), 0);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++)
                    mir[((size_t)y * w + x) * 3 + c] = in[((size_t)y * w + (w - 1 - x)) * 3 + c];
        assert_int_equal(fn_encoder_run(&enc, in, 1, plain, &err), 0);
        assert_int_equal(fn_encoder_run(&enc, mir, 1, flipped, &err), 0);
        assert_int_equal(fn_faces_encode_flip(&enc, &img, rel, &faces.face[0], (fn_chip_mode)mode,
                                              both, &err), 0);
        double worst = 0, moved = 0;
        for (int k = 0; k < 128; k++) {
            worst = fmax(worst, fabs(both[k] - (plain[k] + flipped[k]) / 2));
            moved = fmax(moved, fabs(both[k] - plain[k]));
        }
        print_message("mode %d: flip mean vs by hand %.2g, vs the plain embedding %.3g\n", mode,
                      worst, moved);
        assert_true(worst < 1e-5);
        assert_true(moved > 1e-3);
        free(in);
        free(mir);
    }
    fn_face_list_free(&faces);
    fn_image_free(&img);
}

/* The tiny landmark net in place of the full one: same faces, points close to the
 * full net's (measured mean distance printed). */
static void test_tiny_landmarks(void **state)
{
    (void)state;
    fn_image img = {0};
    fn_face_list full = {0}, tiny = {0};
    fn_err err = {0};
    fn_faces_opts o;
    fn_faces_opts_default(&o, "weights");
    o.landmarks_dir = "weights/face-landmark-68-tiny";
    fn_faces *d;
    if (fn_image_load(tu_shared("golden/faceapi-detect/2007_007763.png"), 0, &img, &err) ||
        fn_faces_open(&d, &o, &err) || fn_faces_detect(det, &img, NULL, &full, &err) ||
        fn_faces_detect(d, &img, NULL, &tiny, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(tiny.n, full.n);
    double sum = 0, mx = 0, eyes = 0;
    for (int k = 0; k < full.n; k++) {
        assert_memory_equal(&tiny.face[k].box, &full.face[k].box, sizeof(fn_box));
        const double *a = full.face[k].landmarks, *b = tiny.face[k].landmarks;
        for (int p = 0; p < 68; p++) {
            double dd = hypot(a[2 * p] - b[2 * p], a[2 * p + 1] - b[2 * p + 1]);
            sum += dd;
            mx = fmax(mx, dd);
        }
        eyes += hypot(a[72] - a[90], a[73] - a[91]) / full.n; /* outer eye corners 36, 45 */
    }
    double mean = sum / (68.0 * full.n);
    print_message("tiny vs full landmark net, %d faces: mean distance %.2f px, max %.2f px "
                  "(mean outer-eye-corner distance %.1f px)\n", full.n, mean, mx, eyes);
    assert_true(mean < 0.15 * eyes);
    fn_faces_close(d);
    fn_face_list_free(&full);
    fn_face_list_free(&tiny);
    fn_image_free(&img);
}

/* opts.threads reaches the nets: one thread gives the faces the default (all cores)
 * gives, and a negative count is refused. */
static void test_threads(void **state)
{
    (void)state;
    fn_image img = {0};
    fn_face_list all = {0}, one = {0};
    fn_err err = {0};
    fn_faces_opts o;
    fn_faces_opts_default(&o, "weights");
    o.threads = 1;
    fn_faces *d;
    if (fn_image_load(tu_shared("golden/faceapi-detect/2007_007763.png"), 0, &img, &err) ||
        fn_faces_open(&d, &o, &err) || fn_faces_detect(det, &img, NULL, &all, &err) ||
        fn_faces_detect(d, &img, NULL, &one, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(one.n, all.n);
    assert_true(one.n > 0);
    double dmax = 0;
    for (int k = 0; k < one.n; k++) {
        const fn_face *a = &all.face[k], *b = &one.face[k];
        dmax = fmax(dmax, fabs(a->box.x - b->box.x) + fabs(a->box.y - b->box.y) +
                          fabs(a->box.width - b->box.width) + fabs(a->box.height - b->box.height));
        for (int i = 0; i < 136; i++)
            dmax = fmax(dmax, fabs(a->landmarks[i] - b->landmarks[i]));
    }
    print_message("1 thread vs all cores, %d faces: max difference %.3g px\n", one.n, dmax);
    assert_true(dmax < 1e-3);
    fn_faces_close(d);
    o.threads = -1;
    assert_int_equal(fn_faces_open(&d, &o, &err), -1);
    assert_null(d);
    assert_non_null(strstr(err.msg, "threads"));
    fn_face_list_free(&all);
    fn_face_list_free(&one);
    fn_image_free(&img);
}

static void test_errors(void **state)
{
    (void)state;
    fn_faces_opts o;
    fn_faces_opts_default(&o, "no-such-folder");
    fn_faces *d = (fn_faces *)&o;
    fn_err err = {0};
    assert_int_equal(fn_faces_open(&d, &o, &err), -1);
    assert_null(d);
    assert_non_null(strstr(err.msg, "no-such-folder/ssd-mobilenetv1/detector.json"));
    /* a landmark folder given as the detector */
    fn_faces_opts_default(&o, "weights");
    o.detector_dir = "weights/face-landmark-68";
    assert_int_equal(fn_faces_open(&d, &o, &err), -1);
    assert_non_null(strstr(err.msg, "kind"));
    fn_faces_opts_default(&o, "weights");
    o.small_canvas[1] = 0.5;
    assert_int_equal(fn_faces_open(&d, &o, &err), -1);
    fn_image empty = {0};
    fn_face_list faces = {0};
    assert_int_equal(fn_faces_detect(det, &empty, "photo.jpg", &faces, &err), -1);
    assert_non_null(strstr(err.msg, "photo.jpg"));
    assert_int_equal(faces.n, 0);
    /* a face whose landmarks are garbage: the error names the image */
    fn_image img;
    grey(&img, 64, 64);
    fn_face f = {0};
    f.landmark_crop = (fn_irect){0, 0, 64, 64};
    for (int i = 0; i < 136; i++)
        f.landmarks[i] = NAN;
    float *in = malloc(sizeof(float) * fn_encoder_input_floats(&enc));
    assert_non_null(in);
    assert_int_equal(fn_faces_input(&enc, &img, "photo.jpg", &f, FN_CHIP_FACEAPI, in, &err), -1);
    assert_non_null(strstr(err.msg, "photo.jpg"));
    assert_int_equal(fn_faces_input(&enc, &img, "photo.jpg", &f, FN_CHIP_ALIGN5, in, &err), -1);
    assert_non_null(strstr(err.msg, "photo.jpg"));
    free(in);
    fn_image_free(&img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_face),
        cmocka_unit_test(test_faceapi_chip_bit_exact),
        cmocka_unit_test(test_small_photo),
        cmocka_unit_test(test_small_always),
        cmocka_unit_test(test_encode_flip),
        cmocka_unit_test(test_tiny_landmarks),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
