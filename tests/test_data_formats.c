/* test_data_formats.c - every spatial op in both data formats: the same small network
 * written once channels_last and once channels_first (same layer names, so
 * gen_weights gives both identical weights) must give the same output for the same
 * image (HWC vs CHW), with the fast kernels and with the naive reference, fused and
 * unfused.  Shapes are deliberately odd: 5x7 input, 13 channels, 3x1/1x7 kernels,
 * stride 2 'same', asymmetric zero padding. */
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
#include "facenet.h"

static const char *MODEL =
    "{\"class_name\": \"Functional\", \"config\": {\"name\": \"m\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"name\": \"in\", \"config\": {\"name\": \"in\", \"batch_input_shape\": %s}, \"inbound_nodes\": []},"
    "{\"class_name\": \"Conv2D\", \"name\": \"c1\", \"config\": {\"name\": \"c1\", \"filters\": 6, \"kernel_size\": [3, 1], \"strides\": [2, 2], \"padding\": \"same\", \"data_format\": \"%s\", \"use_bias\": true, \"activation\": \"linear\"}, \"inbound_nodes\": [[[\"in\", 0, 0, {}]]]},"
    "{\"class_name\": \"BatchNormalization\", \"name\": \"bn\", \"config\": {\"name\": \"bn\", \"axis\": %d, \"epsilon\": 0.001, \"center\": true, \"scale\": true}, \"inbound_nodes\": [[[\"c1\", 0, 0, {}]]]},"
    "{\"class_name\": \"Activation\", \"name\": \"r\", \"config\": {\"name\": \"r\", \"activation\": \"relu\"}, \"inbound_nodes\": [[[\"bn\", 0, 0, {}]]]},"
    "{\"class_name\": \"ZeroPadding2D\", \"name\": \"zp\", \"config\": {\"name\": \"zp\", \"padding\": [[1, 2], [0, 1]], \"data_format\": \"%s\"}, \"inbound_nodes\": [[[\"r\", 0, 0, {}]]]},"
    "{\"class_name\": \"MaxPooling2D\", \"name\": \"mp\", \"config\": {\"name\": \"mp\", \"pool_size\": [3, 3], \"strides\": [2, 2], \"padding\": \"same\", \"data_format\": \"%s\"}, \"inbound_nodes\": [[[\"zp\", 0, 0, {}]]]},"
    "{\"class_name\": \"Conv2D\", \"name\": \"c2\", \"config\": {\"name\": \"c2\", \"filters\": 5, \"kernel_size\": [1, 7], \"strides\": [1, 1], \"padding\": \"same\", \"data_format\": \"%s\", \"use_bias\": false, \"activation\": \"tanh\"}, \"inbound_nodes\": [[[\"zp\", 0, 0, {}]]]},"
    "{\"class_name\": \"AveragePooling2D\", \"name\": \"ap\", \"config\": {\"name\": \"ap\", \"pool_size\": [2, 2], \"strides\": [2, 2], \"padding\": \"same\", \"data_format\": \"%s\"}, \"inbound_nodes\": [[[\"c2\", 0, 0, {}]]]},"
    "{\"class_name\": \"Concatenate\", \"name\": \"cat\", \"config\": {\"name\": \"cat\", \"axis\": %d}, \"inbound_nodes\": [[[\"mp\", 0, 0, {}], [\"ap\", 0, 0, {}]]]},"
    "{\"class_name\": \"GlobalAveragePooling2D\", \"name\": \"gap\", \"config\": {\"name\": \"gap\", \"data_format\": \"%s\"}, \"inbound_nodes\": [[[\"cat\", 0, 0, {}]]]},"
    "{\"class_name\": \"Dense\", \"name\": \"fc\", \"config\": {\"name\": \"fc\", \"units\": 4, \"use_bias\": true, \"activation\": \"softmax\"}, \"inbound_nodes\": [[[\"gap\", 0, 0, {}]]]}"
    "], \"input_layers\": [[\"in\", 0, 0]], \"output_layers\": [[\"fc\", 0, 0]]}}";

static char *tmp;

static void write_model(const char *name, int cf, char *json, char *h5)
{
    const char *df = cf ? "channels_first" : "channels_last";
    char text[8192];
    snprintf(text, sizeof text, MODEL, cf ? "[null, 13, 5, 7]" : "[null, 5, 7, 13]", df, cf ? 1 : 3, df, df, df, df,
             cf ? 1 : -1, df);
    sprintf(json, "%s/%s.json", tmp, name);
    sprintf(h5, "%s/%s.h5", tmp, name);
    assert_int_equal(tu_write(json, text, strlen(text)), 0);
    char cmd[20000], *out, *err;
    snprintf(cmd, sizeof cmd, "%s --model-json %s -o %s --seed 3", tu_build("tools/gen_weights"), json, h5);
    if (tu_run(cmd, &out, &err))
        fail_msg("gen_weights: %s", err);
    free(out);
    free(err);
}

static void run(const char *json, const char *h5, int no_fuse, int reference, const float *x, int n, float *out)
{
    fn_net *net;
    fn_err err = {0};
    fn_load_opts o = {.model_json = json, .weights = h5, .no_fuse = no_fuse};
    if (fn_net_load(&o, &net, &err))
        fail_msg("%s", err.msg);
    if (fn_net_set_reference(net, reference, &err))
        fail_msg("%s", err.msg);
    if (fn_net_run(net, x, n, NULL, &err))
        fail_msg("%s", err.msg);
    memcpy(out, fn_net_output(net, 0, NULL), sizeof(float) * 4 * n);
    fn_net_free(net);
}

static void test_channels_first_equals_channels_last(void **state)
{
    (void)state;
    tmp = tu_tmpdir();
    char jl[4300], hl[4300], jf[4300], hf[4300];
    write_model("last", 0, jl, hl);
    write_model("first", 1, jf, hf);
    enum { N = 3, HW = 35, C = 13 };
    float x[N * HW * C], xt[N * HW * C];
    unsigned s = 5;
    for (int i = 0; i < N * HW * C; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
    for (int k = 0; k < N; k++)
        fn_hwc_to_chw(x + k * HW * C, C, HW, xt + k * HW * C);
    float ref[N * 4], got[N * 4];
    run(jl, hl, 1, 1, x, N, ref);
    const struct {
        int cf, fuse_off, reference;
    } variants[] = {{0, 0, 0}, {0, 1, 0}, {1, 1, 1}, {1, 0, 0}, {1, 1, 0}};
    for (size_t v = 0; v < sizeof variants / sizeof *variants; v++) {
        run(variants[v].cf ? jf : jl, variants[v].cf ? hf : hl, variants[v].fuse_off, variants[v].reference,
            variants[v].cf ? xt : x, N, got);
        double d = tu_maxdiff(ref, got, N * 4);
        if (d > 1e-5)
            fail_msg("variant %zu (cf=%d unfused=%d naive=%d): max diff %.3g", v, variants[v].cf, variants[v].fuse_off,
                     variants[v].reference, d);
    }
    assert_true(fabs(ref[0] + ref[1] + ref[2] + ref[3] - 1.0) < 1e-5); /* softmax */
    assert_int_equal(tu_rmtree(tmp), 0);
    free(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_channels_first_equals_channels_last),
    };
    return cmocka_run_group_tests_name("data formats", tests, NULL, NULL);
}
