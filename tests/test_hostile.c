/* test_hostile.c - regressions for what a robustness review found: hostile configs,
 * corrupted HDF5 files that crash or hang libhdf5 itself, overflowing shapes, and CLI
 * paths that must not lose data.  Every case: a clear one-line error (status 2) or the
 * right answer, never a crash. */
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

static char *tmp;

static int setup(void **state)
{
    (void)state;
    tmp = tu_tmpdir();
    return tmp ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int rc = tu_rmtree(tmp);
    free(tmp);
    return rc;
}

static const char *tmpfile_with(const char *name, const void *data, size_t len)
{
    static char p[8][4400];
    static int k;
    char *b = p[k++ % 8];
    snprintf(b, sizeof p[0], "%s/%s", tmp, name);
    assert_int_equal(tu_write(b, data, len), 0);
    return b;
}

/* Functional model around one layer config (input shape given), as text. */
static const char *model(const char *name, const char *shape, const char *layers)
{
    size_t cap = strlen(layers) + 1024;
    char *text = malloc(cap);
    snprintf(text, cap,
             "{\"class_name\": \"Functional\", \"config\": {\"name\": \"m\", \"layers\": ["
             "{\"class_name\": \"InputLayer\", \"name\": \"in\", \"config\": {\"name\": \"in\", \"batch_input_shape\": %s}, \"inbound_nodes\": []},"
             "%s], \"input_layers\": [[\"in\", 0, 0]], \"output_layers\": [[\"out\", 0, 0]]}}",
             shape, layers);
    const char *p = tmpfile_with(name, text, strlen(text));
    free(text);
    return p;
}

static void expect_load_error(const char *json, const char *needle)
{
    fn_net *net = NULL;
    fn_err err = {0};
    fn_load_opts o = {.model_json = json};
    assert_int_equal(fn_net_load(&o, &net, &err), -1);
    assert_null(net);
    if (!strstr(err.msg, needle))
        fail_msg("error '%s' lacks '%s'", err.msg, needle);
    assert_null(strchr(err.msg, '\n'));
}

static void test_global_pool_keepdims(void **state)
{
    (void)state;
    const char *j = model("gap.json", "[null, 2, 2, 3]",
                          "{\"class_name\": \"GlobalAveragePooling2D\", \"name\": \"out\", \"config\": {\"name\": \"out\", \"keepdims\": true}, \"inbound_nodes\": [[[\"in\", 0, 0, {}]]]}");
    fn_net *net;
    fn_err err = {0};
    fn_load_opts o = {.model_json = j};
    if (fn_net_load(&o, &net, &err))
        fail_msg("%s", err.msg);
    const float x[12] = {1, 2, 3, 3, 4, 5, 5, 6, 7, 7, 8, 9};
    assert_int_equal(fn_net_run(net, x, 1, NULL, &err), 0);
    fn_shape s;
    const float *y = fn_net_output(net, 0, &s);
    assert_int_equal(s.rank, 3);
    assert_int_equal(s.d[2], 3);
    assert_true(y[0] == 4 && y[1] == 5 && y[2] == 6);
    fn_net_free(net);
}

static void test_hostile_configs(void **state)
{
    (void)state;
    expect_load_error(model("s.json", "[null, 8, 8, 1]",
                            "{\"class_name\": \"Conv2D\", \"name\": \"out\", \"config\": {\"name\": \"out\", \"filters\": 2, \"kernel_size\": 3, \"strides\": 1e30}, \"inbound_nodes\": [[[\"in\", 0, 0, {}]]]}"),
                      "strides");
    expect_load_error(model("k.json", "[null, 8, 8, 1]",
                            "{\"class_name\": \"Conv2D\", \"name\": \"out\", \"config\": {\"name\": \"out\", \"filters\": 2, \"kernel_size\": [2.9, 2.9]}, \"inbound_nodes\": [[[\"in\", 0, 0, {}]]]}"),
                      "kernel_size");
    expect_load_error(model("a.json", "[null, 4]",
                            "{\"class_name\": \"Dense\", \"name\": \"out\", \"config\": {\"name\": \"out\", \"units\": 2, \"activation\": {\"class_name\": \"LeakyReLU\", \"config\": {}}}, \"inbound_nodes\": [[[\"in\", 0, 0, {}]]]}"),
                      "activation");
    expect_load_error(model("p.json", "[null, 8, 8, 1]",
                            "{\"class_name\": \"Conv2D\", \"name\": \"out\", \"config\": {\"name\": \"out\", \"filters\": 2, \"kernel_size\": 3, \"padding\": 1}, \"inbound_nodes\": [[[\"in\", 0, 0, {}]]]}"),
                      "padding");
    expect_load_error(model("zp.json", "[null, 8, 8, 1]",
                            "{\"class_name\": \"ZeroPadding2D\", \"name\": \"out\", \"config\": {\"name\": \"out\", \"padding\": [[1, 2], [3]]}, \"inbound_nodes\": [[[\"in\", 0, 0, {}]]]}"),
                      "config 'padding'");
    /* shapes whose sums overflow int */
    char layers[16384];
    size_t k = 0;
    k += (size_t)snprintf(layers + k, sizeof layers - k,
                          "{\"class_name\": \"Concatenate\", \"name\": \"out\", \"config\": {\"name\": \"out\", \"axis\": 1}, \"inbound_nodes\": [[");
    for (int i = 0; i < 22; i++)
        k += (size_t)snprintf(layers + k, sizeof layers - k, "%s[\"in\", 0, 0, {}]", i ? ", " : "");
    snprintf(layers + k, sizeof layers - k, "]]}");
    expect_load_error(model("cat.json", "[null, 100000000, 1, 1]", layers), "too large");
    /* 2200 paddings of 1e6 rows each: the height passes 2^31 */
    size_t cap = 2200 * 200, n = 0;
    char *chain = malloc(cap);
    for (int i = 0; i < 2200; i++) {
        char me[32], src[32];
        snprintf(me, sizeof me, i == 2199 ? "out" : "z%d", i);
        snprintf(src, sizeof src, i ? "z%d" : "in", i - 1);
        n += (size_t)snprintf(chain + n, cap - n,
                              "%s{\"class_name\": \"ZeroPadding2D\", \"name\": \"%s\", \"config\": {\"padding\": "
                              "[[1000000, 0], [0, 0]]}, \"inbound_nodes\": [[[\"%s\", 0, 0, {}]]]}",
                              i ? "," : "", me, src);
    }
    expect_load_error(model("zpo.json", "[null, 8, 8, 1]", chain), "too large");
    free(chain);
}

/* channels_first Conv2D with activation softmax: Keras applies it over the last axis (W) */
static void test_channels_first_conv_softmax_axis(void **state)
{
    (void)state;
    const char *fused = model("cf1.json", "[null, 2, 3, 4]",
                              "{\"class_name\": \"Conv2D\", \"name\": \"out\", \"config\": {\"name\": \"out\", \"filters\": 2, \"kernel_size\": 1, \"data_format\": \"channels_first\", \"activation\": \"softmax\"}, \"inbound_nodes\": [[[\"in\", 0, 0, {}]]]}");
    char h5[4400], cmd[20000], *out, *err;
    snprintf(h5, sizeof h5, "%s/cf.h5", tmp);
    snprintf(cmd, sizeof cmd, "%s --model-json %s -o %s", tu_build("tools/gen_weights"), fused, h5);
    assert_int_equal(tu_run(cmd, &out, &err), 0);
    free(out), free(err);
    fn_net *net;
    fn_err e = {0};
    fn_load_opts o = {.model_json = fused, .weights = h5};
    if (fn_net_load(&o, &net, &e))
        fail_msg("%s", e.msg);
    float x[24];
    for (int i = 0; i < 24; i++)
        x[i] = (float)(i % 7) - 3;
    assert_int_equal(fn_net_run(net, x, 1, NULL, &e), 0);
    const float *y = fn_net_output(net, 0, NULL); /* (2 filters, 3 rows, 4 columns) */
    for (int r = 0; r < 6; r++) {
        double s = 0;
        for (int c = 0; c < 4; c++)
            s += y[r * 4 + c];
        assert_true(fabs(s - 1) < 1e-6); /* each row of W sums to 1 */
    }
    fn_net_free(net);
}

/* one byte changed in a real file makes libhdf5 1.10 crash or spin */
static void test_corrupt_hdf5_crash_and_hang(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        long offset;
        unsigned char value;
        const char *needle;
    } cases[] = {
        {"keras-real/tiny-resnet8-k2.14.0/model.h5", 22647, 0xf2, "corrupt"},
        {"keras-real/dl4j-conv2d-theano-k2.1.3/model.h5", 2217, 0x35, "corrupt"},
        {"keras-real/tiny-resnet8-k2.14.0/model.h5", 24121, 0x2c, "did not finish"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t len;
        char *data = tu_read(tu_shared(cases[i].file), &len);
        assert_non_null(data);
        assert_true((size_t)cases[i].offset < len);
        data[cases[i].offset] = (char)cases[i].value;
        char name[32];
        snprintf(name, sizeof name, "corrupt%zu.h5", i);
        const char *p = tmpfile_with(name, data, len);
        free(data);
        char cmd[8000], *out, *err;
        snprintf(cmd, sizeof cmd, "FACENET_LOAD_TIMEOUT=5 %s info --weights %s", tu_build("facenet"), p);
        int st = tu_run(cmd, &out, &err);
        if (st != 2 || !strstr(err, p) || !strstr(err, cases[i].needle))
            fail_msg("%s: status %d, stderr %s", p, st, err);
        assert_null(strchr(strchr(err, '\n') + 1, '\n')); /* one line */
        free(out), free(err);
    }
}

static void test_cli_shapes_and_outputs(void **state)
{
    (void)state;
    char cmd[20000], *out, *err;
    const char *x = tmpfile_with("x.f32", "\0\0\0\0\0\0\0\0", 8);
    const char *m = tu_shared("keras-real/mtcnn-pnet-k2.2.0/model.h5");
    snprintf(cmd, sizeof cmd, "%s embed --weights %s --raw %s --input-shape 1000000x1000000x1000000x1000000",
             tu_build("facenet"), m, x);
    assert_int_equal(tu_run(cmd, &out, &err), 2);
    free(out), free(err);
    snprintf(cmd, sizeof cmd, "%s info --weights %s --input-shape 100000x100000x3", tu_build("facenet"), m);
    assert_int_equal(tu_run(cmd, &out, &err), 2);
    assert_non_null(strstr(err, "too large"));
    free(out), free(err);
    snprintf(cmd, sizeof cmd, "%s info --weights %s --input-shape 9x9x9", tu_build("facenet"),
             tu_shared("keras-real/tiny-resnet8-k2.4.0/model.h5"));
    assert_int_equal(tu_run(cmd, &out, &err), 2);
    assert_non_null(strstr(err, "does not match"));
    free(out), free(err);
    /* encode: previous outputs survive a run where nothing could be encoded */
    char model[8192], o1[4400];
    snprintf(model, sizeof model, "--model-json %s --weights %s", tu_shared("golden/keras-facenet-mini/model.json"),
             tu_shared("golden/keras-facenet-mini/seed11/model.h5"));
    snprintf(o1, sizeof o1, "%s/keep.npy", tmp);
    snprintf(cmd, sizeof cmd, "%s encode %s %s -o %s", tu_build("facenet"), model, tu_shared("images/happy-house/kian.jpg"), o1);
    assert_int_equal(tu_run(cmd, &out, &err), 0);
    free(out), free(err);
    size_t before_len, after_len;
    char *before = tu_read(o1, &before_len);
    const char *bad = tmpfile_with("bad.jpg", "not a jpeg", 10);
    snprintf(cmd, sizeof cmd, "%s encode %s %s -o %s", tu_build("facenet"), model, bad, o1);
    assert_int_equal(tu_run(cmd, &out, &err), 2);
    char *after = tu_read(o1, &after_len);
    assert_int_equal(before_len, after_len);
    assert_memory_equal(before, after, before_len);
    free(before), free(after), free(out), free(err);
    snprintf(cmd, sizeof cmd, "%s encode %s %s -o %s/out.txt", tu_build("facenet"), model,
             tu_shared("images/happy-house/kian.jpg"), tmp);
    assert_int_equal(tu_run(cmd, &out, &err), 2); /* refused before any work */
    assert_non_null(strstr(err, "unknown output format"));
    free(out), free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_global_pool_keepdims),
        cmocka_unit_test(test_hostile_configs),
        cmocka_unit_test(test_channels_first_conv_softmax_axis),
        cmocka_unit_test(test_corrupt_hdf5_crash_and_hang),
        cmocka_unit_test(test_cli_shapes_and_outputs),
    };
    return cmocka_run_group_tests_name("hostile input (review regressions)", tests, setup, teardown);
}
