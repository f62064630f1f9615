/* test_converter_model.c - faceapi2keras on a good model, and the Keras writers.
 *
 *   - convert the synthetic face-api model (tests/lib/faceapi_fixture.h) and check
 *     model.json (structure, configs), model.h5 (Keras layout, fixed-length name
 *     lists, empty float64 weight_names, exact folded values) and facenet.json, and
 *     that the engine CLI loads the result;
 *   - drive the writer (tools/lib/keras_h5w) directly: chunked layer_names0/1, the
 *     model.save() layout with a model_config over 64 KiB, scoped weight names, misuse;
 *   - drive tools/lib/keras_graph and outfiles directly: an exact model.json for a small two-output
 *     model, and the all-or-none output writer.
 * Run from the repository root (as `make test` does). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hdf5.h>
#include <math.h>

#include "io/h5.h"
#include "../tools/lib/keras_h5w.h"
#include "../tools/lib/keras_graph.h"
#include "../tools/lib/outfiles.h"
#include "app/align.h"
#include "lib/faceapi_fixture.h"
#include "lib/testutil.h"

#define N_LAYERS 70

/* ---- converter: a good model ------------------------------------------------------------ */

/* A 1-D fixed-length NUL-padded string attribute, exactly as h5py writes numpy 'S<n>'. */
static char **read_fixed_strings(hid_t obj, const char *name, int *n)
{
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    assert_true(a >= 0);
    hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
    assert_int_equal(H5Tget_class(t), H5T_STRING);
    assert_false(H5Tis_variable_str(t));
    assert_int_equal(H5Tget_strpad(t), H5T_STR_NULLPAD);
    assert_int_equal(H5Sget_simple_extent_ndims(sp), 1);
    size_t sz = H5Tget_size(t);
    hssize_t cnt = H5Sget_simple_extent_npoints(sp);
    char *buf = calloc((size_t)cnt * sz + 1, 1);
    char **out = calloc((size_t)cnt + 1, sizeof *out);
    assert_non_null(buf);
    assert_non_null(out);
    assert_true(H5Aread(a, t, buf) >= 0);
    for (hssize_t i = 0; i < cnt; i++) {
        out[i] = calloc(sz + 1, 1);
        memcpy(out[i], buf + (size_t)i * sz, sz);
    }
    free(buf);
    H5Tclose(t);
    H5Sclose(sp);
    H5Aclose(a);
    *n = (int)cnt;
    return out;
}

static void free_strings(char **s, int n)
{
    for (int i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

static char *read_fixed_scalar(hid_t obj, const char *name)
{
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    assert_true(a >= 0);
    hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
    assert_int_equal(H5Tget_class(t), H5T_STRING);
    assert_false(H5Tis_variable_str(t));
    assert_int_equal(H5Sget_simple_extent_type(sp), H5S_SCALAR);
    size_t sz = H5Tget_size(t);
    char *s = calloc(sz + 1, 1);
    assert_true(H5Aread(a, t, s) >= 0);
    H5Tclose(t);
    H5Sclose(sp);
    H5Aclose(a);
    return s;
}

/* Dataset at path: check its dims and read it. */
static float *read_dataset(hid_t f, const char *path, int rank, const long long *dims)
{
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    if (d < 0)
        fail_msg("dataset %s missing", path);
    hid_t sp = H5Dget_space(d), ty = H5Dget_type(d);
    assert_true(H5Tequal(ty, H5T_IEEE_F32LE) > 0);
    hsize_t got[8];
    assert_int_equal(H5Sget_simple_extent_dims(sp, got, NULL), rank);
    size_t n = 1;
    for (int i = 0; i < rank; i++) {
        if ((long long)got[i] != dims[i])
            fail_msg("%s: dim %d is %llu, expected %lld", path, i, (unsigned long long)got[i],
                     dims[i]);
        n *= (size_t)dims[i];
    }
    float *v = malloc(n * sizeof(float));
    assert_true(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Tclose(ty);
    H5Sclose(sp);
    H5Dclose(d);
    return v;
}

/* The folded Conv2D weights of face-api's convLayer `prefix`, stored in layer `layer`:
 * kernel = W * s, bias = b * s + t (double, rounded once), bit for bit. */
static void check_folded(hid_t f, const gtensor *ts, int n, const char *layer,
                         const char *prefix)
{
    char nm[4][128], path[300];
    snprintf(nm[0], sizeof nm[0], "%s/conv/filters", prefix);
    snprintf(nm[1], sizeof nm[1], "%s/conv/bias", prefix);
    snprintf(nm[2], sizeof nm[2], "%s/scale/weights", prefix);
    snprintf(nm[3], sizeof nm[3], "%s/scale/biases", prefix);
    const gtensor *W = fx_find_t(ts, n, nm[0]), *b = fx_find_t(ts, n, nm[1]),
                  *s = fx_find_t(ts, n, nm[2]), *t = fx_find_t(ts, n, nm[3]);
    size_t c = (size_t)W->dims[3];
    snprintf(path, sizeof path, "%s/%s/kernel:0", layer, layer);
    float *k = read_dataset(f, path, 4, W->dims);
    for (size_t i = 0; i < W->count; i++) {
        float want = (float)((double)W->value[i] * (double)s->value[i % c]);
        if (memcmp(&want, &k[i], sizeof want) != 0)
            fail_msg("%s[%zu] = %.9g, expected %.9g", path, i, k[i], want);
    }
    free(k);
    snprintf(path, sizeof path, "%s/%s/bias:0", layer, layer);
    long long cd[1] = {(long long)c};
    float *bb = read_dataset(f, path, 1, cd);
    for (size_t o = 0; o < c; o++) {
        float want = (float)((double)b->value[o] * (double)s->value[o] + (double)t->value[o]);
        if (memcmp(&want, &bb[o], sizeof want) != 0)
            fail_msg("%s[%zu] = %.9g, expected %.9g", path, o, bb[o], want);
    }
    free(bb);
}

static const cJSON *json_layer(const cJSON *layers, const char *name)
{
    const cJSON *L;
    cJSON_ArrayForEach(L, layers)
    {
        const cJSON *n = cJSON_GetObjectItem(L, "name");
        if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
            return L;
    }
    return NULL;
}

static const char *cfg_str(const cJSON *L, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(L, "config"), key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static int cfg_int2(const cJSON *L, const char *key, int a, int b)
{
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(L, "config"), key);
    return cJSON_GetArraySize(v) == 2 && cJSON_GetArrayItem(v, 0)->valueint == a &&
           cJSON_GetArrayItem(v, 1)->valueint == b;
}

/* Names of the layers feeding L, as "a,b". */
static void inputs_of(const cJSON *L, char *buf, size_t cap)
{
    buf[0] = '\0';
    const cJSON *node = cJSON_GetArrayItem(cJSON_GetObjectItem(L, "inbound_nodes"), 0), *ref;
    size_t used = 0;
    cJSON_ArrayForEach(ref, node)
    {
        used += (size_t)snprintf(buf + used, cap - used, "%s%s", used ? "," : "",
                                 cJSON_GetArrayItem(ref, 0)->valuestring);
        if (used >= cap)
            return;
    }
}

static void check_model_json(const cJSON *m)
{
    assert_string_equal(cJSON_GetObjectItem(m, "class_name")->valuestring, "Functional");
    assert_string_equal(cJSON_GetObjectItem(m, "keras_version")->valuestring, "2.4.0");
    assert_string_equal(cJSON_GetObjectItem(m, "backend")->valuestring, "tensorflow");
    const cJSON *cfg = cJSON_GetObjectItem(m, "config");
    const cJSON *layers = cJSON_GetObjectItem(cfg, "layers");
    assert_int_equal(cJSON_GetArraySize(layers), N_LAYERS);
    static const char *const CLASSES[] = {"InputLayer", "Conv2D", "ZeroPadding2D",
                                          "AveragePooling2D", "MaxPooling2D", "Add",
                                          "Activation", "GlobalAveragePooling2D", "Dense"};
    /* Standard classes only; every input refers to an earlier layer. */
    int idx = 0;
    const cJSON *L;
    cJSON_ArrayForEach(L, layers)
    {
        const char *cls = cJSON_GetObjectItem(L, "class_name")->valuestring;
        int known = 0;
        for (size_t i = 0; i < sizeof CLASSES / sizeof CLASSES[0]; i++)
            known |= strcmp(cls, CLASSES[i]) == 0;
        if (!known)
            fail_msg("layer %d: class %s", idx, cls);
        assert_string_equal(cfg_str(L, "name"), cJSON_GetObjectItem(L, "name")->valuestring);
        const cJSON *node = cJSON_GetArrayItem(cJSON_GetObjectItem(L, "inbound_nodes"), 0), *ref;
        cJSON_ArrayForEach(ref, node)
        {
            const char *src = cJSON_GetArrayItem(ref, 0)->valuestring;
            const cJSON *S = json_layer(layers, src);
            assert_non_null(S);
            int found = 0, j = 0;
            const cJSON *P;
            cJSON_ArrayForEach(P, layers)
            {
                if (P == S)
                    found = j < idx;
                j++;
            }
            assert_true(found);
            assert_int_equal(cJSON_GetArraySize(ref), 4);
        }
        if (!strcmp(cls, "Conv2D")) {
            assert_string_equal(cfg_str(L, "data_format"), "channels_last");
            assert_true(cfg_int2(L, "dilation_rate", 1, 1));
            assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(L, "config"), "groups")->valueint, 1);
        }
        idx++;
    }
    const cJSON *in = cJSON_GetArrayItem(layers, 0);
    assert_string_equal(cJSON_GetObjectItem(in, "class_name")->valuestring, "InputLayer");
    char *shape = cJSON_PrintUnformatted(
        cJSON_GetObjectItem(cJSON_GetObjectItem(in, "config"), "batch_input_shape"));
    assert_string_equal(shape, "[null,150,150,3]");
    cJSON_free(shape);
    char *outs = cJSON_PrintUnformatted(cJSON_GetObjectItem(cfg, "output_layers"));
    assert_string_equal(outs, "[[\"fc\",0,0]]");
    cJSON_free(outs);

    /* Block outputs carry face-api's names. */
    static const char *const BLOCK_OUT[] = {"conv32_down", "maxpool", "conv32_1", "conv32_2",
        "conv32_3", "conv64_down", "conv64_1", "conv64_2", "conv64_3", "conv128_down",
        "conv128_1", "conv128_2", "conv256_down", "conv256_1", "conv256_2", "conv256_down_out",
        "global_avg", "fc"};
    for (size_t i = 0; i < sizeof BLOCK_OUT / sizeof BLOCK_OUT[0]; i++)
        if (!json_layer(layers, BLOCK_OUT[i]))
            fail_msg("no layer %s", BLOCK_OUT[i]);
    char buf[256];
    const cJSON *x = json_layer(layers, "conv32_down");
    assert_true(cfg_int2(x, "kernel_size", 7, 7) && cfg_int2(x, "strides", 2, 2));
    assert_string_equal(cfg_str(x, "padding"), "valid");
    assert_string_equal(cfg_str(x, "activation"), "relu");
    x = json_layer(layers, "maxpool");
    assert_string_equal(cJSON_GetObjectItem(x, "class_name")->valuestring, "MaxPooling2D");
    assert_true(cfg_int2(x, "pool_size", 3, 3) && cfg_int2(x, "strides", 2, 2));
    assert_string_equal(cfg_str(x, "padding"), "valid");
    /* residual: relu(conv2(conv1(x)) + x) */
    x = json_layer(layers, "conv32_2_conv1");
    assert_string_equal(cfg_str(x, "padding"), "same");
    assert_string_equal(cfg_str(x, "activation"), "relu");
    x = json_layer(layers, "conv32_2_conv2");
    assert_string_equal(cfg_str(x, "activation"), "linear");
    inputs_of(json_layer(layers, "conv32_2_add"), buf, sizeof buf);
    assert_string_equal(buf, "conv32_2_conv2,conv32_1");
    x = json_layer(layers, "conv32_2");
    assert_string_equal(cJSON_GetObjectItem(x, "class_name")->valuestring, "Activation");
    assert_string_equal(cfg_str(x, "activation"), "relu");
    /* down blocks: conv1 stride 2 valid; shortcut avg-pool (+ 1x1 zero-channel conv) */
    x = json_layer(layers, "conv64_down_conv1");
    assert_true(cfg_int2(x, "strides", 2, 2));
    assert_string_equal(cfg_str(x, "padding"), "valid");
    inputs_of(json_layer(layers, "conv64_down_pool"), buf, sizeof buf);
    assert_string_equal(buf, "conv32_3");
    inputs_of(json_layer(layers, "conv64_down_add"), buf, sizeof buf);
    assert_string_equal(buf, "conv64_down_proj,conv64_down_conv2");
    assert_null(json_layer(layers, "conv64_down_pad"));
    assert_null(json_layer(layers, "conv128_down_pad"));
    x = json_layer(layers, "conv256_down_pad");
    assert_non_null(x);
    char *pad = cJSON_PrintUnformatted(cJSON_GetObjectItem(cJSON_GetObjectItem(x, "config"), "padding"));
    assert_string_equal(pad, "[[0,1],[0,1]]");
    cJSON_free(pad);
    inputs_of(json_layer(layers, "conv256_down_add"), buf, sizeof buf);
    assert_string_equal(buf, "conv256_down_proj,conv256_down_pad");
    inputs_of(json_layer(layers, "conv256_down_out_add"), buf, sizeof buf);
    assert_string_equal(buf, "conv256_down_out_pool,conv256_down_out_pad");
    assert_null(json_layer(layers, "conv256_down_out_proj"));
    x = json_layer(layers, "conv128_down_proj");
    assert_true(cfg_int2(x, "kernel_size", 1, 1));
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(x, "config"), "use_bias")));
    x = json_layer(layers, "fc");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(x, "config"), "units")->valueint, 128);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(x, "config"), "use_bias")));
    inputs_of(x, buf, sizeof buf);
    assert_string_equal(buf, "global_avg");
}

static void check_model_h5(const char *path, const cJSON *m, const gtensor *ts, int n)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    char *s = read_fixed_scalar(f, "backend");
    assert_string_equal(s, "tensorflow");
    free(s);
    s = read_fixed_scalar(f, "keras_version");
    assert_string_equal(s, "2.4.0");
    free(s);
    int nn;
    char **names = read_fixed_strings(f, "layer_names", &nn);
    const cJSON *layers = cJSON_GetObjectItem(cJSON_GetObjectItem(m, "config"), "layers");
    assert_int_equal(nn, cJSON_GetArraySize(layers));
    for (int i = 0; i < nn; i++) {
        const cJSON *L = cJSON_GetArrayItem(layers, i);
        const char *cls = cJSON_GetObjectItem(L, "class_name")->valuestring;
        assert_string_equal(names[i], cJSON_GetObjectItem(L, "name")->valuestring);
        hid_t g = H5Gopen2(f, names[i], H5P_DEFAULT);
        assert_true(g >= 0);
        int weighted = !strcmp(cls, "Conv2D") || !strcmp(cls, "Dense");
        if (!weighted) { /* Keras: np.asarray([]) -> float64, shape (0,) */
            hid_t a = H5Aopen(g, "weight_names", H5P_DEFAULT);
            hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
            assert_int_equal(H5Tget_class(t), H5T_FLOAT);
            assert_int_equal(H5Tget_size(t), 8);
            assert_int_equal(H5Sget_simple_extent_ndims(sp), 1);
            assert_int_equal(H5Sget_simple_extent_npoints(sp), 0);
            H5Tclose(t);
            H5Sclose(sp);
            H5Aclose(a);
        } else {
            int nw;
            char **wn = read_fixed_strings(g, "weight_names", &nw);
            int bias = cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(L, "config"), "use_bias"));
            assert_int_equal(nw, 1 + bias);
            char want[128];
            snprintf(want, sizeof want, "%s/kernel:0", names[i]);
            assert_string_equal(wn[0], want);
            if (bias) {
                snprintf(want, sizeof want, "%s/bias:0", names[i]);
                assert_string_equal(wn[1], want);
            }
            for (int k = 0; k < nw; k++)
                assert_true(H5Lexists(g, wn[k], H5P_DEFAULT) > 0);
            free_strings(wn, nw);
        }
        H5Gclose(g);
    }
    free_strings(names, nn);

    check_folded(f, ts, n, "conv32_down", "conv32_down");                 /* uint8 */
    check_folded(f, ts, n, "conv32_1_conv1", "conv32_1/conv1");           /* float16 scale/biases */
    check_folded(f, ts, n, "conv32_2_conv1", "conv32_2/conv1");           /* uint16 bias */
    check_folded(f, ts, n, "conv64_1_conv1", "conv64_1/conv1");           /* raw float32 filters */
    check_folded(f, ts, n, "conv256_down_out_conv2", "conv256_down_out/conv2");

    long long pd[4] = {1, 1, 64, 128};
    float *p = read_dataset(f, "conv128_down_proj/conv128_down_proj/kernel:0", 4, pd);
    for (int i = 0; i < 64; i++)
        for (int o = 0; o < 128; o++)
            assert_true(p[i * 128 + o] == (i == o ? 1.0f : 0.0f));
    free(p);
    assert_true(H5Lexists(f, "conv128_down_proj/conv128_down_proj/bias:0", H5P_DEFAULT) <= 0);

    long long fd[2] = {256, 128};
    float *fc = read_dataset(f, "fc/fc/kernel:0", 2, fd);
    const gtensor *t = fx_find_t(ts, n, "fc");
    assert_memory_equal(fc, t->value, t->count * sizeof(float));
    free(fc);
    H5Fclose(f);
}

static void t_convert_ok(void **state)
{
    (void)state;
    const char *dir = fx_subdir("good");
    variant v = {0};
    fx_write_model(dir, &v);
    char out[4300], p[4400];
    snprintf(out, sizeof out, "%s/keras", dir);
    char *so = NULL, *se = NULL;
    int st = fx_convert(dir, out, &so, &se);
    if (st != 0)
        fail_msg("converter failed (%d): %s", st, se);
    assert_non_null(strstr(so, "117 tensors"));
    free(so);
    free(se);
    assert_int_equal(fx_count_entries(out), 3); /* no temporary files left */

    snprintf(p, sizeof p, "%s/model.json", out);
    cJSON *m = tu_read_json(p);
    assert_non_null(m);
    check_model_json(m);

    int n;
    gtensor *ts = fx_gen_tensors(&v, &n);
    assert_int_equal(n, 117);
    snprintf(p, sizeof p, "%s/model.h5", out);
    check_model_h5(p, m, ts, n);
    fx_free_tensors(ts, n);
    cJSON_Delete(m);

    snprintf(p, sizeof p, "%s/facenet.json", out);
    cJSON *prof = tu_read_json(p);
    assert_non_null(prof);
    /* the alignment template must round-trip at full precision (4 decimals give
     * off-by-one chip pixels) */
    double tmpl[10];
    fn_align_dlib_template(150, 0.25, tmpl);
    const cJSON *jt = cJSON_GetObjectItem(prof, "align_template");
    assert_int_equal(cJSON_GetArraySize(jt), 10);
    for (int i = 0; i < 10; i++)
        assert_true(cJSON_GetArrayItem(jt, i)->valuedouble == tmpl[i]);
    cJSON_DeleteItemFromObject(prof, "align_template");
    char *txt = cJSON_PrintUnformatted(prof);
    assert_string_equal(txt, "{\"input_size\":[150,150],\"resize\":\"bilinear\","
                             "\"mean\":[122.782,117.001,104.298],\"std\":255,"
                             "\"channel_order\":\"rgb\",\"threshold\":0.6,"
                             "\"l2_normalize\":false,\"pad_to_square\":\"center\","
                             "\"align_mode\":\"dlib\"}");
    cJSON_free(txt);
    cJSON_Delete(prof);

    /* The generic engine loads it. */
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "'%s' info --model '%s'", tu_build("facenet"), out);
    st = tu_run(cmd, &so, &se);
    if (st != 0)
        fail_msg("facenet info: status %d: %s", st, se);
    free(so);
    free(se);

    /* Converting again over existing outputs replaces them cleanly. */
    assert_int_equal(fx_convert(dir, out, NULL, NULL), 0);
    assert_int_equal(fx_count_entries(out), 3);
}

/* ---- the writer directly ------------------------------------------------------------------ */

static void t_writer_chunked_names(void **state)
{
    (void)state;
    const char *dir = fx_subdir("chunks");
    char path[4300];
    snprintf(path, sizeof path, "%s/w.h5", dir);
    fn_err err;
    fn_kh5w *w = fn_kh5w_create(path, 0, NULL, &err);
    assert_non_null(w);
    enum { N = 2000 };
    for (int i = 0; i < N; i++) {
        char nm[64];
        snprintf(nm, sizeof nm, "a_layer_with_a_rather_long_name_%05d", i); /* 37 bytes */
        if (fn_kh5w_layer(w, nm, 0, NULL, &err))
            fail_msg("%s", err.msg);
    }
    assert_int_equal(fn_kh5w_finish(w, &err), 0);
    assert_int_equal(fx_count_entries(dir), 1);

    /* 2000 x 37 = 74000 bytes > 64512: np.array_split into 2 chunks of 1000. */
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    assert_true(H5Aexists(f, "layer_names") == 0);
    int n0, n1;
    char **c0 = read_fixed_strings(f, "layer_names0", &n0);
    char **c1 = read_fixed_strings(f, "layer_names1", &n1);
    assert_int_equal(n0, 1000);
    assert_int_equal(n1, 1000);
    assert_true(H5Aexists(f, "layer_names2") == 0);
    assert_string_equal(c0[0], "a_layer_with_a_rather_long_name_00000");
    assert_string_equal(c1[999], "a_layer_with_a_rather_long_name_01999");
    free_strings(c0, n0);
    free_strings(c1, n1);
    /* and the engine's reader joins the chunks */
    char **all;
    int na;
    assert_int_equal(fn_h5_attr_strings(f, "layer_names", &all, &na, &err), 0);
    assert_int_equal(na, N);
    assert_string_equal(all[1000], "a_layer_with_a_rather_long_name_01000");
    fn_h5_strings_free(all, na);
    H5Fclose(f);
}

static void t_writer_full_model(void **state)
{
    (void)state;
    const char *dir = fx_subdir("full");
    char path[4300];
    snprintf(path, sizeof path, "%s/m.h5", dir);
    /* a model_config larger than one HDF5 object-header message */
    size_t jl = 100000;
    char *json = malloc(jl + 1);
    assert_non_null(json);
    const char *head = "{\"class_name\":\"Functional\",\"pad\":\"";
    memset(json, 'x', jl);
    memcpy(json, head, strlen(head));
    memcpy(json + jl - 2, "\"}", 2);
    json[jl] = '\0';
    float k[2 * 3] = {1, 2, 3, 4, 5, 6}, b[3] = {-1, 0.5f, 7};
    fn_kh5w_tensor t[2] = {{"kernel:0", 2, {2, 3}, k}, {"bias:0", 1, {3}, b}};
    fn_kh5w_tensor scoped = {"block1/dense/kernel:0", 2, {2, 3}, k};
    fn_err err;
    fn_kh5w *w = fn_kh5w_create(path, 1, json, &err);
    assert_non_null(w);
    assert_int_equal(fn_kh5w_layer(w, "input_1", 0, NULL, &err), 0);
    assert_int_equal(fn_kh5w_layer(w, "dense", 2, t, &err), 0);
    assert_int_equal(fn_kh5w_layer(w, "wrapped", 1, &scoped, &err), 0);
    assert_int_equal(fn_kh5w_finish(w, &err), 0);

    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    char *mc = read_fixed_scalar(f, "model_config");
    assert_string_equal(mc, json);
    free(mc);
    char *s = read_fixed_scalar(f, "keras_version");
    assert_string_equal(s, "2.4.0");
    free(s);
    hid_t g = H5Gopen2(f, "model_weights", H5P_DEFAULT);
    assert_true(g >= 0);
    int n;
    char **names = read_fixed_strings(g, "layer_names", &n);
    assert_int_equal(n, 3);
    assert_string_equal(names[1], "dense");
    free_strings(names, n);
    s = read_fixed_scalar(g, "backend");
    assert_string_equal(s, "tensorflow");
    free(s);
    long long kd[2] = {2, 3}, bd[1] = {3};
    float *rk = read_dataset(g, "dense/dense/kernel:0", 2, kd);
    float *rb = read_dataset(g, "dense/dense/bias:0", 1, bd);
    assert_memory_equal(rk, k, sizeof k);
    assert_memory_equal(rb, b, sizeof b);
    free(rk);
    free(rb);
    rk = read_dataset(g, "wrapped/block1/dense/kernel:0", 2, kd);
    free(rk);
    hid_t wg = H5Gopen2(g, "wrapped", H5P_DEFAULT);
    names = read_fixed_strings(wg, "weight_names", &n);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "block1/dense/kernel:0");
    free_strings(names, n);
    H5Gclose(wg);
    H5Gclose(g);
    H5Fclose(f);
    free(json);
}

static void t_writer_misuse(void **state)
{
    (void)state;
    const char *dir = fx_subdir("misuse");
    char path[4300];
    snprintf(path, sizeof path, "%s/x.h5", dir);
    fn_err err;
    float k[4] = {0};
    fn_kh5w_tensor t = {"kernel:0", 2, {2, 2}, k};
    fn_kh5w_tensor nodata = {"kernel:0", 1, {4}, NULL};
    fn_kh5w_tensor badname = {"../kernel:0", 1, {4}, k};

    fn_kh5w *w = fn_kh5w_create(path, 0, NULL, &err);
    assert_non_null(w);
    assert_int_equal(fn_kh5w_layer(w, "a", 1, &t, &err), 0);
    assert_int_equal(fn_kh5w_layer(w, "a", 1, &t, &err), -1);
    assert_non_null(strstr(err.msg, "twice"));
    assert_int_equal(fn_kh5w_layer(w, "b/c", 0, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "b/c"));
    assert_int_equal(fn_kh5w_layer(w, "d", 1, &nodata, &err), -1);
    assert_non_null(strstr(err.msg, "no data"));
    assert_int_equal(fn_kh5w_layer(w, "e", 1, &badname, &err), -1);
    assert_non_null(strstr(err.msg, "../kernel:0"));
    fn_kh5w_abort(w);
    assert_int_equal(fx_count_entries(dir), 0); /* the temporary file is gone */

    assert_null(fn_kh5w_create(path, 1, NULL, &err));
    char missing[4400];
    snprintf(missing, sizeof missing, "%s/no/such/dir/x.h5", dir);
    assert_null(fn_kh5w_create(missing, 0, NULL, &err));
    assert_non_null(strstr(err.msg, missing));
    assert_int_equal(fx_count_entries(dir), 0);
}

/* ---- the model.json writer directly ---------------------------------------------- */

/* model.h5 writers for the output folder: one that fails, one that writes ctx. */
static int h5_fails(const char *path, void *ctx, fn_err *err)
{
    (void)path;
    (void)ctx;
    return fn_fail(err, FN_E_IO, "no room for model.h5");
}

static int h5_stub(const char *path, void *ctx, fn_err *err)
{
    if (tu_write(path, ctx, strlen(ctx)))
        return fn_fail(err, FN_E_IO, "%s: cannot write", path);
    return 0;
}

/* model.json, facenet.json and model.h5 (from write_h5) into outdir, all or none: the
 * sequence every converter follows (tools/lib/outfiles.h). */
static int write_three(const char *outdir, const char *model_json, const char *profile_json,
                       int (*write_h5)(const char *path, void *ctx, fn_err *err), void *ctx, fn_err *err)
{
    fn_outfiles o;
    const char *h5;
    int rc = fn_outfiles_open(&o, outdir, err) || fn_outfiles_text(&o, "model.json", model_json, err) ||
                     fn_outfiles_text(&o, "facenet.json", profile_json, err) ||
                     !(h5 = fn_outfiles_path(&o, "model.h5", err)) || write_h5(h5, ctx, err) ||
                     fn_outfiles_commit(&o, err)
                 ? -1
                 : 0;
    fn_outfiles_close(&o);
    return rc;
}

/* A model the face-api network does not exercise: a non-square kernel, a layer with
 * two inputs, two outputs; then the all-or-none output writer. */
static void t_json_writer(void **state)
{
    (void)state;
    fn_err err;
    kg_model *m = kg_new("tiny");
    assert_non_null(m);
    const int shape[3] = {8, 6, 3};
    assert_non_null(kg_add(m, "InputLayer", "img", kg_input_config_dims(3, shape), 0, NULL, &err));
    const char *img = "img", *c = "c", *two[2] = {"c", "p"};
    kg_layer *L = kg_add(m, "Conv2D", "c", cJSON_CreateObject(), 1, &img, &err);
    assert_non_null(L);
    assert_int_equal(kg_conv2d_config(L->cfg, 4, 3, 1, 2, 1, "same", KG_CL, "relu", 1), 0);
    L = kg_add(m, "MaxPooling2D", "p", cJSON_CreateObject(), 1, &c, &err);
    assert_non_null(L);
    assert_int_equal(kg_pool2d_config(L->cfg, 2, 2, 2, 2, "valid", KG_CL), 0);
    assert_non_null(kg_add(m, "Add", "a", cJSON_CreateObject(), 2, two, &err));
    assert_int_equal(kg_output(m, "a", &err), 0);
    assert_int_equal(kg_output(m, "p", &err), 0);
    char *s = kg_model_json(m);
    kg_free(m);
    assert_non_null(s);
    assert_string_equal(s,
        "{\"class_name\":\"Functional\",\"config\":{\"name\":\"tiny\",\"layers\":["
        "{\"class_name\":\"InputLayer\",\"config\":{\"batch_input_shape\":[null,8,6,3],"
        "\"dtype\":\"float32\",\"sparse\":false,\"ragged\":false,\"name\":\"img\"},"
        "\"name\":\"img\",\"inbound_nodes\":[]},"
        "{\"class_name\":\"Conv2D\",\"config\":{\"name\":\"c\",\"trainable\":true,"
        "\"dtype\":\"float32\",\"filters\":4,\"kernel_size\":[3,1],\"strides\":[2,1],"
        "\"padding\":\"same\",\"data_format\":\"channels_last\",\"dilation_rate\":[1,1],"
        "\"groups\":1,\"activation\":\"relu\",\"use_bias\":true,"
        "\"kernel_initializer\":{\"class_name\":\"GlorotUniform\",\"config\":{\"seed\":null}},"
        "\"bias_initializer\":{\"class_name\":\"Zeros\",\"config\":{}},"
        "\"kernel_regularizer\":null,\"bias_regularizer\":null,\"activity_regularizer\":null,"
        "\"kernel_constraint\":null,\"bias_constraint\":null},"
        "\"name\":\"c\",\"inbound_nodes\":[[[\"img\",0,0,{}]]]},"
        "{\"class_name\":\"MaxPooling2D\",\"config\":{\"name\":\"p\",\"trainable\":true,"
        "\"dtype\":\"float32\",\"pool_size\":[2,2],\"padding\":\"valid\",\"strides\":[2,2],"
        "\"data_format\":\"channels_last\"},\"name\":\"p\",\"inbound_nodes\":[[[\"c\",0,0,{}]]]},"
        "{\"class_name\":\"Add\",\"config\":{\"name\":\"a\",\"trainable\":true,"
        "\"dtype\":\"float32\"},\"name\":\"a\","
        "\"inbound_nodes\":[[[\"c\",0,0,{}],[\"p\",0,0,{}]]]}],"
        "\"input_layers\":[[\"img\",0,0]],\"output_layers\":[[\"a\",0,0],[\"p\",0,0]]},"
        "\"keras_version\":\"2.4.0\",\"backend\":\"tensorflow\"}");

    /* All three files or none: a failing model.h5 leaves nothing, not even the
     * directory the writer created. */
    const char *dir = fx_subdir("kjson");
    char out[4300], p[4400];
    snprintf(out, sizeof out, "%s/new", dir);
    fn_err_clear(&err);
    assert_int_equal(write_three(out, s, "{}", h5_fails, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "no room"));
    assert_false(fx_exists(out));
    assert_int_equal(write_three(dir, s, "{}", h5_fails, NULL, &err), -1);
    assert_int_equal(fx_count_entries(dir), 0); /* no temporary files either */
    assert_int_equal(write_three(out, s, "{}", h5_stub, "h5", &err), 0);
    assert_int_equal(fx_count_entries(out), 3);
    char *txt;
    snprintf(p, sizeof p, "%s/model.json", out);
    txt = tu_read(p, NULL);
    assert_non_null(txt);
    assert_int_equal(strlen(txt), strlen(s) + 1);
    assert_memory_equal(txt, s, strlen(s));
    assert_int_equal(txt[strlen(s)], '\n');
    free(txt);
    snprintf(p, sizeof p, "%s/facenet.json", out);
    txt = tu_read(p, NULL);
    assert_string_equal(txt, "{}\n");
    free(txt);
    snprintf(p, sizeof p, "%s/model.h5", out);
    txt = tu_read(p, NULL);
    assert_string_equal(txt, "h5");
    free(txt);
    /* an output path that is a file */
    assert_int_equal(write_three(p, s, "{}", h5_stub, "h5", &err), -1);
    assert_int_equal(err.kind, FN_E_ARG);
    assert_non_null(strstr(err.msg, "not a directory"));
    cJSON_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_convert_ok),
        cmocka_unit_test(t_writer_chunked_names),
        cmocka_unit_test(t_writer_full_model),
        cmocka_unit_test(t_writer_misuse),
        cmocka_unit_test(t_json_writer),
    };
    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
