/* test_gemm_packed.c - the engine's convolution (packed SGEMM with bias and
 * activation in its store, tiles split over a thread pool) against the naive
 * reference, for every instruction set this CPU has (portable/cblas, AVX2, AVX-512),
 * on odd shapes: 1-pixel images, 1 and 3 channels, stride 2, asymmetric 'same'
 * padding, filters that are not multiples of 16, K over one k-block, strided rows.
 * Also: the result does not depend on the thread count or the batch size (bitwise),
 * and the fused bias+activation pass matches the plain loops. */
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

static unsigned rng = 777;
static float *randv(size_t n)
{
    return tu_randv(&rng, n);
}

static fn_pool *pool3;

/* Run the engine's convolution on g (batch g->n) into out; scratch per thread. */
static void run_fast(const fn_conv_geom *g, const float *in, const fn_packed_b *pb, const float *k,
                     const float *b, fn_act act, float *out, fn_pool *pool)
{
    size_t stride = fn_conv2d_tile_scratch(g) + 16;
    float *scratch = malloc(sizeof(float) * stride * (size_t)fn_pool_threads(pool));
    fn_conv2d_packed(g, in, pb, k, b, act, out, scratch, stride, pool);
    free(scratch);
}

static void conv_case(int n, int h, int w, int c, int f, int kh, int kw, int s, int same, int pad_i, int pad_o,
                      fn_act act)
{
    fn_conv_geom g = {.n = n, .h = h, .w = w, .c = c, .kh = kh, .kw = kw, .sh = s, .sw = s, .f = f};
    assert_int_equal(fn_window_out(h, kh, s, same, &g.oh, &g.pt), 0);
    assert_int_equal(fn_window_out(w, kw, s, same, &g.ow, &g.pl), 0);
    g.ldi = c + pad_i, g.ldo = f + pad_o;
    const int K = kh * kw * c;
    float *in = randv((size_t)n * h * w * g.ldi), *k = randv((size_t)K * f), *b = randv((size_t)f);
    if (act == FN_ACT_RELU6) /* relu6 keeps NaN (the outputs of pixel 0 see it) */
        in[0] = NAN;
    const size_t rows = (size_t)n * g.oh * g.ow, on = rows * g.ldo;
    float *ref = calloc(on, sizeof(float)), *o1 = calloc(on, sizeof(float)), *o3 = calloc(on, sizeof(float));
    fn_conv2d_naive(&g, in, k, b, ref);
    fn_apply_act(act, NULL, ref, rows, f, g.ldo);
    fn_packed_b pb;
    size_t checked = 0;
    assert_int_equal(fn_gemm_pack_b(k, K, f, b, &pb), 0);
    const int hw = (int)fn_cpu_isa();
    for (int isa = FN_ISA_PORTABLE; isa <= hw; isa++) {
        fn_cpu_force_isa(isa);
        memset(o1, 0, sizeof(float) * on), memset(o3, 0, sizeof(float) * on);
        run_fast(&g, in, &pb, k, b, act, o1, NULL);
        run_fast(&g, in, &pb, k, b, act, o3, pool3);
        for (size_t r = 0; r < rows; r++) {
            for (int i = 0; i < f; i++) {
                float e = ref[r * g.ldo + i], a = o1[r * g.ldo + i];
                if (!(fabsf(a - e) <= 1e-4f * (1 + fabsf(e))) && !(isnan(a) && isnan(e)))
                    fail_msg("%s: conv n%d %dx%dx%d f%d k%dx%d s%d %s act %d: row %zu ch %d naive %g fast %g",
                             fn_isa_name((fn_isa)isa), n, h, w, c, f, kh, kw, s, same ? "same" : "valid", act, r,
                             i, e, a);
                checked++;
            }
            for (int i = f; i < g.ldo; i++) /* padding columns of a strided output stay untouched */
                assert_true(o1[r * g.ldo + i] == 0.0f && o3[r * g.ldo + i] == 0.0f);
        }
        if (isa > FN_ISA_PORTABLE) { /* the packed kernel: independent of threads and batch */
            assert_memory_equal(o1, o3, sizeof(float) * on);
            fn_conv_geom one = g;
            one.n = 1;
            float *single = calloc(on, sizeof(float));
            const size_t in_img = (size_t)h * w * g.ldi, out_img = (size_t)g.oh * g.ow * g.ldo;
            run_fast(&one, in + (n - 1) * in_img, &pb, k, b, act, single, pool3);
            assert_memory_equal(single, o1 + (n - 1) * out_img, sizeof(float) * out_img);
            free(single);
        }
    }
    fn_cpu_force_isa(-1);
    assert_true(checked == (size_t)(hw + 1) * rows * (size_t)f); /* every ISA ran */
    fn_packed_b_free(&pb);
    free(in), free(k), free(b), free(ref), free(o1), free(o3);
}

static void test_odd_shapes(void **state)
{
    (void)state;
    const fn_act acts[] = {FN_ACT_RELU, FN_ACT_LINEAR};
    for (int a = 0; a < 2; a++) {
        fn_act act = acts[a];
        conv_case(1, 1, 1, 3, 5, 3, 3, 1, 1, 0, 0, act);    /* 1-pixel image, 'same' 3x3 */
        conv_case(3, 1, 1, 1, 17, 1, 1, 1, 0, 0, 0, act);   /* 1x1 conv of 1-pixel images, 1 channel */
        conv_case(2, 6, 5, 3, 16, 3, 3, 2, 1, 0, 0, act);   /* stride 2, asymmetric 'same' padding */
        conv_case(2, 7, 6, 1, 33, 2, 2, 2, 1, 2, 3, act);   /* even kernel, strided rows in and out */
        conv_case(1, 9, 9, 40, 20, 3, 3, 1, 0, 0, 0, act);  /* K = 360, 49 rows: A fits the L2, one k-block */
        conv_case(1, 24, 24, 40, 20, 3, 3, 1, 1, 0, 0, act); /* K = 360, 576 rows: A does not, k in blocks */
        conv_case(2, 5, 7, 13, 31, 1, 7, 1, 1, 3, 1, act);  /* 1x7, 13 channels */
        conv_case(1, 23, 21, 8, 48, 1, 1, 1, 0, 0, 0, act); /* 1x1 over 483 pixels: several row tiles */
        conv_case(4, 17, 17, 6, 7, 3, 3, 1, 1, 0, 0, act);  /* 289-pixel images: two tiles each */
        conv_case(1, 3, 3, 64, 200, 1, 1, 1, 0, 0, 0, act); /* 9 rows, 13 panels: column chunks, rows 8 + 1 */
        conv_case(1, 1, 1, 300, 256, 1, 1, 1, 0, 0, 0, act); /* one row (the 1-row kernel), K = 300 in one block */
        conv_case(1, 2, 2, 7, 40, 1, 1, 1, 0, 0, 0, act);   /* 4 rows (the 4-row kernel), 40 filters */
        conv_case(2, 9, 9, 5, 20, 3, 3, 1, 1, 0, 0, act);   /* 162 rows > 20 filters: row tasks per thread */
    }
    conv_case(2, 4, 4, 5, 9, 3, 3, 1, 1, 0, 0, FN_ACT_SIGMOID); /* an activation applied after the store */
    /* relu6 in the store, K = 360 (sums well past 6): one k-block and several */
    conv_case(1, 9, 9, 40, 20, 3, 3, 1, 0, 0, 0, FN_ACT_RELU6);
    conv_case(1, 24, 24, 40, 20, 3, 3, 1, 1, 0, 0, FN_ACT_RELU6);
}

static void test_bias_act_matches_plain_loops(void **state)
{
    (void)state;
    const fn_act acts[] = {FN_ACT_LINEAR, FN_ACT_RELU, FN_ACT_RELU6, FN_ACT_TANH, FN_ACT_SOFTMAX};
    const int rows = 5, cols = 21, ld = 24;
    const int hw = (int)fn_cpu_isa();
    for (int isa = FN_ISA_PORTABLE; isa <= hw; isa++)
    for (size_t a = 0; a < sizeof acts / sizeof *acts; a++) {
        fn_cpu_force_isa(isa);
        float *x = randv((size_t)rows * ld), *b = randv(cols), *y = malloc(sizeof(float) * rows * ld);
        x[3] = NAN, x[ld + 9] = -0.0f;
        memcpy(y, x, sizeof(float) * rows * ld);
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < cols; i++)
                y[r * ld + i] += b[i];
        fn_apply_act(acts[a], NULL, y, rows, cols, ld);
        fn_bias_act(x, rows, cols, ld, b, acts[a]);
        for (int i = 0; i < rows * ld; i++)
            assert_true((isnan(x[i]) && isnan(y[i])) || memcmp(&x[i], &y[i], sizeof(float)) == 0);
        free(x), free(b), free(y);
    }
    fn_cpu_force_isa(-1);
}

static void count_task(void *arg, int task, int thread)
{
    int *hits = arg;
    assert_true(thread >= 0 && thread < 3);
    hits[task]++; /* each task runs on one thread only: no race */
}

static void test_pool_runs_every_task_once(void **state)
{
    (void)state;
    static int hits[1000];
    for (int round = 1; round <= 50; round++) {
        fn_pool_run(pool3, 1000 - round, count_task, hits);
        for (int t = 0; t < 1000 - round; t++)
            assert_int_equal(hits[t], 1);
        memset(hits, 0, sizeof hits);
    }
    fn_pool_run(NULL, 3, count_task, hits);
    assert_int_equal(hits[0] + hits[1] + hits[2], 3);
    assert_int_equal(fn_pool_threads(pool3), 3);
    assert_int_equal(fn_pool_threads(NULL), 1);
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
        cmocka_unit_test(test_bias_act_matches_plain_loops),
        cmocka_unit_test(test_pool_runs_every_task_once),
    };
    return cmocka_run_group_tests_name("gemm_packed", tests, setup, teardown);
}
