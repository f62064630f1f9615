/* test_public_api.c - the engine through include/facenet.h alone, the way a program
 * linking the installed library sees it.  This file is compiled with -Iinclude only
 * (no src/, no cJSON or HDF5 include paths; see the Makefile), so it also proves the
 * public header stands on its own.  Checks: loading and running the golden
 * keras-facenet-mini model; the per-layer descriptions agree with the net's totals;
 * the sandboxed load gives bit-identical outputs; errors name the file; the one L2
 * normalisation kernel. */
#include "facenet.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char *shared(const char *rel)
{
    static char buf[4][4096];
    static int k;
    const char *root = getenv("FACENET_SHARED");
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", root && *root ? root : "../shared", rel);
    return buf[k];
}

static float *read_input(const char *path, size_t count)
{
    FILE *f = fopen(path, "rb");
    float *v = malloc(count * sizeof *v);
    if (!f || !v || fread(v, sizeof *v, count, f) != count)
        fail_msg("%s: cannot read %zu floats", path, count);
    fclose(f);
    return v;
}

static fn_net *load_mini(int sandbox)
{
    fn_net *net = NULL;
    fn_err err;
    char json[4096], h5[4096];
    snprintf(json, sizeof json, "%s", shared("golden/keras-facenet-mini/model.json"));
    snprintf(h5, sizeof h5, "%s", shared("golden/keras-facenet-mini/seed11/model.h5"));
    fn_load_opts o = {.model_json = json, .weights = h5, .sandbox = sandbox};
    if (fn_net_load(&o, &net, &err))
        fail_msg("%s", err.msg);
    return net;
}

static void test_run_and_describe(void **state)
{
    (void)state;
    fn_net *net = load_mini(0);
    fn_shape in = fn_net_input_shape(net);
    assert_int_equal(in.rank, 3);
    assert_int_equal((int)fn_shape_count(&in), 160 * 160 * 3);
    float *x = read_input(shared("golden/keras-facenet-mini/inputs/camera_0.f32"), fn_shape_count(&in));
    fn_err err;
    assert_int_equal(fn_net_run(net, x, 1, NULL, &err), 0);
    fn_shape os;
    const float *y = fn_net_output(net, 0, &os);
    assert_non_null(y);
    assert_int_equal((int)fn_shape_count(&os), 128);
    for (int i = 0; i < 128; i++)
        assert_true(isfinite(y[i]));

    /* the descriptions add up to the net's own figures */
    int n = fn_net_n_layers(net), executed = 0;
    size_t params = 0;
    double macs = 0;
    fn_layer_info li;
    assert_int_equal(fn_net_layer_info(net, n, &li), -1);
    fn_net_layer_info(net, fn_net_input_layer(net), &li);
    assert_string_equal(li.class_name, "InputLayer");
    for (int i = 0; i < n; i++) {
        assert_int_equal(fn_net_layer_info(net, i, &li), 0);
        params += li.params;
        macs += li.macs;
        executed += li.executed;
        for (int j = 0; j < li.n_inputs; j++)
            assert_true(li.inputs[j] >= 0 && li.inputs[j] < i); /* execution order */
        if (!li.executed) {
            continue;
        }
        size_t bytes = fn_shape_count(&li.out_shape) * sizeof(float);
        if (li.buffer == i) /* a buffer of its own lies inside the activation arena */
            assert_true(li.offset_bytes + bytes <= fn_net_activation_bytes(net));
        if (!strcmp(li.class_name, "Lambda"))
            assert_string_equal(li.op, "Lambda:scale_sum");
        for (int k = 0; k < li.n_weights; k++) {
            fn_weight_info wi;
            assert_int_equal(fn_net_weight_info(net, i, k, &wi), 0);
            assert_true(wi.rank >= 1 && wi.rank <= FN_MAX_RANK);
        }
    }
    assert_true(params == fn_net_param_count(net));
    assert_true(fabs(macs - fn_net_macs(net)) <= 1e-6 * macs);
    assert_true(executed < n); /* BatchNorms were folded */
    int folded = 0;
    for (int i = 0; i < n; i++) {
        fn_net_layer_info(net, i, &li);
        if (li.folded_into) {
            fn_layer_info into;
            int found = 0;
            for (int k = 0; k < n && !found; k++) {
                fn_net_layer_info(net, k, &into);
                found = !strcmp(into.name, li.folded_into) && into.executed;
            }
            assert_true(found);
            folded++;
        }
    }
    assert_true(folded > 0);

    /* the sandboxed load reads the same weights: bit-identical outputs */
    float *y0 = malloc(128 * sizeof *y0);
    memcpy(y0, y, 128 * sizeof *y0);
    fn_net *sb = load_mini(1);
    assert_int_equal(fn_net_run(sb, x, 1, NULL, &err), 0);
    assert_memory_equal(fn_net_output(sb, 0, NULL), y0, 128 * sizeof *y0);
    fn_net_free(sb);
    fn_net_free(net);
    free(y0);
    free(x);
}

static void test_errors_name_the_file(void **state)
{
    (void)state;
    fn_net *net = (fn_net *)1;
    fn_err err = {0};
    fn_load_opts o = {.model_json = "/nonexistent/model.json", .weights = "/nonexistent/model.h5"};
    assert_int_equal(fn_net_load(&o, &net, &err), -1);
    assert_null(net);
    assert_int_equal(err.kind, FN_E_IO);
    assert_non_null(strstr(err.msg, "/nonexistent/model.json"));
    /* a weights file that is not HDF5, read in the sandbox: a clean error from the child */
    char json[4096];
    snprintf(json, sizeof json, "%s", shared("golden/keras-facenet-mini/model.json"));
    fn_load_opts s = {.model_json = json, .weights = json, .sandbox = 1};
    assert_int_equal(fn_net_load(&s, &net, &err), -1);
    assert_non_null(strstr(err.msg, json));
    assert_null(strchr(err.msg, '\n'));
}

static void test_l2_normalize(void **state)
{
    (void)state;
    float v[3] = {3, 0, 4}, z[2] = {0, 0};
    fn_l2_normalize(v, 3);
    assert_true(v[0] == 0.6f && v[1] == 0.0f && v[2] == 0.8f);
    fn_l2_normalize(z, 2);
    assert_true(z[0] == 0.0f && z[1] == 0.0f); /* a zero vector stays zero */
    float t[2] = {1e-30f, 0};                  /* below the epsilon: scaled by 1e6, not blown up */
    fn_l2_normalize(t, 2);
    assert_true(t[0] == (float)(1e-30f * 1e6) && t[1] == 0.0f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_and_describe),
        cmocka_unit_test(test_errors_name_the_file),
        cmocka_unit_test(test_l2_normalize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
