/* test_detect_robust.c - app/detect.h on hand-made and hostile inputs (no golden data):
 *  - the NMS rules (strict thresholds, score ties, max results);
 *  - the 68 -> 5 point indices;
 *  - robustness: NaN/inf/huge raw outputs (random rounds), zero-size anchors, empty,
 *    negative, NaN and outside boxes, bad crops, 1x1 and 1-row crops, no candidates,
 *    too small capacities, NaN and huge landmark outputs.  Nothing may crash; every
 *    result is a clear error or finite detections. */
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

static fn_image img; /* a 500x375 gradient */

static int setup(void **state)
{
    (void)state;
    fn_err err = {0};
    if (fn_image_alloc(&img, 500, 375, &err))
        return -1;
    for (size_t i = 0; i < (size_t)500 * 375 * 3; i++)
        img.rgb[i] = (unsigned char)(i * 7 % 251);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fn_image_free(&img);
    return 0;
}

/* The NMS rules on hand-made boxes: strict thresholds, ties, max results. */
static void test_nms_rules(void **state)
{
    (void)state;
    fn_ssd_params p;
    fn_ssd_default(&p);
    fn_err err = {0};
    /* [ymin, xmin, ymax, xmax]: box 0 lies inside box 1 with half its area, so their
     * IoU is exactly 0.5 (kept: suppression needs > 0.5); box 2 = box 0; box 3 has a
     * score of exactly 0.5 (not > minConfidence); box 4 ties with box 0's score */
    const float b[5 * 4] = {0, 0, 1, 0.5f,  0, 0, 1, 1,  0, 0, 1, 0.5f,
                            0.6f, 0.6f, 0.9f, 0.9f,  0.6f, 0, 0.9f, 0.3f};
    const float scores[5] = {0.9f, 0.8f, 0.85f, 0.5f, 0.9f};
    int keep[5], nk;
    if (fn_ssd_nms(b, scores, 5, &p, keep, &nk, &err))
        fail_msg("%s", err.msg);
    /* order: 0 and 4 (0.9, index order), 2 (0.85, suppressed by 0), 1 (0.8) */
    assert_int_equal(nk, 3);
    assert_int_equal(keep[0], 0);
    assert_int_equal(keep[1], 4);
    assert_int_equal(keep[2], 1);
    p.max_results = 2;
    assert_int_equal(fn_ssd_nms(b, scores, 5, &p, keep, &nk, &err), 0);
    assert_int_equal(nk, 2);

    /* tiny: among equal scores the last index is picked first */
    fn_tiny_params tp;
    fn_tiny_default(&tp);
    fn_detection c[3] = {{0.7, {0.0, 0.0, 0.1, 0.1}},
                         {0.7, {0.5, 0.5, 0.1, 0.1}},
                         {0.6, {0.0, 0.0, 0.1, 0.1}}};
    if (fn_tiny_nms(c, 3, &tp, keep, &nk, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(nk, 2);
    assert_int_equal(keep[0], 1);
    assert_int_equal(keep[1], 0); /* 2 is box 0 again: suppressed */
    /* boxes (x, y, width, height): IoU 0.5 > 0.4 suppresses, IoU 0.25 does not */
    fn_detection d[3] = {{0.9, {0.0, 0.0, 1.0, 1.0}},
                         {0.8, {0.0, 0.0, 1.0, 0.5}},
                         {0.7, {0.0, 0.0, 1.0, 0.25}}};
    assert_int_equal(fn_tiny_nms(d, 2, &tp, keep, &nk, &err), 0);
    assert_int_equal(nk, 1);
    assert_int_equal(fn_tiny_nms(d + 1, 2, &tp, keep, &nk, &err), 0);
    assert_int_equal(nk, 1); /* 0.25 / 0.5 = 0.5 */
    /* all three: 0 picked, 1 dropped (0.5), 2 kept (IoU with 0: 0.25 / 1) */
    assert_int_equal(fn_tiny_nms(d, 3, &tp, keep, &nk, &err), 0);
    assert_int_equal(nk, 2);
    assert_int_equal(keep[0], 0);
    assert_int_equal(keep[1], 2);
    assert_int_equal(fn_tiny_nms(d, 0, &tp, keep, &nk, &err), 0);
    assert_int_equal(nk, 0);
}

static void test_landmarks68_to5(void **state)
{
    (void)state;
    double pts[136], five[10];
    for (int i = 0; i < 136; i++)
        pts[i] = 1000 + i; /* x_i = 1000 + 2i, y_i = 1001 + 2i */
    fn_err err = {0};
    if (fn_landmarks68_to5(pts, 0.5, five, &err))
        fail_msg("%s", err.msg);
    /* left eye: mean of points 36..41 -> x = 1000 + 2 * 38.5 */
    assert_true(five[0] == 1077 - 0.5 && five[1] == 1078 - 0.5);
    assert_true(five[2] == 1089 - 0.5 && five[3] == 1090 - 0.5); /* 42..47 */
    assert_true(five[4] == 1060 - 0.5 && five[5] == 1061 - 0.5); /* 30 */
    assert_true(five[6] == 1096 - 0.5 && five[7] == 1097 - 0.5); /* 48 */
    assert_true(five[8] == 1108 - 0.5 && five[9] == 1109 - 0.5); /* 54 */
    assert_true(FN_LANDMARKS_PIXEL_OFFSET == 0.0);
    if (fn_landmarks68_to5(pts, FN_LANDMARKS_PIXEL_OFFSET, five, &err))
        fail_msg("%s", err.msg);
    assert_true(five[0] == 1077 && five[9] == 1109);
    pts[77] = NAN;
    assert_int_equal(fn_landmarks68_to5(pts, 0.5, five, &err), -1);
}

/* Raw outputs full of NaN, inf and huge values, empty and outside boxes, no candidates:
 * nothing crashes, every result is either a clear error or finite detections. */
static void test_robustness(void **state)
{
    (void)state;
    enum { N = 64 };
    static const float bad[] = {NAN, INFINITY, -INFINITY, 1e30f, -1e30f, 3.4e38f, -3.4e38f,
                                0.0f, -0.0f, 1e-40f, 88.7f, 89.0f, -89.0f, 5.0f};
    const int nbad = sizeof bad / sizeof bad[0];
    float enc[N * 4], logits[N * 3], anchors[N * 4], boxes[N * 4], scores[N];
    fn_ssd_params p;
    fn_ssd_default(&p);
    fn_err err = {0};
    fn_detection d[100];
    unsigned seed = 12345;
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < N * 4; i++) {
            seed = seed * 1103515245u + 12345u;
            enc[i] = bad[(seed >> 16) % nbad];
            seed = seed * 1103515245u + 12345u;
            anchors[i] = (seed >> 16) % 3 ? (float)((seed >> 8) % 100) / 100.0f
                                          : bad[(seed >> 16) % nbad];
        }
        for (int i = 0; i < N * 3; i++) {
            seed = seed * 1103515245u + 12345u;
            logits[i] = bad[(seed >> 16) % nbad];
        }
        if (round % 2)
            for (int i = 0; i < N; i++) /* zero-size anchors */
                anchors[4 * i + 2] = anchors[4 * i], anchors[4 * i + 3] = anchors[4 * i + 1];
        int nd = -1;
        assert_int_equal(fn_ssd_postprocess(enc, logits, anchors, N, 500, 375, &p, boxes, scores,
                                            d, &nd, &err), 0);
        assert_true(nd >= 0 && nd <= N);
        for (int k = 0; k < nd; k++) {
            assert_true(d[k].score > p.min_confidence && d[k].score <= 1);
            assert_true(isfinite(d[k].box.x) && isfinite(d[k].box.y) &&
                        isfinite(d[k].box.width) && isfinite(d[k].box.height));
            fn_irect c;
            if (fn_landmark_crop(&d[k], 500, 375, &c, &err) == 0)
                assert_true(c.x >= 0 && c.y >= 0 && c.width > 0 && c.height > 0 &&
                            c.x + c.width <= 500 && c.y + c.height <= 375);
        }
    }
    /* no candidates: all scores low, n = 0, max_results 0 */
    for (int i = 0; i < N * 3; i++)
        logits[i] = -10;
    for (int i = 0; i < N * 4; i++)
        enc[i] = 0, anchors[i] = (i % 4) < 2 ? 0.25f : 0.5f;
    int nd = -1;
    assert_int_equal(fn_ssd_postprocess(enc, logits, anchors, N, 500, 375, &p, boxes, scores, d,
                                        &nd, &err), 0);
    assert_int_equal(nd, 0);
    assert_int_equal(fn_ssd_postprocess(enc, logits, anchors, 0, 500, 375, &p, boxes, scores, d,
                                        &nd, &err), 0);
    assert_int_equal(nd, 0);
    p.max_results = 0;
    for (int i = 0; i < N * 3; i++)
        logits[i] = 10;
    assert_int_equal(fn_ssd_postprocess(enc, logits, anchors, N, 500, 375, &p, boxes, scores, d,
                                        &nd, &err), 0);
    assert_int_equal(nd, 0);
    /* a 5000x1 image: its height rounds to 0 input rows */
    fn_ssd_default(&p);
    assert_int_equal(fn_ssd_postprocess(enc, logits, anchors, N, 5000, 1, &p, boxes, scores, d,
                                        &nd, &err), -1);
    print_message("thin image: %s\n", err.msg);
    /* identical boxes: one survives */
    assert_int_equal(fn_ssd_postprocess(enc, logits, anchors, N, 500, 375, &p, boxes, scores, d,
                                        &nd, &err), 0);
    assert_int_equal(nd, 1);

    /* tiny: a 13x13x25 grid of hostile values */
    fn_tiny_params tp;
    fn_tiny_default(&tp);
    float raw[13 * 13 * 25];
    fn_detection cands[13 * 13 * 5], td[13 * 13 * 5];
    int keep[13 * 13 * 5];
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 13 * 13 * 25; i++) {
            seed = seed * 1103515245u + 12345u;
            raw[i] = bad[(seed >> 16) % nbad];
        }
        tp.score_threshold = round % 2 ? 0.5 : 0; /* 0: every finite candidate */
        int tn = -1;
        assert_int_equal(fn_tiny_postprocess(raw, 13, 500, 375, &tp, cands, keep, td, &tn, &err),
                         0);
        for (int k = 0; k < tn; k++)
            assert_true(isfinite(td[k].box.x) && isfinite(td[k].box.width) &&
                        isfinite(td[k].box.y) && isfinite(td[k].box.height) &&
                        td[k].score >= 0 && td[k].score <= 1);
    }
    for (int i = 0; i < 13 * 13 * 25; i++)
        raw[i] = -100; /* all scores ~0 */
    int tn = -1, nc = -1;
    fn_tiny_default(&tp);
    assert_int_equal(fn_tiny_postprocess(raw, 13, 500, 375, &tp, cands, keep, td, &tn, &err), 0);
    assert_int_equal(tn, 0);
    tp.score_threshold = 0;
    assert_int_equal(fn_tiny_decode(raw, 13, 500, 375, &tp, cands, 10, &nc, &err), -1);
    print_message("tiny, small capacity: %s\n", err.msg);
    assert_int_equal(fn_tiny_decode(raw, 0, 500, 375, &tp, cands, 10, &nc, &err), -1);

    /* boxes: empty, outside, negative, NaN */
    fn_irect c;
    const fn_box boxes_bad[] = {{10, 10, 0, 0},     {10, 10, 0.5, 20}, {600, 10, 30, 30},
                                {-50, 10, 30, 30},  {10, 400, 30, 30}, {10, 10, -5, 30},
                                {NAN, 10, 30, 30},  {10, 10, INFINITY, 30},
                                {-1e300, -1e300, 1e300, 1e300}};
    for (size_t i = 0; i < sizeof boxes_bad / sizeof boxes_bad[0]; i++) {
        int rc = fn_clip_box(&boxes_bad[i], 500, 375, &c, &err);
        if (i < 8) {
            assert_int_equal(rc, -1);
            assert_true(c.width == 0 && c.height == 0);
            if (i == 2)
                print_message("box outside: %s\n", err.msg);
        }
    }
    const fn_box partly = {-20.5, 370.2, 100, 100};
    assert_int_equal(fn_clip_box(&partly, 500, 375, &c, &err), 0);
    assert_true(c.x == 0 && c.y == 370 && c.width == 79 && c.height == 4);

    /* input tensors: bad crops, a 1x1 image, a thin strip */
    fn_det_input_params ip;
    fn_det_input_landmarks_default(&ip);
    float *t = malloc(sizeof(float) * 512 * 512 * 3);
    assert_non_null(t);
    const fn_irect crops_bad[] = {{0, 0, 0, 10}, {490, 0, 20, 10}, {-1, 0, 5, 5}, {0, 370, 5, 6}};
    for (size_t i = 0; i < sizeof crops_bad / sizeof crops_bad[0]; i++)
        assert_int_equal(fn_det_input_tensor(&img, &crops_bad[i], &ip, t, &err), -1);
    print_message("bad crop: %s\n", err.msg);
    const fn_irect one = {499, 374, 1, 1}, strip = {0, 100, 500, 1};
    assert_int_equal(fn_det_input_tensor(&img, &one, &ip, t, &err), 0);
    assert_int_equal(fn_det_input_tensor(&img, &strip, &ip, t, &err), 0);
    fn_det_input_ssd_default(&ip);
    assert_int_equal(fn_det_input_tensor(&img, &strip, &ip, t, &err), 0);
    ip.size = 0;
    assert_int_equal(fn_det_input_tensor(&img, NULL, &ip, t, &err), -1);
    free(t);

    /* landmarks: NaN and huge raw outputs */
    float lraw[136], rel[136];
    double pts[136];
    fn_box dr;
    fn_irect lc = {10, 10, 40, 50};
    fn_box lb = {10.3, 10.7, 40.2, 50.9};
    for (int i = 0; i < 136; i++)
        lraw[i] = i == 7 ? NAN : 0.5f;
    assert_int_equal(fn_landmarks_decode(lraw, &lc, &lb, 112, rel, pts, &err), 0);
    assert_int_equal(fn_descriptor_rect(pts, lc.width, lc.height, &dr, &err), -1);
    print_message("NaN landmarks: %s\n", err.msg);
    for (int i = 0; i < 136; i++)
        lraw[i] = i % 3 ? 1e30f : -1e30f;
    assert_int_equal(fn_landmarks_decode(lraw, &lc, &lb, 112, rel, pts, &err), 0);
    if (fn_descriptor_rect(pts, lc.width, lc.height, &dr, &err) == 0 &&
        fn_clip_box(&dr, 500, 375, &c, &err) == 0)
        assert_true(c.x >= 0 && c.y >= 0 && c.x + c.width <= 500 && c.y + c.height <= 375);
    fn_irect empty = {10, 10, 0, 5};
    assert_int_equal(fn_landmarks_decode(lraw, &empty, &lb, 112, rel, pts, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nms_rules),
        cmocka_unit_test(test_landmarks68_to5),
        cmocka_unit_test(test_robustness),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
