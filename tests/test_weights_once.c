/* test_weights_once.c - a convolution's weights live once in memory: packed for the
 * GEMM at load, the Keras-layout copy released (conv2d.c), and rebuilt from the panels
 * when something needs that layout:
 *  - after loading the dlib ResNet every packed Conv2D kernel is released, and the
 *    planned batch of 16 builds its Winograd weights from the panels: outputs at
 *    batch 1 and 16 equal, bit for bit, those of a net whose kernels were restored
 *    (fn_net_set_reference on, then off: both copies kept);
 *  - the reference kernels on the restored weights agree with the fast path (1e-4);
 *  - the instruction set capped to "portable" after loading (fn_limit_isa) runs the
 *    packed weights in plain C and agrees too;
 *  - restoring twice changes nothing. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facenet.h"
#include "lib/testutil.h"
#include "net/graph.h"

#define DIR "weights/dlib-resnet"
#define B 16

static fn_net *load(void)
{
    fn_load_opts o = {.model_json = DIR "/model.json", .weights = DIR "/model.h5", .threads = 2};
    fn_net *net = NULL;
    fn_err err = {0};
    if (fn_net_load(&o, &net, &err))
        fail_msg("%s (run `make weights`)", err.msg);
    return net;
}

/* Conv2D kernels released (data gone) and kept, of net. */
static void count_kernels(const fn_net *net, int *released, int *kept)
{
    *released = *kept = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const fn_layer *L = &net->layers[i];
        if (strcmp(L->op->class_name, "Conv2D"))
            continue;
        for (int k = 0; k < L->n_w; k++)
            if (!strcmp(L->w[k].name, "kernel")) {
                assert_true(L->w[k].released ? L->w[k].data == NULL : L->w[k].data != NULL);
                *released += L->w[k].released;
                *kept += !L->w[k].released;
            }
    }
}

/* net's 128 outputs for n images of x, into out. */
static void run(fn_net *net, const float *x, int n, float *out)
{
    fn_err err = {0};
    if (fn_net_run(net, x, n, NULL, &err))
        fail_msg("%s", err.msg);
    fn_shape s;
    const float *y = fn_net_output(net, 0, &s);
    assert_int_equal(fn_shape_count(&s), 128);
    memcpy(out, y, sizeof(float) * 128 * (size_t)n);
}

static double max_rel(const float *a, const float *b, size_t n)
{
    double m = 0, scale = 0;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(b[i]));
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i] - b[i]) / (scale > 0 ? scale : 1));
    return m;
}

static void test_weights_once(void **state)
{
    (void)state;
    const size_t per = 150 * 150 * 3;
    float *x = malloc(sizeof(float) * per * B);
    unsigned rng = 99;
    for (size_t i = 0; i < per * B; i++)
        x[i] = tu_frand(&rng) * 255.0f;
    float *a1 = malloc(sizeof(float) * 128), *a16 = malloc(sizeof(float) * 128 * B);
    float *b1 = malloc(sizeof(float) * 128), *b16 = malloc(sizeof(float) * 128 * B);
    float *r = malloc(sizeof(float) * 128 * B);

    fn_net *once = load(), *both = load();
    int rel, kept;
    count_kernels(once, &rel, &kept);
    print_message("dlib ResNet: %d Conv2D kernels released after packing, %d kept\n", rel, kept);
    assert_true(rel == 32 && kept == 0); /* every convolution of the net */
    fn_err err = {0};
    assert_int_equal(fn_net_set_reference(both, 1, &err), 0);
    assert_int_equal(fn_net_set_reference(both, 1, &err), 0); /* again: nothing to rebuild */
    assert_int_equal(fn_net_set_reference(both, 0, &err), 0);
    count_kernels(both, &rel, &kept);
    assert_true(rel == 0 && kept == 32);

    /* batch 16 plans Winograd weights: from the panels (once) or the kernel (both) */
    run(once, x, 1, a1), run(once, x, B, a16);
    run(both, x, 1, b1), run(both, x, B, b16);
    assert_memory_equal(a1, b1, sizeof(float) * 128);
    assert_memory_equal(a16, b16, sizeof(float) * 128 * B);

    /* the reference kernels on the rebuilt weights */
    assert_int_equal(fn_net_set_reference(once, 1, &err), 0);
    run(once, x, 2, r);
    double d = max_rel(r, a16, 128 * 2);
    print_message("reference kernels vs fast path: %.2g (relative to the largest value)\n", d);
    assert_true(d < 1e-4);
    assert_int_equal(fn_net_set_reference(once, 0, &err), 0);
    fn_net_free(once);

    /* capped to plain C after packing: the panels in the portable loop */
    once = load();
    assert_int_equal(fn_limit_isa("portable"), 0);
    run(once, x, 2, r);
    assert_int_equal(fn_limit_isa("avx512"), 0); /* back to what the CPU has */
    d = max_rel(r, a16, 128 * 2);
    print_message("portable packed path vs fast path: %.2g\n", d);
    assert_true(d < 1e-4);

    fn_net_free(once);
    fn_net_free(both);
    free(x), free(a1), free(a16), free(b1), free(b16), free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weights_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
