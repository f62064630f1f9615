/* test_faceapi_nets.c - face-api's detection and landmark nets, converted by
 * `make weights` (tools/faceapi_nets2keras) into weights/{ssd-mobilenetv1,
 * tiny-face-detector,face-landmark-68,face-landmark-68-tiny}, run by the generic engine
 * on the stage dumps of ../shared/golden/faceapi-detect (face-api 1.7.15, tfjs wasm):
 *  - SSD on ssd_input.f32: MobileNet layer 11 (conv_11) and 13 (conv_13, face-api's
 *    "features"), exposed as extra outputs of the same model (model.json with more
 *    output_layers, as Keras' Model(inputs, [...]) would), the raw box encodings
 *    [5118, 4] and class logits [5118, 3]: max |diff| <= 1e-4 x (max - min) of face-api's;
 *  - the tiny detector's raw 13x13x25 grid, the same bound;
 *  - both landmark nets on the dumped 112x112 crops (the full net on the 5 crops of both
 *    dumps, the tiny net's output only has no dump: it runs and gives 136 values in range);
 *  - the SSD's anchors.f32 equals face-api's Output/extra_dim bit for bit, and each
 *    facenet.json is accepted by the profile parser.
 * Fast (folded, GEMM) path and naive reference path (no folding) for every net; the SSD's
 * reference run checks its final outputs only.  weights/ must exist (`make test` runs `make weights` first). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "app/profile.h"
#include "facenet.h"
#include "lib/testutil.h"

static float *dump(const char *det, const char *file, size_t want_floats)
{
    char rel[512];
    snprintf(rel, sizeof rel, "golden/faceapi-detect/dump-%s/%s", det, file);
    size_t len;
    float *v = (float *)tu_read(tu_shared(rel), &len);
    if (!v)
        fail_msg("cannot read %s", tu_shared(rel));
    assert_int_equal(len, want_floats * sizeof(float));
    return v;
}

static fn_net *load(const char *dir, const char *json, int reference)
{
    char js[4200], h5[4200];
    snprintf(js, sizeof js, "%s", json ? json : tu_path_in(dir, "model.json"));
    snprintf(h5, sizeof h5, "%s", tu_path_in(dir, "model.h5"));
    fn_load_opts o = {.model_json = js, .weights = h5, .no_fuse = reference};
    fn_net *net;
    fn_err err = {0};
    if (fn_net_load(&o, &net, &err))
        fail_msg("%s (run `make weights`)", err.msg);
    if (fn_net_set_reference(net, reference, &err))
        fail_msg("%s", err.msg);
    return net;
}

/* Output `name` of the last run against want (n values): max |diff| <= 1e-4 * range. */
static void compare(const fn_net *net, const char *name, const float *want, size_t n, const char *what)
{
    int idx = -1;
    for (int i = 0; i < fn_net_n_outputs(net); i++)
        if (!strcmp(fn_net_output_name(net, i), name))
            idx = i;
    if (idx < 0)
        fail_msg("no output %s", name);
    fn_shape s;
    const float *got = fn_net_output(net, idx, &s);
    assert_int_equal(fn_shape_count(&s), n);
    float lo = want[0], hi = want[0];
    for (size_t i = 0; i < n; i++)
        lo = fminf(lo, want[i]), hi = fmaxf(hi, want[i]);
    double d = tu_maxdiff(got, want, n), range = hi - lo;
    printf("  %-34s max |diff| %.3e  range %.4g  relative %.3e\n", what, d, range, d / range);
    if (!(d <= 1e-4 * range))
        fail_msg("%s: max diff %.3g > 1e-4 x range %.3g", what, d, range);
}

static void run(fn_net *net, const float *x, int size)
{
    fn_shape s = {3, {size, size, 3, 0}};
    fn_err err = {0};
    if (fn_net_run(net, x, 1, &s, &err))
        fail_msg("%s", err.msg);
}

/* weights/ssd-mobilenetv1/model.json with conv_11 and conv_13 added to its outputs. */
static char *ssd_json_with_features(const char *tmp)
{
    cJSON *m = tu_read_json("weights/ssd-mobilenetv1/model.json");
    assert_non_null(m);
    cJSON *outs = cJSON_GetObjectItem(cJSON_GetObjectItem(m, "config"), "output_layers");
    const char *extra[2] = {"conv_11", "conv_13"};
    for (int i = 0; i < 2; i++) {
        cJSON *r = cJSON_CreateArray();
        cJSON_AddItemToArray(r, cJSON_CreateString(extra[i]));
        cJSON_AddItemToArray(r, cJSON_CreateNumber(0));
        cJSON_AddItemToArray(r, cJSON_CreateNumber(0));
        cJSON_AddItemToArray(outs, r);
    }
    char *text = cJSON_PrintUnformatted(m), *path = strdup(tu_path_in(tmp, "model.json"));
    tu_write_text(path, text);
    cJSON_free(text);
    cJSON_Delete(m);
    return path;
}

static void test_ssd_stages(void **state)
{
    (void)state;
    float *x = dump("ssd", "ssd_input.f32", 512 * 512 * 3);
    float *c11 = dump("ssd", "ssd_conv11.f32", 32 * 32 * 512), *c13 = dump("ssd", "ssd_features.f32", 16 * 16 * 1024);
    float *box = dump("ssd", "ssd_box_encodings.f32", 5118 * 4), *cls = dump("ssd", "ssd_class_predictions.f32", 5118 * 3);
    char *tmp = tu_tmpdir(), *json = ssd_json_with_features(tmp);
    fn_net *net = load("weights/ssd-mobilenetv1", json, 0);
    run(net, x, 512);
    compare(net, "conv_11", c11, 32 * 32 * 512, "ssd conv_11 [32,32,512]");
    compare(net, "conv_13", c13, 16 * 16 * 1024, "ssd conv_13 (features) [16,16,1024]");
    compare(net, "box_encodings", box, 5118 * 4, "ssd box_encodings [5118,4]");
    compare(net, "class_predictions", cls, 5118 * 3, "ssd class_predictions [5118,3]");
    fn_net_free(net);
    /* the model as converted: two outputs, the same values */
    net = load("weights/ssd-mobilenetv1", NULL, 0);
    assert_int_equal(fn_net_n_outputs(net), 2);
    assert_string_equal(fn_net_output_name(net, 0), "box_encodings");
    assert_string_equal(fn_net_output_name(net, 1), "class_predictions");
    run(net, x, 512);
    compare(net, "box_encodings", box, 5118 * 4, "ssd box_encodings (2-output model)");
    compare(net, "class_predictions", cls, 5118 * 3, "ssd class_predictions (2-output model)");
    fn_net_free(net);
    /* the naive reference kernels, nothing folded (BatchNorm runs as its own op) */
    net = load("weights/ssd-mobilenetv1", NULL, 1);
    run(net, x, 512);
    compare(net, "box_encodings", box, 5118 * 4, "ssd box_encodings (reference)");
    compare(net, "class_predictions", cls, 5118 * 3, "ssd class_predictions (reference)");
    fn_net_free(net);
    tu_rmtree(tmp);
    free(tmp), free(json), free(x), free(c11), free(c13), free(box), free(cls);
}

static void test_ssd_anchors_and_profiles(void **state)
{
    (void)state;
    float *want = dump("ssd", "ssd_anchors.f32", 5118 * 4);
    size_t len;
    float *got = (float *)tu_read("weights/ssd-mobilenetv1/anchors.f32", &len);
    assert_non_null(got);
    assert_int_equal(len, 5118 * 4 * sizeof(float));
    assert_memory_equal(got, want, len);
    free(got), free(want);
    const char *nets[4] = {"ssd-mobilenetv1", "tiny-face-detector", "face-landmark-68", "face-landmark-68-tiny"};
    const int size[4] = {512, 416, 112, 112};
    for (int i = 0; i < 4; i++) {
        char dir[256];
        snprintf(dir, sizeof dir, "weights/%s", nets[i]);
        fn_profile p;
        fn_err err = {0};
        if (fn_profile_load(tu_path_in(dir, "facenet.json"), size[i], size[i], &p, &err))
            fail_msg("%s", err.msg);
        assert_int_equal(p.in_h, size[i]);
        assert_int_equal(p.l2_normalize, 0);
        cJSON *d = tu_read_json(tu_path_in(dir, "detector.json")), *o;
        assert_non_null(d);
        assert_int_equal(cJSON_GetObjectItem(d, "input_size")->valueint, size[i]);
        /* every output detector.json describes is a model output of that shape */
        fn_net *net = load(dir, NULL, 0);
        fn_shape in = {3, {size[i], size[i], 3, 0}};
        if (fn_net_plan(net, 1, &in, &err))
            fail_msg("%s", err.msg);
        int described = 0;
        cJSON_ArrayForEach(o, cJSON_GetObjectItem(d, "outputs"))
        {
            const char *layer = cJSON_GetObjectItem(o, "layer")->valuestring;
            const cJSON *shape = cJSON_GetObjectItem(o, "shape");
            int found = 0;
            for (int k = 0; k < fn_net_n_outputs(net); k++) {
                if (strcmp(fn_net_output_name(net, k), layer))
                    continue;
                fn_shape s;
                fn_net_output(net, k, &s);
                assert_int_equal(s.rank, cJSON_GetArraySize(shape));
                for (int r = 0; r < s.rank; r++)
                    assert_int_equal(s.d[r], cJSON_GetArrayItem(shape, r)->valueint);
                found = 1;
            }
            if (!found)
                fail_msg("%s: detector.json output %s is not a model output", dir, layer);
            described++;
        }
        assert_int_equal(described, fn_net_n_outputs(net));
        fn_net_free(net);
        cJSON_Delete(d);
    }
}

static void test_tiny_detector_grid(void **state)
{
    (void)state;
    float *x = dump("tiny", "tiny_input.f32", 416 * 416 * 3), *want = dump("tiny", "tiny_output.f32", 13 * 13 * 25);
    for (int reference = 0; reference <= 1; reference++) {
        fn_net *net = load("weights/tiny-face-detector", NULL, reference);
        run(net, x, 416);
        compare(net, "conv8", want, 13 * 13 * 25, reference ? "tiny conv8 [13,13,25] (reference)" : "tiny conv8 [13,13,25]");
        fn_net_free(net);
    }
    free(x), free(want);
}

static void test_landmark_nets(void **state)
{
    (void)state;
    static const struct {
        const char *det;
        int face;
    } crops[] = {{"ssd", 0}, {"ssd", 1}, {"ssd", 2}, {"tiny", 0}, {"tiny", 1}};
    for (int reference = 0; reference <= 1; reference++) {
        fn_net *net = load("weights/face-landmark-68", NULL, reference);
        fn_net *tiny = load("weights/face-landmark-68-tiny", NULL, reference);
        for (size_t c = 0; c < sizeof crops / sizeof *crops; c++) {
            char f[64], what[96];
            snprintf(f, sizeof f, "face%d_landmark_input.f32", crops[c].face);
            float *x = dump(crops[c].det, f, 112 * 112 * 3);
            snprintf(f, sizeof f, "face%d_landmark_output.f32", crops[c].face);
            float *want = dump(crops[c].det, f, 136);
            run(net, x, 112);
            snprintf(what, sizeof what, "landmarks %s face%d fc [136]%s", crops[c].det, crops[c].face,
                     reference ? " (ref)" : "");
            compare(net, "fc", want, 136, what);
            /* the tiny landmark net has no dump: it must give 136 finite values near the crop */
            run(tiny, x, 112);
            fn_shape s;
            const float *t = fn_net_output(tiny, 0, &s);
            assert_int_equal(fn_shape_count(&s), 136);
            double dev = 0;
            for (int i = 0; i < 136; i++) {
                assert_true(isfinite(t[i]) && t[i] > -0.5f && t[i] < 1.5f);
                dev = fmax(dev, fabs(t[i] - want[i]));
            }
            assert_true(dev < 0.2); /* the same face: both nets put the points close together */
            free(x), free(want);
        }
        fn_net_free(net);
        fn_net_free(tiny);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ssd_stages),
        cmocka_unit_test(test_ssd_anchors_and_profiles),
        cmocka_unit_test(test_tiny_detector_grid),
        cmocka_unit_test(test_landmark_nets),
    };
    return cmocka_run_group_tests_name("face-api detection and landmark nets", tests, NULL, NULL);
}
