/* test_winograd.c - the Winograd F(2x2,3x3) convolution (layers/winograd.c) against
 * the naive reference, for every instruction set this CPU has that runs it (AVX2,
 * AVX-512), on odd shapes: 1-pixel images, 1 and 3 channels, odd heights and widths
 * (tiles cut by the image edge), 'valid' and 'same' padding, channel and filter
 * counts that are not multiples of 8 or 16, strided rows in and out, a block of
 * tiles spanning images.  Also: bitwise the same at any thread count and batch
 * size, and the same for both instruction sets; geometries it does not cover are
 * refused by fn_winograd_fits. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/thread_pool.h"
#include "layers/kernels.h"
#include "lib/testutil.h"

static unsigned rng = 4242;
static float *randv(size_t n)
{
    return tu_randv(&rng, n);
}

static fn_pool *pool3;

static void run_wg(const fn_conv_geom *g, const float *in, const fn_winograd_w *w, fn_act act, float *out,
                   fn_pool *pool)
{
    size_t stride = fn_winograd_scratch(g) + 16;
    float *scratch = malloc(sizeof(float) * stride * (size_t)fn_pool_threads(pool));
    fn_conv2d_winograd(g, in, w, act, out, scratch, stride, pool);
    free(scratch);
}

/* |x| summed over the products of output (r, f): the scale of its rounding error */
static double abs_sum(const fn_conv_geom *g, const float *in, const float *k, const float *b, size_t r, int f)
{
    const int n = (int)(r / ((size_t)g->oh * g->ow)), oy = (int)(r / g->ow % g->oh), ox = (int)(r % g->ow);
    double s = fabs(b[f]);
    for (int ky = 0; ky < 3; ky++)
        for (int kx = 0; kx < 3; kx++) {
            int y = oy - g->pt + ky, x = ox - g->pl + kx;
            if (y < 0 || y >= g->h || x < 0 || x >= g->w)
                continue;
            const float *px = in + (((size_t)n * g->h + y) * g->w + x) * g->ldi;
            for (int c = 0; c < g->c; c++)
                s += fabs((double)px[c] * k[((size_t)(ky * 3 + kx) * g->c + c) * g->f + f]);
        }
    return s;
}

static void wg_case(int n, int h, int w, int c, int f, int same, int pad_i, int pad_o, fn_act act)
{
    fn_conv_geom g = {.n = n, .h = h, .w = w, .c = c, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .f = f};
    assert_int_equal(fn_window_out(h, 3, 1, same, &g.oh, &g.pt), 0);
    assert_int_equal(fn_window_out(w, 3, 1, same, &g.ow, &g.pl), 0);
    g.ldi = c + pad_i, g.ldo = f + pad_o;
    assert_true(fn_winograd_fits(&g) == (fn_cpu_isa() >= FN_ISA_AVX2));
    if (fn_cpu_isa() < FN_ISA_AVX2)
        return;
    float *in = randv((size_t)n * h * w * g.ldi), *k = randv((size_t)9 * c * f), *b = randv((size_t)f);
    const size_t rows = (size_t)n * g.oh * g.ow, on = rows * g.ldo;
    float *ref = calloc(on, sizeof(float)), *o1 = calloc(on, sizeof(float)), *o3 = calloc(on, sizeof(float));
    float *first = calloc(on, sizeof(float));
    fn_conv2d_naive(&g, in, k, b, ref);
    fn_apply_act(act, NULL, ref, rows, f, g.ldo);
    fn_winograd_w wg;
    assert_int_equal(fn_winograd_pack(k, b, c, f, &wg), 0);
    size_t checked = 0;
    const int hw = (int)fn_cpu_isa(); /* before forcing */
    for (int isa = FN_ISA_AVX2; isa <= hw; isa++) {
        fn_cpu_force_isa(isa);
        memset(o1, 0, sizeof(float) * on), memset(o3, 0, sizeof(float) * on);
        run_wg(&g, in, &wg, act, o1, NULL);
        run_wg(&g, in, &wg, act, o3, pool3);
        for (size_t r = 0; r < rows; r++) {
            for (int i = 0; i < f; i++) {
                float e = ref[r * g.ldo + i], a = o1[r * g.ldo + i];
                double tol = 1e-6 * (1.0 + abs_sum(&g, in, k, b, r, i)); /* ~8 ulps of the products' scale */
                if (!(fabs((double)a - e) <= tol))
                    fail_msg("%s: winograd n%d %dx%dx%d f%d %s act %d: row %zu ch %d naive %.9g winograd %.9g",
                             fn_isa_name((fn_isa)isa), n, h, w, c, f, same ? "same" : "valid", act, r, i, e, a);
                checked++;
            }
            for (int i = f; i < g.ldo; i++) /* padding columns of a strided output stay untouched */
                assert_true(o1[r * g.ldo + i] == 0.0f && o3[r * g.ldo + i] == 0.0f);
        }
        assert_memory_equal(o1, o3, sizeof(float) * on); /* thread count */
        fn_conv_geom one = g;
        one.n = 1;
        float *single = calloc(on, sizeof(float));
        const size_t in_img = (size_t)h * w * g.ldi, out_img = (size_t)g.oh * g.ow * g.ldo;
        run_wg(&one, in + (n - 1) * in_img, &wg, act, single, pool3);
        assert_memory_equal(single, o1 + (n - 1) * out_img, sizeof(float) * out_img); /* batch size */
        free(single);
        if (isa == FN_ISA_AVX2)
            memcpy(first, o1, sizeof(float) * on);
        else /* the same sums in the same order whatever the vector width */
            assert_memory_equal(first, o1, sizeof(float) * on);
    }
    fn_cpu_force_isa(-1);
    assert_true(checked == (size_t)(hw - FN_ISA_AVX2 + 1) * rows * (size_t)f); /* every ISA ran */
    fn_winograd_free(&wg);
    free(in), free(k), free(b), free(ref), free(o1), free(o3), free(first);
}

static void test_odd_shapes(void **state)
{
    (void)state;
    const fn_act acts[] = {FN_ACT_RELU, FN_ACT_LINEAR};
    for (int a = 0; a < 2; a++) {
        fn_act act = acts[a];
        wg_case(1, 1, 1, 3, 5, 1, 0, 0, act);     /* 1-pixel image, 'same': one tile, 3/4 outside */
        wg_case(3, 2, 3, 1, 17, 1, 0, 0, act);    /* 1 channel, tiles cut by the edge */
        wg_case(2, 6, 5, 3, 16, 0, 0, 0, act);    /* 'valid': 4x3 outputs */
        wg_case(1, 3, 3, 2, 1, 0, 0, 0, act);     /* 'valid' 1x1 output, one filter */
        wg_case(2, 7, 6, 13, 33, 1, 2, 3, act);   /* strided rows in and out, 33 filters */
        wg_case(1, 9, 9, 40, 20, 1, 0, 0, act);   /* 40 channels: 16 + 16 + 8 */
        wg_case(4, 17, 17, 6, 7, 1, 0, 0, act);   /* 81 tiles per image: blocks across images */
        wg_case(1, 35, 35, 32, 48, 1, 0, 0, act); /* several blocks, two panel groups (48 = 32 + 16) */
        wg_case(5, 4, 4, 70, 130, 1, 0, 0, act);  /* few tiles, many filters: column chunks */
    }
}

static void test_fits(void **state)
{
    (void)state;
    const int yes = fn_cpu_isa() >= FN_ISA_AVX2;
    fn_conv_geom g = {.kh = 3, .kw = 3, .sh = 1, .sw = 1};
    assert_int_equal(fn_winograd_fits(&g), yes);
    g.sh = 2;
    assert_int_equal(fn_winograd_fits(&g), 0); /* stride 2: the im2col path */
    g.sh = 1, g.sw = 2;
    assert_int_equal(fn_winograd_fits(&g), 0);
    g.sw = 1, g.kw = 1;
    assert_int_equal(fn_winograd_fits(&g), 0); /* 3x1 */
    g.kw = 3, g.kh = 5;
    assert_int_equal(fn_winograd_fits(&g), 0);
    fn_cpu_force_isa(FN_ISA_PORTABLE);
    g.kh = 3;
    assert_int_equal(fn_winograd_fits(&g), 0); /* no packed GEMM: no Winograd */
    fn_cpu_force_isa(-1);
}

static int setup(void **state)
{
    (void)state;
    return fn_pool_create(3, &pool3, NULL);
}

static int teardown(void **state)
{
    (void)state;
    fn_pool_free(pool3);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_odd_shapes),
        cmocka_unit_test(test_fits),
    };
    return cmocka_run_group_tests_name("winograd", tests, setup, teardown);
}
