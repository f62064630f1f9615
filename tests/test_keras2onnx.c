/* test_keras2onnx.c - the Keras -> ONNX converter (tools/lib/keras_onnx.c) and its
 * protobuf writer/reader (tools/lib/onnx_writer.c).
 *
 * Structural half (always): the golden keras-facenet-mini and five keras-real models
 * (full-model files, channels_first, a Theano kernel flip, PReLU with two outputs and
 * a symbolic input size, Flatten before Dense) are converted into a temporary
 * directory and read back: opset 13, every node input defined before use, every
 * initializer's byte count matching its dims; the initializers named after Keras
 * weights hold exactly fn_net_param_count values, one per declared weight; every
 * layer that computes something has its node, every node belongs to a layer, and the
 * mini FaceNet has one Conv per Conv2D (132).  Unsupported layers and unwritable or
 * malformed files fail with a message naming the layer or file.
 *
 * ONNX Runtime half (when node and onnxruntime-node are installed: scripts/ort_setup.sh,
 * run by `make test`): the same files run in ONNX Runtime through bench/ort_bench.js on
 * the models' own inputs (two faces as one batch for the mini FaceNet) and the outputs
 * match the engine's within 1e-4 of the largest output magnitude.  Without ONNX
 * Runtime that half is skipped with the reason printed. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../tools/lib/keras_onnx.h"
#include "../tools/lib/onnx_writer.h"
#include "facenet.h"
#include "lib/testutil.h"

#define MINI "golden/keras-facenet-mini"

typedef struct {
    const char *dir;       /* under the shared data */
    int has_json;          /* model.json beside model.h5 (else a model.save() file) */
} real_model;

static const real_model reals[] = {
    {"keras-real/tiny-resnet8-k2.4.0", 0},       {"keras-real/mtcnn-pnet-k2.2.0", 0},
    {"keras-real/dl4j-simpleconv2d-cf-k2.3.1", 0}, {"keras-real/dl4j-conv2d-theano-k2.1.3", 0},
    {"keras-real/hls4ml-conv2d-k2.0.0", 1},
};

/* ---- reading a converted file back ---- */

typedef struct {
    fn_net *net;
    int bad_node;              /* a node whose name is not "<layer>" or "<layer>/..." */
    char bad_name[256];
    int *has_node;             /* per layer */
    int keras_inits, const_inits, convs;
    size_t keras_values;
} readback;

static int layer_index(fn_net *net, const char *name, size_t len)
{
    for (int i = 0; i < fn_net_n_layers(net); i++) {
        fn_layer_info L;
        fn_net_layer_info(net, i, &L);
        if (strlen(L.name) == len && !strncmp(L.name, name, len))
            return i;
    }
    return -1;
}

static void on_node(void *ctx, const char *op, const char *name)
{
    readback *r = ctx;
    const char *slash = strchr(name, '/');
    size_t len = slash ? (size_t)(slash - name) : strlen(name);
    int i = layer_index(r->net, name, len);
    if (i < 0 && !r->bad_node)
        r->bad_node = 1, snprintf(r->bad_name, sizeof r->bad_name, "%s", name);
    else if (i >= 0)
        r->has_node[i] = 1;
    r->convs += !strcmp(op, "Conv");
}

static void on_init(void *ctx, const char *name, size_t values)
{
    readback *r = ctx;
    if (!strncmp(name, "const:", 6)) {
        r->const_inits++;
    } else {
        r->keras_inits++;
        r->keras_values += values;
    }
}

/* Convert shared-data dir's model (weights: h5_rel inside it) into tmp/<dir>.onnx and
 * check the file; returns its path (static). */
static const char *convert_and_check(const char *tmp, const char *dir, int has_json, const char *h5_rel, int batch,
                                     int *convs)
{
    char *json = has_json ? tu_shared_dup(tu_path_in(dir, "model.json")) : NULL;
    char *h5 = tu_shared_dup(tu_path_in(dir, h5_rel));
    const char *slash = strrchr(dir, '/');
    static char out[4096];
    snprintf(out, sizeof out, "%s/%s.onnx", tmp, slash ? slash + 1 : dir);
    fn_k2o_opts o = {.model_json = json, .weights = h5, .batch = batch};
    fn_k2o_result res;
    fn_err err = {0};
    if (fn_keras_to_onnx(&o, out, &res, &err))
        fail_msg("%s: %s", dir, err.msg);

    fn_net *net;
    fn_load_opts lo = {.model_json = json, .weights = h5};
    if (fn_net_load(&lo, &net, &err))
        fail_msg("%s: %s", dir, err.msg);
    readback r = {.net = net, .has_node = calloc((size_t)fn_net_n_layers(net), sizeof(int))};
    assert_non_null(r.has_node);
    fn_onnx_summary s = {.on_node = on_node, .on_initializer = on_init, .ctx = &r};
    if (fn_onnx_read(out, &s, &err))
        fail_msg("%s: %s", dir, err.msg);
    assert_int_equal(s.opset, 13);
    assert_int_equal(s.ir_version, FN_ONNX_IR_VERSION);
    assert_int_equal(s.n.inputs, 1);
    assert_int_equal(s.n.outputs, fn_net_n_outputs(net));
    assert_int_equal(s.n.nodes, res.n.nodes);
    assert_int_equal(s.n.initializers, res.n.initializers);
    if (r.bad_node)
        fail_msg("%s: node %s belongs to no layer", dir, r.bad_name);
    /* the Keras weights, all of them, once */
    assert_int_equal(r.keras_values, fn_net_param_count(net));
    assert_int_equal(r.keras_values, res.keras_values);
    int declared = 0;
    for (int i = 0; i < fn_net_n_layers(net); i++) {
        fn_layer_info L;
        fn_net_layer_info(net, i, &L);
        declared += L.n_weights;
        /* identities at inference (Dropout, linear Activation) and the input have none */
        int computes = (L.executed || L.folded_into) && strcmp(L.class_name, "InputLayer");
        if (computes && !r.has_node[i])
            fail_msg("%s: layer %s (%s) has no node", dir, L.name, L.class_name);
    }
    assert_int_equal(r.keras_inits, declared);
    if (convs)
        *convs = r.convs;
    free(r.has_node);
    fn_net_free(net);
    free(json);
    free(h5);
    return out;
}

static void test_mini_structure(void **state)
{
    (void)state;
    char *tmp = tu_tmpdir();
    int convs;
    convert_and_check(tmp, MINI, 1, "seed11/model.h5", 0, &convs);
    assert_int_equal(convs, 132);
    /* a fixed batch is written into the input's first dim; the structure is the same */
    convert_and_check(tmp, MINI, 1, "seed11/model.h5", 4, NULL);
    tu_rmtree(tmp);
    free(tmp);
}

static void test_real_structure(void **state)
{
    (void)state;
    char *tmp = tu_tmpdir();
    for (size_t i = 0; i < sizeof reals / sizeof *reals; i++)
        convert_and_check(tmp, reals[i].dir, reals[i].has_json, "model.h5", 0, NULL);
    tu_rmtree(tmp);
    free(tmp);
}

static void test_errors(void **state)
{
    (void)state;
    char *tmp = tu_tmpdir();
    char *h5 = tu_shared_dup("keras-real/fer-mini-xception-k2.0.5/model.h5");
    fn_k2o_opts o = {.weights = h5};
    fn_err err = {0};
    const char *out = tu_path_in(tmp, "x.onnx");
    /* a layer without a conversion (or the engine's support) is named */
    assert_int_equal(fn_keras_to_onnx(&o, out, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "separable_conv2d_1"));
    assert_non_null(strstr(err.msg, "SeparableConv2D"));
    free(h5);
    /* an unwritable path: an I/O error naming it, nothing left behind */
    char *json = tu_shared_dup(MINI "/model.json"), *w = tu_shared_dup(MINI "/seed11/model.h5");
    fn_k2o_opts m = {.model_json = json, .weights = w};
    const char *bad = tu_path_in(tmp, "no/such/dir/x.onnx");
    assert_int_equal(fn_keras_to_onnx(&m, bad, NULL, &err), -1);
    assert_int_equal(err.kind, FN_E_IO);
    assert_non_null(strstr(err.msg, "no/such/dir/x.onnx"));
    /* truncated and non-protobuf files are refused by the reader */
    out = tu_path_in(tmp, "mini.onnx");
    assert_int_equal(fn_keras_to_onnx(&m, out, NULL, &err), 0);
    size_t len;
    unsigned char *data = tu_read_must(out, &len);
    const char *cut = tu_path_in(tmp, "cut.onnx");
    tu_write_must(cut, data, len / 2);
    fn_onnx_summary s = {0};
    assert_int_equal(fn_onnx_read(cut, &s, &err), -1);
    assert_int_equal(err.kind, FN_E_FORMAT);
    assert_int_equal(fn_onnx_read(json, &s, &err), -1);
    free(data);
    free(json);
    free(w);
    tu_rmtree(tmp);
    free(tmp);
}

/* ---- ONNX Runtime agreement ---- */

static int ort_available(void)
{
    char *out = NULL, *err = NULL;
    int rc = tu_run("node -e \"require('./build/ort/node_modules/onnxruntime-node')\"", &out, &err);
    free(out);
    free(err);
    return rc == 0;
}

/* Run onnx on n samples of per-sample shape s from `input` in both runtimes. */
static void agree(const char *what, const char *onnx, const char *json, const char *h5, const char *input,
                  const fn_shape *s, int n, const char *tmp)
{
    fn_net *net;
    fn_err err = {0};
    fn_load_opts lo = {.model_json = json, .weights = h5};
    if (fn_net_load(&lo, &net, &err))
        fail_msg("%s: %s", what, err.msg);
    size_t len;
    float *x = (float *)tu_read_must(input, &len);
    assert_int_equal(len, fn_shape_count(s) * n * sizeof(float));
    if (fn_net_run(net, x, n, s, &err))
        fail_msg("%s: %s", what, err.msg);
    char cmd[8192], shape[64];
    snprintf(shape, sizeof shape, "%d", s->d[0]);
    for (int d = 1; d < s->rank; d++)
        snprintf(shape + strlen(shape), sizeof shape - strlen(shape), ",%d", s->d[d]);
    const char *dump = tu_path_in(tmp, "ort_out.f32");
    snprintf(cmd, sizeof cmd, "node bench/ort_bench.js --model '%s' --input '%s' --shape %s --batch %d "
             "--runs 1 --warmup 0 --dump '%s'", onnx, input, shape, n, dump);
    char *out = NULL, *errs = NULL;
    if (tu_run(cmd, &out, &errs))
        fail_msg("%s: %s failed: %s", what, cmd, errs);
    free(out);
    free(errs);
    float *got = (float *)tu_read_must(dump, &len);
    size_t off = 0;
    for (int i = 0; i < fn_net_n_outputs(net); i++) {
        fn_shape os;
        const float *want = fn_net_output(net, i, &os);
        size_t cnt = fn_shape_count(&os) * n;
        assert_true((off + cnt) * sizeof(float) <= len);
        double mag = 0;
        for (size_t k = 0; k < cnt; k++)
            mag = fmax(mag, fabs(want[k]));
        double d = tu_maxdiff(got + off, want, cnt);
        printf("    %s output %d: %zu values, max |ORT - engine| %.2e (largest |value| %.3g)\n", what, i, cnt, d, mag);
        if (!(d <= 1e-4 * fmax(mag, 1e-30)))
            fail_msg("%s: output %d differs by %g (relative %g)", what, i, d, d / mag);
        off += cnt;
    }
    assert_int_equal(off * sizeof(float), len);
    free(got);
    free(x);
    fn_net_free(net);
}

static void test_ort_agreement(void **state)
{
    (void)state;
    if (!ort_available()) {
        printf("    onnxruntime-node is not installed in build/ort (scripts/ort_setup.sh): "
               "skipping the ONNX Runtime comparison; the structural checks ran\n");
        skip();
    }
    char *tmp = tu_tmpdir();
    /* the mini FaceNet, two faces in one batch */
    char *json = tu_shared_dup(MINI "/model.json"), *h5 = tu_shared_dup(MINI "/seed11/model.h5");
    const char *onnx = convert_and_check(tmp, MINI, 1, "seed11/model.h5", 0, NULL);
    size_t la, lb;
    unsigned char *a = tu_read_must(tu_shared(MINI "/inputs/andrew.f32"), &la);
    unsigned char *b = tu_read_must(tu_shared(MINI "/inputs/camera_0.f32"), &lb);
    unsigned char *ab = malloc(la + lb);
    assert_non_null(ab);
    memcpy(ab, a, la);
    memcpy(ab + la, b, lb);
    const char *pair = tu_path_in(tmp, "pair.f32");
    tu_write_must(pair, ab, la + lb);
    fn_shape face = {3, {160, 160, 3}};
    agree("keras-facenet-mini", onnx, json, h5, pair, &face, 2, tmp);
    free(a), free(b), free(ab), free(json), free(h5);
    /* the keras-real models on their own inputs (expected.json lists them) */
    for (size_t i = 0; i < sizeof reals / sizeof *reals; i++) {
        char *exp = tu_shared_dup(tu_path_in(reals[i].dir, "expected.json"));
        cJSON *e = tu_read_json(exp);
        assert_non_null(e);
        json = reals[i].has_json ? tu_shared_dup(tu_path_in(reals[i].dir, "model.json")) : NULL;
        h5 = tu_shared_dup(tu_path_in(reals[i].dir, "model.h5"));
        onnx = convert_and_check(tmp, reals[i].dir, reals[i].has_json, "model.h5", 0, NULL);
        char onnx_path[4096];
        snprintf(onnx_path, sizeof onnx_path, "%s", onnx);
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(e, "cases"))
        {
            const cJSON *in = cJSON_GetObjectItem(c, "input"), *shape = cJSON_GetObjectItem(in, "shape");
            fn_shape s = {cJSON_GetArraySize(shape) - 1, {0}};
            for (int d = 0; d < s.rank; d++)
                s.d[d] = cJSON_GetArrayItem(shape, d + 1)->valueint;
            char *input = tu_shared_dup(tu_path_in(reals[i].dir, cJSON_GetObjectItem(in, "file")->valuestring));
            agree(reals[i].dir, onnx_path, json, h5, input, &s, 1, tmp);
            free(input);
        }
        cJSON_Delete(e);
        free(exp), free(json), free(h5);
    }
    tu_rmtree(tmp);
    free(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mini_structure),
        cmocka_unit_test(test_real_structure),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_ort_agreement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
