/* test_trace.c - `facenet trace` and the engine's observer hook (issue 12):
 *  - the observer sees every executed layer once, in order, with the output the
 *    public API reports; a nonzero return stops the run with an error naming the layer;
 *  - trace's layers, shapes and multiply-adds equal `facenet info --layers`'s, for the
 *    default model (weights/dlib-resnet) and the keras-facenet-mini golden model, fused
 *    and --no-fuse;
 *  - the dumped activations of the default model equal face-api's per-block references
 *    (golden/faceapi-resnet/layers-wasm-lfw_Abdullah_Gul_0013) within 1e-4, from the
 *    exact reference input (--raw) and from the PNG chip, fused and --no-fuse; the
 *    mini model's fused dump (residual scales folded, then divided out again) equals its
 *    --no-fuse dump;
 *  - --json: one parseable line per layer with statistics that fit the values;
 *  - the image is prepared as encode prepares it, also aligned from --landmarks (the
 *    dumped fc equals encode's raw output);
 *  - --maps draws a PNG of the documented size; bad --maps names are refused. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>
#include <cmocka.h>

#include "facenet.h"
#include "lib/testutil.h"

#define REF "golden/faceapi-resnet/layers-wasm-lfw_Abdullah_Gul_0013"
#define RAW "golden/faceapi-resnet/input-tensors/lfw__Abdullah_Gul_0013.f32"
#define CHIP "golden/faceapi-resnet/inputs/lfw/Abdullah_Gul_0013.png"

static char *tmp, dlib[4200], mini[8400];

__attribute__((format(printf, 3, 4))) static void fmt(char *buf, size_t cap, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(buf, cap, f, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap)
        fail_msg("command line too long");
}

/* stdout of a facenet command that must succeed (malloc'd) */
static char *facenet_ok(const char *args)
{
    static char cmd[20000];
    char *out, *err;
    fmt(cmd, sizeof cmd, "%s %s", tu_build("facenet"), args);
    int st = tu_run(cmd, &out, &err);
    if (st != 0)
        fail_msg("%s: status %d, stderr: %s", cmd, st, err);
    free(err);
    return out;
}

static void facenet_refused(const char *args, const char *needle)
{
    static char cmd[20000];
    char *out, *err;
    fmt(cmd, sizeof cmd, "%s %s", tu_build("facenet"), args);
    int st = tu_run(cmd, &out, &err);
    if (st != 2 || !strstr(err, needle) || strchr(err, '\n') != err + strlen(err) - 1)
        fail_msg("%s: status %d, stderr: %s (want 2 and one line with '%s')", cmd, st, err, needle);
    free(out), free(err);
}

static int setup(void **state)
{
    (void)state;
    tmp = tu_tmpdir();
    const char *m = getenv("FACENET_MODEL");
    snprintf(dlib, sizeof dlib, "--model %s", m && *m ? m : "weights/dlib-resnet");
    snprintf(mini, sizeof mini, "--model-json %s --weights %s", tu_shared("golden/keras-facenet-mini/model.json"),
             tu_shared("golden/keras-facenet-mini/seed11/model.h5"));
    return tmp ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int rc = tu_rmtree(tmp);
    free(tmp);
    return rc;
}

/* ---- the observer, through the public API ---- */
typedef struct {
    fn_net *net;
    int calls, last, stop_at, order_ok;
    double last_value;
} watch;

static int observer(void *user, const fn_layer_output *o)
{
    watch *w = user;
    fn_layer_info li;
    fn_net_layer_info(w->net, o->layer, &li);
    w->order_ok &= o->layer > w->last && li.executed && o->n == 1 && o->cols == li.out_shape.d[li.out_shape.rank - 1] &&
                   o->ld >= o->cols && o->rows * (size_t)o->cols == fn_shape_count(&li.out_shape) && o->seconds >= 0;
    w->last = o->layer;
    w->last_value = o->data[0];
    w->calls++;
    return w->calls == w->stop_at;
}

static void test_observer(void **state)
{
    (void)state;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", dlib + strlen("--model "));
    fn_net *net;
    fn_err err = {0};
    if (fn_net_load_dir(dir, 0, &net, &err))
        fail_msg("%s", err.msg);
    size_t bytes;
    float *in = (float *)tu_read_must(tu_shared(RAW), &bytes);
    watch w = {net, 0, -1, 0, 1, 0};
    fn_net_set_observer(net, observer, &w);
    assert_int_equal(fn_net_run(net, in, 1, NULL, &err), 0);
    int executed = 0;
    for (int i = 0; i < fn_net_n_layers(net); i++) {
        fn_layer_info li;
        fn_net_layer_info(net, i, &li);
        executed += li.executed;
        assert_true(li.out_scale == 1.0f); /* the dlib ResNet has no residual scales */
    }
    assert_int_equal(w.calls, executed);
    assert_true(w.order_ok);
    assert_int_equal(w.last, fn_net_output_layer(net, 0));
    assert_true(w.last_value == fn_net_output(net, 0, NULL)[0]);
    /* stopping: the run fails and names the layer */
    w = (watch){net, 0, -1, 5, 1, 0};
    assert_int_equal(fn_net_run(net, in, 1, NULL, &err), -1);
    assert_int_equal(err.kind, FN_E_ARG);
    fn_layer_info li;
    fn_net_layer_info(net, w.last, &li);
    assert_non_null(strstr(err.msg, li.name));
    assert_int_equal(w.calls, 5);
    /* removed: runs as before */
    fn_net_set_observer(net, NULL, NULL);
    w.calls = 0;
    assert_int_equal(fn_net_run(net, in, 1, NULL, &err), 0);
    assert_int_equal(w.calls, 0);
    free(in);
    fn_net_free(net);
}

/* ---- trace agrees with info ---- */
static void compare_with_info(const char *model, const char *extra)
{
    char args[9000];
    fmt(args, sizeof args, "info --layers %s %s", model, extra);
    char *info = facenet_ok(args);
    fmt(args, sizeof args, "trace --json %s %s %s", model, extra, tu_shared(CHIP));
    char *trace = facenet_ok(args);
    const char *table = strstr(info, "\n#    layer");
    assert_non_null(table);
    table = strchr(table + 1, '\n') + 1;
    char *save = NULL, *line = strtok_r(trace, "\n", &save);
    int n = 0;
    for (; line; line = strtok_r(NULL, "\n", &save), n++) {
        cJSON *j = cJSON_Parse(line);
        if (!j)
            fail_msg("trace --json line %d does not parse: %s", n, line);
        int idx;
        char name[256], cls[64], shape[64];
        size_t params;
        double macs;
        if (sscanf(table, "%d %255s %63s %63s %zu %lf", &idx, name, cls, shape, &params, &macs) != 6)
            fail_msg("info --layers: cannot read the row for layer %d", n);
        table = strchr(table, '\n') + 1;
        assert_int_equal(cJSON_GetObjectItem(j, "index")->valueint, idx);
        assert_string_equal(cJSON_GetObjectItem(j, "layer")->valuestring, name);
        assert_string_equal(cJSON_GetObjectItem(j, "class")->valuestring, cls);
        char ts[64] = "";
        cJSON *d;
        cJSON_ArrayForEach(d, cJSON_GetObjectItem(j, "shape"))
        {
            size_t k = strlen(ts);
            snprintf(ts + k, sizeof ts - k, "%s%d", k ? "x" : "", d->valueint);
        }
        assert_string_equal(ts, shape);
        if (cJSON_GetObjectItem(j, "macs")->valuedouble != macs)
            fail_msg("%s: trace says %.0f MACs, info %.0f", name, cJSON_GetObjectItem(j, "macs")->valuedouble, macs);
        assert_true(cJSON_GetObjectItem(j, "params")->valuedouble == (double)params);
        /* statistics that fit: min <= mean <= max, std >= 0, zeros a share */
        cJSON *mean = cJSON_GetObjectItem(j, "mean");
        if (cJSON_IsTrue(cJSON_GetObjectItem(j, "executed"))) {
            assert_non_null(mean);
            double lo = cJSON_GetObjectItem(j, "min")->valuedouble, hi = cJSON_GetObjectItem(j, "max")->valuedouble;
            double z = cJSON_GetObjectItem(j, "zeros")->valuedouble;
            assert_true(lo <= mean->valuedouble + 1e-9 && mean->valuedouble <= hi + 1e-9);
            assert_true(cJSON_GetObjectItem(j, "std")->valuedouble >= 0 && z >= 0 && z <= 1);
            assert_true(cJSON_GetObjectItem(j, "ms")->valuedouble >= 0);
        } else {
            assert_null(mean);
            assert_non_null(cJSON_GetObjectItem(j, "folded_into"));
        }
        cJSON_Delete(j);
    }
    assert_true(n > 10);
    assert_true(*table == '\0' || *table == '\n'); /* as many layers as info lists */
    free(info);
    free(trace);
}

static void test_trace_matches_info(void **state)
{
    (void)state;
    compare_with_info(dlib, "");
    compare_with_info(dlib, "--no-fuse");
    compare_with_info(mini, "");
    compare_with_info(mini, "--no-fuse");
}

/* ---- dumps ---- */
/* An .npy file written by trace: its shape must be want (n = 1 first) */
static float *read_npy(const char *path, const int *want, int rank, size_t *count)
{
    size_t len;
    unsigned char *b = tu_read_must(path, &len);
    assert_true(len > 10 && !memcmp(b, "\x93NUMPY\x01\x00", 8));
    size_t hl = b[8] | (size_t)b[9] << 8;
    assert_true((10 + hl) % 64 == 0 && 10 + hl <= len);
    char header[512], shape[256] = "(";
    snprintf(header, sizeof header, "%.*s", (int)hl, (const char *)b + 10);
    assert_non_null(strstr(header, "'descr': '<f4'"));
    assert_non_null(strstr(header, "'fortran_order': False"));
    for (int d = 0; d < rank; d++) {
        size_t k = strlen(shape);
        snprintf(shape + k, sizeof shape - k, d ? ", %d" : "%d", want[d]);
    }
    strcat(shape, rank == 1 ? ",)" : ")");
    if (!strstr(header, shape))
        fail_msg("%s: header %s, want shape %s", path, header, shape);
    *count = (len - 10 - hl) / sizeof(float);
    float *v = malloc(len - 10 - hl);
    assert_non_null(v);
    memcpy(v, b + 10 + hl, len - 10 - hl);
    free(b);
    return v;
}

/* every reference block of face-api within tol of the dump in dir */
static double compare_with_faceapi(const char *dir)
{
    cJSON *idx = tu_read_json(tu_shared(REF "/layers.json"));
    assert_non_null(idx);
    double worst = 0;
    int n = 0;
    cJSON *l;
    cJSON_ArrayForEach(l, cJSON_GetObjectItem(idx, "layers"))
    {
        const char *name = cJSON_GetObjectItem(l, "name")->valuestring;
        int shape[5], rank = 0;
        cJSON *d;
        cJSON_ArrayForEach(d, cJSON_GetObjectItem(l, "shape")) shape[rank++] = d->valueint;
        char rel[512], npy[600];
        snprintf(rel, sizeof rel, REF "/%s", cJSON_GetObjectItem(l, "file")->valuestring);
        size_t rlen, count;
        float *ref = (float *)tu_read_must(tu_shared(rel), &rlen);
        snprintf(npy, sizeof npy, "%s.npy", name);
        float *got = read_npy(tu_path_in(dir, npy), shape, rank, &count);
        assert_int_equal(count, rlen / sizeof(float));
        double diff = tu_maxdiff(got, ref, count);
        if (!(diff <= 1e-4))
            fail_msg("%s/%s: max |trace - face-api| = %g (> 1e-4)", dir, npy, diff);
        worst = diff > worst ? diff : worst;
        free(ref), free(got);
        n++;
    }
    assert_int_equal(n, 18);
    cJSON_Delete(idx);
    return worst;
}

static void test_dump_matches_faceapi(void **state)
{
    (void)state;
    const char *variants[][2] = {{"raw", ""}, {"rawnf", "--no-fuse"}, {"png", ""}};
    for (int v = 0; v < 3; v++) {
        char dir[4200], args[9000];
        snprintf(dir, sizeof dir, "%s/%s", tmp, variants[v][0]);
        if (v < 2)
            fmt(args, sizeof args, "trace %s %s --raw %s --dump %s", dlib, variants[v][1], tu_shared(RAW), dir);
        else
            fmt(args, sizeof args, "trace %s --dump %s %s", dlib, dir, tu_shared(CHIP));
        free(facenet_ok(args));
        double worst = compare_with_faceapi(dir);
        print_message("trace --dump %s: max difference to face-api's blocks %.3g\n", variants[v][0], worst);
        /* the index names every layer; a folded layer's file is its chain's, or none */
        cJSON *index = tu_read_json(tu_path_in(dir, "index.json"));
        assert_non_null(index);
        int layers = cJSON_GetArraySize(cJSON_GetObjectItem(index, "layers"));
        assert_int_equal(layers, 70);
        cJSON *l;
        cJSON_ArrayForEach(l, cJSON_GetObjectItem(index, "layers"))
        {
            cJSON *file = cJSON_GetObjectItem(l, "file");
            const char *name = cJSON_GetObjectItem(l, "layer")->valuestring;
            if (v == 1 || !strstr(name, "_add")) /* fused: conv32_1_add's tensor is conv32_1.npy */
                assert_true(cJSON_IsString(file));
            else
                assert_true(cJSON_IsNull(file));
        }
        cJSON_Delete(index);
    }
}

static void test_mini_fused_equals_unfused(void **state)
{
    (void)state;
    char a[4200], b[4200], args[20000];
    snprintf(a, sizeof a, "%s/mini-fused", tmp);
    snprintf(b, sizeof b, "%s/mini-nofuse", tmp);
    const char *in = tu_shared("golden/keras-facenet-mini/inputs/andrew.f32");
    fmt(args, sizeof args, "trace %s --raw %s --dump %s", mini, in, a);
    free(facenet_ok(args));
    fmt(args, sizeof args, "trace %s --no-fuse --raw %s --dump %s", mini, in, b);
    free(facenet_ok(args));
    cJSON *index = tu_read_json(tu_path_in(a, "index.json"));
    assert_non_null(index);
    int compared = 0, scaled = 0;
    cJSON *l;
    cJSON_ArrayForEach(l, cJSON_GetObjectItem(index, "layers"))
    {
        cJSON *file = cJSON_GetObjectItem(l, "file");
        if (!cJSON_IsString(file))
            continue;
        int shape[5] = {1}, rank = 1;
        cJSON *d;
        cJSON_ArrayForEach(d, cJSON_GetObjectItem(l, "shape")) shape[rank++] = d->valueint;
        size_t na, nb;
        float *x = read_npy(tu_path_in(a, file->valuestring), shape, rank, &na);
        float *y = read_npy(tu_path_in(b, file->valuestring), shape, rank, &nb);
        assert_int_equal(na, nb);
        double diff = tu_maxdiff(x, y, na);
        if (!(diff <= 1e-4))
            fail_msg("%s: fused and --no-fuse dumps differ by %g", file->valuestring, diff);
        scaled += cJSON_GetObjectItem(l, "folded_scale_removed") != NULL;
        compared++;
        free(x), free(y);
    }
    assert_true(compared > 100);
    assert_true(scaled >= 20); /* 5 + 10 + 5 + 1 Inception-ResNet blocks */
    cJSON_Delete(index);
}

/* ---- the same input as encode: fc of the dump equals encode's raw output ---- */
static void same_as_encode(const char *cwd, const char *extra, const char *img)
{
    char fn[PATH_MAX], dir[4300], cmd[20000], *out, *err;
    if (!realpath(tu_build("facenet"), fn))
        fail_msg("no %s", tu_build("facenet"));
    char model[PATH_MAX];
    if (!realpath(dlib + strlen("--model "), model))
        fail_msg("no %s", dlib);
    snprintf(dir, sizeof dir, "%s/enc-%d", tmp, (int)strlen(extra));
    fmt(cmd, sizeof cmd, "cd %s && %s encode --no-detect --model %s --json %s %s", cwd, fn, model, extra, img);
    if (tu_run(cmd, &out, &err))
        fail_msg("%s: %s", cmd, err);
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    size_t n, count;
    float *raw = tu_json_floats(cJSON_GetObjectItem(j, "raw"), &n);
    free(out), free(err);
    fmt(cmd, sizeof cmd, "cd %s && %s trace --model %s --dump %s %s %s", cwd, fn, model, dir, extra, img);
    if (tu_run(cmd, &out, &err))
        fail_msg("%s: %s", cmd, err);
    free(out), free(err);
    int shape[2] = {1, 128};
    float *fc = read_npy(tu_path_in(dir, "fc.npy"), shape, 2, &count);
    assert_int_equal(count, n);
    double diff = tu_maxdiff(fc, raw, n);
    if (!(diff <= 1e-6))
        fail_msg("trace %s %s: fc differs from encode's by %g", extra, img, diff);
    free(raw), free(fc);
    cJSON_Delete(j);
}

static void test_same_input_as_encode(void **state)
{
    (void)state;
    char cwd[PATH_MAX], lms[PATH_MAX + 64];
    if (!realpath(tu_shared("images/happy-house"), cwd))
        fail_msg("no happy-house images");
    same_as_encode(cwd, "", "andrew.jpg");
    if (!realpath(tu_shared("lfw/original-150"), cwd) || !realpath(tu_shared("lfw/landmarks-5pt-250px.txt"), lms + 14))
        fail_msg("no lfw/original-150 or its landmarks");
    memcpy(lms, "--landmarks   ", 14);
    strcat(lms, " --landmark-scale 0.6");
    same_as_encode(cwd, lms, "Abdullah_Gul/Abdullah_Gul_0013.jpg");
}

/* ---- feature maps ---- */
static void expect_png(const char *path, int width, int height)
{
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    if (cairo_surface_status(s))
        fail_msg("%s: %s", path, cairo_status_to_string(cairo_surface_status(s)));
    if (cairo_image_surface_get_width(s) != width || cairo_image_surface_get_height(s) != height)
        fail_msg("%s: %dx%d, want %dx%d", path, cairo_image_surface_get_width(s), cairo_image_surface_get_height(s),
                 width, height);
    /* maps are drawn: not a blank page (some pixel is darker than mid-grey) */
    cairo_surface_flush(s);
    const unsigned char *px = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s), dark = 0;
    for (int y = 60; y < height && !dark; y++)
        for (int x = 0; x < width && !dark; x++)
            dark = (((const uint32_t *)(px + (size_t)y * stride))[x] & 0xff) < 64;
    assert_true(dark);
    cairo_surface_destroy(s);
}

static void test_maps(void **state)
{
    (void)state;
    char png[4200], args[9000];
    /* 72x72x32: zoom 1, 6x6 grid of 72 px maps, 6 px apart, 14 px labels;
     * width 2*12 + 6*78 - 6, height 52 + 6*(72+14+6) - 6 + 12 */
    snprintf(png, sizeof png, "%s/conv32_down.png", tmp);
    fmt(args, sizeof args, "trace %s --maps conv32_down -o %s %s", dlib, png, tu_shared(CHIP));
    free(facenet_ok(args));
    expect_png(png, 24 + 6 * 78 - 6, 52 + 6 * 92 - 6 + 12);
    /* 2x2x256 (a folded chain's end): zoom 24, 16x16 grid of 48 px maps */
    snprintf(png, sizeof png, "%s/out.png", tmp);
    fmt(args, sizeof args, "trace %s --maps=conv256_down_out -o %s %s", dlib, png, tu_shared(CHIP));
    free(facenet_ok(args));
    expect_png(png, 24 + 16 * 54 - 6, 52 + 16 * 68 - 6 + 12);
    /* refused: a layer whose output is folded away, no such layer, no spatial maps, no -o */
    fmt(args, sizeof args, "trace %s --maps conv32_1_add -o %s %s", dlib, png, tu_shared(CHIP));
    facenet_refused(args, "is folded into it");
    fmt(args, sizeof args, "trace %s --maps conv32_1_conv1_nope -o %s %s", dlib, png, tu_shared(CHIP));
    facenet_refused(args, "no layer");
    fmt(args, sizeof args, "trace %s --maps nosuchlayer -o %s %s", dlib, png, tu_shared(CHIP));
    facenet_refused(args, "nosuchlayer");
    fmt(args, sizeof args, "trace %s --maps fc -o %s %s", dlib, png, tu_shared(CHIP));
    facenet_refused(args, "rank 1");
    fmt(args, sizeof args, "trace %s --maps fc %s", dlib, tu_shared(CHIP));
    facenet_refused(args, "-o");
    fmt(args, sizeof args, "trace %s --raw %s %s", dlib, tu_shared(RAW), tu_shared(CHIP));
    facenet_refused(args, "one image");
    fmt(args, sizeof args, "trace %s --raw %s", dlib, tu_shared("golden/keras-facenet-mini/inputs/andrew.f32"));
    facenet_refused(args, "bytes");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_observer),
        cmocka_unit_test(test_trace_matches_info),
        cmocka_unit_test(test_dump_matches_faceapi),
        cmocka_unit_test(test_mini_fused_equals_unfused),
        cmocka_unit_test(test_same_input_as_encode),
        cmocka_unit_test(test_maps),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
