/* test_fullsize.c - the real 426-layer FaceNet architecture (../shared/models/keras-facenet)
 * with generated weights (tools/gen_weights, both layouts): loads, runs at batch 1 and 7,
 * gives finite output, a batch equals its images run one by one (<= 1e-5), and
 * `facenet info` reports 22,808,144 parameters. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/testutil.h"
#include "facenet.h"

static char *tmp, json[4096], h5w[4200], h5f[4200];

static int setup(void **state)
{
    (void)state;
    tmp = tu_tmpdir();
    snprintf(json, sizeof json, "%s", tu_shared("models/keras-facenet/model.json"));
    snprintf(h5w, sizeof h5w, "%s/weights.h5", tmp);
    snprintf(h5f, sizeof h5f, "%s/full.h5", tmp);
    char cmd[40000], *out, *err;
    snprintf(cmd, sizeof cmd, "%s --model-json %s -o %s --seed 7 && %s --model-json %s -o %s --seed 7 --layout full",
             tu_build("tools/gen_weights"), json, h5w, tu_build("tools/gen_weights"), json, h5f);
    int st = tu_run(cmd, &out, &err);
    if (st)
        fprintf(stderr, "gen_weights failed: %s\n", err);
    free(out);
    free(err);
    return st ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    remove(h5w);
    remove(h5f);
    remove(tmp);
    free(tmp);
    return 0;
}

static void fill_inputs(float *x, size_t n)
{
    unsigned s = 99;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)((s >> 8) & 0xffff) / 65535.0f;
    }
}

static void test_batch_1_and_7(void **state)
{
    (void)state;
    fn_net *net;
    fn_err err = {0};
    fn_load_opts o = {.model_json = json, .weights = h5w};
    if (fn_net_load(&o, &net, &err))
        fail_msg("%s", err.msg);
    const size_t per = 160 * 160 * 3;
    float *x = malloc(sizeof(float) * per * 7), single[7][128];
    fill_inputs(x, per * 7);
    for (int k = 0; k < 7; k++) {
        assert_int_equal(fn_net_run(net, x + k * per, 1, NULL, &err), 0);
        fn_shape s;
        const float *o1 = fn_net_output(net, 0, &s);
        assert_int_equal(fn_shape_count(&s), 128);
        memcpy(single[k], o1, sizeof single[k]);
        for (int i = 0; i < 128; i++)
            assert_true(isfinite(single[k][i]));
    }
    assert_true(tu_maxdiff(single[0], single[1], 128) > 1e-3); /* different inputs differ */
    assert_int_equal(fn_net_run(net, x, 7, NULL, &err), 0);
    const float *ob = fn_net_output(net, 0, NULL);
    double worst = 0;
    for (int k = 0; k < 7; k++)
        worst = fmax(worst, tu_maxdiff(ob + k * 128, single[k], 128));
    printf("  batch 7 vs one by one: max diff %.2e\n", worst);
    assert_true(worst <= 1e-5);
    free(x);
    fn_net_free(net);
}

static void test_full_layout_without_json_same_result(void **state)
{
    (void)state;
    fn_net *a, *b;
    fn_err err = {0};
    fn_load_opts oa = {.model_json = json, .weights = h5w}, ob = {.weights = h5f};
    if (fn_net_load(&oa, &a, &err) || fn_net_load(&ob, &b, &err))
        fail_msg("%s", err.msg);
    const size_t per = 160 * 160 * 3;
    float *x = malloc(sizeof(float) * per);
    fill_inputs(x, per);
    assert_int_equal(fn_net_run(a, x, 1, NULL, &err), 0);
    assert_int_equal(fn_net_run(b, x, 1, NULL, &err), 0);
    assert_true(tu_maxdiff(fn_net_output(a, 0, NULL), fn_net_output(b, 0, NULL), 128) == 0);
    free(x);
    fn_net_free(a);
    fn_net_free(b);
}

static void test_info_parameter_count(void **state)
{
    (void)state;
    char cmd[12000], *out, *err;
    snprintf(cmd, sizeof cmd, "%s info --model-json %s --weights %s", tu_build("facenet"), json, h5w);
    assert_int_equal(tu_run(cmd, &out, &err), 0);
    assert_non_null(strstr(out, "parameters:   22808144\n"));
    assert_non_null(strstr(out, "layers:       426"));
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_1_and_7),
        cmocka_unit_test(test_full_layout_without_json_same_result),
        cmocka_unit_test(test_info_parameter_count),
    };
    return cmocka_run_group_tests_name("full-size keras-facenet, generated weights", tests, setup, teardown);
}
