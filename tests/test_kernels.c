/* test_kernels.c - every fast path against the naive reference on odd shapes:
 * im2col+GEMM and 1x1 GEMM convolution (5x7 inputs, 13 channels, 1x7/7x1/3x1/1x3
 * kernels, strides, 'same'/'valid', strided input/output rows), dense, TensorFlow's
 * padding rule, and whole layers in both data formats (through tiny generated
 * models run with fast and reference kernels). */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "layers/kernels.h"
#include "lib/testutil.h"

static unsigned rng = 12345;
static float *randv(size_t n)
{
    return tu_randv(&rng, n);
}

static void test_tf_padding_rule(void **state)
{
    (void)state;
    int out, pad;
    /* same: out = ceil(in/s), pad_total = max((out-1)*s + k - in, 0), smaller half first */
    assert_int_equal(fn_window_out(5, 3, 2, 1, &out, &pad), 0);
    assert_int_equal(out, 3);
    assert_int_equal(pad, 1); /* total 2 */
    assert_int_equal(fn_window_out(6, 3, 2, 1, &out, &pad), 0);
    assert_int_equal(out, 3);
    assert_int_equal(pad, 0); /* total 1: 0 before, 1 after */
    assert_int_equal(fn_window_out(7, 7, 1, 1, &out, &pad), 0);
    assert_int_equal(out, 7);
    assert_int_equal(pad, 3);
    assert_int_equal(fn_window_out(2, 1, 3, 1, &out, &pad), 0);
    assert_int_equal(out, 1);
    assert_int_equal(pad, 0);
    /* valid */
    assert_int_equal(fn_window_out(7, 3, 2, 0, &out, &pad), 0);
    assert_int_equal(out, 3);
    assert_int_equal(fn_window_out(2, 3, 1, 0, &out, &pad), -1);
}

static void conv_case(int n, int h, int w, int c, int f, int kh, int kw, int sh, int sw, int same, int pad_i, int pad_o)
{
    fn_conv_geom g = {.n = n, .h = h, .w = w, .c = c, .kh = kh, .kw = kw, .sh = sh, .sw = sw, .f = f};
    assert_int_equal(fn_window_out(h, kh, sh, same, &g.oh, &g.pt), 0);
    assert_int_equal(fn_window_out(w, kw, sw, same, &g.ow, &g.pl), 0);
    g.ldi = c + pad_i;
    g.ldo = f + pad_o;
    float *in = randv((size_t)n * h * w * g.ldi), *k = randv((size_t)kh * kw * c * f), *b = randv((size_t)f);
    size_t on = (size_t)n * g.oh * g.ow * g.ldo;
    float *o1 = calloc(on, sizeof(float)), *o2 = calloc(on, sizeof(float));
    float *scratch = malloc(sizeof(float) * (fn_conv2d_scratch(&g) + 1));
    fn_conv2d_naive(&g, in, k, b, o1);
    fn_conv2d_gemm(&g, in, k, b, o2, scratch);
    for (size_t r = 0; r < (size_t)n * g.oh * g.ow; r++)
        for (int i = 0; i < f; i++) {
            float a = o1[r * g.ldo + i], e = o2[r * g.ldo + i];
            if (fabsf(a - e) > 1e-4f * (1 + fabsf(a)))
                fail_msg("conv %dx%dx%dx%d k%dx%d s%dx%d %s: row %zu ch %d naive %g gemm %g", n, h, w, c, kh, kw, sh,
                         sw, same ? "same" : "valid", r, i, a, e);
        }
    /* padding columns of a strided output are never written */
    for (size_t r = 0; r < (size_t)n * g.oh * g.ow; r++)
        for (int i = f; i < g.ldo; i++)
            assert_true(o2[r * g.ldo + i] == 0.0f);
    free(in), free(k), free(b), free(o1), free(o2), free(scratch);
}

static void test_conv_gemm_matches_naive(void **state)
{
    (void)state;
    const int kernels[][2] = {{1, 1}, {3, 3}, {1, 7}, {7, 1}, {3, 1}, {1, 3}, {5, 5}, {2, 2}};
    for (size_t k = 0; k < sizeof kernels / sizeof *kernels; k++)
        for (int s = 1; s <= 2; s++)
            for (int same = 0; same <= 1; same++) {
                if (!same && (kernels[k][0] > 5 || kernels[k][1] > 7))
                    continue;
                conv_case(2, 5, 7, 13, 11, kernels[k][0], kernels[k][1], s, s, same, 0, 0);
                conv_case(1, 5, 7, 13, 6, kernels[k][0], kernels[k][1], s, 3 - s, same, 3, 5); /* strided rows */
            }
    conv_case(3, 9, 4, 1, 2, 3, 3, 2, 1, 1, 0, 0);
    conv_case(1, 1, 1, 17, 5, 1, 1, 1, 1, 0, 0, 0);
}

static void test_dense_gemm_matches_naive(void **state)
{
    (void)state;
    const int rows = 7, in = 13, out = 5, ldx = 16, ldy = 9;
    float *x = randv((size_t)rows * ldx), *W = randv((size_t)in * out), *b = randv(out);
    float y1[7 * 9] = {0}, y2[7 * 9] = {0};
    fn_dense_naive(rows, in, out, x, ldx, W, b, y1, ldy);
    fn_dense_gemm(rows, in, out, x, ldx, W, b, y2, ldy);
    assert_true(tu_maxdiff(y1, y2, sizeof y1 / sizeof *y1) < 1e-5);
    free(x), free(W), free(b);
}

static void test_pooling_same_excludes_padding(void **state)
{
    (void)state;
    /* 1x3x3x1 image 1..9, 2x2 window stride 2 'same': out 2x2, pad_total 1 (after) */
    float img[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, mx[4], av[4];
    fn_conv_geom g = {.n = 1, .h = 3, .w = 3, .c = 1, .ldi = 1, .kh = 2, .kw = 2, .sh = 2, .sw = 2, .ldo = 1};
    fn_window_out(3, 2, 2, 1, &g.oh, &g.pt);
    fn_window_out(3, 2, 2, 1, &g.ow, &g.pl);
    fn_maxpool2d(&g, img, mx);
    fn_avgpool2d(&g, img, av);
    const float want_max[4] = {5, 6, 8, 9}, want_avg[4] = {3, 4.5f, 7.5f, 9};
    assert_true(tu_maxdiff(mx, want_max, 4) == 0);
    assert_true(tu_maxdiff(av, want_avg, 4) < 1e-6);
}

/* 13 channels (a vector group of 8 and 5 one by one), strided rows, 'same' padding
 * at both ends, a NaN: the pooling kernels against plain loops, bitwise. */
static void test_pooling_channels_match_plain_loops(void **state)
{
    (void)state;
    fn_conv_geom g = {.n = 2, .h = 7, .w = 6, .c = 13, .ldi = 16, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .ldo = 15};
    fn_window_out(7, 3, 2, 1, &g.oh, &g.pt);
    fn_window_out(6, 3, 2, 1, &g.ow, &g.pl);
    const size_t in_n = (size_t)g.n * g.h * g.w * g.ldi, out_n = (size_t)g.n * g.oh * g.ow * g.ldo;
    float *img = randv(in_n), *mx = calloc(out_n, sizeof(float)), *av = calloc(out_n, sizeof(float));
    img[3 * g.ldi + 2] = NAN, img[5 * g.ldi + 11] = NAN;
    fn_maxpool2d(&g, img, mx);
    fn_avgpool2d(&g, img, av);
    for (int n = 0; n < g.n; n++)
        for (int oy = 0; oy < g.oh; oy++)
            for (int ox = 0; ox < g.ow; ox++)
                for (int c = 0; c < g.c; c++) {
                    float m = -FLT_MAX, a = 0.0f;
                    int cnt = 0;
                    for (int y = oy * g.sh - g.pt; y < oy * g.sh - g.pt + g.kh; y++)
                        for (int x = ox * g.sw - g.pl; x < ox * g.sw - g.pl + g.kw; x++) {
                            if (y < 0 || y >= g.h || x < 0 || x >= g.w)
                                continue;
                            float v = img[(((size_t)n * g.h + y) * g.w + x) * g.ldi + c];
                            m = v > m ? v : m, a += v, cnt++;
                        }
                    size_t o = (((size_t)n * g.oh + oy) * g.ow + ox) * g.ldo + c;
                    a /= (float)cnt;
                    assert_memory_equal(&mx[o], &m, sizeof m);
                    assert_true(memcmp(&av[o], &a, sizeof a) == 0 || (isnan(av[o]) && isnan(a)));
                }
    for (size_t r = 0; r < out_n / g.ldo; r++) /* padding columns untouched */
        assert_true(mx[r * g.ldo + 13] == 0.0f && av[r * g.ldo + 14] == 0.0f);
    free(img), free(mx), free(av);
}

/* The residual sums against the scalar expressions, bitwise, for every length 0..13
 * (vector groups and tails) and in place. */
static void test_residual_sums_match_plain_loops(void **state)
{
    (void)state;
    for (int n = 0; n <= 13; n++) {
        float *a = randv((size_t)n), *b = randv((size_t)n), o[13], p[13], q[13];
        const float s = 0.17f;
        fn_add_vec(o, a, b, n);
        fn_scale_add_vec(p, a, b, s, n);
        memcpy(q, a, sizeof(float) * (size_t)n);
        fn_scale_add_vec(q, q, b, s, n); /* in place */
        for (int i = 0; i < n; i++) {
            const float e_add = a[i] + b[i], e_sc = a[i] + b[i] * s;
            assert_memory_equal(&o[i], &e_add, sizeof(float));
            assert_memory_equal(&p[i], &e_sc, sizeof(float));
            assert_memory_equal(&q[i], &e_sc, sizeof(float));
        }
        free(a), free(b);
    }
}

static void test_layout_transposes_roundtrip(void **state)
{
    (void)state;
    float *a = randv(13 * 35), b[13 * 35], c[13 * 35];
    fn_chw_to_hwc(a, 13, 35, b);
    fn_hwc_to_chw(b, 13, 35, c);
    assert_true(tu_maxdiff(a, c, 13 * 35) == 0);
    assert_true(b[1] == a[35]); /* pixel 0, channel 1 */
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tf_padding_rule),
        cmocka_unit_test(test_conv_gemm_matches_naive),
        cmocka_unit_test(test_dense_gemm_matches_naive),
        cmocka_unit_test(test_pooling_same_excludes_padding),
        cmocka_unit_test(test_pooling_channels_match_plain_loops),
        cmocka_unit_test(test_residual_sums_match_plain_loops),
        cmocka_unit_test(test_layout_transposes_roundtrip),
    };
    return cmocka_run_group_tests_name("kernels", tests, NULL, NULL);
}
